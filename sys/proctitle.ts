/**
 * Process titles as `ps` shows them (spec §7.1): `heartbeat: master control process`,
 * `heartbeat: write: bcast eth0`, …
 *
 * Heartbeat overwrites its own argv strings. A Deno program cannot reach its argv memory,
 * so instead the title is written into a buffer we own (kept alive for the life of the
 * process) and the kernel is told that this buffer is now the argument area:
 *
 * 1. `prctl(PR_SET_MM, PR_SET_MM_ARG_START / PR_SET_MM_ARG_END, …)` — needs
 *    CAP_SYS_RESOURCE;
 * 2. otherwise `prctl(PR_SET_MM, PR_SET_MM_MAP, …)` — the checkpoint/restore interface,
 *    which needs no capability when the kernel has CONFIG_CHECKPOINT_RESTORE; it replaces
 *    all memory-map descriptors at once, so the current values are read from
 *    `/proc/self/stat` and `sbrk(0)` immediately before the call. (Small window: another
 *    thread moving the program break in between would have its break reset; glibc's malloc
 *    then falls back to mmap.)
 *
 * `/proc/<pid>/cmdline` (and so `ps -o args`, `pgrep -f`) then shows the title. The short
 * name (`/proc/<pid>/comm`, `ps -o comm`, `killall`, `pidof`) is set with PR_SET_NAME, at
 * most 15 bytes; by default it is the part of the title before the first colon
 * (`heartbeat`), which is what a C Heartbeat process shows there.
 *
 * @module
 */

import {
  currentBrk,
  PR_SET_MM,
  PR_SET_MM_ARG_END,
  PR_SET_MM_ARG_START,
  PR_SET_MM_MAP,
  PR_SET_NAME,
  prctl,
} from "./libc.ts";

/** Longest title kept (bytes); longer titles are cut. */
export const MAX_TITLE_BYTES = 4095;

/** How the last {@link setProcessTitle} call changed the argument area, for diagnostics. */
export type TitleMethod = "arg_start_end" | "mm_map" | "none";

let titleBuf: Uint8Array<ArrayBuffer> | null = null;
let lastMethod: TitleMethod = "none";
let lastError = "";

const encoder = new TextEncoder();

/** Options of {@link setProcessTitle}. */
export interface ProcessTitleOptions {
  /**
   * Short name for `/proc/<pid>/comm` (cut to 15 bytes). Defaults to the title up to its
   * first `:`; an empty string leaves the name unchanged.
   */
  comm?: string;
}

/**
 * Sets the process title. Returns true when `/proc/self/cmdline` now shows `title`; false
 * (silently) when the kernel refused or FFI is unavailable — see {@link processTitleStatus}.
 */
export function setProcessTitle(title: string, opts: ProcessTitleOptions = {}): boolean {
  const comm = opts.comm ?? title.split(":", 1)[0];
  if (comm !== "") setThreadName(comm);

  titleBuf ??= new Uint8Array(new ArrayBuffer(MAX_TITLE_BYTES + 1));
  let bytes = encoder.encode(title);
  if (bytes.length > MAX_TITLE_BYTES) bytes = bytes.subarray(0, MAX_TITLE_BYTES);
  titleBuf.fill(0);
  titleBuf.set(bytes);
  const start = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(titleBuf)));
  const end = start + BigInt(bytes.length + 1); // includes the terminating NUL

  const cur = readMmFields();
  if (cur === null) {
    lastMethod = "none";
    lastError = "cannot read /proc/self/stat";
    return false;
  }
  if (setArgsWithArgStartEnd(start, end, cur)) {
    lastMethod = "arg_start_end";
    return true;
  }
  if (setArgsWithMmMap(start, end, cur)) {
    lastMethod = "mm_map";
    return true;
  }
  lastMethod = "none";
  return false;
}

/** Which mechanism the last {@link setProcessTitle} used, and the last failure text. */
export function processTitleStatus(): { method: TitleMethod; error: string } {
  return { method: lastMethod, error: lastError };
}

/** Sets the calling thread's `comm` name (cut to 15 bytes). Returns false on failure. */
export function setThreadName(name: string): boolean {
  const buf = new Uint8Array(new ArrayBuffer(16));
  buf.set(encoder.encode(name).subarray(0, 15));
  const r = prctl(PR_SET_NAME, Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
  if (!r.ok) lastError = r.error.message;
  return r.ok;
}

/** The memory-map descriptors `struct prctl_mm_map` needs, in its field order. */
interface MmFields {
  startCode: bigint;
  endCode: bigint;
  startData: bigint;
  endData: bigint;
  startBrk: bigint;
  startStack: bigint;
  argStart: bigint;
  argEnd: bigint;
  envStart: bigint;
  envEnd: bigint;
}

/** Reads the descriptors from `/proc/self/stat` (fields 26–28 and 45–51, 1-based). */
function readMmFields(): MmFields | null {
  let stat: string;
  try {
    stat = Deno.readTextFileSync("/proc/self/stat");
  } catch {
    return null;
  }
  // Field 2 (comm) is parenthesised and may contain spaces: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).trim().split(" ");
  const field = (n: number): bigint => BigInt(rest[n - 3] ?? "0");
  const f: MmFields = {
    startCode: field(26),
    endCode: field(27),
    startStack: field(28),
    startData: field(45),
    endData: field(46),
    startBrk: field(47),
    argStart: field(48),
    argEnd: field(49),
    envStart: field(50),
    envEnd: field(51),
  };
  return f.argEnd === 0n ? null : f;
}

function setArgsWithArgStartEnd(start: bigint, end: bigint, cur: MmFields): boolean {
  // The kernel re-validates arg_start <= arg_end after each single change: order matters.
  const steps: [number, bigint][] = start > cur.argEnd
    ? [[PR_SET_MM_ARG_END, end], [PR_SET_MM_ARG_START, start]]
    : [[PR_SET_MM_ARG_START, start], [PR_SET_MM_ARG_END, end]];
  for (const [i, [opt, value]] of steps.entries()) {
    const r = prctl(PR_SET_MM, opt, value);
    if (!r.ok) {
      lastError = r.error.message;
      if (i === 1) {
        // Undo the first step so the kernel view stays consistent.
        const [undoOpt] = steps[0];
        prctl(PR_SET_MM, undoOpt, undoOpt === PR_SET_MM_ARG_START ? cur.argStart : cur.argEnd);
      }
      return false;
    }
  }
  return true;
}

function setArgsWithMmMap(start: bigint, end: bigint, cur: MmFields): boolean {
  const brk = currentBrk();
  if (!brk.ok) {
    lastError = brk.error.message;
    return false;
  }
  const map = new ArrayBuffer(104);
  const u64 = new BigUint64Array(map, 0, 12);
  u64[0] = cur.startCode;
  u64[1] = cur.endCode;
  u64[2] = cur.startData;
  u64[3] = cur.endData;
  u64[4] = cur.startBrk;
  u64[5] = brk.value;
  u64[6] = cur.startStack;
  u64[7] = start;
  u64[8] = end;
  u64[9] = cur.envStart;
  u64[10] = cur.envEnd;
  u64[11] = 0n; // auxv pointer: none (auxv_size 0 keeps the saved auxv)
  const u32 = new Uint32Array(map, 96, 2);
  u32[0] = 0; // auxv_size
  u32[1] = 0xffff_ffff; // exe_fd: -1 = keep /proc/self/exe
  const addr = Deno.UnsafePointer.value(Deno.UnsafePointer.of(new Uint8Array(map)));
  const r = prctl(PR_SET_MM, PR_SET_MM_MAP, addr, 104);
  if (!r.ok) lastError = `${lastError}; ${r.error.message}`;
  return r.ok;
}
