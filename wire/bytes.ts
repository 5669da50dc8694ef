/**
 * Byte helpers shared by the wire codecs: "byte strings" (JS strings whose every char code is one
 * byte, 0–255, i.e. Latin-1), canonical base64 as cluster-glue writes it, hex, and small number
 * parsers. No I/O, no dependencies.
 *
 * Heartbeat field names and string values are raw bytes. The message model keeps them as byte
 * strings so that a byte count is a `.length`, decoding is loss-free for every byte value and
 * re-encoding is byte-exact. Text that is really UTF-8 can be converted with {@link utf8ToBytes}
 * and {@link bytesToUtf8} at the edges.
 *
 * @module
 */

const CHUNK = 8192;

/** ASCII `\n`. */
export const NL = 0x0a;
/** ASCII `,`. */
export const COMMA = 0x2c;
/** ASCII `:`. */
export const COLON = 0x3a;
/** ASCII `=`. */
export const EQUALS = 0x3d;

/** True when `bytes[off, end)` begins with the bytes of `marker`. */
export function hasMarkerAt(
  bytes: Uint8Array,
  off: number,
  end: number,
  marker: Uint8Array,
): boolean {
  if (off + marker.length > end) return false;
  for (let i = 0; i < marker.length; i++) if (bytes[off + i] !== marker[i]) return false;
  return true;
}

/** Decodes `bytes[start, end)` as a byte string (one char per byte, Latin-1). */
export function latin1Decode(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const n = end - start;
  if (n <= 0) return "";
  if (n <= 16) {
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]);
    return s;
  }
  if (n <= CHUNK) {
    return String.fromCharCode.apply(
      null,
      bytes.subarray(start, end) as unknown as number[],
    );
  }
  let s = "";
  for (let i = start; i < end; i += CHUNK) {
    const j = Math.min(end, i + CHUNK);
    s += String.fromCharCode.apply(null, bytes.subarray(i, j) as unknown as number[]);
  }
  return s;
}

/** Writes byte string `s` into `dst` at `off`; returns the offset after it. Chars must be ≤ 0xFF. */
export function writeLatin1(dst: Uint8Array, off: number, s: string): number {
  for (let i = 0; i < s.length; i++) dst[off++] = s.charCodeAt(i);
  return off;
}

/** Encodes byte string `s` (chars ≤ 0xFF) into a new Uint8Array. */
export function latin1Encode(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  writeLatin1(out, 0, s);
  return out;
}

/** True when every char code of `s` fits in one byte (so `s` is a valid byte string). */
export function isByteString(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: false });

/** Converts Unicode text to a byte string holding its UTF-8 encoding. */
export function utf8ToBytes(text: string): string {
  const b = utf8Encoder.encode(text);
  return latin1Decode(b);
}

/** Converts a byte string holding UTF-8 back to Unicode text (invalid sequences become U+FFFD). */
export function bytesToUtf8(byteString: string): string {
  return utf8Decoder.decode(latin1Encode(byteString));
}

/** `parts` one after the other in one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return s;
}

/** Number of decimal digits of a non-negative integer. */
export function decimalDigits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** Writes non-negative integer `n` in decimal at `off`; returns the offset after it. */
export function writeDecimal(dst: Uint8Array, off: number, n: number): number {
  const d = decimalDigits(n);
  let p = off + d;
  do {
    dst[--p] = 48 + (n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
  return off + d;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_CODES = new Uint8Array(64);
const B64_VALUES = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) {
  B64_CODES[i] = B64.charCodeAt(i);
  B64_VALUES[B64.charCodeAt(i)] = i;
}

/** Length of the padded base64 text of `n` bytes. */
export function base64Length(n: number): number {
  return Math.ceil(n / 3) * 4;
}

/**
 * Writes the standard padded base64 of `src` (no line breaks, as cluster-glue does) into `dst` at
 * `off`; returns the offset after it.
 */
export function writeBase64(dst: Uint8Array, off: number, src: Uint8Array): number {
  const whole = src.length - (src.length % 3);
  let i = 0;
  for (; i < whole; i += 3) {
    const c = (src[i] << 16) | (src[i + 1] << 8) | src[i + 2];
    dst[off++] = B64_CODES[(c >> 18) & 63];
    dst[off++] = B64_CODES[(c >> 12) & 63];
    dst[off++] = B64_CODES[(c >> 6) & 63];
    dst[off++] = B64_CODES[c & 63];
  }
  const left = src.length - whole;
  if (left > 0) {
    const c = (src[i] << 16) | (left === 2 ? src[i + 1] << 8 : 0);
    dst[off++] = B64_CODES[(c >> 18) & 63];
    dst[off++] = B64_CODES[(c >> 12) & 63];
    dst[off++] = left === 2 ? B64_CODES[(c >> 6) & 63] : EQUALS;
    dst[off++] = EQUALS;
  }
  return off;
}

/** Standard padded base64 of `src` as a string. */
export function base64Encode(src: Uint8Array): string {
  const out = new Uint8Array(base64Length(src.length));
  writeBase64(out, 0, src);
  return latin1Decode(out);
}

/**
 * Decodes standard padded base64 in `text[start, end)`. Returns `undefined` unless the length is a
 * multiple of 4, every char is in the alphabet and `=` appears only as one or two final padding
 * chars. Non-zero padding bits are accepted (cluster-glue ignores them too).
 */
export function base64Decode(
  text: Uint8Array,
  start = 0,
  end = text.length,
): Uint8Array | undefined {
  const n = end - start;
  if (n % 4 !== 0) return undefined;
  if (n === 0) return new Uint8Array(0);
  let pad = 0;
  if (text[end - 1] === EQUALS) pad = text[end - 2] === EQUALS ? 2 : 1;
  const out = new Uint8Array((n / 4) * 3 - pad);
  let o = 0;
  for (let i = start; i < end; i += 4) {
    const last = i + 4 === end;
    const a = B64_VALUES[text[i]];
    const b = B64_VALUES[text[i + 1]];
    const c = last && pad === 2 ? 0 : B64_VALUES[text[i + 2]];
    const d = last && pad >= 1 ? 0 : B64_VALUES[text[i + 3]];
    if ((a | b | c | d) < 0) return undefined;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = (v >> 16) & 0xff;
    if (o < out.length) out[o++] = (v >> 8) & 0xff;
    if (o < out.length) out[o++] = v & 0xff;
  }
  return out;
}
