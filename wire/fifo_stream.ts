/**
 * Incremental parser for the text stream of Heartbeat's FIFO (`/var/lib/heartbeat/fifo`), as
 * written by `ha_clustermsg`, `hb_standby`, `hb_takeover` and resource scripts: classic messages
 * `>>>\n` … `<<<\n` with no length header and no NUL, possibly split over many writes and possibly
 * several per write. Whole lines before a start line are skipped; a line `###\n` starts a netstring
 * message instead, which ends at a field boundary with `%%%\n`.
 *
 * Unlike cluster-glue's `fgets`-based reader, lines are not cut at 512 bytes; instead a message
 * that grows beyond `maxMessage` bytes without ending is dropped (reported once) and the parser
 * resynchronises on the next start line. A malformed message is reported and skipped; the parser
 * never throws on input.
 *
 * @module
 */

import { NL } from "./bytes.ts";
import { decodeClassic } from "./classic.ts";
import { type DecodeFailure, failure } from "./errors.ts";
import { MAX_MSG } from "./limits.ts";
import type { Message } from "./message.ts";
import { decodeNetstringBody } from "./netstring.ts";

/** One item produced by the parser: a message or a report of dropped input. */
export type FifoItem =
  | { readonly ok: true; readonly msg: Message; readonly format: "classic" | "netstring" }
  | DecodeFailure;

/** Options of {@link FifoStreamParser}. */
export interface FifoStreamOptions {
  /** Largest message (bytes from its start line) before it is dropped. Default `MAX_MSG`. */
  readonly maxMessage?: number;
}

type State = "skip" | "classic" | "netstring";

/** Incremental FIFO stream parser: feed chunks with {@link FifoStreamParser.push}. */
export class FifoStreamParser {
  #buf: Uint8Array = new Uint8Array(0);
  #len = 0;
  /** Where the current line (skip state) or message (other states) starts in the buffer. */
  #start = 0;
  /** Scan position inside the current message. */
  #pos = 0;
  #state: State = "skip";
  #max: number;
  #junk = false;

  /** Creates a parser. */
  constructor(opts: FifoStreamOptions = {}) {
    this.#max = opts.maxMessage ?? MAX_MSG;
  }

  /** Number of buffered bytes not yet turned into a message. */
  get pending(): number {
    return this.#len - this.#start;
  }

  /** Feeds a chunk; returns the messages (and failure reports) completed by it, in order. */
  push(chunk: Uint8Array): FifoItem[] {
    this.#append(chunk);
    const out: FifoItem[] = [];
    while (this.#step(out));
    this.#compact();
    return out;
  }

  #append(chunk: Uint8Array): void {
    if (this.#len + chunk.length > this.#buf.length) {
      const live = this.#len - this.#start;
      if (this.#start > 0 && live + chunk.length <= this.#buf.length) {
        this.#buf.copyWithin(0, this.#start, this.#len);
      } else {
        const nb = new Uint8Array(Math.max((live + chunk.length) * 2, 4096));
        nb.set(this.#buf.subarray(this.#start, this.#len), 0);
        this.#buf = nb;
      }
      this.#pos -= this.#start;
      this.#len = live;
      this.#start = 0;
    }
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.length;
  }

  #compact(): void {
    if (this.#start > 0 && this.#start === this.#len) {
      this.#start = this.#len = this.#pos = 0;
    }
  }

  /** Makes one step of progress; returns false when more input is needed. */
  #step(out: FifoItem[]): boolean {
    const b = this.#buf;
    if (this.#state === "skip") {
      let eol = this.#start;
      while (eol < this.#len && b[eol] !== NL) eol++;
      if (eol >= this.#len) {
        // A partial line longer than 3 bytes cannot be a start line: drop it, remember we are
        // inside a junk line.
        if (this.#len - this.#start > 3) {
          this.#start = this.#len;
          this.#junk = true;
        }
        return false;
      }
      if (this.#junk) {
        this.#junk = false;
        this.#start = eol + 1;
        return true;
      }
      const lineLen = eol + 1 - this.#start;
      if (lineLen === 4 && b[eol - 1] === 0x3e && b[eol - 2] === 0x3e && b[eol - 3] === 0x3e) {
        this.#state = "classic";
        this.#pos = eol + 1;
      } else if (
        lineLen === 4 && b[eol - 1] === 0x23 && b[eol - 2] === 0x23 && b[eol - 3] === 0x23
      ) {
        this.#state = "netstring";
        this.#pos = eol + 1;
      } else {
        this.#start = eol + 1;
      }
      return true;
    }
    if (this.#state === "classic") return this.#stepClassic(out);
    return this.#stepNetstring(out);
  }

  /** Drops the current message when it has grown too big; returns whether it did. */
  #dropIfTooBig(p: number, out: FifoItem[]): boolean {
    if (this.#len - this.#start <= this.#max) return false;
    out.push(failure("too-big", `FIFO message exceeds ${this.#max} bytes; dropped`));
    // Skip the rest of it line by line until a fresh start line.
    this.#state = "skip";
    this.#start = p;
    return true;
  }

  #resync(): void {
    this.#state = "skip";
    this.#start = this.#pos;
  }

  /** Decodes the message of `format` that ends at `end`, emits it and starts over after it. */
  #complete(out: FifoItem[], end: number, format: "classic" | "netstring"): true {
    const b = this.#buf;
    const r = format === "classic"
      ? decodeClassic(b, this.#start, end)
      : decodeNetstringBody(b, this.#start, end);
    out.push(r.ok ? { ok: true, msg: r.msg, format } : r);
    this.#pos = end;
    this.#resync();
    return true;
  }

  #stepClassic(out: FifoItem[]): boolean {
    const b = this.#buf;
    // Find a line that is exactly "<<<\n", scanning line by line from #pos.
    let p = this.#pos;
    while (true) {
      let eol = p;
      while (eol < this.#len && b[eol] !== NL) eol++;
      if (eol >= this.#len) {
        this.#pos = p;
        return this.#dropIfTooBig(p, out);
      }
      if (eol - p === 3 && b[p] === 0x3c && b[p + 1] === 0x3c && b[p + 2] === 0x3c) {
        return this.#complete(out, eol + 1, "classic");
      }
      p = eol + 1;
    }
  }

  #stepNetstring(out: FifoItem[]): boolean {
    const b = this.#buf;
    let p = this.#pos;
    while (true) {
      if (this.#len - p < 4) return this.#waitNetstring(p, out);
      if (b[p] === 0x25 && b[p + 1] === 0x25 && b[p + 2] === 0x25 && b[p + 3] === NL) {
        return this.#complete(out, p + 4, "netstring");
      }
      let q = p;
      let len = 0;
      while (q < this.#len && b[q] >= 0x30 && b[q] <= 0x39 && q - p < 8) {
        len = len * 10 + b[q] - 0x30;
        q++;
      }
      if (q >= this.#len) return this.#waitNetstring(p, out);
      if (q === p || b[q] !== 0x3a) {
        out.push(failure("format", "FIFO netstring message: bad field length"));
        this.#pos = p;
        this.#resync();
        return true;
      }
      const comma = q + 1 + len;
      if (comma >= this.#len) return this.#waitNetstring(p, out);
      if (b[comma] !== 0x2c) {
        out.push(failure("format", "FIFO netstring message: ',' expected after field"));
        this.#pos = p;
        this.#resync();
        return true;
      }
      p = comma + 1;
    }
  }

  #waitNetstring(p: number, out: FifoItem[]): boolean {
    this.#pos = p;
    return this.#dropIfTooBig(p, out);
  }
}

/**
 * Reads a byte stream (e.g. a FIFO opened with `Deno.open`) and yields every message or failure
 * report the parser produces, until the stream ends.
 */
export async function* readFifoMessages(
  source: AsyncIterable<Uint8Array>,
  opts: FifoStreamOptions = {},
): AsyncGenerator<FifoItem> {
  const parser = new FifoStreamParser(opts);
  for await (const chunk of source) {
    for (const item of parser.push(chunk)) yield item;
  }
}
