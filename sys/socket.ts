/**
 * The libc socket calls shared by the UDP (`inet.ts`, `inet6.ts`) and ICMP (`icmp.ts`)
 * sockets: one FFI symbol table, one error type, one errno reader. Also the one home of the
 * Linux socket, errno and poll(2) constants every `sys/` module uses (`unix_socket.ts`,
 * `termios.ts`, `sd_notify.ts`, the workers' poll loop).
 *
 * `recvfrom` exists twice: {@link SocketLibc.recvfrom} blocks on FFI's thread pool (a reader
 * process waiting for its next packet, Heartbeat's read-child model), and
 * {@link SocketLibc.recvfromNow} runs on the calling thread; with {@link MSG_DONTWAIT} it
 * drains what is already queued without another thread hand-off.
 *
 * {@link pollIn} and {@link readNow} let a worker wait for its descriptors on its own JS thread
 * (see `workers/fd_loop.ts`).
 *
 * Linux x86_64/aarch64 constants only (the platforms we ship).
 *
 * @module
 */

import { ERRNO_LOCATION, errnoOf, libcGroup, strerror } from "./libc.ts";

/** Address family unix (local) sockets. */
export const AF_UNIX = 1;
/** Address family IPv4. */
export const AF_INET = 2;
/** Address family IPv6. */
export const AF_INET6 = 10;
/** Stream socket type. */
export const SOCK_STREAM = 1;
/** Datagram socket type. */
export const SOCK_DGRAM = 2;
/** Raw socket type. */
export const SOCK_RAW = 3;
/** socket(2) flag: non-blocking. */
export const SOCK_NONBLOCK = 0o4000;
/** socket(2) flag: close on exec. */
export const SOCK_CLOEXEC = 0o2000000;
/** Socket-level options. */
export const SOL_SOCKET = 1;
/** SOL_SOCKET option. */
export const SO_REUSEADDR = 2;
/** SOL_SOCKET option. */
export const SO_BROADCAST = 6;
/** SOL_SOCKET option. */
export const SO_SNDBUF = 7;
/** SOL_SOCKET option. */
export const SO_RCVBUF = 8;
/** SOL_SOCKET option. */
export const SO_REUSEPORT = 15;
/** SOL_SOCKET option: credentials of the peer of a connected unix socket. */
export const SO_PEERCRED = 17;
/** SOL_SOCKET option. */
export const SO_BINDTODEVICE = 25;
/** IPv4 option level. */
export const IPPROTO_IP = 0;
/** IPPROTO_IP option: type of service. */
export const IP_TOS = 1;
/** IPPROTO_IP option: outgoing multicast interface (by address). */
export const IP_MULTICAST_IF = 32;
/** IPPROTO_IP option: multicast time to live. */
export const IP_MULTICAST_TTL = 33;
/** IPPROTO_IP option: multicast loopback. */
export const IP_MULTICAST_LOOP = 34;
/** IPPROTO_IP option: join a multicast group. */
export const IP_ADD_MEMBERSHIP = 35;
/** IP_TOS value: low delay. */
export const IPTOS_LOWDELAY = 0x10;
/** IPv6 option level. */
export const IPPROTO_IPV6 = 41;
/** IPPROTO_IPV6 option: outgoing multicast interface (by index). */
export const IPV6_MULTICAST_IF = 17;
/** IPPROTO_IPV6 option: multicast hop limit. */
export const IPV6_MULTICAST_HOPS = 18;
/** IPPROTO_IPV6 option: multicast loopback. */
export const IPV6_MULTICAST_LOOP = 19;
/** IPPROTO_IPV6 option: join a multicast group. */
export const IPV6_JOIN_GROUP = 20;
/** recv/recvfrom/send flag: return EAGAIN instead of blocking. */
export const MSG_DONTWAIT = 0x40;
/** send flag: no SIGPIPE when the other end is gone. */
export const MSG_NOSIGNAL = 0x4000;
/** errno: no such process. */
export const ESRCH = 3;
/** errno: interrupted by a signal. */
export const EINTR = 4;
/** errno: try again (EWOULDBLOCK). */
export const EAGAIN = 11;
/** poll event: data to read. */
export const POLLIN = 0x1;
/** poll event: room to write. */
export const POLLOUT = 0x4;
/** poll event: error. */
export const POLLERR = 0x8;
/** poll event: the other end hung up. */
export const POLLHUP = 0x10;
/** poll event: not an open descriptor. */
export const POLLNVAL = 0x20;

const symbols = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
  },
  recvfrom: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"],
    result: "isize",
    nonblocking: true,
  },
  recvfromNow: {
    name: "recvfrom",
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"],
    result: "isize",
  },
  close: { parameters: ["i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  pollOffThread: {
    name: "poll",
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  ...ERRNO_LOCATION,
} as const;

/** The bound socket calls. */
export type SocketLibc = Deno.DynamicLibrary<typeof symbols>["symbols"];

const lib = libcGroup(symbols);

/** The socket calls of libc (opened on first use). */
export function socketLibc(): SocketLibc {
  return lib();
}

/** An OS error from a socket call, with errno and its text. */
export class SocketError extends Error {
  /** The errno value (0 when unknown). */
  readonly errno: number;
  /** Creates the error for the failed call `op`. */
  constructor(op: string, errno: number, text: string) {
    super(`${op}: ${text}`);
    this.name = "SocketError";
    this.errno = errno;
  }
}

/** The current errno of this thread, right after a failed socket call. */
export function currentErrno(): number {
  return errnoOf(socketLibc());
}

/** A {@link SocketError} for the failed call `op`, from errno and strerror. */
export function lastSocketError(op: string): SocketError {
  const errno = currentErrno();
  return new SocketError(op, errno, strerror(errno));
}

/** setsockopt(2); throws a {@link SocketError} named `name` when it fails. */
export function setSocketOption(
  fd: number,
  level: number,
  option: number,
  value: Uint8Array<ArrayBuffer>,
  name: string,
): void {
  if (socketLibc().setsockopt(fd, level, option, value, value.length) < 0) {
    throw lastSocketError(name);
  }
}

/**
 * The buffers of a datagram socket's non-blocking receive: payload and sender address
 * (`sockaddrLen` bytes: 16 for IPv4, 28 for IPv6).
 */
class ReceiveBuffer {
  /** The payload of the last datagram taken (its first {@link take} bytes). */
  readonly payload = new Uint8Array(65536);
  /** The sender's socket address of the last datagram taken. */
  readonly from: Uint8Array<ArrayBuffer>;
  readonly #fromLen = new Uint8Array(4);

  /** Buffers for sender addresses of `sockaddrLen` bytes. */
  constructor(sockaddrLen: number) {
    this.from = new Uint8Array(sockaddrLen);
  }

  /**
   * Takes one queued datagram from `fd` without waiting (MSG_DONTWAIT, on this thread):
   * its length, or -1 when none is queued or the call failed.
   */
  take(fd: number): number {
    new DataView(this.#fromLen.buffer).setUint32(0, this.from.length, true);
    return Number(
      socketLibc().recvfromNow(
        fd,
        this.payload,
        BigInt(this.payload.length),
        MSG_DONTWAIT,
        this.from,
        this.#fromLen,
      ),
    );
  }
}

/** A new datagram socket (close-on-exec) of address family `family`; throws {@link SocketError}. */
export function openDatagramFd(family: number): number {
  const fd = socketLibc().socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw lastSocketError("socket");
  return fd;
}

/** A datagram taken by {@link DatagramSocket.takeNow}, its sender address still raw. */
export interface RawDatagram {
  /** The payload (a copy). */
  bytes: Uint8Array;
  /** The sender's socket address (valid until the next take). */
  from: Uint8Array<ArrayBuffer>;
  /** Sender port. */
  port: number;
}

/**
 * What the IPv4 (`inet.ts`) and IPv6 (`inet6.ts`) UDP sockets share: the descriptor, the
 * set-up that closes the socket when a step fails, sending to a socket address, the
 * non-blocking receive and close.
 */
export abstract class DatagramSocket {
  /** The file descriptor. */
  readonly fd: number;
  #closed = false;
  readonly #rx: ReceiveBuffer;

  /** Takes over `fd`, whose senders' socket addresses have `sockaddrLen` bytes. */
  protected constructor(fd: number, sockaddrLen: number) {
    this.fd = fd;
    this.#rx = new ReceiveBuffer(sockaddrLen);
  }

  /** Runs `configure` on the new socket `sock`; closes it and rethrows when that throws. */
  protected static configured<T extends DatagramSocket>(sock: T, configure: () => void): T {
    try {
      configure();
    } catch (e) {
      sock.close();
      throw e;
    }
    return sock;
  }

  /** sendto(2) of one datagram to the socket address `sa`; throws {@link SocketError}. */
  protected sendTo(bytes: Uint8Array<ArrayBuffer>, sa: Uint8Array<ArrayBuffer>): void {
    const n = socketLibc().sendto(this.fd, bytes, BigInt(bytes.length), 0, sa, sa.length);
    if (Number(n) < 0) throw lastSocketError("sendto");
  }

  /**
   * Takes one datagram that is already queued, without waiting (MSG_DONTWAIT, on this
   * thread): `null` when none is queued, the socket is closed or the call failed.
   */
  protected takeNow(): RawDatagram | null {
    if (this.#closed) return null;
    const n = this.#rx.take(this.fd);
    if (n < 0) return null;
    const from = this.#rx.from;
    const port = new DataView(from.buffer).getUint16(2, false);
    return { bytes: this.#rx.payload.slice(0, n), from, port };
  }

  /** Closes the socket (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    socketLibc().close(this.fd);
  }
}

/** A C `int` option value for setsockopt. */
export function intOpt(n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n, true);
  return b;
}

/**
 * Waits (blocking this thread, at most `timeoutMs`, -1 = no limit) until one of `fds` is
 * readable or hung up. Returns the `revents` of each descriptor, in order (all 0 after the
 * timeout), or `null` when a signal interrupted the wait (EINTR).
 */
export function pollIn(fds: readonly number[], timeoutMs: number): number[] | null {
  const buf = new Uint8Array(8 * fds.length);
  const v = new DataView(buf.buffer);
  fds.forEach((fd, i) => {
    v.setInt32(8 * i, fd, true);
    v.setInt16(8 * i + 4, POLLIN, true);
  });
  const n = socketLibc().poll(buf, BigInt(fds.length), timeoutMs);
  if (n < 0) {
    if (currentErrno() === EINTR) return null;
    throw lastSocketError("poll");
  }
  return fds.map((_, i) => v.getInt16(8 * i + 6, true));
}

/** A descriptor and the events to wait for ({@link pollFds}). */
export interface PollEntry {
  /** The descriptor. */
  fd: number;
  /** `POLLIN`, `POLLOUT` or both. */
  events: number;
}

function pollBuffer(entries: readonly PollEntry[]): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(8 * entries.length);
  const v = new DataView(buf.buffer);
  entries.forEach((e, i) => {
    v.setInt32(8 * i, e.fd, true);
    v.setInt16(8 * i + 4, e.events, true);
  });
  return buf;
}

function pollResult(buf: Uint8Array<ArrayBuffer>, n: number, count: number): number[] | null {
  if (n < 0) {
    if (currentErrno() === EINTR) return null;
    throw lastSocketError("poll");
  }
  const v = new DataView(buf.buffer);
  return Array.from({ length: count }, (_, i) => v.getInt16(8 * i + 6, true));
}

/**
 * poll(2) on this thread for `entries`, at most `timeoutMs` (-1 = no limit): the `revents` of
 * each entry, in order, or `null` when a signal interrupted the wait (EINTR).
 */
export function pollFds(entries: readonly PollEntry[], timeoutMs: number): number[] | null {
  const buf = pollBuffer(entries);
  return pollResult(buf, socketLibc().poll(buf, BigInt(entries.length), timeoutMs), entries.length);
}

/**
 * {@link pollFds} on a thread of Deno's pool, leaving this thread's event loop free. errno is
 * that pool thread's, so a failure reads as EINTR (`null`): the caller just polls again.
 */
export async function pollFdsOffThread(
  entries: readonly PollEntry[],
  timeoutMs: number,
): Promise<number[] | null> {
  const buf = pollBuffer(entries);
  const n = await socketLibc().pollOffThread(buf, BigInt(entries.length), timeoutMs);
  return n < 0 ? null : pollResult(buf, n, entries.length);
}

/** read(2) into `buf`: the byte count, 0 at end of file; throws on an error. */
export function readNow(fd: number, buf: Uint8Array<ArrayBuffer>): number {
  while (true) {
    const n = Number(socketLibc().read(fd, buf, BigInt(buf.length)));
    if (n >= 0) return n;
    if (currentErrno() !== EINTR) throw lastSocketError("read");
  }
}
