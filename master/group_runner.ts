/**
 * The master's group runner: carries out the core's `run`, `monitor-check` and
 * `monitor-restart` actions, taking or releasing whole haresources groups one at a time
 * through the {@link ResourceManager}, logging as ResourceManager/mach_down do, and reports
 * each group's outcome back. (One script process is run by resources/script_exec.ts.)
 *
 * @module
 */

import { ResourceManager } from "../resources/manager.ts";
import type { ResourceGroup as RmGroup, ScriptLogger } from "../resources/types.ts";
import type { ResourceGroup as ConfigGroup } from "../config/haresources.ts";
import type { GroupOutcome, LogLine, OwnershipAction } from "../core/ownership/types.ts";

/**
 * A `run` action of the core, as the runner needs it (the core's own type, so a field added
 * there reaches the runner without a second definition).
 */
export type RunRequest = Omit<Extract<OwnershipAction, { type: "run" }>, "type" | "reason">;

/** One group's outcome. */
export interface GroupResult {
  /** Action id. */
  id: number;
  /** Group key. */
  key: string;
  /** What happened. */
  result: GroupOutcome;
  /** After a failed start: the standby class Heartbeat would request. */
  standby?: "local" | "foreign";
}

/** Maps config's haresources groups to the resource manager's shape. */
export function toRmGroups(groups: readonly ConfigGroup[]): RmGroup[] {
  return groups.filter((g) => g.key !== undefined).map((g) => ({
    node: g.node,
    line: g.text,
    key: g.key!,
    resources: g.resources,
  }));
}

/** Runs requests strictly one after another (Heartbeat runs one resource child at a time). */
export class GroupRunner {
  readonly #rm: ResourceManager;
  /** For health checks: the built-in agents' routine `Running OK` lines are not logged. */
  readonly #checker: ResourceManager;
  readonly #groups: Map<string, RmGroup>;
  readonly #logLine: (line: LogLine) => void;
  readonly #onResult: (r: GroupResult) => void;
  readonly #onBegin: ((id: number, key: string) => void) | undefined;
  readonly #onIdle: (() => void) | undefined;
  readonly #env: Record<string, string>;
  #chain: Promise<void> = Promise.resolve();
  #pending = 0;

  /** Creates the runner. */
  constructor(opts: {
    groups: readonly RmGroup[];
    logger: ScriptLogger;
    logLine: (line: LogLine) => void;
    onResult: (r: GroupResult) => void;
    /** Called when the scripts of one group of a run begin (observers: failover timelines). */
    onBegin?: (id: number, key: string) => void;
    /** Called each time the queue drains: nothing runs, nothing is queued. */
    onIdle?: () => void;
    env: Record<string, string>;
    resourceDir?: string;
  }) {
    this.#groups = new Map(opts.groups.map((g) => [g.key, g]));
    this.#rm = new ResourceManager({
      logger: opts.logger,
      env: opts.env,
      resourceDir: opts.resourceDir,
      // a hung script must not hold the cluster for ever: Heartbeat has no limit
      timeoutMs: 0,
    });
    this.#checker = new ResourceManager({
      logger: {
        script: (tag, prio, text) => {
          if (prio !== "" && prio !== "info" && prio !== "debug") {
            opts.logger.script(tag, prio, text);
          }
        },
        debug: (text) => opts.logger.debug(text),
      },
      env: opts.env,
      resourceDir: opts.resourceDir,
    });
    this.#env = opts.env;
    this.#logLine = opts.logLine;
    this.#onResult = opts.onResult;
    this.#onBegin = opts.onBegin;
    this.#onIdle = opts.onIdle;
  }

  /** One queued request has finished. */
  #done(): void {
    if (--this.#pending === 0) this.#onIdle?.();
  }

  /** Whether a run is in progress or queued. */
  get busy(): boolean {
    return this.#pending > 0;
  }

  /** Queues a request; results are reported through `onResult` per key. */
  enqueue(req: RunRequest): Promise<void> {
    this.#pending++;
    this.#chain = this.#chain.then(() => this.#run(req)).catch((e) =>
      // #run reports script failures itself; this is a bug in the runner: logged, the queue
      // goes on with the next request
      this.#logLine({
        prio: "ERROR",
        text: `resource run ${req.op} ${req.keys.join(" ")} failed: ${
          e instanceof Error ? e.stack : e
        }`,
        tag: "heartbeat",
      })
    ).finally(() => {
      this.#done();
    });
    return this.#chain;
  }

  /**
   * One health check of resource `index` of group `key` (not queued: the core only asks while
   * no run is in progress, and drops a result that comes after one started).
   */
  async check(
    key: string,
    index: number,
    timeoutMs: number,
  ): Promise<{ ok: boolean; timedOut: boolean; detail: string; elapsedMs: number }> {
    const r = this.#groups.get(key)?.resources[index];
    if (r === undefined) {
      return {
        ok: false,
        timedOut: false,
        detail: `no resource ${index} in group ${key}`,
        elapsedMs: 0,
      };
    }
    return await this.#checker.check(r, timeoutMs, this.#env);
  }

  /**
   * Queues the restart of resources `index..` of group `key` behind any run (one resource
   * script at a time, as always); resolves with its outcome.
   */
  restart(key: string, index: number): Promise<{ ok: boolean; detail: string }> {
    this.#pending++;
    const done = this.#chain.then(async () => {
      const g = this.#groups.get(key);
      if (g === undefined) return { ok: false, detail: `no resource group with key ${key}` };
      try {
        return await this.#rm.restartFrom(g, index, this.#env);
      } catch (e) {
        return { ok: false, detail: e instanceof Error ? e.message : String(e) };
      }
    });
    this.#chain = done.then(() => {}, () => {}).finally(() => {
      this.#done();
    });
    return done;
  }

  /**
   * Announces the released addresses of `group` for the node that keeps them, in the
   * background (finding that node takes up to a second or two; the queue does not wait).
   */
  #announceForHolder(group: RmGroup, env: Record<string, string>): void {
    this.#rm.announceForHolder(group, env).catch((e) =>
      this.#logLine({
        prio: "ERROR",
        text: `resource group ${group.key}: announcing its addresses for their holder: ${
          e instanceof Error ? e.message : e
        }`,
        tag: "heartbeat",
      })
    );
  }

  async #run(req: RunRequest): Promise<void> {
    for (const l of req.before ?? []) this.#logLine(l);
    for (const key of req.keys) {
      for (const l of req.announce?.[key] ?? []) this.#logLine(l);
      const group = this.#groups.get(key);
      if (!group) {
        this.#logLine({
          prio: "ERROR",
          text: `No resource group with key ${key}`,
          tag: "heartbeat",
        });
        this.#onResult({
          id: req.id,
          key,
          result: req.op === "take" ? "start-failed" : "released",
        });
        continue;
      }
      this.#onBegin?.(req.id, key);
      try {
        if (req.op === "announce") {
          await this.#rm.announceGroup(group, req.env);
          this.#onResult({ id: req.id, key, result: "started" });
        } else if (req.op === "take") {
          const r = await this.#rm.takeGroup(group, req.env);
          this.#onResult({
            id: req.id,
            key,
            result: r.ok ? "started" : "start-failed",
            standby: r.standby,
          });
        } else {
          const r = await this.#rm.giveGroup(group, req.env);
          if (req.announceHolder && !r.rebootRequired) this.#announceForHolder(group, req.env);
          this.#onResult({
            id: req.id,
            key,
            result: r.rebootRequired ? "stop-failed" : "released",
          });
        }
      } catch (e) {
        this.#logLine({
          prio: "ERROR",
          text: `resource group ${key}: ${e instanceof Error ? e.message : e}`,
          tag: "heartbeat",
        });
        this.#onResult({
          id: req.id,
          key,
          result: req.op === "take"
            ? "start-failed"
            : req.op === "announce"
            ? "started"
            : "stop-failed",
        });
      }
    }
  }
}
