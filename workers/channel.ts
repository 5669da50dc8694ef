/**
 * The framed message channel between the master and a worker process.
 *
 * Each direction is a byte pipe (the worker's stdin and stdout: the master's pipes, moved there
 * by the worker, see {@link CHANNEL_ENV}). A frame is:
 *
 * ```
 * u32 big-endian length of (kind + payload) | u8 kind | payload
 * ```
 *
 * kind 1 carries a JSON control message, kind 2 carries raw packet bytes
 * (exactly one datagram or one serial frame, never parsed here).
 *
 * @module
 */

import { readNow } from "../sys/socket.ts";

/**
 * Environment variable of a core worker: the paths (`/proc/<master>/fd/<n>`) of its channel's
 * two pipe ends, to read and to write, separated by a space (`master/worker_pipes.ts`). Without
 * it, the channel is the worker's stdin and stdout.
 */
export const CHANNEL_ENV = "HB_CHANNEL";

/** Frame kind: a JSON-encoded control object. */
export const FRAME_CONTROL = 1;
/** Frame kind: raw packet bytes. */
export const FRAME_PACKET = 2;
/** Upper bound of one frame's payload (a Heartbeat packet is at most 64 KiB; leave room). */
export const MAX_FRAME = 1 << 20;

/** One decoded frame. */
export type Frame =
  | { kind: "control"; value: unknown }
  | { kind: "packet"; bytes: Uint8Array };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a control object as one frame. */
export function encodeControl(value: unknown): Uint8Array<ArrayBuffer> {
  return encodeFrame(FRAME_CONTROL, encoder.encode(JSON.stringify(value)));
}

/** Encodes packet bytes as one frame. */
export function encodePacket(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return encodeFrame(FRAME_PACKET, bytes);
}

function encodeFrame(kind: number, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  if (payload.length + 1 > MAX_FRAME) {
    throw new RangeError(`frame of ${payload.length} bytes exceeds ${MAX_FRAME}`);
  }
  const out = new Uint8Array(5 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length + 1);
  out[4] = kind;
  out.set(payload, 5);
  return out;
}

/**
 * Incremental frame decoder: feed it chunks, take out whole frames.
 * A corrupt stream (bad length or kind) raises {@link ChannelError}; the
 * caller then treats the peer as broken (the pipe cannot be resynchronised).
 */
export class FrameDecoder {
  #buf: Uint8Array = new Uint8Array(0);

  /** Adds bytes read from the pipe and returns every complete frame. */
  push(chunk: Uint8Array): Frame[] {
    if (this.#buf.length === 0) {
      this.#buf = chunk;
    } else {
      const joined = new Uint8Array(this.#buf.length + chunk.length);
      joined.set(this.#buf);
      joined.set(chunk, this.#buf.length);
      this.#buf = joined;
    }
    const frames: Frame[] = [];
    let off = 0;
    while (this.#buf.length - off >= 4) {
      const view = new DataView(this.#buf.buffer, this.#buf.byteOffset + off, 4);
      const len = view.getUint32(0);
      if (len < 1 || len > MAX_FRAME) throw new ChannelError(`bad frame length ${len}`);
      if (this.#buf.length - off - 4 < len) break;
      const kind = this.#buf[off + 4];
      const payload = this.#buf.slice(off + 5, off + 4 + len);
      off += 4 + len;
      if (kind === FRAME_PACKET) {
        frames.push({ kind: "packet", bytes: payload });
      } else if (kind === FRAME_CONTROL) {
        let value: unknown;
        try {
          value = JSON.parse(decoder.decode(payload));
        } catch {
          throw new ChannelError("bad control frame (not JSON)");
        }
        frames.push({ kind: "control", value });
      } else {
        throw new ChannelError(`bad frame kind ${kind}`);
      }
    }
    this.#buf = off === this.#buf.length ? new Uint8Array(0) : this.#buf.slice(off);
    return frames;
  }

  /** Bytes held that do not yet form a whole frame. */
  get pending(): number {
    return this.#buf.length;
  }
}

/** A framing violation on a channel. */
export class ChannelError extends Error {
  /** Creates the error with a message saying what was wrong. */
  constructor(message: string) {
    super(message);
    this.name = "ChannelError";
  }
}

/**
 * Reads frames from a byte stream until it ends.
 * Ends normally on EOF; throws {@link ChannelError} on corruption.
 */
export async function* readFrames(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<Frame> {
  const dec = new FrameDecoder();
  const reader = stream.getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const f of dec.push(value)) yield f;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Serialised frame writer: writes never interleave, and a broken pipe is
 * reported once through `onError` instead of throwing at the caller.
 */
export class FrameWriter {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #chain: Promise<void> = Promise.resolve();
  #broken = false;
  #onError: (err: unknown) => void;

  /** Wraps a writable stream (a child's stdin, or our own stdout). */
  constructor(stream: WritableStream<Uint8Array>, onError: (err: unknown) => void = () => {}) {
    this.#writer = stream.getWriter();
    this.#onError = onError;
  }

  /** True once a write has failed; later writes are dropped. */
  get broken(): boolean {
    return this.#broken;
  }

  /** Queues a control frame. */
  control(value: unknown): Promise<void> {
    return this.#write(encodeControl(value));
  }

  /** Queues a packet frame. */
  packet(bytes: Uint8Array): Promise<void> {
    return this.#write(encodePacket(bytes));
  }

  #write(frame: Uint8Array): Promise<void> {
    if (this.#broken) return Promise.resolve();
    this.#chain = this.#chain.then(() => this.#writer.write(frame)).catch((err) => {
      if (!this.#broken) {
        this.#broken = true;
        this.#onError(err);
      }
    });
    return this.#chain;
  }

  /** Closes the stream after pending writes. */
  async close(): Promise<void> {
    await this.#chain;
    try {
      await this.#writer.close();
    } catch {
      // already closed or broken: nothing to do
    }
  }
}

/**
 * Reads frames from a reader with a plain `read(buf)` (e.g. `Deno.stdin`):
 * no web-stream machinery, which is the bulk of a worker's idle CPU cost.
 */
export async function* readFramesFrom(
  reader: { read(buf: Uint8Array): Promise<number | null> },
): AsyncGenerator<Frame> {
  const dec = new FrameDecoder();
  const buf = new Uint8Array(65536);
  while (true) {
    const n = await reader.read(buf);
    if (n === null) return;
    for (const f of dec.push(buf.slice(0, n))) yield f;
  }
}

/**
 * Frames from a descriptor the caller knows to be readable (a worker's stdin after poll(2)):
 * one read(2) on the calling thread per {@link FdFrameReader.read}, no helper thread.
 */
export class FdFrameReader {
  readonly #fd: number;
  readonly #dec = new FrameDecoder();
  readonly #buf: Uint8Array<ArrayBuffer>;

  /** Reads `fd` in chunks of up to `chunk` bytes. */
  constructor(fd: number, chunk = 65536) {
    this.#fd = fd;
    this.#buf = new Uint8Array(chunk);
  }

  /**
   * The frames one read completes (maybe none); `null` at the end of the stream. Throws
   * {@link ChannelError} on a corrupt stream.
   */
  read(): Frame[] | null {
    const n = readNow(this.#fd, this.#buf);
    return n === 0 ? null : this.#dec.push(this.#buf.slice(0, n));
  }
}

/**
 * Writes frames synchronously to a writer with `writeSync` (a worker's stdout
 * pipe). A full pipe blocks the worker until the master reads, as a blocked
 * write does in Heartbeat's children; a broken pipe (the master is gone)
 * calls `onError` once.
 */
export class SyncFrameWriter {
  #out: { writeSync(p: Uint8Array): number };
  #broken = false;
  #onError: (err: unknown) => void;

  /** Wraps the writer (normally `Deno.stdout`). */
  constructor(out: { writeSync(p: Uint8Array): number }, onError: (err: unknown) => void) {
    this.#out = out;
    this.#onError = onError;
  }

  /** Writes a control frame. */
  control(value: unknown): void {
    this.#write(encodeControl(value));
  }

  /** Writes a packet frame. */
  packet(bytes: Uint8Array): void {
    this.#write(encodePacket(bytes));
  }

  #write(frame: Uint8Array): void {
    if (this.#broken) return;
    try {
      let off = 0;
      while (off < frame.length) off += this.#out.writeSync(frame.subarray(off));
    } catch (err) {
      this.#broken = true;
      this.#onError(err);
    }
  }

  /** Nothing is buffered: present for symmetry with {@link FrameWriter}. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
