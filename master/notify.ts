/**
 * Event hooks (hb.cf `notify PATH`, repeatable): every event the core reports (a `notify`
 * action) runs each program, in hb.cf order, one run at a time and in event order, in the
 * background: the daemon never waits for a hook. Each run has a time limit after which its
 * process group is killed; a failure (exit status, time limit, exec error) is logged and
 * changes nothing else. Context is in the environment (README "Event hooks"): `HB_EVENT`,
 * `HB_NODE`, `HB_GROUP`, `HB_RESOURCE`, `HB_FROM`, `HB_TO`, `HB_REASON`, `HB_ELAPSED_MS`,
 * `HB_TIMESTAMP` (unset fields are empty).
 *
 * @module
 */

import type { NotifyEvent } from "../core/monitor.ts";
import type { Priority } from "../core/types.ts";
import { runScript } from "../resources/script_exec.ts";

/** Time limit of one hook run. */
export const NOTIFY_TIMEOUT_MS = 10_000;

/** Events waiting beyond which new ones are dropped (and the drop logged). */
export const NOTIFY_QUEUE_LIMIT = 1000;

/** The environment of one hook run for `ev` at wall-clock time `wallClock` (ms). */
export function notifyEnv(ev: NotifyEvent, wallClock: number): Record<string, string> {
  return {
    HB_EVENT: ev.event,
    HB_NODE: ev.node,
    HB_GROUP: ev.group ?? "",
    HB_RESOURCE: ev.resource ?? "",
    HB_FROM: ev.from ?? "",
    HB_TO: ev.to ?? "",
    HB_REASON: ev.reason ?? "",
    HB_ELAPSED_MS: ev.elapsedMs !== undefined ? String(Math.round(ev.elapsedMs)) : "",
    HB_TIMESTAMP: new Date(wallClock).toISOString(),
  };
}

/** Runs the hooks of the events, in order, in the background. */
export class NotifyRunner {
  readonly #paths: readonly string[];
  readonly #env: Record<string, string>;
  readonly #log: (prio: Priority, text: string) => void;
  readonly #timeoutMs: number;
  #queue: { ev: NotifyEvent; wall: number }[] = [];
  #running: Promise<void> | undefined;
  #dropped = 0;

  /** Hooks `paths` (absolute), environment `env` plus the HB_* variables of each event. */
  constructor(opts: {
    paths: readonly string[];
    env: Record<string, string>;
    log: (prio: Priority, text: string) => void;
    timeoutMs?: number;
  }) {
    this.#paths = opts.paths;
    // the daemon's children's environment (HA_*), with a PATH when the daemon had none
    this.#env = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...opts.env };
    this.#log = opts.log;
    this.#timeoutMs = opts.timeoutMs ?? NOTIFY_TIMEOUT_MS;
  }

  /** Queues the hooks of `ev` (returns at once). */
  emit(ev: NotifyEvent, wallClock: number): void {
    if (this.#paths.length === 0) return;
    if (this.#queue.length >= NOTIFY_QUEUE_LIMIT) {
      if (this.#dropped++ === 0) {
        this.#log(
          "WARN",
          `notify: ${NOTIFY_QUEUE_LIMIT} events waiting: event ${ev.event} dropped`,
        );
      }
      return;
    }
    this.#queue.push({ ev, wall: wallClock });
    this.#running ??= this.#drain().finally(() => this.#running = undefined);
  }

  /** Resolves when every queued hook has run. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #drain(): Promise<void> {
    for (;;) {
      const next = this.#queue.shift();
      if (next === undefined) break;
      if (this.#dropped > 0 && this.#queue.length === 0) {
        this.#log("WARN", `notify: ${this.#dropped} event(s) were dropped (queue full)`);
        this.#dropped = 0;
      }
      const env = { ...this.#env, ...notifyEnv(next.ev, next.wall) };
      for (const path of this.#paths) {
        try {
          const r = await runScript(path, [], { env, timeoutMs: this.#timeoutMs });
          if (r.spawnError !== undefined) {
            this.#log("ERROR", `notify ${path} (${next.ev.event}): cannot run: ${r.spawnError}`);
          } else if (r.timedOut) {
            this.#log(
              "ERROR",
              `notify ${path} (${next.ev.event}): killed after ${this.#timeoutMs} ms (time limit)`,
            );
          } else if (r.code !== 0) {
            const err = r.stderr.trim().split("\n").at(-1) ?? "";
            this.#log(
              "ERROR",
              `notify ${path} (${next.ev.event}): exit ${r.code}${err !== "" ? `: ${err}` : ""}`,
            );
          }
        } catch (e) {
          this.#log(
            "ERROR",
            `notify ${path} (${next.ev.event}): ${e instanceof Error ? e.message : e}`,
          );
        }
      }
    }
  }
}
