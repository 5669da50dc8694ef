/**
 * The outside parts of the master ({@link MasterRuntime} in master/runtime.ts) as small
 * interfaces, and {@link productionParts}, the one factory that builds the real ones: the
 * core workers' supervisor, the group runner, the STONITH fencer, the client API server, the
 * notify hooks, the respawned clients, the watchdog, the realtime settings and the clock. A
 * unit test passes fakes instead (master/runtime_test.ts).
 *
 * @module
 */

import type { HbCore } from "../core/core.ts";
import type { Priority } from "../core/types.ts";
import { CoreMessage } from "../core/message.ts";
import type { LogLine } from "../core/ownership/types.ts";
import type { MonitorState } from "../core/monitor.ts";
import type { ApiResourceStatus } from "../api/backend.ts";
import { ApiServer } from "../api/server.ts";
import { Fencer } from "../stonith/fencer.ts";
import { debugRaw, getDebugLevel, scriptLog } from "../logging/mod.ts";
import { applyRealtime, REALTIME_ENV, type RealtimeSetupConfig } from "../sys/realtime_setup.ts";
import type { MediumSpec } from "../workers/media_spec.ts";
import { MasterApiBackend } from "./api_backend.ts";
import { type GroupResult, GroupRunner } from "./group_runner.ts";
import { trimHeap } from "../sys/memory.ts";
import { NotifyRunner } from "./notify.ts";
import { RespawnSupervisor } from "./respawn.ts";
import { Supervisor } from "./supervisor.ts";
import type { WaitLoop } from "./wait_loop.ts";
import { ECHO_FILTER } from "../workers/echo_filter.ts";
import { ownEchoSpacingMs } from "../core/own_echo.ts";
import { Watchdog } from "./watchdog.ts";
import { scriptPrio } from "./runtime_hooks.ts";
import type { RuntimeLog, RuntimePlan } from "./runtime_plan.ts";

/** The core workers (HBFIFO, HBREAD/HBWRITE per medium): {@link Supervisor}. */
export type WorkersPart = Pick<Supervisor, "start" | "stop" | "broadcast" | "send" | "notifyAll">;
/** The runner of the core's `run` and monitor actions: {@link GroupRunner}. */
export type GroupRunnerPart = Pick<GroupRunner, "enqueue" | "check" | "restart">;
/** STONITH: {@link Fencer}. */
export type FencerPart = Pick<Fencer, "fence" | "stop" | "startStatusChecks">;
/** The client API server: {@link ApiServer}. */
export type ApiPart = Pick<
  ApiServer,
  | "start"
  | "stop"
  | "running"
  | "connectionCount"
  | "pauseClients"
  | "resumeClients"
  | "deliver"
  | "answerStatusQuery"
>;
/** hb.cf `notify` hooks: {@link NotifyRunner}. */
export type NotifyPart = Pick<NotifyRunner, "emit" | "idle">;
/** `respawn` / `failfast` clients: {@link RespawnSupervisor}. */
export type RespawnPart = Pick<RespawnSupervisor, "start" | "stop">;
/** An open watchdog device: {@link Watchdog}. */
export type WatchdogPart = Pick<Watchdog, "feed" | "close">;

/** A timer's id ({@link Clock.setTimer}). */
export type TimerId = ReturnType<typeof setTimeout>;

/** Time as the master sees it: the monotonic clock, the wall clock and timers. */
export interface Clock {
  /** Monotonic milliseconds (the core's `now`). */
  now(): number;
  /** Wall-clock milliseconds since the epoch (the core's `wallClock`). */
  wallClock(): number;
  /** Runs `fn` after `ms` milliseconds; returns the timer's id. */
  setTimer(fn: () => void, ms: number): TimerId;
  /** Cancels a timer of {@link setTimer}. */
  clearTimer(id: TimerId): void;
}

/** Everything outside the core the runtime talks to. */
export interface RuntimeParts {
  /** Time. */
  clock: Clock;
  /** The core workers. */
  workers: WorkersPart;
  /** The group runner (absent without resource management). */
  runner?: GroupRunnerPart;
  /** STONITH (absent without a device for this node). */
  fencer?: FencerPart;
  /** The client API server (absent without an API). */
  api?: ApiPart;
  /** hb.cf `notify` hooks. */
  notify: NotifyPart;
  /** Respawned clients. */
  respawn: RespawnPart;
  /** Opens the `watchdog` device (null when it cannot be opened; the master runs without). */
  openWatchdog(device: string, deadtimeMs: number): WatchdogPart | null;
  /** Applies `realtime` / `rtprio` / `memreserve` to the master process. */
  applyRealtime(config: RealtimeSetupConfig): void;
  /** The system's load average line (`/proc/loadavg`), for the core's start and ticks. */
  loadavg(): string;
  /** Debug level above 0 (`-d`, `debug`): extra log lines. */
  debugging(): boolean;
}

/** What the parts call back into the runtime. */
export interface RuntimeHost {
  /** The runtime's log. */
  log: RuntimeLog;
  /** A packet arrived on medium channel `channel`. */
  onPacket(channel: number, bytes: Uint8Array): void;
  /** A message arrived from the FIFO. */
  onFifo(bytes: Uint8Array): void;
  /** A core process died and could not be restarted. */
  onUnrecoverable(): void;
  /** The group runner begins group `key` of run `id`. */
  onGroupBegin(id: number, key: string): void;
  /** One group's outcome. */
  onGroupResult(r: GroupResult): void;
  /** A resource-manager log line. */
  logLine(l: LogLine): void;
  /** Sends a message from this node to the cluster. */
  originate(msg: CoreMessage): void;
  /** The membership core (API queries). */
  membership(): HbCore;
  /** The `rscstatus` answer. */
  resourceStatus(): ApiResourceStatus;
  /** The `heartbeat status` document as JSON. */
  statusDocument(): string;
  /** The monitors' states. */
  monitorStates(): { now: number; states: MonitorState[] };
  /** Operator cleanup of monitor failure counts; the resources cleared. */
  monitorCleanup(resource?: string): string[];
}

/** The real clock: `performance.now()`, `Date.now()`, `setTimeout`. */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallClock: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (id) => clearTimeout(id),
};

/**
 * Builds the production parts of a runtime for `plan`, calling back into `host`; `loop` is the
 * master's wait (master/wait_loop.ts), which reads and writes the workers' channels.
 */
export function productionParts(
  plan: RuntimePlan,
  host: RuntimeHost,
  loop?: WaitLoop,
): RuntimeParts {
  const log = host.log;
  const runner = plan.resources
    ? new GroupRunner({
      groups: plan.resources.rmGroups,
      resourceDir: plan.resources.resourceDir,
      env: plan.env ?? {},
      logger: {
        script: (tag, prio, text) => scriptLog(tag, prio === "" ? null : scriptPrio(prio), text),
        debug: (text) => debugRaw(text),
      },
      logLine: (l) => host.logLine(l),
      onBegin: (id, key) => host.onGroupBegin(id, key),
      onResult: (r) => host.onGroupResult(r),
      // what the scripts' runs allocated goes back to the kernel (sys/memory.ts)
      onIdle: () => trimHeap("resource scripts done", (t) => log("debug", t)),
    })
    : undefined;
  const fencer = plan.stonith
    ? new Fencer({
      device: plan.stonith,
      log: (prio, text, opts) => log(prio as Priority, text, opts),
      onResult: (node, result) => {
        // the ownership layer reports OK itself; tell the cluster about failures
        if (result !== "OK") host.originate(stonithMessage(node, result));
      },
    })
    : undefined;
  return {
    clock: systemClock,
    workers: new Supervisor(plan.media, plan.fifo, {
      loop,
      log: (prio, text, opts) => log(prio as Priority, text, opts),
      onPacket: (ch, bytes) => host.onPacket(ch, bytes),
      onFifo: (bytes) => host.onFifo(bytes),
      // Heartbeat's CoreProcessDied `restart:` label: cause_shutdown_restart()
      onUnrecoverable: () => host.onUnrecoverable(),
      // one own status echo per half dead interval is all the master needs (core/own_echo.ts)
      readerControl: {
        t: ECHO_FILTER,
        src: plan.core.nodeName,
        spacingMs: ownEchoSpacingMs(plan.core.keepaliveMs, plan.core.deadtimeMs),
      },
      // the workers apply the realtime settings themselves (workers/mod.ts)
      env: plan.realtime
        ? { ...plan.env, [REALTIME_ENV]: JSON.stringify(plan.realtime) }
        : plan.env,
    }),
    runner,
    fencer,
    api: plan.api ? apiServer(plan, host, loop) : undefined,
    notify: new NotifyRunner({
      paths: plan.notify ?? [],
      env: plan.env ?? {},
      log: (prio, text) => log(prio, text),
    }),
    respawn: new RespawnSupervisor(plan.clients ?? [], {
      log: (prio, text, opts) => log(prio, text, opts),
      env: plan.env,
    }),
    openWatchdog: (device, deadtimeMs) =>
      Watchdog.open(device, deadtimeMs, (prio, text) => log(prio, text), () => getDebugLevel() > 0),
    applyRealtime: (config) => applyRealtime(config, "master", (prio, text) => log(prio, text)),
    loadavg,
    debugging: () => getDebugLevel() > 0,
  };
}

/** The `t=stonith` message that tells the cluster a fencing attempt failed. */
function stonithMessage(node: string, result: string): CoreMessage {
  return CoreMessage.of({ t: "stonith", node, result });
}

/** The client API server with the master's backend. */
function apiServer(plan: RuntimePlan, host: RuntimeHost, loop?: WaitLoop): ApiServer {
  const api = plan.api!;
  const backend = new MasterApiBackend(
    api.backend,
    () => host.membership(),
    (msg) => host.originate(msg),
    () => host.resourceStatus(),
    () => host.statusDocument(),
    {
      failures: () => {
        const m = host.monitorStates();
        return JSON.stringify({
          node: plan.core.nodeName,
          states: m.states.map((x) => ({
            ...x,
            ...(x.heldBackUntil !== undefined
              ? { heldBackMs: Math.round(x.heldBackUntil - m.now) }
              : {}),
            heldBackUntil: undefined,
          })),
        });
      },
      cleanup: (resource) => {
        const all = host.monitorStates().states.map((x) => x.resource);
        if (all.length === 0) return { ok: false, info: "no monitor configured (hb.cf)" };
        const cleared = host.monitorCleanup(resource);
        if (cleared.length === 0) {
          return { ok: false, info: `no monitor for ${resource}; monitored: ${all.join(" ")}` };
        }
        return { ok: true, cleared };
      },
    },
  );
  let pollerFd: number | undefined;
  return new ApiServer({
    path: api.socket,
    backend,
    onPoller: (fd) => {
      if (pollerFd !== undefined) loop?.unwakeOn(pollerFd);
      pollerFd = fd;
      if (fd !== undefined) loop?.wakeOn(fd);
    },
    log: (prio, text) =>
      host.log(prio === "error" ? "ERROR" : prio === "warn" ? "WARN" : prio, text),
  });
}

/** First line of /proc/loadavg without the newline, or "n/a". */
function loadavg(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").trim();
  } catch {
    // not Linux or /proc not mounted: the core logs the load average as text only
    return "n/a";
  }
}

/** Media channels (ha.cf order) that are serial lines. */
export function serialChannels(media: readonly MediumSpec[]): number[] {
  return media.flatMap((m, ch) => m.type === "serial" ? [ch] : []);
}
