/**
 * The fail-safe path for internal errors (issue 11, master/runtime.ts `failSafe`), on real hb
 * nodes in the testbed: node1 runs with the test hook `HB_TEST_CORE_FAULT=message:<type>`, so the
 * core "throws" when a message of that type arrives from the FIFO. node1 must log the error at
 * CRIT with its stack, never feed its core again, release every group it runs, stop its workers
 * and exit with 100; node2 takes every group over; the {@link Watch} proves that no group ran
 * on both nodes at any time. The second test throws the same error from a timer instead
 * (`uncaught:`), where only the daemon's global handler catches it: same path. The third shows
 * Heartbeat's limit on a graceful shutdown (60 minutes, shortened by `HB_TEST_SHUTDOWN_LIMIT_MS`):
 * a stop script that never returns ends in an emergency shutdown with exit status 100.
 *
 * @module
 */

import { requireRealHeartbeat } from "./support/mod.ts";
import { assert, assertEquals } from "./assert.ts";
import { configure, keepLogs, waitPlacement, Watch } from "./support/failover.ts";
import { allOn, NORMAL, PAIR_HARESOURCES } from "./support/failover_pair.ts";
import { pairTestbed } from "./support/cluster.ts";
import { FAULT_ENV, SHUTDOWN_LIMIT_ENV } from "../master/runtime.ts";

const FAULT_TYPE = "hb-test-fault";

async function scenario(mode: "core" | "uncaught"): Promise<void> {
  await requireRealHeartbeat();
  await using tb = await pairTestbed(mode === "core" ? "fsafe" : "fsafeu", { client: true });
  const watch = new Watch(tb);
  await watch.start();
  const [n1, n2] = tb.nodes;
  try {
    await configure(tb, { autoFailback: "on", haresources: PAIR_HARESOURCES });
    await Promise.all([
      n1.start({
        impl: "hb",
        env: { [FAULT_ENV]: `${mode === "uncaught" ? "uncaught:" : ""}message:${FAULT_TYPE}` },
      }),
      n2.start({ impl: "hb" }),
    ]);
    await waitPlacement(tb, NORMAL, 30_000);
    const from = await n1.logOffset();
    const from2 = await n2.logOffset();
    const t0 = performance.now();
    const r = await n1.exec([
      "sh",
      "-c",
      `printf '>>>\\nt=${FAULT_TYPE}\\n<<<\\n' > /var/lib/heartbeat/fifo`,
    ]);
    assertEquals(r.code, 0, r.stderr);
    const first = mode === "core"
      ? `CRIT: core failure on message ${FAULT_TYPE}: Error: injected core fault`
      : "CRIT: uncaught exception in the master: Error: injected core fault";
    await n1.waitForLog(first, { from, timeoutMs: 30_000 });
    const status = await n1.wait();
    const exited = performance.now() - t0;
    assertEquals(status.code, 100, "node1 exits with Heartbeat's emergency status");
    await waitPlacement(tb, allOn("node2"), 15_000);
    const moved = performance.now() - t0;
    await n2.waitForLog("node node1: is dead", { from: from2, timeoutMs: 30_000 });
    const log = (await n1.readLog()).slice(from);
    // the stack is logged, the groups were released by their scripts, the workers stopped
    assert(/CRIT: (core failure on message|uncaught exception)[^\n]*\n[\s\S]*at /.test(log), log);
    for (
      const want of [
        "CRIT: Emergency Shutdown: internal error: giving up all HA resources and exiting",
        "Releasing resource group: node1 198.18.0.100/24/eth0 rec::g1",
        "Releasing resource group: node2 rec::g2",
        "CRIT: Emergency Shutdown: resource release finished.",
        "killing HBREAD process",
        "CRIT: Emergency Shutdown: node1 heartbeat exits with status 100.",
      ]
    ) assert(log.includes(want), `node1 log lacks "${want}":\n${log}`);
    // nothing after the fault came from the core: no graceful shutdown, no resource decision
    assert(!log.includes("Heartbeat shutdown in progress"), log);
    console.log(
      `  ${mode}: fault → node1 exited: ${exited.toFixed(0)} ms; fault → node2 runs every group: ${
        moved.toFixed(0)
      } ms`,
    );
  } finally {
    await watch.stop();
    await keepLogs(tb, `fail-safe-${mode}`);
  }
  await watch.check();
}

Deno.test("fail-safe: an exception in the core releases the groups, the peer takes over, exit 100", () =>
  scenario("core"));

Deno.test("fail-safe: an uncaught exception in the master takes the same path", () =>
  scenario("uncaught"));

/** A resource whose stop never returns (`hang::<name>`). */
const HANG_SCRIPT = `#!/bin/sh
name=$1 op=$2
state=/run/hang-$name.state
case "$op" in
  start) echo running >"$state"; exit 0;;
  stop) sleep 600; exit 0;;
  status) if [ -f "$state" ]; then echo running; else echo stopped; fi; exit 0;;
esac
exit 1
`;

Deno.test("fail-safe: a shutdown that never finishes ends in Heartbeat's emergency shutdown (exit 100)", async () => {
  await requireRealHeartbeat();
  await using tb = await pairTestbed("fslim");
  const [n1, n2] = tb.nodes;
  await configure(tb, { autoFailback: "on", haresources: "node1 hang::g1\nnode2 rec::g2\n" });
  for (const n of tb.nodes) await n.writeResourceScript("hang", HANG_SCRIPT);
  await Promise.all([
    n1.start({ impl: "hb", env: { [SHUTDOWN_LIMIT_ENV]: "3000" } }),
    n2.start({ impl: "hb" }),
  ]);
  await n1.waitForLog("Running /etc/ha.d/resource.d/hang g1 start", { timeoutMs: 20_000 });
  await n1.waitForLog(
    /Initial resource acquisition complete|remote resource transition completed/,
    {
      timeoutMs: 20_000,
    },
  );
  const from = await n1.logOffset();
  const from2 = await n2.logOffset();
  const t0 = performance.now();
  // the release hangs in `hang g1 stop`; Heartbeat's limit (60 min, here 3 s) ends it
  const status = await tb.stopSoft(n1, { timeoutMs: 20_000 });
  const took = performance.now() - t0;
  assertEquals(status.code, 100);
  assert(took >= 3000, `exited after ${took} ms, before the limit`);
  const log = (await n1.readLog()).slice(from);
  for (
    const want of [
      "Running /etc/ha.d/resource.d/hang g1 stop",
      "CRIT: Emergency Shutdown: Attempting to kill everything ourselves",
      "CRIT: Emergency Shutdown: the shutdown did not finish within 3 s",
      "killing HBREAD process",
      "CRIT: Emergency Shutdown: node1 heartbeat exits with status 100.",
    ]
  ) assert(log.includes(want), `node1 log lacks "${want}":\n${log}`);
  await n2.waitForLog("node node1: is dead", { from: from2, timeoutMs: 30_000 });
  console.log(`  SIGTERM → exit 100 after ${took.toFixed(0)} ms (limit 3000 ms)`);
});
