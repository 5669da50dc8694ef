import { assert, assertEquals } from "../../tests/assert.ts";
import { ddmin, randomSchedule, scheduleText, type Step } from "./explore.ts";
import { runScenario } from "./scenario.ts";

Deno.test("a seed gives the same schedule and the same run every time", () => {
  const a = randomSchedule(7);
  const b = randomSchedule(7);
  assertEquals(scheduleText(a), scheduleText(b));
  const r1 = runScenario(scheduleText(a));
  const r2 = runScenario(scheduleText(b));
  assertEquals(r1.sim!.eventCount, r2.sim!.eventCount);
  assertEquals(r1.sim!.logs("node1"), r2.sim!.logs("node1"));
  assertEquals(r1.violations, r2.violations);
  assert(scheduleText(randomSchedule(8)) !== scheduleText(a));
});

Deno.test("ddmin keeps exactly the steps a failure needs", () => {
  const steps = Array.from({ length: 40 }, (_, i) => i);
  let runs = 0;
  const minimal = ddmin(steps, (c) => {
    runs++;
    return c.includes(3) && c.includes(17) && c.includes(31);
  });
  assertEquals(minimal, [3, 17, 31]);
  assert(runs < 200, `${runs} runs`);
});

Deno.test("shrinking a real schedule: only the fault that breaks the invariant is left", () => {
  // a planted property: "no node is ever declared dead" (settle margin far below zero makes
  // any takeover while the pair is apart a dual-owner violation), with unrelated steps around
  const s = randomSchedule(3, { nodes: 2, seconds: 40 });
  const noise: Step[] = Array.from({ length: 8 }, (_, i) => ({
    at: 12_000 + i * 1000,
    cmd: i % 2 === 0 ? "standby node2 foreign" : "net node1>node2 dup=50",
  }));
  const culprit: Step = { at: 20_500, cmd: "partition node1|node2" };
  const schedule = {
    ...s,
    header: ["cluster nodes=node1,node2 groups=node1:g1,node2:g2 auto_failback=on seed=3"],
    steps: [{ at: 0, cmd: "start node1" }, { at: 0, cmd: "start node2" }, ...noise, culprit]
      .sort((a, b) => a.at - b.at),
  };
  const fails = (st: Step[]) =>
    runScenario(scheduleText(schedule, st), {
      stopOnViolation: true,
      invariants: { settleMs: -1_000_000 },
    }).violations[0]?.kind === "dual-owner";
  assert(fails(schedule.steps));
  const minimal = ddmin(schedule.steps, fails);
  assert(minimal.some((x) => x.cmd === culprit.cmd), scheduleText(schedule, minimal));
  assert(minimal.length <= 3, scheduleText(schedule, minimal));
  assert(!minimal.some((x) => x.cmd.startsWith("net")), scheduleText(schedule, minimal));
});
