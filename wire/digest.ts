/**
 * The three Heartbeat 3.0.6 authentication digests (spec `wire.md` §3.4), as lowercase hex tokens.
 * This is the only module that computes digests: replacing the hash provider is a change of this
 * one file. MD5 and SHA-1 come from `@noble/hashes` (audited, pure JS): unlike `node:crypto` it
 * does not start Deno's Node compatibility layer, which costs every process that loads it about
 * 2 MB private memory, and it is faster on packet-sized input (bench/README.md "cost").
 *
 * - `crc`: CRC-32/POSIX without the length suffix (MSB-first, polynomial 0x04C11DB7, initial 0,
 *   result complemented), printed `%lx` — lowercase hex **without leading zeros**. Keys ignored.
 * - `md5`: HMAC-MD5 (RFC 2104) with the key's bytes, 32 hex chars.
 * - `sha1`: HMAC-SHA1 (RFC 2104) with the key's bytes, 40 hex chars.
 *
 * @module
 */

import { hmac } from "@noble/hashes/hmac.js";
import { md5, sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

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
const HASHES = { md5, sha1 } as const;

/** The HMAC of one key: its pad states hashed once, and a scratch copy reused per message. */
interface Keyed {
  readonly base: Hmac;
  scratch: Hmac | undefined;
  readonly out: Uint8Array;
}

/** What is used of `@noble/hashes`' HMAC instances. */
interface Hmac {
  readonly outputLen: number;
  _cloneInto(to?: Hmac): Hmac;
  update(data: Uint8Array): unknown;
  digestInto(out: Uint8Array): void;
}

const hmacCache = new Map<string, Keyed>();

function keyed(method: "md5" | "sha1", secret: string | Uint8Array): Keyed {
  const id = typeof secret === "string"
    ? `${method}:s:${secret}`
    : `${method}:b:${Array.from(secret).join(",")}`;
  let k = hmacCache.get(id);
  if (k === undefined) {
    const key = typeof secret === "string" ? encoder.encode(secret) : secret;
    const base = hmac.create(HASHES[method], key) as unknown as Hmac;
    k = { base, scratch: undefined, out: new Uint8Array(base.outputLen) };
    if (hmacCache.size >= 32) hmacCache.clear();
    hmacCache.set(id, k);
  }
  return k;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}

function hmacHex(method: "md5" | "sha1", secret: string | Uint8Array, data: Uint8Array): string {
  const k = keyed(method, secret);
  // copy the keyed state into the scratch instance (no allocation per message)
  const h = k.scratch = k.base._cloneInto(k.scratch);
  h.update(data);
  h.digestInto(k.out);
  return hex(k.out);
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
  return bytesToHex(sha256(encoder.encode(text)));
}
