/**
 * Our send history: the last {@link HISTORY_SIZE} sequenced messages we sent
 * (Heartbeat's ring `msghist`), with the acknowledgement low-water mark and
 * the time each message was last retransmitted. The message bytes live in
 * the I/O shell; the core only keeps the bookkeeping (behavior.md §5.1-§5.3).
 *
 * Kept messages are the sequence numbers `lowseq+1 … hiseq` that were not
 * freed; `lowseq` is the last freed one (by ack or by ring overwrite).
 *
 * @module
 */

import { HISTORY_SIZE } from "./types.ts";

/** Above this many unacknowledged messages clients are paused (MAXMSGHIST/2). */
export const FLOW_CONTROL_LIMIT = HISTORY_SIZE / 2;

/** Bookkeeping of our sent sequenced messages. */
export class SendHistory {
  /** Highest sequence number sent (0 before the first). */
  hiseq = 0;
  /** Last freed sequence number (0 when nothing was freed). */
  lowseq = 0;
  /** Cluster-wide acknowledged sequence number (min over live nodes). */
  ackseq = 0;
  readonly #present = new Uint8Array(HISTORY_SIZE);
  readonly #seqs = new Float64Array(HISTORY_SIZE);
  /** Last retransmission time per slot (NaN = never). */
  readonly #lastRexmit = new Float64Array(HISTORY_SIZE).fill(NaN);

  /** Ring slot of a sequence number (sequence numbers are contiguous from 1). */
  static slot(seq: number): number {
    return (seq - 1) % HISTORY_SIZE;
  }

  /** Heartbeat's `lastmsg`: the slot of the newest message (HISTORY_SIZE-1 when empty). */
  get lastmsg(): number {
    return this.hiseq === 0 ? HISTORY_SIZE - 1 : SendHistory.slot(this.hiseq);
  }

  /** Number of messages between the freed mark and the newest (Heartbeat's queue length). */
  get queued(): number {
    return this.hiseq - this.lowseq;
  }

  /** Records that we sent `seq` (must be hiseq + 1); overwrites the oldest slot. */
  add(seq: number): void {
    const slot = SendHistory.slot(seq);
    this.#freeSlot(slot);
    this.hiseq = seq;
    this.#present[slot] = 1;
    this.#seqs[slot] = seq;
    this.#lastRexmit[slot] = NaN;
  }

  /** Whether `seq` is still kept. */
  has(seq: number): boolean {
    if (seq <= 0 || seq > this.hiseq) return false;
    const slot = SendHistory.slot(seq);
    return this.#present[slot] === 1 && this.#seqs[slot] === seq;
  }

  /** When `seq` was last retransmitted (NaN = never or not kept). */
  lastResent(seq: number): number {
    return this.has(seq) ? this.#lastRexmit[SendHistory.slot(seq)] : NaN;
  }

  /** Notes a retransmission of `seq` at `now`. */
  markResent(seq: number, now: number): void {
    if (this.has(seq)) this.#lastRexmit[SendHistory.slot(seq)] = now;
  }

  /**
   * Raises the acknowledged mark to `ackseq` and frees the acknowledged
   * messages. Returns false when `ackseq` is not higher than the current mark.
   */
  updateAck(ackseq: number): boolean {
    const old = this.ackseq;
    if (ackseq <= old) return false;
    this.ackseq = ackseq;
    // Heartbeat frees one message fewer on the very first ack.
    const upTo = old === 0 ? ackseq - 1 : ackseq;
    for (let s = this.lowseq + 1; s <= upTo && s <= this.hiseq; s++) {
      this.#freeSlot(SendHistory.slot(s));
    }
    return true;
  }

  #freeSlot(slot: number): void {
    if (this.#present[slot] === 1) {
      this.#present[slot] = 0;
      this.lowseq = this.#seqs[slot];
    }
  }
}
