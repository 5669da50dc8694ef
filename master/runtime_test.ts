/**
 * MasterRuntime driven with fakes (master/runtime_parts.ts): a scripted core hands it one
 * batch of actions per event, and every action kind must reach the right part (workers, group
 * runner, fencer, API server, notify hooks, respawned clients, log, timers) and nothing else.
 */

import { assert, assertEquals } from "../tests/assert.ts";
import { corpusSystem } from "../tests/support/config_corpus.ts";
import { CoreMessage } from "../core/message.ts";
import { NodeCore, type NodeCoreAction, type NodeCoreEvent } from "../core/node_core.ts";
import { loadForStart, toRuntimePlan } from "./plan.ts";
import { MasterRuntime, type RuntimePlan } from "./runtime.ts";
import type { Clock, RuntimeHost, RuntimeParts, TimerId } from "./runtime_parts.ts";

/** A two-node plan (bcast on eth0, one group) loaded from a temporary configuration. */
function twoNodePlan(): RuntimePlan {
  const dir = Deno.makeTempDirSync({ prefix: "hb_runtime_test_" });
  try {
    Deno.writeTextFileSync(
      `${dir}/ha.cf`,
      "udpport 694\nkeepalive 1\ndeadtime 10\nwarntime 5\ninitdead 20\nbcast eth0\nnode node1 node2\nauto_failback on\n",
    );
    Deno.writeTextFileSync(`${dir}/authkeys`, "auth 1\n1 crc\n");
    Deno.chmodSync(`${dir}/authkeys`, 0o600);
    Deno.writeTextFileSync(`${dir}/haresources`, "node1 198.18.5.10\n");
    const cfg = loadForStart({
      confDir: dir,
      manageResources: true,
      debug: 0,
      system: corpusSystem(dir),
    });
    assert(cfg.ok, JSON.stringify(cfg.diagnostics));
    return toRuntimePlan(cfg, {
      uuid: new Uint8Array(16),
      generation: 1,
      fifo: `${dir}/fifo`,
      apiSocket: `${dir}/api`,
      confDir: dir,
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** A core that answers each event with the next scripted batch and records the events. */
class ScriptedCore extends NodeCore {
  readonly batches: NodeCoreAction[][] = [];
  readonly events: NodeCoreEvent[] = [];
  /** What {@link nextDeadline} answers. */
  deadline = Infinity;
  override handle(ev: NodeCoreEvent): NodeCoreAction[] {
    this.events.push(ev);
    return this.batches.shift() ?? [];
  }
  override nextDeadline(): number {
    return this.deadline;
  }
}

/** A clock whose timers run only when the test says so. */
class ManualClock implements Clock {
  t = 1000;
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;
  now(): number {
    return this.t;
  }
  wallClock(): number {
    return 1_700_000_000_000 + this.t;
  }
  setTimer(fn: () => void, ms: number): TimerId {
    const id = this.#next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id as unknown as TimerId;
  }
  clearTimer(id: TimerId): void {
    this.timers.delete(id as unknown as number);
  }
  /** Advances time by `ms`, running the timers that fall due in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at);
      if (due.length === 0) break;
      const [id, x] = due[0];
      this.timers.delete(id);
      this.t = x.at;
      x.fn();
    }
    this.t = end;
  }
}

/** Fake parts recording every call as `part.method args`. */
function fakeParts(
  calls: string[],
  clock: ManualClock,
): (p: RuntimePlan, h: RuntimeHost) => RuntimeParts {
  return (_plan, host) => {
    hostOf.host = host;
    return {
      clock,
      workers: {
        start: () => Promise.resolve(true),
        stop: () => (calls.push("workers.stop"), Promise.resolve()),
        broadcast: (bytes) => void calls.push(`workers.broadcast ${bytes.length > 0}`),
        send: (ch) => void calls.push(`workers.send ${ch}`),
        notifyAll: () => void calls.push("workers.notifyAll"),
      },
      runner: {
        enqueue: (
          r,
        ) => (calls.push(`runner.enqueue ${r.op} ${r.keys.join(",")}`), Promise.resolve()),
        check: (
          key,
          index,
        ) => (calls.push(`runner.check ${key} ${index}`),
          Promise.resolve({ ok: true, timedOut: false, detail: "fine", elapsedMs: 3 })),
        restart: (
          key,
          index,
        ) => (calls.push(`runner.restart ${key} ${index}`),
          Promise.resolve({ ok: false, detail: "broken" })),
      },
      fencer: {
        fence: (node, opts, onFenced) => {
          calls.push(`fencer.fence ${node} ${opts.mayHoldResources}`);
          onFenced?.();
          return "started" as never;
        },
        stop: () => (calls.push("fencer.stop"), Promise.resolve()),
        startStatusChecks: () => void calls.push("fencer.startStatusChecks"),
      },
      api: {
        start: () => void calls.push("api.start"),
        stop: () => (calls.push("api.stop"), Promise.resolve()),
        running: true,
        connectionCount: 0,
        pauseClients: () => void calls.push("api.pauseClients"),
        resumeClients: () => void calls.push("api.resumeClients"),
        deliver: (m) => void calls.push(`api.deliver ${m.get("t")}`),
        answerStatusQuery: (q, from) => {
          calls.push(`api.answerStatusQuery ${q.get("t")} ${from}`);
          return undefined;
        },
      },
      notify: {
        emit: (ev) => void calls.push(`notify.emit ${ev.event} ${ev.node}`),
        idle: () => Promise.resolve(),
      },
      respawn: {
        start: () => void calls.push("respawn.start"),
        stop: () => (calls.push("respawn.stop"), Promise.resolve()),
      },
      openWatchdog: () => null,
      applyRealtime: () => {},
      loadavg: () => "0.00 0.00 0.00 1/1 1",
      debugging: () => false,
    };
  };
}
const hostOf: { host?: RuntimeHost } = {};

/** A runtime with fakes; `step(actions)` makes the core answer the next event with them. */
function rig() {
  const plan = twoNodePlan();
  const calls: string[] = [];
  const logs: string[] = [];
  const clock = new ManualClock();
  const core = new ScriptedCore(plan.core, plan.resources, plan.identity);
  const rt = new MasterRuntime(plan, (prio, text) => void logs.push(`${prio}: ${text}`), {
    parts: fakeParts(calls, clock),
    core,
    env: () => undefined,
  });
  const step = (actions: NodeCoreAction[]) => {
    core.batches.push(actions);
    rt.originate(CoreMessage.of({ t: "hb-test" }));
  };
  return { plan, rt, core, calls, logs, clock, step };
}

/** Lets promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  await new Promise((r) => setTimeout(r, 0));
}

const status = CoreMessage.of({ t: "status", st: "active", ts: "1" });

Deno.test("runtime: send goes to every medium; rexmit resends the same bytes", () => {
  const { calls, step } = rig();
  step([{ type: "send", msg: status, seq: 7 }]);
  assertEquals(calls, ["workers.broadcast true"]);
  step([{ type: "rexmit", seq: 7 }]);
  assertEquals(calls, ["workers.broadcast true", "workers.broadcast true"]);
  step([{ type: "rexmit", seq: 7, lost: true }, { type: "send", msg: status, seq: 8, lost: true }]);
  step([{ type: "rexmit", seq: 99 }]);
  assertEquals(calls.length, 2, "lost and unknown sequence numbers send nothing");
});

Deno.test("runtime: log and script-log reach the log sink", () => {
  const { logs, calls, step } = rig();
  step([
    { type: "log", prio: "WARN", text: "careful" },
    { type: "script-log", prio: "info", text: "from the resource layer", tag: "heartbeat" },
    { type: "stop-failure", key: "198.18.5.10" },
  ]);
  assertEquals(logs.slice(0, 2), ["WARN: careful", "info: from the resource layer"]);
  assert(logs[2].startsWith("CRIT: Resource group 198.18.5.10 could not be stopped"), logs[2]);
  assertEquals(calls, []);
});

Deno.test("runtime: run, monitor-check and monitor-restart reach the group runner", async () => {
  const { calls, core, step } = rig();
  step([{
    type: "run",
    id: 1,
    op: "take",
    keys: ["198.18.5.10"],
    reason: "start" as never,
    env: {},
  }]);
  step([{
    type: "monitor-check",
    id: 2,
    key: "198.18.5.10",
    resource: "198.18.5.10",
    index: 0,
    timeoutMs: 500,
  }]);
  step([{ type: "monitor-restart", id: 3, key: "198.18.5.10", resource: "198.18.5.10", index: 0 }]);
  await settle();
  assertEquals(calls, [
    "runner.enqueue take 198.18.5.10",
    "runner.check 198.18.5.10 0",
    "runner.restart 198.18.5.10 0",
  ]);
  const result = core.events.find((e) => e.type === "monitor-result");
  assert(result && result.type === "monitor-result" && result.id === 2 && result.ok);
  const restarted = core.events.find((e) => e.type === "monitor-restarted");
  assert(restarted && restarted.type === "monitor-restarted" && restarted.id === 3);
  assertEquals(restarted.ok, false);
});

Deno.test("runtime: a group result from the runner is fed back to the core", () => {
  const { core } = rig();
  hostOf.host!.onGroupResult({ id: 4, key: "198.18.5.10", result: "ok" as never });
  const ev = core.events.at(-1)!;
  assert(ev.type === "group-result" && ev.id === 4 && ev.key === "198.18.5.10");
});

Deno.test("runtime: fence reaches the fencer and its end is fed back", () => {
  const { calls, core, step } = rig();
  step([{ type: "fence", node: "node2" }]);
  assertEquals(calls, ["fencer.fence node2 true"]);
  const ev = core.events.at(-1)!;
  assert(ev.type === "fenced" && ev.node === "node2" && ev.result === "OK");
});

Deno.test("runtime: notify reaches the notify hooks", () => {
  const { calls, step } = rig();
  step([{ type: "notify", event: { event: "node-dead", node: "node2" } }]);
  assertEquals(calls, ["notify.emit node-dead node2"]);
});

Deno.test("runtime: comm-up opens the API, starts the clients and the STONITH checks", async () => {
  const { calls, step } = rig();
  step([{ type: "comm-up" }]);
  await settle();
  assertEquals(calls, ["api.start", "respawn.start", "fencer.startStatusChecks"]);
});

Deno.test("runtime: clients-pause and clients-resume reach the API server", () => {
  const { calls, step } = rig();
  step([{ type: "clients-pause" }]);
  step([{ type: "clients-resume" }]);
  assertEquals(calls, ["api.pauseClients", "api.resumeClients"]);
});

Deno.test("runtime: node-status, link-status and deliver go to the API clients", () => {
  const { calls, step } = rig();
  step([
    { type: "node-status", node: "node2", kind: "normal", status: "dead", previous: "active" },
    { type: "link-status", node: "node2", link: "eth0", status: "dead" },
    {
      type: "deliver",
      from: "node2",
      origin: { kind: "medium", channel: 0 },
      msg: CoreMessage.of({ t: "query-cstatus", dest: "node1" }),
    },
    { type: "node-restart", node: "node2", generation: 2 },
    { type: "partition-healed", node: "node2" },
  ]);
  assert(calls.includes("api.deliver status"), calls.join("; "));
  assert(calls.includes("api.deliver ifstat"), calls.join("; "));
  assert(calls.includes("api.answerStatusQuery query-cstatus node2"), calls.join("; "));
  assert(calls.every((c) => c.startsWith("api.")), calls.join("; "));
});

Deno.test("runtime: shutdown-complete stops everything one phase gap later", async () => {
  const { calls, clock, rt, step } = rig();
  step([{ type: "shutdown-complete", restart: false }]);
  assertEquals(calls, []);
  clock.advance(1000);
  assertEquals(await rt.done, 0);
  assertEquals(calls, ["respawn.stop", "api.stop", "fencer.stop", "workers.stop"]);
  assertEquals(rt.restartAfterShutdown, false);
});

Deno.test("runtime: restart-required starts the shutdown-and-restart procedure", () => {
  const { core, clock, rt, step } = rig();
  step([{ type: "restart-required", reason: "no-local-heartbeat" }]);
  const ev = core.events.at(-1)!;
  assert(ev.type === "shutdown-request" && ev.restart === true);
  assertEquals(rt.restartAfterShutdown, true);
  assertEquals(clock.timers.size, 1, "the limit of the graceful shutdown is armed");
});

Deno.test("runtime: the core's timer is armed in whole milliseconds, never before its deadline", () => {
  const { clock, core, step } = rig();
  clock.t = 1000.3;
  core.deadline = 2000;
  step([]);
  const timers = [...clock.timers.values()];
  assertEquals(timers.length, 1, "one timer for the core's next deadline");
  const ms = timers[0].at - clock.t;
  assert(Number.isInteger(ms), `the delay is whole milliseconds (got ${ms})`);
  assert(
    timers[0].at >= core.deadline,
    `the timer falls at or after the deadline (${timers[0].at})`,
  );
});

Deno.test("runtime: exit stops the runtime", async () => {
  const { calls, rt, step } = rig();
  step([{ type: "exit", code: 0 }]);
  assertEquals(await rt.done, 0);
  assertEquals(calls, ["respawn.stop", "api.stop", "fencer.stop", "workers.stop"]);
});

Deno.test("runtime: a core that throws takes the fail-safe path and releases the groups", async () => {
  const { calls, core, logs, rt } = rig();
  core.handle = () => {
    throw new Error("boom");
  };
  rt.originate(CoreMessage.of({ t: "hb-test" }));
  assertEquals(rt.failed, true);
  assertEquals(await rt.done, 100);
  assert(logs[0].startsWith("CRIT: core failure on originate hb-test: Error: boom"), logs[0]);
  assertEquals(calls, [
    "runner.enqueue give 198.18.5.10",
    "respawn.stop",
    "api.stop",
    "fencer.stop",
    "workers.stop",
  ]);
});
