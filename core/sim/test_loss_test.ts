/**
 * The `OnlyForTesting` hook in simulated clusters: TestHeartbeatComm's break-communication
 * file on one node splits a pair (that node neither sends nor accepts), removing it heals;
 * `allownodes` keeps chosen peers; retransmissions are subject to `xmitloss` too.
 */
import { assert, assertEquals } from "../../tests/assert.ts";
import { SimCluster } from "./cluster.ts";
import { findLog } from "../../tests/support/sim.ts";
import type { TestLossOptions } from "../test_loss.ts";

const BREAK: TestLossOptions = { xmitloss: 1, rcvloss: 1, allownodes: ";" };

function pair(nodes = ["node1", "node2"]): SimCluster {
  // past the start-up dt (+2 s for 5 s)
  const sim = SimCluster.startedFor({ nodes, links: ["eth0"] }, 6000);
  for (const a of nodes) {
    for (const b of nodes) if (a !== b) assertEquals(sim.core(a).nodeStatus(b), "active");
  }
  return sim;
}

Deno.test("OnlyForTesting in the sim: break-communication on one node splits both ways", () => {
  const sim = pair();
  const sentBefore = sim.wire("node1").length;
  sim.setTestLoss("node1", BREAK);
  sim.runFor(1000);
  assertEquals(sim.core("node1").nodeStatus("node2"), "dead");
  assertEquals(sim.core("node2").nodeStatus("node1"), "dead");
  assert(findLog(sim, "node1", "node node2: is dead"));
  assert(findLog(sim, "node2", "node node1: is dead"));
  // node1 put nothing on the wire, but its own status goes on (loopback): not "No local heartbeat"
  assertEquals(sim.wire("node1").length, sentBefore);
  assertEquals(sim.core("node1").localStatus, "active");
  assertEquals(findLog(sim, "node1", "No local heartbeat. Forcing restart."), undefined);
  // still stored for retransmission
  assert(sim.actions("node1").some((a) => a.type === "send" && a.lost && a.seq !== undefined));

  sim.setTestLoss("node1", undefined);
  sim.runFor(1000);
  assertEquals(sim.core("node1").nodeStatus("node2"), "active");
  assertEquals(sim.core("node2").nodeStatus("node1"), "active");
  assert(findLog(sim, "node1", "Cluster node node2 returning after partition."));
  assert(findLog(sim, "node2", "Cluster node node1 returning after partition."));
});

Deno.test("OnlyForTesting in the sim: rcvloss alone is one-sided; allownodes keeps a peer", () => {
  const sim = pair(["node1", "node2", "node3"]);
  sim.setTestLoss("node1", { rcvloss: 1, allownodes: "node3;" });
  sim.runFor(1000);
  assertEquals(sim.core("node1").nodeStatus("node2"), "dead");
  assertEquals(sim.core("node1").nodeStatus("node3"), "active");
  // node1 still sends: the others keep seeing it
  assertEquals(sim.core("node2").nodeStatus("node1"), "active");
  assertEquals(sim.core("node3").nodeStatus("node1"), "active");
  // with a node list, xmitloss drops nothing
  sim.setTestLoss("node1", { xmitloss: 1, rcvloss: 1, allownodes: "node3;" });
  sim.runFor(1000);
  assertEquals(sim.core("node2").nodeStatus("node1"), "active");
  assertEquals(sim.core("node1").nodeStatus("node3"), "active");
});

Deno.test("OnlyForTesting in the sim: half the packets lost both ways, nobody dies", () => {
  const sim = pair();
  sim.setTestLoss("node1", { xmitloss: 0.3, rcvloss: 0.3, allownodes: "" });
  sim.runFor(20_000);
  assertEquals(sim.core("node1").nodeStatus("node2"), "active");
  assertEquals(sim.core("node2").nodeStatus("node1"), "active");
  // losses were seen and retransmissions asked for, some of them lost too
  assert(sim.logs("node2").some((l) => l.includes("lost packet(s) for [node1]")));
  const lost = sim.actions("node1").filter((a) => a.type === "send" && a.lost).length;
  const sent = sim.actions("node1").filter((a) => a.type === "send").length;
  assert(lost > sent * 0.2 && lost < sent * 0.4, `${lost} of ${sent} lost`);
});
