/**
 * Per-sender sequence tracking (Heartbeat's `struct seqtrack`): last
 * in-order sequence number, the list of missing numbers, the sender's
 * acknowledgement of our messages and our ack trigger digit for it
 * (behavior.md §5.1, §5.3; wire.md §6.2).
 *
 * The functions here only classify and record; logging, retransmission
 * timers and acks are done by the core from the returned verdicts.
 *
 * @module
 */

import { HISTORY_SIZE } from "./types.ts";

/** A gap larger than this resets tracking (`lost a lot of packets!`). */
export const MAX_GAP = HISTORY_SIZE / 2;
/** At most this many missing numbers are remembered per sender (MAXMISSING). */
export const MAX_MISSING = HISTORY_SIZE;
/** Acks are sent for sequence numbers with this remainder modulo 10. */
export const ACK_DIVISOR = 10;

/** How one sequenced message fits the sender's sequence. */
export type SeqVerdict =
  /** Next in order (or the first seen): accepted. */
  | { kind: "in-order" }
  /** Same as the last one: a copy from another medium or our own echo. */
  | { kind: "duplicate" }
  /** Newer than expected: `lost` numbers between `last` and `seq` are missing. */
  | { kind: "gap"; last: number; lost: number; reset: boolean }
  /** Older than the last one: a recorded missing number arriving late, or an old duplicate. */
  | { kind: "older" };

/** Sequence state of one sender. */
export class SeqTrack {
  /** Generation remembered from the sender's status messages (0 = none yet). */
  generation = 0;
  /** Last in-order sequence number (0 = none). */
  lastSeq = 0;
  /** Missing sequence numbers (ascending insertion order). */
  readonly missing = new Set<number>();
  /** Lowest missing number (0 = none). */
  firstMissing = 0;
  /** Highest of our sequence numbers this sender acknowledged. */
  ackseq = 0;
  /** Our ack trigger digit (0-9) for this sender. */
  readonly ackTrigger: number;

  /** Creates the tracking of one sender with its ack trigger digit. */
  constructor(ackTrigger: number) {
    this.ackTrigger = ackTrigger;
  }

  /** Forgets sequence state (not the generation, not the trigger). */
  reset(): void {
    this.lastSeq = 0;
    this.missing.clear();
    this.firstMissing = 0;
    this.ackseq = 0;
  }

  /** Classifies `seq` and records it (older numbers are left to the caller). */
  accept(seq: number): SeqVerdict {
    if (this.lastSeq === 0 || seq === this.lastSeq + 1) {
      this.lastSeq = seq;
      return { kind: "in-order" };
    }
    if (seq === this.lastSeq) return { kind: "duplicate" };
    if (seq > this.lastSeq) {
      const last = this.lastSeq;
      const lost = seq - last - 1;
      if (lost > MAX_GAP) {
        this.reset();
        this.lastSeq = seq;
        return { kind: "gap", last, lost, reset: true };
      }
      if (this.firstMissing === 0 || this.firstMissing > last + 1) this.firstMissing = last + 1;
      for (let k = last + 1; k < seq; k++) this.#addMissing(k);
      this.lastSeq = seq;
      return { kind: "gap", last, lost, reset: false };
    }
    return { kind: "older" };
  }

  /** Removes `seq` from the missing list; returns whether it was there. */
  removeMissing(seq: number): boolean {
    if (!this.missing.delete(seq)) return false;
    if (this.missing.size === 0) {
      this.firstMissing = 0;
    } else if (seq === this.firstMissing) {
      let min = Infinity;
      for (const m of this.missing) if (m < min) min = m;
      this.firstMissing = min;
    }
    return true;
  }

  /**
   * After the missing number `filled` (the previous first missing one) was
   * filled: the highest number to acknowledge (ending in our trigger digit,
   * below the next missing one), or 0 when none is due.
   */
  ackAfterFill(filled: number): number {
    const lastToAck = this.firstMissing === 0 ? this.lastSeq : this.firstMissing - 1;
    const x = lastToAck % ACK_DIVISOR;
    const base = Math.floor(lastToAck / ACK_DIVISOR);
    const ackSeq = x >= this.ackTrigger
      ? base * ACK_DIVISOR + this.ackTrigger
      : (base - 1) * ACK_DIVISOR + this.ackTrigger;
    return ackSeq >= filled && ackSeq > 0 ? ackSeq : 0;
  }

  /** Whether an in-order `seq` calls for an ack (trigger digit, nothing missing before it). */
  wantsAck(seq: number): boolean {
    if (this.firstMissing !== 0 && seq > this.firstMissing) return false;
    return seq % ACK_DIVISOR === this.ackTrigger;
  }

  #addMissing(k: number): void {
    if (this.missing.size >= MAX_MISSING - 1) {
      // full: replace the lowest recorded number, as Heartbeat does
      let min = Infinity;
      for (const m of this.missing) if (m < min) min = m;
      this.missing.delete(min);
    }
    this.missing.add(k);
  }
}
