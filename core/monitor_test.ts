import { assert, assertEquals } from "../tests/assert.ts";
import {
  type Eligibility,
  ESCALATION_RETRY_MS,
  type MonitorAction,
  type MonitorConfig,
  Monitors,
} from "./monitor.ts";

const SVC: MonitorConfig = {
  resource: "svc",
  key: "198.18.0.100",
  index: 1,
  groupSize: 2,
  cls: "local",
  intervalMs: 1000,
  timeoutMs: 500,
  fall: 2,
  rise: 1,
  startDelayMs: 0,
  onFail: "restart",
  maxRestarts: 1,
  restartWindowMs: 600_000,
};

/** A simulated clock driving one Monitors machine; checks answered by `health`. */
class Rig {
  readonly m: Monitors;
  now = 0;
  elig: Eligibility = "check";
  healthy = true;
  hang = false;
  readonly log: MonitorAction[] = [];
  checksRun = 0;
  restartOk = true;
  constructor(cfg: Partial<MonitorConfig> = {}) {
    this.m = new Monitors("node1", [{ ...SVC, ...cfg }]);
  }
  #take(actions: MonitorAction[]): void {
    for (const a of actions) {
      this.log.push(a);
      if (a.type === "monitor-check") {
        this.checksRun++;
        const took = this.hang ? a.timeoutMs : 7;
        const ok = !this.hang && this.healthy;
        const detail = ok ? "running" : "exit 3 (not running)";
        this.#take(
          this.m.handle({
            type: "monitor-result",
            now: this.now,
            id: a.id,
            ok,
            timedOut: this.hang,
            detail,
            elapsedMs: took,
          }),
        );
      } else if (a.type === "monitor-restart") {
        this.healthy = this.restartOk;
        this.#take(
          this.m.handle({
            type: "monitor-restarted",
            now: this.now,
            id: a.id,
            ok: this.restartOk,
            detail: this.restartOk ? "started" : "start failed",
          }),
        );
      }
    }
    if (actions.length > 0) this.#take(this.m.update(this.now, () => this.elig));
  }
  /** Runs the machine until `until` (simulated ms). */
  run(until: number): void {
    this.#take(this.m.update(this.now, () => this.elig));
    for (;;) {
      const t = this.m.nextDeadline();
      if (t > until) break;
      this.now = Math.max(this.now, t);
      this.#take(this.m.update(this.now, () => this.elig));
    }
    this.now = until;
    this.#take(this.m.update(this.now, () => this.elig));
  }
  types(): string[] {
    return this.log.filter((a) => a.type !== "monitor-check").map((a) =>
      a.type === "notify" ? `notify:${a.event.event}` : a.type === "log" ? `log:${a.prio}` : a.type
    );
  }
}

Deno.test("monitor: checks every interval while eligible; none while paused or off", () => {
  const r = new Rig();
  r.run(10_000);
  assertEquals(r.checksRun, 10);
  r.elig = "pause";
  r.run(20_000);
  assertEquals(r.checksRun, 10);
  r.elig = "off";
  r.run(30_000);
  assertEquals(r.checksRun, 10);
  assertEquals(r.types(), []);
  assertEquals(r.m.states(r.now)[0].state, "idle");
});

Deno.test("monitor: fall failures restart; the next failure within the window escalates", () => {
  const r = new Rig();
  r.run(3000);
  r.healthy = false;
  r.run(5000); // two failures at 4000 and 5000 → restart
  assertEquals(r.types(), [
    "log:WARN",
    "log:WARN",
    "log:ERROR",
    "notify:monitor-fail",
    "log:info",
    "monitor-restart",
    "log:info",
    "notify:restart",
  ]);
  const restart = r.log.find((a) => a.type === "monitor-restart")!;
  assertEquals(restart, {
    type: "monitor-restart",
    id: restart.type === "monitor-restart" ? restart.id : 0,
    key: "198.18.0.100",
    resource: "svc",
    index: 1,
  });
  assertEquals(r.m.states(r.now)[0].restartsInWindow, 1);
  r.log.length = 0;
  r.run(8000);
  assertEquals(r.types(), []);
  r.healthy = false;
  r.run(10_000);
  assertEquals(r.types(), [
    "log:WARN",
    "log:WARN",
    "log:ERROR",
    "notify:monitor-fail",
    "log:ERROR",
    "notify:escalate",
    "standby",
  ]);
  const sb = r.log.at(-1)!;
  assertEquals(sb, { type: "standby", key: "198.18.0.100", cls: "local", holdMs: 600_000 });
  const esc = r.log.find((a) => a.type === "notify" && a.event.event === "escalate");
  assert(esc?.type === "notify");
  assertEquals(esc.event.elapsedMs, 1007); // from the start of the first failed check
  // escalated: no more checks while still held; off → counts cleared, hold-back kept
  const n = r.checksRun;
  r.run(12_000);
  assertEquals(r.checksRun, n);
  assertEquals(r.m.states(r.now)[0].state, "escalated");
  assert(r.m.holdsBack("198.18.0.100", r.now));
  r.elig = "off";
  r.run(13_000);
  assertEquals(r.m.states(r.now)[0].state, "idle");
  assert(r.m.holdsBack("198.18.0.100", r.now));
  assert(!r.m.holdsBack("198.18.0.100", 10_000 + 600_000));
});

Deno.test("monitor: restarts outside the window do not add up", () => {
  const r = new Rig({ restartWindowMs: 5000 });
  for (let i = 0; i < 4; i++) {
    r.healthy = false;
    r.run(r.now + 10_000);
  }
  assertEquals(r.types().filter((t) => t === "monitor-restart").length, 4);
  assertEquals(r.types().filter((t) => t === "standby").length, 0);
});

Deno.test("monitor: a hanging check fails at its timeout; a success before fall clears the count", () => {
  const r = new Rig({ fall: 3 });
  r.run(2000);
  r.hang = true;
  r.run(3000);
  const warn = r.log.find((a) => a.type === "log" && a.prio === "WARN");
  assert(warn?.type === "log");
  assertEquals(
    warn.text,
    "Monitor of svc failed (1/3): status timed out after 500 ms (process group killed).",
  );
  r.hang = false;
  r.run(4000);
  assertEquals(r.m.states(r.now)[0].consecutiveFailures, 0);
  assertEquals(r.m.states(r.now)[0].failures, 1);
  assertEquals(r.types(), ["log:WARN"]);
});

Deno.test("monitor: on-fail=ignore reports failure and recovery after rise successes", () => {
  const r = new Rig({ onFail: "ignore", rise: 2 });
  r.healthy = false;
  r.run(3000);
  assertEquals(r.m.states(r.now)[0].state, "failed");
  r.healthy = true;
  r.run(5000);
  assertEquals(r.types(), [
    "log:WARN",
    "log:WARN",
    "log:ERROR",
    "notify:monitor-fail",
    "log:WARN",
    "log:info",
    "notify:monitor-recover",
  ]);
  assertEquals(r.m.states(r.now)[0].state, "ok");
});

Deno.test("monitor: on-fail=standby and a failed restart escalate at once", () => {
  const a = new Rig({ onFail: "standby" });
  a.healthy = false;
  a.run(2000);
  assertEquals(a.types().slice(-1), ["standby"]);
  const b = new Rig({ maxRestarts: 3 });
  b.restartOk = false;
  b.healthy = false;
  b.run(2000);
  assertEquals(b.types().filter((t) => t === "monitor-restart" || t === "standby"), [
    "monitor-restart",
    "standby",
  ]);
});

Deno.test("monitor: an escalated group still held resumes checks after the retry delay", () => {
  const r = new Rig({ onFail: "standby" });
  r.healthy = false;
  r.run(2000);
  const n = r.checksRun;
  r.healthy = true;
  r.run(2000 + ESCALATION_RETRY_MS + 1500);
  assert(r.checksRun > n);
  assertEquals(r.m.states(r.now)[0].state, "ok");
});

Deno.test("monitor: a result after the group left is dropped; cleanup forgets counts", () => {
  const m = new Monitors("node1", [SVC]);
  m.update(0, () => "check");
  const [check] = m.update(1000, () => "check");
  assert(check.type === "monitor-check");
  m.update(1001, () => "off");
  assertEquals(
    m.handle({
      type: "monitor-result",
      now: 1002,
      id: check.id,
      ok: false,
      timedOut: false,
      detail: "x",
      elapsedMs: 2,
    }),
    [],
  );
  assertEquals(m.states(1002)[0].failures, 0);
  const r = new Rig();
  r.healthy = false;
  r.run(2000);
  assertEquals(r.m.states(r.now)[0].restarts, 1);
  const c = r.m.cleanup(r.now, "svc");
  assertEquals(c.cleared, ["svc"]);
  assertEquals(r.m.states(r.now)[0].restarts, 0);
  assertEquals(r.m.cleanup(r.now, "nosuch").cleared, []);
});

Deno.test("monitor: start-delay delays the first check", () => {
  const r = new Rig({ startDelayMs: 5000 });
  r.run(5999);
  assertEquals(r.checksRun, 0);
  r.run(6000);
  assertEquals(r.checksRun, 1);
});
