/**
 * Heartbeat communication media (HBcomm plugins shipped by Debian: bcast,
 * mcast, mcast6, ucast, ucast6, serial, ping, ping6, ping_group) and their
 * parse-time checks, with the exact messages the plugins log.
 *
 * @module
 */
import type { Reporter } from "./reporter.ts";
import type { SystemView } from "./system_view.ts";
import { atoi, inetAton, inetPton4, inetPton6, toUChar, toUShort } from "./values.ts";

/** UDP broadcast medium (`bcast IF`). */
export interface BcastMedium {
  /** Medium type. */
  type: "bcast";
  /** Interface name. */
  ifname: string;
  /** UDP port (latched at the first bcast medium). */
  port: number;
  /** Link name shown in messages and `cl_status listhblinks`. */
  linkName: string;
}
/** UDP multicast medium (`mcast IF GROUP PORT TTL LOOP`). */
export interface McastMedium {
  /** Medium type. */
  type: "mcast";
  /** Interface name. */
  ifname: string;
  /** Multicast group (as written). */
  group: string;
  /** Port after 16-bit truncation. */
  port: number;
  /** TTL (0–4). */
  ttl: number;
  /** Loopback flag (0/1). */
  loop: number;
  /** Link name. */
  linkName: string;
}
/** UDP unicast medium (`ucast IF PEER`). */
export interface UcastMedium {
  /** Medium type. */
  type: "ucast";
  /** Interface name (not checked at parse time). */
  ifname: string;
  /** Peer as written. */
  peer: string;
  /** Peer address resolved at parse time. */
  peerAddress: string;
  /** UDP port (latched at the first ucast medium). */
  port: number;
  /** Link name. */
  linkName: string;
}
/** IPv6 multicast medium. */
export interface Mcast6Medium {
  /** Medium type. */
  type: "mcast6";
  /** Interface name. */
  ifname: string;
  /** Group address. */
  group: string;
  /** Port or service, as written. */
  port: string;
  /** Hops (0–4). */
  hops: number;
  /** Loop flag. */
  loop: number;
  /** Link name. */
  linkName: string;
}
/** IPv6 unicast medium. */
export interface Ucast6Medium {
  /** Medium type. */
  type: "ucast6";
  /** Interface name. */
  ifname: string;
  /** Peer address (may carry `%IF`). */
  peer: string;
  /** UDP port (latched at the first ucast6 medium). */
  port: number;
  /** Link name. */
  linkName: string;
}
/** Serial ring medium. */
export interface SerialMedium {
  /** Medium type. */
  type: "serial";
  /** Device path. */
  device: string;
  /** Baud rate (latched at the first serial medium). */
  baud: number;
  /** Link name. */
  linkName: string;
}
/** Ping node (`ping ADDR`). */
export interface PingMedium {
  /** Medium type. */
  type: "ping" | "ping6";
  /** Host as written (also the ping node's name, lower-cased). */
  host: string;
  /** Address it resolved to (IPv4 for ping). */
  address?: string;
  /** Link name. */
  linkName: string;
}
/** Ping group (`ping_group NAME ADDR…`). */
export interface PingGroupMedium {
  /** Medium type. */
  type: "ping_group";
  /** Group name (the ping node's name). */
  group: string;
  /** Member hosts that resolved. */
  hosts: string[];
  /** Link name. */
  linkName: string;
}

/** A communication medium. */
export type Medium =
  | BcastMedium
  | McastMedium
  | UcastMedium
  | Mcast6Medium
  | Ucast6Medium
  | SerialMedium
  | PingMedium
  | PingGroupMedium;

/** Plugin description strings (`Illegal <type> [<descr>]`, `-v` channel headers). */
export const MEDIA_DESCRIPTIONS: Record<Medium["type"], string> = {
  bcast: "UDP/IP broadcast",
  mcast: "UDP/IP multicast",
  mcast6: "UDP/IP multicast",
  ucast: "UDP/IP unicast",
  ucast6: "UDP/IPv6 unicast",
  serial: "serial ring",
  ping: "ping membership",
  ping6: "ping6 membership",
  ping_group: "ping group membership",
};

/** State shared by media parsers across the file. */
export interface MediaContext {
  /** Environment. */
  sys: SystemView;
  /** Diagnostics sink. */
  rep: Reporter;
  /** Recorded parameters so far (udpport, baud). */
  params: Map<string, string>;
  /** Ports latched by the bcast/ucast/ucast6 plugins at their first medium. */
  latched: { bcast?: number; ucast?: number; ucast6?: number; baud?: number };
  /** Adds a ping node; false when the node table is full. */
  addPingNode(name: string): boolean;
}

const WS = /[ \t\n\r\f]+/;

function defaultUdpPort(ctx: MediaContext): number {
  const p = ctx.params.get("udpport");
  if (p !== undefined) {
    const n = atoi(p);
    if (n > 0) return n;
  }
  return ctx.sys.serviceByName("ha-cluster", "udp") ?? 694;
}

/** Kernel view of `ioctl(SIOCGIF*ADDR)` on a name: ENODEV, EADDRNOTAVAIL or the address. */
function ifAddr(sys: SystemView, name: string): { err?: string; broadcast?: string } {
  const dev = name.includes(":") ? name.slice(0, name.indexOf(":")) : name;
  const iface = sys.interfaces().find((i) => i.name === dev);
  if (!iface) return { err: "No such device" };
  const a = iface.ipv4.find((x) => x.label === name) ?? (name === dev ? iface.ipv4[0] : undefined);
  if (!a) return { err: "Cannot assign requested address" };
  return { broadcast: a.broadcast ?? "0.0.0.0" };
}

function glib(s: string): string {
  return `glib: ${s}`;
}

/** Allowed-value descriptions used in explanations. */
const ALLOWED = {
  bcast: "names of interfaces that have an IPv4 address (e.g. bcast eth0)",
  mcast:
    "mcast IF GROUP PORT TTL LOOP with GROUP in 224.0.0.0/4, PORT 1-65535, TTL 0-4, LOOP 0 or 1",
  ucast: "ucast IF PEER where PEER is an IPv4 address or a resolvable host name",
  mcast6: "mcast6 IF GROUP PORT HOPS LOOP with an IPv6 multicast GROUP, HOPS 0-4, LOOP 0 or 1",
  ucast6: "ucast6 IF ADDR with a unicast IPv6 address (optionally %IF)",
  serial: "absolute paths of existing character devices (e.g. /dev/ttyS0)",
  ping: "IPv4 addresses or resolvable host names",
  ping6: "IPv6 addresses",
  ping_group: "ping_group NAME ADDR [ADDR...]",
};

/** Creates one per-token medium (`bcast`, `ping`, `ping6`, `serial`); undefined on failure (messages emitted). */
export function newTokenMedium(type: string, value: string, ctx: MediaContext): Medium | undefined {
  const { rep, sys } = ctx;
  const illegal = (t: Medium["type"]) =>
    rep.emit(
      "ERROR",
      `Illegal ${t} [${MEDIA_DESCRIPTIONS[t]}] in config file [${value}]`,
      `medium ${t} ${value} rejected`,
      ALLOWED[t as keyof typeof ALLOWED],
    );
  if (type === "bcast") {
    if (ctx.latched.bcast === undefined) ctx.latched.bcast = defaultUdpPort(ctx);
    const r = ifAddr(sys, value);
    if (r.err) {
      rep.emit(
        "ERROR",
        [
          glib(`Get broadcast for interface ${value} failed: ${r.err}`),
          glib(`IP interface [${value}] does not exist`),
        ],
        r.err === "No such device"
          ? `interface ${value} does not exist`
          : `interface ${value} has no IPv4 address`,
        ALLOWED.bcast,
      );
      illegal("bcast");
      return undefined;
    }
    return { type: "bcast", ifname: value, port: ctx.latched.bcast, linkName: value };
  }
  if (type === "serial") {
    if (ctx.latched.baud === undefined) {
      const b = atoi(ctx.params.get("baud") ?? "");
      ctx.latched.baud = [9600, 19200, 38400, 57600, 115200, 230400, 460800].includes(b)
        ? b
        : 19200;
    }
    let msg: string | undefined;
    let what = "";
    const st = value.startsWith("/") ? sys.stat(value) : undefined;
    if (!value.startsWith("/")) {
      msg = `Serial port not full pathname [${value}] in config file`;
      what = `serial device ${value} is not an absolute path`;
    } else if (!st) {
      msg = `Nonexistent serial port [${value}] in config file`;
      what = `serial device ${value} does not exist`;
    } else if (!st.isCharDevice) {
      msg = `Serial port [${value}] not a char device in config file`;
      what = `${value} is not a character device`;
    }
    if (msg) {
      rep.emit("ERROR", glib(msg), what, ALLOWED.serial);
      illegal("serial");
      return undefined;
    }
    return { type: "serial", device: value, baud: ctx.latched.baud, linkName: value };
  }
  if (type === "ping" || type === "ping6") {
    let address: string | undefined;
    if (type === "ping") {
      address = inetPton4(value) ? value : sys.resolveHostV4(value);
      if (!address) {
        // strerror(errno) after a failed gethostbyname; observed text on Debian.
        rep.emit(
          "ERROR",
          glib(`unknown host: ${value}: Resource temporarily unavailable`),
          `ping host ${value} does not resolve`,
          ALLOWED.ping,
        );
        illegal("ping");
        return undefined;
      }
    } else if (!inetPton6(value)) {
      illegal("ping6");
      return undefined;
    }
    if (!ctx.addPingNode(value)) {
      illegal(type);
      return undefined;
    }
    return { type, host: value, address, linkName: value };
  }
  return undefined;
}

function tokens(line: string): string[] {
  return line.split(WS).filter((t) => t !== "");
}

/**
 * Parses a whole-line medium (`mcast`, `mcast6`, `ucast`, `ucast6`,
 * `ping_group`). Returns the medium, `null` when the plugin accepted the line
 * without creating a medium (Heartbeat 3.0.6 then crashes with SIGSEGV), or
 * undefined on failure.
 */
export function parseLineMedium(
  type: string,
  line: string,
  ctx: MediaContext,
): Medium | null | undefined {
  const { rep, sys } = ctx;
  const t = tokens(line);
  if (type === "mcast") {
    const dev = t[0];
    if (dev === undefined) return null;
    const a = ifAddr(sys, dev);
    if (a.err) {
      rep.emit(
        "ERROR",
        [
          glib(
            `Unable to retrieve local interface address for interface [${dev}] using ioctl(SIOCGIFADDR): ${a.err}`,
          ),
          glib(`mcast device [${dev}] is invalid or not set up properly`),
        ],
        a.err === "No such device"
          ? `interface ${dev} does not exist`
          : `interface ${dev} has no IPv4 address (Heartbeat retries for 120 s first)`,
        ALLOWED.mcast,
      );
      return undefined;
    }
    const group = t[1];
    if (group === undefined) {
      rep.emit(
        "ERROR",
        glib(`mcast [${dev}] missing mcast address`),
        "missing multicast group",
        ALLOWED.mcast,
      );
      return undefined;
    }
    const g = inetAton(group);
    if (g === undefined || (g & 0xf0000000) >>> 0 !== 0xe0000000) {
      rep.emit(
        "ERROR",
        glib(`mcast [${dev}] bad addr [${group}]`),
        `${group} is not a multicast address`,
        ALLOWED.mcast,
      );
      return undefined;
    }
    if (t[2] === undefined) {
      rep.emit("ERROR", glib(`mcast [${dev}] missing port`), "missing port", ALLOWED.mcast);
      return undefined;
    }
    const port = toUShort(atoi(t[2]));
    if (port <= 0) {
      rep.emit(
        "ERROR",
        glib(` mcast [${dev}] bad port [${port}]`),
        `bad port ${t[2]} (taken modulo 65536: ${port})`,
        ALLOWED.mcast,
      );
      return undefined;
    }
    const ttl = mcastByte(rep, "mcast", dev, "ttl", t[3], 4);
    if (ttl === undefined) return undefined;
    const loop = mcastByte(rep, "mcast", dev, "loop", t[4], 1);
    if (loop === undefined) return undefined;
    if (!inetPton4(group)) {
      // inet_addr accepted a short form but inet_pton does not.
      rep.emit(
        "WARN",
        glib(`Error creating mcast_private(${dev}, ${group}, ${port}, ${ttl}, ${loop})`),
        `group ${group} must be a full dotted quad`,
        ALLOWED.mcast,
        { fatal: true },
      );
      return undefined;
    }
    return { type: "mcast", ifname: dev, group, port, ttl, loop, linkName: dev };
  }
  if (type === "ucast") {
    const dev = t[0];
    if (dev === undefined) return null;
    if (ctx.latched.ucast === undefined) ctx.latched.ucast = defaultUdpPort(ctx);
    const peer = t[1];
    if (peer === undefined) {
      rep.emit(
        "ERROR",
        glib(`ucast: [${dev}] missing target IP address/hostname`),
        "missing peer address",
        ALLOWED.ucast,
      );
      return undefined;
    }
    const addr = inetAton(peer) !== undefined && /^[0-9]/.test(peer)
      ? numericV4(peer)
      : sys.resolveHostV4(peer);
    if (!addr) {
      rep.emit(
        "ERROR",
        [glib("ucast: cannot resolve hostname"), glib(`ucast: interface [${dev}] does not exist`)],
        `peer ${peer} does not resolve`,
        ALLOWED.ucast,
      );
      return undefined;
    }
    return {
      type: "ucast",
      ifname: dev,
      peer,
      peerAddress: addr,
      port: ctx.latched.ucast,
      linkName: dev,
    };
  }
  if (type === "mcast6" || type === "ucast6") {
    const dev = t[0];
    const allowed = ALLOWED[type];
    if (dev === undefined) {
      rep.emit("ERROR", glib(`${type} statement without device`), "missing interface", allowed);
      return undefined;
    }
    if (!sys.interfaces().some((i) => i.name === dev)) {
      rep.emit(
        "ERROR",
        glib(`${type} device [${dev}] is invalid or not set up properly`),
        `interface ${dev} does not exist`,
        allowed,
      );
      return undefined;
    }
    const addr = t[1];
    if (addr === undefined) {
      rep.emit(
        "ERROR",
        glib(`${type} [${dev}] missing ${type} address`),
        "missing address",
        allowed,
      );
      return undefined;
    }
    if (type === "ucast6") {
      if (!validUcast6(addr)) {
        rep.emit(
          "ERROR",
          glib(`ucast6 [${dev}] bad addr [${addr}]`),
          `${addr} is not a unicast IPv6 address`,
          allowed,
        );
        return undefined;
      }
      if (ctx.latched.ucast6 === undefined) ctx.latched.ucast6 = defaultUdpPort(ctx);
      return { type: "ucast6", ifname: dev, peer: addr, port: ctx.latched.ucast6, linkName: dev };
    }
    if (!validMcast6(addr)) {
      rep.emit(
        "ERROR",
        glib(` mcast6 [${dev}] bad addr [${addr}]`),
        `${addr} is not a usable IPv6 multicast group`,
        allowed,
      );
      return undefined;
    }
    if (t[2] === undefined) {
      rep.emit("ERROR", glib(`mcast6 [${dev}] missing port`), "missing port", allowed);
      return undefined;
    }
    const hops = mcastByte(rep, "mcast6", dev, "hops", t[3], 4);
    if (hops === undefined) return undefined;
    const loop = mcastByte(rep, "mcast6", dev, "loop", t[4], 1);
    if (loop === undefined) return undefined;
    return { type: "mcast6", ifname: dev, group: addr, port: t[2], hops, loop, linkName: dev };
  }
  if (type === "ping_group") {
    const name = t[0];
    if (name === undefined) return undefined;
    if (t.length < 2) {
      rep.emit("ERROR", [], `ping group ${name} has no member address`, ALLOWED.ping_group, {
        fatal: true,
      });
      return undefined;
    }
    if (!ctx.addPingNode(name)) return undefined;
    const hosts: string[] = [];
    for (const h of t.slice(1)) {
      const a = inetPton4(h) ? h : sys.resolveHostV4(h);
      if (!a) {
        // Binary: logged, but the group is still accepted (start-up succeeds).
        rep.emit(
          "ERROR",
          glib(`unknown host: ${h}: Resource temporarily unavailable`),
          `ping_group member ${h} does not resolve (Heartbeat ignores it)`,
          ALLOWED.ping,
          { fatal: false },
        );
        continue;
      }
      hosts.push(h);
    }
    return { type: "ping_group", group: name, hosts, linkName: name };
  }
  return undefined;
}

/**
 * A small number of a multicast medium (`ttl`, `hops`, `loop`: the word `word`, read with atoi as
 * an unsigned char, at most `max`); undefined after reporting it missing or bad, with
 * Heartbeat's lines.
 */
function mcastByte(
  rep: Reporter,
  type: "mcast" | "mcast6",
  dev: string,
  name: string,
  word: string | undefined,
  max: number,
): number | undefined {
  if (word === undefined) {
    rep.emit("ERROR", glib(`${type} [${dev}] missing ${name}`), `missing ${name}`, ALLOWED[type]);
    return undefined;
  }
  const v = toUChar(atoi(word));
  if (v > max) {
    rep.emit(
      "ERROR",
      glib(` ${type} [${dev}] bad ${name} [${v}]`),
      `bad ${name} ${word}`,
      ALLOWED[type],
    );
    return undefined;
  }
  return v;
}

function numericV4(s: string): string | undefined {
  const v = inetAton(s);
  if (v === undefined) return undefined;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");
}

function validMcast6(addr: string): boolean {
  const b = inetPton6(addr);
  if (!b || b[0] !== 0xff || (b[1] & 0xe0) !== 0) return false;
  if (![0x2, 0x4, 0x5, 0x8].includes(b[1] & 0x0f)) return false;
  return b.slice(2).some((x) => x !== 0);
}

function validUcast6(addr: string): boolean {
  const pct = addr.indexOf("%");
  const b = inetPton6(pct >= 0 ? addr.slice(0, pct) : addr);
  if (!b || b[0] === 0xff) return false;
  if (b.every((x) => x === 0)) return false;
  if (b.slice(0, 15).every((x) => x === 0) && b[15] === 1) return false;
  return true;
}
