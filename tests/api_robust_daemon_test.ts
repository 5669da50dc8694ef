/**
 * Robustness of the API socket of a running hb node, and the respawn supervisor, observed
 * through the daemon itself (testbed, two nodes: node1 runs hb, node2 the real Heartbeat
 * 3.0.6, whose log is the judge of node1's heartbeat).
 *
 * The storm (run inside node1 by this same file as a script, see {@link stormMain}):
 * - 10 000 malformed frames (well framed, unparsable bodies) on 20 connections, which stay
 *   open, and 100 connections with a bad magic number, which are closed;
 * - 200 truncated frames (header announcing more than is sent, or half a header), then close;
 * - headers announcing > 256 KiB, a negative length: the connection is closed;
 * - a sign-on without `pid` (crashes the real daemon): refused with `bad pid`;
 * - 200 named clients connecting and signing on at once, then leaving (half with `signoff`,
 *   half by closing);
 * - 200 real `cl_status listnodes` processes started at once.
 * Meanwhile a real `cl_status` keeps working, the peer logs neither `is dead` nor
 * `Late heartbeat`, and afterwards the master has exactly as many descriptors as before.
 *
 * The respawn test (one short test, its own cluster): a client that exits is restarted and
 * logged, exit 100 stops it, one that dies in a loop is throttled (`respawning too fast`).
 *
 * Set `HB_TEST_SHOW_NUMBERS=1` to print the storm numbers.
 *
 * Needs root, the namespace testbed and the Debian heartbeat package; fails otherwise.
 *
 * @module
 */

import { assert, assertEquals } from "./assert.ts";
import { authkeys, REAL_CL_STATUS, type TestNode, waitFor } from "./testbed/mod.ts";
import { type HaCfDirectives, pairTestbed, testHaCf, writeNodeFiles } from "./support/cluster.ts";
import { sleep } from "./testbed/sys.ts";
import { encodeFrame, FrameReader, IPC_MAGIC } from "../api/ipc_frame.ts";
import { decodeMessage, encodeIpc } from "../wire/codec.ts";
import { Message } from "../wire/message.ts";
import { concatBytes } from "../wire/bytes.ts";

const SOCKET = "/run/heartbeat/register";

// ------------------------------------------------------------------ the storm (a script)

/** One connection of the storm client. */
class Conn {
  readonly #conn: Deno.UnixConn;
  readonly #reader = new FrameReader();
  readonly #inbox: Message[] = [];
  #eof = false;
  #pump: Promise<void>;

  private constructor(conn: Deno.UnixConn) {
    this.#conn = conn;
    this.#pump = this.#read();
  }

  /** Connections that found the listen backlog full (EAGAIN) and had to try again. */
  static backlogFull = 0;

  /** Connects, waiting while the listen backlog is full (as a blocking connect would). */
  static async open(): Promise<Conn> {
    for (let attempt = 0;; attempt++) {
      try {
        return new Conn(await Deno.connect({ transport: "unix", path: SOCKET }));
      } catch (e) {
        if (!(e instanceof Deno.errors.WouldBlock) || attempt >= 500) throw e;
        if (attempt === 0) Conn.backlogFull++;
        await sleep(10);
      }
    }
  }

  async #read(): Promise<void> {
    const buf = new Uint8Array(65536);
    try {
      while (true) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        for (const body of this.#reader.push(buf.subarray(0, n)).frames) {
          const d = decodeMessage(body);
          if (d.ok) this.#inbox.push(d.msg);
        }
      }
    } catch {
      // reset
    }
    this.#eof = true;
  }

  async write(bytes: Uint8Array): Promise<boolean> {
    try {
      let off = 0;
      while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
      return true;
    } catch {
      return false;
    }
  }

  send(fields: [string, string][]): Promise<boolean> {
    return this.write(encodeFrame(encodeIpc(Message.fromStrings(fields))));
  }

  /** Waits for `n` messages (or EOF, or the timeout); returns what came. */
  async messages(n: number, timeoutMs = 5000): Promise<Message[]> {
    const end = Date.now() + timeoutMs;
    while (this.#inbox.length < n && !this.#eof && Date.now() < end) await sleep(5);
    return this.#inbox.splice(0, n);
  }

  /** True when the server closed the connection within `timeoutMs`. */
  async closedByServer(timeoutMs = 3000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!this.#eof && Date.now() < end) await sleep(5);
    return this.#eof;
  }

  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // closed
    }
    await this.#pump;
  }
}

function header(len: number, magic = IPC_MAGIC): Uint8Array {
  const h = new Uint8Array(8);
  const dv = new DataView(h.buffer);
  dv.setInt32(0, len, true);
  dv.setUint32(4, magic, true);
  return h;
}

/** Bodies that frame correctly but are not messages (dropped silently by the daemon). */
function garbage(i: number): Uint8Array {
  const kinds = [
    `not a message ${i}`,
    `>>>\nno end ${i}\n`,
    `###\n5:broken,${i}`,
    `>>>\n=novalue\n<<<\n`,
    "",
  ];
  const text = new TextEncoder().encode(kinds[i % kinds.length]);
  const b = new Uint8Array(text.length + 8);
  b.set(text);
  crypto.getRandomValues(b.subarray(text.length));
  return b;
}

/** What the storm observed. */
export interface StormReport {
  malformedFrames: number;
  malformedConnsStillOpen: number;
  badMagicClosed: number;
  truncatedConns: number;
  oversizeClosed: number;
  oversizeTried: number;
  noPidReply: string[];
  noPidClosed: boolean;
  namedSignedOn: number;
  backlogFull: number;
  ms: number;
}

/** The storm client: runs inside node1 (`deno run -A <this file> storm`), prints a report. */
export async function stormMain(phases: string[] = []): Promise<StormReport> {
  const want = (p: string) => phases.length === 0 || phases.includes(p);
  const t0 = Date.now();
  const pid = String(Deno.pid);
  const uid = String(Deno.uid());
  const gid = String(Deno.gid());
  const r: StormReport = {
    malformedFrames: 0,
    malformedConnsStillOpen: 0,
    badMagicClosed: 0,
    truncatedConns: 0,
    oversizeClosed: 0,
    oversizeTried: 0,
    noPidReply: [],
    noPidClosed: false,
    namedSignedOn: 0,
    backlogFull: 0,
    ms: 0,
  };

  if (want("malformed")) {
    // 10 000 malformed frames on 20 connections, 500 each, in one write per connection.
    const conns = await Promise.all(Array.from({ length: 20 }, () => Conn.open()));
    await Promise.all(conns.map(async (c, k) => {
      const frames: Uint8Array[] = [];
      for (let i = 0; i < 500; i++) {
        const body = garbage(k * 500 + i);
        frames.push(header(body.length), body);
      }
      if (await c.write(concatBytes(frames))) r.malformedFrames += 500;
    }));
    const closed = await Promise.all(conns.map((c) => c.closedByServer(300)));
    r.malformedConnsStillOpen = closed.filter((x) => !x).length;
    await Promise.all(conns.map((c) => c.close()));
  }

  if (want("badmagic")) {
    // 100 connections with a bad magic number.
    await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const c = await Conn.open();
      await c.write(concatBytes([header(4, 0xdead0000 + i), new Uint8Array(4)]));
      if (await c.closedByServer()) r.badMagicClosed++;
      await c.close();
    }));
  }

  if (want("truncated")) {
    // 200 truncated frames: 100 with a short body, 100 with half a header; then close.
    await Promise.all(Array.from({ length: 200 }, async (_, i) => {
      const c = await Conn.open();
      const bytes = i % 2 === 0
        ? concatBytes([header(1000), new TextEncoder().encode(">>>\nt=hbapi-req\n")])
        : header(1000).subarray(0, 5);
      if (await c.write(bytes)) r.truncatedConns++;
      await sleep(20);
      await c.close();
    }));
  }

  if (want("oversize")) {
    // Oversized and negative lengths: the connection is closed.
    for (const len of [262145, 300000, 0x7fffffff, -1]) {
      r.oversizeTried++;
      const c = await Conn.open();
      await c.write(header(len));
      await c.write(new Uint8Array(4096));
      if (await c.closedByServer()) r.oversizeClosed++;
      await c.close();
    }
  }

  if (want("nopid")) {
    // A sign-on without pid.
    {
      const c = await Conn.open();
      await c.send([
        ["t", "hbapi-req"],
        ["reqtype", "signon"],
        ["dest", "node1"],
        ["from_id", "nopid"],
        ["uid", uid],
        ["gid", gid],
      ]);
      const m = await c.messages(1);
      r.noPidReply = m.length ? [m[0].get("result") ?? "", m[0].get("info") ?? ""] : [];
      r.noPidClosed = await c.closedByServer();
      await c.close();
    }
  }

  if (want("named")) {
    // 200 named clients at once.
    const named = await Promise.all(Array.from({ length: 200 }, () => Conn.open()));
    await Promise.all(named.map(async (c, i) => {
      const id = `storm${i}`;
      await c.send([
        ["t", "hbapi-req"],
        ["reqtype", "signon"],
        ["dest", "node1"],
        ["pid", pid],
        ["from_id", id],
        ["uid", uid],
        ["gid", gid],
      ]);
      // its own join comes first, then the reply
      const reply = (await c.messages(2)).find((m) => m.get("t") === "hbapi-resp");
      if (reply?.get("result") !== "OK") return;
      r.namedSignedOn++;
    }));
    // Half of them leave by closing, half by signoff. (Requests of one process's several
    // connections are matched to the newest client with that pid, in Heartbeat as here, so
    // only the sign-on is meaningful for connections sharing a pid.)
    await Promise.all(named.map(async (c, i) => {
      if (i % 2 === 0) {
        await c.send([
          ["t", "hbapi-req"],
          ["reqtype", "signoff"],
          ["dest", "node1"],
          ["pid", pid],
          ["from_id", `storm${i}`],
        ]);
      }
    }));
    await Promise.all(named.map((c) => c.close()));
  }

  r.backlogFull = Conn.backlogFull;
  r.ms = Date.now() - t0;
  return r;
}

if (import.meta.main && Deno.args[0] === "storm") {
  console.log(JSON.stringify(await stormMain(Deno.args.slice(1))));
  Deno.exit(0);
}

// ------------------------------------------------------------------------------ the tests

function fdCount(pid: number): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

async function nodeStatus(node: TestNode, of: string): Promise<string> {
  const r = await node.exec([REAL_CL_STATUS, "nodestatus", of], { timeoutMs: 10_000 });
  return r.stdout.trim();
}

/** ha.cf of these tests, with `extra`. */
function conf(extra: HaCfDirectives = {}): string {
  return testHaCf({
    debugfile: "/var/log/ha-debug",
    udpport: 694,
    crm: "off",
    ...extra,
    node: ["node1", "node2"],
  });
}

/** Two nodes configured with {@link conf}`(extra)`, not started. */
async function startPair(name: string, extra: HaCfDirectives) {
  const tb = await pairTestbed(name);
  await writeNodeFiles(tb.nodes, {
    haCf: conf(extra),
    authkeys: authkeys("sha1", "robust"),
    haresources: "",
  });
  return tb;
}

Deno.test("API storm against a running hb node: it serves, heartbeats, leaks nothing", async () => {
  const stat = await Deno.stat(REAL_CL_STATUS).catch(() => undefined);
  assert(stat?.isFile, `${REAL_CL_STATUS} missing: install the Debian package heartbeat`);
  // realtime on (Heartbeat's default) on both nodes: the 200 cl_status processes saturate
  // the CPUs, and only SCHED_RR keeps a heartbeat daemon's timers on time against that (with
  // realtime off both daemons, real and hb, get late heartbeats under this load).
  await using tb = await startPair("apistorm", {
    apiauth: "default uid=root",
    realtime: "on",
  });
  const [node1, node2] = tb.nodes;
  await node2.start({ impl: "heartbeat" });
  await node1.start({ impl: "hb" });
  await waitFor("both active", async () =>
    (await nodeStatus(node1, "node2")) === "active" &&
    (await nodeStatus(node2, "node1")) === "active", { timeoutMs: 30_000, intervalMs: 200 });
  // Past the real node's first 5 s (deadtime + 2 s advertised) and the API's first clients.
  await sleep(6000);
  const master = node1.daemonPid!;
  const fdsBefore = fdCount(master);
  const peerFrom = await node2.logOffset();

  // A real cl_status keeps being answered during the whole storm.
  let storming = true;
  const probes: { code: number; out: string }[] = [];
  let fdsPeak = fdsBefore;
  const fdSampler = setInterval(() => {
    try {
      fdsPeak = Math.max(fdsPeak, fdCount(master));
    } catch {
      // checked below
    }
  }, 5);
  const prober = (async () => {
    while (storming) {
      const p = await node1.exec([REAL_CL_STATUS, "listnodes"], { timeoutMs: 10_000 });
      probes.push({ code: p.code, out: p.stdout });
      await sleep(100);
    }
  })();
  const t0 = Date.now();
  let report: StormReport;
  let crowd: string;
  try {
    const self = new URL(import.meta.url).pathname;
    const storm = await node1.exec([Deno.execPath(), "run", "-A", "--quiet", self, "storm"], {
      timeoutMs: 120_000,
    });
    assertEquals(storm.code, 0, `storm client failed: ${storm.stderr}`);
    report = JSON.parse(storm.stdout.trim().split("\n").pop()!);
    // 200 real cl_status at once.
    const script = `d=$(mktemp -d); for i in $(seq 200); do
      (${REAL_CL_STATUS} listnodes >$d/$i.out 2>&1; echo $? >$d/$i.rc) & done; wait
      cat $d/*.rc | grep -c '^0$'; cat $d/*.out | sort | uniq -c | sort -rn | head -5; rm -rf $d`;
    crowd = (await node1.exec(["sh", "-c", script], { timeoutMs: 60_000 })).stdout.trim();
  } finally {
    storming = false;
    await prober;
    clearInterval(fdSampler);
  }
  const stormMs = Date.now() - t0;

  // Served throughout, heartbeats on time, the same master.
  assert(probes.length >= 3, `${probes.length} probes`);
  const bad = probes.filter((p) => p.code !== 0 || p.out !== "node2\nnode1\n");
  assertEquals(bad, [], "cl_status failed during the storm");
  assertEquals(crowd.split("\n")[0], "200", `all 200 concurrent cl_status succeeded:\n${crowd}`);
  const peerLog = (await node2.readLog()).slice(peerFrom);
  assert(!/is dead|Late heartbeat/.test(peerLog), `the peer noticed:\n${peerLog}`);
  const lostPackets = peerLog.split("\n").filter((l) => l.includes("lost packet(s)")).length;
  const ownLog = await node1.readLog();
  assert(!ownLog.includes("Unable to set scheduler parameters"), "hb runs with SCHED_RR");
  assertEquals(node1.daemonPid, master, "same master");
  assert(node1.running, "node1 still running");
  assertEquals(await nodeStatus(node2, "node1"), "active");

  // What each part of the storm got.
  assertEquals(report.malformedFrames, 10_000);
  assertEquals(report.malformedConnsStillOpen, 20, "unparsable frames are dropped, not fatal");
  assertEquals(report.badMagicClosed, 100);
  assertEquals(report.truncatedConns, 200);
  assertEquals([report.oversizeClosed, report.oversizeTried], [4, 4]);
  assertEquals(report.noPidReply, ["badreq", "bad pid"]);
  assert(report.noPidClosed, "the pid-less client is disconnected");
  assertEquals(report.namedSignedOn, 200);

  // No descriptor left behind.
  let fdsAfter = fdCount(master);
  await waitFor("descriptors back to the count before the storm", () => {
    fdsAfter = fdCount(master);
    return fdsAfter === fdsBefore;
  }, { timeoutMs: 15_000, intervalMs: 100 }).catch(() => {});
  assertEquals(fdsAfter, fdsBefore, `master fds before ${fdsBefore}, after ${fdsAfter}`);
  if (Deno.env.get("HB_TEST_SHOW_NUMBERS")) {
    console.log(
      JSON.stringify({
        ...report,
        stormMs,
        probes: probes.length,
        fdsBefore,
        fdsPeak,
        fdsAfter,
        lostPackets,
      }),
    );
  }
});

Deno.test("respawn in the daemon: restart and log, exit 100 stops, a crash loop is throttled", async () => {
  await using tb = await startPair("respawn", {
    respawn: [
      "hacluster /etc/ha.d/once.sh",
      "hacluster /etc/ha.d/exit100.sh",
      "hacluster /etc/ha.d/crash.sh",
    ],
  });
  const [node1, node2] = tb.nodes;
  // once.sh: exits 0 the first time after 1 s, then stays; exit100.sh: says done;
  // crash.sh: dies at once, every time.
  await node1.writeConfig(
    "once.sh",
    "#!/bin/sh\nf=/var/lib/heartbeat/cores/hacluster/once.done\n" +
      "if [ ! -e $f ]; then sleep 1; : > $f; exit 0; fi\nexec sleep 600\n",
    0o755,
  );
  await node1.writeConfig("exit100.sh", "#!/bin/sh\nexit 100\n", 0o755);
  await node1.writeConfig("crash.sh", "#!/bin/sh\nexit 3\n", 0o755);
  await node2.writeHaCf(conf()); // the real node runs none of these clients
  await node2.start({ impl: "heartbeat" });
  await node1.start({ impl: "hb" });
  const t0 = Date.now();
  await node1.waitForLog('Starting child client "/etc/ha.d/once.sh" (', { timeoutMs: 20_000 });

  // The short-lived client is restarted, and the restart logged.
  await node1.waitForLog(
    /info: Managed \/etc\/ha\.d\/once\.sh process \d+ exited with return code 0\./,
    {
      timeoutMs: 15_000,
    },
  );
  await node1.waitForLog('ERROR: Respawning client "/etc/ha.d/once.sh":', { timeoutMs: 5000 });
  // exit 100: no respawn.
  await node1.waitForLog(
    /WARN: Managed \/etc\/ha\.d\/exit100\.sh process \d+ exited with return code 100\./,
  );
  // The crash loop: throttled after more than 10 short runs.
  await node1.waitForLog('ERROR: Client /etc/ha.d/crash.sh "respawning too fast"', {
    timeoutMs: 30_000,
  });
  const took = Date.now() - t0;
  await sleep(2500);
  const log = await node1.readLog();
  const count = (re: RegExp) => log.split("\n").filter((l) => re.test(l)).length;
  assertEquals(count(/Respawning client "\/etc\/ha\.d\/exit100\.sh"/), 0, "exit 100 not respawned");
  assertEquals(count(/Starting "\/etc\/ha\.d\/exit100\.sh" as uid/), 1);
  assertEquals(count(/Starting "\/etc\/ha\.d\/once\.sh" as uid/), 2, "once.sh: started twice");
  const crashes = count(/Starting "\/etc\/ha\.d\/crash\.sh" as uid \d+ {2}gid \d+ \(pid \d+\)/);
  assert(crashes >= 11 && crashes <= 12, `crash.sh started ${crashes} times`);
  const crashesLater = (await node1.readLog()).split("\n")
    .filter((l) => l.includes('Starting "/etc/ha.d/crash.sh"')).length;
  assertEquals(crashesLater, crashes, "no restart after respawning too fast");
  // once.sh's second instance keeps running.
  const ps = await node1.exec(["sh", "-c", "ps -eo user:20=,args= | grep '[s]leep 600'"]);
  assertEquals(ps.stdout.trim().split(/\s+/)[0], "hacluster", "the second once.sh runs");
  if (Deno.env.get("HB_TEST_SHOW_NUMBERS")) {
    console.log(`respawn: throttled after ${took} ms, ${crashes} starts of crash.sh`);
  }
});
