import { deflateSync } from "node:zlib";
import { assert, assertEquals, assertThrows, fail } from "../tests/assert.ts";
import { latin1Encode, toHex } from "./bytes.ts";
import { encodeClassic } from "./classic.ts";
import {
  compressBytes,
  COMPRESSED_FIELD,
  compressFields,
  COMPRESSION_NAME_FIELD,
  compressWhole,
  decompressBytes,
  getCompressedStruct,
  isCompressedWrapper,
  isCompressionSupported,
  unwrapCompressed,
} from "./compress.ts";
import { WireEncodeError } from "./errors.ts";
import { MAX_UNCOMPRESSED } from "./limits.ts";
import { Message } from "./message.ts";

Deno.test("zlib round trip; bz2 unsupported", () => {
  const data = latin1Encode(">>>\nt=x\n<<<\n\0".repeat(100));
  const c = compressBytes(data);
  assertEquals(c[0], 0x78, "zlib header");
  const d = decompressBytes(c, "zlib");
  assert(d.ok);
  assertEquals(toHex(d.bytes), toHex(data));
  assert(isCompressionSupported("zlib"));
  assert(!isCompressionSupported("bz2"));
  assertThrows(() => compressBytes(data, "bz2"), WireEncodeError, "not supported");
  const b = decompressBytes(c, "bz2");
  assert(!b.ok && b.reason === "compression");
});

Deno.test("decompression failures are values: corrupt, truncated, bomb", () => {
  const c = compressBytes(new Uint8Array(5000).fill(65));
  const corrupt = c.slice();
  corrupt[0] = 0;
  for (const bad of [corrupt, c.subarray(0, c.length - 6), new Uint8Array(0)]) {
    const r = decompressBytes(bad, "zlib");
    assert(!r.ok && r.reason === "compression", JSON.stringify(r));
  }
  const bomb = new Uint8Array(deflateSync(new Uint8Array(MAX_UNCOMPRESSED + 10)));
  const r = decompressBytes(bomb, "zlib");
  assert(!r.ok && r.reason === "too-big", JSON.stringify(r));
});

Deno.test("whole-message wrapper: two fields, classic+NUL payload, unwraps", () => {
  const m = Message.fromStrings({ t: "testbig", a: "x".repeat(3000), auth: "3 abc" });
  const w = compressWhole(m);
  assert(isCompressedWrapper(w));
  assertEquals(w.fields.map((f) => f.name), [COMPRESSED_FIELD, COMPRESSION_NAME_FIELD]);
  const u = unwrapCompressed(w);
  if (!u.ok) fail(u.detail);
  assertEquals(u.format, "classic");
  assertEquals(toHex(u.inner), toHex(encodeClassic(m, { nul: true })));
  const nested = compressWhole(w);
  const n = unwrapCompressed(nested);
  assert(!n.ok && n.reason === "compression", "wrapper in wrapper refused");
  const noAlgo = new Message().addBinary(COMPRESSED_FIELD, w.getBinary(COMPRESSED_FIELD)!);
  assert(!unwrapCompressed(noAlgo).ok);
  const badPayload = new Message()
    .addBinary(COMPRESSED_FIELD, compressBytes(latin1Encode("garbage")))
    .add(COMPRESSION_NAME_FIELD, "zlib");
  const bp = unwrapCompressed(badPayload);
  assert(!bp.ok && bp.reason === "format");
});

Deno.test("field-level: _compression_algorithm replaced, not duplicated; errors are values", () => {
  const inner = Message.fromStrings({ a: "1" }).addStruct("s", Message.fromStrings({ b: "2" }));
  const m = new Message()
    .add(COMPRESSION_NAME_FIELD, "old")
    .addCompressedStruct("z", inner)
    .add("t", "x");
  const c = compressFields(m);
  assertEquals(c.fields.map((f) => `${f.name}:${f.type}`), [
    `${COMPRESSION_NAME_FIELD}:0`,
    "z:4",
    "t:0",
  ]);
  assertEquals(c.get(COMPRESSION_NAME_FIELD), "zlib");
  const s = getCompressedStruct(c, "z");
  if (!s.ok) fail(s.detail);
  assertEquals(s.msg.getStruct("s")?.get("b"), "2");
  assertEquals(compressFields(Message.fromStrings({ t: "x" })).get("t"), "x");
  assert(!getCompressedStruct(c, "t").ok);
  assert(!getCompressedStruct(c, "missing").ok);
  const noName = new Message().addField({ name: "z", type: 4, value: new Uint8Array([1, 2]) });
  const r = getCompressedStruct(noName, "z");
  assert(!r.ok && r.reason === "compression");
});

Deno.test("node:zlib is loaded on the first compressed packet, not by signing and verifying", async () => {
  // A fresh process: this test file itself imports node:zlib.
  const script = `
    import { decodeAndVerify, signAndEncode } from "./wire/auth.ts";
    import { zlibLoaded } from "./wire/compress.ts";
    import { Message } from "./wire/message.ts";
    const keys = { active: 1, keys: new Map([[1, { method: "sha1", secret: "k" }]]) };
    const small = signAndEncode(new Message().add("t", "status"), keys);
    const a = decodeAndVerify(small, keys).ok && zlibLoaded();
    const big = signAndEncode(new Message().add("t", "x").add("v", "y".repeat(5000)), keys, {
      compression: { traditional: true },
    });
    const r = decodeAndVerify(big, keys);
    console.log(JSON.stringify([a, r.ok && r.wrapper !== undefined, zlibLoaded()]));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert(out.success, new TextDecoder().decode(out.stderr));
  assertEquals(JSON.parse(text), [false, true, true]);
});
