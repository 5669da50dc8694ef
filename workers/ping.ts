/**
 * HBREAD and HBWRITE bodies of the `ping` and `ping_group` media
 * (wire.md §7.6, behavior.md §3.2).
 *
 * Division of labour (our choice, documented in the master too): the
 * **master** builds and signs the `NS_st` payload — it holds the keys, knows
 * the `ts` of each status message it sends, and follows authkeys reloads —
 * and sends it as a packet frame to the ping medium's write worker right
 * after each `status` message (`pingStatusMessage`, master/ping_status.ts). Keys never reach
 * a worker's command line. The write worker sends every `NS_st` frame as one
 * ICMP echo request per host (one sequence number per frame, counting from
 * 0); any other packet frame (the master broadcasts every message to every
 * medium) is ignored. The read worker forwards the payload of each
 * acceptable echo reply to the master as a packet; the master verifies the
 * trailer like any packet and the core processes the `NS_st` as a status
 * message from the ping node.
 *
 * What counts as a reply: an echo reply (type 0) carrying our identifier
 * (the master's pid, host byte order), whose payload decodes as a netstring
 * message with `t=NS_st`, `info` equal to the plugin name and `src` equal to
 * this medium's ping node name; for `ping_group` the sender must be one of
 * the members and a sequence number already answered (by another member)
 * is dropped (128-slot window), so a group counts once per round. The `src`
 * check is ours: all ping media of one master share the identifier, and
 * without it one medium would also report another medium's ping node.
 *
 * @module
 */

import {
  buildEchoRequest,
  ICMP_ECHO_REPLY,
  IcmpSocket,
  identBytes,
  parseIcmp,
} from "../sys/icmp.ts";
import { decodeMessage } from "../wire/codec.ts";
import type { WorkerPort } from "./media.ts";
import { linkName, type PingGroupSpec, type PingSpec } from "./media_spec.ts";
import { WriteFailures } from "./write_failures.ts";

/** A ping medium of either kind. */
export type AnyPingSpec = PingSpec | PingGroupSpec;

/** True for the ping media (`ping`, `ping_group`). */
export function isPingSpec(m: { type: string }): m is AnyPingSpec {
  return m.type === "ping" || m.type === "ping_group";
}

/** The ping node name of a medium: the host as written (`ping`) or the group name. */
export function pingNodeName(m: AnyPingSpec): string {
  return m.type === "ping" ? m.host : m.name;
}

/** Target addresses of a medium. */
export function pingTargets(m: AnyPingSpec): string[] {
  return m.type === "ping" ? [m.address] : m.hosts.map((h) => h.address);
}

/** Answered sequence numbers remembered by a ping_group reader. */
const SEQ_WINDOW = 128;

/** Fields of an `NS_st` payload, or null when the bytes are not one. */
function nsStatusFields(payload: Uint8Array): { info?: string; src?: string } | null {
  const r = decodeMessage(payload);
  if (!r.ok) return null;
  const msg = r.msg;
  if (msg.get("t") !== "NS_st") return null;
  return { info: msg.get("info"), src: msg.get("src") };
}

/**
 * Decides whether a received ICMP datagram is a reply for medium `m`;
 * returns the payload to forward, or null. `seen` (ping_group only) is the
 * window of answered sequence numbers, updated on acceptance.
 */
export function acceptReply(
  m: AnyPingSpec,
  ident: readonly [number, number],
  datagram: Uint8Array,
  from: string,
  seen?: number[],
): Uint8Array | null {
  const icmp = parseIcmp(datagram, true);
  if (!icmp || icmp.type !== ICMP_ECHO_REPLY) return null;
  if (icmp.ident[0] !== ident[0] || icmp.ident[1] !== ident[1]) return null;
  const f = nsStatusFields(icmp.payload);
  if (!f || f.info !== m.type) return null;
  if ((f.src ?? "").toLowerCase() !== pingNodeName(m).toLowerCase()) return null;
  if (m.type === "ping_group") {
    if (!m.hosts.some((h) => h.address === from)) return null;
    if (seen) {
      if (seen.includes(icmp.seq)) return null;
      seen.push(icmp.seq);
      if (seen.length > SEQ_WINDOW) seen.shift();
    }
  }
  return icmp.payload;
}

/** How every `NS_st` packet the master builds begins (`t` is its first field). */
const NS_ST_PREFIX = new TextEncoder().encode("###\n10:(0)t=NS_st,");

/**
 * True when a packet frame from the master is an `NS_st` payload for the
 * ping writer (a prefix test: the writer sees every message of the node).
 */
export function isNsStatusPacket(bytes: Uint8Array): boolean {
  if (bytes.length < NS_ST_PREFIX.length) return false;
  for (let i = 0; i < NS_ST_PREFIX.length; i++) if (bytes[i] !== NS_ST_PREFIX[i]) return false;
  return true;
}

/** The identifier of this master's echo requests (the parent of a worker is the master). */
function masterIdent(): [number, number] {
  return identBytes(Deno.ppid);
}

/** Runs a ping read worker until the socket fails. */
export async function runPingReader(m: AnyPingSpec, port: WorkerPort): Promise<void> {
  const sock = IcmpSocket.open({ echoRepliesOnly: true });
  const ident = masterIdent();
  const seen: number[] = [];
  port.control({ t: "ready" });
  let failures = 0;
  while (failures < 100) {
    const d = await sock.receive();
    if (!d) {
      failures++; // EINTR and friends: try again
      await new Promise((r) => setTimeout(r, 10));
      continue;
    }
    failures = 0;
    const payload = acceptReply(m, ident, d.bytes, d.from, seen);
    if (payload) port.packet(payload);
  }
  port.log("ERROR", `ping read on ${linkName(m)}: recvfrom keeps failing`);
  sock.close();
}

/**
 * A ping write worker body: call `send` for every packet frame from the
 * master; `NS_st` payloads go out as echo requests to every host.
 */
export class PingWriter {
  #m: AnyPingSpec;
  #port: WorkerPort;
  #sock: IcmpSocket;
  #ident: [number, number];
  #seq = 0;
  readonly #failures: WriteFailures;

  /** Opens the raw socket. */
  constructor(m: AnyPingSpec, port: WorkerPort) {
    this.#m = m;
    this.#port = port;
    this.#failures = new WriteFailures(port, `${m.type} ${linkName(m)}`);
    this.#sock = IcmpSocket.open();
    this.#ident = masterIdent();
  }

  /** Sends `bytes` as one echo request per host if it is an `NS_st` payload. */
  send(bytes: Uint8Array): void {
    if (!isNsStatusPacket(bytes)) return;
    const pkt = buildEchoRequest(this.#ident, this.#seq, bytes);
    this.#seq = (this.#seq + 1) & 0xffff;
    for (const addr of pingTargets(this.#m)) this.#sendOne(pkt, addr);
  }

  #sendOne(pkt: Uint8Array<ArrayBuffer>, addr: string): void {
    try {
      this.#sock.send(pkt, addr);
      this.#failures.succeeded();
    } catch (e) {
      this.#failures.failed(e, (text) => `Error sending packet: ${text}`);
    }
  }

  /** Closes the socket. */
  close(): void {
    this.#sock.close();
  }
}
