/**
 * `heartbeat status` in mixed clusters with the real Heartbeat 3.0.6 (issue 14):
 *
 * 1. hb node1 + real node2 (`node1 rec::g1`, `node2 rec::g2`, `node2 late::g3`): node1's
 *    `status --json` validates against the schema and reports node1 as hb with its version,
 *    node2 as Heartbeat, the link, and the owner of every group (node2's groups from its own
 *    resource reports); `--nagios` 0. The real node logs nothing unusual about hb's extra
 *    heartbeat fields (`hbver`, `hbcfg`: it ignores them), nor about hb's `heartbeat status` run
 *    against it (exit 3: the real daemon answers no `hb_status` parameter, so the client never
 *    sends it the `hbstatus` request it would log as an error). node2 is hard-killed: node1 takes
 *    g2 over and shows the failover with its timeline; `--nagios` 1 (peer dead) while the
 *    start of `late::g3` runs, 2 once it failed (nobody holds g3).
 * 2. hb node1, hb node2 and real node3, node2 with another `warntime` (timing drift): both hb
 *    nodes log the drift once and show it; the real node logs nothing unusual and node1's
 *    status calls it Heartbeat, never compared. Every node runs with `-M` (no resource
 *    management): Heartbeat 3.0.6's resource layer with three nodes logs
 *    `Received 'starting' message in state 2` on its own, which would hide what this checks.
 *
 * Needs root, the testbed's packages and the real Heartbeat; fails loudly (never skips).
 *
 * @module
 */

import { requireRealHeartbeat } from "./support/mod.ts";
import { assert, assertEquals } from "./assert.ts";
import { configure, failoverHaCf } from "./support/failover.ts";
import {
  configureLatePair,
  hbStatus,
  killAndWatchFailover,
  nodeSummary,
  owners,
  waitNagios,
  waitStatus,
} from "./support/status.ts";
import { healthProblems, Testbed, type TestNode, waitFor } from "./testbed/mod.ts";
import { pairTestbed } from "./support/cluster.ts";
import { HB_VERSION } from "../master/version.ts";

/** Checks that a real Heartbeat node's log shows nothing unusual. */
async function assertRealNodeQuiet(n: TestNode): Promise<void> {
  const log = await n.readLog();
  assert(log.includes("heartbeat"), `${n.name}: no log yet`);
  assertEquals(healthProblems(log), [], `${n.name} (real Heartbeat) logged problems`);
  for (const line of log.split("\n")) {
    assert(!/hbver|hbcfg|drift|unknown field|bad field/i.test(line), `${n.name}: ${line}`);
  }
}

Deno.test("status: hb + real Heartbeat, hard kill of the real node, nagios 0 → 1 → 2", async () => {
  await requireRealHeartbeat();
  await using tb = await pairTestbed("stmx");
  const node1 = tb.node("node1"), node2 = tb.node("node2");
  await configureLatePair(tb, node2, "node1 rec::g1\nnode2 rec::g2\nnode2 late::g3\n");
  await Promise.all([node1.start({ impl: "hb" }), node2.start({ impl: "heartbeat" })]);

  const d = await waitStatus(
    node1,
    "node1 sees both nodes active and every group placed",
    (d) =>
      d.nodes.every((x) => x.status === "active") &&
      owners(d).join() === "rec::g1=node1/running,rec::g2=node2/running,late::g3=node2/running",
    60_000,
  );
  assertEquals(nodeSummary(d), ["node1:active:hb", "node2:active:heartbeat"]);
  assertEquals(d.nodes.map((n) => n.version), [HB_VERSION, null]);
  assertEquals(d.links.map((l) => `${l.node}/${l.link}/${l.status}`), ["node2/eth0/up"]);
  assert((d.links[0].last_packet_age_ms ?? 1e9) < 5000);
  assertEquals(d.drift, []);
  console.log(`  ${await waitNagios(node1, 0)}`);
  const text = await hbStatus(node1, []);
  assert(/node2\s+normal\s+active\s+Heartbeat/.test(text.stdout), text.stdout);
  // hb's request against the real daemon: refused, hb's client says UNKNOWN (3)
  const onReal = await hbStatus(node2, ["--nagios"]);
  assertEquals(onReal.code, 3, `${onReal.stdout}${onReal.stderr}`);
  console.log(`  against the real daemon: ${onReal.stdout.trim()}`);
  await assertRealNodeQuiet(node2);

  const after = await killAndWatchFailover(tb, node2, node1, "node1 shows the failover of node2");
  assertEquals(nodeSummary(after), ["node1:active:hb", "node2:dead:heartbeat"]);
  assertEquals(owners(after), [
    "rec::g1=node1/running",
    "rec::g2=node1/running",
    "late::g3=-/failed",
  ]);
  const f = after.failovers[0];
  assertEquals(f.node, "node2");
  assert(f.silence_ms !== null && f.silence_ms >= 400, `silence ${f.silence_ms}`);
  assertEquals(f.groups.map((g) => `${g.group}:${g.result}`).sort(), [
    "late::g3:start-failed",
    "rec::g2:started",
  ]);
  console.log(`  timeline: ${JSON.stringify(f)}`);
});

Deno.test("status: drift between two hb nodes next to a real Heartbeat node logs only on hb", async () => {
  await requireRealHeartbeat();
  await using tb = await Testbed.create({
    nodes: ["node1", "node2", "node3"],
    links: 1,
    name: "stmd",
  });
  await configure(tb, { autoFailback: "on", haresources: "" });
  const [node1, node2, node3] = tb.nodes;
  await node2.writeHaCf(
    failoverHaCf(tb.nodes.map((n) => n.name), "on", { warntime: "400ms" }),
  );
  await Promise.all([
    node1.start({ impl: "hb", args: ["-f", "-M"] }),
    node2.start({ impl: "hb", args: ["-f", "-M"] }),
    node3.start({ impl: "heartbeat", args: ["-f", "-M"] }),
  ]);
  const line = (peer: string) =>
    new RegExp(
      `WARN: Configuration drift: node ${peer} differs in timing \\(ours [0-9a-f]{12}, theirs [0-9a-f]{12}\\)$`,
      "m",
    );
  for (const [n, peer] of [[node1, "node2"], [node2, "node1"]] as const) {
    await waitFor(`${n.name} logs the drift`, async () => line(peer).test(await n.readLog()), {
      timeoutMs: 60_000,
    });
    const d = await waitStatus(
      n,
      `${n.name} shows the drift and node3 as Heartbeat`,
      (d) => d.drift.length === 1 && d.nodes.every((x) => x.status === "active"),
      60_000,
    );
    assertEquals(d.drift.map((x) => [x.node, x.parts]), [[peer, ["timing"]]]);
    assertEquals(
      nodeSummary(d),
      ["node1:active:hb", "node2:active:hb", "node3:active:heartbeat"],
    );
  }
  // every node has heard everybody for a while now
  await new Promise((r) => setTimeout(r, 2000));
  for (const n of [node1, node2]) {
    const count = (await n.readLog()).split("\n").filter((l) => l.includes("Configuration drift"));
    assertEquals(count.length, 1, `${n.name}: ${count.join("\n")}`);
  }
  await assertRealNodeQuiet(node3);
});
