/**
 * Size and depth limits of the Heartbeat 3.0.6 / cluster-glue 1.0.12 message layer
 * (spec `wire.md` §7.8, cluster-glue `include/ha_msg.h` and `include/clplumbing/ipc.h`).
 *
 * @module
 */

/**
 * `MAXMSG`: maximum final message size on the wire (256 KiB). Receivers read packets into a
 * buffer of `MAX_MSG - 1` bytes, so an encoding of `MAX_MSG` bytes or more can never be received;
 * a sender compresses such a message whole or refuses it ("msg too big").
 */
export const MAX_MSG = 256 * 1024;

/** `MAXUNCOMPRESSED`: maximum in-memory / uncompressed message size (2 MiB). */
export const MAX_UNCOMPRESSED = 2048 * 1024;

/**
 * `MAXDEPTH`: nested struct levels. Classic encoding has 16 depth symbols, so a top-level message
 * may contain structs nested at most 16 deep. The same bound is applied to netstring decoding.
 */
export const MAX_DEPTH = 16;

/** `MAXLENGTH`: a list field's packed form (`3:abc,4:defg,`) must be shorter than this to be sent. */
export const MAX_LIST_PACKED = 1024;

/** `MAX_AUTH_BYTES`: room cluster-glue reserves for the netstring trailer. */
export const MAX_AUTH_BYTES = 64;

/** Default `compression_threshold` of `ha.cf`: 2 KiB. */
export const DEFAULT_COMPRESSION_THRESHOLD = 2 * 1024;

/** Highest authkeys index (`auth N` and `N method key` lines use 0–15). */
export const MAX_KEY_INDEX = 15;
