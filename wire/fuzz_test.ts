/**
 * Fuzz-ish robustness: truncations, byte mutations, insertions and splices of every vector must
 * produce a value (accepted or a typed failure), never an exception; lengths are never trusted.
 */
import { assert, assertEquals, fail } from "../tests/assert.ts";
import { decodeAndVerify } from "./auth.ts";
import { latin1Encode } from "./bytes.ts";
import { decodeClassic } from "./classic.ts";
import { decodeMessage } from "./codec.ts";
import type { DecodeFailureReason } from "./errors.ts";
import { FifoStreamParser } from "./fifo_stream.ts";
import { decodeNetstringBody } from "./netstring.ts";
import { loadWireVectors, receiverKeys } from "../tests/support/vectors.ts";

const vectors = loadWireVectors();
const REASONS = new Set<DecodeFailureReason>([
  "format",
  "too-big",
  "auth",
  "unknown-key",
  "compression",
]);

let seed = 0x1234567;
function rnd(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}

function check(bytes: Uint8Array, where: string): boolean {
  let ok = false;
  for (const v of vectors.slice(0, 1)) {
    const r = decodeAndVerify(bytes, receiverKeys(v.vector));
    if (!r.ok && !REASONS.has(r.reason)) fail(`${where}: unknown reason ${r.reason}`);
    ok = r.ok;
  }
  const d = decodeMessage(bytes);
  if (!d.ok && !REASONS.has(d.reason)) fail(`${where}: unknown reason ${d.reason}`);
  return ok;
}

Deno.test("fuzz: every truncation of every vector is rejected without throwing", () => {
  for (const { vector, bytes } of vectors) {
    const keys = receiverKeys(vector);
    for (let n = 0; n < bytes.length; n++) {
      const cut = bytes.subarray(0, n);
      const r = decodeAndVerify(cut, keys);
      if (r.ok) {
        // Only dropping the optional NUL after <<<\n leaves a whole classic frame.
        if (vector.format === "classic" && n === bytes.length - 1 && bytes[n] === 0) continue;
        fail(`${vector.file}: accepted truncation to ${n} of ${bytes.length}`);
      }
      assert(REASONS.has(r.reason));
      decodeMessage(cut);
    }
  }
});

Deno.test("fuzz: random byte mutations never throw and are mostly rejected", () => {
  let accepted = 0;
  let total = 0;
  for (const { vector, bytes } of vectors) {
    const keys = receiverKeys(vector);
    for (let k = 0; k < 40; k++) {
      const m = bytes.slice();
      const flips = 1 + rnd(3);
      for (let i = 0; i < flips; i++) m[rnd(m.length)] = rnd(256);
      const r = decodeAndVerify(m, keys);
      total++;
      if (r.ok) accepted++;
      else assert(REASONS.has(r.reason), `${vector.file}: ${r.reason}`);
      decodeMessage(m);
    }
  }
  // Mutations that survive are those in bytes the digest does not cover (trailer junk) or that
  // leave the byte unchanged; they must be rare.
  assert(accepted < total / 20, `${accepted} of ${total} mutated packets accepted`);
});

Deno.test("fuzz: insertions, deletions and splices never throw", () => {
  for (const { vector, bytes } of vectors) {
    const keys = receiverKeys(vector);
    for (let k = 0; k < 20; k++) {
      const a = rnd(bytes.length);
      const b = a + rnd(bytes.length - a + 1);
      const junk = new Uint8Array(rnd(20)).map(() =>
        [0x3a, 0x2c, 0x28, 0x29, 0x0a, 0x3d, 0x39][rnd(7)]
      );
      const m = new Uint8Array(a + junk.length + bytes.length - b);
      m.set(bytes.subarray(0, a));
      m.set(junk, a);
      m.set(bytes.subarray(b), a + junk.length);
      check(m, vector.file);
      decodeAndVerify(m, keys);
    }
  }
});

Deno.test("malformed: bad type markers 6-9 and junk markers are format errors", () => {
  for (const d of "6789a/ ") {
    const ns = latin1Encode(`###\n11:(${d})t=status,%%%\n9:1 bf65d17,`);
    const r = decodeAndVerify(ns, receiverKeys(vectors[0].vector));
    assert(!r.ok && r.reason === "format", `marker ${d}`);
    const c = decodeClassic(latin1Encode(`>>>\n(${d})t=status\nauth=1 0\n<<<\n`));
    assert(!c.ok && c.reason === "format", `classic marker ${d}`);
  }
});

Deno.test("malformed: huge and wrong lengths are rejected without allocating", () => {
  const keys = receiverKeys(vectors[0].vector);
  for (
    const s of [
      "###\n999999999999999999999:(0)t=x,%%%\n",
      "###\n4294967296:(0)t=x,%%%\n",
      "###\n99999999:(0)t=x,%%%\n",
      "###\n11:(0)t=status,%%%\n99999999999:1 bf65d17,",
      "###\n11:(0)t=status,%%%\n9999:1 bf65d17,",
      "###\n11:(0)t=status,%%%\n8:1 bf65d17,",
      "###\n11:(0)t=status,%%%\n10:1 bf65d17,",
      "###\n12:(0)t=status,%%%\n",
      "###\n5:(0)t=status,%%%\n",
      "###\n11:(2)s=###\n,%%%\n",
      "###\n20:(3)lst=99:abc,4:defg,,%%%\n",
    ]
  ) {
    const r = decodeAndVerify(latin1Encode(s), keys);
    assert(
      !r.ok && (r.reason === "format" || r.reason === "auth"),
      `${JSON.stringify(s)}: ${JSON.stringify(r)}`,
    );
  }
  const huge = new Uint8Array(300 * 1024);
  huge.set(latin1Encode("###\n"));
  const h = decodeAndVerify(huge, keys);
  assert(!h.ok && h.reason === "too-big");
  // Deep nesting bomb: 1000 levels of struct.
  let inner = "###\n%%%\n";
  for (let i = 0; i < 1000; i++) inner = `###\n${inner.length + 5}:(2)s=${inner},%%%\n`;
  const deep = decodeNetstringBody(latin1Encode(inner));
  assert(!deep.ok && deep.reason === "format");
  assertEquals(decodeMessage(latin1Encode(inner)).ok, false);
});

Deno.test("fuzz: FIFO parser survives random chunking of random garbage and messages", () => {
  const p = new FifoStreamParser({ maxMessage: 4096 });
  let msgs = 0;
  for (let round = 0; round < 300; round++) {
    const parts: string[] = [];
    for (let i = 0; i < 5; i++) {
      switch (rnd(4)) {
        case 0:
          parts.push(">>>\nt=x\nn=" + String(round) + "\n<<<\n");
          break;
        case 1:
          parts.push("###\n6:(0)t=x,%%%\n");
          break;
        case 2:
          parts.push(String.fromCharCode(...Array.from({ length: rnd(50) }, () => rnd(256))));
          break;
        default:
          parts.push("\n");
      }
    }
    const bytes = latin1Encode(parts.join(""));
    let off = 0;
    while (off < bytes.length) {
      const n = 1 + rnd(17);
      for (const item of p.push(bytes.subarray(off, off + n))) if (item.ok) msgs++;
      off += n;
    }
  }
  assert(msgs > 300, `only ${msgs} messages`);
});
