/**
 * The master's supervision of its core worker processes (HBFIFO, and an
 * HBREAD/HBWRITE pair per medium): spawning them by re-invoking our own entry
 * point, relaying frames, restarting a dead pair with back-off, and stopping
 * everything with the log lines Heartbeat writes.
 *
 * @module
 */

import { CHANNEL_ENV, type Frame } from "../workers/channel.ts";
import { mediumLabel, type MediumSpec } from "../workers/media_spec.ts";
import { selfCommand } from "../sys/self_exec.ts";
import { describeExit } from "../sys/signals.ts";
import { WaitLoop } from "./wait_loop.ts";
import { WorkerPipes } from "./worker_pipes.ts";

/** Heartbeat's names for core processes. */
export type CoreKind = "HBREAD" | "HBWRITE" | "HBFIFO";

/** Log function used by the supervisor (priority word, text, pid to log as). */
export type SupervisorLog = (
  prio: string,
  text: string,
  opts?: { pid?: number; glib?: boolean },
) => void;

/** Callbacks from the supervisor to the master. */
export interface SupervisorHooks {
  /** Logs a line. */
  log: SupervisorLog;
  /** A packet arrived on media channel `channel` (index in ha.cf order). */
  onPacket(channel: number, bytes: Uint8Array): void;
  /** A complete message arrived from the FIFO. */
  onFifo(bytes: Uint8Array): void;
  /** Extra environment for workers (e.g. HA_* values). */
  env?: Record<string, string>;
  /**
   * A control message for every read worker once it is ready (each respawned one too): the
   * own-echo filter (workers/echo_filter.ts).
   */
  readerControl?: Record<string, unknown>;
  /**
   * A core process died and could not be restarted (Heartbeat's `CoreProcessDied` reaching
   * its `restart:` label, after `Core heartbeat process <kind> (pid <pid>) died! Restarting.`):
   * the master runs the shutdown-and-restart procedure. Called once per failure; the
   * supervisor keeps retrying the medium in the meantime, as Heartbeat does.
   */
  onUnrecoverable?(kind: CoreKind, pid: number): void;
  /**
   * The loop that reads and writes the workers' channels (the master's own, which blocks on
   * its thread). Without it the supervisor runs one through the event loop for itself.
   */
  loop?: WaitLoop;
}

interface Proc {
  kind: CoreKind;
  channel: number; // -1 for the FIFO reader
  child: Deno.ChildProcess;
  pid: number;
  pipes: WorkerPipes;
  ready: Promise<boolean>;
  exited: Promise<Deno.CommandStatus>;
  alive: boolean;
  /** Reported `ready` (its medium is open). */
  started: boolean;
  /** Killed by the supervisor itself after a failed start: its exit is not a death. */
  quiet: boolean;
}

/**
 * Restart back-off, milliseconds: the first restart is immediate, the second waits this long,
 * then it doubles (a worker that keeps dying does not spin the CPU).
 */
const FIRST_BACKOFF_MS = 500;
/** Cap of the restart back-off, milliseconds (as {@link MEDIUM_RETRY_MS}). */
const MAX_BACKOFF_MS = 10_000;
/** Retry interval, milliseconds, of a medium whose restart failed (Heartbeat's restart_comm_medium). */
const MEDIUM_RETRY_MS = 10_000;
/** A channel that stayed up this long (milliseconds) resets its back-off: its deaths are rare. */
const STABLE_MS = 30_000;

/**
 * How long a stop waits, milliseconds, for the workers to exit on SIGTERM before SIGKILL: a
 * worker blocked in a write to a stuck serial line would otherwise hold the shutdown up.
 */
const STOP_KILL_AFTER_MS = 30_000;

/** Sends `signal` to a worker; one that has exited already (ESRCH) needs no signal. */
function killChild(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // the process has exited already: its exit handler does what remains
  }
}

/**
 * Supervises the core workers. Create, `await start()`, then `send()`
 * packets; `await stop()` kills everything (Heartbeat's shutdown lines).
 */
export class Supervisor {
  #media: MediumSpec[];
  #fifoPath: string;
  #hooks: SupervisorHooks;
  #procs: Proc[] = [];
  #stopping = false;
  readonly #loop: WaitLoop;
  readonly #ownLoop: boolean;
  #restarts = new Map<
    number,
    { count: number; lastStart: number; timer?: ReturnType<typeof setTimeout> }
  >();

  /** Prepares supervision of the given media (ha.cf order) and FIFO. */
  constructor(media: MediumSpec[], fifoPath: string, hooks: SupervisorHooks) {
    this.#media = media;
    this.#fifoPath = fifoPath;
    this.#hooks = hooks;
    this.#ownLoop = hooks.loop === undefined;
    this.#loop = hooks.loop ?? new WaitLoop({ block: false });
  }

  /** Pids of the running core workers (for tests and `-s`). */
  get pids(): number[] {
    return this.#procs.filter((p) => p.alive).map((p) => p.pid);
  }

  /**
   * Sends a control message to every live worker over its channel (in band: a worker waiting
   * in poll(2) on its JS thread sees it at once, where a signal may reach another thread).
   */
  notifyAll(value: Record<string, unknown>): void {
    for (const p of this.#procs) if (p.alive) p.pipes.control(value);
  }

  /** Describes every live worker: kind, channel and pid. */
  describe(): { kind: CoreKind; channel: number; pid: number }[] {
    return this.#procs.filter((p) => p.alive).map((p) => ({
      kind: p.kind,
      channel: p.channel,
      pid: p.pid,
    }));
  }

  /**
   * Starts the FIFO reader, then a write and a read worker per medium, in
   * Heartbeat's order, and waits until each reports it is running.
   * Returns false (after logging) if a medium could not be opened.
   */
  async start(): Promise<boolean> {
    const fifo = this.#spawn("HBFIFO", -1);
    const started: Proc[] = [fifo];
    for (let ch = 0; ch < this.#media.length; ch++) {
      started.push(this.#spawn("HBWRITE", ch), this.#spawn("HBREAD", ch));
      this.#restarts.set(ch, { count: 0, lastStart: Date.now() });
    }
    const ok = await Promise.all(started.map((p) => p.ready));
    return ok.every((x) => x);
  }

  /** Sends a packet on every medium. */
  broadcast(bytes: Uint8Array): void {
    for (const p of this.#procs) {
      if (p.kind === "HBWRITE" && p.alive) p.pipes.packet(bytes);
    }
  }

  /** Sends a packet on one medium. */
  send(channel: number, bytes: Uint8Array): void {
    for (const p of this.#procs) {
      if (p.kind === "HBWRITE" && p.alive && p.channel === channel) p.pipes.packet(bytes);
    }
  }

  #spawn(kind: CoreKind, channel: number): Proc {
    const role = kind === "HBFIFO" ? "fifo" : kind === "HBREAD" ? "read" : "write";
    const spec = kind === "HBFIFO" ? { path: this.#fifoPath } : this.#media[channel];
    const [cmd, ...args] = selfCommand(["__worker", role, JSON.stringify(spec)]);
    let resolveReady!: (ok: boolean) => void;
    const ready = new Promise<boolean>((r) => resolveReady = r);
    // the channel's callbacks run only after the spawn below has filled this in
    const ref: { proc?: Proc } = {};
    this.#loop.start();
    const pipes = new WorkerPipes(this.#loop, {
      onFrames: (frames) => ref.proc && this.#onFrames(ref.proc, frames, resolveReady),
      onEnd: (error) => {
        const p = ref.proc;
        if (!error || !p) return;
        this.#hooks.log("ERROR", `corrupt channel from ${p.kind} process ${p.pid}: ${error}`);
        killChild(p.child, "SIGKILL");
      },
      onDrop: () =>
        ref.proc && this.#hooks.log(
          "WARN",
          `${ref.proc.kind} process ${ref.proc.pid} does not read its channel: frames dropped`,
        ),
    });
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(cmd, {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "inherit",
        env: { ...this.#hooks.env, [CHANNEL_ENV]: pipes.workerPaths() },
      }).spawn();
    } catch (e) {
      pipes.close();
      throw e;
    }
    const spawned: Proc = {
      kind,
      channel,
      child,
      pid: child.pid,
      pipes,
      ready,
      exited: child.status,
      alive: true,
      started: false,
      quiet: false,
    };
    ref.proc = spawned;
    this.#procs.push(spawned);
    spawned.exited.then((status) => {
      spawned.alive = false;
      spawned.pipes.drainAndClose(); // its last log lines first
      resolveReady(false);
      this.#onExit(spawned, status);
    });
    return spawned;
  }

  #onFrames(proc: Proc, frames: Frame[], ready: (ok: boolean) => void): void {
    for (const f of frames) {
      if (f.kind === "packet") {
        if (proc.kind === "HBFIFO") this.#hooks.onFifo(f.bytes);
        else if (proc.kind === "HBREAD") this.#hooks.onPacket(proc.channel, f.bytes);
        continue;
      }
      const msg = f.value as { t?: string; prio?: string; msg?: string; glib?: boolean };
      if (msg.t === "ready") {
        proc.started = true;
        const control = this.#hooks.readerControl;
        if (proc.kind === "HBREAD" && control) proc.pipes.control(control);
        ready(true);
      } else if (msg.t === "log" && msg.prio && msg.msg !== undefined) {
        this.#hooks.log(msg.prio, msg.msg, { pid: proc.pid, glib: msg.glib });
      }
    }
  }

  #onExit(proc: Proc, status: Deno.CommandStatus): void {
    if (this.#stopping) return;
    this.#procs = this.#procs.filter((p) => p !== proc);
    // A worker that never opened its medium is a failed start, not a death: whoever started
    // it handles that (Heartbeat opens media in the master, so it has no such child at all).
    if (proc.quiet || !proc.started) return;
    const { prio, text } = describeExit(proc.kind, proc.pid, status);
    this.#hooks.log(prio, text);
    if (proc.kind === "HBFIFO") {
      this.#hooks.log("WARN", "Restarting HBFIFO process.");
      void this.#restartFifo(proc);
      return;
    }
    const ch = proc.channel;
    const partner = this.#procs.find((p) => p.channel === ch && p.alive);
    if (partner) {
      this.#hooks.log(
        "ERROR",
        `${proc.kind} process died.  Beginning communications restart process for comm channel ${ch}.`,
      );
      killChild(partner.child, "SIGKILL");
      return;
    }
    this.#hooks.log("ERROR", `Both comm processes for channel ${ch} have died.  Restarting.`);
    this.#restartChannel(ch, proc);
  }

  /** Restarts the FIFO reader; a restart that fails restarts heartbeat (as Heartbeat). */
  async #restartFifo(dead: Proc): Promise<void> {
    let ok = false;
    try {
      ok = await this.#spawn("HBFIFO", -1).ready;
    } catch (e) {
      this.#hooks.log("ERROR", `cannot start HBFIFO: ${e instanceof Error ? e.message : e}`);
    }
    if (ok || this.#stopping) return;
    this.#hooks.log("ERROR", "HBFIFO restart failed.  Restarting heartbeat.");
    this.#unrecoverable(dead);
  }

  /**
   * Heartbeat's `restart:` path of CoreProcessDied: logged, then the master restarts heartbeat
   * ({@link SupervisorHooks.onUnrecoverable}). Heartbeat names the process `MST_CONTROL` here
   * (it has already detached the dead process's table entry, so the name lookup falls on entry
   * 0) with the pid of the process that died; hb writes the same line.
   */
  #unrecoverable(dead: Proc): void {
    this.#hooks.log(
      "ERROR",
      `Core heartbeat process MST_CONTROL (pid ${dead.pid}) died! Restarting.`,
    );
    this.#hooks.onUnrecoverable?.(dead.kind, dead.pid);
  }

  /**
   * Restarts both workers of a channel, at once the first time, then with back-off (a worker
   * that keeps dying does not spin). A restart whose workers cannot start (the medium cannot
   * be opened again) is what Heartbeat cannot recover from: `make_io_childpair: cannot open
   * <medium>`, `Communications restart failed. Will try again later.`, then the
   * shutdown-and-restart of the whole daemon; meanwhile the channel is retried every 10 s
   * (Heartbeat's `restart_comm_medium`).
   */
  #restartChannel(ch: number, dead: Proc): void {
    const r = this.#restarts.get(ch) ?? { count: 0, lastStart: 0 };
    if (Date.now() - r.lastStart > STABLE_MS) r.count = 0;
    const delay = r.count === 0
      ? 0
      : Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (r.count - 1));
    r.count++;
    this.#restarts.set(ch, r);
    this.#schedulePair(ch, delay, () => {
      this.#hooks.log("ERROR", "Communications restart failed. Will try again later.");
      this.#unrecoverable(dead);
      this.#retryChannel(ch);
    });
  }

  /** After a failed restart: tries the channel again every {@link MEDIUM_RETRY_MS}. */
  #retryChannel(ch: number): void {
    this.#schedulePair(ch, MEDIUM_RETRY_MS, () => this.#retryChannel(ch));
  }

  /** Starts channel `ch`'s pair after `delay` ms; `onFail` runs when it cannot open its medium. */
  #schedulePair(ch: number, delay: number, onFail: () => void): void {
    const r = this.#restarts.get(ch) ?? { count: 0, lastStart: 0 };
    this.#restarts.set(ch, r);
    r.timer = setTimeout(async () => {
      r.timer = undefined;
      if (this.#stopping) return;
      r.lastStart = Date.now();
      if (await this.#startPair(ch)) {
        this.#hooks.log("info", "Communications restart succeeded.");
      } else if (!this.#stopping) onFail();
    }, delay);
  }

  /**
   * Starts the write and read workers of a channel; true when both opened the medium. On
   * failure the one that did start is stopped quietly and `make_io_childpair: cannot open
   * <medium>` is logged, as Heartbeat logs it.
   */
  async #startPair(ch: number): Promise<boolean> {
    let pair: Proc[] = [];
    let ok = false;
    try {
      pair = [this.#spawn("HBWRITE", ch), this.#spawn("HBREAD", ch)];
      ok = (await Promise.all(pair.map((p) => p.ready))).every((x) => x);
    } catch (e) {
      this.#hooks.log(
        "ERROR",
        `cannot start comm processes: ${e instanceof Error ? e.message : e}`,
      );
    }
    if (ok || this.#stopping) return ok;
    for (const p of pair) {
      if (!p.alive) continue;
      p.quiet = true;
      killChild(p.child, "SIGKILL");
    }
    this.#hooks.log("ERROR", `make_io_childpair: cannot open ${mediumLabel(this.#media[ch])}`);
    return false;
  }

  /**
   * Stops every worker: SIGTERM in Heartbeat's order (read/write of the first
   * channel, the FIFO reader, then the other channels), logging
   * `killing HBREAD process N with signal 15` and, as each exits,
   * `Core process N exited. K remaining`.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const r of this.#restarts.values()) if (r.timer !== undefined) clearTimeout(r.timer);
    const live = this.#procs.filter((p) => p.alive);
    const order: Proc[] = [];
    const byChannel = (ch: number, kind: CoreKind) =>
      live.find((p) => p.channel === ch && p.kind === kind);
    const push = (p: Proc | undefined) => p && order.push(p);
    push(byChannel(0, "HBREAD"));
    push(byChannel(0, "HBWRITE"));
    push(live.find((p) => p.kind === "HBFIFO"));
    for (let ch = 1; ch < this.#media.length; ch++) {
      push(byChannel(ch, "HBREAD"));
      push(byChannel(ch, "HBWRITE"));
    }
    for (const p of live) if (!order.includes(p)) order.push(p);
    for (const p of order) {
      this.#hooks.log("info", `killing ${p.kind} process ${p.pid} with signal 15`);
      killChild(p.child, "SIGTERM");
    }
    let remaining = order.length + 1; // the master counts itself
    const killTimer = setTimeout(() => {
      for (const p of order) killChild(p.child, "SIGKILL");
    }, STOP_KILL_AFTER_MS);
    await Promise.all(order.map(async (p) => {
      await p.exited;
      remaining--;
      this.#hooks.log("info", `Core process ${p.pid} exited. ${remaining} remaining`);
    }));
    clearTimeout(killTimer);
    for (const p of order) p.pipes.close();
    this.#procs = [];
    if (this.#ownLoop) await this.#loop.stop();
  }
}
