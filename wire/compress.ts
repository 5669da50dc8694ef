/**
 * Message compression as cluster-glue 1.0.12 does it (spec `wire.md` §7.9), with zlib from
 * `node:zlib` (RFC 1950 streams, default level, like zlib's `compress()`).
 *
 * `node:zlib` is loaded on the first compression or decompression, synchronously, with
 * `process.getBuiltinModule` (a built-in module, always in the runtime and in a compiled binary;
 * no file outside the static graph). A static import would start Deno's Node compatibility layer
 * in every process that loads the codec, about 2 MB private memory each, for a path an idle
 * haresources cluster never takes (bench/README.md "cost").
 *
 * - **Whole-message ("traditional") compression**: the message's IPC encoding (classic + NUL, or
 *   netstring without trailer in `msgfmt netstring` mode / with nested fields) is compressed and
 *   sent as a wrapper holding exactly `(1)_compressed_payload` and `(0)_compression_algorithm`.
 *   Receivers always unwrap it; the inner message's own `auth` field is not checked.
 * - **Field-level compression**: a type 5 field (nested message marked for compression) becomes a
 *   type 4 field holding the compressed IPC encoding of the nested message, and the parent gains
 *   (or has replaced) a `_compression_algorithm` string field. Type 4 fields stay compressed until
 *   read with {@link getCompressedStruct}.
 *
 * `bz2` is **not supported** here (no bzip2 in the Deno/Node runtime): compressing with it throws
 * and receiving a bz2 message fails with reason `compression`. zlib output is not byte-identical to
 * the C zlib's (a different deflate implementation), which does not matter: receivers only inflate.
 *
 * @module
 */

import type * as NodeZlib from "node:zlib";
import { classicLength } from "./classic.ts";
import { decodeMessage, encodeIpc, type WireFormat } from "./codec.ts";
import { type DecodeFailure, failure, WireEncodeError } from "./errors.ts";
import { MAX_MSG, MAX_UNCOMPRESSED } from "./limits.ts";
import { type Field, FT_BINARY, FT_COMPRESS, FT_UNCOMPRESS, Message } from "./message.ts";
import { netstringLength } from "./netstring.ts";

/** Compression plugins of Heartbeat (`compression` directive). */
export type CompressionAlgorithm = "zlib" | "bz2";

/** Name of the payload field of a compressed wrapper. */
export const COMPRESSED_FIELD = "_compressed_payload";
/** Name of the field naming the compression algorithm. */
export const COMPRESSION_NAME_FIELD = "_compression_algorithm";

/** True when this implementation can compress and decompress with `algorithm` (only `zlib`). */
export function isCompressionSupported(algorithm: string): algorithm is "zlib" {
  return algorithm === "zlib";
}

let zlibModule: typeof NodeZlib | undefined;

/** `node:zlib`, loaded on first use. */
function zlib(): typeof NodeZlib {
  zlibModule ??= (globalThis as unknown as {
    process: { getBuiltinModule(id: "node:zlib"): typeof NodeZlib };
  }).process.getBuiltinModule("node:zlib");
  return zlibModule;
}

/** True once `node:zlib` has been loaded (for tests of the lazy load). */
export function zlibLoaded(): boolean {
  return zlibModule !== undefined;
}

function view(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Compresses `data` with `algorithm`. Throws {@link WireEncodeError} (`compression`) for `bz2` or
 * when the result would not fit in `MAX_MSG` bytes (cluster-glue's output buffer).
 */
export function compressBytes(
  data: Uint8Array,
  algorithm: CompressionAlgorithm = "zlib",
): Uint8Array {
  if (!isCompressionSupported(algorithm)) {
    throw new WireEncodeError("compression", `compression algorithm ${algorithm} is not supported`);
  }
  const out = view(zlib().deflateSync(data));
  if (out.length > MAX_MSG) {
    throw new WireEncodeError("too-big", `compressed size ${out.length} exceeds ${MAX_MSG}`);
  }
  return out;
}

/** Result of {@link decompressBytes}. */
export interface Decompressed {
  /** Always `true`. */
  readonly ok: true;
  /** The decompressed bytes. */
  readonly bytes: Uint8Array;
}

/**
 * Decompresses `data` with the algorithm named `algorithm`, producing at most `maxOutput` bytes
 * (default `MAX_UNCOMPRESSED`). Never throws.
 */
export function decompressBytes(
  data: Uint8Array,
  algorithm: string,
  maxOutput: number = MAX_UNCOMPRESSED,
): Decompressed | DecodeFailure {
  if (!isCompressionSupported(algorithm)) {
    return failure(
      "compression",
      `compression algorithm ${JSON.stringify(algorithm)} not supported`,
    );
  }
  try {
    return { ok: true, bytes: view(zlib().inflateSync(data, { maxOutputLength: maxOutput })) };
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ERR_BUFFER_TOO_LARGE" || e instanceof RangeError) {
      return failure("too-big", `decompressed data exceeds ${maxOutput} bytes`);
    }
    return failure("compression", `zlib: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Size cluster-glue compares with the compression threshold and `MAX_MSG`: the netstring length
 * (no trailer) when `msgfmt` is netstring or the message has nested fields, else the classic
 * length including the NUL.
 */
export function wireSizeForThreshold(msg: Message, msgfmt: WireFormat): number {
  return msgfmt === "netstring" || msg.hasNested()
    ? netstringLength(msg)
    : classicLength(msg, { nul: true });
}

/** True when the first field named `_compressed_payload` is binary: a compressed wrapper. */
export function isCompressedWrapper(msg: Message): boolean {
  return msg.getField(COMPRESSED_FIELD)?.type === FT_BINARY;
}

/**
 * Builds the whole-message compression wrapper of `msg`: `(1)_compressed_payload=<compressed IPC
 * encoding>` then `(0)_compression_algorithm=<name>`. `msg` should already carry its `auth` field
 * in classic mode (Heartbeat signs before compressing). Throws {@link WireEncodeError}.
 */
export function compressWhole(
  msg: Message,
  algorithm: CompressionAlgorithm = "zlib",
  msgfmt: WireFormat = "classic",
): Message {
  if (wireSizeForThreshold(msg, msgfmt) > MAX_UNCOMPRESSED) {
    throw new WireEncodeError("too-big", `message larger than ${MAX_UNCOMPRESSED} bytes`);
  }
  const payload = compressBytes(encodeIpc(msg, msgfmt), algorithm);
  return Message.trusted([
    { name: COMPRESSED_FIELD, type: FT_BINARY, value: payload },
    { name: COMPRESSION_NAME_FIELD, type: 0, value: algorithm },
  ]);
}

/** A message recovered from a compressed wrapper. */
export interface Unwrapped {
  /** Always `true`. */
  readonly ok: true;
  /** The inner message. */
  readonly msg: Message;
  /** The inner message's encoding. */
  readonly format: WireFormat;
  /** The decompressed bytes (the inner IPC encoding). */
  readonly inner: Uint8Array;
}

/**
 * Decompresses and decodes the inner message of a compressed wrapper. The payload may be at most
 * `MAX_MSG` bytes and decompress to at most `MAX_UNCOMPRESSED`; a wrapper inside a wrapper is
 * refused. Never throws.
 */
export function unwrapCompressed(wrapper: Message): Unwrapped | DecodeFailure {
  const payload = wrapper.getBinary(COMPRESSED_FIELD);
  if (payload === undefined) return failure("compression", `no binary ${COMPRESSED_FIELD} field`);
  if (payload.length > MAX_MSG) {
    return failure("too-big", `${COMPRESSED_FIELD} is ${payload.length} bytes (limit ${MAX_MSG})`);
  }
  const name = wrapper.get(COMPRESSION_NAME_FIELD);
  if (name === undefined) return failure("compression", `no ${COMPRESSION_NAME_FIELD} field`);
  const d = decompressBytes(payload, name);
  if (!d.ok) return d;
  const r = decodeMessage(d.bytes);
  if (!r.ok) return failure(r.reason, `compressed payload: ${r.detail}`, r.offset);
  if (isCompressedWrapper(r.msg)) {
    return failure("compression", "compressed wrapper inside a wrapper");
  }
  return { ok: true, msg: r.msg, format: r.format, inner: d.bytes };
}

/**
 * Field-level compression before sending (cluster-glue's pre-pack step): returns a copy of `msg`
 * where every type 5 field is replaced in place by a type 4 field holding the compressed IPC
 * encoding of its nested message, with `_compression_algorithm` set (replace or append). Returns
 * `msg` itself when it has no type 5 field. Throws {@link WireEncodeError}.
 */
export function compressFields(
  msg: Message,
  algorithm: CompressionAlgorithm = "zlib",
  msgfmt: WireFormat = "classic",
): Message {
  if (!msg.fields.some((f) => f.type === FT_UNCOMPRESS)) return msg;
  const out: Field[] = [];
  for (const f of msg.fields) {
    if (f.type === FT_UNCOMPRESS) {
      const bytes = compressBytes(encodeIpc(f.value, msgfmt), algorithm);
      out.push({ name: f.name, type: FT_COMPRESS, value: bytes });
    } else {
      out.push(f);
    }
  }
  return Message.trusted(out).set(COMPRESSION_NAME_FIELD, algorithm);
}

/** A nested message read from a type 4 (or type 5) field. */
export interface CompressedStruct {
  /** Always `true`. */
  readonly ok: true;
  /** The nested message. */
  readonly msg: Message;
}

/**
 * Reads the nested message of the first field named `name`: type 4 is decompressed with the
 * algorithm named by the message's `_compression_algorithm` field and decoded; type 5 and type 2
 * are returned as they are. Never throws.
 */
export function getCompressedStruct(msg: Message, name: string): CompressedStruct | DecodeFailure {
  const f = msg.getField(name);
  if (f === undefined) return failure("format", `no field ${name}`);
  if (f.type === 2 || f.type === FT_UNCOMPRESS) return { ok: true, msg: f.value };
  if (f.type !== FT_COMPRESS) return failure("format", `field ${name} is type ${f.type}, not 4`);
  const algorithm = msg.get(COMPRESSION_NAME_FIELD);
  if (algorithm === undefined) return failure("compression", `no ${COMPRESSION_NAME_FIELD} field`);
  const d = decompressBytes(f.value, algorithm);
  if (!d.ok) return d;
  const r = decodeMessage(d.bytes);
  if (!r.ok) return failure(r.reason, `compressed field ${name}: ${r.detail}`, r.offset);
  return { ok: true, msg: r.msg };
}
