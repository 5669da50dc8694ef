/**
 * The client API of the running daemon, judged by the real clients.
 *
 * 1. `/usr/bin/cl_status` (the Debian binary) inside node1 of a two-node hb cluster gives the
 *    same stdout, stderr and exit code as inside node1 of a two-node Heartbeat 3.0.6 cluster
 *    built the same way (same ha.cf with a ping node in the client namespace, one
 *    haresources group per node), for every sub-command and option of api.md §7, in four
 *    states: both nodes up; the peer dead and its group taken over; the daemon stopped
 *    (stale socket, ECONNREFUSED); the socket file gone (ENOENT). Refused sign-ons
 *    (`apiauth anon uid=root`, cl_status run as `nobody`) are compared too.
 * 2. apiauth from kernel credentials: raw clients run by `socat` under `setpriv` with an
 *    unlisted uid/gid, with a false uid claim, as a named client without authorization, and
 *    with a false pid claim, get the same refusal frames from both daemons, which log the same
 *    lines about them.
 *
 * Masks (the only differences allowed):
 * - stderr lines of cl_status start with `<Mon dd HH:MM:SS> node1 cl_status: [<pid>]: `: the
 *   time and the client's own pid change from run to run; the prefix becomes `<LOG> `;
 * - the `client_gen` of a refused named client's `hbapi-clstat leave`: Heartbeat numbers every
 *   connection attempt since the daemon started, so it depends on how many clients connected
 *   before (the cl_status runs, the waits), not on the implementation; it becomes `<GEN>`.
 * - in the daemons' log lines about the raw sign-ons, `farside_pid: <n>`: the pid of that
 *   run's socat.
 * Nothing else is masked: no uuid or generation reaches cl_status's output.
 *
 * Set `HB_TEST_SHOW_TABLE=1` to print the comparison table.
 *
 * Needs root, the namespace testbed, the Debian heartbeat package and socat; fails otherwise.
 *
 * @module
 */

import { assert, assertEquals } from "./assert.ts";
import {
  authkeys,
  hbCommand,
  REAL_CL_STATUS,
  REAL_HEARTBEAT,
  type TestNode,
  waitFor,
} from "./testbed/mod.ts";
import { pairTestbed, testHaCf, writeNodeFiles } from "./support/cluster.ts";
import { sleep, which } from "./testbed/sys.ts";
import { machineHaIds } from "./support/fake_api_backend.ts";
import { encodeFrame, FrameReader } from "../api/ipc_frame.ts";
import { decodeMessage, encodeIpc } from "../wire/codec.ts";
import { Message } from "../wire/message.ts";

const PING = "198.18.0.250";
const SERVICE1 = "198.18.0.101";
const SERVICE2 = "198.18.0.102";

/** ha.cf of both clusters; `ping` before `node` on purpose (the node list keeps ha.cf order). */
const HA_CF = testHaCf({
  debugfile: "/var/log/ha-debug",
  warntime: "300ms",
  udpport: 694,
  ping: PING,
  crm: "off",
  apiauth: "anon uid=root",
  node: ["node1", "node2"],
});

const HARESOURCES = `node1 IPaddr::${SERVICE1}/24/eth0\nnode2 IPaddr::${SERVICE2}/24/eth0\n`;

/** Parameters asked with `hbparameter -p` (values from ha.cf, defaults, derived, none). */
const PARAMETERS = [
  "keepalive",
  "deadtime",
  "warntime",
  "initdead",
  "deadping",
  "udpport",
  "auto_failback",
  "crm",
  "pacemaker",
  "logfacility",
  "logfile",
  "debugfile",
  "debug",
  "msgfmt",
  "baud",
  "hopfudge",
  "cluster",
  "realtime",
  "hbgenmethod",
  "compression",
  "coredumps",
  "memreserve",
  "autojoin",
  "uuidfrom",
  "hbversion",
  "node",
  "apiauth",
  "nice_failback",
  "coreroot",
  "nosuchparameter",
];

/** Invocations while both nodes run. */
const RUNNING: string[][] = [
  ["hbstatus"],
  ["hbstatus", "-v"],
  ["hbstatus", "-m"],
  ["hbstatus", "-m", "-v"],
  ["listnodes"],
  ["listnodes", "-p"],
  ["listnodes", "-n"],
  ["listnodes", "-v"],
  ["listnodes", "-m"],
  ["listnodes", "-n", "-v"],
  ["nodestatus", "node1"],
  ["nodestatus", "node2"],
  ["nodestatus", PING],
  ["nodestatus", "-m", "node2"],
  ["nodestatus", "NODE2"],
  ["nodestatus", "nosuchnode"],
  ["nodestatus"],
  ["nodetype", "node2"],
  ["nodetype", "-m", PING],
  ["nodetype", "nosuchnode"],
  ["nodeweight", "node2"],
  ["nodeweight", "-m", "node1"],
  ["nodeweight", "nosuchnode"],
  ["nodesite", "node2"],
  ["nodesite", "-m", "node1"],
  ["nodesite", "nosuchnode"],
  ["listhblinks", "node1"],
  ["listhblinks", "-v", "node2"],
  ["listhblinks", "-m", PING],
  ["listhblinks", "nosuchnode"],
  ["listhblinks"],
  ["hblinkstatus", "node1", "eth0"],
  ["hblinkstatus", "node2", "eth0"],
  ["hblinkstatus", "-m", "node2", "eth0"],
  ["hblinkstatus", PING, PING],
  ["hblinkstatus", "node2", "eth9"],
  ["hblinkstatus", "node2"],
  ["clientstatus", "node1", "ipfail"],
  ["clientstatus", "node2", "ipfail", "3000"],
  ["clientstatus", PING, "ipfail"],
  ["clientstatus", "nosuchnode", "ipfail"],
  ["clientstatus", "-m", "node1"],
  ["rscstatus"],
  ["rscstatus", "-m"],
  ...PARAMETERS.map((p) => ["hbparameter", "-p", p]),
  ["hbparameter", "-m", "-p", "keepalive"],
  ["hbparameter"],
  ["hbparameter", "-p"],
  ["bogus"],
  ["test"],
];

/** Refused sign-ons: cl_status run as nobody (egid haclient by its setgid bit). */
const REFUSED: string[][] = [
  ["hbstatus"],
  ["hbstatus", "-v"],
  ["nodestatus", "node2"],
  ["listnodes", "-v"],
  ["rscstatus"],
];

/** After node2 was killed and node1 took its group over. */
const PEER_DEAD: string[][] = [
  ["nodestatus", "node2"],
  ["nodestatus", "-m", "node2"],
  ["listnodes", "-v"],
  ["hblinkstatus", "node2", "eth0"],
  ["listhblinks", "-v", "node2"],
  ["clientstatus", "node2", "ipfail", "1000"],
  ["rscstatus"],
  ["rscstatus", "-m"],
];

/** With the daemon stopped (its socket file left behind), and with the socket file removed. */
const NOT_RUNNING: string[][] = [
  ["hbstatus"],
  ["hbstatus", "-v"],
  ["listnodes"],
  ["nodestatus", "node2"],
  ["rscstatus"],
  ["hbparameter", "-p", "deadtime"],
  ["bogus"],
];

/** Raw sign-ons by socat as `nobody:nogroup` (+ supplementary haclient to reach the socket). */
interface RawCase {
  name: string;
  /** setpriv credentials. */
  as: string[];
  /** Sign-on fields. */
  fields: [string, string][];
}

const NOBODY = ["--reuid=nobody", "--regid=nogroup", "--groups=haclient"];

function signon(pid: string, uid: string, gid: string, fromId?: string): [string, string][] {
  const f: [string, string][] = [["t", "hbapi-req"], ["reqtype", "signon"], ["dest", "node1"]];
  f.push(["pid", pid]);
  if (fromId !== undefined) f.push(["from_id", fromId]);
  f.push(["uid", uid], ["gid", gid]);
  return f;
}

/** This machine's hacluster uid and haclient gid (the honest claims of a hacluster client). */
const HA_IDS = machineHaIds();

const RAW_CASES: RawCase[] = [
  // The claims match the kernel's credentials; anon does not list nobody/nogroup. (pid 1 exists.)
  { name: "unlisted uid/gid", as: NOBODY, fields: signon("1", "65534", "65534") },
  // The kernel says nobody; the client claims root.
  { name: "false uid claim", as: NOBODY, fields: signon("1", "0", "0") },
  { name: "false uid only", as: NOBODY, fields: signon("1", "0", "65534") },
  // Named client: apiauth ipfail (built-in uid=hacluster) does not list nobody.
  { name: "named, unauthorized", as: NOBODY, fields: signon("1", "65534", "65534", "ipfail") },
  // hacluster:haclient passes `ping` (built-in gid=haclient), but pid 1 is not the peer.
  {
    name: "false pid claim",
    as: ["--reuid=hacluster", "--regid=haclient", "--clear-groups"],
    fields: signon("1", String(HA_IDS.hacluster), String(HA_IDS.haclient), "ping"),
  },
];

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

const LOG_PREFIX = /^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d node1 cl_status: \[\d+\]: /gm;

function masked(r: { code: number; stdout: string; stderr: string }): Outcome {
  return { code: r.code, stdout: r.stdout, stderr: r.stderr.replace(LOG_PREFIX, "<LOG> ") };
}

async function clStatus(node: TestNode, args: string[], as?: string[]): Promise<Outcome> {
  const cmd = as ? ["setpriv", ...as, REAL_CL_STATUS, ...args] : [REAL_CL_STATUS, ...args];
  return masked(await node.exec(cmd, { timeoutMs: 15_000 }));
}

/** A raw sign-on through socat; returns the frames received, one `k=v` list per message. */
async function rawSignon(node: TestNode, c: RawCase): Promise<string[][]> {
  const req = encodeFrame(encodeIpc(Message.fromStrings(c.fields)));
  const b64 = btoa(String.fromCharCode(...req));
  const script = `(printf %s "$0" | base64 -d; sleep 1.5) | setpriv ${
    c.as.join(" ")
  } socat -t 1 - UNIX-CONNECT:/run/heartbeat/register | base64 -w0`;
  const r = await node.exec(["sh", "-c", script, b64], { timeoutMs: 15_000 });
  const bytes = Uint8Array.from(atob(r.stdout.trim()), (ch) => ch.charCodeAt(0));
  const reader = new FrameReader();
  const p = reader.push(bytes);
  const out: string[][] = [];
  for (const body of p.frames) {
    const d = decodeMessage(body);
    if (!d.ok) {
      out.push([`<undecodable: ${d.reason}>`]);
      continue;
    }
    const fields: string[] = [];
    for (const f of d.msg.fields) {
      const v = f.type === 0 ? f.value : `(type ${f.type})`;
      fields.push(`${f.name}=${f.name === "client_gen" ? "<GEN>" : v}`);
    }
    out.push(fields);
  }
  if (p.error) out.push([`<framing error: ${p.error}>`]);
  return out;
}

async function hasAddress(node: TestNode, addr: string): Promise<boolean> {
  return (await node.exec(["ip", "-4", "-o", "addr", "show"])).stdout.includes(` ${addr}/`);
}

async function rscstatus(node: TestNode): Promise<string> {
  const r = await node.exec([REAL_CL_STATUS, "rscstatus"], { timeoutMs: 10_000 });
  return r.code === 0 ? r.stdout.trim() : `exit ${r.code}`;
}

/** Everything observed on node1 of one cluster, keyed by `<state>: <invocation>`. */
interface Observed {
  cl: Map<string, Outcome>;
  raw: Map<string, string[][]>;
  /** The daemon's log lines during each raw sign-on. */
  rawLog: Map<string, string[]>;
  /** Extra column: hb's own cl_status in the same node (hb cluster only). */
  ours: Map<string, Outcome>;
  /** Mode and owner of the directories the daemon makes under /run/heartbeat. */
  dirs: string;
  ms: number;
}

async function observe(impl: "hb" | "heartbeat"): Promise<Observed> {
  const t0 = Date.now();
  const obs: Observed = {
    cl: new Map(),
    raw: new Map(),
    rawLog: new Map(),
    ours: new Map(),
    dirs: "",
    ms: 0,
  };
  await using tb = await pairTestbed(`api-${impl}`, { client: true });
  const [node1, node2] = tb.nodes;
  await writeNodeFiles(tb.nodes, {
    haCf: HA_CF,
    authkeys: authkeys("sha1", "api-daemon"),
    haresources: HARESOURCES,
  });
  await Promise.all(tb.nodes.map((n) => n.start({ impl })));
  // Same state: both active, the ping node up, each node holding its own group, stable.
  await waitFor(
    `${impl}: cluster stable`,
    async () =>
      (await rscstatus(node1)) === "local" && (await rscstatus(node2)) === "local" &&
      (await hasAddress(node1, SERVICE1)) && (await hasAddress(node2, SERVICE2)) &&
      (await clStatus(node1, ["nodestatus", PING])).stdout === "ping\n" &&
      (await clStatus(node1, ["nodestatus", "node2"])).stdout === "active\n" &&
      (await clStatus(node2, ["nodestatus", PING])).stdout === "ping\n",
    {
      timeoutMs: 40_000,
      intervalMs: 250,
    },
  );

  const ours = impl === "hb";
  for (const args of RUNNING) {
    obs.cl.set(`running: ${args.join(" ")}`, await clStatus(node1, args));
    if (ours) {
      const r = await node1.exec([...hbCommand(), "cl_status", ...args], { timeoutMs: 15_000 });
      obs.ours.set(`running: ${args.join(" ")}`, masked(r));
    }
  }
  for (const args of REFUSED) {
    obs.cl.set(`refused (nobody): ${args.join(" ")}`, await clStatus(node1, args, NOBODY));
  }
  obs.dirs = ["rsctmp"].map((d) => {
    const st = Deno.statSync(`${node1.runDir}/heartbeat/${d}`);
    return `${d} ${((st.mode ?? 0) & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
  }).join(", ");
  for (const c of RAW_CASES) {
    const from = await node1.logOffset();
    obs.raw.set(c.name, await rawSignon(node1, c));
    await sleep(300);
    obs.rawLog.set(
      c.name,
      (await node1.readLog()).slice(from).split("\n").filter((l) => l.includes(" heartbeat: "))
        .map((l) =>
          l.replace(/^.* heartbeat: \[\d+\]: /, "").replace(
            /farside_pid: \d+/,
            "farside_pid: <PID>",
          )
        ),
    );
  }
  assertEquals(await rscstatus(node1), "local", `${impl}: node1 still serving after the refusals`);

  await tb.killHard(node2);
  await node1.waitForLog("node node2: is dead", { timeoutMs: 10_000 });
  await waitFor(
    `${impl}: node1 took node2's group over`,
    async () => (await rscstatus(node1)) === "all" && (await hasAddress(node1, SERVICE2)),
    {
      timeoutMs: 30_000,
      intervalMs: 250,
    },
  );
  for (const args of PEER_DEAD) {
    obs.cl.set(`peer dead: ${args.join(" ")}`, await clStatus(node1, args));
  }

  const stopped = await tb.stopSoft(node1, { timeoutMs: 30_000 });
  assertEquals(stopped.code, 0, `${impl}: graceful stop`);
  const socket = `${node1.runDir}/heartbeat/register`;
  assert((await Deno.lstat(socket)).isSocket, `${impl}: the socket file stays after a stop`);
  for (const args of NOT_RUNNING) {
    obs.cl.set(`stopped (stale socket): ${args.join(" ")}`, await clStatus(node1, args));
  }
  await Deno.remove(socket);
  for (const args of NOT_RUNNING) {
    obs.cl.set(`no socket: ${args.join(" ")}`, await clStatus(node1, args));
  }
  obs.ms = Date.now() - t0;
  return obs;
}

function requireTools(): void {
  for (const p of [REAL_HEARTBEAT, REAL_CL_STATUS]) {
    try {
      Deno.statSync(p);
    } catch {
      throw new Error(`${p} is missing: install the Debian package heartbeat (3.0.6)`);
    }
  }
  if (!which("socat")) throw new Error("socat is missing: install the Debian package socat");
}

function short(o: Outcome): string {
  const s = `${o.code} ${JSON.stringify(o.stdout)} ${JSON.stringify(o.stderr)}`;
  return s.length > 110 ? s.slice(0, 107) + "..." : s;
}

Deno.test("real cl_status and raw clients: hb daemon = Heartbeat 3.0.6 daemon", async () => {
  requireTools();
  const real = await observe("heartbeat");
  const hb = await observe("hb");
  const rows: string[] = [];
  const diffs: string[] = [];
  assertEquals(hb.dirs, real.dirs, "directories made under /run/heartbeat");
  for (const [key, r] of real.cl) {
    const h = hb.cl.get(key);
    const same = h !== undefined && JSON.stringify(h) === JSON.stringify(r);
    rows.push(`| \`cl_status ${key}\` | ${same ? "identical" : "DIFFERENT"} | ${r.code} |`);
    if (!same) {
      diffs.push(`cl_status ${key}\n  real: ${short(r)}\n  hb:   ${h ? short(h) : "(missing)"}`);
    }
  }
  for (const [key, r] of real.raw) {
    const h = hb.raw.get(key);
    const logs = [real.rawLog.get(key), hb.rawLog.get(key)];
    if (JSON.stringify(logs[0]) !== JSON.stringify(logs[1])) {
      diffs.push(
        `daemon log, raw ${key}\n  real: ${logs[0]?.join(" / ")}\n  hb:   ${logs[1]?.join(" / ")}`,
      );
    }
    const same = JSON.stringify(h) === JSON.stringify(r);
    rows.push(`| raw sign-on: ${key} | ${same ? "identical" : "DIFFERENT"} | |`);
    if (!same) {
      diffs.push(`raw ${key}\n  real: ${JSON.stringify(r)}\n  hb:   ${JSON.stringify(h)}`);
    }
  }
  let oursSame = 0;
  for (const [key, o] of hb.ours) {
    const r = real.cl.get(key)!;
    if (JSON.stringify(o) === JSON.stringify(r)) oursSame++;
    else diffs.push(`hb's cl_status ${key}\n  real: ${short(r)}\n  hb's: ${short(o)}`);
  }
  if (Deno.env.get("HB_TEST_SHOW_TABLE")) {
    console.log(`real cluster ${real.ms} ms, hb cluster ${hb.ms} ms`);
    console.log("| invocation on node1 | real cl_status: hb vs Heartbeat | exit |\n|---|---|---|");
    console.log(rows.join("\n"));
    console.log(`hb's own cl_status identical to the real one: ${oursSame}/${hb.ours.size}`);
  }
  assertEquals(diffs, [], `differences:\n${diffs.join("\n")}`);
  assert(real.cl.size >= 30, `${real.cl.size} cl_status invocations compared`);

  // Spot checks that the states were the intended ones (so "identical" means something).
  const get = (k: string) => real.cl.get(k)!;
  assertEquals(get("running: listnodes").stdout, `node2\nnode1\n${PING}\n`);
  assertEquals(get("running: rscstatus").stdout, "local\n");
  assertEquals(
    get("refused (nobody): hbstatus").stdout,
    "Heartbeat is apparently running on this machine, but refuses my connection\n",
  );
  assert(get("refused (nobody): nodestatus node2").stderr.includes("client failed authorization"));
  assertEquals([get("peer dead: nodestatus node2").code, get("peer dead: rscstatus").stdout], [
    1,
    "all\n",
  ]);
  assertEquals(
    get("stopped (stale socket): hbstatus").stdout,
    "Heartbeat is stopped on this machine.\n",
  );
  const raw = (k: string) => real.raw.get(k)!.map((m) => m.find((f) => f.startsWith("info=")));
  assertEquals(raw("unlisted uid/gid"), ["info=client failed authorization"]);
  assertEquals(raw("false uid claim"), ["info=incorrect/false credentials"]);
  assertEquals(raw("false uid only"), ["info=incorrect/false credentials"]);
  assertEquals(raw("named, unauthorized"), [
    "info=client failed authorization",
    "info=client failed authorization",
  ]);
  assertEquals(raw("false pid claim"), ["info=pid mismatch", "info=pid mismatch"]);
});
