// workers/serial.ts: the frame splitter (synthetic streams and the real serial captures) and the
// writer on a socat pty pair.
import { assert, assertEquals } from "../tests/assert.ts";
import { openPtyPair } from "../tests/support/pty_pair.ts";
import { TtyPort } from "../sys/termios.ts";
import { type AuthKeys, decodeAndVerify } from "../wire/auth.ts";
import {
  FRAGMENT_SIZE,
  fragmentDelayMs,
  MAX_SERIAL_FRAME,
  SerialFrameSplitter,
  SerialWriter,
} from "./serial.ts";
import { WIRE_VECTOR_DIR } from "../tests/support/vectors.ts";
import type { WorkerPort } from "./media.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function texts(frames: Uint8Array[]): string[] {
  return frames.map((f) => dec.decode(f));
}

function feed(split: SerialFrameSplitter, data: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  let k = 0;
  while (off < data.length) {
    const n = Math.max(1, sizes[k++ % sizes.length]);
    out.push(...split.push(data.subarray(off, off + n)));
    off += n;
  }
  return out;
}

const F1 = ">>>\nt=status\nst=active\nsrc=n1\n<<<\n";
const F2 = ">>>\nt=NS_ackmsg\ndest=n2\nackseq=a\n<<<\n";

Deno.test("serial splitter: whole frames, any chunking", () => {
  const stream = enc.encode(F1 + F2);
  for (const sizes of [[stream.length], [1], [3], [7, 1, 13], [4, 4, 4, 1]]) {
    const split = new SerialFrameSplitter();
    assertEquals(texts(feed(split, stream, sizes)), [F1, F2], `chunk sizes ${sizes}`);
    assertEquals(split.pending, 0);
    assertEquals(split.stats, { noiseBytes: 0, resyncs: 0, oversized: 0 });
  }
});

Deno.test("serial splitter: line noise between frames and glued to a start line", () => {
  const split = new SerialFrameSplitter();
  const noisy = "\x00\x7f~~garbage\n\nmore=noise\n" + F1 + "xx\x03" + F2 + "tail";
  assertEquals(texts(split.push(enc.encode(noisy))), [F1, F2]);
  assert(split.stats.noiseBytes > 0);
  assertEquals(split.stats.resyncs, 0);
});

Deno.test("serial splitter: a cut-off frame is dropped and the next one survives", () => {
  const split = new SerialFrameSplitter();
  const cut = ">>>\nt=status\nst=act"; // the rest was lost on the line
  const out = split.push(enc.encode(cut + "\n" + F1 + F2));
  assertEquals(texts(out), [F1, F2]);
  assertEquals(split.stats.resyncs, 1);
});

Deno.test("serial splitter: markers inside values, end line prefix, empty lines", () => {
  const split = new SerialFrameSplitter();
  // a value ending in ">>>" is not a start line; a line starting "<<<" ends the frame (Heartbeat)
  const frame = ">>>\ninfo=x>>>\n\nnote=<<<inside\n<<<junk\n";
  assertEquals(texts(split.push(enc.encode(frame))), [">>>\ninfo=x>>>\nnote=<<<inside\n<<<\n"]);
});

Deno.test("serial splitter: an oversized frame is dropped, then it resynchronises", () => {
  const split = new SerialFrameSplitter();
  const line = "x=" + "y".repeat(1000) + "\n";
  const huge = ">>>\n" + line.repeat(Math.ceil(MAX_SERIAL_FRAME / line.length) + 1);
  const out = feed(split, enc.encode(huge + "<<<\n" + F1), [4096]);
  assertEquals(texts(out), [F1]);
  assertEquals(split.stats.oversized, 1);
  // an endless line without newline is bounded too
  const split2 = new SerialFrameSplitter();
  feed(split2, new Uint8Array(MAX_SERIAL_FRAME + 10).fill(0x41), [65536]);
  assert(split2.pending <= 65536, `holds ${split2.pending} bytes`);
  assertEquals(texts(split2.push(enc.encode("\n" + F2))), [F2]);
});

Deno.test("serial splitter: frames captured between two real 3.0.6 nodes come out intact", () => {
  const dir = WIRE_VECTOR_DIR;
  const index = JSON.parse(Deno.readTextFileSync(new URL("index.json", dir))) as {
    vectors: { file: string; media: string }[];
  };
  const files = index.vectors.filter((v) => v.media === "serial").map((v) => v.file);
  assert(files.length >= 20, `only ${files.length} serial vectors`);
  const frames = files.map((f) => Deno.readFileSync(new URL(f, dir)));
  const parts: Uint8Array[] = [];
  frames.forEach((f, i) => {
    parts.push(enc.encode(i % 3 === 0 ? "\x7f\x00noise\n" : ""), f);
  });
  const total = parts.reduce((n, p) => n + p.length, 0);
  const stream = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    stream.set(p, o);
    o += p.length;
  }
  const out = feed(new SerialFrameSplitter(), stream, [1, 17, 64, 5, 300]);
  assertEquals(out, frames);
  const keys: AuthKeys = {
    active: 3,
    keys: new Map([[3, { method: "sha1", secret: "testkey-sha1" }]]),
  };
  for (const f of out) {
    const r = decodeAndVerify(f, keys);
    assert(r.ok, `frame does not verify: ${!r.ok ? r.detail : ""}`);
  }
});

Deno.test("serial writer: 512-byte pieces with Heartbeat's pause, bytes intact on the far end", async () => {
  assertEquals(Math.round(fragmentDelayMs(19200)), 213);
  const dir = await Deno.makeTempDir({ prefix: "hb-serial-" });
  const pair = await openPtyPair(`${dir}/ttyA`, `${dir}/ttyB`);
  const logs: string[] = [];
  const port: WorkerPort = {
    packet: () => {},
    control: () => {},
    log: (prio, msg) => logs.push(`${prio}: ${msg}`),
  };
  const sleeps: number[] = [];
  const far = TtyPort.open(pair.b, { baud: 38400, sendBreak: false });
  const writer = new SerialWriter({ type: "serial", device: pair.a, baud: 38400 }, port, {
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
  try {
    const body = Array.from({ length: 60 }, (_, i) => `f${i}=${"v".repeat(20)}\n`).join("");
    const frame = enc.encode(`>>>\n${body}<<<\n`);
    assert(frame.length > 2 * FRAGMENT_SIZE && frame.length < 3 * FRAGMENT_SIZE);
    writer.send(frame);
    writer.send(enc.encode(F1));
    await writer.flushed();
    assertEquals(sleeps, [fragmentDelayMs(38400), fragmentDelayMs(38400)]);
    const split = new SerialFrameSplitter();
    const got: Uint8Array[] = [];
    // a generous bound for a loaded machine: the loop ends as soon as both frames are in
    const end = Date.now() + 30_000;
    while (got.length < 2 && Date.now() < end) {
      const chunk = await far.read();
      if (chunk) got.push(...split.push(chunk));
    }
    assertEquals(texts(got), [dec.decode(frame), F1]);
    assertEquals(logs, []);
  } finally {
    writer.close();
    far.close();
    await pair.close();
    await Deno.remove(dir, { recursive: true });
  }
});
