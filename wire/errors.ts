/**
 * Error values of the wire layer. Decoders never throw on bad input: they return a
 * {@link DecodeFailure}. Encoders throw {@link WireEncodeError} when asked to put something on the
 * wire that cannot be encoded (these are caller or configuration errors, or "msg too big").
 *
 * @module
 */

/**
 * Why a received byte sequence was not accepted:
 * - `format`: not a well-formed netstring/classic message (truncated, bad length, bad type marker…);
 * - `too-big`: larger than the receive limit (`MAX_MSG`) or the decompression limit;
 * - `auth`: missing/garbled trailer or `auth` field, or a digest that does not match;
 * - `unknown-key`: the trailer / `auth` field names a key index that is not configured;
 * - `compression`: a compressed wrapper or field that cannot be decompressed (bad stream,
 *   unsupported algorithm such as `bz2`, nested wrapper).
 */
export type DecodeFailureReason = "format" | "too-big" | "auth" | "unknown-key" | "compression";

/** A rejected input. `offset` (when known) is the byte position where decoding failed. */
export interface DecodeFailure {
  /** Always `false`. */
  readonly ok: false;
  /** Category of the failure. */
  readonly reason: DecodeFailureReason;
  /** Human-readable explanation, suitable for a debug log line. */
  readonly detail: string;
  /** Byte offset in the input where the problem was found, when meaningful. */
  readonly offset?: number;
}

/** Builds a {@link DecodeFailure}. */
export function failure(
  reason: DecodeFailureReason,
  detail: string,
  offset?: number,
): DecodeFailure {
  return offset === undefined
    ? { ok: false, reason, detail }
    : { ok: false, reason, detail, offset };
}

/**
 * What an encoder refused:
 * - `invalid`: the message cannot be represented (empty list, NUL in a string, type 5 in classic,
 *   depth symbol clash, too deep…);
 * - `too-big`: the encoding reaches `MAX_MSG` (and could not be compressed) or `MAX_UNCOMPRESSED`;
 * - `key`: the signing key index is not configured;
 * - `compression`: the requested compression algorithm is unavailable (`bz2`) or failed.
 */
export type EncodeErrorCode = "invalid" | "too-big" | "key" | "compression";

/** Thrown by encoders and signers when a message cannot be put on the wire. */
export class WireEncodeError extends Error {
  /** Category of the refusal. */
  readonly code: EncodeErrorCode;

  /** Creates an error with a category and a message that says what is wrong. */
  constructor(code: EncodeErrorCode, message: string) {
    super(message);
    this.name = "WireEncodeError";
    this.code = code;
  }
}
