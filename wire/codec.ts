/**
 * Format detection and unauthenticated decoding/encoding of whole messages: what the local API
 * socket, the FIFO and compressed payloads carry (no trailer, no digest check). Packets from the
 * network go through `auth.ts` instead.
 *
 * @module
 */

import { CLASSIC_START, decodeClassic, encodeClassic } from "./classic.ts";
import { type DecodeFailure, failure } from "./errors.ts";
import { MAX_UNCOMPRESSED } from "./limits.ts";
import type { Message } from "./message.ts";
import { decodeNetstringBody, encodeNetstring, NETSTRING_START } from "./netstring.ts";

/** The two encodings. */
export type WireFormat = "netstring" | "classic";

function has(bytes: Uint8Array, off: number, marker: Uint8Array): boolean {
  if (bytes.length < off + 4) return false;
  for (let i = 0; i < 4; i++) if (bytes[off + i] !== marker[i]) return false;
  return true;
}

/**
 * Tells the encoding from the first four bytes: `###\n` → netstring, `>>>\n` → classic, anything
 * else → `undefined` (a receiver drops it).
 */
export function detectFormat(bytes: Uint8Array, off = 0): WireFormat | undefined {
  if (has(bytes, off, NETSTRING_START)) return "netstring";
  if (has(bytes, off, CLASSIC_START)) return "classic";
  return undefined;
}

/** A successfully decoded (unauthenticated) message. */
export interface Decoded {
  /** Always `true`. */
  readonly ok: true;
  /** The message. */
  readonly msg: Message;
  /** Which encoding it used. */
  readonly format: WireFormat;
  /** Offset just after the end marker (`%%%\n` or `<<<\n`). */
  readonly end: number;
  /** Classic only: whether a NUL followed `<<<\n`. */
  readonly nul: boolean;
}

/**
 * Decodes one message of either encoding without checking any digest (anything after the end
 * marker — a NUL, a trailer — is ignored). `maxSize` bounds the input (default `MAX_UNCOMPRESSED`).
 * Never throws.
 */
export function decodeMessage(
  bytes: Uint8Array,
  maxSize: number = MAX_UNCOMPRESSED,
): Decoded | DecodeFailure {
  try {
    if (bytes.length > maxSize) {
      return failure("too-big", `${bytes.length} bytes (limit ${maxSize})`);
    }
    const format = detectFormat(bytes);
    if (format === "netstring") {
      const r = decodeNetstringBody(bytes);
      return r.ok ? { ok: true, msg: r.msg, format, end: r.end, nul: false } : r;
    }
    if (format === "classic") {
      const r = decodeClassic(bytes);
      return r.ok ? { ok: true, msg: r.msg, format, end: r.end, nul: r.nul } : r;
    }
    return failure("format", "neither ###\\n nor >>>\\n at the start", 0);
  } catch (e) {
    return failure("format", `decoder error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Options of {@link encodeMessage}. */
export interface EncodeOptions {
  /** Classic only: append a NUL after `<<<\n` (what IPC and the client library do). */
  readonly nul?: boolean;
}

/**
 * Encodes `msg` without authentication in the given format (netstring: `###\n`…`%%%\n` with no
 * trailer; classic: `>>>\n`…`<<<\n` plus optional NUL). Throws `WireEncodeError`.
 */
export function encodeMessage(
  msg: Message,
  format: WireFormat,
  opts: EncodeOptions = {},
): Uint8Array {
  return format === "netstring" ? encodeNetstring(msg) : encodeClassic(msg, opts);
}

/**
 * Encodes `msg` the way cluster-glue's IPC writer does (`msg2wirefmt_noac`): classic plus NUL,
 * unless `msgfmt` is netstring or the message holds a type 2/4/5 field, in which case netstring
 * without trailer. This is the form used on the local API socket and inside compressed payloads.
 */
export function encodeIpc(msg: Message, msgfmt: WireFormat = "classic"): Uint8Array {
  return msgfmt === "netstring" || msg.hasNested()
    ? encodeNetstring(msg)
    : encodeClassic(msg, { nul: true });
}
