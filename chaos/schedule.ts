/**
 * The fault vocabulary of `deno task chaos` and the seeded schedule of faults (pure: the same
 * seed, count and topology give the same schedule, so a failing run is replayed by its seed).
 *
 * @module
 */

import { type Random, randomInt, seededRandom } from "../core/random.ts";

/** What one fault does (applied, held, reverted; then the cluster must settle). */
export type FaultKind =
  /** SIGKILL of every process of a node and its links down (power loss); booted again. */
  | "kill"
  /** Graceful stop (SIGTERM), then started again. */
  | "stop"
  /** SIGSTOP of every process of a node past deadtime, then SIGCONT. */
  | "freeze"
  /** SIGSTOP of the master control process alone past deadtime, then SIGCONT. */
  | "freeze-master"
  /** The node's only link cut past deadtime (both sides take over: split brain), then healed. */
  | "partition"
  /** 30 % random loss both ways on a node's link for a few seconds. */
  | "loss"
  /** SIGKILL of one core worker (read, write or FIFO child) of a node. */
  | "worker-kill"
  /** `hb_standby` on the node that holds the group. */
  | "standby"
  /** `heartbeat -r` (reload) on a node. */
  | "reload"
  /** The service's start fails once on the node that would take it next. */
  | "script-fail";

/** Every fault kind, in report order. */
export const FAULT_KINDS: readonly FaultKind[] = [
  "kill",
  "stop",
  "freeze",
  "freeze-master",
  "partition",
  "loss",
  "worker-kill",
  "standby",
  "reload",
  "script-fail",
];

/** Which daemons run where. */
export type Topology = "hb-hb" | "hb3" | "mixed" | "heartbeat";

/** The node implementations of a topology, in node order. */
export function topologyImpls(t: Topology): ("hb" | "heartbeat")[] {
  switch (t) {
    case "hb-hb":
      return ["hb", "hb"];
    case "hb3":
      return ["hb", "hb", "hb"];
    case "mixed":
      return ["hb", "heartbeat"];
    case "heartbeat":
      return ["heartbeat", "heartbeat"];
  }
}

/** One scheduled fault. */
export interface Fault {
  /** Position in the schedule (1-based). */
  index: number;
  /** What. */
  kind: FaultKind;
  /**
   * Which node: an index into the topology's nodes, or `"holder"` for the node that holds the
   * group when the fault starts (standby, and the faults that matter most there).
   */
  target: number | "holder";
  /** How long the fault is held, in units of deadtime (1.5–3). */
  holdDeadtimes: number;
}

/** Faults whose target is drawn as "the holder" half of the time (the interesting case). */
const HOLDER_BIASED = new Set<FaultKind>(["kill", "stop", "freeze", "freeze-master", "partition"]);

/**
 * The schedule of `count` faults for `nodes` nodes drawn from `seed`. Every kind appears
 * before any repeats when `count` ≥ the number of kinds (a round-robin of shuffled rounds), so a
 * short run still covers the vocabulary. `kinds` limits the vocabulary (default: all).
 */
export function planSchedule(
  seed: number,
  count: number,
  nodes: number,
  kinds: readonly FaultKind[] = FAULT_KINDS,
): Fault[] {
  const random: Random = seededRandom(seed);
  const out: Fault[] = [];
  let round: FaultKind[] = [];
  for (let i = 1; i <= count; i++) {
    if (round.length === 0) round = shuffle([...kinds], random);
    const kind = round.shift()!;
    let target: number | "holder" = randomInt(random, 0, nodes - 1);
    if (kind === "standby" || (HOLDER_BIASED.has(kind) && random() < 0.5)) target = "holder";
    out.push({ index: i, kind, target, holdDeadtimes: 1.5 + randomInt(random, 0, 3) / 2 });
  }
  return out;
}

function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(random, 0, i);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** A one-line description of a fault, e.g. `#3 freeze holder 2.0×deadtime`. */
export function describeFault(f: Fault): string {
  const who = f.target === "holder" ? "holder" : `node${f.target + 1}`;
  return `#${f.index} ${f.kind} ${who} ${f.holdDeadtimes.toFixed(1)}×deadtime`;
}
