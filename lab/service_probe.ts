/**
 * The service's client (the chaos campaign, the bench's service suite, the monitor tests):
 * `lab/tcp_probe.ts` run in the testbed's client namespace, its answers kept in memory with their
 * receive times.
 *
 * @module
 */

import type { TestClient } from "./cluster.ts";
import { ReplyFeed, spawnInClient } from "./probe.ts";

/** One answer of the service. */
export interface Answer {
  /** Receive time, ms since the epoch (the prober's clock, the same as `Date.now()`). */
  at: number;
}

/** A running service client. */
export class ServiceProbe extends ReplyFeed<Answer> {
  private constructor(child: Deno.ChildProcess) {
    super(child, (line) => {
      const at = Number(line.split(" ")[0]);
      return Number.isFinite(at) && at > 0 ? { at } : undefined;
    });
  }

  /** Connects to `address:port` from `client` every `intervalMs`. */
  static start(client: TestClient, address: string, port: number, intervalMs = 10): ServiceProbe {
    const script = new URL("./tcp_probe.ts", import.meta.url).pathname;
    const child = spawnInClient(client, [
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      script,
      address,
      String(port),
      String(intervalMs),
    ], "inherit");
    return new ServiceProbe(child);
  }
}
