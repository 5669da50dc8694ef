/**
 * Supervision of `respawn` and `failfast` clients (config-and-cli.md §7.4,
 * log lines §6.6.14).
 *
 * Each client runs as `/bin/sh -c "exec <command>"` with the uid, gid and
 * supplementary groups of its user, in its own process group, with stdio on
 * `/dev/null`. Deno cannot change credentials between fork and exec, so the
 * client is started through our own entry point (`main.ts __exec_as`, see
 * `workers/exec_as.ts`), which drops privileges and then `execv`s the shell:
 * the pid the master spawned is the client's pid, as in Heartbeat.
 *
 * Exit handling: exit code 100 is never restarted; any other end is
 * restarted at once (`Respawning client "<cmd>":`), the new instance
 * sleeping 1 s before exec when the previous one lived less than 30 s; after
 * more than 10 consecutive such short runs the client is given up
 * (`Client <cmd> "respawning too fast"`). A `failfast` client that dies by a
 * signal or exits non-zero (outside shutdown) makes us log
 * `EMERG: Rebooting system.  Reason: <cmd>` and call the reboot action,
 * which is injectable: by default it runs `reboot -nf` only when
 * `HB_ALLOW_REBOOT=1` is in the environment, so that tests and development
 * machines are never rebooted by accident.
 *
 * @module
 */

import type { ClientChild } from "../config/types.ts";
import type { Priority } from "../core/types.ts";
import { readFrames } from "../workers/channel.ts";
import type { ExecAsSpec } from "../workers/exec_as.ts";
import { selfCommand } from "../sys/self_exec.ts";
import { describeExit } from "../sys/signals.ts";

/** Log function of the respawn supervisor (priority word, text, pid to log as). */
export type RespawnLog = (prio: Priority, text: string, opts?: { pid?: number }) => void;

/** A client as the supervisor needs it (a subset of {@link ClientChild}). */
export type RespawnClient = Pick<ClientChild, "user" | "uid" | "gid" | "command" | "failfast">;

/** Options of {@link RespawnSupervisor}. */
export interface RespawnOptions {
  /** Where log lines go. */
  log: RespawnLog;
  /** Extra environment for clients (`HA_*` values, `env` directives), on top of ours. */
  env?: Record<string, string>;
  /**
   * Reboot action of `failfast`, called with the command that died. Default:
   * `reboot -nf` when `HB_ALLOW_REBOOT=1` is set, otherwise an ERROR line only.
   */
  reboot?: (reason: string) => void | Promise<void>;
  /** A run shorter than this is "short" (default 30 000 ms). */
  shortRunMs?: number;
  /** More consecutive short runs than this stop respawning (default 10). */
  maxShortRuns?: number;
  /** Pause before exec after a short run (default 1000 ms). */
  shortRunDelayMs?: number;
}

/** What {@link RespawnSupervisor.describe} reports per client. */
export interface ClientInfo {
  /** The command. */
  command: string;
  /** Pid of the running instance, if any. */
  pid?: number;
  /** Number of starts so far. */
  starts: number;
  /** True once the client will not be started again. */
  finished: boolean;
}

interface ClientState {
  client: RespawnClient;
  child?: Deno.ChildProcess;
  pid?: number;
  startedAt: number;
  shortRuns: number;
  starts: number;
  finished: boolean;
  /** Resolves when the current instance has exited and its exit was handled. */
  ended?: Promise<void>;
}

/** Default reboot action (see the module doc). */
export function defaultReboot(log: RespawnLog): (reason: string) => Promise<void> {
  return async (_reason: string) => {
    if (Deno.env.get("HB_ALLOW_REBOOT") !== "1") {
      log("ERROR", "Reboot not performed: HB_ALLOW_REBOOT=1 is not set.");
      return;
    }
    try {
      await new Deno.Command("reboot", { args: ["-nf"], stdin: "null" }).output();
    } catch (e) {
      log("ERROR", `reboot -nf failed: ${e instanceof Error ? e.message : e}`);
    }
  };
}

/**
 * Runs the `respawn`/`failfast` clients of ha.cf. Create it when
 * communication comes up, call {@link start}; call {@link stop} during
 * shutdown (after resources are released, before the core workers stop).
 */
export class RespawnSupervisor {
  readonly #states: ClientState[];
  readonly #log: RespawnLog;
  readonly #env?: Record<string, string>;
  readonly #reboot: (reason: string) => void | Promise<void>;
  readonly #shortRunMs: number;
  readonly #maxShortRuns: number;
  readonly #delayMs: number;
  #started = false;
  #stopping = false;

  /** Prepares supervision of `clients` (ha.cf order); nothing runs until {@link start}. */
  constructor(clients: readonly RespawnClient[], opts: RespawnOptions) {
    this.#states = clients.map((client) => ({
      client,
      startedAt: 0,
      shortRuns: 0,
      starts: 0,
      finished: false,
    }));
    this.#log = opts.log;
    this.#env = opts.env;
    this.#reboot = opts.reboot ?? defaultReboot(opts.log);
    this.#shortRunMs = opts.shortRunMs ?? 30_000;
    this.#maxShortRuns = opts.maxShortRuns ?? 10;
    this.#delayMs = opts.shortRunDelayMs ?? 1000;
  }

  /** Starts every client, in declaration order (idempotent). */
  start(): void {
    if (this.#started || this.#stopping) return;
    this.#started = true;
    for (const s of this.#states) this.#launch(s, false);
  }

  /** Pids of the running clients. */
  get pids(): number[] {
    return this.#states.filter((s) => s.child).map((s) => s.pid!);
  }

  /** State of every client, in declaration order. */
  describe(): ClientInfo[] {
    return this.#states.map((s) => ({
      command: s.client.command,
      pid: s.child ? s.pid : undefined,
      starts: s.starts,
      finished: s.finished,
    }));
  }

  #launch(s: ClientState, afterShortRun: boolean): void {
    const c = s.client;
    this.#log("info", `Starting child client "${c.command}" (${c.uid},${c.gid})`);
    const spec: ExecAsSpec = {
      user: c.user,
      uid: c.uid,
      gid: c.gid,
      command: c.command,
      delayMs: afterShortRun ? this.#delayMs : 0,
    };
    const [cmd, ...args] = selfCommand(["__exec_as", JSON.stringify(spec)]);
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(cmd, {
        args,
        stdin: "null",
        stdout: "piped",
        stderr: "null",
        env: this.#env,
      }).spawn();
    } catch (e) {
      this.#log(
        "ERROR",
        `Cannot start client "${c.command}": ${e instanceof Error ? e.message : e}`,
      );
      s.finished = true;
      return;
    }
    s.child = child;
    s.pid = child.pid;
    s.startedAt = performance.now();
    s.starts++;
    const pump = this.#pump(child);
    s.ended = child.status.then(async (status) => {
      await pump;
      this.#onExit(s, child.pid, status);
    });
  }

  /** Relays the launcher's log frames until it execs (its stdout then leaves the pipe). */
  async #pump(child: Deno.ChildProcess): Promise<void> {
    try {
      for await (const f of readFrames(child.stdout)) {
        if (f.kind !== "control") continue;
        const m = f.value as { t?: string; prio?: Priority; msg?: string };
        if (m.t === "log" && m.prio && m.msg !== undefined) {
          this.#log(m.prio, m.msg, { pid: child.pid });
        }
      }
    } catch {
      // a corrupt channel only loses log lines
    }
  }

  #onExit(s: ClientState, pid: number, status: Deno.CommandStatus): void {
    s.child = undefined;
    const c = s.client;
    const { prio, text } = describeExit(c.command, pid, status);
    this.#log(prio, text);
    if (this.#stopping) return;
    const failed = status.signal !== null || status.code !== 0;
    if (c.failfast && failed) {
      s.finished = true;
      this.#log("EMERG", `Rebooting system.  Reason: ${c.command}`);
      void Promise.resolve().then(() => this.#reboot(c.command)).catch((e) =>
        this.#log("ERROR", `reboot failed: ${e instanceof Error ? e.message : e}`)
      );
      return;
    }
    if (status.signal === null && status.code === 100) {
      s.finished = true;
      return;
    }
    const short = performance.now() - s.startedAt < this.#shortRunMs;
    s.shortRuns = short ? s.shortRuns + 1 : 0;
    if (s.shortRuns > this.#maxShortRuns) {
      s.finished = true;
      this.#log("ERROR", `Client ${c.command} "respawning too fast"`);
      return;
    }
    this.#log("ERROR", `Respawning client "${c.command}":`);
    this.#launch(s, short);
  }

  /**
   * Stops the clients one at a time in reverse declaration order: SIGTERM to
   * each running client's process group, waiting for it to exit
   * (`killing <cmd> process group <pid> with signal 15`); a client not
   * running is reported `client [<cmd>] is not running.`. No respawn
   * happens afterwards.
   */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const s of [...this.#states].reverse()) {
      const c = s.client;
      if (!s.child || s.pid === undefined) {
        this.#log("info", `client [${c.command}] is not running.`);
        continue;
      }
      this.#log("info", `killing ${c.command} process group ${s.pid} with signal 15`);
      signalGroup(s.pid, "SIGTERM");
      await s.ended;
    }
  }
}

/** Sends `sig` to process group `pid`, or to the process when it has no group of its own yet. */
function signalGroup(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(-pid, sig);
    return;
  } catch {
    // no such group (the launcher has not called setsid yet)
  }
  try {
    Deno.kill(pid, sig);
  } catch {
    // already gone: its exit is being handled
  }
}
