/**
 * The campaign's client: chaos/tcp_probe.ts run in the testbed's client namespace, its answers
 * kept in memory with their receive times.
 *
 * @module
 */

import type { TestClient } from "../tests/testbed/mod.ts";
import { trackChild } from "../bench/guard.ts";

/** One answer of the service. */
export interface Answer {
  /** Receive time, ms since the epoch (the prober's clock, the same as `Date.now()`). */
  at: number;
}

/** A running service client. */
export class ServiceProbe {
  /** Answers so far, in order. */
  readonly replies: Answer[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #done: Promise<void>;
  #waiters: Array<() => void> = [];

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#done = this.#read();
  }

  /** Connects to `address:port` from `client` every `intervalMs`. */
  static start(client: TestClient, address: string, port: number, intervalMs = 10): ServiceProbe {
    const script = new URL("./tcp_probe.ts", import.meta.url).pathname;
    const child = new Deno.Command("setpriv", {
      args: [
        "--pdeathsig",
        "KILL",
        "--",
        "ip",
        "netns",
        "exec",
        client.netns,
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        script,
        address,
        String(port),
        String(intervalMs),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    trackChild(child);
    return new ServiceProbe(child);
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of this.#child.stdout) {
      const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n");
      partial = lines.pop() ?? "";
      let got = false;
      for (const line of lines) {
        const at = Number(line.split(" ")[0]);
        if (!Number.isFinite(at) || at === 0) continue;
        this.replies.push({ at });
        got = true;
      }
      if (got) {
        const w = this.#waiters;
        this.#waiters = [];
        for (const f of w) f();
      }
    }
  }

  /** Resolves at the next answer or after `ms`, whichever is first. */
  nextReply(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((f) => f !== done);
        resolve();
      }, ms);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#waiters.push(done);
    });
  }

  /** Stops the prober and waits for it. */
  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // exited already
    }
    await this.#child.status;
    await this.#done;
  }
}
