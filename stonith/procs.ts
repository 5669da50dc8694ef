/**
 * The processes a STONITH helper has started (plugin programs, scripts), so that a helper
 * told to stop (SIGTERM from the master) can stop them too instead of leaving them behind.
 *
 * @module
 */

const running = new Set<Deno.ChildProcess>();

/** Remembers `child` until it has exited. */
export function trackChild(child: Deno.ChildProcess): void {
  running.add(child);
  void child.status.finally(() => running.delete(child));
}

/** Sends `signal` to every tracked child still running. */
export function killTrackedChildren(signal: Deno.Signal = "SIGTERM"): void {
  for (const c of running) {
    try {
      c.kill(signal);
    } catch { /* already gone */ }
  }
}
