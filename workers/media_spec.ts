/**
 * What a media worker needs to know about its medium: a JSON-serialisable
 * description the master derives from ha.cf and hands to the worker on its
 * command line.
 *
 * @module
 */

import { canonicalIPv6, formatIPv6, isLinkLocal, parseIPv6 } from "../sys/inet6.ts";

/** UDP broadcast on one interface (`bcast IF`). */
export interface BcastSpec {
  /** Medium type. */
  type: "bcast";
  /** Interface name, also the link name. */
  ifname: string;
  /** UDP port (latched from `udpport` when the medium was declared). */
  port: number;
  /** The interface's IPv4 broadcast address. */
  broadcast: string;
}

/** UDP unicast to one peer (`ucast IF PEER`). */
export interface UcastSpec {
  /** Medium type. */
  type: "ucast";
  /** Interface name, also the link name. */
  ifname: string;
  /** UDP port. */
  port: number;
  /** Peer IPv4 address. */
  peer: string;
}

/** UDP multicast (`mcast IF GROUP PORT TTL LOOP`). */
export interface McastSpec {
  /** Medium type. */
  type: "mcast";
  /** Interface name, also the link name. */
  ifname: string;
  /** The interface's own IPv4 address (for IP_MULTICAST_IF and the join). */
  ifaddr: string;
  /** Multicast group. */
  group: string;
  /** UDP port. */
  port: number;
  /** Multicast TTL (0-4 as Heartbeat allows). */
  ttl: number;
  /** Whether our own packets loop back. */
  loop: boolean;
}

/** UDP/IPv6 unicast to one peer (`ucast6 IF ADDR`). */
export interface Ucast6Spec {
  /** Medium type. */
  type: "ucast6";
  /** Interface name, also the link name. */
  ifname: string;
  /** UDP port (latched from `udpport` like ucast). */
  port: number;
  /** Peer IPv6 address as written in ha.cf (a `%IF` scope suffix allowed). */
  peer: string;
}

/** UDP/IPv6 multicast (`mcast6 IF GROUP PORT HOPS LOOP`). */
export interface Mcast6Spec {
  /** Medium type. */
  type: "mcast6";
  /** Interface name, also the link name. */
  ifname: string;
  /** Multicast group as written in ha.cf. */
  group: string;
  /** UDP port (the PORT field resolved to a number). */
  port: number;
  /** Multicast hop limit (0-4 as Heartbeat allows). */
  hops: number;
  /** Whether our own packets loop back. */
  loop: boolean;
}

/** A serial line (`serial /dev/ttyX`). */
export interface SerialSpec {
  /** Medium type. */
  type: "serial";
  /** Device path as written in ha.cf, also the link name. */
  device: string;
  /** Line speed (`baud`, latched at the first serial medium). */
  baud: number;
}

/** A ping node (`ping HOST`), handled by `workers/ping.ts`. */
export interface PingSpec {
  /** Medium type. */
  type: "ping";
  /** Host as written in ha.cf: the ping node's name and the link name. */
  host: string;
  /** Its IPv4 address. */
  address: string;
}

/** A ping group (`ping_group NAME HOST…`), one ping node up while any member answers. */
export interface PingGroupSpec {
  /** Medium type. */
  type: "ping_group";
  /** Group name: the ping node's name and the link name. */
  name: string;
  /** Members that resolved: host as written and IPv4 address. */
  hosts: { host: string; address: string }[];
}

/** The UDP media (handled by `workers/media.ts`). */
export type UdpSpec = BcastSpec | UcastSpec | McastSpec | Ucast6Spec | Mcast6Spec;

/** Any medium handled by a read/write worker pair. */
export type MediumSpec = UdpSpec | SerialSpec | PingSpec | PingGroupSpec;

/** The link name of a medium (what `Link node2:eth1 up.` and `cl_status listhblinks` show). */
export function linkName(m: MediumSpec): string {
  switch (m.type) {
    case "serial":
      return m.device;
    case "ping":
      return m.host;
    case "ping_group":
      return m.name;
    default:
      return m.ifname;
  }
}

/** The text after `heartbeat: read: ` / `heartbeat: write: ` in process titles. */
export function mediumLabel(m: MediumSpec): string {
  return `${m.type} ${linkName(m)}`;
}

/**
 * The lines Heartbeat's medium plugin logs while opening its sockets, before
 * {@link mediumStartLine}: only the ucast plugin reports its socket options
 * (one line per option, write socket first).
 */
export function mediumOpenLines(m: MediumSpec): string[] {
  if (m.type === "ucast6") {
    // ucast6 sets no IP_TOS on its send socket and logs SO_REUSEADDR only when it fails
    return [
      `ucast6: bound send socket to device: ${m.ifname}`,
      `ucast6: bound receive socket to device: ${m.ifname}`,
      "ucast6: set SO_REUSEPORT",
    ];
  }
  if (m.type !== "ucast") return [];
  return [
    `ucast: write socket priority set to IPTOS_LOWDELAY on ${m.ifname}`,
    `ucast: bound send socket to device: ${m.ifname}`,
    "ucast: set SO_REUSEPORT(w)",
    "ucast: set SO_REUSEADDR",
    `ucast: bound receive socket to device: ${m.ifname}`,
    "ucast: set SO_REUSEPORT",
  ];
}

/**
 * The peer of a ucast6 medium as its plugin prints it: inet_ntop text, plus `%IF` (the
 * medium's interface) for a link-local address, whose scope is that interface.
 */
export function ucast6PeerText(m: Ucast6Spec): string {
  const a = parseIPv6(m.peer);
  return formatIPv6(a.bytes) + (isLinkLocal(a.bytes) ? `%${m.ifname}` : "");
}

/** Heartbeat's one-line description of a medium in start/close log lines. */
export function mediumStartLine(m: MediumSpec): string {
  switch (m.type) {
    case "bcast":
      return `UDP Broadcast heartbeat started on port ${m.port} (${m.port}) interface ${m.ifname}`;
    case "ucast":
      return `ucast: started on port ${m.port} interface ${m.ifname} to ${m.peer}`;
    case "mcast":
      return `UDP multicast heartbeat started for group ${m.group} port ${m.port} interface ${m.ifname} (ttl=${m.ttl} loop=${
        m.loop ? 1 : 0
      })`;
    case "ucast6":
      return `ucast6: heartbeat started for [${
        ucast6PeerText(m)
      }]:${m.port} on interface ${m.ifname}`;
    case "mcast6":
      return `UDP multicast heartbeat started for [${
        canonicalIPv6(m.group)
      }]:${m.port} on interface ${m.ifname} (hops=${m.hops} loop=${m.loop ? 1 : 0})`;
    case "serial":
      return `Starting serial heartbeat on tty ${m.device} (${m.baud} baud)`;
    case "ping":
      return "ping heartbeat started.";
    case "ping_group":
      return "ping group heartbeat started.";
  }
}
