/**
 * "No local heartbeat" (behavior.md §3.3, §4.3), driven on a real node of each implementation
 * and compared (issue 11).
 *
 * What makes it fire: Heartbeat 3.0.6 processes its own status message locally when it sends it
 * (`process_outbound_packet` → `process_clustermsg(msg, NULL)`), not when the copy comes back
 * from a medium, and its keepalive timer has a higher priority than the dead-node check. So
 * dropping the node's own packets on input changes nothing (tried: an nftables `input` rule
 * dropping UDP 694 from the node's own address — no effect), and neither does stopping the
 * master control process (tried: SIGSTOP 1.5 s and 3 s with deadtime 500 ms: `Late heartbeat:
 * Node node1`, never `No local heartbeat`). It fires only when the master's loop runs but its
 * periodic status is not sent (in practice: memory exhaustion). The tests produce exactly that
 * state: on the real binary, gdb patches `hb_send_local_status` to return at once (the exec of
 * the restart loads a clean image); on hb, the test hook `HB_TEST_STOP_STATUS` stops the
 * core's periodic status on a FIFO message.
 *
 * What Heartbeat 3.0.6 then does (`mark_node_dead` on the local node → `cause_shutdown_restart`,
 * observed here): `WARN: node node1: is dead`, `ERROR: No local heartbeat. Forcing restart.`,
 * `See URL: …#No_Local_Heartbeat`, the graceful shutdown (`Giving up all HA resources.`, every
 * group released, `shutdone`), `dt` = deadtime + 30 s, the core processes stop, `node1 Heartbeat
 * shutdown complete.`, `Heartbeat restart triggered.`, `Restarting heartbeat.`, `Performing
 * heartbeat restart exec.`, a sleep of deadtime + 1 s, and the same pid execs a fresh daemon
 * (new generation, full start-up negotiation; with auto_failback on node1 gets its group back).
 * hb does the same (master/runtime.ts `restartProcedure`, master/daemon.ts).
 *
 * The peer stops hearing node1 at the same moment node1 stops hearing itself, so it declares
 * node1 dead after deadtime and takes over while node1 is still releasing (measured over three
 * runs: Heartbeat had the service IP on both nodes for 0-151 ms; hb for 0 ms). That
 * window is allowed; before and after it the {@link Watch} proves single ownership.
 *
 * Where the two differ, observed:
 * - Heartbeat re-executes a bare `heartbeat` (no `-f`): the new image forks into the background
 *   and the foreground process exits 0, so under the testbed (and under Debian's systemd unit,
 *   `Type=simple` running `heartbeat -f`) the restarted node is lost. hb keeps its daemon flags
 *   (`-f`, `-d`, …) and comes back as the same process.
 * - The real peer takes node1's last status (sent with `dt` = deadtime + 30 s during node1's final
 *   shutdown phase) for a healed partition (`Cluster node node1 returning after partition.`) and
 *   runs the shutdown-and-restart procedure itself: both real nodes release everything and the
 *   service is down until they are back. An hb peer resolves the healed partition without a
 *   restart (core/ownership/duplicates.ts, fix 3) and keeps the groups until node1 is back;
 *   then auto_failback gives node1 its group.
 * - Heartbeat logs `No local heartbeat. Forcing restart.` at every dead-node check until it
 *   exits (its own node is never marked dead); hb once per episode.
 *
 * @module
 */

import { requireRealHeartbeat, sleep } from "./support/mod.ts";
import { assert, assertEquals } from "./assert.ts";
import { keepLogs, waitPlacement, Watch } from "./support/failover.ts";
import { allOn, NORMAL, PAIR_HARESOURCES } from "./support/failover_pair.ts";
import { configure, type Interval } from "./support/failover.ts";
import { type Impl, run, type TestNode } from "./testbed/mod.ts";
import { pairTestbed } from "./support/cluster.ts";
import { STOP_STATUS_ENV } from "../master/runtime.ts";

/** Lines both implementations must log on node1, in this order. */
const EXPECTED_SEQUENCE = [
  "node node1: is dead",
  "No local heartbeat. Forcing restart.",
  "See URL: http://linux-ha.org/wiki/FAQ#No_Local_Heartbeat",
  "Giving up all HA resources.",
  "All HA resources relinquished.",
  "node1 Heartbeat shutdown complete.",
  "Heartbeat restart triggered.",
  "Restarting heartbeat.",
  "Performing heartbeat restart exec.",
  "Configuration validated. Starting heartbeat 3.0.6",
];

/** What follows in the log of the restarted hb node (the testbed loses Heartbeat's, see below). */
const HB_RESTARTED = ["Heartbeat generation: ", "Local status now set to: 'active'"];

/** The FIFO message type that stops an hb node's status ({@link STOP_STATUS_ENV}). */
const STOP_TYPE = "hb-test-stop-status";

/** Makes `node`'s master stop sending its periodic status (see the module doc). */
async function stopOwnStatus(node: TestNode, impl: Impl): Promise<void> {
  if (impl === "hb") {
    const r = await node.exec([
      "sh",
      "-c",
      `printf '>>>\\nt=${STOP_TYPE}\\n<<<\\n' > /var/lib/heartbeat/fifo`,
    ]);
    assertEquals(r.code, 0, r.stderr);
    return;
  }
  // mov eax, 1; ret: the keepalive timer callback returns TRUE (keep the timer) and sends nothing
  const r = await run([
    "gdb",
    "-p",
    String(node.daemonPid),
    "-batch",
    "-nx",
    "-ex",
    "set *(unsigned int *)hb_send_local_status = 0x000001b8",
    "-ex",
    "set *(unsigned short *)((char *)hb_send_local_status + 4) = 0xc300",
  ], { check: false });
  assertEquals(r.code, 0, `gdb: ${r.stderr}`);
}

/** The ha-log lines of `node` from `offset`, without the time/host/pid prefix and priority. */
async function linesFrom(node: TestNode, offset: number): Promise<string[]> {
  const text = (await node.readLog()).slice(offset);
  return text.split("\n").filter((l) => l !== "").map((l) =>
    l.replace(/^.*?\[\d+\]:\s+\S+\s+/, "")
  );
}

/** Index of the first line at or after `from` that contains `want`, or -1. */
function findFrom(lines: string[], want: string, from: number): number {
  for (let i = from; i < lines.length; i++) if (lines[i].includes(want)) return i;
  return -1;
}

/** Total time in which two nodes held the same named thing at once. */
function overlapMs(intervals: Interval[]): number {
  let total = 0;
  for (const a of intervals) {
    for (const b of intervals) {
      if (a.node >= b.node || a.name !== b.name) continue;
      const from = Math.max(a.from, b.from);
      const to = Math.min(
        a.to === Infinity ? Date.now() : a.to,
        b.to === Infinity ? Date.now() : b.to,
      );
      if (to > from) total += to - from;
    }
  }
  return total;
}

/** What one run observed. */
interface Observed {
  impl: Impl;
  lines: string[];
  peer: string[];
  ms: Record<string, number>;
  samePid: boolean;
  exit: number | undefined;
}

async function scenario(impl: Impl): Promise<Observed> {
  await using tb = await pairTestbed(`nlh${impl === "hb" ? "b" : "h"}`, { client: true });
  const watch = new Watch(tb);
  await watch.start();
  const [n1, n2] = tb.nodes;
  const ms: Record<string, number> = {};
  let samePid = false;
  let exit: number | undefined;
  let peer: string[] = [];
  let lines: string[] = [];
  try {
    await configure(tb, { autoFailback: "on", haresources: PAIR_HARESOURCES });
    const env = impl === "hb" ? { [STOP_STATUS_ENV]: STOP_TYPE } : undefined;
    await Promise.all([n1.start({ impl, ...(env ? { env } : {}) }), n2.start({ impl })]);
    await waitPlacement(tb, NORMAL, 30_000);
    const pid = n1.daemonPid;
    const from = await n1.logOffset();
    const from2 = await n2.logOffset();
    const t0 = performance.now();
    await watch.allowDuplicates(async () => {
      await stopOwnStatus(n1, impl);
      await n1.waitForLog("No local heartbeat. Forcing restart.", { from, timeoutMs: 30_000 });
      ms["status stopped → No local heartbeat"] = performance.now() - t0;
      await waitPlacement(tb, allOn("node2"), 20_000);
      ms["status stopped → node2 alone runs every group"] = performance.now() - t0;
    });
    await n1.waitForLog("Performing heartbeat restart exec.", { from, timeoutMs: 30_000 });
    ms["status stopped → restart exec"] = performance.now() - t0;
    if (impl === "heartbeat") {
      // Heartbeat execs a bare `heartbeat` (no -f): the new image validates the configuration,
      // then forks into the background and the foreground process exits; the testbed's node
      // (like systemd's Type=simple unit running `heartbeat -f`) ends with it.
      await n1.waitForLog("Configuration validated. Starting heartbeat 3.0.6", {
        from,
        timeoutMs: 20_000,
      });
      ms["status stopped → new image validated its configuration"] = performance.now() - t0;
      const st = await n1.wait();
      ms["status stopped → foreground process gone (new image daemonized)"] = performance.now() -
        t0;
      exit = st.code;
      // node2 took node1's last status (sent with dt + 30 s in its final shutdown phase) for a
      // healed partition and runs the shutdown-and-restart procedure too: nothing runs anywhere
      await n2.waitForLog("Cluster node node1 returning after partition.", {
        from: from2,
        timeoutMs: 30_000,
      });
      await n2.waitForLog("Performing heartbeat restart exec.", { from: from2, timeoutMs: 30_000 });
      ms["status stopped → node2 restarts too (partition healed)"] = performance.now() - t0;
      await waitPlacement(tb, { ip: null, g1: null, g2: null }, 5000);
    } else {
      await n1.waitForLog("Heartbeat generation:", { from, timeoutMs: 20_000 });
      ms["status stopped → new generation"] = performance.now() - t0;
      // auto_failback on: the restarted node1 gets its own group back
      await waitPlacement(tb, NORMAL, 30_000);
      ms["status stopped → back to normal placement"] = performance.now() - t0;
      samePid = n1.daemonPid === pid && n1.running;
      await sleep(500);
    }
    lines = await linesFrom(n1, from);
    peer = await linesFrom(n2, from2);
  } finally {
    await watch.stop();
    await keepLogs(tb, `no-local-heartbeat-${impl}`);
  }
  ms["overlap: service IP on both nodes"] = overlapMs(watch.ipIntervals());
  await watch.check();
  return { impl, lines, peer, ms, samePid, exit };
}

Deno.test("No local heartbeat: real Heartbeat and hb both release, restart, come back", async () => {
  await requireRealHeartbeat();
  const results: Observed[] = [];
  const only = Deno.env.get("HB_TEST_ONLY_IMPL");
  for (const impl of ["heartbeat", "hb"] as const) {
    if (only === undefined || only === impl) results.push(await scenario(impl));
  }
  for (const r of results) {
    console.log(`---- ${r.impl}: node1 log from the moment its status stopped`);
    console.log(r.lines.map((l) => `  ${l}`).join("\n"));
    console.log(`---- ${r.impl}: node2 (peer) log from the same moment`);
    console.log(r.peer.map((l) => `  ${l}`).join("\n"));
    console.table(Object.fromEntries(Object.entries(r.ms).map(([k, v]) => [k, Math.round(v)])));
    if (r.exit !== undefined) {
      console.log(`${r.impl}: the foreground process exited with ${r.exit}`);
    }
  }
  for (const r of results) {
    let at = 0;
    for (const want of EXPECTED_SEQUENCE) {
      const i = findFrom(r.lines, want, at);
      assert(i >= 0, `${r.impl}: "${want}" missing after line ${at}:\n${r.lines.join("\n")}`);
      at = i + 1;
    }
    if (r.impl === "heartbeat") continue;
    for (const want of HB_RESTARTED) {
      const i = findFrom(r.lines, want, at);
      assert(i >= 0, `${r.impl}: "${want}" missing after line ${at}:\n${r.lines.join("\n")}`);
      at = i + 1;
    }
    assertEquals(r.samePid, true, `${r.impl}: the restart re-executes the same process`);
  }
});
