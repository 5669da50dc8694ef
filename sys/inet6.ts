/**
 * IPv6 datagram sockets through libc (Deno FFI), for the `ucast6` and `mcast6` media.
 *
 * The IPv6 twin of `sys/inet.ts`: Deno's UDP API offers neither SO_BINDTODEVICE nor the
 * IPV6_MULTICAST_* options Heartbeat's plugins set. A worker process owns one socket, waits for
 * it with poll(2) and takes datagrams with a non-blocking `recvfrom` (Heartbeat's read-child
 * model).
 *
 * Also the text forms: {@link parseIPv6} (inet_pton, with an optional `%scope` suffix) and
 * {@link formatIPv6} (glibc's inet_ntop, which Heartbeat uses for its log lines).
 *
 * Linux x86_64/aarch64 constants only (the platforms we ship).
 *
 * @module
 */

import {
  AF_INET6,
  DatagramSocket,
  intOpt,
  IPPROTO_IPV6,
  IPV6_JOIN_GROUP,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  lastSocketError as lastError,
  openDatagramFd,
  setSocketOption,
  SO_BINDTODEVICE,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_SNDBUF,
  SocketError,
  socketLibc as libc,
  SOL_SOCKET,
} from "./socket.ts";

export { SocketError };

/** sizeof(struct sockaddr_in6). */
const SOCKADDR_IN6_LEN = 28;

/** An IPv6 address: 16 bytes and the scope (`%eth0` or `%2`) written after it, if any. */
export interface IPv6Address {
  /** The address in network order. */
  bytes: Uint8Array<ArrayBuffer>;
  /** The text after `%`, when given. */
  scope?: string;
}

/**
 * Parses IPv6 text as inet_pton does (hex groups, one `::`, an IPv4 tail), with an optional
 * `%scope` suffix. Throws {@link SocketError} (EINVAL) on bad input.
 */
export function parseIPv6(text: string): IPv6Address {
  const bad = () => new SocketError("inet_pton", 22, `bad IPv6 address ${text}`);
  const pct = text.indexOf("%");
  const scope = pct >= 0 ? text.slice(pct + 1) : undefined;
  let s = pct >= 0 ? text.slice(0, pct) : text;
  if (scope === "") throw bad();
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(":");
  if (lastColon >= 0 && s.slice(lastColon + 1).includes(".")) {
    const parts = s.slice(lastColon + 1).split(".");
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
      throw bad();
    }
    tail = parts.map(Number);
    s = s.slice(0, lastColon + 1) + "0:0";
  }
  const halves = s.split("::");
  if (halves.length > 2) throw bad();
  const groups = (g: string): number[] => {
    if (g === "") return [];
    return g.split(":").map((h) => {
      if (!/^[0-9a-fA-F]{1,4}$/.test(h)) throw bad();
      return parseInt(h, 16);
    });
  };
  const a = groups(halves[0]);
  const b = halves.length === 2 ? groups(halves[1]) : [];
  let all: number[];
  if (halves.length === 2) {
    if (a.length + b.length > 7) throw bad();
    all = [...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b];
  } else {
    if (a.length !== 8) throw bad();
    all = a;
  }
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  if (tail.length) bytes.set(tail, 12);
  return scope === undefined ? { bytes } : { bytes, scope };
}

/**
 * Formats 16 bytes as glibc's inet_ntop does: lower-case hex without leading zeros, the
 * longest run (first of equals) of two or more zero groups as `::`, and a dotted IPv4 tail
 * for IPv4-compatible (`::a.b.c.d`, not `::` or `::1`) and IPv4-mapped (`::ffff:a.b.c.d`)
 * addresses.
 */
export function formatIPv6(bytes: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (bestLen < 2) best = -1;
  const v4tail = best === 0 &&
    (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff));
  const out: string[] = [];
  for (let i = 0; i < 8; i++) {
    if (best >= 0 && i >= best && i < best + bestLen) {
      if (i === best) out.push(i === 0 ? ":" : "");
      continue;
    }
    if (v4tail && i === 6) {
      out.push(`${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`);
      break;
    }
    out.push(g[i].toString(16));
  }
  let text = out.join(":");
  if (best >= 0 && best + bestLen === 8) text += ":";
  return text;
}

/** The canonical text (inet_ntop) of IPv6 text; a `%scope` suffix is dropped. */
export function canonicalIPv6(text: string): string {
  return formatIPv6(parseIPv6(text).bytes);
}

/** True for a link-local unicast address (fe80::/10), which needs a scope id. */
export function isLinkLocal(bytes: Uint8Array): boolean {
  return bytes[0] === 0xfe && (bytes[1] & 0xc0) === 0x80;
}

/** The kernel's index of interface `name` (if_nametoindex); 0 when there is none. */
export function interfaceIndex(name: string): number {
  return libc().if_nametoindex(new TextEncoder().encode(name + "\0"));
}

/**
 * Resolves a `%scope` suffix as getaddrinfo does: a number is the index itself, a name is
 * looked up (if_nametoindex). Throws {@link SocketError} when the interface is unknown.
 */
export function scopeIndex(scope: string): number {
  if (/^\d+$/.test(scope)) return Number(scope);
  const i = interfaceIndex(scope);
  if (i === 0) throw new SocketError("if_nametoindex", 19, `No such device: ${scope}`);
  return i;
}

function sockaddr6(addr: Uint8Array, port: number, scopeId = 0): Uint8Array<ArrayBuffer> {
  const sa = new Uint8Array(SOCKADDR_IN6_LEN);
  const v = new DataView(sa.buffer);
  v.setUint16(0, AF_INET6, true);
  v.setUint16(2, port, false);
  sa.set(addr.subarray(0, 16), 8);
  v.setUint32(24, scopeId, true);
  return sa;
}

/** Options for {@link Udp6Socket.open}; each is applied only when given. */
export interface Udp6Options {
  /** Local port to bind on `[::]` (no bind when undefined). */
  port?: number;
  /** Bind the socket to this network device (SO_BINDTODEVICE). */
  device?: string;
  /** SO_REUSEADDR. */
  reuseAddr?: boolean;
  /** SO_REUSEPORT. */
  reusePort?: boolean;
  /** SO_SNDBUF and SO_RCVBUF (bytes): Heartbeat's IPv6 plugins ask for 1 MiB. */
  buffers?: number;
  /** Outgoing multicast: interface (IPV6_MULTICAST_IF by name), hop limit, loopback. */
  multicastOut?: { ifname: string; hops: number; loop: boolean };
  /** Join this group on the interface (IPV6_JOIN_GROUP), after the bind. */
  join?: { group: Uint8Array; ifname: string };
}

/** A datagram taken by {@link Udp6Socket.receiveNow}. */
export interface Datagram6 {
  /** The payload. */
  bytes: Uint8Array;
  /** Sender address (inet_ntop text, without scope). */
  from: string;
  /** Sender port. */
  port: number;
}

/** One IPv6 UDP socket owned by the calling process. */
export class Udp6Socket extends DatagramSocket {
  private constructor(fd: number) {
    super(fd, SOCKADDR_IN6_LEN);
  }

  /** Opens and configures a socket; throws {@link SocketError} naming the failed step. */
  static open(opts: Udp6Options): Udp6Socket {
    const sock = new Udp6Socket(openDatagramFd(AF_INET6));
    const fd = sock.fd;
    return DatagramSocket.configured(sock, () => {
      const c = libc();
      const set = (level: number, opt: number, val: Uint8Array<ArrayBuffer>, name: string) =>
        setSocketOption(fd, level, opt, val, name);
      const ifindex = (name: string) => {
        const i = interfaceIndex(name);
        if (i === 0) throw lastError(`if_nametoindex(${name})`);
        return i;
      };
      if (opts.reuseAddr) set(SOL_SOCKET, SO_REUSEADDR, intOpt(1), "setsockopt(SO_REUSEADDR)");
      if (opts.buffers !== undefined) {
        // best effort, as in Heartbeat (capped by net.core.[rw]mem_max)
        c.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, intOpt(opts.buffers), 4);
        c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, intOpt(opts.buffers), 4);
      }
      if (opts.device) {
        const dev = new TextEncoder().encode(opts.device + "\0");
        set(SOL_SOCKET, SO_BINDTODEVICE, dev, "setsockopt(SO_BINDTODEVICE)");
      }
      if (opts.reusePort) set(SOL_SOCKET, SO_REUSEPORT, intOpt(1), "setsockopt(SO_REUSEPORT)");
      if (opts.multicastOut) {
        const m = opts.multicastOut;
        set(
          IPPROTO_IPV6,
          IPV6_MULTICAST_IF,
          intOpt(ifindex(m.ifname)),
          "setsockopt(IPV6_MULTICAST_IF)",
        );
        set(
          IPPROTO_IPV6,
          IPV6_MULTICAST_LOOP,
          intOpt(m.loop ? 1 : 0),
          "setsockopt(IPV6_MULTICAST_LOOP)",
        );
        set(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, intOpt(m.hops), "setsockopt(IPV6_MULTICAST_HOPS)");
      }
      if (opts.port !== undefined) {
        const sa = sockaddr6(new Uint8Array(16), opts.port);
        if (c.bind(fd, sa, sa.length) < 0) throw lastError("bind");
      }
      if (opts.join) {
        const mreq = new Uint8Array(20);
        mreq.set(opts.join.group.subarray(0, 16), 0);
        new DataView(mreq.buffer).setUint32(16, ifindex(opts.join.ifname), true);
        set(IPPROTO_IPV6, IPV6_JOIN_GROUP, mreq, "setsockopt(IPV6_JOIN_GROUP)");
      }
    });
  }

  /** Sends one datagram to `[addr%scopeId]:port`; throws {@link SocketError} on failure. */
  send(bytes: Uint8Array<ArrayBuffer>, addr: Uint8Array, port: number, scopeId = 0): void {
    this.sendTo(bytes, sockaddr6(addr, port, scopeId));
  }

  /**
   * Takes one datagram that is already queued, without waiting (MSG_DONTWAIT, on this
   * thread): `null` when none is queued, the socket is closed or the call failed.
   */
  receiveNow(): Datagram6 | null {
    const d = this.takeNow();
    if (d === null) return null;
    return { bytes: d.bytes, from: formatIPv6(d.from.subarray(8, 24)), port: d.port };
  }
}
