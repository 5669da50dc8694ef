import { assert, assertEquals } from "../../tests/assert.ts";
import { SimCluster } from "./cluster.ts";

Deno.test("two nodes come up active and see each other", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 500);
  assertEquals(sim.core("node1").nodeStatus("node2"), "active");
  assertEquals(sim.core("node2").nodeStatus("node1"), "active");
  assertEquals(sim.core("node1").linkStatus("node2", "eth0"), "up");
  assert(sim.logs("node1").includes("info: Comm_now_up(): updating status to active"));
  assert(sim.logs("node1").includes("info: Link node2:eth0 up."));
});

Deno.test("a killed node is declared dead after deadtime, not before", () => {
  const sim = new SimCluster({ nodes: ["node1", "node2"], links: ["eth0"] });
  sim.startAll();
  // for 5 s after start a node advertises deadtime + 2 s, as Heartbeat does
  sim.runFor(5500);
  sim.kill("node2");
  const killedAt = sim.now;
  const dead = sim.runUntilTrue(() => sim.core("node1").nodeStatus("node2") === "dead", 2000, 1);
  assert(dead);
  const line = sim.logLines("node1").find((l) => l.text === "node node2: is dead")!;
  // node2's last heartbeat went out at most one keepalive before the kill
  const sinceKill = line.at - killedAt;
  assert(sinceKill > 500 - 100 && sinceKill <= 500 + 2, `dead after ${sinceKill} ms`);
  assert(sim.logs("node1").includes("info: Link node2:eth0 dead."));
});

Deno.test("a lone node declares its peer dead after initdead and comes up", () => {
  const sim = new SimCluster({ nodes: ["node1", "node2"], links: ["eth0"] });
  sim.start("node1");
  sim.runFor(900);
  assertEquals(sim.core("node1").localStatus, "up");
  sim.runFor(200);
  assertEquals(sim.core("node1").nodeStatus("node2"), "dead");
  assertEquals(sim.core("node1").localStatus, "active");
});

Deno.test("one of two links cut: link dead only, node stays up", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0", "eth1"] }, 5500);
  sim.network.setLinkCut("node2", "eth1", true);
  sim.runFor(1000);
  assertEquals(sim.core("node1").nodeStatus("node2"), "active");
  assertEquals(sim.core("node1").linkStatus("node2", "eth1"), "dead");
  assertEquals(sim.core("node1").linkStatus("node2", "eth0"), "up");
  sim.network.setLinkCut("node2", "eth0", true);
  sim.runFor(1000);
  assertEquals(sim.core("node1").nodeStatus("node2"), "dead");
});

Deno.test("a frozen node reports late heartbeats when thawed", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 500);
  sim.freeze("node2");
  sim.runFor(350);
  sim.thaw("node2");
  sim.runFor(50);
  assert(sim.logs("node1").some((l) => l.startsWith("WARN: Late heartbeat: Node node2:")));
  assertEquals(sim.core("node1").nodeStatus("node2"), "active");
});
