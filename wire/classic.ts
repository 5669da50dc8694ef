/**
 * Classic encoding (spec `wire.md` §2.2): `>>>\n` + one `[(T)]NAME=TEXT\n` line per field +
 * `<<<\n` (+ one NUL for IPC and compressed payloads). Used on serial lines, the FIFO, the local
 * API socket, inside compressed payloads, and — without the marker lines and without `auth`
 * fields — as the text covered by the `auth` field digest.
 *
 * Per type: strings carry no marker and have every `\n` written as 0x13; binary and compressed
 * values are padded base64; lists use the packed form; nested structs are rendered in classic
 * form (markers included) with their newlines replaced by a depth symbol (0x14 for a struct in a
 * top-level message, then 0x15…0x1f, 0x0f…0x12). Type 5 has no classic form.
 *
 * @module
 */

import {
  base64Decode,
  base64Length,
  EQUALS,
  hasMarkerAt,
  latin1Decode,
  NL,
  writeBase64,
  writeLatin1,
} from "./bytes.ts";
import { type DecodeFailure, failure, WireEncodeError } from "./errors.ts";
import { MAX_DEPTH, MAX_UNCOMPRESSED } from "./limits.ts";
import { packedListLength, parsePackedList, writePackedList } from "./list_pack.ts";
import { type Field, Message } from "./message.ts";

/** `>>>\n`, the classic start marker. */
export const CLASSIC_START: Uint8Array = new Uint8Array([0x3e, 0x3e, 0x3e, 0x0a]);
/** `<<<\n`, the classic end marker. */
export const CLASSIC_END: Uint8Array = new Uint8Array([0x3c, 0x3c, 0x3c, 0x0a]);

/** Byte that stands for `\n` inside a classic string value. */
export const NEWLINE_SYMBOL = 0x13;

/** Newline symbols of nested structs, indexed by the depth of the message holding the field. */
export const DEPTH_SYMBOLS: readonly number[] = [
  0x14,
  0x15,
  0x16,
  0x17,
  0x18,
  0x19,
  0x1a,
  0x1b,
  0x1c,
  0x1d,
  0x1e,
  0x1f,
  0x0f,
  0x10,
  0x11,
  0x12,
];

const AUTH = "auth";

function fieldLength(f: Field, depth: number): number {
  switch (f.type) {
    case 0:
      if (f.value.indexOf("\0") >= 0) {
        throw new WireEncodeError("invalid", `string field ${f.name} contains a NUL byte`);
      }
      return f.name.length + 1 + f.value.length + 1;
    case 1:
    case 4:
      return 3 + f.name.length + 1 + base64Length(f.value.length) + 1;
    case 3:
      if (f.value.length === 0 || f.value.some((e) => e.length === 0)) {
        throw new WireEncodeError(
          "invalid",
          `list field ${f.name} is empty or has an empty element`,
        );
      }
      return 3 + f.name.length + 1 + packedListLength(f.value) + 1;
    case 2:
      if (depth >= MAX_DEPTH) {
        throw new WireEncodeError("invalid", `structs nested deeper than ${MAX_DEPTH} levels`);
      }
      return 3 + f.name.length + 1 + bodyLength(f.value, depth + 1, true, false) + 1;
    case 5:
      throw new WireEncodeError(
        "invalid",
        `field ${f.name} is an uncompressed struct (type 5), which has no classic form`,
      );
  }
}

function bodyLength(msg: Message, depth: number, head: boolean, skipAuth: boolean): number {
  let n = head ? 8 : 0;
  for (const f of msg.fields) {
    if (skipAuth && f.name === AUTH) continue;
    n += fieldLength(f, depth);
  }
  return n;
}

function writeBody(
  msg: Message,
  dst: Uint8Array,
  off: number,
  depth: number,
  head: boolean,
  skipAuth: boolean,
): number {
  if (head) {
    dst.set(CLASSIC_START, off);
    off += 4;
  }
  for (const f of msg.fields) {
    if (skipAuth && f.name === AUTH) continue;
    if (f.type !== 0) {
      dst[off++] = 0x28;
      dst[off++] = 0x30 + f.type;
      dst[off++] = 0x29;
    }
    off = writeLatin1(dst, off, f.name);
    dst[off++] = EQUALS;
    switch (f.type) {
      case 0: {
        const v = f.value;
        for (let i = 0; i < v.length; i++) {
          const c = v.charCodeAt(i);
          dst[off++] = c === NL ? NEWLINE_SYMBOL : c;
        }
        break;
      }
      case 1:
      case 4:
        off = writeBase64(dst, off, f.value);
        break;
      case 3:
        off = writePackedList(dst, off, f.value);
        break;
      case 2: {
        const s = off;
        off = writeBody(f.value, dst, off, depth + 1, true, false);
        const sym = DEPTH_SYMBOLS[depth];
        for (let i = s; i < off; i++) {
          if (dst[i] === NL) dst[i] = sym;
          else if (dst[i] === sym) {
            throw new WireEncodeError(
              "invalid",
              `struct field ${f.name} contains byte 0x${sym.toString(16)}, its depth symbol`,
            );
          }
        }
        break;
      }
    }
    dst[off++] = NL;
  }
  if (head) {
    dst.set(CLASSIC_END, off);
    off += 4;
  }
  return off;
}

/** Options of {@link encodeClassic}. */
export interface ClassicEncodeOptions {
  /** Append one NUL after `<<<\n` (IPC, FIFO-to-master and compressed payloads). Default false. */
  readonly nul?: boolean;
}

/**
 * Byte length of the classic encoding of `msg` (markers included, plus 1 when `nul`).
 * Throws {@link WireEncodeError} when the message has no classic form.
 */
export function classicLength(msg: Message, opts: ClassicEncodeOptions = {}): number {
  return bodyLength(msg, 0, true, false) + (opts.nul ? 1 : 0);
}

/**
 * Encodes `msg` in classic form (`>>>\n`…`<<<\n`, plus a NUL when `opts.nul`).
 * Throws {@link WireEncodeError} when it has no classic form or reaches `MAX_UNCOMPRESSED`.
 */
export function encodeClassic(msg: Message, opts: ClassicEncodeOptions = {}): Uint8Array {
  const n = classicLength(msg, opts);
  if (n >= MAX_UNCOMPRESSED) {
    throw new WireEncodeError(
      "too-big",
      `message encodes to ${n} bytes (limit ${MAX_UNCOMPRESSED})`,
    );
  }
  const out = new Uint8Array(n);
  writeBody(msg, out, 0, 0, true, false);
  return out;
}

let scratch = new Uint8Array(1024);

/**
 * The text covered by the `auth` field digest (spec §3.2): the classic lines of every field except
 * those named `auth`, in order, without marker lines and without NUL. The returned view points
 * into a shared scratch buffer that the next call overwrites: hash it at once.
 */
export function classicAuthText(msg: Message): Uint8Array {
  const n = bodyLength(msg, 0, false, true);
  if (scratch.length < n) scratch = new Uint8Array(Math.max(n, scratch.length * 2));
  const end = writeBody(msg, scratch, 0, 0, false, true);
  return scratch.subarray(0, end);
}

/** Result of decoding a classic message. */
export interface ClassicBody {
  /** Always `true`. */
  readonly ok: true;
  /** The decoded message. */
  readonly msg: Message;
  /** Offset just after `<<<\n`. */
  readonly end: number;
  /** Whether a NUL byte follows `<<<\n`. */
  readonly nul: boolean;
}

/**
 * Decodes a classic message starting at `start` (which must hold `>>>\n`), reading no further than
 * `end`. Empty lines are skipped; decoding stops at the `<<<\n` line; bytes after it are not
 * looked at (`nul` tells whether the next byte is a NUL). A line without `=`, an empty name, a
 * `(0)` or unknown marker, a NUL inside the message, bad base64, a bad list or a bad nested struct
 * fails the whole message. `depth` is the nesting level (0 at top level).
 */
export function decodeClassic(
  bytes: Uint8Array,
  start = 0,
  end = bytes.length,
  depth = 0,
): ClassicBody | DecodeFailure {
  if (!hasMarkerAt(bytes, start, end, CLASSIC_START)) {
    return failure("format", "missing >>>\\n start marker", start);
  }
  const fields: Field[] = [];
  let p = start + 4;
  while (true) {
    while (p < end && bytes[p] === NL) p++;
    if (p >= end) return failure("format", "missing <<<\\n end marker (truncated)", p);
    if (hasMarkerAt(bytes, p, end, CLASSIC_END)) {
      const e = p + 4;
      return { ok: true, msg: Message.trusted(fields), end: e, nul: e < end && bytes[e] === 0 };
    }
    let eol = p;
    let eq = -1;
    while (eol < end && bytes[eol] !== NL) {
      if (bytes[eol] === 0) return failure("format", `line ${fields.length + 1}: NUL byte`, eol);
      if (eq < 0 && bytes[eol] === EQUALS) eq = eol;
      eol++;
    }
    if (eol >= end) return failure("format", `line ${fields.length + 1}: no newline`, p);
    if (eq < 0) return failure("format", `line ${fields.length + 1}: no '='`, p);
    let type = 0;
    let ns = p;
    if (bytes[p] === 0x28) {
      if (eq - p < 3 || bytes[p + 2] !== 0x29) {
        return failure("format", `line ${fields.length + 1}: no closing parenthesis`, p);
      }
      type = bytes[p + 1] - 0x30;
      if (type < 1 || type > 4) {
        return failure(
          "format",
          `line ${fields.length + 1}: type marker ${
            JSON.stringify(String.fromCharCode(bytes[p + 1]))
          } not allowed in classic form`,
          p + 1,
        );
      }
      ns = p + 3;
    }
    if (eq === ns) return failure("format", `line ${fields.length + 1}: empty name`, ns);
    const name = latin1Decode(bytes, ns, eq);
    const vs = eq + 1;
    switch (type) {
      case 0: {
        let v = latin1Decode(bytes, vs, eol);
        if (v.indexOf("\x13") >= 0) v = v.replaceAll("\x13", "\n");
        fields.push({ name, type: 0, value: v });
        break;
      }
      case 1:
      case 4: {
        const b = base64Decode(bytes, vs, eol);
        if (b === undefined) return failure("format", `field ${name}: invalid base64`, vs);
        fields.push({ name, type: type as 1 | 4, value: b });
        break;
      }
      case 3: {
        const list = parsePackedList(bytes, vs, eol);
        if (typeof list === "string") return failure("format", `list field ${name}: ${list}`, vs);
        fields.push({ name, type: 3, value: list });
        break;
      }
      case 2: {
        if (depth >= MAX_DEPTH) {
          return failure("format", `structs nested deeper than ${MAX_DEPTH}`, vs);
        }
        const sym = DEPTH_SYMBOLS[depth];
        const inner = bytes.slice(vs, eol);
        for (let i = 0; i < inner.length; i++) if (inner[i] === sym) inner[i] = NL;
        const sub = decodeClassic(inner, 0, inner.length, depth + 1);
        if (!sub.ok) {
          return failure("format", `struct field ${name}: ${sub.detail}`, vs + (sub.offset ?? 0));
        }
        if (sub.end !== inner.length) {
          return failure("format", `struct field ${name}: bytes after nested <<<`, vs + sub.end);
        }
        fields.push({ name, type: 2, value: sub.msg });
        break;
      }
    }
    p = eol + 1;
  }
}
