/**
 * The node table: every configured node (ourselves, the other normal nodes,
 * ping pseudo-nodes) with its status, liveness timer, advertised deadtime,
 * uuid, links and sequence tracking (behavior.md §3).
 *
 * This module holds state and answers questions (who timed out, when is the
 * next deadline); the core decides what to do about it.
 *
 * @module
 */

import { SeqTrack } from "./sequence.ts";
import type { LinkStatus, NodeKind, NodeStatus } from "./types.ts";

/** One link (node × medium). */
/**
 * A link of a live node is declared dead this long after its dead interval ran
 * out (one Heartbeat check interval). Heartbeat checks every 250 ms, node
 * deaths before link deaths, so when a cut takes a ping node and a link down
 * together, the ping node's death is reported first; ipfail's decisions depend
 * on that order. A dying node's links still die with it, at once.
 */
export const LINK_GRACE_MS = 250;

export interface LinkState {
  /** `up` or `dead` (initially `dead`). */
  status: LinkStatus;
  /** Monotonic time the last packet from the node arrived on this medium. */
  lastHeard: number;
}

/** What this node knows about one configured node. */
export interface NodeState {
  /** Node name (lower case) or ping node name. */
  readonly name: string;
  /** Normal node or ping pseudo-node. */
  readonly kind: NodeKind;
  /** Whether this entry is ourselves. */
  readonly self: boolean;
  /** Current status. */
  status: NodeStatus;
  /**
   * Monotonic time the last status message was processed (Heartbeat's
   * `local_lastupdate`); our start time initially; undefined after a restart
   * of the node was detected (no late-heartbeat check for the next status).
   */
  lastUpdate: number | undefined;
  /** `ts` (seconds) of the last status message (0 = none). */
  remoteTs: number;
  /** `seq` of the last status message (0 = none). */
  statusSeq: number;
  /** The node's deadtime: its advertised `dt`, else `deadtime` / `deadping`. */
  deadMs: number;
  /** Whether any packet arrived since our start or its death (links-up condition). */
  anyPacketsYet: boolean;
  /** The node's uuid once learnt. */
  uuid: Uint8Array | undefined;
  /** One link per medium, in configuration order. */
  readonly links: LinkState[];
  /** Sequence tracking of this sender. */
  readonly track: SeqTrack;
}

/** Formats 16 uuid bytes like libuuid's unparse (lower case, dashed). */
export function formatUuid(uuid: Uint8Array): string {
  const hex = Array.from(uuid, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20, 32)
  }`;
}

/** A cheap map key for a uuid. */
function uuidKey(u: Uint8Array): string {
  let k = "";
  for (let i = 0; i < u.length; i++) k += String.fromCharCode(u[i]);
  return k;
}

/** Whether two uuids are equal. */
export function sameUuid(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether a uuid is absent or all zero. */
export function isNullUuid(u: Uint8Array | undefined): boolean {
  if (u === undefined) return true;
  for (let i = 0; i < u.length; i++) if (u[i] !== 0) return false;
  return true;
}

/** Settings the node table needs. */
export interface MembershipSettings {
  /** Our node name. */
  self: string;
  /** Our uuid. */
  selfUuid: Uint8Array;
  /** Normal nodes in configuration order (ourselves included). */
  nodes: string[];
  /** Ping nodes in configuration order. */
  pingNodes: string[];
  /** Number of media. */
  linkCount: number;
  /** `deadtime`, ms. */
  deadtimeMs: number;
  /** `deadping`, ms. */
  deadpingMs: number;
  /** `initdead`, ms. */
  initdeadMs: number;
  /** Ack trigger digit for a new node. */
  trigger: () => number;
}

/** A node or link whose dead interval ran out. */
export type Timeout =
  | { kind: "node"; node: NodeState }
  | { kind: "link"; node: NodeState; channel: number };

/** The table of all configured nodes. */
export class Membership {
  /** All nodes: normal nodes then ping nodes, configuration order. */
  readonly all: NodeState[] = [];
  /** Ourselves. */
  readonly self: NodeState;
  readonly #byName = new Map<string, NodeState>();
  readonly #byUuid = new Map<string, NodeState>();
  readonly #s: MembershipSettings;

  /** Builds the table; every node starts `init` with all links `dead`. */
  constructor(s: MembershipSettings) {
    this.#s = s;
    const mk = (name: string, kind: NodeKind): NodeState => ({
      name,
      kind,
      self: name === s.self && kind === "normal",
      status: "init",
      lastUpdate: 0,
      remoteTs: 0,
      statusSeq: 0,
      deadMs: kind === "ping" ? s.deadpingMs : s.deadtimeMs,
      anyPacketsYet: false,
      uuid: undefined,
      links: Array.from({ length: s.linkCount }, () => ({ status: "dead", lastHeard: 0 })),
      track: new SeqTrack(s.trigger()),
    });
    for (const n of s.nodes) this.#add(mk(n, "normal"));
    for (const p of s.pingNodes) if (!this.#byName.has(p)) this.#add(mk(p, "ping"));
    let self = this.#byName.get(s.self);
    if (!self) {
      // not in the node list: still track ourselves (config checks reject this case)
      self = mk(s.self, "normal");
      this.#add(self);
    }
    this.self = self;
    self.uuid = s.selfUuid;
    this.#byUuid.set(uuidKey(s.selfUuid), self);
  }

  #add(n: NodeState): void {
    this.all.push(n);
    this.#byName.set(n.name, n);
  }

  /** Looks a sender up by uuid first, then by name (Heartbeat's lookup_tables). */
  lookup(name: string, uuid?: Uint8Array): NodeState | undefined {
    const named = this.#byName.get(name);
    // fast path: the name and the known uuid agree
    if (named && uuid && named.uuid && sameUuid(named.uuid, uuid)) return named;
    if (uuid && !isNullUuid(uuid)) {
      const n = this.#byUuid.get(uuidKey(uuid));
      if (n) return n;
    }
    return this.#byName.get(name.toLowerCase());
  }

  /** The node called `name`. */
  byName(name: string): NodeState | undefined {
    return this.#byName.get(name);
  }

  /**
   * Learns `uuid` for the node called `name`. Returns the previous uuid when
   * it changed (for the `changed its uuid` line), else undefined.
   */
  learnUuid(node: NodeState, uuid: Uint8Array): Uint8Array | undefined {
    if (isNullUuid(uuid)) return undefined;
    const old = node.uuid;
    if (old && sameUuid(old, uuid)) return undefined;
    if (old) this.#byUuid.delete(uuidKey(old));
    node.uuid = uuid.slice();
    this.#byUuid.set(uuidKey(uuid), node);
    return old;
  }

  /** The dead interval of `n`: initdead before comm is up, else its own. */
  deadInterval(n: NodeState, commUp: boolean): number {
    return commUp ? n.deadMs : this.#s.initdeadMs;
  }

  /** Normal nodes (ourselves included) that are `up` or `active` (Heartbeat's live_node_count). */
  liveNodeCount(): number {
    let count = 0;
    for (const n of this.all) {
      if (n.kind !== "normal") continue;
      if (n.self || n.status === "up" || n.status === "active") count++;
    }
    return count;
  }

  /** Whether every node has sent something or is dead (links-up condition, §3.5). */
  allHeardOrDead(): boolean {
    for (const n of this.all) {
      if (!n.anyPacketsYet && n.status !== "dead") return false;
    }
    return true;
  }

  /**
   * The earliest time a node or link times out (Infinity when none can).
   * A timeout fires when `now − last > interval`, i.e. at `last + interval + 1`
   * on Heartbeat's millisecond clock. Our own node counts (no local
   * heartbeat) unless `skipSelf`; our own links never time out.
   * O(nodes × links).
   */
  nextTimeout(commUp: boolean, skipSelf = false): number {
    let next = Infinity;
    for (const n of this.all) {
      const dead = this.deadInterval(n, commUp);
      if (n.status !== "dead" && n.lastUpdate !== undefined && !(n.self && skipSelf)) {
        const at = n.lastUpdate + dead + 1;
        if (at < next) next = at;
      }
      if (n.self) continue;
      const grace = n.status === "dead" ? 0 : LINK_GRACE_MS;
      for (const l of n.links) {
        if (l.status === "up") {
          const at = l.lastHeard + dead + grace + 1;
          if (at < next) next = at;
        }
      }
    }
    return next;
  }

  /**
   * The nodes, then the links, whose dead interval ran out at `now` (nodes
   * first, in configuration order, as Heartbeat's check_for_timeouts). A
   * node with `lastUpdate` undefined counts as heard at time 0.
   */
  timeouts(now: number, commUp: boolean): Timeout[] {
    const out: Timeout[] = [];
    const dying = new Set<NodeState>();
    for (const n of this.all) {
      if (n.status === "dead") continue;
      const last = n.lastUpdate ?? 0;
      if (now - last > this.deadInterval(n, commUp)) {
        out.push({ kind: "node", node: n });
        dying.add(n);
      }
    }
    for (const n of this.all) {
      if (n.self) continue;
      const dead = this.deadInterval(n, commUp) +
        (dying.has(n) || n.status === "dead" ? 0 : LINK_GRACE_MS);
      n.links.forEach((l, channel) => {
        if (l.status === "up" && now - l.lastHeard > dead) {
          out.push({ kind: "link", node: n, channel });
        }
      });
    }
    return out;
  }
}
