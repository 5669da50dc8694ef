/**
 * Retransmission (behavior.md §5.2, wire.md §6.3): the timers of our own
 * `NS_rexmit` requests for missing messages of other nodes, and the plan for
 * answering requests other nodes send us.
 *
 * @module
 */

import { MinHeap } from "./heap.ts";
import type { SendHistory } from "./history.ts";

/** At most this many messages are re-sent for one request (MAX_REXMIT_BATCH). */
export const MAX_REXMIT_BATCH = 50;

interface TimerEntry {
  at: number;
  node: string;
  seq: number;
  version: number;
}

/**
 * One timer per (sender, missing seq), in a binary min-heap with lazy
 * cancellation: {@link nextAt} is O(1) amortised, scheduling O(log n).
 */
export class RexmitTimers {
  readonly #heap = new MinHeap<TimerEntry>((a, b) =>
    a.at < b.at || (a.at === b.at && a.version < b.version)
  );
  /** Live timers: key → version of the valid heap entry. */
  readonly #live = new Map<string, number>();
  #version = 0;

  static #key(node: string, seq: number): string {
    return `${node}\u0000${seq}`;
  }

  /** Number of live timers. */
  get size(): number {
    return this.#live.size;
  }

  /** (Re-)arms the timer for `seq` of `node` to fire at `at`. */
  schedule(node: string, seq: number, at: number): void {
    const version = ++this.#version;
    this.#live.set(RexmitTimers.#key(node, seq), version);
    this.#heap.push({ at, node, seq, version });
  }

  /** Cancels the timer for `seq` of `node` (if any). */
  cancel(node: string, seq: number): void {
    this.#live.delete(RexmitTimers.#key(node, seq));
  }

  /** Whether a timer for `seq` of `node` is armed. */
  has(node: string, seq: number): boolean {
    return this.#live.has(RexmitTimers.#key(node, seq));
  }

  /** Time of the earliest live timer (Infinity when none). */
  nextAt(): number {
    this.#dropStale();
    return this.#heap.peek()?.at ?? Infinity;
  }

  /** Removes and returns the timers due at `now`, earliest first. */
  takeDue(now: number): { node: string; seq: number }[] {
    const out: { node: string; seq: number }[] = [];
    while (true) {
      this.#dropStale();
      const top = this.#heap.peek();
      if (!top || top.at > now) break;
      this.#heap.pop();
      this.#live.delete(RexmitTimers.#key(top.node, top.seq));
      out.push({ node: top.node, seq: top.seq });
    }
    return out;
  }

  #dropStale(): void {
    while (this.#heap.size > 0) {
      const top = this.#heap.peek()!;
      if (this.#live.get(RexmitTimers.#key(top.node, top.seq)) === top.version) return;
      this.#heap.pop();
    }
  }
}

/** One step of answering a retransmission request. */
export type RexmitStep =
  /** Re-send our stored message `seq`. */
  | { kind: "resend"; seq: number }
  /** Answer with `NS_nak_rexmit` for `seq`. */
  | { kind: "nak"; seq: number; reason: "seqno too low" | "seqno not found" }
  /** `seq` is newer than anything we sent (`Rexmit of seq N requested. M is max.`). */
  | { kind: "too-high"; seq: number };

/**
 * Plans the answer to `NS_rexmit firstseq..lastseq` from a node that has
 * acknowledged our messages up to `requesterAck`: skips acknowledged numbers
 * and numbers re-sent less than `minInterval` ms ago, stops after
 * {@link MAX_REXMIT_BATCH} re-sends (Heartbeat's process_rexmit).
 */
export function planRexmitAnswer(
  hist: SendHistory,
  first: number,
  last: number,
  requesterAck: number,
  now: number,
  minInterval: number,
): RexmitStep[] {
  const steps: RexmitStep[] = [];
  let resent = 0;
  for (let seq = first; seq <= last; seq++) {
    if (seq <= requesterAck) continue;
    if (seq <= hist.lowseq) {
      steps.push({ kind: "nak", seq, reason: "seqno too low" });
      continue;
    }
    if (seq > hist.hiseq) {
      steps.push({ kind: "too-high", seq });
      continue;
    }
    if (!hist.has(seq)) {
      steps.push({ kind: "nak", seq, reason: "seqno not found" });
      continue;
    }
    const lastResent = hist.lastResent(seq);
    if (!Number.isNaN(lastResent) && now - lastResent < minInterval) continue;
    if (++resent > MAX_REXMIT_BATCH) break;
    hist.markResent(seq, now);
    steps.push({ kind: "resend", seq });
  }
  return steps;
}
