/**
 * Re-invoking our own entry point, the way Heartbeat forks its children.
 *
 * From a checkout the program runs as `deno run -A main.ts ARGS`; compiled with
 * `deno compile` it runs as `heartbeat ARGS`; installed from the Debian package it
 * runs through the launcher script `/usr/lib/hb/heartbeat`, which starts the
 * shipped Deno runtime on the program's bundle (`packaging/bundle.ts`) with the
 * flags the package needs (`--cached-only`, no config) and announces itself in
 * `HB_LAUNCHER`. All three must be able to start worker processes of
 * themselves, so this module builds the command line that starts "the same
 * program" with other arguments.
 *
 * @module
 */

/** The entry module (main.ts) of this program, as a file URL. */
const MAIN_URL = new URL("../main.ts", import.meta.url);

/**
 * V8 flags every hb process runs with: a 1 MiB young generation instead of
 * V8's default (up to 16 MiB) saves ~7 MiB per long-running process for a
 * negligible amount of extra minor GC work. `--single-threaded`: no V8 helper
 * threads at all, so garbage collection and optimising compilation run on the
 * main thread. With heaps this small and a few events a second that costs less
 * than handing the work over and waking the helpers: the helpers woke an idle
 * master 4 times a second at keepalive 200ms, and each process has two threads
 * less (bench/README.md "cost"). `deno compile` bakes the same flags into the
 * binary (deno.json `compile` task), the package's launcher passes them.
 */
export const V8_FLAGS = "--max-semi-space-size=1,--single-threaded";

/** True when running inside a binary built by `deno compile`. */
export function isCompiled(): boolean {
  // deno compile places the module graph under a virtual "deno-compile-" directory.
  return import.meta.url.includes("/deno-compile-");
}

/**
 * The environment variable the package's launcher (`packaging/deb/heartbeat`) sets to its own
 * path: re-invocations go through it, so every worker gets the same runtime flags.
 */
export const LAUNCHER_ENV = "HB_LAUNCHER";

/**
 * The argv (program first) that runs this same program with `args`.
 *
 * From source: `[deno, "run", "-A", "--quiet", "--v8-flags=…", <main.ts>, ...args]`.
 * Compiled: `[<binary>, ...args]`. Installed by the Debian package: `[<launcher>, ...args]`
 * (the launcher named by `HB_LAUNCHER`).
 */
export function selfCommand(args: readonly string[]): string[] {
  const exe = Deno.execPath();
  if (isCompiled()) return [exe, ...args];
  const launcher = Deno.env.get(LAUNCHER_ENV);
  if (launcher) return [launcher, ...args];
  // HB_V8_FLAGS adds flags for development (e.g. `--prof --logfile=/tmp/v8-%p.log` to profile)
  const extra = Deno.env.get("HB_V8_FLAGS");
  const flags = extra ? `${V8_FLAGS},${extra.trim().split(/\s+/).join(",")}` : V8_FLAGS;
  return [exe, "run", "-A", "--quiet", `--v8-flags=${flags}`, MAIN_URL.pathname, ...args];
}
