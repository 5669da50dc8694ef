import { assertEquals, assertThrows } from "../tests/assert.ts";
import { ChannelError, encodeControl, encodePacket, FrameDecoder } from "./channel.ts";

Deno.test("frames survive arbitrary chunking", () => {
  const frames = [
    encodeControl({ t: "hello", n: 1 }),
    encodePacket(new Uint8Array([0, 1, 2, 255])),
    encodeControl(["x"]),
  ];
  const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let off = 0;
  for (const f of frames) {
    all.set(f, off);
    off += f.length;
  }
  for (const step of [1, 2, 3, 7, all.length]) {
    const dec = new FrameDecoder();
    const got = [];
    for (let i = 0; i < all.length; i += step) got.push(...dec.push(all.slice(i, i + step)));
    assertEquals(got.length, 3);
    assertEquals(got[0], { kind: "control", value: { t: "hello", n: 1 } });
    assertEquals(got[1], { kind: "packet", bytes: new Uint8Array([0, 1, 2, 255]) });
    assertEquals(got[2], { kind: "control", value: ["x"] });
    assertEquals(dec.pending, 0);
  }
});

Deno.test("corrupt frames raise ChannelError", () => {
  assertThrows(() => new FrameDecoder().push(new Uint8Array([0, 0, 0, 0, 1])), ChannelError);
  assertThrows(() => new FrameDecoder().push(new Uint8Array([0, 0, 0, 1, 9])), ChannelError);
  assertThrows(
    () => new FrameDecoder().push(new Uint8Array([0, 0, 0, 2, 1, 0x7b])),
    ChannelError,
  );
  assertThrows(() => new FrameDecoder().push(new Uint8Array([0xff, 0, 0, 0])), ChannelError);
});
