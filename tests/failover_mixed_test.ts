/**
 * Acceptance tests of resource failover in a mixed cluster (issue 4, part A): node1 runs the
 * real Heartbeat 3.0.6, node2 runs hb, then the other way round; the service IP group
 * `node1 198.18.0.100/24/eth0 rec::g1` and `node2 rec::g2`, with `auto_failback` on and off:
 * hard kills of either side, failback, `hb_standby` issued on either side (the real script on
 * the real node, hb's own personality on hb), graceful stops of either side (`heartbeat -k`,
 * SIGTERM). The client namespace pings the service IP at every step; the IP monitor and the
 * recording script's call logs prove that no group ran on both nodes at once.
 *
 * Needs root, the testbed packages and the real Heartbeat 3.0.6; fails loudly when something
 * is missing.
 *
 * @module
 */

import { requireRealHeartbeat } from "./support/mod.ts";
import { onWatchedPair, runPairSuite } from "./support/failover_pair.ts";

Deno.test("failover, real Heartbeat node1 + hb node2: auto_failback on, then off", async () => {
  await requireRealHeartbeat();
  await onWatchedPair(
    { name: "fomx", links: 1, logs: "mixed-real-hb" },
    async (tb, watch, timings) => {
      await runPairSuite(tb, watch, { impls: ["heartbeat", "hb"], autoFailback: "on", timings });
      await Promise.all(tb.nodes.map((n) => tb.stopSoft(n, { via: "command" })));
      await runPairSuite(tb, watch, { impls: ["heartbeat", "hb"], autoFailback: "off", timings });
    },
  );
});

Deno.test("failover, hb node1 + real Heartbeat node2: auto_failback on", async () => {
  await requireRealHeartbeat();
  await onWatchedPair(
    { name: "fomy", links: 1, logs: "mixed-hb-real" },
    async (tb, watch, timings) => {
      await runPairSuite(tb, watch, {
        impls: ["hb", "heartbeat"],
        autoFailback: "on",
        timings,
        hbStandbyVia: "real",
      });
    },
  );
});
