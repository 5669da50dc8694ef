/**
 * systemd's notification protocol (`sd_notify(3)`), without libsystemd: one `AF_UNIX` datagram
 * per state change (`READY=1`, `RELOADING=1`, `STOPPING=1`, `STATUS=…`, `WATCHDOG=1`), newline
 * separated assignments, sent to the socket named by `NOTIFY_SOCKET` (a path, or an abstract
 * name written with a leading `@`). The socket is made through libc (Deno FFI): Deno has no
 * unix datagram client.
 *
 * The socket is opened once, close-on-exec, and never bound (systemd identifies the sender
 * by its credentials). Sending never blocks (`MSG_DONTWAIT`): when the receiver's queue is
 * full the datagram is refused with an error rather than stalling the caller.
 *
 * @module
 */

import { libcGroup } from "./libc.ts";
import { lastSocketError, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_DGRAM, socketLibc } from "./socket.ts";

/** Address family of local (unix) sockets. */
export const AF_UNIX = 1;

/** Size of `sun_path` in `struct sockaddr_un`. */
const SUN_PATH_MAX = 108;

/** Offset of `sun_path` (after `sa_family_t`). */
const SUN_PATH_OFFSET = 2;

/**
 * `struct sockaddr_un` for `name` (a path, or `@name` for the abstract namespace) and the
 * address length to pass. Throws when the name does not fit.
 */
export function unixAddress(name: string): { addr: Uint8Array<ArrayBuffer>; len: number } {
  const bytes = new TextEncoder().encode(name);
  const abstract = name.startsWith("@");
  if (bytes.length === 0 || bytes.length > SUN_PATH_MAX - (abstract ? 0 : 1)) {
    throw new RangeError(
      `unix socket name "${name}": ${bytes.length} bytes; allowed: 1..${SUN_PATH_MAX - 1}`,
    );
  }
  const addr = new Uint8Array(new ArrayBuffer(SUN_PATH_OFFSET + SUN_PATH_MAX));
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(bytes, SUN_PATH_OFFSET);
  // abstract: a NUL instead of the "@", and the length counts exactly the name's bytes;
  // a path: the length includes its terminating NUL
  if (abstract) addr[SUN_PATH_OFFSET] = 0;
  return { addr, len: SUN_PATH_OFFSET + bytes.length + (abstract ? 0 : 1) };
}

const clockSymbols = {
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
} as const;

const clockLib = libcGroup(clockSymbols);

/** `CLOCK_MONOTONIC` in microseconds (systemd's `MONOTONIC_USEC=`). */
export function monotonicUsec(): bigint {
  const ts = new BigInt64Array(2);
  clockLib().clock_gettime(1, ts);
  return ts[0] * 1_000_000n + ts[1] / 1000n;
}

/** A connection to systemd's notification socket. */
export class SdNotifier {
  /** The socket name as given (`NOTIFY_SOCKET`). */
  readonly socket: string;
  readonly #addr: Uint8Array<ArrayBuffer>;
  readonly #len: number;
  #fd = -1;

  /** Prepares notifications to `socket` (a path or `@abstract`); nothing is opened yet. */
  constructor(socket: string) {
    this.socket = socket;
    const a = unixAddress(socket);
    this.#addr = a.addr;
    this.#len = a.len;
  }

  /**
   * The notifier `NOTIFY_SOCKET` names, or null when it is unset or empty (not started by
   * systemd with `Type=notify`).
   */
  static fromEnv(env: { get(name: string): string | undefined } = Deno.env): SdNotifier | null {
    const s = env.get("NOTIFY_SOCKET");
    return s === undefined || s === "" ? null : new SdNotifier(s);
  }

  /**
   * Sends one datagram of `NAME=value` lines. Throws a `SocketError` when the socket cannot
   * be made or the datagram cannot be sent (systemd gone, socket removed).
   */
  send(state: string): void {
    const libc = socketLibc();
    if (this.#fd < 0) {
      const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd < 0) throw lastSocketError("socket(AF_UNIX)");
      this.#fd = fd;
    }
    const data = new TextEncoder().encode(state);
    // never wait: a full receive queue must not stall the master's event loop
    const n = libc.sendto(this.#fd, data, BigInt(data.length), MSG_DONTWAIT, this.#addr, this.#len);
    if (n < 0) throw lastSocketError(`sendto(${this.socket})`);
  }

  /** Closes the socket (a later {@link send} opens a new one). */
  close(): void {
    if (this.#fd >= 0) socketLibc().close(this.#fd);
    this.#fd = -1;
  }
}

/**
 * The watchdog interval systemd asks for: `WATCHDOG_USEC` (in ms), when set and
 * `WATCHDOG_PID` is unset or ours; undefined otherwise.
 */
export function watchdogUsecFromEnv(
  env: { get(name: string): string | undefined } = Deno.env,
  pid = Deno.pid,
): number | undefined {
  const usec = env.get("WATCHDOG_USEC");
  if (usec === undefined || !/^\d+$/.test(usec) || Number(usec) === 0) return undefined;
  const wpid = env.get("WATCHDOG_PID");
  if (wpid !== undefined && wpid !== "" && Number(wpid) !== pid) return undefined;
  return Number(usec) / 1000;
}
