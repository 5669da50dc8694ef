/**
 * Service health checks and their failure policy (hb.cf `monitor` lines): what Heartbeat
 * 3.0.6 never had. Deterministic like the rest of the core: no I/O, no clock; the embedder
 * ({@link NodeCore}) says which groups may be checked ({@link Monitors.update}), delivers ticks
 * at {@link Monitors.nextDeadline}, and feeds back the results of the checks and restarts the
 * machine asked for.
 *
 * - A monitor checks while its group is *eligible*: held here, fully started, no resource run
 *   queued or running, no standby exchange, no shutdown (NodeCore decides). The first check
 *   comes `start-delay` + `interval` after the group became eligible, each next one `interval`
 *   after the previous result. A result that arrives after the group stopped being eligible
 *   (or after a cleanup) is dropped.
 * - A check is the resource's `status` action run by the shell with the monitor's timeout
 *   (past it the process group is killed and the check counts as a failure).
 * - `fall` consecutive failures make the resource *failed*; `rise` consecutive successes clear
 *   it (a success before `fall` clears the count).
 * - Once failed: `on-fail=ignore` only reports; `on-fail=restart` asks the shell to stop the
 *   resource and every resource after it in its group and start them again in order
 *   (`monitor-restart`, serialised with the other resource runs), counting the restart; a
 *   restart that would be the (max-restarts + 1)th within `restart-window`, a failed restart,
 *   or `on-fail=standby` escalates: the group's class is given to the peer with Heartbeat's
 *   standby exchange (`standby` action; NodeCore sends `ask_resources … info=me` as
 *   hb_standby does, so a real Heartbeat peer takes over).
 * - A group given up for failures is remembered until `restart-window` has passed (or an
 *   operator cleanup; {@link Monitors.holdsBack}, shown by `heartbeat resource failures`); the
 *   `standby` action carries the window so that NodeCore's standby request tells an hb peer not
 *   to fail the group back before then (`hb_failhold`, core/ownership/standby_exchange.ts). An
 *   escalated group still here {@link ESCALATION_RETRY_MS} later (nobody took it) is checked
 *   again.
 *
 * @module
 */

import type { MonitorPolicy } from "../config/types.ts";
import type { Priority } from "./types.ts";

/** One monitor as the core needs it. */
export interface MonitorConfig extends MonitorPolicy {
  /** The resource as written in haresources (`svc`, `IPaddr::198.18.0.100/24/eth0`). */
  resource: string;
  /** Key of its group. */
  key: string;
  /** Position of the resource in its group (0 = the key). */
  index: number;
  /** Number of resources in the group. */
  groupSize: number;
  /** Standby class of the group on this node (`local`: its preferred node is us). */
  cls: "local" | "foreign";
}

/** The events hooks receive (README "Event hooks"). */
export type NotifyEventName =
  | "node-dead"
  | "node-up"
  | "link-dead"
  | "link-up"
  | "takeover-start"
  | "takeover-done"
  | "release-done"
  | "monitor-fail"
  | "monitor-recover"
  | "restart"
  | "escalate"
  | "split-brain"
  | "fence";

/** Context of one hook run (each becomes an `HB_*` variable when set). */
export interface NotifyEvent {
  /** `HB_EVENT`. */
  event: NotifyEventName;
  /** `HB_NODE`: the node concerned (ours for local events). */
  node: string;
  /** `HB_GROUP`: group key. */
  group?: string;
  /** `HB_RESOURCE`: resource as written in haresources. */
  resource?: string;
  /** `HB_FROM`: previous state or node. */
  from?: string;
  /** `HB_TO`: new state or node. */
  to?: string;
  /** `HB_REASON`: why. */
  reason?: string;
  /** `HB_ELAPSED_MS`: measured time of the event (see README). */
  elapsedMs?: number;
}

/** An output of the monitor machine. */
export type MonitorAction =
  /** Run the resource's `status` with time limit `timeoutMs`; report `monitor-result` with `id`. */
  | {
    type: "monitor-check";
    id: number;
    key: string;
    resource: string;
    index: number;
    timeoutMs: number;
  }
  /**
   * Stop resources `index..end` of group `key` (right to left), start them again (left to
   * right), queued behind any resource run; report `monitor-restarted` with `id`.
   */
  | { type: "monitor-restart"; id: number; key: string; resource: string; index: number }
  /**
   * Give the group's class away with Heartbeat's standby exchange (hb_standby `cls`); an hb
   * peer does not fail it back for `holdMs` (the restart window).
   */
  | { type: "standby"; key: string; cls: "local" | "foreign"; holdMs: number }
  /** A log line of the MCP. */
  | { type: "log"; prio: Priority; text: string }
  /** Run the notify hooks. */
  | { type: "notify"; event: NotifyEvent };

/** An input of the monitor machine. */
export type MonitorEvent =
  /** A check finished: `ok` by the status action's meaning; `detail` says what it returned. */
  | {
    type: "monitor-result";
    now: number;
    id: number;
    ok: boolean;
    timedOut: boolean;
    detail: string;
    elapsedMs: number;
  }
  /** A restart finished (`ok`: every resource started again). */
  | { type: "monitor-restarted"; now: number; id: number; ok: boolean; detail: string };

/** What `heartbeat resource failures` shows for one monitor. */
export interface MonitorState {
  /** Resource as written. */
  resource: string;
  /** Group key. */
  group: string;
  /** `idle` (group not checked here), `ok`, `failing` (below fall), `failed`, `restarting`, `escalated`. */
  state: "idle" | "ok" | "failing" | "failed" | "restarting" | "escalated";
  /** Consecutive failures now. */
  consecutiveFailures: number;
  /** Failed checks since start or the last cleanup. */
  failures: number;
  /** Checks run since start or the last cleanup. */
  checks: number;
  /** Restarts within the current window. */
  restartsInWindow: number;
  /** Restarts since start or the last cleanup. */
  restarts: number;
  /** The last failure's detail. */
  lastFailure?: string;
  /** Monotonic ms until which the group is held back after an escalation. */
  heldBackUntil?: number;
}

interface Mon {
  cfg: MonitorConfig;
  /** Eligible since (monotonic ms); undefined when not eligible. */
  since?: number;
  nextAt: number;
  inFlight?: number;
  consecutive: number;
  successes: number;
  failed: boolean;
  /** When the current failure episode began (first failed check). */
  episodeAt?: number;
  restartTimes: number[];
  failures: number;
  checks: number;
  restarts: number;
  lastFailure?: string;
}

interface GroupState {
  /** Id of the restart in progress. */
  restarting?: { id: number; at: number; mon: Mon };
  /** Escalated at (while still held here). */
  escalatedAt?: number;
  /** Held back from failback until. */
  heldBackUntil?: number;
}

/** What a group is for its monitors (see {@link Monitors.update}). */
export type Eligibility = "check" | "pause" | "off";

/** How long an escalated group still held here waits before checks resume (standby failed). */
export const ESCALATION_RETRY_MS = 30_000;

/** The monitors of one node. */
export class Monitors {
  readonly #self: string;
  readonly #mons: Mon[];
  readonly #groups = new Map<string, GroupState>();
  #nextId = 1;
  #now = 0;
  #out: MonitorAction[] = [];

  /** Creates the machine for `monitors` (node `self`). */
  constructor(self: string, monitors: readonly MonitorConfig[]) {
    this.#self = self;
    this.#mons = monitors.map((cfg) => ({
      cfg,
      nextAt: Infinity,
      consecutive: 0,
      successes: 0,
      failed: false,
      restartTimes: [],
      failures: 0,
      checks: 0,
      restarts: 0,
    }));
    for (const m of monitors) this.#groups.set(m.key, {});
  }

  /** True when there is at least one monitor. */
  get any(): boolean {
    return this.#mons.length > 0;
  }

  /** True while a monitor restart of `key` runs (the group is in transition). */
  restarting(key: string): boolean {
    return this.#groups.get(key)?.restarting !== undefined;
  }

  /** True while a group given up for failures must not be taken back by failback. */
  holdsBack(key: string, now: number): boolean {
    return this.#heldBack(key, now);
  }

  /** True while any monitor restart runs (every group is in transition then). */
  get anyRestarting(): boolean {
    for (const g of this.#groups.values()) if (g.restarting !== undefined) return true;
    return false;
  }

  #heldBack(key: string, now: number): boolean {
    const g = this.#groups.get(key);
    return g?.heldBackUntil !== undefined && now < g.heldBackUntil;
  }

  /** When the next tick is wanted. */
  nextDeadline(): number {
    let t = Infinity;
    for (const m of this.#mons) {
      if (m.since !== undefined && m.inFlight === undefined) t = Math.min(t, m.nextAt);
    }
    for (const g of this.#groups.values()) {
      if (g.escalatedAt !== undefined) t = Math.min(t, g.escalatedAt + ESCALATION_RETRY_MS);
    }
    return t;
  }

  /**
   * Brings the monitors up to date at `now`. `eligibility(key)` says what group `key` is:
   * `check` (held here, fully started, no transition), `pause` (held here but a transition
   * runs: checks wait, counts are kept) or `off` (not held here: counts are cleared, a pending
   * escalation is over). Starts and stops monitors, issues due checks. Returns the actions.
   */
  update(now: number, eligibility: (key: string) => Eligibility): MonitorAction[] {
    this.#out = [];
    this.#now = Math.max(this.#now, now);
    for (const [key, g] of this.#groups) {
      const e = eligibility(key);
      if (g.escalatedAt !== undefined && e === "off") g.escalatedAt = undefined;
      if (g.escalatedAt !== undefined && this.#now >= g.escalatedAt + ESCALATION_RETRY_MS) {
        this.#log(
          "WARN",
          `Group ${key} is still here ${ESCALATION_RETRY_MS} ms after giving it up for failures: monitoring it again.`,
        );
        g.escalatedAt = undefined;
        for (const m of this.#mons) if (m.cfg.key === key) this.#reset(m);
      }
    }
    for (const m of this.#mons) {
      const g = this.#groups.get(m.cfg.key)!;
      const e = eligibility(m.cfg.key);
      const run = e === "check" && g.restarting === undefined && g.escalatedAt === undefined;
      if (!run) {
        if (m.since !== undefined) {
          m.since = undefined;
          m.inFlight = undefined; // its result is dropped
          m.nextAt = Infinity;
        }
        if (e === "off" && g.restarting === undefined) this.#reset(m);
        continue;
      }
      if (m.since === undefined) {
        m.since = this.#now;
        m.nextAt = this.#now + m.cfg.startDelayMs + m.cfg.intervalMs;
      }
      if (m.inFlight === undefined && this.#now >= m.nextAt) {
        const id = this.#nextId++;
        m.inFlight = id;
        this.#out.push({
          type: "monitor-check",
          id,
          key: m.cfg.key,
          resource: m.cfg.resource,
          index: m.cfg.index,
          timeoutMs: m.cfg.timeoutMs,
        });
      }
    }
    return this.#out;
  }

  /** Feeds a check or restart result; call {@link update} afterwards. */
  handle(ev: MonitorEvent): MonitorAction[] {
    this.#out = [];
    this.#now = Math.max(this.#now, ev.now);
    if (ev.type === "monitor-result") this.#onResult(ev);
    else this.#onRestarted(ev);
    return this.#out;
  }

  /** Per-monitor states for `heartbeat resource failures`. */
  states(now: number): MonitorState[] {
    return this.#mons.map((m) => {
      const g = this.#groups.get(m.cfg.key)!;
      const state: MonitorState["state"] = g.restarting?.mon === m
        ? "restarting"
        : g.escalatedAt !== undefined && m.failed
        ? "escalated"
        : m.since === undefined
        ? "idle"
        : m.failed
        ? "failed"
        : m.consecutive > 0
        ? "failing"
        : "ok";
      return {
        resource: m.cfg.resource,
        group: m.cfg.key,
        state,
        consecutiveFailures: m.consecutive,
        failures: m.failures,
        checks: m.checks,
        restartsInWindow: m.restartTimes.filter((t) => t > now - m.cfg.restartWindowMs).length,
        restarts: m.restarts,
        ...(m.lastFailure !== undefined ? { lastFailure: m.lastFailure } : {}),
        ...(g.heldBackUntil !== undefined && g.heldBackUntil > now
          ? { heldBackUntil: g.heldBackUntil }
          : {}),
      };
    });
  }

  /**
   * Operator cleanup: forgets the failure counts, restart history and failback hold of
   * `resource` (every monitor when undefined). Returns the resources cleared (empty: no such
   * monitor).
   */
  cleanup(
    now: number,
    resource?: string,
  ): { cleared: string[]; actions: MonitorAction[] } {
    this.#out = [];
    this.#now = Math.max(this.#now, now);
    const cleared: string[] = [];
    for (const m of this.#mons) {
      if (resource !== undefined && m.cfg.resource !== resource) continue;
      cleared.push(m.cfg.resource);
      this.#reset(m);
      m.restartTimes = [];
      m.failures = 0;
      m.checks = 0;
      m.restarts = 0;
      m.lastFailure = undefined;
      const g = this.#groups.get(m.cfg.key)!;
      g.heldBackUntil = undefined;
      g.escalatedAt = undefined; // still here after giving it up: checked again
      this.#log("info", `Failures of ${m.cfg.resource} cleared by the operator.`);
    }
    return { cleared, actions: this.#out };
  }

  #reset(m: Mon): void {
    m.consecutive = 0;
    m.successes = 0;
    m.failed = false;
    m.episodeAt = undefined;
    m.inFlight = undefined;
  }

  #log(prio: Priority, text: string): void {
    this.#out.push({ type: "log", prio, text });
  }

  #notify(e: Omit<NotifyEvent, "node">): void {
    this.#out.push({ type: "notify", event: { node: this.#self, ...e } });
  }

  #onResult(ev: Extract<MonitorEvent, { type: "monitor-result" }>): void {
    const m = this.#mons.find((x) => x.inFlight === ev.id);
    if (m === undefined) return; // group released, restarted or cleaned up meanwhile
    m.inFlight = undefined;
    m.nextAt = this.#now + m.cfg.intervalMs;
    m.checks++;
    const name = m.cfg.resource;
    if (ev.ok) {
      m.successes++;
      if (!m.failed) {
        m.consecutive = 0;
        m.episodeAt = undefined;
        return;
      }
      if (m.successes < m.cfg.rise) return;
      const outage = this.#now - (m.episodeAt ?? this.#now);
      this.#log(
        "info",
        `Monitor of ${name} recovered: ${m.successes} successful check(s) after ${m.consecutive} failure(s), ${
          Math.round(outage)
        } ms after the first failure.`,
      );
      this.#notify({
        event: "monitor-recover",
        group: m.cfg.key,
        resource: name,
        from: "failed",
        to: "ok",
        reason: `${m.successes} successful check(s)`,
        elapsedMs: Math.round(outage),
      });
      this.#reset(m);
      return;
    }
    m.successes = 0;
    m.consecutive++;
    m.failures++;
    m.episodeAt ??= this.#now - ev.elapsedMs;
    m.lastFailure = ev.detail;
    const what = ev.timedOut
      ? `timed out after ${Math.round(ev.elapsedMs)} ms (process group killed)`
      : `${ev.detail} after ${Math.round(ev.elapsedMs)} ms`;
    this.#log(
      "WARN",
      `Monitor of ${name} failed (${m.consecutive}/${m.cfg.fall}): status ${what}.`,
    );
    if (m.failed || m.consecutive < m.cfg.fall) return;
    m.failed = true;
    const since = this.#now - m.episodeAt;
    this.#log(
      "ERROR",
      `Resource ${name} failed: ${m.consecutive} consecutive monitor failures in ${
        Math.round(since)
      } ms (on-fail=${m.cfg.onFail}).`,
    );
    this.#notify({
      event: "monitor-fail",
      group: m.cfg.key,
      resource: name,
      from: "ok",
      to: "failed",
      reason: ev.timedOut
        ? `status timed out after ${Math.round(ev.elapsedMs)} ms`
        : `status ${ev.detail}`,
      elapsedMs: Math.round(since),
    });
    if (m.cfg.onFail === "ignore") return;
    if (m.cfg.onFail === "standby") {
      this.#escalate(m, "on-fail=standby");
      return;
    }
    const window = m.cfg.restartWindowMs;
    m.restartTimes = m.restartTimes.filter((t) => t > this.#now - window);
    if (m.restartTimes.length >= m.cfg.maxRestarts) {
      this.#escalate(
        m,
        `${m.restartTimes.length} restart(s) within ${window} ms already (max-restarts ${m.cfg.maxRestarts})`,
      );
      return;
    }
    m.restartTimes.push(this.#now);
    m.restarts++;
    const g = this.#groups.get(m.cfg.key)!;
    const id = this.#nextId++;
    g.restarting = { id, at: this.#now, mon: m };
    const after = m.cfg.groupSize - m.cfg.index - 1;
    this.#log(
      "info",
      `Restarting ${name} (and the ${after} resource(s) after it in group ${m.cfg.key}): restart ${m.restartTimes.length} of ${m.cfg.maxRestarts} within ${window} ms.`,
    );
    this.#out.push({
      type: "monitor-restart",
      id,
      key: m.cfg.key,
      resource: name,
      index: m.cfg.index,
    });
  }

  #onRestarted(ev: Extract<MonitorEvent, { type: "monitor-restarted" }>): void {
    const entry = [...this.#groups].find(([, g]) => g.restarting?.id === ev.id);
    if (entry === undefined) return;
    const [key, g] = entry;
    const r = g.restarting!;
    g.restarting = undefined;
    const took = this.#now - r.at;
    const outage = this.#now - (r.mon.episodeAt ?? r.at);
    if (!ev.ok) {
      this.#log(
        "ERROR",
        `Restart of ${r.mon.cfg.resource} failed after ${Math.round(took)} ms: ${ev.detail}.`,
      );
      this.#escalate(r.mon, `restart failed: ${ev.detail}`);
      return;
    }
    this.#log(
      "info",
      `Restart of ${r.mon.cfg.resource} done in ${
        Math.round(took)
      } ms: group ${key} running again, ${Math.round(outage)} ms after the first failed check.`,
    );
    this.#notify({
      event: "restart",
      group: key,
      resource: r.mon.cfg.resource,
      from: "failed",
      to: "started",
      reason: `restart ${r.mon.restartTimes.length} of ${r.mon.cfg.maxRestarts}`,
      elapsedMs: Math.round(took),
    });
    for (const m of this.#mons) if (m.cfg.key === key) this.#reset(m);
    // the monitors start again (start-delay + interval) at the next update
    for (const m of this.#mons) if (m.cfg.key === key) m.since = undefined;
  }

  #escalate(m: Mon, why: string): void {
    const g = this.#groups.get(m.cfg.key)!;
    g.escalatedAt = this.#now;
    g.heldBackUntil = this.#now + m.cfg.restartWindowMs;
    const since = this.#now - (m.episodeAt ?? this.#now);
    this.#log(
      "ERROR",
      `Giving up group ${m.cfg.key} for failures of ${m.cfg.resource} (${why}): standby [${m.cfg.cls}], ${
        Math.round(since)
      } ms after the first failed check; not taken back for ${m.cfg.restartWindowMs} ms.`,
    );
    this.#notify({
      event: "escalate",
      group: m.cfg.key,
      resource: m.cfg.resource,
      from: this.#self,
      to: "peer",
      reason: why,
      elapsedMs: Math.round(since),
    });
    this.#out.push({
      type: "standby",
      key: m.cfg.key,
      cls: m.cfg.cls,
      holdMs: m.cfg.restartWindowMs,
    });
  }
}
