/**
 * The master control process: the I/O shell around the deterministic core.
 *
 * It owns the real clock and timers, feeds the core events (start, ticks,
 * verified messages from the media and the FIFO, shutdown), and carries out
 * the core's actions (sign and send on every medium, log, status changes).
 * Its outside parts (core workers, group runner, fencer, API server, notify hooks, respawned
 * clients, watchdog, clock) come through the small interfaces of master/runtime_parts.ts, so a
 * unit test drives it with fakes (master/runtime_test.ts).
 *
 * @module
 */

import type { HbCore } from "../core/core.ts";
import { HISTORY_SIZE, type Origin } from "../core/types.ts";
import { NodeCore, type NodeCoreAction, type NodeCoreEvent } from "../core/node_core.ts";
import type { LogLine } from "../core/ownership/types.ts";
import type { CoreMessage } from "../core/message.ts";
import type { TestLossOptions } from "../core/test_loss.ts";
import type { MonitorState } from "../core/monitor.ts";
import type { ApiResourceStatus } from "../api/backend.ts";
import { scriptLog, scriptTag } from "../logging/mod.ts";
import { decodeMessage } from "../wire/codec.ts";
import type { AuthKeys } from "../wire/auth.ts";
import { mediumOpenLines, mediumStartLine } from "../workers/media_spec.ts";
import { isPingSpec } from "../workers/ping.ts";
import { authkeysDigest } from "./config_digest.ts";
import { monitorStatusOf, StatusCollector } from "./status.ts";
import { HB_VERSION, HEARTBEAT_VERSION } from "./version.ts";
import { apiEvents } from "./api_backend.ts";
import { PacketCodec } from "./packet_codec.ts";
import { toCore, toWire } from "./message_convert.ts";
import { pingStatusMessage } from "./ping_status.ts";
import type { RuntimeObserver } from "./observe.ts";
import type { RuntimeLog, RuntimePlan } from "./runtime_plan.ts";
import {
  type ApiPart,
  type Clock,
  type FencerPart,
  type GroupRunnerPart,
  type NotifyPart,
  productionParts,
  type RespawnPart,
  type RuntimeHost,
  type RuntimeParts,
  serialChannels,
  type TimerId,
  type WatchdogPart,
  type WorkersPart,
} from "./runtime_parts.ts";
import {
  describeEvent,
  FAULT_ENV,
  type FaultHook,
  matchesFault,
  parseFaultHook,
  scriptPrio,
  SHUTDOWN_LIMIT_ENV,
  shutdownLimitMs,
  STOP_STATUS_ENV,
} from "./runtime_hooks.ts";

export {
  FAULT_ENV,
  SHUTDOWN_LIMIT_ENV,
  SHUTDOWN_LIMIT_MS,
  STOP_STATUS_ENV,
} from "./runtime_hooks.ts";
export type { RuntimeLog, RuntimePlan } from "./runtime_plan.ts";

/**
 * Sent messages whose exact bytes are kept for retransmission: as many as the core's send
 * history holds ({@link HISTORY_SIZE}, 500), so every `rexmit` the core can ask for finds its bytes.
 */
const HISTORY_KEEP = HISTORY_SIZE;

/**
 * How much longer than deadtime the peers are told to wait before a restart (Heartbeat's
 * `dt` = deadtime + 30 s in `hb_mcp_final_shutdown` and the quick restart): milliseconds,
 * long enough for the new image to start and send its first heartbeat.
 */
const RESTART_DEADTIME_EXTRA_MS = 30_000;

/**
 * Heartbeat's gap between the phases of a shutdown (1 s after our `shutdone` the clients
 * stop, 1 s later the core children): milliseconds, lets the last messages leave.
 */
const SHUTDOWN_PHASE_GAP_MS = 1000;

/** Minimum interval between two "bad packet" log lines. */
const BAD_PACKET_LOG_INTERVAL_MS = 10_000;

/** How a {@link MasterRuntime} is built; every field has a production default. */
export interface RuntimeOptions {
  /** Builds the outside parts (default {@link productionParts}). */
  parts?: (plan: RuntimePlan, host: RuntimeHost) => RuntimeParts;
  /** The core (default: a NodeCore built from the plan). */
  core?: NodeCore;
  /** The environment the test hooks are read from (default `Deno.env`). */
  env?: (name: string) => string | undefined;
}

/** The running master. */
export class MasterRuntime {
  readonly #plan: RuntimePlan;
  readonly #log: RuntimeLog;
  readonly #core: NodeCore;
  readonly #clock: Clock;
  readonly #parts: RuntimeParts;
  readonly #runner: GroupRunnerPart | undefined;
  readonly #fencer: FencerPart | undefined;
  readonly #notify: NotifyPart;
  #watchdog: WatchdogPart | null = null;
  #shutdownRequested = false;
  readonly #codec: PacketCodec;
  readonly #workers: WorkersPart;
  readonly #respawn: RespawnPart;
  readonly #api: ApiPart | undefined;
  /** Channels (ha.cf order) that are serial lines. */
  readonly #serialChannels: number[];
  #timer: TimerId | undefined;
  #timerAt = Infinity;
  #history = new Map<number, { bytes?: Uint8Array; frame?: Uint8Array }>();
  #stopping = false;
  /** Set by the shutdown-and-restart procedure: {@link done} means "re-execute", not "exit". */
  #restartAfterShutdown = false;
  /** Limit of a graceful shutdown ({@link SHUTDOWN_LIMIT_MS}). */
  #shutdownLimit: TimerId | undefined;
  /** Set once the fail-safe path runs: the core is never fed again. */
  #failed = false;
  /** Test hook ({@link FAULT_ENV}): the event that makes the core "throw". */
  readonly #fault: FaultHook | undefined;
  /** Test hook ({@link STOP_STATUS_ENV}): the FIFO message type that stops our status. */
  readonly #stopStatusOn: string | undefined;
  /** Test hook ({@link SHUTDOWN_LIMIT_ENV}): the limit of a graceful shutdown. */
  readonly #shutdownLimitMs: number;
  #lastBadLog = -Infinity;
  #badSinceLog = 0;
  #done: Promise<number>;
  #resolveDone!: (code: number) => void;
  /** Read-only observers of every core step (master/observe.ts). */
  readonly #observers: RuntimeObserver[] = [];
  /** What `heartbeat status` shows (master/status.ts). */
  readonly #status: StatusCollector;

  /**
   * Prepares the runtime (nothing starts until {@link start}). The outside parts come from
   * `options.parts` (production: {@link productionParts}).
   */
  constructor(plan: RuntimePlan, log: RuntimeLog, options: RuntimeOptions = {}) {
    this.#plan = plan;
    this.#log = log;
    this.#core = options.core ?? new NodeCore(plan.core, plan.resources, plan.identity);
    this.#status = new StatusCollector({
      nodeName: plan.core.nodeName,
      links: plan.core.links,
      pingNodes: plan.core.pingNodes,
      nodeOrder: plan.api?.backend.nodeOrder ?? [],
      groups: plan.resources?.groups ?? [],
      version: HB_VERSION,
      heartbeatVersion: HEARTBEAT_VERSION,
    });
    this.#status.attach(this.#core);
    this.#status.setMonitors({ monitors: () => monitorStatusOf(this.#core.monitorStates()) });
    this.#observers.push(this.#status);
    const parts = (options.parts ?? productionParts)(plan, this.#host());
    this.#parts = parts;
    this.#clock = parts.clock;
    this.#runner = parts.runner;
    this.#fencer = parts.fencer;
    this.#notify = parts.notify;
    this.#workers = parts.workers;
    this.#respawn = parts.respawn;
    this.#api = parts.api;
    this.#codec = new PacketCodec(plan.keys, plan.msgfmt);
    this.#serialChannels = serialChannels(plan.media);
    const env = options.env ?? ((name: string) => Deno.env.get(name));
    this.#fault = parseFaultHook(env(FAULT_ENV));
    this.#stopStatusOn = env(STOP_STATUS_ENV) || undefined;
    this.#shutdownLimitMs = shutdownLimitMs(env(SHUTDOWN_LIMIT_ENV));
    this.#done = new Promise((r) => this.#resolveDone = r);
  }

  /** What the parts call back into. */
  #host(): RuntimeHost {
    return {
      log: this.#log,
      onPacket: (ch, bytes) => this.#onPacket(ch, bytes),
      onFifo: (bytes) => this.#onFifo(bytes),
      onUnrecoverable: () => this.restartProcedure("a core process could not be restarted"),
      onGroupBegin: (id, key) => this.#status.groupBegin(id, key),
      onGroupResult: (r) => {
        if (this.#failed) {
          if (r.result === "stop-failed") {
            this.#log("CRIT", `Emergency Shutdown: resource group ${r.key} could not be stopped`);
          }
          return;
        }
        this.#feed({
          type: "group-result",
          ...this.#times(),
          id: r.id,
          key: r.key,
          result: r.result,
          standby: r.standby,
        });
      },
      logLine: (l) => this.#logLine(l),
      originate: (msg) => this.originate(msg),
      membership: () => this.#core.membership,
      resourceStatus: () => this.resourceStatus(),
      statusDocument: () => JSON.stringify(this.#status.document()),
      monitorStates: () => this.monitorStates(),
      monitorCleanup: (resource) => this.monitorCleanup(resource),
    };
  }

  /** The `now` and `wallClock` of an event. */
  #times(): { now: number; wallClock: number } {
    return { now: this.#clock.now(), wallClock: this.#clock.wallClock() };
  }

  /** Sends a message from this node to the cluster (API clients, resource layer). */
  originate(msg: CoreMessage): void {
    if (this.#stopping) return;
    this.#feed({ type: "originate", ...this.#times(), msg });
  }

  /** The `rscstatus` answer. */
  resourceStatus(): ApiResourceStatus {
    return { ok: true, rscHold: this.#core.rscstatus() };
  }

  /** The monitors' states (`heartbeat resource failures`). */
  monitorStates(): { now: number; states: MonitorState[] } {
    return { now: this.#clock.now(), states: this.#core.monitorStates() };
  }

  /**
   * Operator cleanup of the failure counts of `resource` (all when undefined); returns the
   * resources cleared (empty: no monitor matched).
   */
  monitorCleanup(resource?: string): string[] {
    if (this.#stopping || this.#failed) return [];
    const r = this.#core.monitorCleanup(this.#clock.now(), resource);
    try {
      for (const a of r.actions) this.#act(a);
    } catch (e) {
      this.failSafe("master failure carrying out a cleanup", e);
    }
    this.#arm();
    return r.cleared;
  }

  /** Resolves when every queued notify hook has run (tests). */
  notifyIdle(): Promise<void> {
    return this.#notify.idle();
  }

  /** The membership core (read-only use: status queries). */
  get core(): HbCore {
    return this.#core.membership;
  }

  /** The core workers (master/supervisor.ts). */
  get workers(): WorkersPart {
    return this.#workers;
  }

  /** Bad packets dropped so far, by reason. */
  get dropped(): Record<string, number> {
    return { ...this.#codec.dropped };
  }

  /** The client API server (absent without an API). */
  get api(): ApiPart | undefined {
    return this.#api;
  }

  /** Adds an observer of every core step (systemd notifications, metrics). */
  observe(o: RuntimeObserver): void {
    this.#observers.push(o);
  }

  /** Resolves with the exit code when the runtime has stopped. */
  get done(): Promise<number> {
    return this.#done;
  }

  /**
   * Replaces the authentication keys (authkeys reread on SIGHUP, config-and-cli §4.3); the
   * authkeys digest of our heartbeats follows (core/drift.ts).
   */
  setKeys(keys: AuthKeys): void {
    this.#codec.setKeys(keys);
    const own = this.#core.peers?.own;
    if (own !== undefined) {
      this.#feed({
        type: "config-digest",
        ...this.#times(),
        digest: { ...own, authkeys: authkeysDigest(keys) },
      });
    }
  }

  /** What `heartbeat status` shows (master/status.ts). */
  get status(): StatusCollector {
    return this.#status;
  }

  /** The whole core (read-only use: status queries). */
  get nodeCore(): NodeCore {
    return this.#core;
  }

  /**
   * Puts the options of Heartbeat's test hook `OnlyForTesting` in force (`undefined`: none),
   * as read at start and on every reload (config/only_for_testing.ts).
   */
  setTestLoss(options: TestLossOptions | undefined): void {
    this.#feed({ type: "test-loss", ...this.#times(), options });
  }

  /**
   * What this node holds, for a quick restart (`-R -C <held>`): Heartbeat's class name
   * (`none`/`local`/`foreign`/`all`) and the group keys it runs. Undefined without resource
   * management.
   */
  heldState(): { held: string; holding: string[] } | undefined {
    const own = this.#core.ownership;
    return own ? { held: own.held, holding: own.holding } : undefined;
  }

  /**
   * The quick stop of a restart (ha.cf changed, config-and-cli §5.4, §7.7): no resource is
   * released. The watchdog is closed, the advertised deadtime goes up by 30 s (peers wait
   * for the new image), respawned clients stop, one second later the core workers; then
   * {@link done} resolves and the caller re-executes the daemon.
   */
  async stopForRestart(): Promise<void> {
    if (this.#stopping || this.#shutdownRequested) return;
    this.#shutdownRequested = true;
    this.#watchdog?.close();
    this.#feed({
      type: "advertise-deadtime",
      ...this.#times(),
      extraMs: RESTART_DEADTIME_EXTRA_MS,
    });
    await this.#respawn.stop();
    await new Promise((r) => this.#clock.setTimer(() => r(undefined), SHUTDOWN_PHASE_GAP_MS));
    await this.shutdown();
  }

  /** Starts workers, then the core. Returns false if a medium could not be opened. */
  async start(): Promise<boolean> {
    for (const m of this.#plan.media) {
      for (const l of mediumOpenLines(m)) this.#log("info", l, { glib: true });
      this.#log("info", mediumStartLine(m), { glib: true });
      if (m.type === "bcast") {
        this.#log(
          "info",
          `UDP Broadcast heartbeat closed on port ${m.port} interface ${m.ifname} - Status: 1`,
          { glib: true },
        );
      }
    }
    const ok = await this.#workers.start();
    if (!ok) {
      this.#log("ERROR", "make_io_childpair: cannot open all media");
      return false;
    }
    // Heartbeat's master_control_process: the watchdog, then realtime, then the first status
    if (this.#plan.watchdog !== undefined) {
      this.#watchdog = this.#parts.openWatchdog(this.#plan.watchdog, this.#plan.core.deadtimeMs);
    }
    if (this.#plan.realtime) {
      this.#parts.applyRealtime(this.#plan.realtime);
    }
    this.#feed({
      type: "start",
      ...this.#times(),
      loadavg: this.#parts.loadavg(),
    });
    return true;
  }

  /**
   * Graceful shutdown (SIGTERM, `heartbeat -k`): the resource layer gives
   * every group up and announces `shutdone`; then clients and workers are
   * stopped ({@link shutdown}). Without resource management it stops at once.
   */
  requestShutdown(): void {
    if (this.#shutdownRequested) {
      this.#log("info", "Heartbeat shutdown already underway.");
      return;
    }
    this.#beginShutdown(false);
  }

  /**
   * Heartbeat's shutdown-and-restart procedure (behavior.md §4.3, `cause_shutdown_restart`),
   * used on "No local heartbeat" and when a core process cannot be restarted: the graceful
   * shutdown (every group released, `shutdone`, so the peer takes over at once), then, when
   * the clients are stopped, `dt` = deadtime + 30 s is advertised, the core workers stop and
   * {@link done} resolves with {@link restartAfterShutdown} set: master/daemon.ts logs
   * `Heartbeat restart triggered.`, waits deadtime + 1 s and re-executes the daemon as a fresh
   * start (new generation, full negotiation). Heartbeat's wait is meant to let the peers see
   * it dead; with deadtime + 30 s just advertised they see a restart (`Heartbeat restart on
   * node …`) instead, and the groups they took over on `shutdone` stay with them until the
   * new image's start-up negotiation (auto_failback) places them. Ignored when
   * a shutdown is already under way (as Heartbeat's `mark_node_dead`).
   */
  restartProcedure(reason: string): void {
    if (this.#shutdownRequested || this.#stopping || this.#failed) {
      this.#log("info", "Heartbeat shutdown already underway.");
      return;
    }
    if (this.#parts.debugging()) this.#log("debug", `shutdown and restart: ${reason}`);
    this.#beginShutdown(true);
  }

  /** True when {@link done} means "re-execute the daemon" (shutdown-and-restart procedure). */
  get restartAfterShutdown(): boolean {
    return this.#restartAfterShutdown;
  }

  /** True when the fail-safe path ran ({@link failSafe}): {@link done} resolves non-zero. */
  get failed(): boolean {
    return this.#failed;
  }

  #beginShutdown(restart: boolean): void {
    this.#shutdownRequested = true;
    if (restart) this.#restartAfterShutdown = true;
    // Heartbeat: "do something more drastic in 60 minutes" (hb_initiate_shutdown,
    // cause_shutdown_restart)
    this.#shutdownLimit = this.#clock.setTimer(
      () => void this.#shutdownTooLong(),
      this.#shutdownLimitMs,
    );
    // with resources, the ownership layer logs it when the release really starts
    if (!this.#plan.resources) this.#log("info", `Heartbeat shutdown in progress. (${Deno.pid})`);
    // Heartbeat closes the watchdog when the resource release starts (config-and-cli §7.9)
    this.#watchdog?.close();
    this.#feed({
      type: "shutdown-request",
      ...this.#times(),
      ...(restart ? { restart } : {}),
    });
  }

  /**
   * A graceful shutdown (or shutdown-and-restart) that has not finished after
   * {@link SHUTDOWN_LIMIT_MS} (a resource script hangs): Heartbeat's `EmergencyShutdown`. The
   * core is not fed again, clients and core workers stop and {@link done} resolves with 100,
   * without waiting for the resource run in progress (Heartbeat also kills its process group
   * there; hb leaves a hung script alone). The peers then see this node dead and take over,
   * fencing it first when STONITH is configured.
   */
  async #shutdownTooLong(): Promise<void> {
    this.#shutdownLimit = undefined;
    if (this.#stopping || this.#failed) return;
    this.#failed = true;
    this.#log("CRIT", "Emergency Shutdown: Attempting to kill everything ourselves");
    this.#log(
      "CRIT",
      `Emergency Shutdown: the shutdown did not finish within ${
        Math.round(this.#shutdownLimitMs / 1000)
      } s; exiting without waiting for the resource scripts`,
    );
    await this.shutdown(100);
  }

  /**
   * The final phases after our own `shutdone` (Heartbeat's `hb_mcp_final_shutdown`). Before a
   * restart: clients stop, `dt` = deadtime + 30 s is advertised (peers wait for the new image),
   * one second later the core workers stop.
   */
  async #finalShutdown(restart: boolean): Promise<void> {
    if (this.#stopping) return;
    if (restart || this.#restartAfterShutdown) {
      this.#restartAfterShutdown = true;
      await this.#respawn.stop();
      this.#feed({
        type: "advertise-deadtime",
        ...this.#times(),
        extraMs: RESTART_DEADTIME_EXTRA_MS,
      });
      await new Promise((r) => this.#clock.setTimer(() => r(undefined), SHUTDOWN_PHASE_GAP_MS));
    }
    await this.shutdown();
  }

  /**
   * The fail-safe path for internal errors: an exception thrown by the core (which may then
   * be half-updated) or a broken invariant in the master. hb neither swallows it nor carries
   * on: it logs it at CRIT with the stack, never feeds the core again (so no heartbeat, no
   * protocol message, no resource decision comes from a broken state), releases every
   * resource group directly through the resource scripts (file order, as a shutdown does;
   * a group that cannot be stopped is logged at CRIT), stops clients and core workers and
   * resolves {@link done} with 100 (Heartbeat's emergency exit status). The peers stop
   * hearing us at the first missed heartbeat and take the groups over after deadtime; with
   * STONITH configured they fence this node first. A watchdog, when configured, stays armed
   * until the release is done, so a release that hangs ends in a reboot.
   *
   * Heartbeat's own emergency path (`hb_emergency_shutdown`) kills everything and exits 100
   * without stopping any resource, leaving the services running here while the peer starts
   * them; hb stops them first. hb does not restart itself after an internal error: the same
   * input could hit the same bug again, and a restart loop would move the groups back and
   * forth; a supervisor (systemd `Restart=`) or the operator decides.
   */
  failSafe(what: string, e: unknown): void {
    const text = e instanceof Error ? (e.stack ?? e.message) : String(e);
    if (this.#failed) {
      this.#log("CRIT", `${what} (during the emergency shutdown): ${text}`);
      return;
    }
    this.#failed = true;
    this.#log("CRIT", `${what}: ${text}`);
    this.#log(
      "CRIT",
      "Emergency Shutdown: internal error: giving up all HA resources and exiting; the peers take over",
    );
    void this.#emergency().catch((err) => {
      this.#log("CRIT", `Emergency Shutdown failed: ${err instanceof Error ? err.stack : err}`);
      this.#resolveDone(100);
    });
  }

  async #emergency(): Promise<void> {
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    const groups = this.#plan.resources?.rmGroups ?? [];
    if (this.#runner !== undefined && groups.length > 0) {
      // queued behind a run in progress: one resource script at a time, as always
      await this.#runner.enqueue({
        id: -1,
        op: "give",
        keys: groups.map((g) => g.key),
        env: {},
        before: [{ prio: "info", text: "Giving up all HA resources.", tag: "heartbeat" }],
      });
      this.#log("CRIT", "Emergency Shutdown: resource release finished.");
    }
    this.#watchdog?.close();
    await this.shutdown(100);
  }

  /** Graceful stop: stops the workers (Heartbeat's lines) and resolves {@link done}. */
  async shutdown(code = 0): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#shutdownLimit !== undefined) this.#clock.clearTimer(this.#shutdownLimit);
    this.#shutdownLimit = undefined;
    this.#watchdog?.close();
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    // clients first (reverse declaration order), then the core children (config-and-cli §7.6)
    await this.#respawn.stop();
    await this.#api?.stop();
    await this.#fencer?.stop();
    await this.#workers.stop();
    this.#resolveDone(code);
  }

  #onPacket(channel: number, bytes: Uint8Array): void {
    if (this.#stopping) return;
    const r = this.#codec.decode(bytes);
    if (!r.ok) {
      this.#badPacket(r.reason, r.detail);
      return;
    }
    this.#deliver({ kind: "medium", channel }, r.msg);
  }

  #onFifo(bytes: Uint8Array): void {
    if (this.#stopping) return;
    const r = decodeMessage(bytes);
    if (!r.ok) {
      this.#badPacket("fifo", r.detail);
      return;
    }
    this.#deliver({ kind: "fifo" }, toCore(r.msg));
  }

  #badPacket(reason: string, detail: string): void {
    this.#badSinceLog++;
    const now = this.#clock.now();
    if (now - this.#lastBadLog >= BAD_PACKET_LOG_INTERVAL_MS) {
      this.#log(
        "ERROR",
        `Dropped ${this.#badSinceLog} bad packet(s) (last: ${reason}: ${detail}); total dropped ${this.#codec.droppedTotal}`,
      );
      this.#lastBadLog = now;
      this.#badSinceLog = 0;
    }
  }

  #deliver(origin: Origin, msg: ReturnType<typeof toCore>): void {
    this.#feed({
      type: "message",
      ...this.#times(),
      origin,
      msg,
    });
  }

  #feed(ev: NodeCoreEvent): void {
    if (this.#stopping || this.#failed) return;
    if (
      this.#stopStatusOn !== undefined && ev.type === "message" && ev.origin.kind === "fifo" &&
      ev.msg.type === this.#stopStatusOn
    ) {
      this.#log("WARN", `test hook (${STOP_STATUS_ENV}): our status messages stop now`);
      this.#core.membership.stopOwnStatus();
      return;
    }
    let actions: NodeCoreAction[];
    try {
      if (this.#fault !== undefined && matchesFault(this.#fault, ev)) {
        const err = new Error(`injected core fault on ${describeEvent(ev)} (${FAULT_ENV})`);
        if (!this.#fault.uncaught) throw err;
        setTimeout(() => {
          throw err;
        }, 0);
      }
      actions = this.#core.handle(ev);
    } catch (e) {
      // The core may be half-updated: it is never fed again (see failSafe).
      this.failSafe(`core failure on ${describeEvent(ev)}`, e);
      return;
    }
    try {
      for (const a of actions) this.#act(a);
      if (this.#api?.running) this.#toClients(actions);
    } catch (e) {
      this.failSafe(`master failure carrying out the core's actions for ${describeEvent(ev)}`, e);
      return;
    }
    // read-only observers (systemd, metrics): their failure never touches the cluster
    for (const o of this.#observers) {
      try {
        o.step(ev, actions);
      } catch (e) {
        this.#log(
          "ERROR",
          `observer failure on ${describeEvent(ev)}: ${e instanceof Error ? e.stack : e}`,
        );
      }
    }
    this.#arm();
  }

  #logLine(l: LogLine): void {
    if (l.tag === "heartbeat" || l.tag === "heartbeat-child") {
      this.#log(l.prio === "" ? "info" : l.prio, l.text);
    } else {
      scriptLog(scriptTag(l.tag, Deno.pid), l.prio === "" ? null : scriptPrio(l.prio), l.text);
    }
  }

  /**
   * Carries out one core action. The switch is exhaustive (checked by the compiler through
   * `never`): a new action type cannot be forgotten here. Actions meant for API clients are
   * handled in {@link MasterRuntime.#toClients} after the whole batch and say so below.
   */
  #act(a: NodeCoreAction): void {
    switch (a.type) {
      case "log":
        this.#log(a.prio, a.text);
        return;
      case "script-log":
        this.#logLine({ prio: a.prio as LogLine["prio"], text: a.text, tag: a.tag });
        return;
      case "run":
        if (this.#runner === undefined) {
          throw new Error(`core asked to run ${a.op} ${a.keys.join(",")} without resources`);
        }
        void this.#runner.enqueue(a);
        return;
      case "fence":
        this.#fence(a.node);
        return;
      case "monitor-check": {
        const runner = this.#runner!;
        const t0 = this.#clock.now();
        void runner.check(a.key, a.index, a.timeoutMs).catch((e) => ({
          // the check could not run at all: a failed check, said so in its detail
          ok: false,
          timedOut: false,
          detail: `check error: ${e instanceof Error ? e.message : e}`,
          elapsedMs: Math.round(this.#clock.now() - t0),
        })).then((r) =>
          this.#feed({
            type: "monitor-result",
            ...this.#times(),
            id: a.id,
            ...r,
          })
        );
        return;
      }
      case "monitor-restart": {
        const runner = this.#runner!;
        void runner.restart(a.key, a.index).catch((e) => ({
          ok: false,
          detail: `restart error: ${e instanceof Error ? e.message : e}`,
        })).then((r) =>
          this.#feed({
            type: "monitor-restarted",
            ...this.#times(),
            id: a.id,
            ok: r.ok,
            detail: r.detail,
          })
        );
        return;
      }
      case "notify":
        this.#notify.emit(a.event, this.#clock.wallClock());
        return;
      case "stop-failure":
        this.#log(
          "CRIT",
          `Resource group ${a.key} could not be stopped and still runs: hb does not reboot this node; fence it or stop the resource by hand`,
        );
        return;
      case "shutdown-complete":
        // Heartbeat: 1 s after its own shutdone, clients stop; 1 s later the core children
        this.#clock.setTimer(() => void this.#finalShutdown(a.restart), SHUTDOWN_PHASE_GAP_MS);
        return;
      case "send":
        this.#send(a.msg, a.seq, a.lost === true);
        return;
      case "rexmit": {
        const stored = this.#history.get(a.seq);
        // `lost`: OnlyForTesting's xmitloss (Heartbeat's send_to_all_media sends nothing)
        if (stored && !a.lost) this.#transmit(stored.bytes, stored.frame);
        return;
      }
      case "comm-up":
        this.#startApi();
        this.#respawn.start();
        // the device check follows a reset decided in the same step, as Heartbeat's does
        if (this.#fencer) queueMicrotask(() => this.#fencer?.startStatusChecks());
        return;
      case "restart-required":
        // Heartbeat's mark_node_dead on itself: cause_shutdown_restart() unless a shutdown
        // is already under way (see restartProcedure). Heartbeat 3.0.6 reaches it only when
        // its master stops sending its own status while its loop runs (its own status is
        // processed when sent, not when it comes back): tests/no_local_heartbeat_test.ts
        // drives it on both implementations and records what each does.
        this.restartProcedure(`restart required: ${a.reason}`);
        return;
      case "clients-pause":
        this.#api?.pauseClients();
        return;
      case "clients-resume":
        this.#api?.resumeClients();
        return;
      case "exit":
        void this.shutdown();
        return;
      case "node-status":
      case "link-status":
      case "deliver":
        // for API clients (status/ifstat events, cluster messages, `respond-cstatus`):
        // #toClients after the batch; the resource side got them inside NodeCore
        return;
      case "node-restart":
      case "partition-healed":
        // for the ownership protocol, which NodeCore already fed (nothing to do in the shell)
        return;
      default: {
        const unknown: never = a;
        throw new Error(`unhandled core action ${JSON.stringify(unknown)}`);
      }
    }
  }

  /**
   * Signs, encodes and sends one message; keeps sequenced ones for retransmission. `lost`:
   * OnlyForTesting's xmitloss (Heartbeat's send_to_all_media sends nothing).
   */
  #send(msg: CoreMessage, seq: number | undefined, lost: boolean): void {
    // packet media get one netstring packet, serial lines one classic frame (wire.md §2.3)
    let bytes: Uint8Array | undefined;
    let frame: Uint8Array | undefined;
    try {
      if (this.#serialChannels.length < this.#plan.media.length) {
        bytes = this.#codec.encode(msg);
      }
      if (this.#serialChannels.length > 0) frame = this.#codec.encodeSerial(msg);
    } catch (e) {
      this.#log("ERROR", `cannot encode message ${msg.type}: ${e}`);
      return;
    }
    // Heartbeat feeds the watchdog when its own status goes through local (loopback)
    // processing, i.e. at each status it sends — also when no medium carries it (all
    // cut, or OnlyForTesting's xmitloss): only a stuck master starves it.
    if (this.#watchdog !== null && msg.type === "status") this.#watchdog.feed();
    if (seq !== undefined) {
      // keep the exact bytes for byte-identical retransmission (wire.md §6.3)
      this.#history.set(seq, { bytes, frame });
      this.#history.delete(seq - HISTORY_KEEP);
    }
    if (lost) return;
    this.#transmit(bytes, frame);
    if (msg.type === "status") this.#sendPings(msg.get("ts") ?? "");
  }

  /** Sends encoded bytes on every medium (serial media get the classic frame). */
  #transmit(bytes: Uint8Array | undefined, frame: Uint8Array | undefined): void {
    if (frame === undefined) {
      this.#workers.broadcast(bytes!);
    } else {
      this.#plan.media.forEach((m, ch) =>
        this.#workers.send(ch, m.type === "serial" ? frame : bytes!)
      );
    }
  }

  /**
   * With every status message, each ping medium gets its signed `NS_st`
   * payload, which its writer sends as ICMP echo requests (wire.md §7.6;
   * the split between master and worker is explained in workers/ping.ts).
   */
  #sendPings(ts: string): void {
    this.#plan.media.forEach((m, ch) => {
      if (!isPingSpec(m)) return;
      try {
        this.#workers.send(ch, this.#codec.encode(pingStatusMessage(m, ts)));
      } catch (e) {
        this.#log("ERROR", `cannot encode NS_st for ${m.type}: ${e}`);
      }
    });
  }

  #startApi(): void {
    if (!this.#api) return;
    try {
      this.#api.start();
    } catch (e) {
      this.#log("ERROR", `cannot open the API socket ${this.#plan.api?.socket}: ${e}`);
    }
  }

  /** Delivers what a batch of core actions means to API clients (api.md §5). */
  #toClients(actions: NodeCoreAction[]): void {
    const api = this.#api!;
    for (const m of apiEvents(actions, this.#clock.wallClock())) api.deliver(m);
    for (const a of actions) {
      if (a.type !== "deliver" || a.msg.type !== "query-cstatus") continue;
      const reply = api.answerStatusQuery(toWire(a.msg), a.from);
      if (reply) this.originate(toCore(reply));
    }
  }

  #fence(node: string): void {
    const done = () =>
      this.#feed({
        type: "fenced",
        ...this.#times(),
        node,
        result: "OK",
      });
    if (!this.#fencer) {
      done();
      return;
    }
    this.#fencer.fence(node, { mayHoldResources: true }, done);
  }

  #arm(): void {
    if (this.#stopping || this.#failed) return;
    const at = this.#core.nextDeadline();
    if (at === this.#timerAt && this.#timer !== undefined) return;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (!Number.isFinite(at)) return;
    // Whole milliseconds, rounded up: a timer's delay is truncated to an integer (WebIDL
    // `long`), so 999.7 would fire 0.7 ms before the deadline, the tick find nothing due and
    // a second timer (a second wake-up) follow a moment later.
    const delay = Math.max(0, Math.ceil(at - this.#clock.now()));
    this.#timer = this.#clock.setTimer(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#feed({
        type: "tick",
        ...this.#times(),
        loadavg: this.#parts.loadavg(),
      });
    }, delay);
  }
}
