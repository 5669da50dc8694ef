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
    // "At once": the first poll reports it, without giving the event loop a turn (a turn would
    // run this zero-delay timer before next() resolves). Idle and turn limits are far away.
    let turned = false;
    const timer = setTimeout(() => turned = true, 0);
    const waiter = new FdWaiter([rx.fd], 60_000, 60_000);
    const [revents] = await waiter.next();
    const tookATurn = turned;
    clearTimeout(timer);
    assert((revents & POLLIN) !== 0, `revents ${revents}`);
    assert(!tookATurn, "next() waited for an event-loop turn with a datagram queued");
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
  let onSignal = () => {
    signals++;
  };
  const listener = () => onSignal();
  Deno.addSignalListener("SIGUSR2", listener);
  try {
    // A chain that can only complete while next() waits: a timer sends a signal, the signal's
    // listener sends the datagram that ends the wait.
    let sent = false;
    onSignal = () => {
      signals++;
      tx.send(new Uint8Array([1]), LOOPBACK, port);
      sent = true;
    };
    const waiter = new FdWaiter([rx.fd], 100, 50);
    setTimeout(() => {
      timerFired = true;
      Deno.kill(Deno.pid, "SIGUSR2");
    }, 150);
    await waiter.next();
    assert(sent, "next() returned before the datagram was sent");
    assert(timerFired, "a timer ran during the wait");
    assertEquals(signals, 1, "the signal listener ran during the wait");
    assert(rx.receiveNow() !== null);
  } finally {
    Deno.removeSignalListener("SIGUSR2", listener);
    rx.close();
    tx.close();
  }
});
