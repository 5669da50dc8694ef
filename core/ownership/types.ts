/**
 * Events into and actions out of the resource-ownership state machine
 * ({@link Ownership}): Heartbeat 3.0.6's haresources ("nice_failback" and
 * legacy) protocol, behavior.md §6–§7, wire.md §5.2.
 *
 * Like the membership core, the ownership machine does no I/O and reads no
 * clock: every event carries `now` (monotonic ms) and the embedder asks
 * {@link OwnershipLike.nextDeadline} when to deliver the next `tick`.
 *
 * @module
 */

import type { CoreMessage } from "../message.ts";
import type { Priority } from "../types.ts";

/** Heartbeat's log priority words; `""` = a script line printed exactly as given. */
export type OwnershipPriority = Priority | "";

/**
 * Who writes a log line, as Heartbeat's log shows it:
 * - `heartbeat`: the MCP (`heartbeat[<mcp pid>]`);
 * - `heartbeat-child`: a resource child of the MCP (`heartbeat[<child pid>]`:
 *   req_our_resources, standby and give-up children);
 * - `harc`, `mach_down`, `ip-request-resp`, `hb_standby`: the shell programs
 *   hb does in-process (`<name>(default)[<pid>]`, script log format).
 */
export type LogTag =
  | "heartbeat"
  | "heartbeat-child"
  | "harc"
  | "mach_down"
  | "ip-request-resp"
  | "hb_standby";

/** One log line. */
export interface LogLine {
  /** Priority word. */
  prio: OwnershipPriority;
  /** Exact text, without prefix. */
  text: string;
  /** Writer (default `heartbeat`). */
  tag: LogTag;
}

/** `auto_failback` mode (behavior.md §6.1). */
export type FailbackMode = "on" | "off" | "legacy";

/** A haresources group as the ownership protocol needs it. */
export interface OwnedGroup {
  /** Preferred node (first word of the line, lower case). */
  node: string;
  /** The group key (first resource). */
  key: string;
}

/** Configuration of one node's ownership machine. */
export interface OwnershipConfig {
  /** Our node name (lower case). */
  nodeName: string;
  /** Normal nodes in ha.cf order, ourselves included (no ping nodes). */
  nodes: string[];
  /** haresources groups, in file order. */
  groups: OwnedGroup[];
  /** `auto_failback` (legacy also when the directive is absent). */
  autoFailback: FailbackMode;
  /** `keepalive` in ms: pace of hb's standby retries. */
  keepaliveMs: number;
  /** True when a STONITH device is configured: a dead node is fenced before takeover. */
  stonith?: boolean;
  /**
   * Whether `node` is known to run the real Heartbeat 3.0.6 (its heartbeats carry no `hbver`,
   * core/drift.ts): such a peer never resolves a duplicate after a heal. Default: never.
   */
  peerRunsHeartbeat?: (node: string) => boolean;
  /** Pid shown in `Heartbeat shutdown in progress. (<pid>)`. Default 0. */
  pid?: number;
  /** `HA_DIR` with trailing slash as harc prints it. Default `/etc/ha.d/`. */
  haDir?: string;
  /** Local takeover deadline after the first resource report (RQSTDELAY). Default 10000. */
  rqstDelayMs?: number;
  /**
   * hb fix: interval of standby retries (re-sent `me`/`done`). Default
   * `max(keepaliveMs, 500)`.
   */
  standbyRetryMs?: number;
  /** hb fix: number of standby retries before giving up. Default 3. */
  standbyRetries?: number;
  /** Delay of the `hb_standby` after a failed start (ResourceManager's `sleep 30`). Default 30000. */
  failedStartStandbyMs?: number;
  /** Retry interval of a failed STONITH reset. Default 5000. */
  stonithRetryMs?: number;
  /**
   * Set when this is a quick restart (`heartbeat -R [-C <held>]`, config-and-cli §7.7): the
   * node already runs `holding` (default: the groups of class `held`), and `held` is the
   * class Heartbeat's `-C` carried (nice_failback). Comm-up then requests nothing, and — as
   * in Heartbeat, whose restart flag forces its resource state — every resource message is
   * processed in the stable state.
   */
  restart?: { held?: string; holding?: readonly string[] };
}

/** A node status as membership reports it. */
export type PeerStatus = "init" | "up" | "active" | "dead";

/** Fields common to every event. */
interface At {
  /** Monotonic time, ms; never decreases. */
  now: number;
}

/** Outcome of one group of a `run` action. */
export type GroupOutcome =
  /** Every resource of the group runs (started or found running). */
  | "started"
  /** A start failed; ResourceManager released the group again (`Giving up resources due to failure`). */
  | "start-failed"
  /** Every stop succeeded (or failed on a stopped resource). */
  | "released"
  /** A stop failed and the resource still runs (`Resource STOP failure. Reboot required!`). */
  | "stop-failed";

/** Result of a STONITH reset, as the STONITH layer reports it (`stonith` message `result`). */
export type FenceResult = "OK" | "bad" | "badhost";

/** An input of the ownership machine. */
export type OwnershipEvent =
  /**
   * Comm_now_up (core action `comm-up`). nice_failback: sends `starting`;
   * legacy: requests our local groups unless `restarting` (`-R`).
   */
  | At & { type: "comm-up"; restarting?: boolean }
  /**
   * A normal node's status changed (core action `node-status`, ping nodes
   * excluded). `dead` runs the dead-node recovery (§6.6) and may repeat with
   * `previous: "dead"` (late heartbeat of a node already dead). For `dead`
   * give `lastHeard` (monotonic ms of its last heartbeat; used for the
   * takeover timing line) and `heard` (Heartbeat's `anypacketsyet`: any packet
   * from it since we started or since it was last declared dead; when omitted
   * the machine's own tracking is used).
   */
  | At & {
    type: "node-status";
    node: string;
    status: PeerStatus;
    previous: PeerStatus;
    lastHeard?: number;
    heard?: boolean;
  }
  /** The node restarted (new generation; core action `node-restart`). */
  | At & { type: "node-restart"; node: string }
  /** A node we had declared dead is back with the same generation (core action `partition-healed`). */
  | At & { type: "partition-healed"; node: string }
  /**
   * A delivered cluster message of a resource type (`starting`, `resource`,
   * `ask_resources`, `hb_takeover`, `ip-request`, `ip-request-resp`,
   * `shutdone`, `stonith`; others are ignored) from `from`. Our own messages
   * that came through the FIFO (hb_standby, hb_takeover) or from other local
   * components are fed here with `from` = our name. Messages the machine sent
   * itself (`send` actions) are NOT fed back: it processed them already.
   */
  | At & { type: "message"; from: string; msg: CoreMessage }
  /** Time passed; deliver at {@link OwnershipLike.nextDeadline}. Extra ticks are harmless. */
  | At & { type: "tick" }
  /** SIGTERM / `heartbeat -k` (or the shell's decision to restart: `restart`). */
  | At & { type: "shutdown-request"; restart?: boolean }
  /** One group of a `run` action finished. Every key of a run is reported exactly once. */
  | At & {
    type: "group-result";
    id: number;
    key: string;
    result: GroupOutcome;
    /** After `start-failed`: the class ResourceManager's delayed `hb_standby` uses (default foreign). */
    standby?: "local" | "foreign";
  }
  /** The STONITH layer finished resetting `node` (`onFenced`). */
  | At & { type: "fenced"; node: string; result: FenceResult };

/** Why a run was started (its Heartbeat equivalent). */
export type RunReason =
  /** mach_down: a dead or departed node's groups. */
  | "mach_down"
  /** rc.d/ip-request-resp: takegroup of one group granted to us. */
  | "ip-request-resp"
  /** rc.d/ip-request (legacy): givegroup before answering the requester. */
  | "ip-request"
  /** go_standby child: give up or acquire a class. */
  | "standby"
  /** hb_giveup_resources: shutdown, every group. */
  | "shutdown"
  /** hb fix: duplicate resolution after a healed partition / late heartbeat. */
  | "resolve";

/** An output of the ownership machine; carry them out in order. */
export type OwnershipAction =
  /**
   * Complete (src, seq, …) and broadcast `msg`. The machine has ALREADY
   * processed it locally (Heartbeat's loopback, behavior.md §1.2): do not
   * feed it back. Fields are in Heartbeat's order.
   */
  | { type: "send"; msg: CoreMessage }
  /** Write a log line. */
  | { type: "log"; line: LogLine }
  /**
   * Run ResourceManager `takegroup`/`givegroup` for `keys`, one after the
   * other, serialised with every other run (resources/queue.ts). Log
   * `before` when the run starts and `announce[key]` right before that key.
   * Report each key with a `group-result` event carrying `id`.
   */
  | {
    type: "run";
    id: number;
    op: "take" | "give" | "announce";
    keys: string[];
    reason: RunReason;
    env: Record<string, string>;
    before?: LogLine[];
    announce?: Record<string, LogLine[]>;
    /**
     * hb (`give` only): once a group is released, announce each of its service addresses for
     * the node that keeps it (gratuitous ARPs with that node's hardware address): the group was
     * yielded to a real Heartbeat peer, which never announces an address it already runs.
     */
    announceHolder?: boolean;
  }
  /** Reset `node` with the STONITH device, then report `fenced`. */
  | { type: "fence"; node: string }
  /**
   * Our own `shutdone` was processed: every group is released. The shell
   * continues Heartbeat's final shutdown (1 s, clients, core processes,
   * `Heartbeat shutdown complete.`), or restarts when `restart`.
   */
  | { type: "shutdown-complete"; restart: boolean }
  /** A group could not be stopped and still runs; Heartbeat would kill itself and reboot here. */
  | { type: "stop-failure"; key: string };

/** `cl_status rscstatus` answers (behavior.md §6.2). */
export type RscStatus = "none" | "local" | "foreign" | "all" | "transition";

/** What an embedder uses. */
export interface OwnershipLike {
  /** Feeds one event; returns the actions, in order. */
  handle(event: OwnershipEvent): OwnershipAction[];
  /** When the next `tick` is wanted (`Infinity` = none). */
  nextDeadline(): number;
  /** `cl_status rscstatus`. */
  rscstatus(): RscStatus;
}

/** Heartbeat's held-set classes (bit 1 local, bit 2 foreign). */
export const RSC_NONE = 0;
/** Our own (local) groups. */
export const RSC_LOCAL = 1;
/** Other nodes' (foreign) groups. */
export const RSC_FOREIGN = 2;
/** Both. */
export const RSC_ALL = 3;
/** Wire names of the classes, by value. */
export const RSC_NAMES = ["none", "local", "foreign", "all"] as const;

/** Resource states with Heartbeat's numbers (appear in log lines). */
export enum RState {
  /** Before Comm_now_up. */
  INIT = 0,
  /** `starting` sent. */
  STARTING = 1,
  /** Both starting. */
  BOTHSTARTING = 2,
  /** A report received, RQSTDELAY armed. */
  RSCRCVD = 3,
  /** Done. */
  STABLE = 4,
  /** Giving up for shutdown. */
  SHUTDOWN = 5,
}

/** Standby states with Heartbeat's numbers. */
export enum Standby {
  /** No exchange. */
  NOT = 0,
  /** We asked to go standby. */
  ME = 1,
  /** The other node asked. */
  OTHER = 2,
  /** Our part is done. */
  DONE = 3,
}
