import { assertEquals } from "../tests/assert.ts";
import { CoreMessage } from "./message.ts";
import type { NodeCoreAction, NodeCoreEvent } from "./node_core.ts";
import { FailoverTimeline } from "./timeline.ts";

const tick = (now: number): NodeCoreEvent => ({ type: "tick", now, wallClock: 1_000_000 + now });

Deno.test("timeline: dead declared, fenced, each group started, heard again", () => {
  const t = new FailoverTimeline("node1");
  const status = CoreMessage.of({ t: "status", st: "active", src: "node2" });
  const deliver: NodeCoreAction = {
    type: "deliver",
    from: "node2",
    origin: { kind: "medium", channel: 0 },
    msg: status,
  };
  t.step(tick(100), [deliver]);
  t.step(tick(700), [
    { type: "node-status", node: "node2", kind: "normal", status: "dead", previous: "active" },
    { type: "fence", node: "node2" },
  ]);
  t.step({ type: "fenced", now: 900, wallClock: 0, node: "node2", result: "OK" }, [
    { type: "run", id: 7, op: "take", keys: ["a", "b"], reason: "mach_down", env: {} },
  ]);
  t.step({ type: "group-result", now: 950, wallClock: 0, id: 7, key: "a", result: "started" }, []);
  t.groupBegin(7, "b", 960);
  assertEquals(t.list()[0].completedAfterMs, undefined);
  t.step(
    { type: "group-result", now: 1100, wallClock: 0, id: 7, key: "b", result: "start-failed" },
    [],
  );
  t.step(tick(5000), [
    { type: "node-status", node: "node2", kind: "normal", status: "active", previous: "dead" },
  ]);
  assertEquals(t.list(), [{
    node: "node2",
    deadAtMs: 1_000_700,
    silenceMs: 600,
    fenceDoneAfterMs: 200,
    fenceResult: "OK",
    groups: [
      { group: "a", takeStartedAfterMs: 200, doneAfterMs: 250, result: "started" },
      { group: "b", takeStartedAfterMs: 260, doneAfterMs: 400, result: "start-failed" },
    ],
    completedAfterMs: 400,
    heardAgainAfterMs: 4300,
  }]);
});

Deno.test("timeline: keeps the last failovers, newest first; ping nodes and ourselves ignored", () => {
  const t = new FailoverTimeline("node1", 2);
  for (let i = 1; i <= 3; i++) {
    t.step(tick(i * 1000), [
      { type: "node-status", node: `n${i}`, kind: "normal", status: "dead", previous: "active" },
      { type: "node-status", node: "10.0.0.1", kind: "ping", status: "dead", previous: "ping" },
    ]);
  }
  assertEquals(t.list().map((f) => f.node), ["n3", "n2"]);
  assertEquals(t.list()[0].groups, []);
  assertEquals(t.list()[0].silenceMs, undefined);
});
