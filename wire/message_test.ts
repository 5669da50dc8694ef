import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import { base64Decode, base64Encode, bytesToUtf8, latin1Encode, utf8ToBytes } from "./bytes.ts";
import { FT_BINARY, FT_STRING, Message } from "./message.ts";

Deno.test("message: ordered fields, first-match lookup, replace-or-append", () => {
  const m = Message.fromStrings([["t", "status"], ["st", "up"], ["st", "second"]]);
  assertEquals(m.length, 3);
  assertEquals(m.get("st"), "up");
  assertEquals(m.indexOf("st"), 1);
  m.set("st", "active");
  assertEquals(m.fields.map((f) => f.name), ["t", "st", "st"]);
  assertEquals(m.get("st"), "active");
  assertEquals((m.fields[2] as { value: string }).value, "second");
  m.set("src", "n1");
  assertEquals(m.fields[3].name, "src");
  assert(m.remove("st"));
  assertEquals(m.get("st"), "second");
  assert(!m.remove("nope"));
});

Deno.test("message: typed getters only return their type", () => {
  const uuid = new Uint8Array(16).fill(7);
  const sub = Message.fromStrings({ a: "1" });
  const m = new Message()
    .add("t", "x")
    .addBinary("srcuuid", uuid)
    .addStruct("sub", sub)
    .addList("lst", ["a", "b"])
    .addCompressedStruct("z", sub);
  assertEquals(m.getBinary("srcuuid"), uuid);
  assertEquals(m.get("srcuuid"), undefined);
  assertEquals(m.getStruct("sub"), sub);
  assertEquals(m.getStruct("z"), sub);
  assertEquals(m.getList("lst"), ["a", "b"]);
  assertEquals(m.getList("t"), undefined);
  assertEquals(m.getCompressed("z"), undefined);
  assert(m.hasNested());
  assert(!Message.fromStrings({ t: "x" }).hasNested());
  assertEquals(m.getField("srcuuid")?.type, FT_BINARY);
  assertEquals(m.getField("t")?.type, FT_STRING);
});

Deno.test("message: invalid names and non-byte strings are programming errors", () => {
  assertThrows(() => new Message().add("", "x"), TypeError);
  assertThrows(() => new Message().add("a=b", "x"), TypeError);
  assertThrows(() => new Message().add("a\nb", "x"), TypeError);
  assertThrows(() => new Message().add("a", "\u20ac"), TypeError);
  assertThrows(() => new Message().addList("a", ["\u0100"]), TypeError);
  // Unicode text goes through utf8ToBytes.
  const m = new Message().add("info", utf8ToBytes("\u20ac"));
  assertEquals(m.get("info")!.length, 3);
  assertEquals(bytesToUtf8(m.get("info")!), "\u20ac");
});

Deno.test("message: clone is independent, nested included", () => {
  const sub = Message.fromStrings({ a: "1" });
  const m = new Message().add("t", "x").addStruct("sub", sub);
  const c = m.clone();
  c.set("t", "y");
  c.getStruct("sub")!.set("a", "2");
  assertEquals(m.get("t"), "x");
  assertEquals(sub.get("a"), "1");
  assertEquals(m.toString(), "t=x (2)sub={a=1}");
});

Deno.test("base64: canonical, strict, all lengths", () => {
  for (let n = 0; n < 40; n++) {
    const b = new Uint8Array(n).map((_, i) => (i * 37 + n) & 0xff);
    const s = base64Encode(b);
    assertEquals(s, btoa(String.fromCharCode(...b)));
    assertEquals(base64Decode(latin1Encode(s)), b);
  }
  assertEquals(base64Decode(latin1Encode("abc")), undefined);
  assertEquals(base64Decode(latin1Encode("ab=c")), undefined);
  assertEquals(base64Decode(latin1Encode("a*bc")), undefined);
  assertEquals(
    base64Decode(latin1Encode("kmtFB3trTnOKxVi0/Oemcg==")),
    new Uint8Array([
      0x92,
      0x6b,
      0x45,
      0x07,
      0x7b,
      0x6b,
      0x4e,
      0x73,
      0x8a,
      0xc5,
      0x58,
      0xb4,
      0xfc,
      0xe7,
      0xa6,
      0x72,
    ]),
  );
});
