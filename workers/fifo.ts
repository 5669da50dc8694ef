/**
 * HBFIFO worker body: reads `/var/lib/heartbeat/fifo` and forwards every
 * complete message (classic `>>>`…`<<<` or netstring `###`…`%%%`) to the
 * master as one packet frame. It opens the FIFO read-write, as Heartbeat's
 * FIFO reader does, so it never sees end-of-file when writers come and go.
 *
 * @module
 */

import type { WorkerPort } from "./media.ts";

const CLASSIC_START = ">>>\n";
const CLASSIC_END = "<<<\n";
const NETSTRING_START = "###\n";
const NETSTRING_END = "%%%\n";
/** A message larger than this is garbage: drop what we hold and resynchronise. */
const MAX_MESSAGE = 256 * 1024;

/**
 * Splits the FIFO byte stream into messages. Bytes before a start marker are
 * skipped, as Heartbeat does. Works on latin1 text so bytes map 1:1.
 */
export class FifoSplitter {
  #text = "";

  /** Adds a chunk; returns the complete messages it finished (as bytes). */
  push(chunk: Uint8Array): Uint8Array[] {
    let s = "";
    for (let i = 0; i < chunk.length; i++) s += String.fromCharCode(chunk[i]);
    this.#text += s;
    const out: Uint8Array[] = [];
    while (true) {
      const c = this.#text.indexOf(CLASSIC_START);
      const n = this.#text.indexOf(NETSTRING_START);
      const start = c < 0 ? n : n < 0 ? c : Math.min(c, n);
      if (start < 0) {
        // keep a possible partial start marker only
        this.#text = this.#text.slice(-3);
        break;
      }
      const isClassic = start === c;
      const end = this.#text.indexOf(
        isClassic ? CLASSIC_END : NETSTRING_END,
        start + 4,
      );
      if (end < 0) {
        this.#text = this.#text.slice(start);
        if (this.#text.length > MAX_MESSAGE) this.#text = "";
        break;
      }
      const msg = this.#text.slice(start, end + 4);
      this.#text = this.#text.slice(end + 4);
      const bytes = new Uint8Array(msg.length);
      for (let i = 0; i < msg.length; i++) bytes[i] = msg.charCodeAt(i);
      out.push(bytes);
    }
    return out;
  }
}

/** Runs the FIFO reader on `path` until reading fails. */
export async function runFifoReader(path: string, port: WorkerPort): Promise<void> {
  const file = await Deno.open(path, { read: true, write: true });
  port.control({ t: "ready" });
  const split = new FifoSplitter();
  const buf = new Uint8Array(65536);
  try {
    while (true) {
      const n = await file.read(buf);
      if (n === null) break;
      for (const m of split.push(buf.subarray(0, n))) port.packet(m);
    }
  } finally {
    file.close();
  }
}
