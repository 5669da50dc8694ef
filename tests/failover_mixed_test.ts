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
import { keepLogs, Watch } from "./support/failover.ts";
import { runPairSuite, type Timing } from "./support/failover_pair.ts";
import { Testbed } from "./testbed/mod.ts";

Deno.test("failover, real Heartbeat node1 + hb node2: auto_failback on, then off", async () => {
  await requireRealHeartbeat();
  const timings: Timing[] = [];
  await using tb = await Testbed.create({
    nodes: ["node1", "node2"],
    links: 1,
    client: true,
    name: "fomx",
  });
  const watch = new Watch(tb);
  await watch.start();
  try {
    await runPairSuite(tb, watch, { impls: ["heartbeat", "hb"], autoFailback: "on", timings });
    await Promise.all(tb.nodes.map((n) => tb.stopSoft(n, { via: "command" })));
    await runPairSuite(tb, watch, { impls: ["heartbeat", "hb"], autoFailback: "off", timings });
  } finally {
    await watch.stop();
    await keepLogs(tb, "mixed-real-hb");
    console.table(timings.map((t) => ({ step: t.step, ms: Math.round(t.ms) })));
  }
  await watch.check();
});

Deno.test("failover, hb node1 + real Heartbeat node2: auto_failback on", async () => {
  await requireRealHeartbeat();
  const timings: Timing[] = [];
  await using tb = await Testbed.create({
    nodes: ["node1", "node2"],
    links: 1,
    client: true,
    name: "fomy",
  });
  const watch = new Watch(tb);
  await watch.start();
  try {
    await runPairSuite(tb, watch, {
      impls: ["hb", "heartbeat"],
      autoFailback: "on",
      timings,
      hbStandbyVia: "real",
    });
  } finally {
    await watch.stop();
    await keepLogs(tb, "mixed-hb-real");
    console.table(timings.map((t) => ({ step: t.step, ms: Math.round(t.ms) })));
  }
  await watch.check();
});
