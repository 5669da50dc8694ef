// sys/inet.ts and sys/inet6.ts (through their shared DatagramSocket in sys/socket.ts) on the
// loopback: send and take a datagram both ways, the errors of a failed set-up step, close.
import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import { waitFor } from "../tests/support/mod.ts";
import { type Datagram, SocketError, UdpSocket } from "./inet.ts";
import { type Datagram6, parseIPv6, Udp6Socket } from "./inet6.ts";

/** Takes the next datagram of `take`, waiting (without blocking) until one is queued. */
function next<D>(take: () => D | null): Promise<D> {
  return waitFor("a datagram", () => take() ?? undefined, { timeoutMs: 30_000 });
}

Deno.test("UdpSocket: a datagram over 127.0.0.1 keeps its bytes, sender and port", async () => {
  const rx = UdpSocket.open({ bindAddr: "127.0.0.1", port: 0, reuse: true });
  const tx = UdpSocket.open({ bindAddr: "127.0.0.1", port: 0 });
  try {
    assertEquals(rx.receiveNow(), null);
    const port = boundPort(rx);
    tx.send(new Uint8Array([1, 2, 3]), "127.0.0.1", port);
    const d: Datagram = await next(() => rx.receiveNow());
    assertEquals([...d.bytes], [1, 2, 3]);
    assertEquals(d.from, "127.0.0.1");
    assertEquals(d.port, boundPort(tx));
  } finally {
    rx.close();
    tx.close();
  }
  rx.close(); // idempotent
  assertEquals(rx.receiveNow(), null);
});

Deno.test("Udp6Socket: a datagram over ::1 keeps its bytes, sender and port", async () => {
  const rx = Udp6Socket.open({ port: 0, reuseAddr: true });
  const tx = Udp6Socket.open({ port: 0 });
  try {
    tx.send(new Uint8Array([9, 8]), parseIPv6("::1").bytes, boundPort(rx));
    const d: Datagram6 = await next(() => rx.receiveNow());
    assertEquals([...d.bytes], [9, 8]);
    assertEquals(d.from, "::1");
    assertEquals(d.port, boundPort(tx));
  } finally {
    rx.close();
    tx.close();
  }
  assertEquals(rx.receiveNow(), null);
});

Deno.test("UdpSocket/Udp6Socket: a failed set-up step names itself", () => {
  const e4 = assertThrows(
    () => UdpSocket.open({ device: "hb-no-such-dev0", port: 0 }),
    SocketError,
  );
  assert(e4.message.startsWith("setsockopt(SO_BINDTODEVICE): "), e4.message);
  const e6 = assertThrows(
    () => Udp6Socket.open({ multicastOut: { ifname: "hb-no-such-dev0", hops: 1, loop: false } }),
    SocketError,
  );
  assert(e6.message.startsWith("if_nametoindex(hb-no-such-dev0): "), e6.message);
  const bad = assertThrows(() => UdpSocket.open({ bindAddr: "127.0.0.300", port: 0 }), SocketError);
  assertEquals(bad.message, "inet_aton: bad IPv4 address 127.0.0.300");
});

/** The local port of a bound socket, read from /proc/net/udp{,6} by its inode. */
function boundPort(sock: UdpSocket | Udp6Socket): number {
  const inode = Deno.statSync(`/proc/self/fd/${sock.fd}`).ino;
  for (const table of ["/proc/net/udp", "/proc/net/udp6"]) {
    for (const line of Deno.readTextFileSync(table).split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && Number(cols[9]) === inode) {
        return parseInt(cols[1].split(":")[1], 16);
      }
    }
  }
  throw new Error(`socket fd ${sock.fd} (inode ${inode}) is in no /proc/net/udp table`);
}
