/**
 * A worker's wait for its descriptors on its own JS thread.
 *
 * Deno runs a blocking read (FFI `nonblocking` call, `Deno.stdin.read`) on a helper thread and
 * then wakes the JS thread: two thread hand-offs and several context switches per packet, most
 * of an idle worker's CPU time. A UDP read or write worker has nothing else to do, so it waits
 * the way Heartbeat's read and write children do: `poll(2)` on the JS thread itself, then
 * `recvfrom`/`read` without blocking. The JS event loop (signal listeners, timers) gets a turn
 * when a signal happens to interrupt the wait (Deno's other threads usually take a signal, so do
 * not count on it), after `idleMs` without traffic, and at least every `turnMs` under traffic.
 * Every turn costs more than a packet does, so both are long: what the master has to tell a
 * worker at once comes in band on its channel (`workers/mod.ts`, `REREAD_KEYS`).
 *
 * @module
 */

import { POLLERR, POLLHUP, POLLIN, pollIn, POLLNVAL } from "../sys/socket.ts";

/** Descriptor events that mean "look at it now". */
export const READY = POLLIN | POLLERR | POLLHUP | POLLNVAL;

/** Waits for a fixed set of descriptors; see the module comment. */
export class FdWaiter {
  readonly #fds: number[];
  readonly #idleMs: number;
  readonly #turnMs: number;
  #lastTurn = performance.now();

  /**
   * @param fds descriptors to wait for
   * @param idleMs longest blocking wait before the event loop gets a turn (default 5000)
   * @param turnMs under traffic, the event loop gets a turn at least this often (default 5000)
   */
  constructor(fds: number[], idleMs = 5000, turnMs = 5000) {
    this.#fds = fds;
    this.#idleMs = idleMs;
    this.#turnMs = turnMs;
  }

  /** Resolves with the `revents` of each descriptor (in order) once any is ready. */
  async next(): Promise<number[]> {
    while (true) {
      if (performance.now() - this.#lastTurn >= this.#turnMs) await this.#turn();
      const revents = pollIn(this.#fds, this.#idleMs);
      if (revents !== null && revents.some((e) => (e & READY) !== 0)) return revents;
      await this.#turn();
    }
  }

  async #turn(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 0));
    this.#lastTurn = performance.now();
  }
}
