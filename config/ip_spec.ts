/**
 * The IP resource spec of haresources (spec config-and-cli §3.3), split the way Heartbeat's
 * `resource.d/IPaddr` and `IPaddr2` wrappers do:
 *
 * | spec | meaning |
 * |---|---|
 * | `a.b.c.d` | address; the rest comes from the routing table |
 * | `a.b.c.d/bits` | with prefix length |
 * | `a.b.c.d/bits/IF` | with interface (`IF:label` gives a label, IPaddr2) |
 * | `a.b.c.d/bits/IF/BCAST` | with interface and broadcast |
 * | `a.b.c.d/bits/BCAST` | a third field starting with a digit is the broadcast |
 *
 * Pure; no I/O.
 *
 * @module
 */

/** An IP spec split into its parts; absent parts are to be calculated. */
export interface IpSpec {
  /** The address, `a.b.c.d`. */
  ip: string;
  /** The netmask field as written (`24` or `255.255.255.0`). */
  netmask?: string;
  /** Interface name without label (`eth0`). */
  nic?: string;
  /** `IF:label` when the interface field had a label. */
  label?: string;
  /** Broadcast address as written. */
  broadcast?: string;
}

/** True for a dotted-quad IPv4 address. */
export function isIpv4(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  return m !== null && m.slice(1).every((x) => Number(x) <= 255);
}

/** IPv4 text to a 32-bit unsigned number. */
export function ipToInt(ip: string): number {
  return ip.split(".").reduce((n, o) => ((n << 8) | Number(o)) >>> 0, 0);
}

/** 32-bit unsigned number to IPv4 text. */
export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Netmask of a prefix length: 24 → `255.255.255.0`. */
export function bitsToMask(bits: number): string {
  return intToIp(bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);
}

/** Broadcast of `ip/bits`: host part all ones (`198.18.77.255` for /24). */
export function broadcastOf(ip: string, bits: number): string {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return intToIp(((ipToInt(ip) & mask) | (~mask >>> 0)) >>> 0);
}

/**
 * Prefix length of a netmask field: `24` → 24, `255.255.255.0` → 24; null when it is neither
 * a number 0–32 nor a contiguous dotted mask.
 */
export function netmaskBits(netmask: string): number | null {
  if (/^\d{1,2}$/.test(netmask)) {
    const n = Number(netmask);
    return n <= 32 ? n : null;
  }
  if (!isIpv4(netmask)) return null;
  const v = ipToInt(netmask);
  const bits = 32 - Math.log2((~v >>> 0) + 1);
  return Number.isInteger(bits) ? bits : null;
}

/**
 * Splits an IP spec like the wrappers (`/`-separated fields; a third field starting with a
 * digit is the broadcast). Returns null when the address is not dotted-quad IPv4. Netmask and
 * broadcast are returned as written; {@link netmaskBits} and {@link isIpv4} validate them.
 */
export function parseIpSpec(spec: string): IpSpec | null {
  const fields = spec.split("/");
  const ip = fields[0];
  if (!isIpv4(ip)) return null;
  const out: IpSpec = { ip };
  if (fields.length > 1 && fields[1] !== "") out.netmask = fields[1];
  const third = fields[2];
  if (third !== undefined && third !== "") {
    if (/^[0-9]/.test(third)) {
      out.broadcast = third;
    } else {
      const colon = third.indexOf(":");
      if (colon >= 0) {
        out.nic = third.slice(0, colon);
        out.label = third;
      } else {
        out.nic = third;
      }
      const b = fields[3];
      if (b !== undefined && b !== "") out.broadcast = b;
    }
  }
  return out;
}
