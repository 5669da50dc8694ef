/**
 * Acceptance tests of resource failover between two hb nodes (issue 4, part B): the service IP
 * group `node1 198.18.0.100/24/eth0 rec::g1` and `node2 rec::g2`, with `auto_failback` on and
 * off: hard kills, failback, `hb_standby` on either side, graceful stops of either side, and a
 * split brain (both links cut; then only the heartbeats dropped, the service network up) that
 * heals to one owner per group without either daemon restarting. The client namespace pings the service IP at every step; the IP monitor and the
 * recording script's call logs prove that no group ran on both connected nodes at once.
 *
 * Needs root, the testbed packages and the real Heartbeat's scripts (IPaddr, hb_standby); fails
 * loudly when something is missing.
 *
 * @module
 */

import { requireRealHeartbeat } from "./support/mod.ts";
import { onWatchedPair, runPairSuite, splitBrain } from "./support/failover_pair.ts";

Deno.test("failover, two hb nodes: kills, failback on/off, standby, graceful stops, split brain", async () => {
  await requireRealHeartbeat();
  await onWatchedPair({ name: "fohb", links: 2, logs: "hb" }, async (tb, watch, timings) => {
    const haCf = { bcast: "eth0 eth1" };
    await runPairSuite(tb, watch, {
      impls: ["hb", "hb"],
      autoFailback: "on",
      timings,
      haCf,
      hbStandbyVia: "real",
    });
    await splitBrain(tb, watch, timings, "hb+hb af=on split brain");
    // the same pair again with auto_failback off (one more start-up negotiation)
    await Promise.all(tb.nodes.map((n) => tb.stopSoft(n, { via: "command" })));
    await runPairSuite(tb, watch, { impls: ["hb", "hb"], autoFailback: "off", timings, haCf });
    await splitBrain(tb, watch, timings, "hb+hb af=off split brain", "heartbeats");
  });
});
