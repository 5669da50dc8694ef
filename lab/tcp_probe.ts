/**
 * A client of the service (the chaos campaign, the service suite, the monitor tests): opens a TCP connection to HOST:PORT every
 * INTERVAL ms (each attempt on its own, so a hanging one does not delay the next) and prints
 * `<epoch ms> <seq>` for every connection that delivered the service's answer within TIMEOUT
 * ms. Unlike an ICMP probe it notices a frozen node (its kernel still completes the handshake,
 * nothing answers) and a dead service process. Runs in the client namespace:
 *
 * ```
 * deno run -A lab/tcp_probe.ts HOST PORT [INTERVAL_MS=10] [TIMEOUT_MS=200]
 * ```
 *
 * @module
 */

import { connect } from "node:net";

/** Starts probing; never returns (the campaign kills the process). */
export function probe(host: string, port: number, intervalMs: number, timeoutMs: number): void {
  let seq = 0;
  setInterval(() => {
    const n = ++seq;
    const sock = connect({ host, port });
    let got = "";
    const done = () => sock.destroy();
    sock.setTimeout(timeoutMs, done);
    sock.on("data", (b: Uint8Array) => {
      got += new TextDecoder().decode(b);
      if (got.includes("ok")) {
        console.log(`${Date.now()} ${n}`);
        done();
      }
    });
    sock.on("error", done); // refused, unreachable, reset: no answer, which is what we count
  }, intervalMs);
}

if (import.meta.main) {
  const [host, port, interval, timeout] = Deno.args;
  probe(host, Number(port), Number(interval ?? "10"), Number(timeout ?? "200"));
}
