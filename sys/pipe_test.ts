import { assertEquals, assertThrows } from "../tests/assert.ts";
import { closeFd, openPipe, PipeError, procFdPath, readSome, writeSome } from "./pipe.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("pipe: non-blocking ends, the end of the stream, a full pipe", () => {
  const p = openPipe();
  const buf = new Uint8Array(16);
  try {
    assertEquals(readSome(p.read, buf), -1, "nothing there yet: EAGAIN, not a block");
    assertEquals(writeSome(p.write, bytes("abc")), 3);
    assertEquals(readSome(p.read, buf), 3);
    assertEquals(new TextDecoder().decode(buf.subarray(0, 3)), "abc");
    // a full pipe: writeSome says 0 instead of blocking
    const big = new Uint8Array(1 << 16);
    let total = 0;
    while (true) {
      const n = writeSome(p.write, big);
      if (n === 0) break;
      total += n;
    }
    assertEquals(total >= 4096, true, `the pipe held ${total} bytes`);
  } finally {
    closeFd(p.write);
  }
  const drain = new Uint8Array(1 << 16);
  while (readSome(p.read, drain) > 0) {
    // what the full pipe held
  }
  assertEquals(readSome(p.read, buf), 0, "no writer left: the end of the stream");
  closeFd(p.read);
});

Deno.test("pipe: another open of /proc/<pid>/fd/<n> is the same pipe", () => {
  const p = openPipe();
  try {
    const f = Deno.openSync(procFdPath(p.write), { write: true });
    f.writeSync(bytes("via path"));
    f.close();
    const buf = new Uint8Array(16);
    assertEquals(readSome(p.read, buf), 8);
    assertEquals(new TextDecoder().decode(buf.subarray(0, 8)), "via path");
  } finally {
    closeFd(p.read);
    closeFd(p.write);
  }
});

Deno.test("pipe: a write with no reader left is EPIPE, thrown", () => {
  const p = openPipe();
  closeFd(p.read);
  try {
    const e = assertThrows(() => writeSome(p.write, bytes("x")), PipeError);
    assertEquals((e as PipeError).errno, 32);
  } finally {
    closeFd(p.write);
  }
});
