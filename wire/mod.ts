/**
 * hb wire layer: the Heartbeat 3.0.6 message model, the netstring and classic encodings,
 * authentication (crc, md5, sha1), compression (zlib) and the FIFO stream parser.
 *
 * Typical use:
 * ```ts
 * const bytes = signAndEncode(msg, keys, { msgfmt: "classic", medium: "packet" });
 * const r = decodeAndVerify(bytes, keys);
 * if (r.ok) handle(r.msg); else log(r.reason, r.detail);
 * ```
 *
 * @module
 */

export * from "./auth.ts";
export * from "./bytes.ts";
export * from "./classic.ts";
export * from "./codec.ts";
export * from "./compress.ts";
export * from "./digest.ts";
export * from "./errors.ts";
export * from "./fifo_stream.ts";
export * from "./limits.ts";
export * from "./list_pack.ts";
export * from "./message.ts";
export * from "./netstring.ts";
