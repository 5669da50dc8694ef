/**
 * The three Heartbeat 3.0.6 authentication digests (spec `wire.md` §3.4), as lowercase hex tokens.
 * This is the only module that touches `node:crypto`: replacing the HMAC provider is a change of
 * this one file.
 *
 * - `crc`: CRC-32/POSIX without the length suffix (MSB-first, polynomial 0x04C11DB7, initial 0,
 *   result complemented), printed `%lx` — lowercase hex **without leading zeros**. Keys ignored.
 * - `md5`: HMAC-MD5 (RFC 2104) with the key's bytes, 32 hex chars.
 * - `sha1`: HMAC-SHA1 (RFC 2104) with the key's bytes, 40 hex chars.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";

/** The digest methods of `authkeys`. */
export type DigestMethod = "crc" | "md5" | "sha1";

const CRC_TABLE = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let c = i << 24;
  for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
  CRC_TABLE[i] = c >>> 0;
}

/** CRC-32/POSIX (no length suffix) of `data`, as an unsigned 32-bit number. */
export function crc32Posix(data: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < data.length; i++) {
    crc = (crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ data[i]) & 0xff];
  }
  return ~crc >>> 0;
}

const encoder = new TextEncoder();
const BLOCK = 64;

/** HMAC (RFC 2104) with the key's inner and outer pad states hashed once and then copied. */
interface HmacPads {
  readonly inner: Hash;
  readonly outer: Hash;
}

const padCache = new Map<string, HmacPads>();

function pads(method: "md5" | "sha1", secret: string | Uint8Array): HmacPads {
  const id = typeof secret === "string"
    ? `${method}:s:${secret}`
    : `${method}:b:${Array.from(secret).join(",")}`;
  let p = padCache.get(id);
  if (p === undefined) {
    let key = typeof secret === "string" ? encoder.encode(secret) : secret;
    if (key.length > BLOCK) key = new Uint8Array(createHash(method).update(key).digest());
    const ipad = new Uint8Array(BLOCK).fill(0x36);
    const opad = new Uint8Array(BLOCK).fill(0x5c);
    for (let i = 0; i < key.length; i++) {
      ipad[i] ^= key[i];
      opad[i] ^= key[i];
    }
    p = { inner: createHash(method).update(ipad), outer: createHash(method).update(opad) };
    if (padCache.size >= 32) padCache.clear();
    padCache.set(id, p);
  }
  return p;
}

function hmacHex(method: "md5" | "sha1", secret: string | Uint8Array, data: Uint8Array): string {
  const p = pads(method, secret);
  const innerDigest = p.inner.copy().update(data).digest();
  return p.outer.copy().update(innerDigest).digest("hex");
}

/**
 * Computes the token of `data` with `method`. `secret` is the key (its UTF-8 bytes when a string;
 * authkeys keys are ASCII tokens in practice); `crc` ignores it.
 */
export function digestToken(
  method: DigestMethod,
  secret: string | Uint8Array,
  data: Uint8Array,
): string {
  switch (method) {
    case "crc":
      return crc32Posix(data).toString(16);
    case "md5":
    case "sha1":
      return hmacHex(method, secret, data);
  }
}

/** SHA-256 of the UTF-8 bytes of `text`, as 64 lowercase hex characters. */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(encoder.encode(text)).digest("hex");
}
