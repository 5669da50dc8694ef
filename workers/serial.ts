/**
 * HBREAD and HBWRITE worker bodies for serial media (`serial /dev/ttyX`).
 *
 * On the line every message is one classic frame `>>>\n` … `<<<\n` (no NUL,
 * no trailer; the master encodes it with the `auth` field). The reader cuts
 * the byte stream into frames and forwards each complete frame to the master
 * as one packet frame; it tolerates line noise between frames and
 * resynchronises on the next start line. The writer sends each frame in
 * 512-byte pieces with Heartbeat's pause of 512 / (baud / 8) s between pieces.
 *
 * No relaying: Heartbeat 3.0.6 never copies frames from one serial port to
 * another (its `should_ring_copy_msg` has no caller and its serial plugin
 * forwards nothing; `ttl` is informational), so neither do we.
 *
 * @module
 */

import { TCOFLUSH, TtyPort } from "../sys/termios.ts";
import type { WorkerPort } from "./media.ts";
import type { SerialSpec } from "./media_spec.ts";

const NL = 0x0a;
const GT = 0x3e;
const LT = 0x3c;
/** A frame this large is garbage (Heartbeat's MAXMSG is 256 KiB): drop it and resynchronise. */
export const MAX_SERIAL_FRAME = 256 * 1024;
/** Heartbeat's serial write piece. */
export const FRAGMENT_SIZE = 512;
/** Heartbeat's time limit for one write. */
const WRITE_TIMEOUT_MS = 500;
/** Heartbeat repeats the write-timeout warning at most once an hour. */
const TIMEOUT_WARN_INTERVAL_MS = 3600_000;
/** Frames waiting for the line beyond this are dropped (a line slower than the traffic). */
const MAX_QUEUED_FRAMES = 256;

/** Counters of what {@link SerialFrameSplitter} threw away. */
export interface SplitterStats {
  /** Bytes outside any frame (line noise, partial frames from before we opened). */
  noiseBytes: number;
  /** Frames abandoned because a new start line came before their end line. */
  resyncs: number;
  /** Frames dropped for exceeding {@link MAX_SERIAL_FRAME}. */
  oversized: number;
}

/**
 * Cuts the serial byte stream into classic frames, the way Heartbeat's reader
 * does: line by line; outside a frame every line is skipped until a start
 * line; inside, lines are collected until a line starting with `<<<`.
 *
 * Differences, all on the tolerant side: a start line may carry noise before
 * `>>>` (the noise of a line hit before its newline), and a `>>>` line inside
 * a frame restarts the frame (the previous one was cut off) instead of
 * spoiling the next one too. Empty lines are dropped. Every emitted frame is
 * exactly `>>>\n` + body lines + `<<<\n`.
 */
export class SerialFrameSplitter {
  #partial: Uint8Array = new Uint8Array(0);
  #lineLen = 0;
  #inFrame = false;
  #body: Uint8Array[] = [];
  #bodyLen = 0;
  /** What was thrown away so far. */
  readonly stats: SplitterStats = { noiseBytes: 0, resyncs: 0, oversized: 0 };

  /** Adds bytes read from the line; returns every frame they completed. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== NL) continue;
      this.#onLine(chunk.subarray(start, i), out);
      start = i + 1;
    }
    if (start < chunk.length) this.#append(chunk.subarray(start));
    return out;
  }

  /** Bytes held that do not yet form a frame. */
  get pending(): number {
    return this.#lineLen + this.#bodyLen;
  }

  #append(part: Uint8Array): void {
    if (this.#lineLen + part.length > MAX_SERIAL_FRAME) {
      // a "line" this long is noise: forget it and whatever frame it was in
      this.stats.noiseBytes += this.#lineLen + part.length;
      if (this.#inFrame) this.stats.oversized++;
      this.#lineLen = 0;
      this.#dropFrame();
      return;
    }
    if (this.#partial.length < this.#lineLen + part.length) {
      const grown = new Uint8Array(Math.max(256, 2 * (this.#lineLen + part.length)));
      grown.set(this.#partial.subarray(0, this.#lineLen));
      this.#partial = grown;
    }
    this.#partial.set(part, this.#lineLen);
    this.#lineLen += part.length;
  }

  /** Handles one complete line: the held partial line plus `tail` (without the newline). */
  #onLine(tail: Uint8Array, out: Uint8Array[]): void {
    let line = tail;
    if (this.#lineLen > 0) {
      this.#append(tail);
      line = this.#partial.slice(0, this.#lineLen);
      this.#lineLen = 0;
    }
    if (!this.#inFrame) {
      if (endsWithMarker(line, GT)) {
        this.stats.noiseBytes += line.length - 3;
        this.#inFrame = true;
        this.#body = [];
        this.#bodyLen = 0;
      } else {
        this.stats.noiseBytes += line.length + 1;
      }
      return;
    }
    if (startsWithMarker(line, LT)) {
      const frame = new Uint8Array(4 + this.#bodyLen + 4);
      frame.set([GT, GT, GT, NL]);
      let o = 4;
      for (const l of this.#body) {
        frame.set(l, o);
        o += l.length;
        frame[o++] = NL;
      }
      frame.set([LT, LT, LT, NL], o);
      out.push(frame);
      this.#dropFrame();
      return;
    }
    if (line.length === 3 && startsWithMarker(line, GT)) {
      this.stats.resyncs++;
      this.stats.noiseBytes += this.#bodyLen + 4;
      this.#body = [];
      this.#bodyLen = 0;
      return;
    }
    if (line.length === 0) return;
    if (this.#bodyLen + line.length + 1 + 8 > MAX_SERIAL_FRAME) {
      this.stats.oversized++;
      this.stats.noiseBytes += this.#bodyLen + line.length + 1;
      this.#dropFrame();
      return;
    }
    this.#body.push(line === tail ? line.slice() : line);
    this.#bodyLen += line.length + 1;
  }

  #dropFrame(): void {
    this.#inFrame = false;
    this.#body = [];
    this.#bodyLen = 0;
  }
}

function startsWithMarker(line: Uint8Array, ch: number): boolean {
  return line.length >= 3 && line[0] === ch && line[1] === ch && line[2] === ch;
}

function endsWithMarker(line: Uint8Array, ch: number): boolean {
  const n = line.length;
  return n >= 3 && line[n - 1] === ch && line[n - 2] === ch && line[n - 3] === ch;
}

/**
 * Runs a serial read worker: forwards every complete frame to the master.
 * Returns when the line fails (hang-up, I/O error); the master then restarts
 * the channel, which reopens the device.
 */
export async function runSerialReader(spec: SerialSpec, port: WorkerPort): Promise<void> {
  // the writer sends the opening break; a second one from here would flush its first frame
  const tty = TtyPort.open(spec.device, { baud: spec.baud, sendBreak: false });
  port.control({ t: "ready" });
  const split = new SerialFrameSplitter();
  try {
    while (true) {
      const chunk = await tty.read(4096);
      if (chunk === null) return;
      for (const f of split.push(chunk)) port.packet(f);
    }
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    port.log("CRIT", `EOF in ttygets [${spec.device}]: ${text}`);
  } finally {
    tty.close();
  }
}

/** Pause after each 512-byte piece but the last (µs in Heartbeat; ms here). */
export function fragmentDelayMs(baud: number): number {
  return (FRAGMENT_SIZE / (baud / 8)) * 1000;
}

/**
 * A serial write worker body: call {@link send} for every packet frame from
 * the master (already a classic frame). Frames go out one after the other,
 * in 512-byte pieces; a piece the line does not take within 500 ms flushes
 * the output queue and logs Heartbeat's timeout warning (once an hour).
 */
export class SerialWriter {
  #spec: SerialSpec;
  #port: WorkerPort;
  #tty: TtyPort;
  #queue: Uint8Array[] = [];
  #busy = false;
  #idle: Promise<void> = Promise.resolve();
  #idleResolve: (() => void) | undefined;
  #lastTimeoutWarn = -Infinity;
  #dropped = 0;
  #sleep: (ms: number) => Promise<void>;

  /** Opens the line (sending a break, as Heartbeat does at open). */
  constructor(
    spec: SerialSpec,
    port: WorkerPort,
    opts: { sleep?: (ms: number) => Promise<void> } = {},
  ) {
    this.#spec = spec;
    this.#port = port;
    this.#tty = TtyPort.open(spec.device, { baud: spec.baud });
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Queues one frame for the line. */
  send(bytes: Uint8Array): void {
    if (this.#queue.length >= MAX_QUEUED_FRAMES) {
      if (this.#dropped++ === 0) {
        this.#port.log(
          "WARN",
          `serial line ${this.#spec.device} too slow for the traffic (${this.#spec.baud} baud): dropping messages`,
        );
      }
      return;
    }
    this.#queue.push(bytes);
    if (!this.#busy) {
      this.#busy = true;
      this.#idle = new Promise((r) => this.#idleResolve = r);
      void this.#drain();
    }
  }

  /** Resolves when every queued frame went out (or failed). */
  flushed(): Promise<void> {
    return this.#idle;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const frame = this.#queue.shift()!;
      await this.#writeFrame(frame);
    }
    if (this.#dropped > 0) {
      this.#port.log(
        "info",
        `serial line ${this.#spec.device}: ${this.#dropped} message(s) dropped`,
      );
      this.#dropped = 0;
    }
    this.#busy = false;
    this.#idleResolve?.();
  }

  async #writeFrame(frame: Uint8Array): Promise<void> {
    const delay = fragmentDelayMs(this.#spec.baud);
    for (let off = 0; off < frame.length; off += FRAGMENT_SIZE) {
      const piece = frame.subarray(off, Math.min(frame.length, off + FRAGMENT_SIZE));
      const r = await this.#tty.write(piece, WRITE_TIMEOUT_MS);
      if (!r.ok) {
        if (r.timeout) {
          this.#tty.flush(TCOFLUSH);
          const now = performance.now();
          if (now - this.#lastTimeoutWarn >= TIMEOUT_WARN_INTERVAL_MS) {
            this.#lastTimeoutWarn = now;
            this.#port.log(
              "WARN",
              `TTY write timeout on [${this.#spec.device}] (no connection or bad cable? [see documentation])`,
            );
            this.#port.log("info", "See http://linux-ha.org/wiki/FAQ#TTY_timeout for details");
          }
        } else {
          const text = r.error.message.replace(/^write: /, "");
          this.#port.log("CRIT", `TTY write failure on [${this.#spec.device}]: ${text}`);
        }
        return; // the rest of this frame is useless to the far side
      }
      if (off + FRAGMENT_SIZE < frame.length) await this.#sleep(delay);
    }
  }

  /** Closes the line. */
  close(): void {
    this.#tty.close();
  }
}
