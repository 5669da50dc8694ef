/**
 * The read worker's filter for our own status echoes (core/own_echo.ts says why and how
 * often one must pass). The master sets it with an {@link ECHO_FILTER} control message; a
 * reader without one passes everything.
 *
 * It recognises an own status by bytes only, in both of Heartbeat's wire formats: the type
 * field first (`>>>\nt=status\n`, or `###\n11:(0)t=status,` in netstring form) and our name
 * in a `src` field. Anything else (other types, other senders, compressed or damaged
 * packets) passes: the master parses, verifies and decides. A forged own status that is
 * dropped here would have failed authentication in the master anyway.
 *
 * @module
 */

import { hasMarkerAt } from "../wire/bytes.ts";

/** Control message type: `{ t: "echo-filter", src: <our node name>, spacingMs: <ms> }`. */
export const ECHO_FILTER = "echo-filter";

const encoder = new TextEncoder();

/** Index of `needle` in `hay`, or -1. */
function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  const first = needle[0];
  for (let i = hay.indexOf(first); i !== -1; i = hay.indexOf(first, i + 1)) {
    if (hasMarkerAt(hay, i, hay.length, needle)) return i;
  }
  return -1;
}

const CLASSIC_HEAD = encoder.encode(">>>\nt=status\n");
const NETSTRING_HEAD = encoder.encode("###\n11:(0)t=status,");

/** Passes one own status echo per spacing; everything else always. */
export class OwnEchoFilter {
  readonly #classicSrc: Uint8Array;
  readonly #netstringSrc: Uint8Array;
  readonly #spacingMs: number;
  readonly #now: () => number;
  #lastPassed = -Infinity;
  #dropped = 0;

  /**
   * @param src our node name, as our status carries it
   * @param spacingMs least time between two own echoes passed (core/own_echo.ts)
   * @param now monotonic clock, ms
   */
  constructor(src: string, spacingMs: number, now: () => number = () => performance.now()) {
    this.#classicSrc = encoder.encode(`\nsrc=${src}\n`);
    const field = `(0)src=${src}`;
    this.#netstringSrc = encoder.encode(`,${encoder.encode(field).length}:${field},`);
    this.#spacingMs = spacingMs;
    this.#now = now;
  }

  /** Own echoes dropped so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Whether the datagram goes on to the master. */
  pass(bytes: Uint8Array): boolean {
    if (!this.#isOwnStatus(bytes)) return true;
    const now = this.#now();
    if (now - this.#lastPassed >= this.#spacingMs) {
      this.#lastPassed = now;
      return true;
    }
    this.#dropped++;
    return false;
  }

  #isOwnStatus(b: Uint8Array): boolean {
    if (hasMarkerAt(b, 0, b.length, CLASSIC_HEAD)) return indexOf(b, this.#classicSrc) !== -1;
    if (hasMarkerAt(b, 0, b.length, NETSTRING_HEAD)) return indexOf(b, this.#netstringSrc) !== -1;
    return false;
  }

  /** The filter a control message asks for; undefined when it is not one or is malformed. */
  static fromControl(value: unknown): OwnEchoFilter | undefined {
    const v = value as { t?: unknown; src?: unknown; spacingMs?: unknown } | null;
    if (v?.t !== ECHO_FILTER || typeof v.src !== "string" || v.src === "") return undefined;
    if (typeof v.spacingMs !== "number" || !(v.spacingMs >= 0)) return undefined;
    return new OwnEchoFilter(v.src, v.spacingMs);
  }
}
