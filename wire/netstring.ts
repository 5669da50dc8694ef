/**
 * Netstring encoding (spec `wire.md` §2.1): `###\n` + one `LEN:(T)NAME=VALUE,` per field +
 * `%%%\n`, optionally followed (on packet media) by the authentication trailer `LEN:N TOKEN,`.
 *
 * Encoding produces exactly the bytes Heartbeat 3.0.6 produces; decoding is strict (canonical
 * lengths, type markers 0–5 only, exact nesting) and never throws on bad input.
 *
 * @module
 */

import {
  COLON,
  COMMA,
  decimalDigits,
  EQUALS,
  hasMarkerAt,
  latin1Decode,
  writeDecimal,
  writeLatin1,
} from "./bytes.ts";
import { type DecodeFailure, failure, WireEncodeError } from "./errors.ts";
import { MAX_DEPTH, MAX_LIST_PACKED, MAX_UNCOMPRESSED } from "./limits.ts";
import { packedListLength, parsePackedList, writePackedList } from "./list_pack.ts";
import { type Field, FT_STRING, Message } from "./message.ts";

/** `###\n`, the netstring start marker. */
export const NETSTRING_START: Uint8Array = new Uint8Array([0x23, 0x23, 0x23, 0x0a]);
/** `%%%\n`, the netstring end marker. */
const NETSTRING_END: Uint8Array = new Uint8Array([0x25, 0x25, 0x25, 0x0a]);

const LPAREN = 0x28;
const RPAREN = 0x29;
const MAX_LEN_DIGITS = 8;

function hasNul(s: string): boolean {
  return s.indexOf("\0") >= 0;
}

/** Length of a field's netstring body `(T)NAME=VALUE`. Throws {@link WireEncodeError}. */
function fieldBodyLength(f: Field, depth: number): number {
  const head = 3 + f.name.length + 1;
  switch (f.type) {
    case 0:
      if (hasNul(f.value)) {
        throw new WireEncodeError("invalid", `string field ${f.name} contains a NUL byte`);
      }
      return head + f.value.length;
    case 1:
    case 4:
      return head + f.value.length;
    case 2:
    case 5:
      return head + bodyLength(f.value, depth + 1);
    case 3: {
      if (f.value.length === 0) {
        throw new WireEncodeError("invalid", `list field ${f.name} is empty`);
      }
      for (const e of f.value) {
        if (e.length === 0) {
          throw new WireEncodeError("invalid", `list field ${f.name} has an empty element`);
        }
      }
      const n = packedListLength(f.value);
      if (n >= MAX_LIST_PACKED) {
        throw new WireEncodeError(
          "invalid",
          `list field ${f.name} packs to ${n} bytes (limit ${MAX_LIST_PACKED - 1})`,
        );
      }
      return head + n;
    }
  }
}

function bodyLength(msg: Message, depth: number): number {
  if (depth > MAX_DEPTH) {
    throw new WireEncodeError("invalid", `structs nested deeper than ${MAX_DEPTH} levels`);
  }
  let n = 8;
  for (const f of msg.fields) {
    const b = fieldBodyLength(f, depth);
    n += decimalDigits(b) + b + 2;
  }
  return n;
}

/**
 * Byte length of the netstring encoding of `msg` from `###\n` through `%%%\n` (no trailer).
 * Throws {@link WireEncodeError} when the message cannot be encoded.
 */
export function netstringLength(msg: Message): number {
  return bodyLength(msg, 0);
}

function writeBody(msg: Message, dst: Uint8Array, off: number, depth: number): number {
  dst.set(NETSTRING_START, off);
  off += 4;
  for (const f of msg.fields) {
    const b = fieldBodyLength(f, depth);
    off = writeDecimal(dst, off, b);
    dst[off++] = COLON;
    dst[off++] = LPAREN;
    dst[off++] = 0x30 + f.type;
    dst[off++] = RPAREN;
    off = writeLatin1(dst, off, f.name);
    dst[off++] = EQUALS;
    switch (f.type) {
      case 0:
        off = writeLatin1(dst, off, f.value);
        break;
      case 1:
      case 4:
        dst.set(f.value, off);
        off += f.value.length;
        break;
      case 2:
      case 5:
        off = writeBody(f.value, dst, off, depth + 1);
        break;
      case 3:
        off = writePackedList(dst, off, f.value);
        break;
    }
    dst[off++] = COMMA;
  }
  dst.set(NETSTRING_END, off);
  return off + 4;
}

/**
 * Writes the netstring encoding of `msg` (`###\n`…`%%%\n`, no trailer) into `dst` at `off`, which
 * must have room for {@link netstringLength} bytes; returns the offset after it.
 */
export function writeNetstring(msg: Message, dst: Uint8Array, off: number): number {
  return writeBody(msg, dst, off, 0);
}

/**
 * Encodes `msg` as a netstring message without trailer (the form used for nested structs, for
 * compressed payloads in netstring mode and for the local API socket).
 * Throws {@link WireEncodeError} when it cannot be encoded or reaches `MAX_UNCOMPRESSED`.
 */
export function encodeNetstring(msg: Message): Uint8Array {
  const n = netstringLength(msg);
  if (n >= MAX_UNCOMPRESSED) {
    throw new WireEncodeError(
      "too-big",
      `message encodes to ${n} bytes (limit ${MAX_UNCOMPRESSED})`,
    );
  }
  const out = new Uint8Array(n);
  writeBody(msg, out, 0, 0);
  return out;
}

/** Writes the trailer `LEN:N TOKEN,` at `off`; returns the offset after it. */
export function writeTrailer(dst: Uint8Array, off: number, index: number, token: string): number {
  const body = decimalDigits(index) + 1 + token.length;
  off = writeDecimal(dst, off, body);
  dst[off++] = COLON;
  off = writeDecimal(dst, off, index);
  dst[off++] = 0x20;
  off = writeLatin1(dst, off, token);
  dst[off++] = COMMA;
  return off;
}

/** Result of parsing a netstring message body. */
export interface NetstringBody {
  /** Always `true`. */
  readonly ok: true;
  /** The decoded message. */
  readonly msg: Message;
  /** Offset just after `%%%\n`. */
  readonly end: number;
}

/**
 * Parses a canonical decimal length followed by `:` at `off`. Returns `[value, offsetAfterColon]`
 * or an error text.
 */
function parseLength(bytes: Uint8Array, off: number, end: number): [number, number] | string {
  let p = off;
  let n = 0;
  while (p < end && bytes[p] >= 0x30 && bytes[p] <= 0x39) {
    n = n * 10 + (bytes[p] - 0x30);
    p++;
    if (p - off > MAX_LEN_DIGITS) return "length has too many digits";
  }
  if (p === off) return "length expected";
  if (p >= end) return "truncated after length";
  if (bytes[p] !== COLON) return "':' expected after length";
  if (bytes[off] === 0x30 && p - off > 1) return "length has a leading zero";
  return [n, p + 1];
}

/**
 * Decodes a netstring message body (`###\n`…`%%%\n`) starting at `start`, reading no further
 * than `end`. `depth` is the nesting level (0 for a packet). Bytes after `%%%\n` are not looked
 * at; the returned `end` says where the body stopped.
 */
export function decodeNetstringBody(
  bytes: Uint8Array,
  start = 0,
  end = bytes.length,
  depth = 0,
): NetstringBody | DecodeFailure {
  if (depth > MAX_DEPTH) return failure("format", `structs nested deeper than ${MAX_DEPTH}`, start);
  if (!hasMarkerAt(bytes, start, end, NETSTRING_START)) {
    return failure("format", "missing ###\\n start marker", start);
  }
  const fields: Field[] = [];
  let p = start + 4;
  while (true) {
    if (hasMarkerAt(bytes, p, end, NETSTRING_END)) {
      return { ok: true, msg: Message.trusted(fields), end: p + 4 };
    }
    if (p >= end) return failure("format", "missing %%%\\n end marker (truncated)", p);
    const l = parseLength(bytes, p, end);
    if (typeof l === "string") return failure("format", `field ${fields.length}: ${l}`, p);
    const [len, b] = l;
    const bodyEnd = b + len;
    if (bodyEnd >= end) {
      return failure("format", `field ${fields.length}: length ${len} runs past the end`, p);
    }
    if (bytes[bodyEnd] !== COMMA) {
      return failure("format", `field ${fields.length}: ',' expected after ${len} bytes`, bodyEnd);
    }
    if (len < 4 || bytes[b] !== LPAREN || bytes[b + 2] !== RPAREN) {
      return failure("format", `field ${fields.length}: missing (T) type marker`, b);
    }
    const t = bytes[b + 1] - 0x30;
    if (t < 0 || t > 5) {
      return failure(
        "format",
        `field ${fields.length}: bad type marker ${
          JSON.stringify(String.fromCharCode(bytes[b + 1]))
        }`,
        b + 1,
      );
    }
    const nameStart = b + 3;
    let eq = nameStart;
    while (eq < bodyEnd && bytes[eq] !== EQUALS) eq++;
    if (eq >= bodyEnd) return failure("format", `field ${fields.length}: no '='`, nameStart);
    if (eq === nameStart) return failure("format", `field ${fields.length}: empty name`, nameStart);
    const name = latin1Decode(bytes, nameStart, eq);
    const vs = eq + 1;
    switch (t) {
      case 0:
        fields.push({ name, type: FT_STRING, value: latin1Decode(bytes, vs, bodyEnd) });
        break;
      case 1:
      case 4:
        fields.push({ name, type: t, value: bytes.slice(vs, bodyEnd) });
        break;
      case 2:
      case 5: {
        const inner = decodeNetstringBody(bytes, vs, bodyEnd, depth + 1);
        if (!inner.ok) {
          return failure("format", `struct field ${name}: ${inner.detail}`, inner.offset);
        }
        if (inner.end !== bodyEnd) {
          return failure("format", `struct field ${name}: bytes after nested %%%\\n`, inner.end);
        }
        fields.push({ name, type: t, value: inner.msg });
        break;
      }
      case 3: {
        const list = parsePackedList(bytes, vs, bodyEnd);
        if (typeof list === "string") return failure("format", `list field ${name}: ${list}`, vs);
        fields.push({ name, type: 3, value: list });
        break;
      }
    }
    p = bodyEnd + 1;
  }
}

/** A parsed authentication trailer. */
export interface Trailer {
  /** Always `true`. */
  readonly ok: true;
  /** Key index named by the trailer. */
  readonly index: number;
  /** The token text (compared as a string). */
  readonly token: string;
  /** Offset just after the trailer's `,`. */
  readonly end: number;
}

/**
 * Parses the trailer `LEN:N TOKEN,` at `off`. Strict: `N` is decimal digits, one space, then a
 * token of printable non-space characters filling the rest of the netstring. A missing or garbled
 * trailer is an authentication failure (the packet is dropped), so the reason is `auth`.
 */
export function parseTrailer(
  bytes: Uint8Array,
  off: number,
  end = bytes.length,
): Trailer | DecodeFailure {
  if (off >= end) return failure("auth", "no authentication trailer after %%%\\n", off);
  const l = parseLength(bytes, off, end);
  if (typeof l === "string") return failure("auth", `malformed trailer: ${l}`, off);
  const [len, b] = l;
  if (b + len >= end) return failure("auth", "truncated trailer", off);
  if (bytes[b + len] !== COMMA) return failure("auth", "trailer not terminated by ','", b + len);
  let p = b;
  let index = 0;
  while (p < b + len && bytes[p] >= 0x30 && bytes[p] <= 0x39 && p - b < 6) {
    index = index * 10 + (bytes[p] - 0x30);
    p++;
  }
  if (p === b || p >= b + len || bytes[p] !== 0x20) {
    return failure("auth", "malformed trailer: expected 'N token'", b);
  }
  const ts = p + 1;
  if (ts >= b + len) return failure("auth", "malformed trailer: empty token", ts);
  for (let i = ts; i < b + len; i++) {
    if (bytes[i] <= 0x20 || bytes[i] >= 0x7f) {
      return failure("auth", "malformed trailer: bad character in token", i);
    }
  }
  return { ok: true, index, token: latin1Decode(bytes, ts, b + len), end: b + len + 1 };
}
