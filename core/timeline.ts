/**
 * Timelines of failovers (deterministic, no I/O): fed the events and actions of one node's
 * core ({@link NodeCore}), it records for every peer declared dead when it was last heard,
 * when it was declared dead, when its fencing ended (STONITH), when each resource group taken
 * over started (or failed), and when the peer was first heard again. Times are the core's
 * monotonic ms; {@link FailoverTimeline.list} gives them as offsets from the declaration of
 * death, with the wall-clock time of that declaration.
 *
 * A take with reason `mach_down` belongs to the most recent failover still open; a failover
 * without groups to take (the dead node held none of ours) is recorded all the same.
 *
 * @module
 */

import type { NodeCoreAction, NodeCoreEvent } from "./node_core.ts";

/** One group started (or not) in a failover. */
export interface TimelineGroup {
  /** Group key. */
  readonly group: string;
  /** ms after the declaration of death the group's scripts began (else the take's start). */
  readonly takeStartedAfterMs: number;
  /** ms after the declaration of death it reported back (undefined: still running). */
  readonly doneAfterMs?: number;
  /** The script's outcome (`success`, `failure`, …; undefined: still running). */
  readonly result?: string;
}

/** A failover as {@link FailoverTimeline.list} reports it. */
export interface FailoverRecord {
  /** The node declared dead. */
  readonly node: string;
  /** Wall-clock time (ms since the epoch) of the declaration of death. */
  readonly deadAtMs: number;
  /** Silence before the declaration: ms since its last heartbeat (undefined: never heard). */
  readonly silenceMs?: number;
  /** ms after the declaration the fencing ended (undefined: no fencing). */
  readonly fenceDoneAfterMs?: number;
  /** Fencing outcome when fenced. */
  readonly fenceResult?: string;
  /** Groups taken over. */
  readonly groups: readonly TimelineGroup[];
  /** ms after the declaration the last group started (undefined: none, or some still running). */
  readonly completedAfterMs?: number;
  /** ms after the declaration the node was heard again (undefined: not yet). */
  readonly heardAgainAfterMs?: number;
}

interface Open {
  node: string;
  deadAt: number;
  deadWall: number;
  silence?: number;
  fenceDone?: number;
  fenceResult?: string;
  /** Take runs: id → keys pending. */
  runs: Map<number, Set<string>>;
  groups: { group: string; started: number; done?: number; result?: string }[];
  heardAgain?: number;
}

/** Keeps the last {@link FailoverTimeline.limit} failovers of one node. */
export class FailoverTimeline {
  /** How many failovers are kept. */
  readonly limit: number;
  readonly #self: string;
  readonly #list: Open[] = [];
  readonly #lastHeard = new Map<string, number>();

  /** `self`: our node name (never a failover of its own). */
  constructor(self: string, limit = 5) {
    this.#self = self;
    this.limit = limit;
  }

  /** One core step: the event fed and the actions it produced. */
  step(ev: NodeCoreEvent, actions: readonly NodeCoreAction[]): void {
    const now = ev.now;
    if (ev.type === "fenced") {
      const f = this.#latest(ev.node);
      if (f !== undefined && f.fenceDone === undefined) {
        f.fenceDone = now;
        f.fenceResult = ev.result;
      }
    } else if (ev.type === "group-result") {
      for (const f of this.#list) {
        const keys = f.runs.get(ev.id);
        if (keys === undefined || !keys.has(ev.key)) continue;
        keys.delete(ev.key);
        const g = f.groups.find((x) => x.group === ev.key && x.done === undefined);
        if (g !== undefined) {
          g.done = now;
          g.result = ev.result;
        }
      }
    }
    for (const a of actions) {
      switch (a.type) {
        case "deliver":
          if (a.from !== this.#self && a.msg.type.toLowerCase() === "status") {
            this.#lastHeard.set(a.from, now);
          }
          break;
        case "node-status":
          if (a.kind !== "normal" || a.node === this.#self) break;
          if (a.status === "dead" && a.previous !== "dead") {
            const heard = this.#lastHeard.get(a.node);
            this.#list.push({
              node: a.node,
              deadAt: now,
              deadWall: ev.wallClock,
              ...(heard !== undefined ? { silence: now - heard } : {}),
              runs: new Map(),
              groups: [],
            });
            while (this.#list.length > this.limit) this.#list.shift();
          } else if (a.status !== "dead") {
            const f = this.#latest(a.node);
            if (f !== undefined && f.heardAgain === undefined) f.heardAgain = now;
          }
          break;
        case "run":
          if (a.op === "take" && a.reason === "mach_down" && a.keys.length > 0) {
            const f = this.#list.findLast((x) => x.heardAgain === undefined);
            if (f === undefined) break;
            f.runs.set(a.id, new Set(a.keys));
            for (const k of a.keys) f.groups.push({ group: k, started: now });
          }
          break;
        default:
          break;
      }
    }
  }

  /**
   * The scripts of group `key` of take `id` begin now (the runner takes a run's groups one
   * after the other): its `takeStartedAfterMs` is this moment rather than the run's start.
   */
  groupBegin(id: number, key: string, now: number): void {
    for (const f of this.#list) {
      if (!f.runs.get(id)?.has(key)) continue;
      const g = f.groups.find((x) => x.group === key && x.done === undefined);
      if (g !== undefined) g.started = now;
    }
  }

  #latest(node: string): Open | undefined {
    return this.#list.findLast((x) => x.node === node);
  }

  /** The failovers kept, newest first. */
  list(): FailoverRecord[] {
    return this.#list.slice().reverse().map((f) => {
      const rel = (t: number) => Math.round(t - f.deadAt);
      const groups = f.groups.map((g) => ({
        group: g.group,
        takeStartedAfterMs: rel(g.started),
        ...(g.done !== undefined ? { doneAfterMs: rel(g.done) } : {}),
        ...(g.result !== undefined ? { result: g.result } : {}),
      }));
      const allDone = groups.length > 0 && f.groups.every((g) => g.done !== undefined);
      return {
        node: f.node,
        deadAtMs: Math.round(f.deadWall),
        ...(f.silence !== undefined ? { silenceMs: Math.round(f.silence) } : {}),
        ...(f.fenceDone !== undefined
          ? { fenceDoneAfterMs: rel(f.fenceDone), fenceResult: f.fenceResult }
          : {}),
        groups,
        ...(allDone ? { completedAfterMs: Math.max(...groups.map((g) => g.doneAfterMs!)) } : {}),
        ...(f.heardAgain !== undefined ? { heardAgainAfterMs: rel(f.heardAgain) } : {}),
      };
    });
  }
}
