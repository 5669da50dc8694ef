/**
 * The packed form of a list field (type 3), identical in both encodings: each element as a
 * netstring, concatenated — `["abc", "defg"]` ⇄ `3:abc,4:defg,` (spec `wire.md` §2.1, §2.2).
 * Elements are byte strings and must be non-empty (cluster-glue rejects a zero length), and a
 * list must have at least one element (an empty packed value is rejected by receivers).
 *
 * @module
 */

import { decimalDigits, latin1Decode, writeDecimal, writeLatin1 } from "./bytes.ts";

/** Byte length of the packed form of `list`. */
export function packedListLength(list: readonly string[]): number {
  let n = 0;
  for (const e of list) n += decimalDigits(e.length) + e.length + 2;
  return n;
}

/** Writes the packed form of `list` at `off`; returns the offset after it. */
export function writePackedList(dst: Uint8Array, off: number, list: readonly string[]): number {
  for (const e of list) {
    off = writeDecimal(dst, off, e.length);
    dst[off++] = 0x3a;
    off = writeLatin1(dst, off, e);
    dst[off++] = 0x2c;
  }
  return off;
}

/**
 * Parses a packed list in `bytes[start, end)` strictly (canonical form only: decimal lengths
 * without leading zeros, every element non-empty and followed by `,`, nothing left over, at least
 * one element). Returns the elements or a string explaining what is wrong.
 */
export function parsePackedList(bytes: Uint8Array, start: number, end: number): string[] | string {
  const out: string[] = [];
  let p = start;
  if (p >= end) return "empty list";
  while (p < end) {
    let len = 0;
    const d0 = p;
    while (p < end && bytes[p] >= 0x30 && bytes[p] <= 0x39) {
      len = len * 10 + (bytes[p] - 0x30);
      p++;
      if (p - d0 > 8) return "list element length too long";
    }
    if (p === d0) return `list element ${out.length}: length expected`;
    if (bytes[d0] === 0x30) return `list element ${out.length}: zero or zero-padded length`;
    if (p >= end || bytes[p] !== 0x3a) return `list element ${out.length}: ':' expected`;
    p++;
    if (p + len >= end) return `list element ${out.length}: truncated`;
    out.push(latin1Decode(bytes, p, p + len));
    p += len;
    if (bytes[p] !== 0x2c) return `list element ${out.length - 1}: ',' expected`;
    p++;
  }
  return out;
}
