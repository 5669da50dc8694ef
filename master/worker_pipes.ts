/**
 * The master's end of one worker's channel: two pipes it owns (`sys/pipe.ts`), read and
 * written on its own thread through its {@link WaitLoop}.
 *
 * The worker opens its ends by path (`CHANNEL_ENV`, `workers/mod.ts`); the master keeps its
 * copies of those ends until the worker's first frame shows it has them (or it exits), so a
 * worker that dies early never leaves the master waiting on a pipe nobody can write.
 *
 * Writes never block the master: a full pipe (a worker stuck in a write to a serial line)
 * queues frames, up to {@link MAX_QUEUED} bytes, and sends them as the pipe drains; beyond
 * that, frames are dropped and counted.
 *
 * @module
 */

import {
  ChannelError,
  encodeControl,
  encodePacket,
  type Frame,
  FrameDecoder,
} from "../workers/channel.ts";
import { closeFd, openPipe, type PipeFds, procFdPath, readSome, writeSome } from "../sys/pipe.ts";
import { POLLIN, POLLOUT } from "../sys/socket.ts";
import type { WaitLoop } from "./wait_loop.ts";

/** Bytes queued for a worker whose pipe is full, at most; later frames are dropped. */
export const MAX_QUEUED = 1 << 20;

/** What the master hears from a worker's channel. */
export interface WorkerPipeHooks {
  /** Frames read from the worker. */
  onFrames(frames: Frame[]): void;
  /** The channel ended: the worker closed it (`null`) or sent something corrupt. */
  onEnd(error: ChannelError | null): void;
  /** The first frame the master could not queue (later ones are only counted in `dropped`). */
  onDrop?(): void;
}

/** One worker's channel, master side. */
export class WorkerPipes {
  readonly #loop: WaitLoop;
  readonly #hooks: WorkerPipeHooks;
  readonly #toWorker: PipeFds;
  readonly #fromWorker: PipeFds;
  readonly #decoder = new FrameDecoder();
  readonly #buf = new Uint8Array(65536);
  #workerEnds = true;
  #queue: Uint8Array<ArrayBuffer>[] = [];
  #queued = 0;
  #broken = false;
  #closed = false;
  /** Frames dropped: the worker's pipe and the queue were full. */
  dropped = 0;

  /** Makes the pipes and starts reading the worker's. Throws `PipeError`. */
  constructor(loop: WaitLoop, hooks: WorkerPipeHooks) {
    this.#loop = loop;
    this.#hooks = hooks;
    this.#toWorker = openPipe();
    try {
      this.#fromWorker = openPipe();
    } catch (e) {
      closeFd(this.#toWorker.read);
      closeFd(this.#toWorker.write);
      throw e;
    }
    loop.watch(this.#fromWorker.read, POLLIN, () => this.#read());
  }

  /** The worker's `CHANNEL_ENV` value: the paths of its read end and of its write end. */
  workerPaths(): string {
    return `${procFdPath(this.#toWorker.read)} ${procFdPath(this.#fromWorker.write)}`;
  }

  /** Closes the master's copies of the worker's ends (the worker has opened them, or died). */
  releaseWorkerEnds(): void {
    if (!this.#workerEnds) return;
    this.#workerEnds = false;
    closeFd(this.#toWorker.read);
    closeFd(this.#fromWorker.write);
  }

  /** Queues a control frame. */
  control(value: unknown): void {
    this.#send(encodeControl(value));
  }

  /** Queues a packet frame. */
  packet(bytes: Uint8Array): void {
    this.#send(encodePacket(bytes));
  }

  /**
   * The worker has exited: reads what it left in the pipe (its last log lines), then closes
   * everything.
   */
  drainAndClose(): void {
    this.releaseWorkerEnds();
    if (!this.#closed) this.#read();
    this.close();
  }

  /** Closes the master's ends; later sends are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.releaseWorkerEnds();
    this.#loop.unwatch(this.#fromWorker.read);
    this.#loop.unwatch(this.#toWorker.write);
    closeFd(this.#fromWorker.read);
    closeFd(this.#toWorker.write);
    this.#queue = [];
  }

  /** Reads until the pipe is empty; ends the channel at its end or on a corrupt frame. */
  #read(): void {
    while (!this.#closed) {
      let n: number;
      try {
        n = readSome(this.#fromWorker.read, this.#buf);
      } catch {
        n = 0; // a read error ends the channel as its end does
      }
      if (n < 0) return;
      if (n === 0) {
        this.#loop.unwatch(this.#fromWorker.read);
        this.#hooks.onEnd(null);
        return;
      }
      this.releaseWorkerEnds();
      let frames: Frame[];
      try {
        frames = this.#decoder.push(this.#buf.slice(0, n));
      } catch (e) {
        this.#loop.unwatch(this.#fromWorker.read);
        this.#hooks.onEnd(e instanceof ChannelError ? e : new ChannelError(String(e)));
        return;
      }
      if (frames.length > 0) this.#hooks.onFrames(frames);
    }
  }

  #send(frame: Uint8Array<ArrayBuffer>): void {
    if (this.#closed || this.#broken) return;
    if (this.#queue.length > 0) {
      if (this.#queued + frame.length > MAX_QUEUED) {
        if (this.dropped++ === 0) this.#hooks.onDrop?.();
        return;
      }
      this.#queue.push(frame);
      this.#queued += frame.length;
      return;
    }
    this.#queue.push(frame);
    this.#queued = frame.length;
    this.#flush();
  }

  /** Writes queued frames until the pipe is full; then waits for it to drain. */
  #flush(): void {
    try {
      while (this.#queue.length > 0) {
        const head = this.#queue[0];
        const n = writeSome(this.#toWorker.write, head);
        this.#queued -= n;
        if (n === head.length) {
          this.#queue.shift();
          continue;
        }
        this.#queue[0] = head.subarray(n);
        this.#loop.watch(this.#toWorker.write, POLLOUT, () => this.#flush());
        return;
      }
      this.#loop.unwatch(this.#toWorker.write);
    } catch {
      // EPIPE: the worker is gone; its exit is handled where its process is watched
      this.#broken = true;
      this.#queue = [];
      this.#queued = 0;
      this.#loop.unwatch(this.#toWorker.write);
    }
  }
}
