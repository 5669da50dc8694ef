/**
 * `realtime`, `rtprio` and `memreserve` for a core process (config-and-cli.md §7.8), with
 * Heartbeat's log lines, on top of sys/realtime.ts.
 *
 * What Heartbeat does in every core process, and what this does:
 *
 * - `realtime off`: logs `info: Request to set pid <pid> to realtime ignored.` and changes
 *   nothing (SCHED_OTHER, not locked).
 * - `realtime on` (default): SCHED_RR at `rtprio` (default: the policy minimum, 1) for the
 *   master; `rtprio - 1` for children when rtprio > 1. Failure:
 *   `ERROR: Unable to set scheduler parameters.: <errno text>` (and it goes on).
 * - Then RLIMIT_MEMLOCK is raised as far as allowed (unlimited, else soft = hard). If the
 *   reservation — stack + heap: master 32 KB + `memreserve` KB, media children 16 + 64 KB,
 *   FIFO reader 16 + 8 KB — is at least half of a finite limit:
 *   `ERROR: Cannot lock ourselves into memory:  System limits on locked-in memory are too
 *   small.` and the process stays unlocked.
 * - Else lock in memory. Failure: `ERROR: Unable to lock pid <pid> in memory: <errno text>`
 *   (`WARN:` when the system has no such call, ENOSYS).
 *
 * Differences, on purpose:
 *
 * - Heartbeat calls `mlockall(MCL_CURRENT | MCL_FUTURE)`. hb must not: V8 returns unused heap
 *   pages with `madvise(MADV_DONTNEED)`, the kernel refuses that on locked pages, and V8 dies
 *   of the refusal ("Check failed: 0 == ret", a Deno panic) at the first memory-reducing
 *   garbage collection — every worker about 45 s after its start, in an endless respawn cycle.
 *   hb locks instead the process's code (the executable, its embedded snapshot and the shared
 *   libraries) and its stack, page by page as they are first touched (`mlock2` ON_FAULT, or
 *   all at once with `populate`): a code page faulted back from disk is what would stall a
 *   heartbeat on a loaded machine. The JS heap is anonymous memory, never paged out without
 *   swap; with swap it can be — the one thing given up (sys/realtime.ts `lockMappings`).
 * - Heartbeat pre-touches `memreserve` KB of malloc heap (and 32 KB of stack) before locking
 *   so that later allocations do not fault. V8's garbage-collected heap cannot be
 *   pre-reserved that way, so the reservation only enters the limit check above (the same
 *   decision and line as Heartbeat); pages are locked as V8 grows the heap.
 * - Scheduling is per thread on Linux: all existing threads of the process (V8 and runtime
 *   helpers, whose work the event loop may wait for) are switched, not only the main thread;
 *   threads they create later inherit the policy (`allThreads: false` to switch the main
 *   thread only).
 * - The main thread (the one that starts processes) gets `SCHED_RESET_ON_FORK`: what a core
 *   process starts (resource scripts, STONITH helpers, respawned clients, restarted workers)
 *   begins with normal scheduling, as Heartbeat returns its helpers to normal time. A worker
 *   applies its own setting at its start.
 *
 * @module
 */

import {
  getrlimit,
  RLIM_INFINITY,
  RLIMIT_MEMLOCK,
  SCHED_RR,
  schedSetScheduler,
  setrlimit,
} from "./libc.ts";
import { lockMappings, makeRealtime, minRealtimePriority } from "./realtime.ts";

/** `SCHED_RESET_ON_FORK`: processes started by a realtime thread begin as SCHED_OTHER. */
export const SCHED_RESET_ON_FORK = 0x40000000;

/**
 * Environment variable that carries the master's realtime settings to its core workers
 * (JSON {@link RealtimeSetupConfig}); see {@link realtimeFromEnv}.
 */
export const REALTIME_ENV = "HB_CORE_REALTIME";

/** The settings a core worker received from the master (undefined: none, do nothing). */
export function realtimeFromEnv(): RealtimeSetupConfig | undefined {
  const text = Deno.env.get(REALTIME_ENV);
  if (text === undefined || text === "") return undefined;
  try {
    const v = JSON.parse(text) as Partial<RealtimeSetupConfig>;
    if (typeof v.realtime !== "boolean" || typeof v.memreserveKb !== "number") return undefined;
    return {
      realtime: v.realtime,
      memreserveKb: v.memreserveKb,
      ...(typeof v.rtprio === "number" ? { rtprio: v.rtprio } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The configuration fields used (`HaCfConfig` has them: realtime, rtprio, memreserveKb). */
export interface RealtimeSetupConfig {
  /** `realtime` directive (default true). */
  realtime: boolean;
  /** `rtprio`, if given. */
  rtprio?: number;
  /** `memreserve` in KB (default 6500). */
  memreserveKb: number;
  /** Fault every locked page in now instead of as first touched. Default false. */
  populate?: boolean;
  /** Switch every thread of the process (default true). */
  allThreads?: boolean;
}

/**
 * Which core process: `master` (rtprio, memreserve), `child` (a medium read/write child:
 * rtprio-1, 64 KB), `fifo` (the FIFO reader: rtprio-1, 8 KB).
 */
export type RealtimeRole = "master" | "child" | "fifo";

/** Heartbeat's priority words used here. */
export type RealtimePriority = "ERROR" | "WARN" | "info" | "debug";

/** Logging callback (the master's log function fits). */
export type RealtimeLog = (prio: RealtimePriority, text: string) => void;

/** What {@link applyRealtime} did. */
export interface RealtimeSetupReport {
  /** False for `realtime off`. */
  enabled: boolean;
  /** SCHED_RR priority in effect (0 when not switched). */
  priority: number;
  /** True when locking succeeded. */
  locked: boolean;
  /** RLIMIT_MEMLOCK soft limit after raising it (null if unknown). */
  memlockLimit: bigint | null;
  /** Bytes reserved (stack + heap) for the limit check. */
  reserveBytes: number;
}

/** The priority Heartbeat gives `role` for `rtprio`. */
export function realtimePriority(rtprio: number | undefined, role: RealtimeRole): number {
  const base = rtprio === undefined || rtprio <= 0 ? minRealtimePriority() : rtprio;
  return role !== "master" && base > 1 ? base - 1 : base;
}

/** Stack + heap reservation in KB per role (Heartbeat's cl_make_realtime arguments). */
export function reserveKb(role: RealtimeRole, memreserveKb: number): number {
  if (role === "master") return 32 + memreserveKb;
  if (role === "child") return 16 + 64;
  return 16 + 8;
}

function errnoText(message: string): string {
  const i = message.indexOf(": ");
  return i >= 0 ? message.slice(i + 2) : message;
}

/**
 * Applies `realtime` to the calling process as core process `role`, logging Heartbeat's
 * lines through `log`. Call once, early: the master right after start-up (before its main
 * loop), each worker at its start. Never throws.
 */
export function applyRealtime(
  cfg: RealtimeSetupConfig,
  role: RealtimeRole,
  log: RealtimeLog,
): RealtimeSetupReport {
  const reserveBytes = reserveKb(role, cfg.memreserveKb) * 1024;
  if (!cfg.realtime) {
    log("info", `Request to set pid ${Deno.pid} to realtime ignored.`);
    return { enabled: false, priority: 0, locked: false, memlockLimit: null, reserveBytes };
  }
  const sched = makeRealtime(realtimePriority(cfg.rtprio, role), {
    lock: false,
    allThreads: cfg.allThreads ?? true,
  });
  if (!sched.scheduled) {
    log("ERROR", `Unable to set scheduler parameters.: ${errnoText(sched.errors[0] ?? "")}`);
  } else {
    // same policy and priority, plus: children start as SCHED_OTHER
    schedSetScheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, sched.priority);
  }
  const report: RealtimeSetupReport = {
    enabled: true,
    priority: sched.priority,
    locked: false,
    memlockLimit: null,
    reserveBytes,
  };

  // Remove the locked-memory limit if we can, else get what we can.
  if (!setrlimit(RLIMIT_MEMLOCK, { cur: RLIM_INFINITY, max: RLIM_INFINITY }).ok) {
    const cur = getrlimit(RLIMIT_MEMLOCK);
    if (cur.ok) setrlimit(RLIMIT_MEMLOCK, { cur: cur.value.max, max: cur.value.max });
  }
  const lim = getrlimit(RLIMIT_MEMLOCK);
  if (lim.ok) {
    report.memlockLimit = lim.value.cur;
    if (lim.value.cur !== RLIM_INFINITY && BigInt(reserveBytes) >= lim.value.cur / 2n) {
      log(
        "ERROR",
        "Cannot lock ourselves into memory:  System limits on locked-in memory are too small.",
      );
      return report;
    }
  }
  const m = lockMappings({ populate: cfg.populate });
  if (m.locked) {
    report.locked = true;
    log("debug", `pid ${Deno.pid} locked in memory.`);
  } else {
    const text = errnoText(m.errors[0] ?? "nothing to lock");
    log(
      /ENOSYS|not implemented/i.test(text) ? "WARN" : "ERROR",
      `Unable to lock pid ${Deno.pid} in memory: ${text}`,
    );
  }
  return report;
}
