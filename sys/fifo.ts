/**
 * The few POSIX calls the meatware FIFO (`stonith/`) needs and Deno lacks: `mkfifo(3)` and a
 * non-blocking write-only `open(2)` (Deno can pass neither `O_NONBLOCK` nor report
 * ENXIO for a FIFO without a reader). libc is opened lazily (Deno FFI).
 *
 * @module
 */

import {
  cString,
  ERRNO_LOCATION,
  errnoOf,
  libcGroup,
  O_CLOEXEC,
  O_NONBLOCK,
  O_WRONLY,
  strerror,
} from "./libc.ts";

/** errno: no such file. */
export const ENOENT = 2;
/** errno: FIFO without a reader (non-blocking open for writing). */
export const ENXIO = 6;

const symbols = {
  mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  ...ERRNO_LOCATION,
} as const;

const libc: () => Deno.DynamicLibrary<typeof symbols>["symbols"] = libcGroup(symbols);

function errno(): number {
  return errnoOf(libc());
}

/** A failed call: errno and its text. */
export interface PosixFailure {
  /** errno value. */
  errno: number;
  /** `strerror(errno)`. */
  message: string;
}

/** `mkfifo(path, mode)` (umask applies). Returns null on success. */
export function mkfifo(path: string, mode: number): PosixFailure | null {
  if (libc().mkfifo(cString(path), mode) === 0) return null;
  const e = errno();
  return { errno: e, message: strerror(e) };
}

/** `open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)`: a descriptor, or why not. */
export function openWriteNonblocking(path: string): { fd: number } | PosixFailure {
  const fd = libc().open(cString(path), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) return { fd };
  const e = errno();
  return { errno: e, message: strerror(e) };
}

/** `write(fd, bytes)`: bytes written, or why not. */
export function writeFd(fd: number, bytes: Uint8Array<ArrayBuffer>): number | PosixFailure {
  const n = Number(libc().write(fd, bytes, BigInt(bytes.byteLength)));
  if (n >= 0) return n;
  const e = errno();
  return { errno: e, message: strerror(e) };
}

/** `close(fd)`. */
export function closeFd(fd: number): void {
  libc().close(fd);
}
