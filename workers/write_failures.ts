/**
 * Heartbeat's handling of write errors on a medium, shared by the UDP and ping writers: each
 * failure logs the medium's own line and `write_child: write failure on <link>.`; after
 * {@link SUPPRESS_AFTER} in a row they are suppressed (with Heartbeat's two warnings) until a
 * write succeeds again.
 *
 * @module
 */

import { SocketError } from "../sys/inet.ts";
import type { WorkerPort } from "./media.ts";

/** Consecutive write failures after which error lines are suppressed (Heartbeat: 10). */
export const SUPPRESS_AFTER = 10;

/** Counts a writer's consecutive failures and logs them as Heartbeat does. */
export class WriteFailures {
  readonly #port: WorkerPort;
  readonly #link: string;
  #count = 0;

  /** `link` names the medium in the lines (`bcast eth0`, `ping 198.18.10.2`). */
  constructor(port: WorkerPort, link: string) {
    this.#port = port;
    this.#link = link;
  }

  /** A write went through. */
  succeeded(): void {
    if (this.#count > SUPPRESS_AFTER) {
      this.#port.log("info", `write on ${this.#link} succeeded again.`);
    }
    this.#count = 0;
  }

  /** A write failed with `e`; `line` gives the medium's own error line for the error's text. */
  failed(e: unknown, line: (text: string) => string): void {
    this.#count++;
    const text = e instanceof SocketError ? e.message.replace(/^sendto: /, "") : String(e);
    if (this.#count <= SUPPRESS_AFTER) {
      this.#port.log("ERROR", line(text), true);
      this.#port.log("ERROR", `write_child: write failure on ${this.#link}.: ${text}`);
    }
    if (this.#count === SUPPRESS_AFTER) {
      this.#port.log("WARN", "Temporarily Suppressing write error messages");
      this.#port.log("WARN", `Is a cable unplugged on ${this.#link}?`);
    }
  }
}
