/**
 * cluster-glue unix-socket IPC framing (spec api.md §2): every message is an 8-byte header —
 * `msg_len` (int32, little-endian: body bytes that follow) and `magic` (uint32 LE `0xabcd`,
 * bytes `cd ab 00 00`) — followed by the body (an encoded ha_msg).
 *
 * {@link FrameReader} reassembles frames from a byte stream split at arbitrary positions and
 * refuses a bad magic or a length above {@link IPC_MAX_BODY} as soon as the header is complete
 * (Heartbeat busy-loops on such a header; we close the connection instead).
 *
 * @module
 */

/** The magic number of every frame header. */
export const IPC_MAGIC = 0xabcd;

/** Header size in bytes. */
export const IPC_HEADER_SIZE = 8;

/** Largest accepted body (`MAXMSG`, 256 KiB). */
export const IPC_MAX_BODY = 256 * 1024;

/** Prepends the 8-byte header to `body`. */
export function encodeFrame(body: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(IPC_HEADER_SIZE + body.length);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, body.length, true);
  dv.setUint32(4, IPC_MAGIC, true);
  out.set(body, IPC_HEADER_SIZE);
  return out;
}

/** Why a stream was given up. */
export type FrameError =
  /** The header's magic is not 0xabcd. */
  | "bad-magic"
  /** The header announces a negative length or one above {@link IPC_MAX_BODY}. */
  | "too-big";

/** Result of {@link FrameReader.push}: complete bodies, and an error that ends the stream. */
export interface FramePush {
  /** Complete frame bodies, in stream order. */
  frames: Uint8Array[];
  /** Set when the stream is broken; no further input is accepted. */
  error?: FrameError;
  /** The offending length or magic value, for the log. */
  detail?: number;
}

/**
 * Incremental frame parser for one direction of one connection. Memory is bounded by one
 * maximal frame plus one push. Bytes waiting for the rest of a frame are kept in a buffer that
 * grows by doubling, so a frame that arrives a few bytes at a time costs linear time (a
 * client dripping a 256 KiB frame byte by byte must not make the daemon copy gigabytes).
 */
export class FrameReader {
  #buf: Uint8Array = new Uint8Array(0);
  /** Number of valid bytes at the start of {@link FrameReader.#buf}. */
  #len = 0;
  #broken = false;

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.#len;
  }

  /** True once an error was reported. */
  get broken(): boolean {
    return this.#broken;
  }

  /** Appends received bytes and returns every frame completed by them. */
  push(chunk: Uint8Array): FramePush {
    const frames: Uint8Array[] = [];
    if (this.#broken) return { frames, error: "bad-magic" };
    let data: Uint8Array;
    if (this.#len === 0) {
      data = chunk;
    } else {
      const need = this.#len + chunk.length;
      if (need > this.#buf.length) {
        const grown = new Uint8Array(Math.max(need, this.#buf.length * 2, 4096));
        grown.set(this.#buf.subarray(0, this.#len));
        this.#buf = grown;
      }
      this.#buf.set(chunk, this.#len);
      this.#len = need;
      data = this.#buf.subarray(0, need);
    }
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let p = 0;
    while (data.length - p >= IPC_HEADER_SIZE) {
      const len = dv.getInt32(p, true);
      const magic = dv.getUint32(p + 4, true);
      if (magic !== IPC_MAGIC) {
        this.#fail();
        return { frames, error: "bad-magic", detail: magic };
      }
      if (len < 0 || len > IPC_MAX_BODY) {
        this.#fail();
        return { frames, error: "too-big", detail: len };
      }
      if (data.length - p - IPC_HEADER_SIZE < len) break;
      frames.push(data.slice(p + IPC_HEADER_SIZE, p + IPC_HEADER_SIZE + len));
      p += IPC_HEADER_SIZE + len;
    }
    const rest = data.length - p;
    if (rest === 0) {
      this.#len = 0;
      // a large buffer is not kept for an idle connection
      if (this.#buf.length > 65536) this.#buf = new Uint8Array(0);
    } else if (data === chunk) {
      if (this.#buf.length < rest) this.#buf = new Uint8Array(Math.max(rest * 2, 4096));
      this.#buf.set(chunk.subarray(p));
      this.#len = rest;
    } else if (p > 0) {
      this.#buf.copyWithin(0, p, data.length);
      this.#len = rest;
    }
    return { frames };
  }

  #fail(): void {
    this.#broken = true;
    this.#buf = new Uint8Array(0);
    this.#len = 0;
  }
}
