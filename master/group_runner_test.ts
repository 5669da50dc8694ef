import { assertEquals } from "../tests/assert.ts";
import { type GroupResult, GroupRunner } from "./group_runner.ts";

Deno.test("group runner: onIdle once the queue drains, not between queued runs", async () => {
  const events: string[] = [];
  const runner = new GroupRunner({
    groups: [],
    logger: { script: () => {}, debug: () => {} },
    logLine: () => {},
    onResult: (r: GroupResult) => events.push(`${r.key} ${r.result}`),
    onIdle: () => events.push("idle"),
    env: {},
  });
  // groups the runner does not know: each run reports its outcome without a script
  const a = runner.enqueue({ id: 1, op: "take", keys: ["a"], env: {} });
  const b = runner.enqueue({ id: 2, op: "give", keys: ["b"], env: {} });
  await Promise.all([a, b]);
  await Promise.resolve(); // the queue's bookkeeping settles after the run's own promise
  assertEquals(events, ["a start-failed", "b released", "idle"]);
  assertEquals(runner.busy, false);
  await runner.enqueue({ id: 3, op: "take", keys: ["c"], env: {} });
  await Promise.resolve();
  assertEquals(events.slice(3), ["c start-failed", "idle"]);
});
