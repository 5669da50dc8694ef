/**
 * A stand-in for systemd's notification socket in tests: binds an `AF_UNIX` datagram socket
 * (a path, or `@abstract`) through libc and collects every datagram sent to it, with the time
 * it was read.
 *
 * @module
 */

import { AF_UNIX, unixAddress } from "../../sys/sd_notify.ts";
import {
  lastSocketError,
  MSG_DONTWAIT,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  socketLibc,
} from "../../sys/socket.ts";

/** One received notification. */
export interface Notification {
  /** The datagram's text. */
  text: string;
  /** `performance.now()` when it was read. */
  at: number;
}

/** A bound notification socket that drains itself every few milliseconds. */
export class NotifyListener {
  /** The socket name (value for `NOTIFY_SOCKET`). */
  readonly name: string;
  /** Everything received so far, in order. */
  readonly received: Notification[] = [];
  readonly #fd: number;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #buf = new Uint8Array(new ArrayBuffer(4096));

  /** Binds `name` (a path is removed first if it exists) and starts draining. */
  constructor(name: string) {
    this.name = name;
    const libc = socketLibc();
    if (!name.startsWith("@")) {
      try {
        Deno.removeSync(name);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw lastSocketError("socket(AF_UNIX)");
    const a = unixAddress(name);
    if (libc.bind(fd, a.addr, a.len) < 0) {
      const err = lastSocketError(`bind(${name})`);
      libc.close(fd);
      throw err;
    }
    this.#fd = fd;
    this.#timer = setInterval(() => this.drain(), 5);
  }

  /** Reads every queued datagram into {@link received}. */
  drain(): void {
    const libc = socketLibc();
    for (;;) {
      const n = Number(
        libc.recvfromNow(this.#fd, this.#buf, BigInt(this.#buf.length), MSG_DONTWAIT, null, null),
      );
      if (n < 0) return;
      this.received.push({
        text: new TextDecoder().decode(this.#buf.subarray(0, n)),
        at: performance.now(),
      });
    }
  }

  /** Waits until a received datagram satisfies `pred` (checked from index `from`). */
  async waitFor(
    pred: (text: string) => boolean,
    opts: { timeoutMs?: number; from?: number } = {},
  ): Promise<number> {
    const deadline = performance.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      this.drain();
      const i = this.received.findIndex((n, k) => k >= (opts.from ?? 0) && pred(n.text));
      if (i >= 0) return i;
      if (performance.now() > deadline) {
        throw new Error(
          `no matching notification on ${this.name} after ${opts.timeoutMs ?? 10_000} ms; got: ` +
            JSON.stringify(this.received.map((n) => n.text)),
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Stops draining, closes the socket and removes its path. */
  close(): void {
    clearInterval(this.#timer);
    socketLibc().close(this.#fd);
    if (!this.name.startsWith("@")) {
      try {
        Deno.removeSync(this.name);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
