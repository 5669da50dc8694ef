/**
 * Giving the heap memory a process has freed back to the kernel: glibc's `malloc_trim(0)`.
 *
 * A Deno process allocates a lot at start-up and frees most of it: the runtime analyses and
 * compiles every module it loads, and with a cold Deno cache (the first start after an install or
 * an upgrade) it parses each one for its imports. glibc keeps what was freed in its arenas, so
 * the process carries it for the rest of its life: an hb master started on a cold cache held
 * 34 MB private instead of 20 MB for as long as it ran (bench/README.md, "The shipped form").
 * Long-running hb processes call {@link releaseFreedMemory} once they are up, and the master
 * again whenever its resource scripts have finished.
 *
 * @module
 */

import { LibcError, libcGroup, type LibcResult } from "./libc.ts";

const symbols = {
  malloc_trim: { parameters: ["usize"], result: "i32" },
} as const;
const lib = libcGroup(symbols);

/**
 * `malloc_trim(0)`: returns the free memory of every malloc arena to the kernel. The value says
 * whether any memory was released. Fails (never throws) where the C library has no
 * `malloc_trim` (not glibc) or cannot be loaded.
 */
export function releaseFreedMemory(): LibcResult<boolean> {
  let trim: (pad: bigint) => number;
  try {
    trim = lib().malloc_trim;
  } catch (e) {
    return {
      ok: false,
      error: new LibcError(
        "malloc_trim",
        0,
        `not available: ${e instanceof Error ? e.message : String(e)}`,
        "ENOLIBC",
      ),
    };
  }
  return { ok: true, value: trim(0n) === 1 };
}

/**
 * {@link releaseFreedMemory} for a caller that only reports it: one line to `debug`, saying
 * `when` it ran and what came of it.
 */
export function trimHeap(when: string, debug: (text: string) => void): void {
  const r = releaseFreedMemory();
  debug(
    r.ok
      ? `${when}: freed heap memory ${r.value ? "returned" : "none to return"} (malloc_trim)`
      : `${when}: freed heap memory kept: ${r.error.message}`,
  );
}
