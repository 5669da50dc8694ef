/**
 * systemd integration of the master (`Type=notify`, see packaging/heartbeat.service): when
 * `NOTIFY_SOCKET` is set the master tells systemd
 *
 * - `READY=1` once its main loop runs (also after a quick restart's exec: same pid), with
 *   `WATCHDOG_USEC=` as configured when the watchdog is on,
 * - `RELOADING=1` (with `MONOTONIC_USEC=`) when a reload starts (`heartbeat -r`, SIGHUP) and
 *   `READY=1` when it is over,
 * - `STOPPING=1` when the shutdown starts,
 * - before the daemon re-executes itself, `WATCHDOG_USEC=` stretched over the time the exec
 *   and the new image's start take (no ping is sent meanwhile); for the shutdown-and-restart
 *   procedure ("No local heartbeat") from its start, over the resource release too, as the
 *   `watchdog` device is closed then,
 * - `STATUS=<summary>` when the one-line summary changes (checked at most once a second):
 *   local status, peers, links up, groups held,
 * - `WATCHDOG=1` when `WATCHDOG_USEC` is set (and `WATCHDOG_PID` is unset or ours), fed by the
 *   same rule as the `watchdog` device (master/watchdog.ts): only from the sending of our own
 *   status, never from a timer of its own, so a stuck master starves it. A ping is sent at
 *   the first status sent after `WATCHDOG_USEC/2 - keepalive` (at least `WATCHDOG_USEC/4`)
 *   since the previous one: while heartbeats go out, two pings are never more than
 *   `WATCHDOG_USEC/2` apart.
 *
 * A notification that cannot be sent is logged once (then at debug level): systemd going away
 * must never disturb the cluster.
 *
 * @module
 */

import type { NodeCoreAction, NodeCoreEvent } from "../core/node_core.ts";
import type { HbCore } from "../core/core.ts";
import type { Priority } from "../core/types.ts";
import { monotonicUsec, SdNotifier, watchdogUsecFromEnv } from "../sys/sd_notify.ts";
import type { RuntimeObserver } from "./observe.ts";
import { SHUTDOWN_LIMIT_MS } from "./runtime.ts";

/** Time a re-executed image may take to send its `READY=1` (added to a stretched watchdog). */
export const RESTART_SLACK_MS = 30_000;

/** What the summary is made of (the runtime fits). */
export interface SummarySource {
  /** The membership core. */
  readonly core: HbCore;
  /** What this node holds (undefined without resource management). */
  heldState(): { held: string; holding: string[] } | undefined;
}

/** Options of {@link SystemdNotify}. */
export interface SystemdNotifyOptions {
  /** The notifier (default: from `NOTIFY_SOCKET`; null: none). */
  notifier?: SdNotifier | null;
  /** Watchdog interval in ms (default: from `WATCHDOG_USEC`/`WATCHDOG_PID`). */
  watchdogMs?: number;
  /** Our keepalive in ms (how often our status is sent). */
  keepaliveMs: number;
  /** Our node name. */
  nodeName: string;
  /** Link names, in ha.cf order. */
  links: readonly string[];
  /** Logging. */
  log: (prio: Priority, text: string) => void;
  /** Clock in ms (default `performance.now`). */
  now?: () => number;
}

/**
 * The one-line summary for `STATUS=`, e.g.
 * `node1 active; peers: node2 active (2/2 links up); holding: all [IPaddr::198.18.0.101]`.
 */
export function statusSummary(
  src: SummarySource,
  nodeName: string,
  links: readonly string[],
): string {
  const core = src.core;
  const peers: string[] = [];
  for (const n of core.nodeNames()) {
    const st = core.nodeStatus(n);
    if (n === nodeName || st === "ping") continue;
    const up = links.filter((l) => core.linkStatus(n, l) === "up").length;
    peers.push(`${n} ${st} (${up}/${links.length} links up)`);
  }
  const parts = [`${nodeName} ${core.localStatus}`];
  parts.push(`peers: ${peers.length > 0 ? peers.join(", ") : "none"}`);
  const held = src.heldState();
  if (held !== undefined) {
    parts.push(
      `holding: ${held.held}${held.holding.length > 0 ? ` [${held.holding.join(", ")}]` : ""}`,
    );
  }
  return parts.join("; ");
}

/** The master's systemd notifications. */
export class SystemdNotify implements RuntimeObserver {
  readonly #notifier: SdNotifier | null;
  readonly #watchdogMs: number | undefined;
  readonly #minGapMs: number;
  readonly #links: readonly string[];
  readonly #nodeName: string;
  readonly #log: (prio: Priority, text: string) => void;
  readonly #now: () => number;
  #source: SummarySource | undefined;
  #lastStatus = "";
  #lastStatusCheck = -Infinity;
  #lastPing = -Infinity;
  #failures = 0;

  /** Reads the environment; does nothing at all when `NOTIFY_SOCKET` is unset. */
  constructor(opts: SystemdNotifyOptions) {
    this.#notifier = opts.notifier !== undefined ? opts.notifier : SdNotifier.fromEnv();
    this.#watchdogMs = this.#notifier === null
      ? undefined
      : (opts.watchdogMs ?? watchdogUsecFromEnv());
    const half = (this.#watchdogMs ?? 0) / 2;
    this.#minGapMs = Math.max(half - opts.keepaliveMs, half / 2);
    this.#links = opts.links;
    this.#nodeName = opts.nodeName;
    this.#log = opts.log;
    this.#now = opts.now ?? (() => performance.now());
    if (this.#watchdogMs !== undefined && opts.keepaliveMs >= half) {
      this.#log(
        "WARN",
        `systemd watchdog: WatchdogSec (${this.#watchdogMs} ms) is shorter than twice the ` +
          `keepalive (${opts.keepaliveMs} ms): pings follow our heartbeats and will be late`,
      );
    }
  }

  /** True when systemd listens (`NOTIFY_SOCKET` set). */
  get enabled(): boolean {
    return this.#notifier !== null;
  }

  /** The watchdog interval in ms, when systemd asked for one. */
  get watchdogMs(): number | undefined {
    return this.#watchdogMs;
  }

  /** The main loop runs: `READY=1` with the current summary. */
  ready(source: SummarySource): void {
    this.#source = source;
    this.#lastStatus = statusSummary(source, this.#nodeName, this.#links);
    this.#lastStatusCheck = this.#now();
    // the watchdog timeout as configured (a restart before this image may have stretched it)
    const wd = this.#watchdogMs !== undefined
      ? `\nWATCHDOG_USEC=${Math.round(this.#watchdogMs * 1000)}`
      : "";
    this.#send(`READY=1\nSTATUS=${this.#lastStatus}${wd}`);
  }

  /**
   * The daemon will re-execute itself (a quick restart, or the shutdown-and-restart procedure)
   * within `withinMs`, sending no ping meanwhile: the watchdog timeout is stretched by that much
   * (`WATCHDOG_USEC=`); the new image restores it with its `READY=1`.
   */
  restarting(withinMs: number): void {
    const lines = ["STATUS=restarting"];
    if (this.#watchdogMs !== undefined) {
      lines.unshift(`WATCHDOG_USEC=${Math.round((this.#watchdogMs + withinMs) * 1000)}`);
    }
    this.#send(lines.join("\n"));
  }

  /** A reload starts. */
  reloading(): void {
    this.#send(`RELOADING=1\nMONOTONIC_USEC=${monotonicUsec()}`);
  }

  /** A reload is over (the daemon goes on). */
  reloaded(): void {
    const status = this.#source
      ? statusSummary(this.#source, this.#nodeName, this.#links)
      : this.#lastStatus;
    this.#lastStatus = status;
    this.#send(`READY=1\nSTATUS=${status}`);
  }

  /** The shutdown starts (`what` says which, for `STATUS=`). */
  stopping(what = "stopping: releasing resources"): void {
    this.#send(`STOPPING=1\nSTATUS=${what}`);
  }

  /** Observer of the runtime: watchdog pings and summary updates. */
  step(_ev: NodeCoreEvent, actions: readonly NodeCoreAction[]): void {
    if (this.#notifier === null) return;
    const now = this.#now();
    // the shutdown-and-restart procedure ("No local heartbeat"): like the `watchdog` device,
    // closed when the resource release starts, systemd's watchdog is held off until the new
    // image is up (the release may take up to the shutdown limit)
    if (actions.some((a) => a.type === "restart-required")) {
      this.restarting(SHUTDOWN_LIMIT_MS + RESTART_SLACK_MS);
    }
    // pings start with READY=1 (the main loop runs)
    if (
      this.#source !== undefined && this.#watchdogMs !== undefined &&
      now - this.#lastPing >= this.#minGapMs
    ) {
      // the rule of master/watchdog.ts: each status of ours that is sent feeds it
      if (actions.some((a) => a.type === "send" && a.msg.type === "status")) {
        this.#lastPing = now;
        this.#send("WATCHDOG=1");
      }
    }
    if (this.#source !== undefined && now - this.#lastStatusCheck >= 1000) {
      this.#lastStatusCheck = now;
      const status = statusSummary(this.#source, this.#nodeName, this.#links);
      if (status !== this.#lastStatus) {
        this.#lastStatus = status;
        this.#send(`STATUS=${status}`);
      }
    }
  }

  /** Closes the socket. */
  close(): void {
    this.#notifier?.close();
  }

  #send(state: string): void {
    if (this.#notifier === null) return;
    try {
      this.#notifier.send(state);
      this.#failures = 0;
    } catch (e) {
      this.#failures++;
      const text = `systemd notification to ${this.#notifier.socket} failed (${
        state.split("\n")[0]
      }): ${e instanceof Error ? e.message : e}`;
      this.#log(this.#failures === 1 ? "WARN" : "debug", text);
    }
  }
}
