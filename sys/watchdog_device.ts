/**
 * The libc calls behind the `watchdog <device>` directive (`master/watchdog.ts`): Deno can
 * neither give the descriptor of a `Deno.FsFile` nor call `ioctl`, so the device is opened,
 * written and closed here (Deno FFI, the symbols bound on first use through `libcGroup`).
 *
 * @module
 */

import { ERRNO_LOCATION, errnoOf, libcGroup, strerror } from "./libc.ts";

/** `O_WRONLY`. */
export const O_WRONLY = 0o1;
/** `O_CLOEXEC`: the device stays out of every process we start. */
export const O_CLOEXEC = 0o2000000;

/** `_IOWR('W', 6, int)`. */
export const WDIOC_SETTIMEOUT = 0xc0045706n;

const symbols = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  // ioctl is variadic; one pointer argument after the request is ABI-compatible.
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  ...ERRNO_LOCATION,
} as const;

/** open/write/close/ioctl of libc, bound on first use. */
export const watchdogLibc: () => Deno.DynamicLibrary<typeof symbols>["symbols"] = libcGroup(
  symbols,
);

/** `strerror(errno)` of the last failed call on this thread. */
export function errnoText(): string {
  return strerror(errnoOf(watchdogLibc()));
}
