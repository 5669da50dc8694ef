/**
 * Clean-up guard of the benchmark and the chaos campaign: every testbed and every helper process (ping, stress-ng)
 * the benchmark starts is registered here, and is removed on normal exit, on error and on
 * SIGINT/SIGTERM.
 *
 * The testbed already destroys its own namespaces on a signal; this guard adds the processes
 * that live outside the nodes (stress-ng runs in the root namespaces) and makes sure the
 * benchmark exits even when no testbed is alive at that moment.
 *
 * @module
 */

import type { Testbed } from "./cluster.ts";

const testbeds = new Set<Testbed>();
const children = new Set<Deno.ChildProcess>();
let installed = false;

/** Kills every registered helper process (SIGKILL, synchronously). */
export function killChildren(): void {
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  children.clear();
}

/**
 * Installs the SIGINT/SIGTERM handlers (once). Call before the first testbed is created so
 * that these handlers run before the testbed's own.
 */
export function installGuard(): void {
  if (installed) return;
  installed = true;
  let exiting = false;
  const onSignal = (code: number) => {
    if (exiting) return;
    exiting = true;
    console.error(
      `bench: interrupted, stopping ${children.size} helper(s) and ${testbeds.size} testbed(s)`,
    );
    killChildren();
    for (const tb of testbeds) tb.destroyNow();
    Deno.exit(code);
  };
  Deno.addSignalListener("SIGINT", () => onSignal(130));
  Deno.addSignalListener("SIGTERM", () => onSignal(143));
}

/** Registers a testbed (removed again by {@link forgetTestbed}). */
export function trackTestbed(tb: Testbed): void {
  testbeds.add(tb);
}

/** Unregisters a testbed once destroyed. */
export function forgetTestbed(tb: Testbed): void {
  testbeds.delete(tb);
}

/** Registers a helper process so that it is killed on interrupt. */
export function trackChild(child: Deno.ChildProcess): void {
  children.add(child);
  child.status.finally(() => children.delete(child));
}
