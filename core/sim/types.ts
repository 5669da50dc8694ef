/**
 * What a simulated cluster ({@link SimCluster} in `cluster.ts`) is built from and what it
 * records: its options, the log and wire lines it keeps per node, its virtual epoch, and how a
 * message is shown in scenario output.
 *
 * @module
 */

import type { CoreMessage } from "../message.ts";
import type { FailbackMode, OwnedGroup } from "../ownership/types.ts";
import type { ResourceConfig } from "../node_core.ts";
import type { Priority } from "../types.ts";

/** A log line produced in the simulation, with its virtual time. */
export interface SimLogLine {
  /** Virtual time in ms since the simulation began. */
  at: number;
  /** Priority word (`""`: a script line printed as given). */
  prio: Priority | "";
  /** Text. */
  text: string;
  /** Writer of a resource-side line (`harc`, `mach_down`, …); absent for the MCP's own lines. */
  tag?: string;
}

/** A message a node put on the wire (a `send` or a `rexmit`). */
export interface SimWireLine {
  /** Virtual time. */
  at: number;
  /** Whether this was a retransmission of a stored message. */
  rexmit: boolean;
  /** The message. */
  msg: CoreMessage;
}

/** Options of a simulated cluster. */
export interface SimOptions {
  /** Node names (ha.cf order). */
  nodes: string[];
  /** Link names; every node has every link, all links are broadcast segments. */
  links: string[];
  /** Ping nodes (each becomes an extra medium of every node named after it). */
  pingNodes?: string[];
  /** Timers (defaults: keepalive 100, deadtime 500, warntime 250, initdead 1000). */
  keepaliveMs?: number;
  /** Dead time. */
  deadtimeMs?: number;
  /** Warn time. */
  warntimeMs?: number;
  /** Initial dead time. */
  initdeadMs?: number;
  /** Dead time of ping nodes (default = deadtime). */
  deadpingMs?: number;
  /** `max_rexmit_delay` (default 250). */
  maxRexmitDelayMs?: number;
  /** One-way delivery latency on every link (default 1 ms). */
  latencyMs?: number;
  /** PRNG seed for the network and for the cores' randomness (default 1). */
  seed?: number;
  /** haresources groups; without them the nodes run membership only (`heartbeat -M`). */
  groups?: OwnedGroup[];
  /** `auto_failback` (default on). */
  autoFailback?: FailbackMode;
  /** Whether a STONITH device is configured (default false). */
  stonith?: boolean;
  /** Virtual duration of one group's start or stop (default 50 ms). */
  scriptMs?: number;
  /**
   * Nodes the others take for real Heartbeat 3.0.6 peers: when set, every other node announces
   * hb in its heartbeats (`hbver`) and follows its peers' implementations, these do not (they
   * still run hb's core: the option tests what hb does with a peer it believes is Heartbeat).
   */
  heartbeatNodes?: string[];
  /** Overrides of the ownership protocol's timers. */
  ownershipTimers?: ResourceConfig["timers"];
  /**
   * hb.cf monitors: every group's key is checked (interval 1 s, timeout 500 ms, fall 2,
   * on-fail=restart, max-restarts 1 within 20 s); checks answer "running" unless
   * {@link SimCluster.failService} broke the service (default off).
   */
  monitor?: boolean;
}

/** How the scripts of one group behave on one node. */
export interface ScriptBehaviour {
  /** Duration of a start or stop of the group, ms. */
  ms?: number;
  /** Whether starting the group fails (it is released again). */
  failStart?: boolean;
}

/** Start of the simulated wall clock (ms since the epoch). */
export const SIM_EPOCH_MS = 1_795_000_000_000;

/** Fields the membership adds to every message (left out of {@link messageText}). */
const CONTROL_FIELDS = new Set([
  "src",
  "srcuuid",
  "seq",
  "hg",
  "ts",
  "ld",
  "ttl",
  "auth",
  "destuuid",
]);

/** Formats a message as `t=x a=b …` without the membership's control fields. */
export function messageText(msg: CoreMessage): string {
  return msg.fields.filter(([k]) => !CONTROL_FIELDS.has(k)).map(([k, v]) =>
    `${k}=${typeof v === "string" ? v : "<bin>"}`
  ).join(" ");
}
