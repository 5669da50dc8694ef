/**
 * Unix stream sockets and epoll through libc (Deno FFI), for the API server (`api/server.ts`).
 *
 * Deno's own `Deno.listen({transport: "unix"})` hides the file descriptors, so SO_PEERCRED
 * cannot be read from its connections. Here the server owns real descriptors: a non-blocking
 * listening socket, non-blocking accepted sockets, and one epoll set. `epoll_wait` is the only
 * call that may block; it is declared `nonblocking: true`, so Deno runs it on its FFI thread pool
 * and the JS event loop (the master's timers, workers, signals) never waits for clients. An
 * eventfd in the epoll set wakes the waiting call when the server stops.
 *
 * Linux only (x86_64 packs `struct epoll_event` into 12 bytes; other architectures use 16).
 *
 * @module
 */

import { ERRNO_LOCATION, errnoOf, libcGroup, strerror } from "./libc.ts";
import {
  AF_UNIX,
  ESRCH,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  SO_PEERCRED,
  SO_RCVBUF,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
} from "./socket.ts";

const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const EPOLL_CLOEXEC = 0o2000000;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;

/** EPOLLIN. */
export const EPOLLIN = 0x001;
/** EPOLLOUT. */
export const EPOLLOUT = 0x004;
/** EPOLLERR. */
export const EPOLLERR = 0x008;
/** EPOLLHUP. */
export const EPOLLHUP = 0x010;
/** EPOLLRDHUP. */
export const EPOLLRDHUP = 0x2000;

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "pointer", "pointer", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: {
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  ...ERRNO_LOCATION,
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
const libc: () => Libc = libcGroup(SYMBOLS);

/** errno of the last failed call on this thread. */
function errno(): number {
  return errnoOf(libc());
}

/** A failed socket call. */
export class SocketCallError extends Error {
  /** errno value. */
  readonly errno: number;
  /** Creates the error for call `op` with `err`. */
  constructor(op: string, err: number) {
    super(`${op}: ${strerror(err)}`);
    this.name = "SocketCallError";
    this.errno = err;
  }
}

function check(op: string, rc: number): number {
  if (rc < 0) throw new SocketCallError(op, errno());
  return rc;
}

function sockaddrUn(path: string): Uint8Array<ArrayBuffer> {
  const p = new TextEncoder().encode(path);
  if (p.length > 107) throw new SocketCallError(`bind(${path})`, 36 /* ENAMETOOLONG */);
  const sa = new Uint8Array(110);
  new DataView(sa.buffer).setUint16(0, AF_UNIX, true);
  sa.set(p, 2);
  return sa;
}

/**
 * Creates a non-blocking listening unix stream socket bound to `path` (an existing file there
 * is removed first) with the given backlog. Returns the descriptor.
 */
export function listenUnix(path: string, backlog = 128): number {
  const c = libc();
  try {
    Deno.removeSync(path);
  } catch {
    // no old socket there; any other reason makes the bind below fail with its errno
  }
  const fd = check("socket", c.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  try {
    const sa = sockaddrUn(path);
    check(`bind(${path})`, c.bind(fd, sa, sa.length));
    check("listen", c.listen(fd, backlog));
  } catch (e) {
    c.close(fd);
    throw e;
  }
  return fd;
}

/**
 * Accepts one pending connection as a non-blocking, close-on-exec descriptor; `-1` when none
 * is pending (EAGAIN) or on a transient error.
 */
export function acceptNonBlocking(listenFd: number): number {
  const fd = libc().accept4(listenFd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
  return fd;
}

/** Kernel credentials of the peer of a connected unix socket, or undefined on failure. */
export function peerCred(fd: number): { pid: number; uid: number; gid: number } | undefined {
  const buf = new Uint8Array(12);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, 12, true);
  if (libc().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, buf, len) < 0) return undefined;
  const v = new DataView(buf.buffer);
  return { pid: v.getInt32(0, true), uid: v.getUint32(4, true), gid: v.getUint32(8, true) };
}

/** Sets SO_RCVBUF (Heartbeat shrinks it to 4096 at sign-on). Errors are ignored. */
export function setReceiveBuffer(fd: number, bytes: number): void {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, bytes, true);
  libc().setsockopt(fd, SOL_SOCKET, SO_RCVBUF, b, 4);
}

/**
 * Non-blocking receive: the byte count (0 = EOF), or `-EAGAIN` when nothing is pending, or
 * `-errno` on an error.
 */
export function recvSome(fd: number, buf: Uint8Array<ArrayBuffer>): number {
  const n = Number(libc().recv(fd, buf, BigInt(buf.length), MSG_DONTWAIT));
  return n < 0 ? -errno() : n;
}

/** Non-blocking send without SIGPIPE: bytes written, or `-errno` (`-EAGAIN` when full). */
export function sendSome(fd: number, buf: Uint8Array<ArrayBuffer>): number {
  const n = Number(libc().send(fd, buf, BigInt(buf.length), MSG_DONTWAIT | MSG_NOSIGNAL));
  return n < 0 ? -errno() : n;
}

/** close(2), errors ignored. */
export function closeFd(fd: number): void {
  libc().close(fd);
}

/**
 * `kill(pid, sig)`: true when the process exists (success or EPERM), false on ESRCH or for a
 * pid ≤ 0.
 */
export function processAlive(pid: number, sig = 0): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (libc().kill(pid, sig) === 0) return true;
  return errno() !== ESRCH;
}

const EVENT_SIZE = Deno.build.arch === "x86_64" ? 12 : 16;
const DATA_OFFSET = Deno.build.arch === "x86_64" ? 4 : 8;

/** One readiness event. */
export interface PollEvent {
  /** Descriptor. */
  fd: number;
  /** EPOLL* bits. */
  events: number;
}

/**
 * An epoll set plus a wake-up eventfd. {@link Poller.wait} runs epoll_wait on FFI's thread pool
 * and never blocks the JS thread.
 */
export class Poller {
  readonly #ep: number;
  readonly #wake: number;
  readonly #max: number;
  readonly #events: Uint8Array<ArrayBuffer>;
  #waiting = false;
  #closed = false;

  /** Creates the epoll set (throws {@link SocketCallError}). */
  constructor(maxEvents = 256) {
    const c = libc();
    this.#max = maxEvents;
    this.#events = new Uint8Array(EVENT_SIZE * maxEvents);
    this.#ep = check("epoll_create1", c.epoll_create1(EPOLL_CLOEXEC));
    const w = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w < 0) {
      const e = new SocketCallError("eventfd", errno());
      c.close(this.#ep);
      throw e;
    }
    this.#wake = w;
    this.add(w, EPOLLIN);
  }

  /** The epoll descriptor: readable while an event is waiting for {@link Poller.wait}. */
  get fd(): number {
    return this.#ep;
  }

  #ctl(op: number, fd: number, events: number): boolean {
    const ev = new Uint8Array(16);
    const dv = new DataView(ev.buffer);
    dv.setUint32(0, events, true);
    dv.setUint32(DATA_OFFSET, fd, true);
    return libc().epoll_ctl(this.#ep, op, fd, ev) === 0;
  }

  /** Adds `fd` with the given interest. */
  add(fd: number, events: number): boolean {
    return this.#ctl(EPOLL_CTL_ADD, fd, events);
  }

  /** Changes the interest of `fd`. */
  modify(fd: number, events: number): boolean {
    return this.#ctl(EPOLL_CTL_MOD, fd, events);
  }

  /** Removes `fd` (do this before closing it). */
  remove(fd: number): void {
    this.#ctl(EPOLL_CTL_DEL, fd, 0);
  }

  /**
   * Waits for readiness (at most `timeoutMs`, -1 = no limit) off the JS thread. The wake-up
   * descriptor is drained and not reported. Returns [] after {@link Poller.wake}.
   */
  async wait(timeoutMs = -1): Promise<PollEvent[]> {
    if (this.#closed || this.#waiting) return [];
    this.#waiting = true;
    let n: number;
    try {
      n = await libc().epoll_wait(this.#ep, this.#events, this.#max, timeoutMs);
    } finally {
      this.#waiting = false;
    }
    const out: PollEvent[] = [];
    if (n <= 0 || this.#closed) return out;
    const dv = new DataView(this.#events.buffer);
    for (let i = 0; i < n; i++) {
      const events = dv.getUint32(i * EVENT_SIZE, true);
      const fd = dv.getUint32(i * EVENT_SIZE + DATA_OFFSET, true);
      if (fd === this.#wake) {
        libc().read(this.#wake, new Uint8Array(8), 8n);
        continue;
      }
      out.push({ fd, events });
    }
    return out;
  }

  /** Makes a pending {@link Poller.wait} return. */
  wake(): void {
    const one = new Uint8Array(8);
    one[0] = 1;
    libc().write(this.#wake, one, 8n);
  }

  /** True while a wait is in flight. */
  get waiting(): boolean {
    return this.#waiting;
  }

  /** Closes the epoll set and the eventfd (call when no wait is in flight). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    libc().close(this.#wake);
    libc().close(this.#ep);
  }
}
