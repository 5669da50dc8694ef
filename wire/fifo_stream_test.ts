import { assert, assertEquals } from "../tests/assert.ts";
import { latin1Encode } from "./bytes.ts";
import { type FifoItem, FifoStreamParser, readFifoMessages } from "./fifo_stream.ts";
import type { Message } from "./message.ts";

const b = latin1Encode;

function msgs(items: FifoItem[]): Message[] {
  return items.filter((i) => i.ok).map((i) => (i as { msg: Message }).msg);
}

Deno.test("fifo: hb_standby in one write, hb_takeover in two writes", () => {
  const p = new FifoStreamParser();
  const a = p.push(b(">>>\nt=ask_resources\nrsc_hold=all\ninfo=me\n<<<\n"));
  assertEquals(a.length, 1);
  assertEquals(msgs(a)[0].get("info"), "me");
  assertEquals(p.push(b(">>>\nt=hb_takeover\nrsc_hold=all\n")), []);
  const c = msgs(p.push(b("<<<\n")));
  assertEquals(c.map((m) => m.get("t")), ["hb_takeover"]);
  assertEquals(p.pending, 0);
});

Deno.test("fifo: junk before >>> skipped, byte-by-byte feeding, several per chunk", () => {
  const text = "garbage line\nx>>>\n>>>x\n>>>\nt=one\n<<<\n\n>>>\nt=two\n(1)u=AAE=\n<<<\n" +
    "###\n8:(0)t=six,%%%\n>>>\nt=three\n<<<\n";
  const p = new FifoStreamParser();
  const out: Message[] = [];
  for (const byte of b(text)) out.push(...msgs(p.push(new Uint8Array([byte]))));
  assertEquals(out.map((m) => m.get("t")), ["one", "two", "six", "three"]);
  assertEquals(out[1].getBinary("u"), new Uint8Array([0, 1]));
  const q = new FifoStreamParser();
  assertEquals(msgs(q.push(b(text))).map((m) => m.get("t")), ["one", "two", "six", "three"]);
});

Deno.test("fifo: netstring values may contain %%%\\n and newlines", () => {
  const p = new FifoStreamParser();
  const out = msgs(p.push(b("###\n6:(0)t=x,12:(0)v=a\n%%%\nb,%%%\n")));
  assertEquals(out.length, 1);
  assertEquals(out[0].get("v"), "a\n%%%\nb");
});

Deno.test("fifo: bad messages are reported and the stream resynchronises", () => {
  const p = new FifoStreamParser();
  const items = p.push(b(">>>\nt=x\nnoequals\n<<<\n>>>\nt=ok\n<<<\n###\nzz\n>>>\nt=ok2\n<<<\n"));
  assertEquals(items.map((i) => i.ok), [false, true, false, true]);
  assertEquals(msgs(items).map((m) => m.get("t")), ["ok", "ok2"]);
});

Deno.test("fifo: a message that never ends is dropped once it exceeds the limit", () => {
  const p = new FifoStreamParser({ maxMessage: 200 });
  const items = p.push(b(">>>\n" + "a=b\n".repeat(100)));
  assert(items.some((i) => !i.ok && i.reason === "too-big"));
  const after = msgs(p.push(b("c=d\n<<<\n>>>\nt=next\n<<<\n")));
  assertEquals(after.map((m) => m.get("t")), ["next"]);
  const long = new FifoStreamParser({ maxMessage: 200 });
  long.push(b("x".repeat(10000)));
  assert(long.pending <= 3, "junk line not buffered");
  assertEquals(msgs(long.push(b("\n>>>\nt=y\n<<<\n"))).length, 1);
});

Deno.test("fifo: readFifoMessages over an async stream", async () => {
  async function* src() {
    yield b(">>>\nt=a\n");
    yield b("<<<\n>>");
    yield b(">\nt=b\n<<<\n");
  }
  const got: string[] = [];
  for await (const item of readFifoMessages(src())) if (item.ok) got.push(item.msg.get("t")!);
  assertEquals(got, ["a", "b"]);
});
