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
  MCL_CURRENT,
  MCL_FUTURE,
  MCL_ONFAULT,
  mlockall,
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
  /** True when mlockall / munlockall succeeded (false if not attempted). */
  locked: boolean;
  /** RLIMIT_MEMLOCK soft limit after the attempt to raise it (bytes; null if unknown). */
  memlockLimit: bigint | null;
  /** Failure descriptions (`"mlockall: Cannot allocate memory"`, …); empty when all worked. */
  errors: string[];
}

/** Options of {@link makeRealtime}. */
export interface RealtimeOptions {
  /** Lock current and future pages in memory (default true). */
  lock?: boolean;
  /** Also switch the already existing threads of the process (default false). */
  allThreads?: boolean;
  /**
   * Fault in every accessible page now (plain `MCL_CURRENT | MCL_FUTURE`, as Heartbeat does)
   * instead of locking pages as they are first touched (`MCL_ONFAULT`, the default). A Deno
   * process maps gigabytes of reserved address space and per-thread stacks; pre-faulting
   * them costs hundreds of megabytes of RSS for no benefit, while MCL_ONFAULT still keeps
   * every page the process uses out of swap.
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
 * range), raises RLIMIT_MEMLOCK as far as permitted and locks all current and future pages
 * (`mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)`, see {@link RealtimeOptions.populate}).
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
    const flags = MCL_CURRENT | MCL_FUTURE | (opts.populate ? 0 : MCL_ONFAULT);
    const m = mlockall(flags);
    if (m.ok) locked = true;
    else errors.push(m.error.message);
  }
  return { scheduled: s.ok, priority: s.ok ? prio : 0, locked, memlockLimit, errors };
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
