/**
 * Replacing the current process image (`execv`) and preparing the process
 * for it, through libc (Deno FFI). Deno has no `exec()`: the respawn
 * launcher (`main.ts __exec_as`) uses this to become the client program, so
 * the pid the master tracks and logs is the client's own pid, as in
 * Heartbeat.
 *
 * Linux only (x86_64/aarch64). Like `sys/inet.ts`, this module opens its own
 * handle on libc lazily; no call throws.
 *
 * @module
 */

import {
  cString,
  ERRNO_LOCATION,
  errnoOf,
  libcGroup,
  O_CLOEXEC,
  O_RDWR,
  strerror,
} from "./libc.ts";

/** `close_range` flag: mark the range close-on-exec instead of closing it now. */
const CLOSE_RANGE_CLOEXEC = 1 << 2;
const F_SETFD = 2;
const SIG_SETMASK = 2;
const FD_CLOEXEC = 1;
/** Signal numbers 1-64 except SIGKILL (9) and SIGSTOP (19), which cannot be changed. */
const RESETTABLE_SIGNALS = Array.from({ length: 64 }, (_, i) => i + 1).filter((s) =>
  s !== 9 && s !== 19
);
/** `rt_sigaction` system call number (glibc's `signal` refuses its reserved signals 32, 33). */
const SYS_RT_SIGACTION = Deno.build.arch === "aarch64" ? 134 : 13;

const symbols = {
  execv: { parameters: ["buffer", "buffer"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  dup2: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  close_range: { parameters: ["u32", "u32", "i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // syscall is variadic; integer arguments pass as fixed ones on x86_64 and aarch64 Linux.
  syscall: { parameters: ["i64", "i64", "buffer", "buffer", "u64"], result: "i64" },
  sigprocmask: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  ...ERRNO_LOCATION,
} as const;

type Lib = Deno.DynamicLibrary<typeof symbols>["symbols"];
const libc: () => Lib = libcGroup(symbols);

/** A failed call: its name, errno and strerror text. */
export interface ExecError {
  /** The libc function that failed. */
  call: string;
  /** errno after the call. */
  errno: number;
  /** strerror(errno). */
  text: string;
}

function lastError(call: string): ExecError {
  const errno = errnoOf(libc());
  return { call, errno, text: strerror(errno) };
}

/**
 * Points stdin, stdout and stderr at `/dev/null` (the pipes they replaced are
 * closed by `dup2`). Returns an error, or null on success.
 */
export function stdioToDevNull(): ExecError | null {
  const c = libc();
  const fd = c.open(cString("/dev/null"), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) return lastError("open(/dev/null)");
  for (const target of [0, 1, 2]) {
    if (c.dup2(fd, target) < 0) return lastError("dup2");
  }
  if (fd > 2) c.close(fd);
  return null;
}

/**
 * Marks every descriptor from 3 up close-on-exec (`close_range` with
 * CLOSE_RANGE_CLOEXEC, else `fcntl` on each entry of /proc/self/fd), so the
 * exec'd program starts with only stdin, stdout and stderr. Closing them
 * outright would pull descriptors from under the Deno runtime still running.
 */
export function closeOnExecFrom3(): ExecError | null {
  const c = libc();
  if (c.close_range(3, 0xffff_ffff, CLOSE_RANGE_CLOEXEC) === 0) return null;
  try {
    for (const e of Deno.readDirSync("/proc/self/fd")) {
      const fd = Number(e.name);
      if (fd > 2) c.fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  } catch {
    return lastError("close_range");
  }
  return null;
}

/**
 * Restores default dispositions of every signal and unblocks them all for
 * the calling thread: ignored signals (the Rust runtime ignores SIGPIPE;
 * something in the runtime ignores signal 32 too) and the signal mask
 * survive `execv`, handlers do not.
 */
export function resetSignals(): void {
  const c = libc();
  // kernel struct sigaction all zero: SIG_DFL, no flags, empty mask
  const dfl = new Uint8Array(new ArrayBuffer(32));
  for (const s of RESETTABLE_SIGNALS) c.syscall(BigInt(SYS_RT_SIGACTION), BigInt(s), dfl, null, 8n);
  const empty = new Uint8Array(new ArrayBuffer(128)); // sigset_t, all clear
  c.sigprocmask(SIG_SETMASK, empty, null);
}

/**
 * `execv(path, argv)`: replaces the process image; the current environment
 * (`environ`) is passed on. Returns only on failure, with the error.
 */
export function execv(path: string, argv: readonly string[]): ExecError {
  const strings = argv.map((a) => cString(a));
  const ptrs = new BigUint64Array(new ArrayBuffer((strings.length + 1) * 8));
  strings.forEach((s, i) => {
    ptrs[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(s)));
  });
  ptrs[strings.length] = 0n;
  libc().execv(cString(path), new Uint8Array(ptrs.buffer));
  // still referenced here so the argument buffers stay alive across the call
  void strings.length;
  return lastError("execv");
}
