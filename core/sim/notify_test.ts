/**
 * The notify events NodeCore derives (README "Event hooks"), on whole simulated clusters: a
 * link cut and its repair, a death with STONITH and its takeover, a split brain healed, and a
 * monitor failure, restart and escalation, each with its context.
 */

import { assert, assertEquals } from "../../tests/assert.ts";
import type { NotifyEvent } from "../monitor.ts";
import { SimCluster } from "./cluster.ts";

function events(sim: SimCluster, node: string): NotifyEvent[] {
  return sim.actions(node).flatMap((a) => a.type === "notify" ? [a.event] : []);
}

function names(evs: NotifyEvent[]): string[] {
  return evs.map((e) => e.event);
}

Deno.test("notify events: node-up, takeover, link-dead/up, node-dead, fence", () => {
  const sim = new SimCluster({
    nodes: ["node1", "node2"],
    links: ["eth0", "eth1"],
    groups: [{ node: "node1", key: "g1" }, { node: "node2", key: "g2" }],
    stonith: true,
    keepaliveMs: 100,
    deadtimeMs: 500,
    initdeadMs: 1000,
  });
  sim.startAll();
  sim.runFor(15_000);
  const start = events(sim, "node1");
  assertEquals(start.find((e) => e.event === "node-up"), {
    event: "node-up",
    node: "node2",
    from: "up",
    to: "active",
  });
  const done = start.find((e) => e.event === "takeover-done")!;
  assertEquals([done.node, done.group, done.to], ["node1", "g1", "started"]);
  assert(done.elapsedMs !== undefined && done.elapsedMs >= 0);

  const n = events(sim, "node1").length;
  sim.network.setLinkCut("node2", "eth1", true);
  sim.runFor(2000);
  sim.network.setLinkCut("node2", "eth1", false);
  sim.runFor(2000);
  const links = events(sim, "node1").slice(n).filter((e) => e.event.startsWith("link-"));
  assertEquals(links, [
    { event: "link-dead", node: "node2", to: "dead", reason: "eth1" },
    { event: "link-up", node: "node2", to: "up", reason: "eth1" },
  ]);

  const m = events(sim, "node1").length;
  sim.kill("node2");
  sim.runFor(5000);
  const death = events(sim, "node1").slice(m);
  const dead = death.find((e) => e.event === "node-dead")!;
  assertEquals([dead.node, dead.from, dead.to], ["node2", "active", "dead"]);
  assert(dead.elapsedMs! >= 500, `since its last heartbeat: ${dead.elapsedMs}`);
  const order = names(death).filter((e) => e !== "link-dead");
  assertEquals(order, ["node-dead", "fence", "takeover-start", "takeover-done"]);
  assertEquals(death.find((e) => e.event === "fence")!.node, "node2");
});

Deno.test("notify events: split-brain when a partition heals", () => {
  const sim = new SimCluster({
    nodes: ["node1", "node2"],
    links: ["eth0"],
    groups: [{ node: "node1", key: "g1" }, { node: "node2", key: "g2" }],
    keepaliveMs: 100,
    deadtimeMs: 500,
    initdeadMs: 1000,
  });
  sim.startAll();
  sim.runFor(15_000);
  const m = events(sim, "node1").length;
  sim.network.partition(["node1"], ["node2"]);
  sim.runFor(3000);
  sim.network.healAll();
  sim.runFor(10_000);
  const evs = names(events(sim, "node1").slice(m));
  assert(evs.indexOf("node-dead") < evs.indexOf("split-brain"), evs.join(" "));
  assertEquals(events(sim, "node1").slice(m).find((e) => e.event === "split-brain")!.node, "node2");
});

Deno.test("notify events: monitor-fail, restart, escalate, release-done in order", () => {
  const sim = new SimCluster({
    nodes: ["node1", "node2"],
    links: ["eth0"],
    groups: [{ node: "node1", key: "g1" }, { node: "node2", key: "g2" }],
    monitor: true,
    keepaliveMs: 100,
    deadtimeMs: 500,
    initdeadMs: 1000,
  });
  sim.startAll();
  sim.runFor(15_000);
  const n = events(sim, "node1").length;
  sim.failService("node1", "g1");
  sim.runFor(5000);
  sim.failService("node1", "g1");
  sim.runFor(5000);
  const evs = events(sim, "node1").slice(n);
  assertEquals(names(evs), ["monitor-fail", "restart", "monitor-fail", "escalate", "release-done"]);
  const esc = evs[3];
  assertEquals([esc.group, esc.resource, esc.from, esc.to], ["g1", "g1", "node1", "peer"]);
  assertEquals(evs[4].reason, "standby");
  assertEquals(sim.holders("g1"), ["node2"]);
});
