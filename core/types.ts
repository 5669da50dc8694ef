/**
 * Events into and actions out of the deterministic core.
 *
 * The core never reads a clock: every event carries `now`, a monotonic time
 * in milliseconds chosen by the driver (the real master uses
 * `performance.now()`, tests use a simulated clock), and `wallClock`, the
 * wall-clock time in ms since the epoch (`Date.now()` in the master), used
 * only for the `ts` field and for the "Clock jumped backwards" check. The
 * driver asks {@link CoreLike.nextDeadline} when to deliver the next `tick`.
 *
 * Ordering contract: the actions returned by one {@link CoreLike.handle} call
 * must be carried out in array order. In particular `send` actions must reach
 * the media in that order (nested messages come before the message whose
 * local processing created them, as in Heartbeat, behavior.md §1.2).
 *
 * @module
 */

import type { CoreMessage } from "./message.ts";
import type { Random } from "./random.ts";
import type { TestLossOptions } from "./test_loss.ts";

import type { Priority } from "../logging/priority.ts";
export type { Priority };

/** Status of a cluster node as Heartbeat names it. */
export type NodeStatus = "init" | "up" | "active" | "dead" | "ping";

/** Kind of a configured node: a cluster member or a ping pseudo-node. */
export type NodeKind = "normal" | "ping";

/** Status of one heartbeat link (node × medium). */
export type LinkStatus = "up" | "dead";

/** Number of sequenced messages kept for retransmission (Heartbeat's MAXMSGHIST). */
export const HISTORY_SIZE = 500;

/** What the core needs to know of the configuration. */
export interface CoreConfig {
  /** Our node name (lower case). */
  nodeName: string;
  /** Normal nodes in ha.cf order (lower case), ourselves included. */
  nodes: string[];
  /** Ping nodes (names as configured: an address or a ping_group name). */
  pingNodes: string[];
  /** Link names of our media, in ha.cf order (index = medium channel). */
  links: string[];
  /** Interval of our status messages. */
  keepaliveMs: number;
  /** Silence after which a node is dead. */
  deadtimeMs: number;
  /** Interval after which a heartbeat is reported late. */
  warntimeMs: number;
  /** Dead time used before communication is up. */
  initdeadMs: number;
  /** Dead time of ping nodes. */
  deadpingMs: number;
  /** `hopfudge` (ttl = hopfudge + number of nodes, ping nodes included). */
  hopfudge: number;
  /** Our generation number. */
  generation: number;
  /** Our uuid (16 bytes). */
  uuid: Uint8Array;
  /** `max_rexmit_delay` in ms (default 250). */
  maxRexmitDelayMs?: number;
  /**
   * Randomness for ack trigger digits and retransmission-request delays.
   * Default: a PRNG seeded from the node name and generation (deterministic).
   */
  random?: Random;
  /**
   * Randomness for the loss draws of Heartbeat's `OnlyForTesting` hook (core/test_loss.ts).
   * Default: {@link CoreConfig.random}.
   */
  lossRandom?: Random;
  /**
   * Extra fields of our status messages (hb's `hbver`/`hbcfg`, core/drift.ts), appended after
   * Heartbeat's own. Default: none.
   */
  statusFields?: readonly (readonly [string, string])[];
}

/** Where a received message came from. */
export type Origin =
  /** Received from heartbeat medium `channel` (index into {@link CoreConfig.links}). */
  | { kind: "medium"; channel: number }
  /** Read from the FIFO (scripts); the core completes it and sends it as its own. */
  | { kind: "fifo" }
  /** Our own message processed locally before it is sent (internal; never fed by drivers). */
  | { kind: "loopback" };

/** Fields common to every event. */
interface EventBase {
  /** Monotonic time, ms. Must never decrease between events. */
  now: number;
  /** Wall-clock time, ms since the epoch (may jump either way). */
  wallClock: number;
}

/** An input to the core. */
export type CoreEvent =
  /** Start of the MCP main loop: sends `st=init`, `st=up`, `st=up` (behavior.md §3.1). Exactly once. */
  | EventBase & { type: "start"; loadavg?: string }
  /** Time passed: deliver at (or after) {@link CoreLike.nextDeadline}; extra ticks are harmless. */
  | EventBase & { type: "tick"; loadavg?: string }
  /**
   * A message. From a medium: decoded and authenticated by the shell, never
   * mutated by the core afterwards. From the FIFO: only the message-specific
   * fields (`t`, …); the core adds the control fields and sends it.
   */
  | EventBase & { type: "message"; origin: Origin; msg: CoreMessage }
  /**
   * A message created by a local component (resource layer, API server):
   * completed with control fields, processed locally (loopback) and sent,
   * exactly like a FIFO message. `msg` is taken over by the core.
   */
  | EventBase & { type: "originate"; msg: CoreMessage }
  /**
   * Raise the advertised deadtime (`dt`) by `extraMs` above `deadtime`
   * (0 = back to normal); a status message is sent at once when `dt`
   * changes. Used by the shutdown-and-restart procedure (+30000, §4.3) and
   * while starting respawn clients (+2000). The built-in +2000 of the first
   * 5 s after start is handled by the core itself.
   */
  | EventBase & { type: "advertise-deadtime"; extraMs: number }
  /**
   * The options of Heartbeat's test hook `OnlyForTesting` now in force (`undefined`: the
   * file is gone, no test loss). Read by the shell at start and on every reload
   * (config/only_for_testing.ts); the drops are decided by core/test_loss.ts.
   */
  | EventBase & { type: "test-loss"; options: TestLossOptions | undefined }
  /** Stop now: the core answers with `exit` (code 0) and ignores later events. */
  | EventBase & { type: "shutdown" };

/** An output of the core, carried out by the driver in order. */
export type CoreAction =
  /**
   * Broadcast `msg` on every medium. The message is complete except for
   * `auth`: the shell signs and encodes it. When `seq` is set (sequenced
   * message), the shell must keep the encoded bytes of at least the last
   * {@link HISTORY_SIZE} sequenced messages, keyed by `seq`, for `rexmit`.
   * The core has already processed `msg` locally (loopback, §1.2): the shell
   * must not feed it back. `msg` must not be modified afterwards.
   *
   * `lost` (the `OnlyForTesting` hook's `xmitloss` threw this transmission away): keep the
   * bytes for retransmission as usual, but put nothing on any medium (ping media included).
   */
  | { type: "send"; msg: CoreMessage; seq?: number; lost?: true }
  /**
   * Re-send, on every medium, the stored encoded bytes of our own message
   * `seq`, byte-identical (same `seq`, `ts`, `auth`). The core only asks for
   * the last {@link HISTORY_SIZE} sequenced messages of the current generation.
   * `lost`: the `OnlyForTesting` hook threw this retransmission away; send nothing.
   */
  | { type: "rexmit"; seq: number; lost?: true }
  /** Write a log line `<prio>: <text>` (Heartbeat's exact text, no prefix). */
  | { type: "log"; prio: Priority; text: string }
  /**
   * A remote node's status changed (never our own). `kind` tells ping
   * pseudo-nodes apart: dead ping nodes must cause no resource action.
   * `status: "dead"` may repeat with `previous: "dead"` when a late
   * heartbeat (> deadtime) arrives from a node already declared dead: Heartbeat
   * runs its dead-node recovery a second time in that case (§4.2, scenario g).
   * Every change queues a run of `rc.d/status` in Heartbeat (§3.2).
   */
  | { type: "node-status"; node: string; kind: NodeKind; status: NodeStatus; previous: NodeStatus }
  /** A link changed state (`Link n:l up.`/`dead.`); the API's `ifstat` event. */
  | { type: "link-status"; node: string; link: string; status: LinkStatus }
  /**
   * Comm_now_up: our status is now `active` (already sent). The resource
   * layer starts, the API registration socket opens, respawn clients start.
   * Emitted once.
   */
  | { type: "comm-up" }
  /**
   * An accepted message for upper layers (resource manager, API clients,
   * rc.d dispatch): in sequence or late-filled, addressed to us or to
   * everybody, our own looped-back messages included. `NS_*` protocol messages
   * (acks, retransmission, ping status) are not delivered. `msg` is shared:
   * do not modify it.
   */
  | { type: "deliver"; from: string; origin: Origin; msg: CoreMessage }
  /**
   * `node` restarted (a status with a higher generation than the one we knew,
   * `Heartbeat restart on node X`): it may hold resources again (§4.2, §4.4).
   */
  | { type: "node-restart"; node: string; generation: number }
  /**
   * A node we had declared dead sent a newer status of the same generation:
   * a healed partition (`Cluster node X returning after partition.`). The
   * resource layer decides how to resolve it; the core only reports it.
   */
  | { type: "partition-healed"; node: string }
  /**
   * Our own looped-back heartbeats stopped for longer than our deadtime
   * (`No local heartbeat. Forcing restart.`). Heartbeat then performs its
   * shutdown-and-restart procedure (§4.3), and so does the master
   * (`MasterRuntime.restartProcedure`). Emitted once per episode (again only
   * after a local heartbeat was seen).
   */
  | { type: "restart-required"; reason: "no-local-heartbeat" }
  /**
   * Flow control engaged (`all clients are now paused`): stop reading API client requests
   * (the master calls `ApiServer.pauseClients`).
   */
  | { type: "clients-pause" }
  /** Flow control released (`all clients are now resumed`). */
  | { type: "clients-resume" }
  /** Exit the process with `code`. */
  | { type: "exit"; code: number };

/** The interface drivers (the real master, the simulator) use. */
export interface CoreLike {
  /** Feeds one event; returns the actions to carry out, in order. */
  handle(event: CoreEvent): CoreAction[];
  /**
   * The monotonic time at which the core wants its next `tick` (`Infinity`
   * when it needs none). Exact: no polling grid. Cost O(nodes × links).
   */
  nextDeadline(): number;
}
