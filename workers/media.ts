/**
 * HBREAD and HBWRITE worker bodies for UDP media. They move bytes only:
 * a read worker forwards every datagram to the master as a packet frame (less
 * the own status echoes the master said it does not need: workers/echo_filter.ts),
 * a write worker sends every packet frame it gets from the master. Parsing,
 * authentication and all decisions stay in the master.
 *
 * @module
 */

import { UdpSocket } from "../sys/inet.ts";
import { POLLNVAL } from "../sys/socket.ts";
import { FdFrameReader } from "./channel.ts";
import { FdWaiter, READY } from "./fd_loop.ts";
import { WriteFailures } from "./write_failures.ts";
import { OwnEchoFilter } from "./echo_filter.ts";
import { canonicalIPv6, isLinkLocal, parseIPv6, scopeIndex, Udp6Socket } from "../sys/inet6.ts";
import { ucast6PeerText, type UdpSpec } from "./media_spec.ts";

/** What a worker body reports to the master. */
export interface WorkerPort {
  /** Forwards a received packet to the master. */
  packet(bytes: Uint8Array): void;
  /** Sends a control message to the master. */
  control(value: Record<string, unknown>): void;
  /** Logs a line (priority word, message). */
  log(prio: string, msg: string, glib?: boolean): void;
}

/** Socket buffer size Heartbeat's IPv6 plugins ask for (1 MiB). */
const IPV6_SOCKET_BUFFERS = 1024 * 1024;

/**
 * Opens the receiving socket of a medium, as Heartbeat's plugins do. The IPv6 readers bind
 * `[::]:port`; ucast6 binds to its device (SO_REUSEADDR, SO_REUSEPORT), mcast6 joins its
 * group on its interface (SO_REUSEADDR only, no device binding).
 */
export function openReader(m: UdpSpec): UdpSocket | Udp6Socket {
  switch (m.type) {
    case "bcast":
      return UdpSocket.open({ port: m.port, device: m.ifname, reuse: true, broadcast: true });
    case "ucast":
      return UdpSocket.open({ port: m.port, device: m.ifname, reuse: true });
    case "mcast":
      return UdpSocket.open({
        port: m.port,
        bindAddr: m.group,
        reuse: true,
        multicast: { group: m.group, ifaddr: m.ifaddr, ttl: m.ttl, loop: m.loop },
      });
    case "ucast6":
      return Udp6Socket.open({
        port: m.port,
        device: m.ifname,
        reuseAddr: true,
        reusePort: true,
        buffers: IPV6_SOCKET_BUFFERS,
      });
    case "mcast6":
      return Udp6Socket.open({
        port: m.port,
        reuseAddr: true,
        buffers: IPV6_SOCKET_BUFFERS,
        join: { group: parseIPv6(m.group).bytes, ifname: m.ifname },
      });
  }
}

/**
 * Opens the sending socket of a medium. ucast6 binds its send socket to the device; mcast6
 * sets the outgoing interface, loopback and hop limit.
 */
export function openWriter(m: UdpSpec): UdpSocket | Udp6Socket {
  switch (m.type) {
    case "bcast":
      return UdpSocket.open({ device: m.ifname, broadcast: true, reuse: true });
    case "ucast":
      return UdpSocket.open({ device: m.ifname, reuse: true, lowDelay: true });
    case "mcast":
      return UdpSocket.open({
        device: m.ifname,
        reuse: true,
        multicast: { group: m.group, ifaddr: m.ifaddr, ttl: m.ttl, loop: m.loop },
      });
    case "ucast6":
      return Udp6Socket.open({ device: m.ifname, buffers: IPV6_SOCKET_BUFFERS });
    case "mcast6":
      return Udp6Socket.open({
        buffers: IPV6_SOCKET_BUFFERS,
        multicastOut: { ifname: m.ifname, hops: m.hops, loop: m.loop },
      });
  }
}

/** Where a writer sends, and how its plugin names the destination in a write error. */
interface Destination {
  /** Sends one datagram there. */
  send(bytes: Uint8Array<ArrayBuffer>): void;
  /** `eth0 198.18.0.2:694` (IPv4) or `eth0[fd00::2]:694` (IPv6), as the plugins log it. */
  label: string;
}

function destination(m: UdpSpec, sock: UdpSocket | Udp6Socket): Destination {
  if (m.type === "ucast6" || m.type === "mcast6") {
    const s = sock as Udp6Socket;
    const a = parseIPv6(m.type === "ucast6" ? m.peer : m.group);
    // the scope of a link-local peer is the medium's interface (or the `%IF` written)
    const scope = m.type === "ucast6" && isLinkLocal(a.bytes) ? scopeIndex(a.scope ?? m.ifname) : 0;
    const text = m.type === "ucast6" ? ucast6PeerText(m) : canonicalIPv6(m.group);
    return {
      send: (b) => s.send(b, a.bytes, m.port, scope),
      label: `${m.ifname}[${text}]:${m.port}`,
    };
  }
  const s = sock as UdpSocket;
  const addr = m.type === "bcast" ? m.broadcast : m.type === "ucast" ? m.peer : m.group;
  return { send: (b) => s.send(b, addr, m.port), label: `${m.ifname} ${addr}:${m.port}` };
}

/** Datagrams a reader takes in one go before it looks at its other descriptor again. */
const DRAIN_MAX = 64;

/** The worker's stdin: the master's end of the channel. */
const STDIN = 0;

/**
 * Runs a read worker until the socket fails or the master goes away; resolves when it stops.
 * It waits on its own JS thread ({@link FdWaiter}) for the socket and for its stdin, which
 * carries only the master's notices (`onControl`); its end means the master is gone. The
 * master's `echo-filter` notice sets which of our own status echoes it needs
 * ({@link OwnEchoFilter}); until then every datagram goes to the master.
 */
export async function runReader(
  m: UdpSpec,
  port: WorkerPort,
  onControl: (value: unknown) => void = () => {},
): Promise<void> {
  const sock = openReader(m);
  port.control({ t: "ready" });
  const waiter = new FdWaiter([sock.fd, STDIN]);
  const channel = new FdFrameReader(STDIN, 4096);
  let echoes: OwnEchoFilter | undefined;
  try {
    while (true) {
      const [onSocket, onStdin] = await waiter.next();
      if (onSocket & POLLNVAL) return;
      if (onSocket & READY) {
        for (let i = 0; i < DRAIN_MAX; i++) {
          const d = sock.receiveNow();
          if (!d) break;
          if (echoes === undefined || echoes.pass(d.bytes)) port.packet(d.bytes);
        }
      }
      if (onStdin & READY) {
        // the master's notices; the end of the channel means the master is gone
        const frames = channel.read();
        if (frames === null) return;
        for (const f of frames) {
          if (f.kind !== "control") continue;
          const filter = OwnEchoFilter.fromControl(f.value);
          if (filter !== undefined) echoes = filter;
          else onControl(f.value);
        }
      }
    }
  } finally {
    sock.close();
  }
}

/**
 * Feeds `writer` every packet frame the master writes to our stdin until the master closes it,
 * waiting on the JS thread ({@link FdWaiter}). Throws on a corrupt channel.
 */
export async function runWriterLoop(
  writer: { send(b: Uint8Array): void },
  onControl: (value: unknown) => void = () => {},
): Promise<void> {
  const waiter = new FdWaiter([STDIN]);
  const channel = new FdFrameReader(STDIN);
  while (true) {
    await waiter.next();
    const frames = channel.read();
    if (frames === null) return;
    for (const f of frames) {
      if (f.kind === "packet") writer.send(f.bytes);
      else onControl(f.value);
    }
  }
}

/**
 * A write worker body: call `send` for every packet frame from the master.
 * Write errors are logged as Heartbeat logs them, suppressed after 10 in a row.
 */
export class Writer {
  #sock: UdpSocket | Udp6Socket;
  #dest: Destination;
  #m: UdpSpec;
  #port: WorkerPort;
  readonly #failures: WriteFailures;

  /** Opens the medium's sending socket. */
  constructor(m: UdpSpec, port: WorkerPort) {
    this.#m = m;
    this.#port = port;
    this.#failures = new WriteFailures(port, `${m.type} ${m.ifname}`);
    this.#sock = openWriter(m);
    try {
      this.#dest = destination(m, this.#sock);
    } catch (e) {
      this.#sock.close();
      throw e;
    }
  }

  /** Sends one packet to the medium's destination. */
  send(bytes: Uint8Array): void {
    try {
      this.#dest.send(bytes as Uint8Array<ArrayBuffer>);
      this.#failures.succeeded();
    } catch (e) {
      this.#failures.failed(
        e,
        (text) =>
          `${this.#m.type}_write: Unable to send HBcomm packet ${this.#dest.label} len=${bytes.length} [-1]: ${text}`,
      );
    }
  }

  /** Closes the socket. */
  close(): void {
    this.#sock.close();
  }
}
