/**
 * `watchdog <device>` end to end (config-and-cli.md §7.9, §6.6.18): a one-node cluster in the
 * testbed, with a plain file and with a FIFO (read by the test) as the device.
 *
 * - the log lines are Heartbeat's (`notice: Using watchdog device: …`, and for a plain file
 *   the WDIOC_SETTIMEOUT error) — compared with the real Heartbeat 3.0.6 on the same ha.cf;
 * - the device is fed (one NUL) again and again while the node hears its own heartbeats, never
 *   more than once per keepalive interval, by both implementations (the waits end on their
 *   condition: a loaded machine may feed slower, never faster);
 * - feeding stops once the master alone is SIGSTOPped (its workers keep running: only the
 *   master's event loop feeds) and resumes after SIGCONT;
 * - `heartbeat -k` closes the device with the magic character `V`.
 *
 * Needs root, the testbed's packages and the Debian `heartbeat` package; fails loudly
 * (never skips) without them.
 *
 * @module
 */

import { requireRealHeartbeat } from "./support/mod.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { authkeys, run, Testbed, type TestNode, waitFor } from "./testbed/mod.ts";
import { testHaCf, writeNodeFiles } from "./support/cluster.ts";
import { allThreadsStopped } from "./support/proc.ts";

const KEEPALIVE_MS = 100;

/** Bound of each wait: generous, for a loaded machine (the waits end on their condition). */
const BOUND_MS = 120_000;

/** ha.cf of a one-node cluster with the watchdog at `/var/log/<name>`. */
function conf(name: string): string {
  return testHaCf({
    keepalive: `${KEEPALIVE_MS}ms`,
    deadtime: 2,
    initdead: 2,
    watchdog: `/var/log/${name}`,
    node: ["node1"],
  });
}

async function prepare(n: TestNode, device: string): Promise<void> {
  await writeNodeFiles([n], {
    haCf: conf(device),
    authkeys: authkeys("sha1", "watchdog"),
    haresources: "",
  });
}

/** The watchdog lines of a log, without the syslog prefix. */
function watchdogLines(log: string): string[] {
  return log.split("\n").filter((l) => /watchdog|WDIOC/i.test(l)).map((l) =>
    l.replace(/^.* heartbeat: \[\d+\]: /, "")
  );
}

/**
 * Plain-file run of one implementation: its watchdog lines, the device's bytes, and the feeds
 * it made after its start-up compared with the keepalive intervals they took.
 */
async function plainFileRun(
  impl: "hb" | "heartbeat",
): Promise<{ lines: string[]; feeds: number; intervals: number; bytes: Uint8Array }> {
  await using tb = await Testbed.create({ nodes: ["node1"], links: 1, name: `wd${impl}` });
  const n = tb.node("node1");
  await prepare(n, "wd");
  const dev = `${n.logDir}/wd`;
  await Deno.writeFile(dev, new Uint8Array()); // Heartbeat opens it without O_CREAT
  await n.start({ impl, timeoutMs: BOUND_MS });
  await n.waitForLog("Local status now set to: 'active'", { timeoutMs: BOUND_MS });
  const size = async () => (await Deno.stat(dev)).size;
  // past the start-up's extra messages (both implementations feed more often then)
  await waitFor("10 feeds", async () => (await size()) >= 10, { timeoutMs: BOUND_MS });
  // then fed again and again: 20 more feeds, compared with the keepalive intervals they took
  const t0 = performance.now();
  const s0 = await size();
  await waitFor("20 more feeds", async () => (await size()) - s0 >= 20, {
    timeoutMs: BOUND_MS,
    intervalMs: 20,
  });
  const feeds = (await size()) - s0;
  const intervals = (performance.now() - t0) / KEEPALIVE_MS;
  if (impl === "hb") {
    const status = await tb.stopSoft("node1", { via: "command", timeoutMs: BOUND_MS });
    assertEquals(status.code, 0, `${impl}: heartbeat -k`);
  } else {
    // The real daemon alone in its cluster never ends its start-up resource negotiation, so
    // it cannot stop gracefully here (`Shutdown delayed until current resource activity
    // finishes.` forever): power it off.
    await tb.killHard("node1");
  }
  return {
    lines: watchdogLines(await n.readLog()),
    feeds,
    intervals,
    bytes: await Deno.readFile(dev),
  };
}

Deno.test("watchdog on a plain file: Heartbeat's lines, fed at most once per keepalive; V at heartbeat -k", async () => {
  await requireRealHeartbeat();
  const real = await plainFileRun("heartbeat");
  const hb = await plainFileRun("hb");
  const show = (r: typeof real) => `${r.feeds} in ${r.intervals.toFixed(1)}`;
  console.log(`  feeds in keepalive intervals: real ${show(real)}, hb ${show(hb)}`);
  const expected = [
    "notice: Using watchdog device: /var/log/wd",
    // deadtime 2 s: ceil((2000 + 10) / 1000) = 3; a plain file has no such ioctl
    "ERROR: WDIOC_SETTIMEOUT: Failed to set watchdog timer to 3 seconds.: Inappropriate ioctl for device",
  ];
  assertEquals(real.lines, expected, "the real Heartbeat's lines (the oracle)");
  assertEquals(hb.lines, expected);
  for (const [who, r] of [["real", real], ["hb", hb]] as const) {
    // One NUL per looped-back heartbeat: not more than one per keepalive interval, give or
    // take a heartbeat sent early to keep the schedule (a feed per packet or per event-loop turn
    // would exceed it). A loaded machine can only make it fewer: a late heartbeat is not
    // followed by a burst.
    assert(r.feeds <= r.intervals + 3, `${who}: ${show(r)} keepalive intervals`);
  }
  assert(real.bytes.every((b) => b === 0), "real (powered off): only NUL bytes");
  assertEquals(hb.bytes.at(-1), 0x56, "hb: closed with the magic character V at heartbeat -k");
  assert(hb.bytes.subarray(0, -1).every((b) => b === 0), "hb: only NUL bytes before the V");
});

Deno.test("watchdog on a FIFO: no feed while the master is stopped, V at heartbeat -k", async () => {
  await using tb = await Testbed.create({ nodes: ["node1"], links: 1, name: "wdfifo" });
  const n = tb.node("node1");
  await prepare(n, "wdfifo");
  const path = `${n.logDir}/wdfifo`;
  await run(["mkfifo", "-m", "0600", path]);
  // The daemon's open(O_WRONLY) waits for a reader: open ours first (resolves when it opens).
  const opening = Deno.open(path, { read: true });
  await n.start({ impl: "hb", timeoutMs: BOUND_MS });
  const fifo = await opening;
  const got: { at: number; byte: number }[] = [];
  let eof = false;
  const reading = (async () => {
    const buf = new Uint8Array(256);
    for (;;) {
      const k = await fifo.read(buf);
      if (k === null) break;
      const at = performance.now();
      for (const b of buf.subarray(0, k)) got.push({ at, byte: b });
    }
    eof = true;
  })();
  try {
    await n.waitForLog("Local status now set to: 'active'", { timeoutMs: BOUND_MS });
    assertMatch(await n.readLog(), /notice: Using watchdog device: \/var\/log\/wdfifo/);
    const since = (t: number) => got.filter((g) => g.at >= t);

    // healthy, past the start-up: fed again and again, not more than once per keepalive
    // interval give or take one (see the plain-file test)
    await waitFor("10 feeds", () => got.length >= 10, { timeoutMs: BOUND_MS });
    const t0 = performance.now();
    await waitFor("10 more feeds", () => since(t0).length >= 10, { timeoutMs: BOUND_MS });
    const intervals = (performance.now() - t0) / KEEPALIVE_MS;
    const healthy = since(t0).length;
    assert(healthy <= intervals + 3, `fed ${healthy} times in ${intervals} keepalive intervals`);
    assert(since(t0).every((g) => g.byte === 0), "NUL bytes while running");

    // the master alone is stopped: its workers still read heartbeats, nobody feeds. Once every
    // thread of the master is stopped (a write under way completes first) and the test has
    // read what was already in the FIFO (nothing new for three keepalive intervals), nothing
    // more comes during an observation window of six intervals.
    const master = n.daemonPid!;
    Deno.kill(master, "SIGSTOP");
    await waitFor("the master stopped", () => allThreadsStopped(master), { timeoutMs: BOUND_MS });
    await waitFor("the FIFO drained", async () => {
      const count = got.length;
      await new Promise((r) => setTimeout(r, 3 * KEEPALIVE_MS));
      return got.length === count;
    }, { timeoutMs: BOUND_MS, intervalMs: 0 });
    const stoppedCount = got.length;
    await new Promise((r) => setTimeout(r, 6 * KEEPALIVE_MS)); // observation window
    const late = got.length - stoppedCount;
    Deno.kill(master, "SIGCONT");
    assertEquals(late, 0, `fed ${late} times while the master was stopped`);
    const contAt = performance.now();
    await waitFor("feeding resumes after SIGCONT", () => since(contAt).length > 3, {
      timeoutMs: BOUND_MS,
    });

    // heartbeat -k: the magic character, then the descriptor is closed (end of file)
    const status = await tb.stopSoft("node1", { via: "command", timeoutMs: BOUND_MS });
    assertEquals(status.code, 0);
    await waitFor("end of file on the FIFO", () => eof, { timeoutMs: BOUND_MS });
    assertEquals(got.at(-1)?.byte, 0x56, "V written before the close");
    assertEquals(got.filter((g) => g.byte !== 0).length, 1, "exactly one non-NUL byte, the V");
  } finally {
    if (n.daemonPid !== undefined) {
      try {
        Deno.kill(n.daemonPid, "SIGCONT");
      } catch {
        // gone
      }
    }
    await tb.destroy(); // ends the writer, so the reader below sees end of file
    await reading.catch(() => {});
    try {
      fifo.close();
    } catch {
      // closed
    }
  }
});
