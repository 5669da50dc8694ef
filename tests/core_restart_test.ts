/**
 * A core process that cannot be restarted (issue 11, part 4), on a real node of each
 * implementation: node1 has two media (`bcast eth0 eth1`); its `eth1` is renamed away, then the
 * reader of channel 1 is killed. The pair's restart cannot open the medium again.
 *
 * Heartbeat 3.0.6 (`CoreProcessDied`), observed: `HBREAD process died.  Beginning communications
 * restart process for comm channel 1.`, the partner is killed, `Both comm processes for channel
 * 1 have died.  Restarting.`, the new pair cannot be made (`glib: Error setting socket option
 * SO_BINDTODEVICE: No such device`, `make_io_childpair: cannot open bcast eth1`), `Communications
 * restart failed. Will try again later.` and, through its `restart:` label, `Core heartbeat
 * process MST_CONTROL (pid <pid of the partner>) died! Restarting.` (the name is always
 * MST_CONTROL: the dead process's table entry is already detached) and `cause_shutdown_restart()`:
 * the shutdown-and-restart procedure (behavior.md §4.3; resources released, `shutdone`, the peer
 * takes over at once, re-exec). hb does the same
 * (master/supervisor.ts `#unrecoverable` → master/runtime.ts `restartProcedure`); its first
 * implementation only logged the failed restart and kept retrying with back-off.
 *
 * The interface gets its name back as soon as the restart is decided, so the new image can
 * open both media. What each implementation logs is printed side by side.
 *
 * @module
 */

import { requireRealHeartbeat } from "./support/mod.ts";
import { assert } from "./assert.ts";
import { configure, keepLogs, waitPlacement, Watch } from "./support/failover.ts";
import { allOn, NORMAL, PAIR_HARESOURCES } from "./support/failover_pair.ts";
import type { Impl, TestNode } from "./testbed/mod.ts";
import { pairTestbed } from "./support/cluster.ts";

async function sh(node: TestNode, script: string): Promise<string> {
  const r = await node.exec(["sh", "-c", script]);
  assert(r.code === 0, `${node.name}: ${script}: ${r.stderr}`);
  return r.stdout;
}

/** node1's ha-log from `offset`, without the time/host/pid prefix. */
async function linesFrom(node: TestNode, offset: number): Promise<string[]> {
  return (await node.readLog()).slice(offset).split("\n").filter((l) => l !== "").map((l) =>
    l.replace(/^.*?\[\d+\]:\s+/, "")
  ).filter((l) => !/^\S+\(\S+\)\[\d+\]|ResourceManager|IPaddr|harc/.test(l));
}

async function scenario(impl: Impl): Promise<{ lines: string[]; ms: Record<string, number> }> {
  await using tb = await pairTestbed(`crs${impl === "hb" ? "b" : "h"}`, { links: 2, client: true });
  const watch = new Watch(tb);
  await watch.start();
  const [n1] = tb.nodes;
  const ms: Record<string, number> = {};
  let lines: string[] = [];
  try {
    await configure(tb, {
      autoFailback: "on",
      haresources: PAIR_HARESOURCES,
      extra: { bcast: "eth0 eth1" },
    });
    await Promise.all(tb.nodes.map((n) => n.start({ impl })));
    await waitPlacement(tb, NORMAL, 30_000);
    const from = await n1.logOffset();
    await sh(n1, "ip link set eth1 down && ip link set eth1 name hbgone");
    const pid = (await sh(n1, "pgrep -f '^heartbeat: read: bcast eth1'")).trim().split("\n")[0];
    assert(/^\d+$/.test(pid), `reader of eth1 not found: ${pid}`);
    const t0 = performance.now();
    await sh(n1, `kill -KILL ${pid}`);
    await n1.waitForLog(/Core heartbeat process \S+ \(pid \d+\) died! Restarting\./, {
      from,
      timeoutMs: 20_000,
    });
    ms["kill → restart decided"] = performance.now() - t0;
    await sh(n1, "ip link set hbgone name eth1 && ip link set eth1 up");
    await waitPlacement(tb, allOn("node2"), 20_000);
    ms["kill → node2 runs every group"] = performance.now() - t0;
    await n1.waitForLog("Performing heartbeat restart exec.", { from, timeoutMs: 30_000 });
    ms["kill → restart exec"] = performance.now() - t0;
    if (impl === "hb") {
      await n1.waitForLog("Heartbeat generation:", { from, timeoutMs: 20_000 });
      await waitPlacement(tb, NORMAL, 30_000);
      ms["kill → back to normal placement"] = performance.now() - t0;
    } else {
      // Heartbeat's bare `heartbeat` exec daemonizes: the testbed loses the node (see
      // no_local_heartbeat_test.ts)
      await n1.waitForLog("Configuration validated. Starting heartbeat 3.0.6", {
        from,
        timeoutMs: 20_000,
      });
      await n1.wait();
      ms["kill → foreground process gone (new image daemonized)"] = performance.now() - t0;
    }
    lines = await linesFrom(n1, from);
  } finally {
    await watch.stop();
    await keepLogs(tb, `core-restart-${impl}`);
  }
  await watch.check();
  return { lines, ms };
}

/** Lines both implementations log, in this order. */
const EXPECTED = [
  "HBREAD process died.  Beginning communications restart process for comm channel 1.",
  "Both comm processes for channel 1 have died.  Restarting.",
  "make_io_childpair: cannot open bcast eth1",
  "Communications restart failed. Will try again later.",
  "Core heartbeat process MST_CONTROL (pid ",
  "Giving up all HA resources.",
  "All HA resources relinquished.",
  "node1 Heartbeat shutdown complete.",
  "Heartbeat restart triggered.",
  "Performing heartbeat restart exec.",
];

Deno.test("core process that cannot be restarted: real Heartbeat and hb restart themselves", async () => {
  await requireRealHeartbeat();
  const only = Deno.env.get("HB_TEST_ONLY_IMPL");
  for (const impl of ["heartbeat", "hb"] as const) {
    if (only !== undefined && only !== impl) continue;
    const r = await scenario(impl);
    console.log(`---- ${impl}: node1 log from the kill on`);
    console.log(r.lines.map((l) => `  ${l}`).join("\n"));
    console.table(Object.fromEntries(Object.entries(r.ms).map(([k, v]) => [k, Math.round(v)])));
    let at = 0;
    for (const want of EXPECTED) {
      const i = r.lines.findIndex((l, k) => k >= at && l.includes(want));
      assert(i >= 0, `${impl}: "${want}" missing after line ${at}:\n${r.lines.join("\n")}`);
      at = i + 1;
    }
  }
});
