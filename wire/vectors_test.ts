/**
 * Every captured wire vector: decodes, matches index.json, re-encodes byte-for-byte, re-signs
 * byte-for-byte from its fields, verifies with its key, and accept/reject matches the real node.
 */
import { assert, assertEquals, fail } from "../tests/assert.ts";
import {
  AUTH_FIELD,
  authFieldValue,
  decodeAndVerify,
  encodeNetstringPacket,
  signAndEncode,
} from "./auth.ts";
import { toHex } from "./bytes.ts";
import { encodeClassic } from "./classic.ts";
import { decodeMessage } from "./codec.ts";
import { unwrapCompressed } from "./compress.ts";
import { digestToken } from "./digest.ts";
import { Message } from "./message.ts";
import { encodeNetstring } from "./netstring.ts";
import {
  loadWireVectors,
  receiverKeys,
  senderKeys,
  toVectorFields,
  WIRE_VECTOR_DIR,
} from "../tests/support/vectors.ts";

const vectors = loadWireVectors();

Deno.test("vector directory resolves to the in-repo testdata/vectors/wire and holds all files", () => {
  const repo = new URL("../", import.meta.url).pathname;
  assertEquals(WIRE_VECTOR_DIR.pathname, `${repo}testdata/vectors/wire/`);
  assert(vectors.length >= 373, `only ${vectors.length} vectors`);
});

Deno.test("every vector: size and sha256 match index.json", async () => {
  for (const { vector, bytes } of vectors) {
    assertEquals(bytes.length, vector.length, vector.file);
    const h = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice()));
    assertEquals(toHex(h), vector.sha256, vector.file);
  }
});

Deno.test("every vector decodes and its fields match index.json", () => {
  for (const { vector, bytes } of vectors) {
    const r = decodeMessage(bytes);
    if (!r.ok) fail(`${vector.file}: ${r.reason} ${r.detail}`);
    assertEquals(r.format, vector.format, vector.file);
    assertEquals(toVectorFields(r.msg), vector.fields, vector.file);
    if (vector.auth_field !== undefined) {
      assertEquals(r.msg.get(AUTH_FIELD), vector.auth_field, vector.file);
    }
  }
});

Deno.test("every vector re-encodes byte-for-byte", () => {
  for (const { vector, bytes } of vectors) {
    const r = decodeMessage(bytes);
    if (!r.ok) fail(vector.file);
    let again: Uint8Array;
    if (r.format === "netstring") {
      const body = encodeNetstring(r.msg);
      const t = vector.trailer!;
      const trailer = new TextEncoder().encode(
        `${String(t.index).length + 1 + t.token.length}:${t.index} ${t.token},`,
      );
      again = new Uint8Array(body.length + trailer.length);
      again.set(body);
      again.set(trailer, body.length);
    } else {
      again = encodeClassic(r.msg, { nul: r.nul });
    }
    assertEquals(toHex(again), toHex(bytes), vector.file);
  }
});

Deno.test("every vector's trailer and auth field recompute with the sender's key", () => {
  for (const { vector, bytes } of vectors) {
    const r = decodeMessage(bytes);
    if (!r.ok) fail(vector.file);
    if (vector.trailer) {
      const tok = digestToken(vector.auth, vector.key ?? "", bytes.subarray(0, r.end));
      assertEquals(tok, vector.trailer.token, `${vector.file} trailer`);
      assertEquals(vector.trailer.index, vector.key_index, vector.file);
    }
    if (vector.auth_field !== undefined) {
      assertEquals(authFieldValue(r.msg, senderKeys(vector)), vector.auth_field, vector.file);
    }
  }
});

Deno.test("every vector is re-signed byte-for-byte from its fields by signAndEncode", () => {
  let resigned = 0;
  for (const { vector, bytes } of vectors) {
    const r = decodeMessage(bytes);
    if (!r.ok) fail(vector.file);
    const keys = senderKeys(vector);
    if (r.msg.has("_compressed_payload")) {
      // zlib output differs between implementations: re-sign the wrapper as received.
      assertEquals(toHex(encodeNetstringPacket(r.msg, keys)), toHex(bytes), vector.file);
      continue;
    }
    const hasAuth = r.msg.has(AUTH_FIELD);
    const auth = r.msg.fields[r.msg.length - 1];
    if (hasAuth && auth.name !== AUTH_FIELD) fail(`${vector.file}: auth not last`);
    const stripped = new Message(hasAuth ? r.msg.fields.slice(0, -1) : r.msg.fields);
    if (r.format === "classic") {
      if (r.nul) continue; // synthetic classic-nul variant: no 3.0.6 writer produces it
      const out = signAndEncode(stripped, keys, { medium: "serial" });
      assertEquals(toHex(out), toHex(bytes), vector.file);
    } else {
      const msgfmt = hasAuth || r.msg.hasNested() ? "classic" : "netstring";
      const out = signAndEncode(stripped, keys, { msgfmt, medium: "packet" });
      assertEquals(toHex(out), toHex(bytes), vector.file);
    }
    resigned++;
  }
  assert(resigned > 360, `re-signed only ${resigned}`);
});

function expectedReason(note: string | undefined): string {
  if (note === undefined) return "?";
  if (/unknown key index|which the receiver lacks/.test(note)) return "unknown-key";
  return "auth";
}

Deno.test("every vector: decodeAndVerify accepts/rejects as the real receiver did", () => {
  let rejects = 0;
  for (const { vector, bytes } of vectors) {
    const r = decodeAndVerify(bytes, receiverKeys(vector));
    if (vector.expect === "accept") {
      if (!r.ok) fail(`${vector.file}: rejected (${r.reason}: ${r.detail})`);
      assertEquals(r.keyIndex, vector.key_index, vector.file);
      assertEquals(r.format, vector.format, vector.file);
      if (r.wrapper) assertEquals(toVectorFields(r.wrapper), vector.fields, vector.file);
      else assertEquals(toVectorFields(r.msg), vector.fields, vector.file);
    } else {
      rejects++;
      if (r.ok) fail(`${vector.file}: accepted but the real node rejected it`);
      assertEquals(r.reason, expectedReason(vector.note), `${vector.file}: ${r.detail}`);
    }
  }
  assertEquals(rejects, 5);
});

Deno.test("every vector verifies with its sender's own keys", () => {
  for (const { vector, bytes } of vectors) {
    const r = decodeAndVerify(bytes, senderKeys(vector));
    if (!r.ok) fail(`${vector.file}: ${r.reason} ${r.detail}`);
  }
});

Deno.test("captured vectors are rejected with a wrong key and with an unknown index", () => {
  for (const { vector, bytes } of vectors) {
    if (vector.expect !== "accept" || vector.receiver_authkeys) continue;
    const wrong = decodeAndVerify(bytes, {
      active: vector.key_index,
      keys: new Map([[vector.key_index, {
        method: vector.auth === "crc" ? "md5" : vector.auth,
        secret: "not-the-key",
      }]]),
    });
    assert(!wrong.ok && wrong.reason === "auth", `${vector.file} accepted with a wrong key`);
    const other = (vector.key_index + 1) % 16;
    const unknown = decodeAndVerify(bytes, {
      active: other,
      keys: new Map([[other, { method: "sha1" as const, secret: "x" }]]),
    });
    assert(
      !unknown.ok && unknown.reason === "unknown-key",
      `${vector.file} not rejected for unknown key`,
    );
  }
});

Deno.test("compressed vector: unwraps to a classic message whose auth field verifies", () => {
  const found = vectors.filter((v) => v.vector.file.includes("compressed"));
  assert(found.length >= 1);
  for (const { vector, bytes } of found) {
    const r = decodeAndVerify(bytes, receiverKeys(vector));
    if (!r.ok) fail(`${vector.file}: ${r.detail}`);
    assert(r.wrapper !== undefined);
    const u = unwrapCompressed(r.wrapper);
    if (!u.ok) fail(u.detail);
    assertEquals(u.format, "classic");
    assertEquals(u.inner[u.inner.length - 1], 0, "inner classic ends with NUL");
    assertEquals(toHex(encodeClassic(u.msg, { nul: true })), toHex(u.inner));
    assertEquals(u.msg.get("t"), "testbig");
    assertEquals(authFieldValue(u.msg, senderKeys(vector)), u.msg.get(AUTH_FIELD));
    assertEquals(r.msg.get("t"), "testbig");
  }
});
