// sys/termios.ts on a socat pty pair: line settings, both directions, CR and bit 7, errors.
import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import { openPtyPair } from "../tests/support/pty_pair.ts";
import { LibcError } from "./libc.ts";
import {
  BRKINT,
  CLOCAL,
  CREAD,
  CRTSCTS,
  CS8,
  CSIZE,
  ECHO,
  ICANON,
  IGNCR,
  ISIG,
  ISTRIP,
  IXON,
  OPOST,
  PARENB,
  TtyPort,
} from "./termios.ts";

async function readUntil(port: TtyPort, want: number, ms = 30_000): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  const end = Date.now() + ms;
  while (n < want) {
    if (Date.now() > end) throw new Error(`only ${n} of ${want} bytes arrived`);
    const chunk = await Promise.race([
      port.read(),
      new Promise<null>((r) => setTimeout(() => r(null), Math.max(1, end - Date.now()))),
    ]);
    if (chunk === null) continue;
    parts.push(chunk);
    n += chunk.length;
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

Deno.test("termios: raw 8N1 line at the asked speed, bytes both ways", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hb-tty-" });
  const pair = await openPtyPair(`${dir}/ttyA`, `${dir}/ttyB`);
  const a = TtyPort.open(pair.a, { baud: 19200 });
  const b = TtyPort.open(pair.b, { baud: 115200 });
  try {
    const at = a.attributes();
    assertEquals(at.baud, 19200);
    assertEquals(b.attributes().baud, 115200);
    assertEquals(at.cflag & CSIZE, CS8);
    assertEquals(at.cflag & (CREAD | CLOCAL), CREAD | CLOCAL);
    assertEquals(at.cflag & (PARENB | CRTSCTS), 0);
    assertEquals(at.lflag & (ICANON | ECHO | ISIG), 0);
    assertEquals(at.oflag & OPOST, 0);
    assertEquals(at.iflag & (ISTRIP | IGNCR | BRKINT), ISTRIP | IGNCR | BRKINT);
    assertEquals(at.iflag & IXON, 0);
    assertEquals([at.vmin, at.vtime], [1, 1]);

    const msg = new TextEncoder().encode(">>>\nt=status\nst=active\n<<<\n");
    assertEquals(await a.write(msg), { ok: true });
    assertEquals(await readUntil(b, msg.length), msg);

    // 8 KiB in one call: more than a pty buffers at once, so write waits for room
    const big = new Uint8Array(8192).map((_, i) => 0x41 + (i % 26));
    const [w, got] = await Promise.all([b.write(big, 30_000), readUntil(a, big.length)]);
    assertEquals(w, { ok: true });
    assertEquals(got, big);

    // Heartbeat's input flags: CR dropped (IGNCR), bit 7 stripped (ISTRIP)
    assertEquals(await b.write(new Uint8Array([0x61, 0x0d, 0x0a, 0xe2])), { ok: true });
    assertEquals(await readUntil(a, 3), new Uint8Array([0x61, 0x0a, 0x62]));
  } finally {
    a.close();
    b.close();
    await pair.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("termios: a write with nobody reading times out instead of blocking", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hb-tty-" });
  const pair = await openPtyPair(`${dir}/ttyA`, `${dir}/ttyB`);
  const a = TtyPort.open(pair.a, { baud: 9600 });
  try {
    // nobody opened B: socat keeps its buffers full after a while, then writes must time out
    let timedOut = false;
    const chunk = new Uint8Array(4096).fill(0x58);
    for (let i = 0; i < 256 && !timedOut; i++) {
      const r = await a.write(chunk, 200);
      if (!r.ok) {
        assert(r.timeout, `write failed: ${!r.timeout ? r.error.message : ""}`);
        timedOut = true;
      }
    }
    assert(timedOut, "1 MiB went into a pty nobody reads without a timeout");
  } finally {
    a.close();
    await pair.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("termios: errors name the call and errno", () => {
  const e1 = assertThrows(
    () => TtyPort.open("/nonexistent/ttyS9", { baud: 19200 }),
    LibcError,
  ) as LibcError;
  assertEquals(e1.code, "ENOENT");
  assert(e1.message.startsWith("open /nonexistent/ttyS9: "), e1.message);
  const e2 = assertThrows(() => TtyPort.open("/dev/null", { baud: 19200 }), LibcError) as LibcError;
  assertEquals(e2.call, "isatty /dev/null");
  assertEquals(e2.errno, 25); // ENOTTY
  assertThrows(() => TtyPort.open("/dev/null", { baud: 1234 }), RangeError);
});
