import { assert, assertEquals } from "../tests/assert.ts";
import { UdpSocket } from "../sys/inet.ts";
import { POLLIN } from "../sys/socket.ts";
import { FdWaiter } from "./fd_loop.ts";

const LOOPBACK = "127.0.0.1";

/** A bound loopback receiver and a sender; the receiver's port is found by trying a few. */
function pair(): { rx: UdpSocket; tx: UdpSocket; port: number } {
  for (let port = 47000 + (Deno.pid % 1000); port < 49000; port++) {
    try {
      const rx = UdpSocket.open({ port, bindAddr: LOOPBACK });
      return { rx, tx: UdpSocket.open({}), port };
    } catch {
      // taken: try the next one
    }
  }
  throw new Error("no free loopback port");
}

Deno.test("FdWaiter: a queued datagram is reported at once and taken without waiting", async () => {
  const { rx, tx, port } = pair();
  try {
    assertEquals(rx.receiveNow(), null, "nothing queued yet");
    for (let i = 0; i < 3; i++) tx.send(new TextEncoder().encode(`p${i}`), LOOPBACK, port);
    const waiter = new FdWaiter([rx.fd], 1000, 200);
    const t0 = performance.now();
    const [revents] = await waiter.next();
    assert((revents & POLLIN) !== 0, `revents ${revents}`);
    assert(performance.now() - t0 < 500, "no wait for a queued datagram");
    const got: string[] = [];
    for (let d = rx.receiveNow(); d; d = rx.receiveNow()) {
      got.push(new TextDecoder().decode(d.bytes));
    }
    assertEquals(got, ["p0", "p1", "p2"]);
    assertEquals(rx.receiveNow(), null, "drained");
  } finally {
    rx.close();
    tx.close();
  }
});

Deno.test("FdWaiter: timers and signal listeners run while it waits", async () => {
  const { rx, tx, port } = pair();
  let timerFired = false;
  let signals = 0;
  const onSignal = () => signals++;
  Deno.addSignalListener("SIGUSR2", onSignal);
  try {
    const waiter = new FdWaiter([rx.fd], 100, 50);
    setTimeout(() => timerFired = true, 150);
    setTimeout(() => Deno.kill(Deno.pid, "SIGUSR2"), 250);
    setTimeout(() => tx.send(new Uint8Array([1]), LOOPBACK, port), 600);
    const t0 = performance.now();
    await waiter.next();
    const took = performance.now() - t0;
    assert(took >= 500, `waited for the datagram (${took.toFixed(0)} ms)`);
    assert(timerFired, "a timer ran during the wait");
    assertEquals(signals, 1, "the signal listener ran during the wait");
    assert(rx.receiveNow() !== null);
  } finally {
    Deno.removeSignalListener("SIGUSR2", onSignal);
    rx.close();
    tx.close();
  }
});
