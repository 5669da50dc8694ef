/**
 * IPv4 datagram sockets through libc (Deno FFI).
 *
 * Deno's own UDP API is unstable and offers neither SO_BINDTODEVICE nor
 * SO_BROADCAST control, which Heartbeat's media rely on (a bcast medium is
 * bound to its interface; ucast sockets bind to the device too). Worker
 * processes own one socket each and wait for it with poll(2) on their JS
 * thread (`workers/fd_loop.ts`), then take datagrams with a non-blocking
 * `recvfrom`: Heartbeat's read-child model.
 *
 * Linux x86_64/aarch64 constants only (the platforms we ship).
 *
 * @module
 */

import {
  AF_INET,
  DatagramSocket,
  intOpt,
  IP_ADD_MEMBERSHIP,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_TOS,
  IPPROTO_IP,
  IPTOS_LOWDELAY,
  lastSocketError as lastError,
  openDatagramFd,
  setSocketOption,
  SO_BINDTODEVICE,
  SO_BROADCAST,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SocketError,
  socketLibc as libc,
  SOL_SOCKET,
} from "./socket.ts";

export { SocketError };

/** Parses dotted IPv4 text into 4 bytes; throws on bad input. */
export function parseIPv4(addr: string): Uint8Array {
  const parts = addr.split(".");
  if (parts.length !== 4) throw new SocketError("inet_aton", 22, `bad IPv4 address ${addr}`);
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i])) {
      throw new SocketError("inet_aton", 22, `bad IPv4 address ${addr}`);
    }
    const n = Number(parts[i]);
    if (n > 255) throw new SocketError("inet_aton", 22, `bad IPv4 address ${addr}`);
    out[i] = n;
  }
  return out;
}

function sockaddr(addr: string, port: number): Uint8Array<ArrayBuffer> {
  const sa = new Uint8Array(16);
  const v = new DataView(sa.buffer);
  v.setUint16(0, AF_INET, true);
  v.setUint16(2, port, false);
  sa.set(parseIPv4(addr), 4);
  return sa;
}

/** Options for {@link openUdp}. */
export interface UdpOptions {
  /** Local address to bind (default 0.0.0.0). */
  bindAddr?: string;
  /** Local port to bind (0 = ephemeral, no bind when undefined). */
  port?: number;
  /** Bind the socket to this network device (SO_BINDTODEVICE). */
  device?: string;
  /** Allow sending to broadcast addresses. */
  broadcast?: boolean;
  /** SO_REUSEADDR and SO_REUSEPORT, so several media can share a port. */
  reuse?: boolean;
  /** IP_TOS low delay, as Heartbeat's ucast writer sets. */
  lowDelay?: boolean;
  /** Multicast: join `group` on the interface whose address is `ifaddr`. */
  multicast?: { group: string; ifaddr: string; ttl: number; loop: boolean };
}

/** A datagram taken by {@link UdpSocket.receiveNow}. */
export interface Datagram {
  /** The payload. */
  bytes: Uint8Array;
  /** Sender address (dotted IPv4). */
  from: string;
  /** Sender port. */
  port: number;
}

/** One IPv4 UDP socket owned by the calling process. */
export class UdpSocket extends DatagramSocket {
  private constructor(fd: number) {
    super(fd, 16);
  }

  /** Opens and configures a socket; throws {@link SocketError} naming the failed step. */
  static open(opts: UdpOptions): UdpSocket {
    const sock = new UdpSocket(openDatagramFd(AF_INET));
    const fd = sock.fd;
    return DatagramSocket.configured(sock, () => {
      const set = (level: number, opt: number, val: Uint8Array<ArrayBuffer>, name: string) =>
        setSocketOption(fd, level, opt, val, name);
      if (opts.reuse) {
        set(SOL_SOCKET, SO_REUSEADDR, intOpt(1), "setsockopt(SO_REUSEADDR)");
        set(SOL_SOCKET, SO_REUSEPORT, intOpt(1), "setsockopt(SO_REUSEPORT)");
      }
      if (opts.broadcast) set(SOL_SOCKET, SO_BROADCAST, intOpt(1), "setsockopt(SO_BROADCAST)");
      if (opts.lowDelay) set(IPPROTO_IP, IP_TOS, intOpt(IPTOS_LOWDELAY), "setsockopt(IP_TOS)");
      if (opts.device) {
        const dev = new TextEncoder().encode(opts.device + "\0");
        set(SOL_SOCKET, SO_BINDTODEVICE, dev, "setsockopt(SO_BINDTODEVICE)");
      }
      if (opts.multicast) {
        const m = opts.multicast;
        const mreq = new Uint8Array(8);
        mreq.set(parseIPv4(m.group), 0);
        mreq.set(parseIPv4(m.ifaddr), 4);
        set(
          IPPROTO_IP,
          IP_MULTICAST_IF,
          parseIPv4(m.ifaddr).slice(),
          "setsockopt(IP_MULTICAST_IF)",
        );
        set(IPPROTO_IP, IP_MULTICAST_TTL, intOpt(m.ttl), "setsockopt(IP_MULTICAST_TTL)");
        set(IPPROTO_IP, IP_MULTICAST_LOOP, intOpt(m.loop ? 1 : 0), "setsockopt(IP_MULTICAST_LOOP)");
        if (opts.port !== undefined) {
          set(IPPROTO_IP, IP_ADD_MEMBERSHIP, mreq, "setsockopt(IP_ADD_MEMBERSHIP)");
        }
      }
      if (opts.port !== undefined) {
        const sa = sockaddr(opts.bindAddr ?? "0.0.0.0", opts.port);
        if (libc().bind(fd, sa, sa.length) < 0) throw lastError("bind");
      }
    });
  }

  /** Sends one datagram; throws {@link SocketError} on failure. */
  send(bytes: Uint8Array<ArrayBuffer>, addr: string, port: number): void {
    this.sendTo(bytes, sockaddr(addr, port));
  }

  /**
   * Takes one datagram that is already queued, without waiting (MSG_DONTWAIT, on this
   * thread): `null` when none is queued, the socket is closed or the call failed.
   */
  receiveNow(): Datagram | null {
    const d = this.takeNow();
    if (d === null) return null;
    const a = d.from;
    return { bytes: d.bytes, from: `${a[4]}.${a[5]}.${a[6]}.${a[7]}`, port: d.port };
  }
}
