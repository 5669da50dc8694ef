/**
 * Thin, lazily loaded bindings to the handful of glibc functions hb needs and Deno does not
 * offer: syslog, prctl, credentials, scheduling, memory locking.
 *
 * - `libc.so.6` is opened with `Deno.dlopen` on the first call of any wrapper, never at import
 *   time, so processes that never call into libc do not pay for it (nor need `--allow-ffi`).
 *   The import graph stays static, so this works inside a `deno compile` binary.
 * - No wrapper throws. Calls that can fail return a {@link LibcResult}; the error carries the
 *   name of the call and `errno` (read through `__errno_location` right after the failing
 *   call, on the same thread). When libc cannot be loaded at all (no FFI permission, not
 *   glibc) every call fails with {@link LibcError.code} `"ENOLIBC"`.
 * - Calls are synchronous and run on the calling (main JavaScript) thread. Per-thread kernel
 *   state (scheduling policy, `comm` name) therefore applies to that thread, which for the
 *   main Deno thread is also the thread-group leader seen by `ps`.
 *
 * @module
 */

/** Successful result of a libc call. */
export interface LibcOk<T> {
  /** Always true. */
  readonly ok: true;
  /** The value returned by the call. */
  readonly value: T;
}

/** Failed result of a libc call. */
export interface LibcFail {
  /** Always false. */
  readonly ok: false;
  /** What failed and why. */
  readonly error: LibcError;
}

/** Result of a libc wrapper: never thrown, always returned. */
export type LibcResult<T> = LibcOk<T> | LibcFail;

/** Symbolic names of the errno values hb is likely to see (Linux numbering). */
const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  22: "EINVAL",
  38: "ENOSYS",
  88: "ENOTSOCK",
  92: "ENOPROTOOPT",
  95: "EOPNOTSUPP",
};

/** Error describing a failed libc call. */
export class LibcError extends Error {
  /** The libc function that failed, e.g. `"prctl"`. */
  readonly call: string;
  /** The `errno` value after the call (0 when libc could not be loaded). */
  readonly errno: number;
  /** Symbolic errno name (`"EPERM"`, …), `"E<n>"` if unknown, `"ENOLIBC"` if libc is missing. */
  readonly code: string;

  /**
   * @param call name of the libc function
   * @param errno errno value observed after the call
   * @param detail human-readable reason (strerror text)
   * @param code symbolic code, derived from errno when omitted
   */
  constructor(call: string, errno: number, detail: string, code?: string) {
    super(`${call}: ${detail}`);
    this.name = "LibcError";
    this.call = call;
    this.errno = errno;
    this.code = code ?? ERRNO_NAMES[errno] ?? `E${errno}`;
  }
}

// ---- constants -------------------------------------------------------------------------

/** syslog priorities (`<syslog.h>`). */
export const LOG_EMERG = 0;
/** syslog priority alert. */
export const LOG_ALERT = 1;
/** syslog priority crit. */
export const LOG_CRIT = 2;
/** syslog priority err. */
export const LOG_ERR = 3;
/** syslog priority warning. */
export const LOG_WARNING = 4;
/** syslog priority notice. */
export const LOG_NOTICE = 5;
/** syslog priority info. */
export const LOG_INFO = 6;
/** syslog priority debug. */
export const LOG_DEBUG = 7;

/** `openlog` option: include the pid (Heartbeat does not use it). */
export const LOG_PID = 0x01;
/** `openlog` option: connect immediately. */
export const LOG_NDELAY = 0x08;

/** syslog facility codes (already shifted, as passed to `openlog`). */
export const LOG_FACILITIES: Readonly<Record<string, number>> = {
  kern: 0 << 3,
  user: 1 << 3,
  mail: 2 << 3,
  daemon: 3 << 3,
  auth: 4 << 3,
  syslog: 5 << 3,
  lpr: 6 << 3,
  news: 7 << 3,
  uucp: 8 << 3,
  cron: 9 << 3,
  authpriv: 10 << 3,
  ftp: 11 << 3,
  security: 4 << 3, // deprecated alias of auth
  local0: 16 << 3,
  local1: 17 << 3,
  local2: 18 << 3,
  local3: 19 << 3,
  local4: 20 << 3,
  local5: 21 << 3,
  local6: 22 << 3,
  local7: 23 << 3,
};

/** prctl option: set the calling thread's `comm` name (15 bytes + NUL). */
export const PR_SET_NAME = 15;
/** prctl option: read the calling thread's `comm` name. */
export const PR_GET_NAME = 16;
/** prctl option: modify the memory map descriptors of the process. */
export const PR_SET_MM = 35;
/** PR_SET_MM sub-option: start of the argument area (needs CAP_SYS_RESOURCE). */
export const PR_SET_MM_ARG_START = 8;
/** PR_SET_MM sub-option: end of the argument area (needs CAP_SYS_RESOURCE). */
export const PR_SET_MM_ARG_END = 9;
/** PR_SET_MM sub-option: replace all descriptors at once (checkpoint/restore interface). */
export const PR_SET_MM_MAP = 14;
/** PR_SET_MM sub-option: size of `struct prctl_mm_map` the kernel expects. */
export const PR_SET_MM_MAP_SIZE = 15;

/** Scheduling policies. */
export const SCHED_OTHER = 0;
/** FIFO real-time policy. */
export const SCHED_FIFO = 1;
/** Round-robin real-time policy (the one Heartbeat uses). */
export const SCHED_RR = 2;

/** `mlockall` flags. */
export const MCL_CURRENT = 1;
/** Lock future mappings too. */
export const MCL_FUTURE = 2;
/** Lock pages only once they are faulted in (Linux ≥ 4.4). */
export const MCL_ONFAULT = 4;

/** `mlock2` flag: lock pages only once they are faulted in (Linux ≥ 4.4). */
export const MLOCK_ONFAULT = 1;

/** `setpriority` "which" value for a process. */
export const PRIO_PROCESS = 0;

/** open(2) flag: read and write. */
export const O_RDWR = 0o2;
/** open(2) flag: write only. */
export const O_WRONLY = 0o1;
/** open(2) flag: a terminal never becomes the controlling one. */
export const O_NOCTTY = 0o400;
/** open(2) flag: non-blocking. */
export const O_NONBLOCK = 0o4000;
/** open(2) flag: close on exec. */
export const O_CLOEXEC = 0o2000000;

/** rlimit resource: locked-in memory. */
export const RLIMIT_MEMLOCK = 8;
/** rlimit "no limit" value. */
export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

// ---- loading ---------------------------------------------------------------------------

/**
 * The one place that opens libc (Deno FFI). Each concern declares its own group of symbols and
 * gets a getter that opens them on first use, so a process that never needs a group does not bind
 * it; the OS maps `libc.so.6` once whatever the number of groups. Every FFI user of the project
 * (`sys/` modules only) goes through this function.
 */
export function libcGroup<S extends Deno.ForeignLibraryInterface>(
  symbols: S,
): () => Deno.DynamicLibrary<S>["symbols"] {
  let opened: Deno.DynamicLibrary<S>["symbols"] | undefined;
  return () => {
    opened ??= Deno.dlopen("libc.so.6", symbols).symbols;
    return opened;
  };
}

/**
 * The `__errno_location` symbol: every group of symbols whose calls set errno declares it with
 * them, so the errno reader is bound before the call that fails (opening a group on first use
 * may itself change errno).
 */
export const ERRNO_LOCATION = {
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/**
 * errno of the calling thread, read through `lib`, the group whose call just failed (see
 * {@link ERRNO_LOCATION}); read it before anything else runs on this thread.
 */
export function errnoOf(lib: { __errno_location(): Deno.PointerValue }): number {
  const p = lib.__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

const SYMBOLS = {
  ...ERRNO_LOCATION,
  strerror: { parameters: ["i32"], result: "pointer" },
  openlog: { parameters: ["buffer", "i32", "i32"], result: "void" },
  // syslog is variadic; calling it with exactly (pri, "%s", msg) as fixed arguments is
  // ABI-compatible on x86_64 and aarch64 Linux.
  syslog: { parameters: ["i32", "buffer", "buffer"], result: "void" },
  closelog: { parameters: [], result: "void" },
  // prctl is variadic too; the kernel always reads five unsigned longs.
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  getpid: { parameters: [], result: "i32" },
  getuid: { parameters: [], result: "u32" },
  geteuid: { parameters: [], result: "u32" },
  getgid: { parameters: [], result: "u32" },
  getegid: { parameters: [], result: "u32" },
  setsid: { parameters: [], result: "i32" },
  umask: { parameters: ["u32"], result: "u32" },
  mlockall: { parameters: ["i32"], result: "i32" },
  munlockall: { parameters: [], result: "i32" },
  mlock2: { parameters: ["usize", "usize", "u32"], result: "i32" },
  sched_setscheduler: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  sched_getscheduler: { parameters: ["i32"], result: "i32" },
  sched_get_priority_min: { parameters: ["i32"], result: "i32" },
  sched_get_priority_max: { parameters: ["i32"], result: "i32" },
  setpriority: { parameters: ["i32", "u32", "i32"], result: "i32" },
  setgroups: { parameters: ["usize", "buffer"], result: "i32" },
  initgroups: { parameters: ["buffer", "u32"], result: "i32" },
  setgid: { parameters: ["u32"], result: "i32" },
  setuid: { parameters: ["u32"], result: "i32" },
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  sbrk: { parameters: ["isize"], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let lib: Libc | null = null;
let loadError: LibcError | null = null;

/**
 * Opens libc on first use. Returns null (and remembers why) when that is impossible.
 */
function load(): Libc | null {
  if (lib !== null) return lib;
  if (loadError !== null) return null;
  try {
    lib = libcGroup(SYMBOLS)();
  } catch (e) {
    loadError = new LibcError(
      "dlopen",
      0,
      `cannot load libc.so.6: ${e instanceof Error ? e.message : String(e)}`,
      "ENOLIBC",
    );
  }
  return lib;
}

/** True when libc could be (or already was) loaded; loads it as a side effect. */
export function libcAvailable(): boolean {
  return load() !== null;
}

/** Why libc could not be loaded, or null if it was loaded or never tried. */
export function libcLoadError(): LibcError | null {
  return loadError;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Encodes a string as a NUL-terminated C string in an off-heap (non-moving) buffer. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode(s);
  const buf = new Uint8Array(new ArrayBuffer(bytes.length + 1));
  buf.set(bytes);
  return buf;
}

function readCString(p: Deno.PointerValue): string {
  if (p === null) return "";
  return new Deno.UnsafePointerView(p).getCString();
}

/** `strerror(errnum)` text, e.g. "Operation not permitted". */
export function strerror(errnum: number): string {
  const l = load();
  if (l === null) return `errno ${errnum}`;
  return readCString(l.strerror(errnum));
}

function fail(l: Libc | null, call: string): LibcFail {
  if (l === null) return { ok: false, error: loadError! };
  const e = errnoOf(l);
  return { ok: false, error: new LibcError(call, e, readCString(l.strerror(e))) };
}

function noLib(): LibcFail {
  return { ok: false, error: loadError! };
}

const OK_VOID: LibcOk<void> = { ok: true, value: undefined };

/** Wraps a call returning -1 on failure (errno set) and anything else on success. */
function checked(l: Libc, call: string, rc: number): LibcResult<number> {
  return rc === -1 ? fail(l, call) : { ok: true, value: rc };
}

function checkedVoid(l: Libc, call: string, rc: number): LibcResult<void> {
  return rc === -1 ? fail(l, call) : OK_VOID;
}

// ---- syslog ----------------------------------------------------------------------------

const FMT_S = cString("%s");

/**
 * `openlog(ident, option, facility)`. glibc keeps the ident pointer, so the caller must keep
 * `ident` alive (and unchanged) until the next `openlog`/`closelog`; use {@link cString}.
 */
export function openlog(
  ident: Uint8Array<ArrayBuffer>,
  option: number,
  facility: number,
): LibcResult<void> {
  const l = load();
  if (l === null) return noLib();
  l.openlog(ident, option, facility);
  return OK_VOID;
}

/**
 * `syslog(priority, "%s", message)`: the message is never interpreted as a format.
 * `priority` may include a facility; without one, openlog's facility is used.
 */
export function syslog(priority: number, message: Uint8Array<ArrayBuffer>): LibcResult<void> {
  const l = load();
  if (l === null) return noLib();
  l.syslog(priority, FMT_S, message);
  return OK_VOID;
}

/** `closelog()`. */
export function closelog(): void {
  load()?.closelog();
}

// ---- process and credentials -----------------------------------------------------------

/** `prctl(option, a2, a3, a4, a5)` with unsigned-long arguments; returns the call's result. */
export function prctl(
  option: number,
  arg2: bigint | number = 0,
  arg3: bigint | number = 0,
  arg4: bigint | number = 0,
  arg5: bigint | number = 0,
): LibcResult<number> {
  const l = load();
  if (l === null) return noLib();
  const rc = l.prctl(option, BigInt(arg2), BigInt(arg3), BigInt(arg4), BigInt(arg5));
  return checked(l, "prctl", rc);
}

/** `getpid()`; falls back to `Deno.pid` without libc. */
export function getpid(): number {
  return load()?.getpid() ?? Deno.pid;
}

/** `getuid()`; falls back to `Deno.uid()` (or -1) without libc. */
export function getuid(): number {
  return load()?.getuid() ?? Deno.uid() ?? -1;
}

/** `geteuid()`; -1 without libc. */
export function geteuid(): number {
  return load()?.geteuid() ?? -1;
}

/** `getgid()`; falls back to `Deno.gid()` (or -1) without libc. */
export function getgid(): number {
  return load()?.getgid() ?? Deno.gid() ?? -1;
}

/** `getegid()`; -1 without libc. */
export function getegid(): number {
  return load()?.getegid() ?? -1;
}

/** `setsid()`: returns the new session id. */
export function setsid(): LibcResult<number> {
  const l = load();
  return l === null ? noLib() : checked(l, "setsid", l.setsid());
}

/** `umask(mask)`: returns the previous mask (-1 without libc). */
export function umask(mask: number): number {
  return load()?.umask(mask) ?? -1;
}

/** `setgid(gid)`. */
export function setgid(gid: number): LibcResult<void> {
  const l = load();
  return l === null ? noLib() : checkedVoid(l, "setgid", l.setgid(gid));
}

/** `setuid(uid)`. */
export function setuid(uid: number): LibcResult<void> {
  const l = load();
  return l === null ? noLib() : checkedVoid(l, "setuid", l.setuid(uid));
}

/** `setgroups(n, list)`: replaces the supplementary groups (empty list drops them all). */
export function setgroups(gids: readonly number[]): LibcResult<void> {
  const l = load();
  if (l === null) return noLib();
  const list = new Uint32Array(new ArrayBuffer(Math.max(1, gids.length) * 4));
  list.set(gids);
  return checkedVoid(l, "setgroups", l.setgroups(BigInt(gids.length), new Uint8Array(list.buffer)));
}

/** `initgroups(user, gid)`: supplementary groups from the group database plus `gid`. */
export function initgroups(user: string, gid: number): LibcResult<void> {
  const l = load();
  return l === null ? noLib() : checkedVoid(l, "initgroups", l.initgroups(cString(user), gid));
}

// ---- scheduling and memory -------------------------------------------------------------

/** `sched_setscheduler(pid, policy, {priority})`; pid 0 = calling thread. */
export function schedSetScheduler(pid: number, policy: number, priority: number): LibcResult<void> {
  const l = load();
  if (l === null) return noLib();
  const param = new Int32Array(new ArrayBuffer(4));
  param[0] = priority;
  const rc = l.sched_setscheduler(pid, policy, new Uint8Array(param.buffer));
  return checkedVoid(l, "sched_setscheduler", rc);
}

/** `sched_getscheduler(pid)`: the policy (SCHED_OTHER, SCHED_RR, …). */
export function schedGetScheduler(pid: number): LibcResult<number> {
  const l = load();
  return l === null ? noLib() : checked(l, "sched_getscheduler", l.sched_getscheduler(pid));
}

/** `sched_get_priority_min(policy)`. */
export function schedGetPriorityMin(policy: number): LibcResult<number> {
  const l = load();
  return l === null
    ? noLib()
    : checked(l, "sched_get_priority_min", l.sched_get_priority_min(policy));
}

/** `sched_get_priority_max(policy)`. */
export function schedGetPriorityMax(policy: number): LibcResult<number> {
  const l = load();
  return l === null
    ? noLib()
    : checked(l, "sched_get_priority_max", l.sched_get_priority_max(policy));
}

/** `setpriority(which, who, prio)` (nice value; who 0 = calling thread on Linux). */
export function setPriority(which: number, who: number, prio: number): LibcResult<void> {
  const l = load();
  return l === null ? noLib() : checkedVoid(l, "setpriority", l.setpriority(which, who, prio));
}

/** `mlockall(flags)`. */
export function mlockall(flags: number): LibcResult<void> {
  const l = load();
  return l === null ? noLib() : checkedVoid(l, "mlockall", l.mlockall(flags));
}

/** `mlock2(addr, len, flags)`: locks one address range ({@link MLOCK_ONFAULT} or 0). */
export function mlock2(addr: bigint, len: bigint, flags: number): LibcResult<void> {
  const l = load();
  return l === null ? noLib() : checkedVoid(l, "mlock2", l.mlock2(addr, len, flags));
}

/** `munlockall()`. */
export function munlockall(): LibcResult<void> {
  const l = load();
  return l === null ? noLib() : checkedVoid(l, "munlockall", l.munlockall());
}

/** Soft and hard limit of a resource. */
export interface RLimit {
  /** Soft limit ({@link RLIM_INFINITY} for none). */
  cur: bigint;
  /** Hard limit ({@link RLIM_INFINITY} for none). */
  max: bigint;
}

/** `getrlimit(resource)`. */
export function getrlimit(resource: number): LibcResult<RLimit> {
  const l = load();
  if (l === null) return noLib();
  const buf = new BigUint64Array(new ArrayBuffer(16));
  if (l.getrlimit(resource, new Uint8Array(buf.buffer)) === -1) return fail(l, "getrlimit");
  return { ok: true, value: { cur: buf[0], max: buf[1] } };
}

/** `setrlimit(resource, {cur, max})`. */
export function setrlimit(resource: number, limit: RLimit): LibcResult<void> {
  const l = load();
  if (l === null) return noLib();
  const buf = new BigUint64Array(new ArrayBuffer(16));
  buf[0] = limit.cur;
  buf[1] = limit.max;
  return checkedVoid(l, "setrlimit", l.setrlimit(resource, new Uint8Array(buf.buffer)));
}

/** Current program break (`sbrk(0)`), as an address. */
export function currentBrk(): LibcResult<bigint> {
  const l = load();
  if (l === null) return noLib();
  const p = l.sbrk(0n);
  return { ok: true, value: BigInt(Deno.UnsafePointer.value(p)) };
}

/** Decodes a NUL-terminated byte buffer (as filled by the kernel) to a string. */
export function fromCString(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return decoder.decode(end === -1 ? buf : buf.subarray(0, end));
}

const SIGNAL_SYMBOLS = {
  signal: { parameters: ["i32", "pointer"], result: "pointer" },
  raise: { parameters: ["i32"], result: "i32" },
} as const;
const signalSymbols = libcGroup(SIGNAL_SYMBOLS);

/**
 * Dies of signal `signo` now, as a process without a handler would: once a Deno signal
 * listener was added the runtime keeps its own handler, so `Deno.kill(Deno.pid, …)` after
 * removing the listener was ignored under load and the process went on to exit with a code.
 * The default action is restored (`signal(signo, SIG_DFL)`) and the signal raised.
 */
export function dieOfSignal(signo: number): never {
  const s = signalSymbols();
  s.signal(signo, null);
  s.raise(signo);
  // (a blocked signal is delivered when unblocked; this line is not reached otherwise)
  Deno.exit(128 + signo);
}
