/**
 * The master's wait: its worker channels and its timers on its own JS thread, the way the
 * workers wait (`workers/fd_loop.ts`), with Deno's event loop kept for everything else.
 *
 * Why: Deno's timers sit on a tokio timer wheel, and a timer more than 64 ms away wakes the
 * thread twice (at the start of its 64 ms slot, then at the deadline); each worker frame
 * read through Deno's streams is a turn of the event loop. Waiting in poll(2) on the JS
 * thread, with the next timer as the timeout, wakes the master once per deadline and once per
 * frame.
 *
 * Two modes:
 *
 * - **Blocking** (`block: true`, the master): poll(2) on the JS thread for the watched
 *   descriptors, plus the event loop's own epoll descriptors (found in `/proc/self/fd` when
 *   the loop is made) and those given to {@link WaitLoop.wakeOn} (the API server's), with the
 *   next timer as the timeout. What needs the event loop (a signal, a resource script's output
 *   or exit, an API client) makes one of those readable or interrupts the wait; the loop then
 *   hands over to the event loop for {@link BUSY_MS}: the second mode. A call Deno completes
 *   on its thread pool does not (see {@link PARK_EVERY_MS}).
 * - **Event loop**: the same poll(2) runs on a thread of Deno's pool (FFI `nonblocking`), so
 *   the event loop runs freely; a pipe of its own cancels that poll when the set or the next
 *   timer changes. Without `block` (tests, tools) the loop stays in this mode.
 *
 * The timers: {@link WaitLoop.setTimer}, and, after {@link WaitLoop.installGlobalTimers} (the
 * master does this once), every `setTimeout` and `setInterval` of the process: a timer left on
 * Deno's wheel would not end a blocking wait. A callback runs from the loop; what it throws
 * goes to `reportError` (the master's `error` listener: its fail-safe path), as an uncaught
 * exception in a timer would.
 *
 * @module
 */

import {
  type PollEntry,
  POLLERR,
  pollFds,
  pollFdsOffThread,
  POLLHUP,
  POLLIN,
  POLLNVAL,
} from "../sys/socket.ts";
import { closeFd, openPipe, type PipeFds, readSome, writeSome } from "../sys/pipe.ts";

/**
 * After the event loop had something to do, how long (ms) the loop stays in event-loop mode
 * before it blocks on its own thread again: the work that one event starts (a script's
 * output, a reply to an API client) usually follows within it.
 */
export const BUSY_MS = 100;

/**
 * In blocking mode, the event loop sleeps in its own wait at least this often (ms). A call that
 * Deno completes on another thread (FFI `nonblocking`, file system) and that was started since
 * the event loop last slept is only seen when it sleeps next; watched descriptors
 * ({@link WaitLoop.wakeOn}) cover the ones hb knows, this bounds the delay of any other.
 */
export const PARK_EVERY_MS = 5000;

/** Timer ids of this loop start here, clear of the ids of Deno's own timers. */
const FIRST_TIMER_ID = 1_000_000_000;

/** Deno's own timer functions, as they were before {@link WaitLoop.installGlobalTimers}. */
const denoSetTimeout = globalThis.setTimeout;
const denoClearTimeout = globalThis.clearTimeout;

/** One watched descriptor. */
interface Watch {
  fd: number;
  events: number;
  onReady: (revents: number) => void;
}

/** One timer. */
interface Timer {
  id: number;
  at: number;
  fn: () => void;
  /** Repeat interval of an interval timer (ms). */
  every?: number;
}

/** Options of a {@link WaitLoop}. */
export interface WaitLoopOptions {
  /**
   * Wait on the JS thread while the event loop has nothing to do (the master). False: wait
   * through the event loop only (tests, and callers that do not own the process).
   */
  block: boolean;
}

/** The epoll descriptors of this process now: Deno's event loop's (call before making any). */
export function eventLoopFds(): number[] {
  const fds: number[] = [];
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${e.name}`) === "anon_inode:[eventpoll]") {
        fds.push(Number(e.name));
      }
    } catch {
      // the directory's own descriptor, closed by the time it is read
    }
  }
  return fds;
}

/** Calls `fn`; what it throws goes to `reportError`, as from a timer of the runtime. */
function guarded(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    reportError(e);
  }
}

/** Descriptor events that mean "look at it now". */
const ALERT = POLLERR | POLLHUP | POLLNVAL;

/** The master's wait for its descriptors and timers; see the module comment. */
export class WaitLoop {
  #block: boolean;
  readonly #eventFds: number[];
  /** Descriptors of work that completes on other threads ({@link wakeOn}). */
  readonly #wakeFds = new Set<number>();
  #lastPark = performance.now();
  readonly #watches = new Map<number, Watch>();
  #timers: Timer[] = [];
  #nextId = FIRST_TIMER_ID;
  #busyUntil = 0;
  #stopped = false;
  #running: Promise<void> | undefined;
  /** The event-loop mode's poll is on a pool thread: changes must cancel it. */
  #offThread = false;
  #cancel: PipeFds | undefined;
  #cancelled = false;
  readonly #scratch = new Uint8Array(256);
  /** Callbacks ran since the last turn of the event loop ({@link #settle}). */
  #unsettled = false;
  #channel: MessageChannel | undefined;
  #settled: (() => void) | undefined;

  /** A loop; {@link start} runs it. */
  constructor(opts: WaitLoopOptions) {
    this.#block = opts.block;
    this.#eventFds = opts.block ? eventLoopFds() : [];
    // the code that makes the loop goes on first: a blocking start would stop it
    this.#busyUntil = performance.now() + BUSY_MS;
  }

  /** Calls `onReady(revents)` whenever `fd` has one of `events` (or an error or hang-up). */
  watch(fd: number, events: number, onReady: (revents: number) => void): void {
    this.#watches.set(fd, { fd, events, onReady });
    this.#changed();
  }

  /** Stops watching `fd` (before it is closed). */
  unwatch(fd: number): void {
    if (this.#watches.delete(fd)) this.#changed();
  }

  /**
   * Ends a blocking wait when `fd` becomes readable and hands over to the event loop: for a
   * descriptor that another thread waits on (the API server's epoll set, whose wait runs on
   * Deno's pool).
   */
  wakeOn(fd: number): void {
    this.#wakeFds.add(fd);
  }

  /** Undoes {@link wakeOn} (before `fd` is closed). */
  unwakeOn(fd: number): void {
    this.#wakeFds.delete(fd);
  }

  /** Runs `fn` after `ms` milliseconds (every `ms` with `repeat`); returns the timer's id. */
  setTimer(fn: () => void, ms: number, repeat = false): number {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: Timer = { id: this.#nextId++, at: performance.now() + delay, fn };
    if (repeat) timer.every = Math.max(1, delay);
    this.#insert(timer);
    if (this.#timers[0] === timer) this.#changed();
    return timer.id;
  }

  /** Cancels a timer of {@link setTimer}; false when it is not one (or has run). */
  clearTimer(id: number): boolean {
    const i = this.#timers.findIndex((t) => t.id === id);
    if (i < 0) return false;
    this.#timers.splice(i, 1);
    return true;
  }

  /**
   * Makes every `setTimeout` / `setInterval` of this process a timer of this loop (Deno's own
   * timers, created before, are still cleared by `clearTimeout`). For the master only.
   */
  installGlobalTimers(): void {
    const clear = (id?: number) => {
      if (id !== undefined && !this.clearTimer(id)) denoClearTimeout(id);
    };
    const timers = {
      setTimeout: (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) =>
        this.setTimer(() => fn(...args), ms ?? 0),
      setInterval: (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) =>
        this.setTimer(() => fn(...args), ms ?? 0, true),
      clearTimeout: clear,
      clearInterval: clear,
    };
    Object.assign(globalThis, timers);
  }

  /** Starts the loop (once). */
  start(): void {
    this.#running ??= this.#run();
  }

  /** Stops the loop; resolves once it has returned. Watched descriptors are the caller's. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#changed();
    await this.#running;
    this.#channel?.port1.close();
    this.#channel?.port2.close();
    if (this.#cancel) {
      closeFd(this.#cancel.read);
      closeFd(this.#cancel.write);
      this.#cancel = undefined;
    }
  }

  #insert(timer: Timer): void {
    let i = this.#timers.length;
    while (i > 0 && this.#timers[i - 1].at > timer.at) i--;
    this.#timers.splice(i, 0, timer);
  }

  /** The set or the next deadline changed: a poll on a pool thread must start over. */
  #changed(): void {
    if (!this.#offThread || this.#cancelled || !this.#cancel) return;
    this.#cancelled = true;
    writeSome(this.#cancel.write, new Uint8Array(1));
  }

  /** Runs the timers due now (not those they set: a zero-delay chain yields in between). */
  #fireDue(): boolean {
    const now = performance.now();
    const last = this.#nextId;
    let ran = false;
    while (this.#timers.length > 0 && this.#timers[0].at <= now && this.#timers[0].id < last) {
      const t = this.#timers.shift()!;
      if (t.every !== undefined) {
        t.at = Math.max(t.at + t.every, now);
        this.#insert(t);
      }
      ran = true;
      guarded(t.fn);
      if (this.#stopped) break;
    }
    return ran;
  }

  /** Milliseconds to the next timer, rounded up (-1: none). */
  #timeout(): number {
    const next = this.#timers[0];
    return next === undefined ? -1 : Math.max(0, Math.ceil(next.at - performance.now()));
  }

  /** Calls the handlers of the watched descriptors `revents` reports ready. */
  #dispatch(set: Watch[], revents: number[]): boolean {
    let ran = false;
    set.forEach((w, i) => {
      const r = revents[i];
      if ((r & (w.events | ALERT)) === 0 || this.#watches.get(w.fd) !== w) return;
      if (r & POLLNVAL) this.#watches.delete(w.fd); // closed under us: never poll it again
      ran = true;
      guarded(() => w.onReady(r));
    });
    return ran;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.#step();
      } catch (e) {
        // a failed poll(2) or pipe call: reported (the master's fail-safe path), and the loop
        // goes on through the event loop only, which its shutdown needs
        reportError(e);
        this.#block = false;
        this.#offThread = false;
        await new Promise((resolve) => denoSetTimeout(resolve, 10));
      }
    }
  }

  /** One wait and what it found. */
  async #step(): Promise<void> {
    if (this.#fireDue()) this.#unsettled = true;
    if (this.#stopped) return;
    const set = [...this.#watches.values()];
    const entries: PollEntry[] = set.map((w) => ({ fd: w.fd, events: w.events }));
    if (!this.#block || performance.now() < this.#busyUntil) {
      await this.#waitOffThread(set, entries, this.#timeout());
      this.#lastPark = performance.now();
      return;
    }
    if (this.#unsettled) {
      // what the callbacks started gets its turn first (and may set timers or watches)
      this.#unsettled = false;
      await this.#settle();
      return;
    }
    const parkIn = PARK_EVERY_MS - (performance.now() - this.#lastPark);
    if (parkIn <= 0) {
      await this.#park();
      return;
    }
    const loopFds = [...this.#eventFds, ...this.#wakeFds].map((fd) => ({ fd, events: POLLIN }));
    const timeout = this.#timeout();
    const limit = Math.ceil(parkIn);
    const revents = pollFds(
      [...entries, ...loopFds],
      timeout < 0 ? limit : Math.min(timeout, limit),
    );
    if (revents !== null && this.#dispatch(set, revents)) this.#unsettled = true;
    if (revents === null || revents.slice(set.length).some((r) => r !== 0)) {
      // the event loop has work: it runs freely for a while (event-loop mode)
      this.#busyUntil = performance.now() + BUSY_MS;
      await this.#park();
    }
  }

  /** Event-loop mode: the poll on a pool thread, cancelled by {@link #changed}. */
  async #waitOffThread(set: Watch[], entries: PollEntry[], timeout: number): Promise<void> {
    this.#cancel ??= openPipe();
    let limit = timeout;
    if (this.#block) {
      const busy = Math.max(0, Math.ceil(this.#busyUntil - performance.now()));
      limit = limit < 0 ? busy : Math.min(limit, busy);
    }
    this.#offThread = true;
    this.#cancelled = false;
    const revents = await pollFdsOffThread(
      [...entries, { fd: this.#cancel.read, events: POLLIN }],
      limit,
    );
    this.#offThread = false;
    if (revents === null) return;
    if (revents[set.length] !== 0) {
      while (readSome(this.#cancel.read, this.#scratch) === this.#scratch.length) {
        // drained in chunks
      }
    }
    this.#dispatch(set, revents);
  }

  /** One turn of the event loop through Deno's timers: it sleeps in the event loop's own wait. */
  async #park(): Promise<void> {
    await new Promise((resolve) => denoSetTimeout(resolve, 0));
    this.#lastPark = performance.now();
    this.#unsettled = false;
  }

  /**
   * One turn of the event loop that does not sleep: a message to ourselves. What the callbacks
   * started runs on before the thread blocks again: every promise reaction, however long the
   * chain, and the tasks queued meanwhile. (It does not make Deno see the completion of a call
   * it finishes on another thread: only a sleep of the event loop does, see
   * {@link PARK_EVERY_MS}.)
   */
  #settle(): Promise<void> {
    if (!this.#channel) {
      this.#channel = new MessageChannel();
      this.#channel.port1.onmessage = () => this.#settled?.();
    }
    const port = this.#channel.port2;
    return new Promise((resolve) => {
      this.#settled = resolve;
      port.postMessage(null);
    });
  }
}
