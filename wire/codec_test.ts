import { assert, assertEquals, assertThrows, fail } from "../tests/assert.ts";
import { latin1Decode, latin1Encode, toHex } from "./bytes.ts";
import { classicAuthText, decodeClassic, encodeClassic } from "./classic.ts";
import { decodeMessage, detectFormat, encodeIpc, encodeMessage } from "./codec.ts";
import { WireEncodeError } from "./errors.ts";
import { MAX_DEPTH, MAX_UNCOMPRESSED } from "./limits.ts";
import { Message } from "./message.ts";
import { decodeNetstringBody, encodeNetstring, parseTrailer } from "./netstring.ts";

const b = latin1Encode;
const s = (u: Uint8Array) => latin1Decode(u);

function typeMessage(): Message {
  return new Message()
    .add("t", "typetest")
    .addBinary("bin", new Uint8Array([0, 1, 2, 3, 4, 5, 0xff]))
    .addList("lst", ["abc", "defg"])
    .addStruct(
      "sub",
      new Message().add("a", "1").addBinary("b", new Uint8Array([0, 1])).addList("l2", ["x"]),
    )
    .add("s2", "has=equals,and,commas")
    .add("s3", "line1\nline2")
    .add("empty", "");
}

Deno.test("netstring: exact bytes of the spec examples", () => {
  const m = typeMessage();
  const enc = s(encodeNetstring(m));
  assert(enc.startsWith("###\n13:(0)t=typetest,14:(1)bin=\x00\x01\x02\x03\x04\x05\xff,"));
  assert(enc.includes("20:(3)lst=3:abc,4:defg,,"));
  assert(enc.includes("48:(2)sub=###\n6:(0)a=1,7:(1)b=\x00\x01,10:(3)l2=1:x,,%%%\n,"));
  assert(enc.includes("9:(0)empty=,"));
  assert(enc.endsWith("%%%\n"));
  const r = decodeNetstringBody(b(enc));
  if (!r.ok) fail(r.detail);
  assertEquals(s(encodeNetstring(r.msg)), enc);
  assertEquals(r.msg.get("s3"), "line1\nline2");
});

Deno.test("classic: exact bytes, 0x13 newline rule, depth symbols, NUL option", () => {
  const m = typeMessage();
  const enc = s(encodeClassic(m));
  assertEquals(
    enc,
    ">>>\nt=typetest\n(1)bin=AAECAwQF/w==\n(3)lst=3:abc,4:defg,\n" +
      "(2)sub=>>>\x14a=1\x14(1)b=AAE=\x14(3)l2=1:x,\x14<<<\x14\n" +
      "s2=has=equals,and,commas\ns3=line1\x13line2\nempty=\n<<<\n",
  );
  assertEquals(s(encodeClassic(m, { nul: true })), enc + "\0");
  for (const bytes of [b(enc), b(enc + "\0")]) {
    const r = decodeClassic(bytes);
    if (!r.ok) fail(r.detail);
    assertEquals(r.nul, bytes.length > enc.length);
    assertEquals(r.end, enc.length);
    assertEquals(s(encodeClassic(r.msg)), enc);
    assertEquals(r.msg.get("s3"), "line1\nline2");
    assertEquals(r.msg.getStruct("sub")?.getList("l2"), ["x"]);
  }
});

function nest(levels: number): Message {
  let m = new Message().add("leaf", "x\ny").addBinary("b", new Uint8Array([1]));
  for (let i = 0; i < levels; i++) m = new Message().add("lvl", String(i)).addStruct("s", m);
  return m;
}

Deno.test("classic/netstring: deep nesting uses one symbol per level and round-trips", () => {
  const m = nest(3);
  const enc = encodeClassic(m);
  const text = s(enc);
  assert(text.includes("\x14"), "level 1 symbol");
  assert(text.includes("\x15"), "level 2 symbol");
  assert(text.includes("\x16"), "level 3 symbol");
  assert(text.includes("x\x13y"), "string newline symbol");
  const r = decodeClassic(enc);
  if (!r.ok) fail(r.detail);
  assertEquals(toHex(encodeClassic(r.msg)), toHex(enc));
  const n = encodeNetstring(m);
  const rn = decodeNetstringBody(n);
  if (!rn.ok) fail(rn.detail);
  assertEquals(toHex(encodeNetstring(rn.msg)), toHex(n));
  // 16 levels are fine, 17 are not.
  const ok16 = decodeClassic(encodeClassic(nest(MAX_DEPTH)));
  assert(ok16.ok);
  assertThrows(() => encodeClassic(nest(MAX_DEPTH + 1)), WireEncodeError);
  assertThrows(() => encodeNetstring(nest(MAX_DEPTH + 1)), WireEncodeError);
  // Symbols 0x0f-0x12 of levels 13-16 appear.
  const deep = s(encodeClassic(nest(MAX_DEPTH)));
  for (const c of [0x0f, 0x10, 0x11, 0x12, 0x1f]) assert(deep.includes(String.fromCharCode(c)));
});

Deno.test("classic: auth text excludes markers and every auth field", () => {
  const m = Message.fromStrings([["t", "x"], ["auth", "1 abc"], ["a", "b\nc"]]);
  assertEquals(s(classicAuthText(m)), "t=x\na=b\x13c\n");
});

Deno.test("classic decoder: skips empty lines, rejects bad lines", () => {
  const ok = decodeClassic(b(">>>\n\nt=x\n\n\nsite=\nnode=wa2\r\n<<<\n"));
  if (!ok.ok) fail(ok.detail);
  assertEquals(ok.msg.get("site"), "");
  assertEquals(ok.msg.get("node"), "wa2\r", "CR is part of the value");
  for (
    const bad of [
      ">>>\nt=x\nnoequals\n<<<\n",
      ">>>\n(0)t=x\n<<<\n",
      ">>>\n(5)t=x\n<<<\n",
      ">>>\n(6)t=x\n<<<\n",
      ">>>\n(9)t=x\n<<<\n",
      ">>>\n(1t=x\n<<<\n",
      ">>>\n=x\n<<<\n",
      ">>>\n(1)=AAAA\n<<<\n",
      ">>>\n(1)u=AAA\n<<<\n",
      ">>>\n(3)l=\n<<<\n",
      ">>>\n(3)l=3:ab,\n<<<\n",
      ">>>\n(2)s=>>>\x14a=1\x14\n<<<\n",
      ">>>\nt=x\n",
      ">>>\nt=x",
      ">>>\nt=x\0\n<<<\n",
      ">>\nt=x\n<<<\n",
    ]
  ) {
    const r = decodeClassic(b(bad));
    assert(!r.ok && r.reason === "format", `accepted ${JSON.stringify(bad)}`);
  }
});

Deno.test("netstring decoder: malformed inputs are format errors", () => {
  for (
    const bad of [
      "###\n",
      "###\n11:(0)t=status,",
      "###\n11:(0)t=status",
      "###\n12:(0)t=status,%%%\n",
      "###\n10:(0)t=status,%%%\n",
      "###\n011:(0)t=status,%%%\n",
      "###\n:(0)t=status,%%%\n",
      "###\n-1:(0)t=status,%%%\n",
      "###\n0:,%%%\n",
      "###\n11:(6)t=status,%%%\n",
      "###\n11:(7)t=status,%%%\n",
      "###\n11:(8)t=status,%%%\n",
      "###\n11:(9)t=status,%%%\n",
      "###\n11:(a)t=status,%%%\n",
      "###\n11:[0]t=status,%%%\n",
      "###\n11:(0)tstatus=,%%%\n".replace("tstatus=", "t_status"),
      "###\n4:(0)=,%%%\n",
      "###\n99999999999:(0)t=x,%%%\n",
      "###\n2147483648:(0)t=x,%%%\n",
      "###\n9:(3)lst=,%%%\n",
      "###\n14:(3)lst=3:ab,,%%%\n",
      "###\n14:(3)lst=0:,ab,,%%%\n",
      "###\n13:(2)s=###\n%%%,%%%\n",
      "###\n17:(2)s=###\n%%%\nxx,%%%\n",
      "%%%\n",
    ]
  ) {
    const r = decodeNetstringBody(b(bad));
    assert(!r.ok && r.reason === "format", `accepted ${JSON.stringify(bad)}`);
  }
  const empty = decodeNetstringBody(b("###\n%%%\n"));
  assert(empty.ok && empty.msg.length === 0);
});

Deno.test("trailer parser", () => {
  const t = parseTrailer(b("9:1 bf65d17,"), 0);
  assert(t.ok && t.index === 1 && t.token === "bf65d17" && t.end === 12);
  for (const bad of ["", "9:1 bf65d17", "9:1 bf65d1,", "9:1bf65d17,,", "2:1 ,", "x:1 a,"]) {
    const r = parseTrailer(b(bad), 0);
    assert(!r.ok && r.reason === "auth", `accepted trailer ${JSON.stringify(bad)}`);
  }
});

Deno.test("codec: detection and generic decode", () => {
  assertEquals(detectFormat(b("###\nx")), "netstring");
  assertEquals(detectFormat(b(">>>\nx")), "classic");
  assertEquals(detectFormat(b("<<<\n")), undefined);
  assertEquals(detectFormat(b("##")), undefined);
  const r = decodeMessage(b("hello"));
  assert(!r.ok && r.reason === "format");
  const big = decodeMessage(new Uint8Array(MAX_UNCOMPRESSED + 1));
  assert(!big.ok && big.reason === "too-big");
  const m = Message.fromStrings({ t: "hbapi-resp", site: "" });
  assertEquals(s(encodeMessage(m, "classic", { nul: true })), ">>>\nt=hbapi-resp\nsite=\n<<<\n\0");
  assertEquals(s(encodeIpc(m)), ">>>\nt=hbapi-resp\nsite=\n<<<\n\0");
  assertEquals(s(encodeIpc(m, "netstring")), "###\n15:(0)t=hbapi-resp,8:(0)site=,%%%\n");
});

Deno.test("encoders refuse what cannot be sent", () => {
  assertThrows(() => encodeNetstring(new Message().add("a", "x\0y")), WireEncodeError, "NUL");
  assertThrows(() => encodeClassic(new Message().add("a", "x\0y")), WireEncodeError, "NUL");
  assertThrows(() => encodeNetstring(new Message().addList("l", [])), WireEncodeError);
  assertThrows(() => encodeNetstring(new Message().addList("l", [""])), WireEncodeError);
  assertThrows(() => encodeClassic(new Message().addList("l", [])), WireEncodeError);
  assertThrows(
    () => encodeNetstring(new Message().addList("l", ["x".repeat(1100)])),
    WireEncodeError,
    "packs",
  );
  assertThrows(
    () => encodeClassic(new Message().addCompressedStruct("z", Message.fromStrings({ a: "1" }))),
    WireEncodeError,
    "type 5",
  );
  assertThrows(
    () => encodeClassic(new Message().addStruct("s", Message.fromStrings({ a: "x\x14y" }))),
    WireEncodeError,
    "depth symbol",
  );
});

Deno.test("round trips: random messages in both encodings", () => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const str = (min: number) => {
    let out = "";
    const n = min + rnd(12);
    for (let i = 0; i < n; i++) {
      const c = rnd(255) + 1;
      out += String.fromCharCode(c === 0x13 || (c >= 0x0f && c <= 0x1f) ? 0x41 : c);
    }
    return out;
  };
  const name = () => str(1).replace(/[=\n]/g, "_").replace(/^\(/, "_");
  const gen = (depth: number): Message => {
    const m = new Message();
    const n = 1 + rnd(8);
    for (let i = 0; i < n; i++) {
      switch (depth < 3 ? rnd(4) : rnd(3)) {
        case 0:
          m.add(name(), str(0));
          break;
        case 1:
          m.addBinary(name(), new Uint8Array(rnd(20)).map(() => rnd(256)));
          break;
        case 2:
          m.addList(name(), Array.from({ length: 1 + rnd(3) }, () => str(1)));
          break;
        default:
          m.addStruct(name(), gen(depth + 1));
      }
    }
    return m;
  };
  for (let i = 0; i < 300; i++) {
    const m = gen(0);
    const n = encodeNetstring(m);
    const rn = decodeNetstringBody(n);
    if (!rn.ok) fail(rn.detail);
    assertEquals(toHex(encodeNetstring(rn.msg)), toHex(n));
    const c = encodeClassic(m);
    const rc = decodeClassic(c);
    if (!rc.ok) fail(rc.detail);
    assertEquals(toHex(encodeClassic(rc.msg)), toHex(c));
    assertEquals(toHex(encodeNetstring(rc.msg)), toHex(n), "classic and netstring agree");
  }
});
