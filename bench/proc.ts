/**
 * CPU time and memory of a node's processes, from `/proc`.
 *
 * - CPU: `utime + stime + cutime + cstime` of every process in the node's pid namespace
 *   (the node's init included, so that reaped helpers are counted), in seconds. A window's
 *   CPU is the difference of two snapshots, per process (matched by pid and start time);
 *   processes born inside the window count fully.
 * - Memory: `Pss`, `Rss` and private (`Private_Clean + Private_Dirty`) from
 *   `/proc/<pid>/smaps_rollup`, summed over the node's processes except the testbed's init
 *   (a bash that is not part of either daemon).
 *
 * @module
 */

import type { TestNode } from "../lab/mod.ts";

/** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ; 100 on Linux). */
export const CLK_TCK = 100;

/** CPU ticks of each process of a node: key `pid:starttime`. */
export type CpuSnapshot = Map<string, number>;

function readStat(pid: number): { key: string; ticks: number } | undefined {
  let s: string;
  try {
    s = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  // f[0] is field 3 (state): utime = 14, stime = 15, cutime = 16, cstime = 17, starttime = 22.
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return { key: `${pid}:${f[19]}`, ticks };
}

/** Snapshot of the CPU ticks of every process of `node`. */
export function cpuSnapshot(node: TestNode): CpuSnapshot {
  const m: CpuSnapshot = new Map();
  for (const pid of node.pids()) {
    const st = readStat(pid);
    if (st) m.set(st.key, st.ticks);
  }
  return m;
}

/** CPU seconds used between two snapshots of the same node. */
export function cpuSeconds(before: CpuSnapshot, after: CpuSnapshot): number {
  let ticks = 0;
  for (const [k, t] of after) ticks += t - (before.get(k) ?? 0);
  return ticks / CLK_TCK;
}

/** Memory of a node, in MiB. */
export interface NodeMemory {
  /** Proportional set size, summed. */
  pssMb: number;
  /** Resident set size, summed (counts shared pages once per process). */
  rssMb: number;
  /** Private pages (clean + dirty), summed: what the node alone costs. */
  privateMb: number;
  /** Number of processes counted. */
  processes: number;
}

/** Sums `smaps_rollup` of every process of `node` except its testbed init. */
export function nodeMemory(node: TestNode): NodeMemory {
  let pss = 0, rss = 0, priv = 0, n = 0;
  for (const pid of node.pids()) {
    if (pid === node.initPid) continue;
    let text: string;
    try {
      text = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
    } catch {
      continue;
    }
    const kb = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
    pss += kb("Pss");
    rss += kb("Rss");
    priv += kb("Private_Clean") + kb("Private_Dirty");
    n++;
  }
  return { pssMb: pss / 1024, rssMb: rss / 1024, privateMb: priv / 1024, processes: n };
}

/** One process of a node, as the cost breakdown sees it. */
export interface ProcSample {
  /** `pid:starttime`. */
  key: string;
  /** Process title (`/proc/<pid>/cmdline` with NULs as spaces), else `comm`. */
  title: string;
  /** CPU ticks (utime + stime + cutime + cstime). */
  ticks: number;
  /** Voluntary context switches of the main thread. */
  mainVoluntary: number;
  /** Voluntary + involuntary context switches summed over every thread. */
  allSwitches: number;
  /** Number of threads. */
  threads: number;
}

function statusNumber(text: string, name: string): number {
  return Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);
}

/** Per-process snapshot of a node (testbed init excluded): CPU ticks and context switches. */
export function procSnapshot(node: TestNode): Map<string, ProcSample> {
  const m = new Map<string, ProcSample>();
  for (const pid of node.pids()) {
    if (pid === node.initPid) continue;
    const st = readStat(pid);
    if (!st) continue;
    let title = "";
    let mainVoluntary = 0, allSwitches = 0, threads = 0;
    try {
      title = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replace(/\0+$/, "").replaceAll(
        "\0",
        " ",
      );
      if (!title) title = Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
      mainVoluntary = statusNumber(
        Deno.readTextFileSync(`/proc/${pid}/status`),
        "voluntary_ctxt_switches",
      );
      for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
        try {
          const s = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/status`);
          allSwitches += statusNumber(s, "voluntary_ctxt_switches") +
            statusNumber(s, "nonvoluntary_ctxt_switches");
          threads++;
        } catch {
          // the thread exited between the listing and the read
        }
      }
    } catch {
      continue; // the process exited
    }
    m.set(st.key, { key: st.key, title, ticks: st.ticks, mainVoluntary, allSwitches, threads });
  }
  return m;
}

/** Memory of one process, in MiB. */
export interface ProcMemory {
  pssMb: number;
  privateMb: number;
  rssMb: number;
}

/** `smaps_rollup` of one process (`pid:starttime` key), or undefined when it is gone. */
export function procMemory(key: string): ProcMemory | undefined {
  const pid = key.split(":")[0];
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
  } catch {
    return undefined;
  }
  const kb = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
  return {
    pssMb: kb("Pss") / 1024,
    privateMb: (kb("Private_Clean") + kb("Private_Dirty")) / 1024,
    rssMb: kb("Rss") / 1024,
  };
}
