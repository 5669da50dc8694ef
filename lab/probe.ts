/**
 * ICMP probe of the service address from the testbed's client namespace: `ping -D -n -i 0.01`
 * (one echo request every 10 ms), with every reply's receive time (the `-D` timestamp, the
 * same wall clock as `Date.now()`) kept in memory.
 *
 * @module
 */

import type { TestClient } from "./cluster.ts";
import { inNetnsTied } from "./sys.ts";
import { trackChild } from "./guard.ts";

/** One echo reply. */
export interface Reply {
  /** Receive time, milliseconds since the epoch (from ping's `-D` stamp). */
  at: number;
  /** `icmp_seq` of the reply. */
  seq: number;
}

const REPLY_RE = /^\[(\d+\.\d+)\] \d+ bytes from [\d.]+: icmp_seq=(\d+)/;

/**
 * Timed answers read line by line from a prober's stdout (`ping`, or the fault campaign's
 * TCP client), kept in memory in order, with a wait for the next one.
 */
export class ReplyFeed<R extends { at: number }> {
  /** Replies received so far, in order. */
  readonly replies: R[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #done: Promise<void>;
  #waiters: Array<() => void> = [];

  /** Follows `child`'s stdout; `parse` turns a line into a reply, or undefined to skip it. */
  constructor(child: Deno.ChildProcess, parse: (line: string) => R | undefined) {
    this.#child = child;
    this.#done = this.#read(parse);
  }

  async #read(parse: (line: string) => R | undefined): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of this.#child.stdout) {
      const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n");
      partial = lines.pop() ?? "";
      let got = false;
      for (const line of lines) {
        const r = parse(line);
        if (r === undefined) continue;
        this.replies.push(r);
        got = true;
      }
      if (got) {
        const w = this.#waiters;
        this.#waiters = [];
        for (const f of w) f();
      }
    }
  }

  /** Resolves at the next reply or after `ms`, whichever is first. */
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

  /**
   * Waits for the first reply received after `t` (ms since the epoch); returns its time. Throws
   * when none came within `timeoutMs`.
   */
  async replyAfter(t: number, timeoutMs = 60_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.replies.find((x) => x.at > t);
      if (r !== undefined) return r.at;
      if (Date.now() > deadline) throw new Error(`no reply within ${timeoutMs} ms`);
      await this.nextReply(500);
    }
  }

  /** Stops the prober and waits for it. */
  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.#child.status;
    await this.#done.catch(() => {});
  }
}

/**
 * Starts `argv` in `client`'s network namespace with its stdout piped, killed with us
 * (parent-death signal) and on interrupt: the probes' process.
 */
export function spawnInClient(
  client: TestClient,
  argv: string[],
  stderr: "null" | "inherit",
): Deno.ChildProcess {
  const [command, ...args] = inNetnsTied(client.netns, argv);
  const child = new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr,
  }).spawn();
  trackChild(child);
  return child;
}

/** A running `ping` in the client namespace. */
export class Pinger extends ReplyFeed<Reply> {
  private constructor(child: Deno.ChildProcess) {
    super(child, (line) => {
      const m = REPLY_RE.exec(line);
      return m ? { at: Number(m[1]) * 1000, seq: Number(m[2]) } : undefined;
    });
  }

  /**
   * Starts pinging `address` from `client` every `intervalMs` (default 10). The process dies
   * with the benchmark (parent-death signal) and is killed on interrupt.
   */
  static start(client: TestClient, address: string, intervalMs = 10): Pinger {
    const child = spawnInClient(
      client,
      ["ping", "-D", "-n", "-i", (intervalMs / 1000).toFixed(3), address],
      "null",
    );
    return new Pinger(child);
  }

  /** Waits until at least `count` replies with a receive time after `since` arrived; false on timeout. */
  async waitReplies(count: number, since: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.replies.filter((r) => r.at > since).length >= count) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.nextReply(Math.min(left, 200));
    }
  }

  /**
   * The first reply received after `since` that follows a silence of at least `gapMs` (the
   * previous reply, if any, is at least `gapMs` older). That is the first answer of the new
   * owner after a failover: the old owner's last answers come without such a gap.
   * Waits up to `timeoutMs`; undefined when none came.
   */
  async waitAfterGap(
    since: number,
    gapMs: number,
    timeoutMs: number,
  ): Promise<{ reply: Reply; previous: Reply | undefined } | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.findAfterGap(since, gapMs);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await this.nextReply(Math.min(left, 200));
    }
  }

  /** Non-waiting form of {@link Pinger.waitAfterGap}. */
  findAfterGap(
    since: number,
    gapMs: number,
  ): { reply: Reply; previous: Reply | undefined } | undefined {
    for (let i = 0; i < this.replies.length; i++) {
      const r = this.replies[i];
      if (r.at <= since) continue;
      const prev = i > 0 ? this.replies[i - 1] : undefined;
      if (!prev || r.at - prev.at >= gapMs) return { reply: r, previous: prev };
    }
    return undefined;
  }
}
