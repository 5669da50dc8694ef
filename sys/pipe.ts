/**
 * Pipes the master owns, for its channels to the core workers (`master/worker_pipes.ts`).
 *
 * `Deno.Command` gives a child's stdin and stdout to Deno's event loop and never shows their
 * descriptors, so the master could not wait for them with poll(2) on its own thread. Instead
 * the master makes two pipes per worker with `pipe2(2)` (close-on-exec, non-blocking on its
 * side) and the worker opens its two ends through `/proc/<master pid>/fd/<n>` (an anonymous
 * pipe opened by path is the same pipe, with a file description of its own), then moves them
 * onto its descriptors 0 and 1 ({@link adoptChannel}): the workers' code reads stdin and writes
 * stdout as before.
 *
 * Linux only. libc is opened on first use (Deno FFI); calls run on the calling thread.
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
import { EAGAIN, EINTR } from "./socket.ts";

const symbols = {
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  dup2: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  ...ERRNO_LOCATION,
} as const;

const libc: () => Deno.DynamicLibrary<typeof symbols>["symbols"] = libcGroup(symbols);

/** A failed pipe call: which call, errno and its text. */
export class PipeError extends Error {
  /** The errno value. */
  readonly errno: number;
  /** Creates the error for the failed call `call`. */
  constructor(call: string, errno: number) {
    super(`${call}: ${strerror(errno)}`);
    this.name = "PipeError";
    this.errno = errno;
  }
}

function fail(call: string): PipeError {
  return new PipeError(call, errnoOf(libc()));
}

/** The two descriptors of a pipe. */
export interface PipeFds {
  /** The read end. */
  readonly read: number;
  /** The write end. */
  readonly write: number;
}

/**
 * `pipe2(O_CLOEXEC | O_NONBLOCK)`: a pipe no child inherits, whose ends never block this
 * process. Throws {@link PipeError}.
 */
export function openPipe(): PipeFds {
  const fds = new Int32Array(2);
  if (libc().pipe2(new Uint8Array(fds.buffer), O_CLOEXEC | O_NONBLOCK) !== 0) {
    throw fail("pipe2");
  }
  return { read: fds[0], write: fds[1] };
}

/** close(2); an error (a descriptor closed twice) is ignored: nothing is left to release. */
export function closeFd(fd: number): void {
  libc().close(fd);
}

/**
 * One non-blocking write(2): the bytes written, 0 when the pipe is full (EAGAIN). Throws
 * {@link PipeError} otherwise (EPIPE: the reader is gone).
 */
export function writeSome(fd: number, bytes: Uint8Array<ArrayBuffer>): number {
  while (true) {
    const n = Number(libc().write(fd, bytes, BigInt(bytes.length)));
    if (n >= 0) return n;
    const e = errnoOf(libc());
    if (e === EAGAIN) return 0;
    if (e !== EINTR) throw new PipeError("write", e);
  }
}

/**
 * One non-blocking read(2): the bytes read, 0 at the end of the stream, -1 when nothing is
 * there (EAGAIN). Throws {@link PipeError} otherwise.
 */
export function readSome(fd: number, buf: Uint8Array<ArrayBuffer>): number {
  while (true) {
    const n = Number(libc().read(fd, buf, BigInt(buf.length)));
    if (n >= 0) return n;
    const e = errnoOf(libc());
    if (e === EAGAIN) return -1;
    if (e !== EINTR) throw new PipeError("read", e);
  }
}

/** The path through which another process of ours opens descriptor `fd` of this process. */
export function procFdPath(fd: number): string {
  return `/proc/${Deno.pid}/fd/${fd}`;
}

/**
 * In a worker: opens the master's pipe ends at `inPath` (to read) and `outPath` (to write) and
 * puts them on descriptors 0 and 1, replacing what the process was started with. Throws
 * {@link PipeError} (the master is gone, or /proc is not mounted).
 */
export function adoptChannel(inPath: string, outPath: string): void {
  const ends: [string, number, number][] = [[inPath, 0, 0], [outPath, O_WRONLY, 1]];
  for (const [path, flags, target] of ends) {
    const fd = libc().open(cString(path), flags | O_CLOEXEC);
    if (fd < 0) throw fail(`open ${path}`);
    // dup2 clears close-on-exec on the copy: what the worker execs (nothing today) would
    // inherit its channel as the stdio it was started with would have been
    if (libc().dup2(fd, target) < 0) throw fail("dup2");
    libc().close(fd);
  }
}
