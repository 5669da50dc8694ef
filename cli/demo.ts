/**
 * `heartbeat demo`: a local two-node cluster that shows a failover.
 *
 * @module
 */

/** Entry of the `demo` personality. */
export function demoMain(_args: string[]): Promise<number> {
  console.log("hb demo: not built yet");
  return Promise.resolve(0);
}
