/**
 * Signing and verification exactly as Heartbeat 3.0.6 does it (spec `wire.md` §2.3, §3).
 *
 * Sending (`signAndEncode`):
 * - packet media always get the netstring encoding plus the trailer `LEN:N TOKEN,` computed with
 *   the active (`auth N`) index over `###\n`…`%%%\n`;
 * - with `msgfmt classic` (the default) a message without type 2/4/5 fields first gets an `auth`
 *   field `"N TOKEN"` (replace in place or append) whose token covers the classic rendering of
 *   all other fields; with `msgfmt netstring` there is no `auth` field;
 * - serial lines get one classic frame with the `auth` field, no trailer, no NUL;
 * - compression follows cluster-glue's `msg2wirefmt` (see {@link SignOptions.compression}).
 *
 * Receiving (`decodeAndVerify`):
 * - netstring: the trailer is mandatory; its index must be configured (else `unknown-key`); the
 *   token is recomputed with the **method of that index and the key of our own active index**
 *   (the 3.0.6 "trailer key" rule, §3.5) and compared as a string; the embedded `auth` field is
 *   not checked;
 * - classic: the `auth` field is mandatory, parsed as `"%d %s"`; the index must be configured;
 *   the token is recomputed with the method **and key** of that index over our own classic
 *   rendering of the parsed fields (all but `auth`);
 * - a verified compressed wrapper is unwrapped (the inner `auth` field is not checked).
 *
 * @module
 */

import { classicAuthText, decodeClassic, encodeClassic } from "./classic.ts";
import { detectFormat, type WireFormat } from "./codec.ts";
import {
  compressFields,
  type CompressionAlgorithm,
  compressWhole,
  isCompressedWrapper,
  isCompressionSupported,
  unwrapCompressed,
  wireSizeForThreshold,
} from "./compress.ts";
import { type DigestMethod, digestToken } from "./digest.ts";
import { type DecodeFailure, failure, WireEncodeError } from "./errors.ts";
import { DEFAULT_COMPRESSION_THRESHOLD, MAX_AUTH_BYTES, MAX_MSG } from "./limits.ts";
import { type Field, FT_STRING, Message } from "./message.ts";
import {
  decodeNetstringBody,
  netstringLength,
  parseTrailer,
  writeNetstring,
  writeTrailer,
} from "./netstring.ts";

/** Name of the classic digest field. */
export const AUTH_FIELD = "auth";

/** Digest method of an authkeys entry. */
export type AuthMethod = DigestMethod;

/** One authkeys entry (`N method [key]`). */
export interface AuthKey {
  /** `crc`, `md5` or `sha1`. */
  readonly method: AuthMethod;
  /** The key as written in authkeys (its UTF-8 bytes are used); ignored (may be "") for crc. */
  readonly secret: string;
}

/** The authkeys configuration: which index signs (`auth N`) and every configured index (0–15). */
export interface AuthKeys {
  /** Index used for signing (and whose key checks incoming trailers). */
  readonly active: number;
  /** Configured entries by index. */
  readonly keys: ReadonlyMap<number, AuthKey>;
}

/** `msgfmt` of `ha.cf`. */
export type MsgFmt = WireFormat;

/** Where the encoding goes: a packet medium (UDP, ICMP payload) or a serial line. */
export type Medium = "packet" | "serial";

/** Compression settings (`compression`, `compression_threshold`, `traditional_compression`). */
export interface CompressionSettings {
  /** Plugin; default `zlib` (`bz2` is not supported by this implementation). */
  readonly algorithm?: CompressionAlgorithm;
  /** `traditional_compression yes`: compress whole messages above the threshold. Default false. */
  readonly traditional?: boolean;
  /** `compression_threshold` in bytes (the directive is in KiB). Default 2048. */
  readonly thresholdBytes?: number;
}

/** Options of {@link signAndEncode}. */
export interface SignOptions {
  /** `msgfmt`; default `classic` (adds the `auth` field). */
  readonly msgfmt?: MsgFmt;
  /** Target medium; default `packet`. */
  readonly medium?: Medium;
  /**
   * Compression settings. Whatever they say, a message whose size (classic length incl. NUL in
   * classic mode, netstring length otherwise) reaches `MAX_MSG` is compressed whole when the
   * algorithm is available, else refused (`too-big`). Type 5 fields are always compressed.
   */
  readonly compression?: CompressionSettings;
}

function signingKey(keys: AuthKeys): AuthKey {
  const k = keys.keys.get(keys.active);
  if (k === undefined) {
    throw new WireEncodeError("key", `signing key index ${keys.active} is not configured`);
  }
  return k;
}

/**
 * The `auth` field value `"N TOKEN"` for `msg`, signed with `index` (default: the active index):
 * the digest of the classic rendering of every field except `auth`. Throws {@link WireEncodeError}.
 */
export function authFieldValue(msg: Message, keys: AuthKeys, index: number = keys.active): string {
  const k = keys.keys.get(index);
  if (k === undefined) throw new WireEncodeError("key", `key index ${index} is not configured`);
  return `${index} ${digestToken(k.method, k.secret, classicAuthText(msg))}`;
}

/**
 * Returns a copy of `msg` whose `auth` field (replaced in place, or appended last) carries the
 * classic digest with the active key. `msg` is not modified. Throws {@link WireEncodeError}.
 */
export function signMessage(msg: Message, keys: AuthKeys): Message {
  const value = authFieldValue(msg, keys);
  const fields: Field[] = msg.fields.slice();
  const i = msg.indexOf(AUTH_FIELD);
  const f: Field = { name: AUTH_FIELD, type: FT_STRING, value };
  if (i < 0) fields.push(f);
  else fields[i] = f;
  return Message.trusted(fields);
}

/**
 * Encodes `msg` as a netstring packet with the trailer signed by the active key (no `auth` field
 * is added here). Throws {@link WireEncodeError}.
 */
export function encodeNetstringPacket(msg: Message, keys: AuthKeys): Uint8Array {
  const k = signingKey(keys);
  const n = netstringLength(msg);
  const out = new Uint8Array(n + MAX_AUTH_BYTES);
  writeNetstring(msg, out, 0);
  const token = digestToken(k.method, k.secret, out.subarray(0, n));
  const end = writeTrailer(out, n, keys.active, token);
  if (end >= MAX_MSG) {
    throw new WireEncodeError("too-big", `packet of ${end} bytes reaches MAX_MSG (${MAX_MSG})`);
  }
  return out.subarray(0, end);
}

/**
 * Prepares and encodes `msg` for a medium the way Heartbeat 3.0.6 does (see the module doc).
 * `msg` is not modified. Throws {@link WireEncodeError} when the signing index is not configured,
 * the message cannot be encoded, or it is too big and cannot be compressed.
 */
export function signAndEncode(msg: Message, keys: AuthKeys, opts: SignOptions = {}): Uint8Array {
  const msgfmt = opts.msgfmt ?? "classic";
  const medium = opts.medium ?? "packet";
  const comp = opts.compression ?? {};
  const algorithm = comp.algorithm ?? "zlib";
  signingKey(keys);

  let m = msgfmt === "classic" && !msg.hasNested() ? signMessage(msg, keys) : msg;
  let size = -1;
  if (comp.traditional) {
    size = wireSizeForThreshold(m, msgfmt);
    if (size > (comp.thresholdBytes ?? DEFAULT_COMPRESSION_THRESHOLD)) {
      m = compressWhole(m, algorithm, msgfmt);
      return finish(m, keys, medium);
    }
  }
  if (m.hasNested()) {
    m = compressFields(m, algorithm, msgfmt);
    size = -1;
  }
  if (size < 0) size = wireSizeForThreshold(m, msgfmt);
  if (size >= MAX_MSG) {
    if (!isCompressionSupported(algorithm)) {
      throw new WireEncodeError(
        "too-big",
        `msg too big (${size} bytes) and ${algorithm} unavailable`,
      );
    }
    m = compressWhole(m, algorithm, msgfmt);
  }
  return finish(m, keys, medium);
}

function finish(m: Message, keys: AuthKeys, medium: Medium): Uint8Array {
  if (medium === "serial") {
    // The serial writer re-renders the packet in classic form and (re)adds the auth field.
    return encodeClassic(signMessage(m, keys));
  }
  return encodeNetstringPacket(m, keys);
}

/** A received message that passed authentication. */
export interface Verified {
  /** Always `true`. */
  readonly ok: true;
  /** The message (the inner message when it arrived compressed). */
  readonly msg: Message;
  /** Encoding of the received bytes. */
  readonly format: WireFormat;
  /** Key index named by the trailer (netstring) or `auth` field (classic). */
  readonly keyIndex: number;
  /** The token that matched. */
  readonly token: string;
  /** Offset just after the trailer (netstring) or `<<<\n` (classic). */
  readonly end: number;
  /** Classic only: whether a NUL followed `<<<\n`. */
  readonly nul: boolean;
  /** The compressed wrapper as received, when the message arrived compressed whole. */
  readonly wrapper?: Message;
}

/** Options of {@link decodeAndVerify}. */
export interface VerifyOptions {
  /**
   * Key used to recompute netstring trailers: `own` (default, what 3.0.6 does: the key of our
   * active index with the method of the named index) or `named` (key of the named index).
   */
  readonly trailerKey?: "own" | "named";
}

function parseAuthValue(v: string): [number, string] | undefined {
  const m = /^\s*([+-]?\d{1,9})\s+(\S+)/.exec(v);
  return m === null ? undefined : [Number(m[1]), m[2]];
}

/**
 * Decodes a received packet or serial frame and authenticates it as a 3.0.6 receiver would
 * (module doc). Never throws: malformed input, bad digests and unknown key indices are returned
 * as a {@link DecodeFailure} with reason `format`, `too-big`, `auth`, `unknown-key` or
 * `compression`.
 */
export function decodeAndVerify(
  bytes: Uint8Array,
  keys: AuthKeys,
  opts: VerifyOptions = {},
): Verified | DecodeFailure {
  try {
    return verify(bytes, keys, opts);
  } catch (e) {
    return failure("format", `decoder error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function verify(bytes: Uint8Array, keys: AuthKeys, opts: VerifyOptions): Verified | DecodeFailure {
  if (bytes.length >= MAX_MSG) {
    return failure("too-big", `${bytes.length} bytes (receive limit ${MAX_MSG - 1})`);
  }
  const format = detectFormat(bytes);
  let msg: Message;
  let keyIndex: number;
  let token: string;
  let end: number;
  let nul = false;
  if (format === "netstring") {
    const body = decodeNetstringBody(bytes);
    if (!body.ok) return body;
    const t = parseTrailer(bytes, body.end);
    if (!t.ok) return t;
    const named = keys.keys.get(t.index);
    if (named === undefined) {
      return failure("unknown-key", `Invalid authentication [${t.index}] in message!`, body.end);
    }
    const secret = opts.trailerKey === "named" ? named.secret : keys.keys.get(keys.active)?.secret;
    const expect = digestToken(named.method, secret ?? "", bytes.subarray(0, body.end));
    if (expect !== t.token) {
      return failure(
        "auth",
        `netstring authentication failed (trailer index ${t.index})`,
        body.end,
      );
    }
    msg = body.msg;
    keyIndex = t.index;
    token = t.token;
    end = t.end;
  } else if (format === "classic") {
    const r = decodeClassic(bytes);
    if (!r.ok) return r;
    const f = r.msg.getField(AUTH_FIELD);
    if (f === undefined || f.type !== FT_STRING) return failure("auth", "no auth field");
    const parsed = parseAuthValue(f.value);
    if (parsed === undefined) {
      return failure("auth", `malformed auth field ${JSON.stringify(f.value)}`);
    }
    const named = keys.keys.get(parsed[0]);
    if (named === undefined) {
      return failure("unknown-key", `Invalid authentication type [${parsed[0]}] in message!`);
    }
    let expect: string;
    try {
      expect = digestToken(named.method, named.secret, classicAuthText(r.msg));
    } catch (e) {
      return failure("auth", `cannot re-render for auth: ${(e as Error).message}`);
    }
    if (expect !== parsed[1]) {
      return failure("auth", `node [${r.msg.get("src") ?? "?"}] failed authentication`);
    }
    msg = r.msg;
    keyIndex = parsed[0];
    token = parsed[1];
    end = r.end;
    nul = r.nul;
  } else {
    return failure("format", "neither ###\\n nor >>>\\n at the start", 0);
  }
  if (isCompressedWrapper(msg)) {
    const u = unwrapCompressed(msg);
    if (!u.ok) return u;
    return { ok: true, msg: u.msg, format, keyIndex, token, end, nul, wrapper: msg };
  }
  return { ok: true, msg, format, keyIndex, token, end, nul };
}
