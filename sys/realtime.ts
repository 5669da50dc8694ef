/**
 * `realtime` support (spec §7.8): SCHED_RR scheduling and locking the process in memory, and
 * the way back for helpers that must run normally.
 *
 * Scheduling policy is per thread on Linux. By default only the calling thread (the main
 * Deno thread, which runs the event loop: timers, sockets, FFI calls) is switched; threads it
 * creates afterwards inherit the policy. `allThreads` also switches the threads that already
 * exist (V8 and runtime helpers), as listed in `/proc/self/task`.
 *
 * Nothing here logs: callers log Heartbeat's messages from the returned report.
 *
 * @module
 */

import {
  getrlimit,
  mlock2,
  MLOCK_ONFAULT,
  munlockall,
  RLIM_INFINITY,
  RLIMIT_MEMLOCK,
  SCHED_OTHER,
  SCHED_RR,
  schedGetPriorityMax,
  schedGetPriorityMin,
  schedSetScheduler,
  setrlimit,
} from "./libc.ts";

/** What {@link makeRealtime} / {@link makeNormal} achieved. */
export interface SchedulingReport {
  /** True when the scheduling policy change succeeded (for the calling thread). */
  scheduled: boolean;
  /** The real-time priority applied (0 for normal scheduling). */
  priority: number;
  /** True when locking ({@link lockMappings}) / munlockall succeeded (false if not attempted). */
  locked: boolean;
  /** RLIMIT_MEMLOCK soft limit after the attempt to raise it (bytes; null if unknown). */
  memlockLimit: bigint | null;
  /** Failure descriptions (`"mlock2: Cannot allocate memory"`, …); empty when all worked. */
  errors: string[];
}

/** Options of {@link makeRealtime}. */
export interface RealtimeOptions {
  /** Lock current and future pages in memory (default true). */
  lock?: boolean;
  /** Also switch the already existing threads of the process (default false). */
  allThreads?: boolean;
  /**
   * Fault in every locked page now (as Heartbeat's plain `MCL_CURRENT | MCL_FUTURE` does)
   * instead of locking pages as they are first touched (`MLOCK_ONFAULT`, the default). The
   * Deno executable alone is over 100 MB; pre-faulting it costs that much RSS for no
   * benefit, while ON_FAULT still keeps every page the process uses resident.
   */
  populate?: boolean;
}

/** Lowest SCHED_RR priority (Heartbeat's default `rtprio`), 1 if it cannot be queried. */
export function minRealtimePriority(): number {
  const r = schedGetPriorityMin(SCHED_RR);
  return r.ok ? r.value : 1;
}

function otherThreads(): number[] {
  try {
    const ids: number[] = [];
    for (const e of Deno.readDirSync("/proc/self/task")) {
      const tid = Number(e.name);
      if (tid !== Deno.pid) ids.push(tid);
    }
    return ids;
  } catch {
    return [];
  }
}

/**
 * Switches to SCHED_RR at `priority` (default: the policy minimum; clamped into the allowed
 * range), raises RLIMIT_MEMLOCK as far as permitted and locks code and stack in memory
 * ({@link lockMappings}; never `mlockall`, which kills a V8 process: see
 * {@link lockableMappings}). See {@link RealtimeOptions.populate}.
 * Never throws; see the report for what worked.
 */
export function makeRealtime(priority?: number, opts: RealtimeOptions = {}): SchedulingReport {
  const errors: string[] = [];
  const min = minRealtimePriority();
  const maxR = schedGetPriorityMax(SCHED_RR);
  const max = maxR.ok ? maxR.value : 99;
  const prio = Math.min(max, Math.max(min, Math.trunc(priority ?? min)));

  const s = schedSetScheduler(0, SCHED_RR, prio);
  if (!s.ok) errors.push(s.error.message);
  if (s.ok && opts.allThreads) {
    for (const tid of otherThreads()) schedSetScheduler(tid, SCHED_RR, prio);
  }

  let locked = false;
  let memlockLimit: bigint | null = null;
  if (opts.lock ?? true) {
    memlockLimit = raiseMemlockLimit(errors);
    const m = lockMappings({ populate: opts.populate });
    locked = m.locked;
    errors.push(...m.errors);
  }
  return { scheduled: s.ok, priority: s.ok ? prio : 0, locked, memlockLimit, errors };
}

/** One line of `/proc/self/maps`, as far as locking needs it. */
export interface Mapping {
  /** First address. */
  start: bigint;
  /** One past the last address. */
  end: bigint;
  /** Permissions, e.g. `r-xp`. */
  perms: string;
  /** Path or pseudo-name (`[stack]`, `[heap]`), empty for anonymous memory. */
  path: string;
}

/** Parses the text of `/proc/<pid>/maps`. */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({ start: BigInt("0x" + m[1]), end: BigInt("0x" + m[2]), perms: m[3], path: m[4] });
  }
  return out;
}

/**
 * The mappings {@link lockMappings} locks: readable mappings of files (the executable with
 * its embedded snapshot and ICU data, the shared libraries) and the main thread's stack.
 * Never anonymous memory: that is where V8 keeps its heap, and V8 gives unused heap pages
 * back with `madvise(MADV_DONTNEED)`, which the kernel refuses on locked pages (EINVAL); V8
 * treats that refusal as a fatal error and the process dies at its next memory-reducing
 * garbage collection (about 45 s after start in an idle hb worker). Not `memfd:` or device
 * mappings either.
 */
export function lockableMappings(maps: readonly Mapping[]): Mapping[] {
  return maps.filter((m) =>
    m.perms[0] === "r" &&
    (m.path === "[stack]" ||
      (m.path.startsWith("/") && !m.path.startsWith("/memfd:") && !m.path.startsWith("/dev/") &&
        !m.path.endsWith(" (deleted)")))
  );
}

/** What {@link lockMappings} did. */
export interface LockReport {
  /** True when at least the executable's mappings were locked and nothing failed. */
  locked: boolean;
  /** Bytes of address space locked. */
  bytes: bigint;
  /** Failure descriptions; empty when all worked. */
  errors: string[];
}

/**
 * Locks the calling process's code and stack in memory (`mlock2`, page by page as they are
 * first touched unless `populate`): what `mlockall(MCL_CURRENT | MCL_FUTURE)` does for a C
 * daemon, minus the V8 heap (see {@link lockableMappings} for why locking it kills the
 * process). The heap is anonymous memory: without swap it is never paged out; with swap it
 * can be, which is the one thing this gives up. Never throws.
 */
export function lockMappings(opts: { populate?: boolean } = {}): LockReport {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/self/maps");
  } catch (e) {
    return { locked: false, bytes: 0n, errors: [`/proc/self/maps: ${e}`] };
  }
  const errors: string[] = [];
  let bytes = 0n;
  for (const m of lockableMappings(parseMaps(text))) {
    const r = mlock2(m.start, m.end - m.start, opts.populate ? 0 : MLOCK_ONFAULT);
    if (r.ok) bytes += m.end - m.start;
    else if (errors.length === 0) errors.push(r.error.message);
  }
  return { locked: errors.length === 0 && bytes > 0n, bytes, errors };
}

/** Raises RLIMIT_MEMLOCK to unlimited, or at least soft = hard; returns the soft limit. */
function raiseMemlockLimit(errors: string[]): bigint | null {
  const cur = getrlimit(RLIMIT_MEMLOCK);
  if (!cur.ok) {
    errors.push(cur.error.message);
    return null;
  }
  if (cur.value.cur === RLIM_INFINITY) return RLIM_INFINITY;
  if (setrlimit(RLIMIT_MEMLOCK, { cur: RLIM_INFINITY, max: RLIM_INFINITY }).ok) {
    return RLIM_INFINITY;
  }
  if (cur.value.cur < cur.value.max) {
    if (setrlimit(RLIMIT_MEMLOCK, { cur: cur.value.max, max: cur.value.max }).ok) {
      return cur.value.max;
    }
  }
  return cur.value.cur;
}

/**
 * Returns to SCHED_OTHER and unlocks memory (for resource helpers and respawned clients).
 * `allThreads` as in {@link makeRealtime}.
 */
export function makeNormal(opts: { allThreads?: boolean } = {}): SchedulingReport {
  const errors: string[] = [];
  const s = schedSetScheduler(0, SCHED_OTHER, 0);
  if (!s.ok) errors.push(s.error.message);
  if (opts.allThreads) {
    for (const tid of otherThreads()) schedSetScheduler(tid, SCHED_OTHER, 0);
  }
  const m = munlockall();
  if (!m.ok) errors.push(m.error.message);
  return { scheduled: s.ok, priority: 0, locked: m.ok, memlockLimit: null, errors };
}
