/**
 * STONITH in the master (config-and-cli.md §7.10, §6.6.16; behavior.md §6.6): resetting a
 * dead node before its resources are taken over, retried every 5 s until it works, and the
 * device status check at comm-up and every hour.
 *
 * Each reset and each status check runs in a helper process (our own entry point,
 * `main.ts __stonith <request>`, see stonith/helper.ts), like Heartbeat's forked
 * `Initiate_Reset()` child: plugins block for seconds (meatware: until an operator answers),
 * and the master's event loop — heartbeats, the watchdog — must never wait for them. The
 * helper's lines are logged with the helper's pid; the master logs the process-tracking line
 * (`Managed STONITH node2 process 472 exited with return code 0.`) and decides.
 *
 * @module
 */

import { describeExit } from "../sys/signals.ts";
import { selfCommand } from "../sys/self_exec.ts";
import {
  chooseBackend,
  DEFAULT_PLUGIN_DIR,
  DEFAULT_RUN_DIR,
  findStonithCommand,
} from "./devices.ts";
import type {
  HelperLogRecord,
  HelperRequest,
  StonithBackend,
  StonithDeviceSpec,
  StonithLog,
  StonithResult,
} from "./types.ts";

/** The fields of the configuration's `StonithConfig` (config/types.ts) the fencer reads. */
export interface FencerDeviceConfig {
  /** Plugin type. */
  type: string;
  /** Plugin parameters (`stonith_host`), or the parameter line of the file (`stonith`). */
  params?: string[];
  /** `stonith <type> <file>`: the parameter file. */
  configFile?: string;
}

/** Options of {@link Fencer}. */
export interface FencerOptions {
  /** The applicable device (ha.cf `stonith` / `stonith_host`), undefined when none. */
  device?: FencerDeviceConfig;
  /** Logging (Heartbeat's words; `pid` for helper lines, `glib` for plugin lines). */
  log: StonithLog;
  /**
   * Called with the outcome to announce as `t=stonith node=<node> result=<result>`
   * (the master originates that message): `unneeded`, `n_stnth`, and after every reset
   * attempt `OK`, `badhost` or `bad` (none when the helper was killed by a signal).
   */
  onResult?: (node: string, result: StonithResult) => void;
  /** Delay before retrying a failed reset (Heartbeat: 5000 ms). */
  retryIntervalMs?: number;
  /** Delay between status checks, counted from the end of the previous one (3600000 ms). */
  statusIntervalMs?: number;
  /** `auto` (default; see stonith/devices.ts), or force `builtin` / `cluster-glue`. */
  backend?: "auto" | StonithBackend;
  /** cluster-glue's `stonith` program (default: found on PATH or /usr/sbin/stonith). */
  stonithCommand?: string | null;
  /** cluster-glue plugin root (default /usr/lib/stonith/plugins). */
  pluginDir?: string;
  /** Scripts of the built-in `external/<name>` device (default `<pluginDir>/external`). */
  externalDir?: string;
  /** Run directory for the meatware FIFOs (default /var/run). */
  runDir?: string;
  /** Seconds the built-in meatware device waits for its operator (600). */
  meatwareTimeoutSec?: number;
  /** Ping attempts of the built-in ssh device (15). */
  sshPingAttempts?: number;
  /** argv that starts a helper with these arguments (default: {@link selfCommand}). */
  helperCommand?: (args: string[]) => string[];
  /** Extra environment for helpers. */
  env?: Record<string, string>;
}

/** What {@link Fencer.fence} did. */
export type FenceOutcome =
  /** The node held nothing: `Dead node <node> gave up resources.`, no reset. */
  | "unneeded"
  /** No device: the two WARN lines; `onFenced` has already been called. */
  | "unprotected"
  /** A reset helper was started; `onFenced` follows its success. */
  | "started"
  /** A reset of that node is already under way; `onFenced` was added to it. */
  | "pending";

interface Pending {
  node: string;
  callbacks: (() => void)[];
  timer?: ReturnType<typeof setTimeout>;
  child?: Deno.ChildProcess;
  attempts: number;
}

const DEFAULT_RETRY_MS = 5_000;
const DEFAULT_STATUS_MS = 3_600_000;

/**
 * Fencing for the master. Construct once from the configuration; call {@link fence} when a
 * node is declared dead, {@link startStatusChecks} at comm-up, {@link stop} at shutdown.
 */
export class Fencer {
  readonly #opts: FencerOptions;
  readonly #device: StonithDeviceSpec | undefined;
  readonly #backend: StonithBackend | undefined;
  readonly #stonithCommand: string;
  readonly #pending = new Map<string, Pending>();
  readonly #children = new Set<Deno.ChildProcess>();
  readonly #work = new Set<Promise<void>>();
  #statusTimer: ReturnType<typeof setTimeout> | undefined;
  #statusRunning = false;
  #statusStarted = false;
  #stopped = false;

  /** Prepares fencing; nothing runs until {@link fence} or {@link startStatusChecks}. */
  constructor(opts: FencerOptions) {
    this.#opts = opts;
    const cmd = opts.stonithCommand === undefined ? findStonithCommand() : opts.stonithCommand;
    this.#stonithCommand = cmd ?? "stonith";
    if (opts.device) {
      this.#device = {
        type: opts.device.type,
        params: opts.device.params ?? [],
        ...(opts.device.configFile !== undefined ? { configFile: opts.device.configFile } : {}),
      };
      this.#backend = chooseBackend({
        type: opts.device.type,
        prefer: opts.backend ?? "auto",
        stonithCommand: cmd,
        pluginDir: opts.pluginDir ?? DEFAULT_PLUGIN_DIR,
      });
    }
  }

  /** True when a device is configured. */
  get configured(): boolean {
    return this.#device !== undefined;
  }

  /** How the device is driven (undefined without a device). */
  get backend(): StonithBackend | undefined {
    return this.#backend;
  }

  /** Nodes whose reset is under way (running or waiting for the next try). */
  get fencing(): string[] {
    return [...this.#pending.keys()];
  }

  /** True while a reset of `node` is under way: its takeover must wait. */
  isFencing(node: string): boolean {
    return this.#pending.has(node);
  }

  /**
   * A node was declared dead. `mayHoldResources` is the master's decision (Heartbeat: the
   * node was never heard from, or its last report said it holds resources).
   *
   * - false: logs `info: Dead node <node> gave up resources.`, reports `unneeded`, returns
   *   `"unneeded"`; `onFenced` is not called (the caller continues as Heartbeat does).
   * - no device: reports `n_stnth`, logs `WARN: No STONITH device configured.` and
   *   `WARN: Shared disks are not protected.`, calls `onFenced` at once, returns
   *   `"unprotected"`.
   * - otherwise starts the reset helper and returns `"started"` (`"pending"` if one for that
   *   node is already under way); `onFenced` is called only after a reset succeeded — failed
   *   attempts are retried every {@link FencerOptions.retryIntervalMs} forever.
   */
  fence(
    node: string,
    opts: { mayHoldResources: boolean },
    onFenced: () => void = () => {},
  ): FenceOutcome {
    if (!opts.mayHoldResources) {
      this.#opts.log("info", `Dead node ${node} gave up resources.`);
      this.#opts.onResult?.(node, "unneeded");
      return "unneeded";
    }
    if (this.#device === undefined) {
      this.#opts.onResult?.(node, "n_stnth");
      this.#opts.log("WARN", "No STONITH device configured.");
      this.#opts.log("WARN", "Shared disks are not protected.");
      onFenced();
      return "unprotected";
    }
    const existing = this.#pending.get(node);
    if (existing) {
      existing.callbacks.push(onFenced);
      return "pending";
    }
    if (this.#stopped) return "pending";
    const p: Pending = { node, callbacks: [onFenced], attempts: 0 };
    this.#pending.set(node, p);
    this.#attempt(p);
    return "started";
  }

  /**
   * Starts the device status checks (call at comm-up): one now, then one every
   * {@link FencerOptions.statusIntervalMs} after the previous ended. No-op without a device
   * or when already started.
   */
  startStatusChecks(): void {
    if (this.#device === undefined || this.#statusStarted || this.#stopped) return;
    this.#statusStarted = true;
    this.#runStatus();
  }

  /**
   * Stops everything: pending retries and the hourly check are cancelled, running helpers get
   * SIGTERM; resolves when they have ended. No callback runs afterwards.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#statusTimer !== undefined) clearTimeout(this.#statusTimer);
    this.#statusTimer = undefined;
    for (const p of this.#pending.values()) {
      if (p.timer !== undefined) clearTimeout(p.timer);
    }
    this.#pending.clear();
    for (const c of this.#children) {
      try {
        c.kill("SIGTERM");
      } catch { /* already gone */ }
    }
    await Promise.allSettled([...this.#work]);
  }

  #request(op: "reset" | "status", node: string): HelperRequest {
    const pluginDir = this.#opts.pluginDir ?? DEFAULT_PLUGIN_DIR;
    return {
      op,
      node,
      device: this.#device!,
      backend: this.#backend!,
      stonithCommand: this.#stonithCommand,
      externalDir: this.#opts.externalDir ?? `${pluginDir}/external`,
      runDir: this.#opts.runDir ?? DEFAULT_RUN_DIR,
      ...(this.#opts.meatwareTimeoutSec !== undefined
        ? { meatwareTimeoutSec: this.#opts.meatwareTimeoutSec }
        : {}),
      ...(this.#opts.sshPingAttempts !== undefined
        ? { sshPingAttempts: this.#opts.sshPingAttempts }
        : {}),
    };
  }

  #attempt(p: Pending): void {
    p.timer = undefined;
    p.attempts++;
    this.#track(
      `STONITH ${p.node}`,
      this.#request("reset", p.node),
      (status) => {
        if (this.#stopped) return;
        if (status.signal === null) {
          const result: StonithResult = status.code === 0
            ? "OK"
            : status.code === 100
            ? "badhost"
            : "bad";
          this.#opts.onResult?.(p.node, result);
        }
        if (status.signal !== null || status.code !== 0) {
          this.#opts.log("ERROR", `STONITH of ${p.node} failed.  Retrying...`);
          p.timer = setTimeout(
            () => this.#attempt(p),
            this.#opts.retryIntervalMs ?? DEFAULT_RETRY_MS,
          );
          return;
        }
        this.#pending.delete(p.node);
        for (const cb of p.callbacks) cb();
      },
    );
  }

  #runStatus(): void {
    this.#statusTimer = undefined;
    if (this.#stopped || this.#statusRunning) return;
    this.#statusRunning = true;
    this.#track("STONITH-stat", this.#request("status", "?"), (status) => {
      this.#statusRunning = false;
      if (this.#stopped) return;
      if ((status.signal !== null && status.signal !== "SIGTERM") || status.code !== 0) {
        this.#opts.log("ERROR", "STONITH status operation failed.");
        this.#opts.log("info", "This may mean that the STONITH device has failed!");
      }
      const timer = setTimeout(
        () => this.#runStatus(),
        this.#opts.statusIntervalMs ?? DEFAULT_STATUS_MS,
      );
      Deno.unrefTimer(timer);
      this.#statusTimer = timer;
    });
  }

  /** Spawns a helper, relays its lines, logs its end, then calls `done`. */
  #track(
    what: string,
    req: HelperRequest,
    done: (status: { code: number; signal: Deno.Signal | null }) => void,
  ): void {
    const argv = (this.#opts.helperCommand ?? selfCommand)(["__stonith", JSON.stringify(req)]);
    const log = this.#opts.log;
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(argv[0], {
        args: argv.slice(1),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        ...(this.#opts.env ? { env: this.#opts.env } : {}),
      }).spawn();
    } catch (e) {
      log("ERROR", `Cannot fork. (${e instanceof Error ? e.message : e})`);
      // Treated as a failed attempt, as a failed fork would be retried by the next event.
      queueMicrotask(() => done({ code: 1, signal: null }));
      return;
    }
    this.#children.add(child);
    const pid = child.pid;
    const relay = async (stream: ReadableStream<Uint8Array>, json: boolean) => {
      let buf = "";
      const line = (l: string) => {
        if (l.trim() === "") return;
        if (json) {
          try {
            const r = JSON.parse(l) as HelperLogRecord;
            log(r.prio, r.text, { pid, glib: r.glib === true });
            return;
          } catch { /* not a record: fall through */ }
        }
        log("ERROR", `STONITH helper: ${l}`, { pid });
      };
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          line(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      }
      line(buf);
    };
    const work = (async () => {
      const [status] = await Promise.all([
        child.status,
        relay(child.stdout, true),
        relay(child.stderr, false),
      ]);
      this.#children.delete(child);
      const d = describeExit(what, pid, { code: status.code, signal: status.signal });
      log(d.prio, d.text);
      done({ code: status.code, signal: status.signal });
    })();
    this.#work.add(work);
    void work.finally(() => this.#work.delete(work));
  }
}
