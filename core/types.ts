/**
 * Events into and actions out of the deterministic core.
 *
 * The core never reads a clock: every event carries `now`, a monotonic time
 * in milliseconds chosen by the driver (the real master uses
 * `performance.now()`, tests use a simulated clock). The driver asks
 * {@link CoreLike.nextDeadline} when to deliver the next `tick`.
 *
 * @module
 */

import type { CoreMessage } from "./message.ts";

/** Heartbeat's log priority words. */
export type Priority = "EMERG" | "ALERT" | "CRIT" | "ERROR" | "WARN" | "notice" | "info" | "debug";

/** Status of a cluster node as Heartbeat names it. */
export type NodeStatus = "init" | "up" | "active" | "dead" | "ping";

/** Status of one heartbeat link (node × medium). */
export type LinkStatus = "up" | "dead";

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
  /** `hopfudge` (ttl = hopfudge + number of nodes). */
  hopfudge: number;
  /** Our generation number. */
  generation: number;
  /** Our uuid (16 bytes). */
  uuid: Uint8Array;
}

/** Where a received message came from. */
export type Origin =
  | { kind: "medium"; channel: number }
  | { kind: "fifo" }
  | { kind: "loopback" };

/** An input to the core. */
export type CoreEvent =
  | { type: "start"; now: number; wallClock: number; loadavg?: string }
  | { type: "tick"; now: number; wallClock: number; loadavg?: string }
  | { type: "message"; now: number; wallClock: number; origin: Origin; msg: CoreMessage }
  | { type: "shutdown"; now: number; wallClock: number };

/** An output of the core, carried out by the driver. */
export type CoreAction =
  | { type: "send"; msg: CoreMessage }
  | { type: "log"; prio: Priority; text: string }
  | { type: "node-status"; node: string; status: NodeStatus; previous: NodeStatus }
  | { type: "link-status"; node: string; link: string; status: LinkStatus }
  | { type: "comm-up" }
  | { type: "exit"; code: number };

/** The interface drivers (the real master, the simulator) use. */
export interface CoreLike {
  /** Feeds one event; returns the actions to carry out, in order. */
  handle(event: CoreEvent): CoreAction[];
  /** The monotonic time at which the core wants its next `tick`. */
  nextDeadline(): number;
}
