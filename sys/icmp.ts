/**
 * ICMP echo over a raw IPv4 socket (Deno FFI), as Heartbeat's `ping` and
 * `ping_group` media use it (wire.md §7.6).
 *
 * Packet layout of an echo request: type 8, code 0, the RFC 1071 checksum
 * (network order), the identifier, the sequence number (network order),
 * then the payload. Heartbeat stores the identifier — the master's pid — in
 * *host* byte order, so on little-endian machines the bytes on the wire are
 * swapped; {@link identBytes} reproduces that.
 *
 * A raw socket receives every ICMP packet for the host with its IP header;
 * {@link parseIcmp} strips the header. {@link IcmpSocket.open} installs an
 * ICMP_FILTER so that only echo replies reach the reader.
 *
 * Linux only; opening the socket needs CAP_NET_RAW.
 *
 * @module
 */

import { parseIPv4 } from "./inet.ts";
import {
  AF_INET,
  lastSocketError as lastError,
  SOCK_CLOEXEC,
  SOCK_RAW,
  socketLibc as libc,
} from "./socket.ts";

const IPPROTO_ICMP = 1;
const SOL_RAW = 255;
const ICMP_FILTER = 1;

/** ICMP type of an echo reply. */
export const ICMP_ECHO_REPLY = 0;
/** ICMP type of an echo request. */
export const ICMP_ECHO_REQUEST = 8;
/** Size of the ICMP echo header. */
export const ICMP_HEADER_SIZE = 8;

/** The Internet checksum (RFC 1071) of `bytes`: ones' complement of the ones' complement sum. */
export function icmpChecksum(bytes: Uint8Array): number {
  let sum = 0;
  const n = bytes.length & ~1;
  for (let i = 0; i < n; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) sum += bytes[bytes.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The two identifier bytes Heartbeat puts on the wire for `pid`: the low 16
 * bits stored in host byte order (`[lo, hi]` on little-endian hosts).
 */
export function identBytes(pid: number, littleEndian: boolean = LITTLE_ENDIAN): [number, number] {
  const lo = pid & 0xff, hi = (pid >>> 8) & 0xff;
  return littleEndian ? [lo, hi] : [hi, lo];
}

/** Builds an echo request: header with checksum, identifier bytes, sequence, then `payload`. */
export function buildEchoRequest(
  ident: readonly [number, number],
  seq: number,
  payload: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const pkt = new Uint8Array(ICMP_HEADER_SIZE + payload.length);
  pkt[0] = ICMP_ECHO_REQUEST;
  pkt[1] = 0;
  pkt[4] = ident[0];
  pkt[5] = ident[1];
  pkt[6] = (seq >>> 8) & 0xff;
  pkt[7] = seq & 0xff;
  pkt.set(payload, ICMP_HEADER_SIZE);
  const sum = icmpChecksum(pkt);
  pkt[2] = sum >>> 8;
  pkt[3] = sum & 0xff;
  return pkt;
}

/** An ICMP message as {@link parseIcmp} found it. */
export interface IcmpMessage {
  /** ICMP type. */
  type: number;
  /** ICMP code. */
  code: number;
  /** The two identifier bytes as on the wire. */
  ident: [number, number];
  /** Sequence number (network order decoded). */
  seq: number;
  /** Everything after the 8-byte header. */
  payload: Uint8Array;
  /** True when the checksum over the ICMP message is correct. */
  checksumOk: boolean;
}

/**
 * Parses an ICMP echo message; `withIpHeader` says whether `bytes` starts
 * with the IPv4 header (what a raw socket delivers). Returns null when too
 * short or not IPv4.
 */
export function parseIcmp(bytes: Uint8Array, withIpHeader = true): IcmpMessage | null {
  let off = 0;
  if (withIpHeader) {
    if (bytes.length < 20 || bytes[0] >> 4 !== 4) return null;
    off = (bytes[0] & 0x0f) * 4;
  }
  if (bytes.length < off + ICMP_HEADER_SIZE) return null;
  const icmp = bytes.subarray(off);
  return {
    type: icmp[0],
    code: icmp[1],
    ident: [icmp[4], icmp[5]],
    seq: (icmp[6] << 8) | icmp[7],
    payload: icmp.slice(ICMP_HEADER_SIZE),
    checksumOk: icmpChecksum(icmp) === 0,
  };
}

/** A received ICMP packet and its sender. */
export interface IcmpPacket {
  /** The whole IP datagram as the raw socket delivered it. */
  bytes: Uint8Array;
  /** Sender IPv4 address, dotted. */
  from: string;
}

/** A raw ICMP socket owned by the calling process. */
export class IcmpSocket {
  /** The file descriptor. */
  readonly fd: number;
  #closed = false;
  #buf = new Uint8Array(65536);
  #from = new Uint8Array(16);
  #fromLen = new Uint8Array(4);

  private constructor(fd: number) {
    this.fd = fd;
  }

  /**
   * Opens a raw ICMP socket. With `echoRepliesOnly` an ICMP_FILTER lets only
   * echo replies through. Throws a `SocketError` (EPERM without CAP_NET_RAW).
   */
  static open(opts: { echoRepliesOnly?: boolean } = {}): IcmpSocket {
    const c = libc();
    const fd = c.socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0) throw lastError("socket(SOCK_RAW, IPPROTO_ICMP)");
    const sock = new IcmpSocket(fd);
    if (opts.echoRepliesOnly) {
      // the filter is a bit mask of ICMP types to *drop*
      const mask = new Uint8Array(4);
      new DataView(mask.buffer).setUint32(0, ~(1 << ICMP_ECHO_REPLY) >>> 0, true);
      if (c.setsockopt(fd, SOL_RAW, ICMP_FILTER, mask, 4) < 0) {
        const e = lastError("setsockopt(ICMP_FILTER)");
        sock.close();
        throw e;
      }
    }
    return sock;
  }

  /** Sends one ICMP message (header included) to `addr`; throws a `SocketError`. */
  send(packet: Uint8Array<ArrayBuffer>, addr: string): void {
    const sa = new Uint8Array(16);
    new DataView(sa.buffer).setUint16(0, AF_INET, true);
    sa.set(parseIPv4(addr), 4);
    const n = libc().sendto(this.fd, packet, BigInt(packet.length), 0, sa, sa.length);
    if (Number(n) < 0) throw lastError("sendto");
  }

  /**
   * Waits for one packet (blocking recvfrom on a helper thread). Resolves
   * null when the socket was closed or the call failed.
   */
  async receive(): Promise<IcmpPacket | null> {
    if (this.#closed) return null;
    new DataView(this.#fromLen.buffer).setUint32(0, 16, true);
    const n = Number(
      await libc().recvfrom(
        this.fd,
        this.#buf,
        BigInt(this.#buf.length),
        0,
        this.#from,
        this.#fromLen,
      ),
    );
    if (n < 0 || this.#closed) return null;
    const from = `${this.#from[4]}.${this.#from[5]}.${this.#from[6]}.${this.#from[7]}`;
    return { bytes: this.#buf.slice(0, n), from };
  }

  /** Closes the socket (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    libc().close(this.fd);
  }
}
