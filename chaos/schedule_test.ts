import { assertEquals, assertNotEquals } from "../tests/assert.ts";
import { describeFault, FAULT_KINDS, planSchedule } from "./schedule.ts";

Deno.test("a seed replays the same schedule; another seed gives another", () => {
  const a = planSchedule(42, 30, 3);
  assertEquals(planSchedule(42, 30, 3), a);
  assertNotEquals(planSchedule(43, 30, 3).map(describeFault), a.map(describeFault));
});

Deno.test("every kind comes once before any repeats; targets are valid nodes or the holder", () => {
  const s = planSchedule(7, FAULT_KINDS.length * 3, 2);
  assertEquals(new Set(s.slice(0, FAULT_KINDS.length).map((f) => f.kind)).size, FAULT_KINDS.length);
  for (const f of s) {
    if (f.target !== "holder") assertEquals(f.target === 0 || f.target === 1, true);
    if (f.kind === "standby") assertEquals(f.target, "holder");
    assertEquals(f.holdDeadtimes >= 1.5 && f.holdDeadtimes <= 3, true);
  }
});

Deno.test("the vocabulary can be limited", () => {
  const s = planSchedule(1, 10, 2, ["kill", "loss"]);
  assertEquals(new Set(s.map((f) => f.kind)), new Set(["kill", "loss"]));
});
