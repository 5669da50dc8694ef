import { assert, assertEquals } from "../tests/assert.ts";
import type { GiveGroupResult, TakeGroupResult } from "./manager.ts";
import { ResourceManager } from "./manager.ts";
import { type ResourceActions, type ResourceEvent, ResourceQueue } from "./queue.ts";
import { baseEnv, group, RecordingLogger, ScriptDirs } from "../tests/support/resources.ts";
import type { ResourceGroup } from "./types.ts";

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

class FakeRm implements ResourceActions {
  active = 0;
  maxActive = 0;
  log: string[] = [];
  async #act(what: string, ms: number): Promise<void> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    this.log.push(`begin ${what}`);
    await delay(ms);
    this.log.push(`end ${what}`);
    this.active--;
  }
  async takeGroup(g: ResourceGroup): Promise<TakeGroupResult> {
    if (g.key === "boom") throw new Error("boom");
    await this.#act(`take ${g.key}`, 30);
    return { key: g.key, ok: true, alreadyRunning: [], exitCode: 0, calls: [] };
  }
  async giveGroup(g: ResourceGroup): Promise<GiveGroupResult> {
    await this.#act(`give ${g.key}`, 10);
    return {
      key: g.key,
      ok: true,
      stopFailedNotRunning: [],
      stopFailedRunning: [],
      rebootRequired: false,
      exitCode: 0,
      calls: [],
    };
  }
  async statGroup(g: ResourceGroup) {
    await this.#act(`stat ${g.key}`, 5);
    return "NONE" as const;
  }
  async status() {
    await this.#act("status", 5);
    return false;
  }
  async verifyAllIdle() {
    await this.#act("verify", 5);
    return { active: [], stderr: "" };
  }
}

Deno.test("queue: one action at a time, in arrival order, events started/result", async () => {
  const rm = new FakeRm();
  const events: ResourceEvent[] = [];
  const q = new ResourceQueue(rm, (e) => events.push(e));
  const a = q.enqueue({ op: "takegroup", group: group("node1 a"), tag: "first" });
  const b = q.enqueue({ op: "givegroup", group: group("node1 b") });
  const c = q.enqueue({ op: "statgroup", group: group("node1 c") });
  assertEquals(q.busy, true);
  assertEquals(q.pending, 2);
  assertEquals(q.current?.op, "takegroup");
  const [ra, rb, rc] = await Promise.all([a.done, b.done, c.done]);
  assertEquals(rm.maxActive, 1);
  assertEquals(rm.log, [
    "begin take a",
    "end take a",
    "begin give b",
    "end give b",
    "begin stat c",
    "end stat c",
  ]);
  assertEquals([ra.id, rb.id, rc.id], [1, 2, 3]);
  assertEquals(ra.request.tag, "first");
  assertEquals(ra.outcome?.op, "takegroup");
  assertEquals(rc.outcome, { op: "statgroup", result: "NONE" });
  assertEquals(events.map((e) => `${e.kind} ${e.id}`), [
    "script-started 1",
    "script-result 1",
    "script-started 2",
    "script-result 2",
    "script-started 3",
    "script-result 3",
  ]);
  await q.idle();
  assertEquals(q.busy, false);
  assertEquals(q.pending, 0);
});

Deno.test("queue: a throwing manager gives an error event and the queue goes on", async () => {
  const rm = new FakeRm();
  const q = new ResourceQueue(rm);
  const seen: string[] = [];
  q.onEvent((e) => seen.push(e.kind));
  const bad = q.enqueue({ op: "takegroup", group: group("node1 boom") });
  const good = q.enqueue({ op: "status", resource: group("node1 x").resources[0] });
  assertEquals((await bad.done).error, "boom");
  assertEquals((await good.done).outcome, { op: "status", result: false });
  await q.idle();
  assertEquals(seen, ["script-started", "script-result", "script-started", "script-result"]);
});

Deno.test("queue: real scripts never overlap", async () => {
  const d = new ScriptDirs();
  try {
    d.write(
      "rd",
      "slow",
      `case $2 in start) echo "begin $1" >> "$T/trace"; sleep 0.2; echo "end $1" >> "$T/trace";; status) echo stopped;; esac`,
    );
    const rm = new ResourceManager({
      logger: new RecordingLogger(),
      env: baseEnv(),
      resourceDir: d.rd,
      initDir: d.init,
      builtins: {},
    });
    const q = new ResourceQueue(rm);
    const jobs = ["a", "b", "c"].map((k) =>
      q.enqueue({ op: "takegroup", group: group(`node1 slow::${k}`) })
    );
    for (const j of jobs) {
      const ev = await j.done;
      assert(ev.outcome?.op === "takegroup" && ev.outcome.result.ok);
    }
    assertEquals(Deno.readTextFileSync(`${d.dir}/trace`).trim().split("\n"), [
      "begin a",
      "end a",
      "begin b",
      "end b",
      "begin c",
      "end c",
    ]);
  } finally {
    d.remove();
  }
});
