import { assert, assertEquals, assertThrows, fail } from "../tests/assert.ts";
import {
  authFieldValue,
  type AuthKey,
  type AuthKeys,
  decodeAndVerify,
  signAndEncode,
  signMessage,
} from "./auth.ts";
import { latin1Decode, latin1Encode, toHex } from "./bytes.ts";
import { encodeClassic } from "./classic.ts";
import { decodeMessage } from "./codec.ts";
import { COMPRESSED_FIELD, COMPRESSION_NAME_FIELD, getCompressedStruct } from "./compress.ts";
import { WireEncodeError } from "./errors.ts";
import { MAX_MSG } from "./limits.ts";
import { Message } from "./message.ts";

function keys(active: number, ...entries: [number, AuthKey][]): AuthKeys {
  return { active, keys: new Map(entries) };
}

const ALL: [number, AuthKey][] = [
  [1, { method: "crc", secret: "" }],
  [2, { method: "md5", secret: "testkey-md5" }],
  [3, { method: "sha1", secret: "testkey-sha1" }],
];

function status(): Message {
  return new Message()
    .add("t", "status")
    .add("st", "active")
    .add("dt", "1770")
    .add("protocol", "1")
    .add("src", "n2")
    .addBinary("srcuuid", new Uint8Array(16).map((_, i) => i * 17))
    .add("seq", "2a")
    .add("hg", "6b021093")
    .add("ts", "6b021095")
    .add("ld", "0.00 0.00 0.00 1/100 1234")
    .add("ttl", "3");
}

Deno.test("msgfmt classic: auth field last, trailer present; message not modified", () => {
  for (const active of [1, 2, 3]) {
    const k = keys(active, ...ALL);
    const m = status();
    const out = signAndEncode(m, k);
    assertEquals(m.has("auth"), false);
    const d = decodeMessage(out);
    if (!d.ok) fail(d.detail);
    assertEquals(d.msg.fields[d.msg.length - 1].name, "auth");
    assertEquals(d.msg.get("auth"), authFieldValue(m, k));
    assert(d.msg.get("auth")!.startsWith(`${active} `));
    const text = latin1Decode(out);
    assert(new RegExp(`%%%\\n\\d+:${active} [0-9a-f]+,$`).test(text), text.slice(-60));
    const v = decodeAndVerify(out, k);
    if (!v.ok) fail(v.detail);
    assertEquals(v.keyIndex, active);
  }
});

Deno.test("msgfmt netstring: trailer only; re-encoding a received message is identical", () => {
  const k = keys(3, ...ALL);
  const out = signAndEncode(status(), k, { msgfmt: "netstring" });
  const v = decodeAndVerify(out, k);
  if (!v.ok) fail(v.detail);
  assertEquals(v.msg.has("auth"), false);
  assertEquals(toHex(signAndEncode(v.msg, k, { msgfmt: "netstring" })), toHex(out));
  // And a classic-mode packet re-signed after receipt (existing auth replaced in place).
  const c = signAndEncode(status(), k);
  const vc = decodeAndVerify(c, k);
  if (!vc.ok) fail(vc.detail);
  assertEquals(toHex(signAndEncode(vc.msg, k)), toHex(c));
});

Deno.test("existing auth field is replaced in place, not duplicated", () => {
  const k = keys(3, ...ALL);
  const m = Message.fromStrings([["t", "x"], ["auth", "9 junk"], ["src", "n1"]]);
  const s = signMessage(m, k);
  assertEquals(s.fields.map((f) => f.name), ["t", "auth", "src"]);
  assertEquals(s.get("auth"), authFieldValue(Message.fromStrings({ t: "x", src: "n1" }), k));
});

Deno.test("nested messages never get an auth field (trailer only)", () => {
  const k = keys(3, ...ALL);
  const m = status().addStruct("sub", Message.fromStrings({ a: "1" }));
  const out = signAndEncode(m, k);
  const d = decodeMessage(out);
  assert(d.ok && !d.msg.has("auth"));
  assert(decodeAndVerify(out, k).ok);
});

Deno.test("serial: classic frame with auth, no NUL, no trailer; verified via auth field", () => {
  const k = keys(3, ...ALL);
  for (const msgfmt of ["classic", "netstring"] as const) {
    const out = signAndEncode(status(), k, { msgfmt, medium: "serial" });
    const text = latin1Decode(out);
    assert(
      text.startsWith(">>>\nt=status\n") &&
        text.endsWith("\nauth=" + authFieldValue(status(), k) + "\n<<<\n"),
    );
    const v = decodeAndVerify(out, k);
    if (!v.ok) fail(v.detail);
    assertEquals(v.format, "classic");
    assertEquals(v.nul, false);
  }
});

Deno.test("trailer key rule: method of the named index, key of our own active index", () => {
  const sender = keys(2, ...ALL); // signs md5 with testkey-md5
  const receiver = keys(3, ...ALL); // real 3.0.6 with auth 3 rejects this
  const out = signAndEncode(status(), sender, { msgfmt: "netstring" });
  const r = decodeAndVerify(out, receiver);
  assert(!r.ok && r.reason === "auth", "md5 index 2 with its own key must be rejected");
  assert(decodeAndVerify(out, receiver, { trailerKey: "named" }).ok);
  // md5 index 2 computed with the receiver's key is accepted.
  const quirk = keys(2, [2, { method: "md5", secret: "testkey-sha1" }]);
  assert(decodeAndVerify(signAndEncode(status(), quirk, { msgfmt: "netstring" }), receiver).ok);
  // crc ignores keys, so any configured crc index works.
  assert(decodeAndVerify(signAndEncode(status(), keys(1, ...ALL)), receiver).ok);
  // Key rotation with identical keys: sign with the new index, accepted by both configurations.
  const oldCfg = keys(3, [3, { method: "sha1", secret: "s3cret" }], [4, {
    method: "sha1",
    secret: "s3cret",
  }]);
  const newCfg = keys(4, [3, { method: "sha1", secret: "s3cret" }], [4, {
    method: "sha1",
    secret: "s3cret",
  }]);
  assert(decodeAndVerify(signAndEncode(status(), newCfg), oldCfg).ok);
  assert(decodeAndVerify(signAndEncode(status(), oldCfg), newCfg).ok);
});

Deno.test("classic packets: any configured index with its own key is accepted", () => {
  const receiver = keys(3, ...ALL);
  for (const idx of [1, 2, 3]) {
    const out = encodeClassic(signMessage(status(), keys(idx, ...ALL)), { nul: idx === 2 });
    const v = decodeAndVerify(out, receiver);
    if (!v.ok) fail(`${idx}: ${v.detail}`);
    assertEquals(v.keyIndex, idx);
  }
});

Deno.test("rejections: unknown index, wrong key, missing/garbled trailer or auth field", () => {
  const k = keys(3, ...ALL);
  const good = signAndEncode(status(), k);
  const unknown = signAndEncode(status(), keys(7, [7, { method: "sha1", secret: "testkey-sha1" }]));
  const u = decodeAndVerify(unknown, k);
  assert(!u.ok && u.reason === "unknown-key", JSON.stringify(u));
  const wrong = signAndEncode(status(), keys(3, [3, { method: "sha1", secret: "wrong" }]));
  const w = decodeAndVerify(wrong, k);
  assert(!w.ok && w.reason === "auth");
  // No trailer at all.
  const text = latin1Decode(good);
  const body = text.slice(0, text.lastIndexOf("%%%\n") + 4);
  const nt = decodeAndVerify(latin1Encode(body), k);
  assert(!nt.ok && nt.reason === "auth");
  // Upper-case token: compared as a string.
  const upper = body + text.slice(body.length).toUpperCase();
  const up = decodeAndVerify(latin1Encode(upper), k);
  assert(!up.ok && up.reason === "auth");
  // Trailing junk after the trailer is ignored, like 3.0.6.
  assert(decodeAndVerify(latin1Encode(text + "\0junk"), k).ok);
  // Classic without auth field / with garbage auth / unknown index / tampered field.
  const noAuth = decodeAndVerify(encodeClassic(status()), k);
  assert(!noAuth.ok && noAuth.reason === "auth");
  const garbled = decodeAndVerify(encodeClassic(status().add("auth", "x y")), k);
  assert(!garbled.ok && garbled.reason === "auth");
  const idx9 = decodeAndVerify(encodeClassic(status().add("auth", "9 abc")), k);
  assert(!idx9.ok && idx9.reason === "unknown-key");
  const signed = signMessage(status(), k).set("st", "dead");
  const tampered = decodeAndVerify(encodeClassic(signed), k);
  assert(!tampered.ok && tampered.reason === "auth");
  // The embedded auth field of a netstring packet is not checked.
  const bogus = signAndEncode(status().add("auth", "3 0000"), k, { msgfmt: "netstring" });
  assert(decodeAndVerify(bogus, k).ok);
  // Signing with an unconfigured index is a configuration error.
  assertThrows(() => signAndEncode(status(), keys(5, ...ALL)), WireEncodeError, "not configured");
});

function bigMessage(bytes: number): Message {
  const m = Message.fromStrings({ t: "testbig" });
  let i = 0;
  while (bytes > 0) {
    const v = "abcdefghij".repeat(10);
    m.add(`f${i++}`, v);
    bytes -= v.length + 6;
  }
  return m;
}

Deno.test("traditional compression above the threshold; inner message keeps its auth field", () => {
  const k = keys(3, ...ALL);
  const m = bigMessage(4000);
  const plain = signAndEncode(m, k);
  assertEquals(
    decodeMessage(plain).ok && (decodeMessage(plain) as { msg: Message }).msg.has(COMPRESSED_FIELD),
    false,
  );
  const out = signAndEncode(m, k, { compression: { traditional: true } });
  assert(out.length < plain.length / 4, `${out.length} vs ${plain.length}`);
  const w = decodeMessage(out);
  if (!w.ok) fail(w.detail);
  assertEquals(w.msg.fields.map((f) => [f.name, f.type]), [[COMPRESSED_FIELD, 1], [
    COMPRESSION_NAME_FIELD,
    0,
  ]]);
  assertEquals(w.msg.get(COMPRESSION_NAME_FIELD), "zlib");
  const v = decodeAndVerify(out, k);
  if (!v.ok) fail(v.detail);
  assert(v.wrapper !== undefined);
  assertEquals(v.msg.get("t"), "testbig");
  assertEquals(v.msg.get("auth"), authFieldValue(m, k));
  // Below the threshold: not compressed.
  const small = signAndEncode(status(), k, { compression: { traditional: true } });
  assert(!latin1Decode(small).includes(COMPRESSED_FIELD));
  // A custom threshold.
  const t = signAndEncode(status(), k, { compression: { traditional: true, thresholdBytes: 100 } });
  assert(latin1Decode(t).includes(COMPRESSED_FIELD));
  // netstring msgfmt: inner payload is netstring without trailer.
  const ns = decodeAndVerify(
    signAndEncode(m, k, { msgfmt: "netstring", compression: { traditional: true } }),
    k,
  );
  assert(ns.ok && ns.wrapper !== undefined && !ns.msg.has("auth"));
});

Deno.test("messages reaching MAX_MSG are compressed whole whatever the settings", () => {
  const k = keys(3, ...ALL);
  const m = bigMessage(MAX_MSG + 1000);
  const out = signAndEncode(m, k);
  assert(out.length < MAX_MSG);
  const v = decodeAndVerify(out, k);
  if (!v.ok) fail(v.detail);
  assert(v.wrapper !== undefined);
  assertEquals(v.msg.length, m.length + 1);
  assertThrows(
    () => signAndEncode(m, k, { compression: { algorithm: "bz2" } }),
    WireEncodeError,
    "too big",
  );
});

Deno.test("field-level compression: type 5 becomes type 4 and reads back", () => {
  const k = keys(3, ...ALL);
  const inner = bigMessage(3000);
  const m = Message.fromStrings({ t: "cib" }).addCompressedStruct("data", inner);
  const out = signAndEncode(m, k);
  const v = decodeAndVerify(out, k);
  if (!v.ok) fail(v.detail);
  assertEquals(v.msg.getField("data")?.type, 4);
  assertEquals(v.msg.get(COMPRESSION_NAME_FIELD), "zlib");
  assertEquals(v.msg.has("auth"), false);
  const s = getCompressedStruct(v.msg, "data");
  if (!s.ok) fail(s.detail);
  assertEquals(toHex(encodeClassic(s.msg)), toHex(encodeClassic(inner)));
  assertEquals(m.getField("data")?.type, 5, "input not modified");
});
