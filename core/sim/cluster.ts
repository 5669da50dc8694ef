/**
 * A simulated cluster: several cores on a virtual clock, joined by simulated
 * broadcast media. Whole scenarios (start-up, a node dying, loss, partitions)
 * run in milliseconds of real time and are fully deterministic (seeded
 * randomness for loss and for every core).
 *
 * ```ts
 * const sim = new SimCluster({ nodes: ["node1", "node2"], links: ["eth0"] });
 * sim.startAll();
 * sim.runFor(3000);
 * sim.kill("node2");
 * sim.runFor(2000);
 * sim.logs("node1"); // includes "WARN: node node2: is dead"
 * ```
 *
 * Like the real I/O shell, the simulator keeps the last 500 sequenced
 * messages each node sent and answers `rexmit` actions by delivering the very
 * same message object again (byte-identical retransmission). Ping nodes are
 * simulated responders: every `status` a node sends makes each reachable ping
 * node answer with `NS_st st=ping` on that ping node's own medium.
 *
 * @module
 */

import { MinHeap } from "../heap.ts";
import { HbCore } from "../core.ts";
import { CoreMessage } from "../message.ts";
import { type Random, seededRandom } from "../random.ts";
import type { CoreAction, CoreConfig, CoreEvent, Priority } from "../types.ts";
import { HISTORY_SIZE } from "../types.ts";
import type { TestLossOptions } from "../test_loss.ts";

/** A log line produced in the simulation, with its virtual time. */
export interface SimLogLine {
  /** Virtual time in ms since the simulation began. */
  at: number;
  /** Priority word. */
  prio: Priority;
  /** Text. */
  text: string;
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

/** Decides whether to drop one delivery (`from` → `to` on `link`). */
export type DropFilter = (from: string, to: string, link: string, msg: CoreMessage) => boolean;

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
  /** PRNG seed for loss and for the cores' randomness (default 1). */
  seed?: number;
}

interface Pending {
  at: number;
  order: number;
  run: () => void;
  cancelled: boolean;
}

interface SimNode {
  name: string;
  core: HbCore;
  alive: boolean;
  frozen: boolean;
  restarts: number;
  backlog: CoreEvent[];
  logs: SimLogLine[];
  actions: CoreAction[];
  wire: SimWireLine[];
  /** Our sent sequenced messages by seq (the shell's byte store). */
  stored: Map<number, CoreMessage>;
  tick: Pending | undefined;
  wallOffset: number;
}

/** Start of the simulated wall clock (ms since the epoch). */
export const SIM_EPOCH_MS = 1_795_000_000_000;

/** A cluster of cores on a virtual clock. */
export class SimCluster {
  /** Current virtual time (ms). */
  now = 0;
  readonly #opts: Required<SimOptions>;
  readonly #nodes = new Map<string, SimNode>();
  readonly #heap = new MinHeap<Pending>((a, b) =>
    a.at < b.at || (a.at === b.at && a.order < b.order)
  );
  #order = 0;
  readonly #random: Random;
  /** Link cuts: "node/link" → true when that node's attachment to the link is down. */
  readonly #cut = new Set<string>();
  /** Loss percentage per "node/link" (applied to packets that node receives). */
  readonly #loss = new Map<string, number>();
  readonly #unreachablePings = new Set<string>();
  #dropFilter: DropFilter | undefined;
  /** Number of events fed to cores so far. */
  eventCount = 0;

  /** Builds the cluster (nodes are not started yet). */
  constructor(opts: SimOptions) {
    const deadtimeMs = opts.deadtimeMs ?? 500;
    this.#opts = {
      pingNodes: [],
      keepaliveMs: 100,
      deadtimeMs,
      warntimeMs: 250,
      initdeadMs: 1000,
      deadpingMs: deadtimeMs,
      maxRexmitDelayMs: 250,
      latencyMs: 1,
      seed: 1,
      ...opts,
    };
    this.#random = seededRandom(this.#opts.seed);
    opts.nodes.forEach((name) => this.#nodes.set(name, this.#makeNode(name)));
  }

  /** All media of a core: the broadcast links, then one per ping node. */
  get media(): string[] {
    return [...this.#opts.links, ...this.#opts.pingNodes];
  }

  #makeNode(name: string, restarts = 0): SimNode {
    const o = this.#opts;
    const idx = o.nodes.indexOf(name);
    const cfg: CoreConfig = {
      nodeName: name,
      nodes: o.nodes,
      pingNodes: o.pingNodes,
      links: this.media,
      keepaliveMs: o.keepaliveMs,
      deadtimeMs: o.deadtimeMs,
      warntimeMs: o.warntimeMs,
      initdeadMs: o.initdeadMs,
      deadpingMs: o.deadpingMs,
      hopfudge: 1,
      generation: 1000 + idx * 100 + restarts,
      uuid: new Uint8Array(16).fill(idx + 1),
      maxRexmitDelayMs: o.maxRexmitDelayMs,
      random: seededRandom(o.seed * 7919 + idx * 104729 + restarts),
    };
    return {
      name,
      core: new HbCore(cfg),
      alive: false,
      frozen: false,
      restarts,
      backlog: [],
      logs: [],
      actions: [],
      wire: [],
      stored: new Map(),
      tick: undefined,
      wallOffset: 0,
    };
  }

  /** The core of a node (to inspect its state). */
  core(name: string): HbCore {
    return this.#node(name).core;
  }

  /** Log lines of a node, formatted `PRIO: text`. */
  logs(name: string): string[] {
    return this.#node(name).logs.map((l) => `${l.prio}: ${l.text}`);
  }

  /** Log lines of a node with their virtual times. */
  logLines(name: string): SimLogLine[] {
    return this.#node(name).logs;
  }

  /** Every action a node's core produced, in order. */
  actions(name: string): CoreAction[] {
    return this.#node(name).actions;
  }

  /** Everything a node put on the wire (sends and retransmissions), in order. */
  wire(name: string): SimWireLine[] {
    return this.#node(name).wire;
  }

  #node(name: string): SimNode {
    const n = this.#nodes.get(name);
    if (!n) throw new Error(`no simulated node ${name}`);
    return n;
  }

  /** Starts every node at the current time. */
  startAll(): void {
    for (const n of this.#nodes.values()) this.start(n.name);
  }

  /** Starts (or restarts with a new generation) one node. */
  start(name: string): void {
    let n = this.#node(name);
    if (n.alive || n.actions.length > 0) {
      // a restart gets a higher generation, as hb_generation would give it
      this.#cancelTick(n);
      const fresh = this.#makeNode(name, n.restarts + 1);
      fresh.logs = n.logs;
      fresh.actions = n.actions;
      fresh.wire = n.wire;
      fresh.wallOffset = n.wallOffset;
      this.#nodes.set(name, fresh);
      n = fresh;
    }
    n.alive = true;
    this.#feed(n, { type: "start", now: this.now, wallClock: this.#wall(n) });
  }

  /** Kills a node hard: it stops processing and sending at once. */
  kill(name: string): void {
    const n = this.#node(name);
    n.alive = false;
    this.#cancelTick(n);
  }

  /** Freezes a node (SIGSTOP): events for it wait until {@link thaw}. */
  freeze(name: string): void {
    this.#node(name).frozen = true;
  }

  /** Resumes a frozen node: it first sees the time jump, then the packets that queued up. */
  thaw(name: string): void {
    const n = this.#node(name);
    n.frozen = false;
    const backlog = n.backlog;
    n.backlog = [];
    this.#feed(n, { type: "tick", now: this.now, wallClock: this.#wall(n) });
    for (const ev of backlog) this.#feed(n, { ...ev, now: this.now, wallClock: this.#wall(n) });
  }

  /** Cuts (or restores) one node's attachment to a link. */
  setLinkCut(name: string, link: string, cut: boolean): void {
    const key = `${name}/${link}`;
    if (cut) this.#cut.add(key);
    else this.#cut.delete(key);
  }

  /** Sets random loss (percent) of packets a node receives on a link (seeded PRNG). */
  setLoss(name: string, link: string, percent: number): void {
    this.#loss.set(`${name}/${link}`, percent);
  }

  /** Sets (or, with `undefined`, clears) a node's `OnlyForTesting` options. */
  setTestLoss(name: string, options: TestLossOptions | undefined): void {
    const n = this.#node(name);
    this.#feed(n, { type: "test-loss", now: this.now, wallClock: this.#wall(n), options });
  }

  /** Installs (or removes) a filter dropping chosen deliveries. */
  setDropFilter(filter: DropFilter | undefined): void {
    this.#dropFilter = filter;
  }

  /** Makes a ping node answer (or stop answering). */
  setPingReachable(ping: string, reachable: boolean): void {
    if (reachable) this.#unreachablePings.delete(ping);
    else this.#unreachablePings.add(ping);
  }

  /** Shifts a node's wall clock by `offsetMs` (negative = backwards jump now). */
  setWallClockOffset(name: string, offsetMs: number): void {
    this.#node(name).wallOffset = offsetMs;
  }

  /** Feeds a FIFO message (message-specific fields only) to a node. */
  fifo(name: string, fields: Record<string, string>): void {
    const n = this.#node(name);
    this.#feed(n, {
      type: "message",
      now: this.now,
      wallClock: this.#wall(n),
      origin: { kind: "fifo" },
      msg: CoreMessage.of(fields),
    });
  }

  /** Feeds any event to a node right now (its `now`/`wallClock` are overwritten). */
  feed(name: string, ev: CoreEvent): void {
    const n = this.#node(name);
    this.#feed(n, { ...ev, now: this.now, wallClock: this.#wall(n) });
  }

  /** Delivers a crafted message to `to` on medium `channel` after the link latency. */
  deliverTo(to: string, channel: number, msg: CoreMessage): void {
    this.#schedule(this.now + this.#opts.latencyMs, () => {
      const target = this.#nodes.get(to)!;
      this.#feed(target, {
        type: "message",
        now: this.now,
        wallClock: this.#wall(target),
        origin: { kind: "medium", channel },
        msg,
      });
    });
  }

  /** Runs the simulation for `ms` of virtual time. */
  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  /** Runs until virtual time `t`. */
  runUntil(t: number): void {
    while (this.#heap.size > 0) {
      const next = this.#heap.peek()!;
      if (next.cancelled) {
        this.#heap.pop();
        continue;
      }
      if (next.at > t) break;
      this.#heap.pop();
      this.now = next.at;
      next.run();
    }
    this.now = t;
  }

  /** Runs until `pred()` holds or `maxMs` passes; returns whether it held. */
  runUntilTrue(pred: () => boolean, maxMs: number, stepMs = 10): boolean {
    const end = this.now + maxMs;
    while (this.now < end) {
      if (pred()) return true;
      this.runFor(Math.min(stepMs, end - this.now));
    }
    return pred();
  }

  #wall(n: SimNode): number {
    return SIM_EPOCH_MS + this.now + n.wallOffset;
  }

  #schedule(at: number, run: () => void): Pending {
    const p: Pending = { at, order: this.#order++, run, cancelled: false };
    this.#heap.push(p);
    return p;
  }

  #cancelTick(n: SimNode): void {
    if (n.tick) n.tick.cancelled = true;
    n.tick = undefined;
  }

  #feed(n: SimNode, ev: CoreEvent): void {
    if (!n.alive) return;
    if (n.frozen) {
      if (ev.type === "message") n.backlog.push(ev);
      return;
    }
    this.eventCount++;
    const actions = n.core.handle(ev);
    for (const a of actions) {
      n.actions.push(a);
      switch (a.type) {
        case "log":
          n.logs.push({ at: this.now, prio: a.prio, text: a.text });
          break;
        case "send":
          if (a.seq !== undefined) {
            n.stored.set(a.seq, a.msg);
            n.stored.delete(a.seq - HISTORY_SIZE);
          }
          if (a.lost) break; // OnlyForTesting's xmitloss: stored, never sent
          n.wire.push({ at: this.now, rexmit: false, msg: a.msg });
          this.#broadcast(n.name, a.msg);
          if (a.msg.type === "status") this.#pings(n.name);
          break;
        case "rexmit": {
          const stored = n.stored.get(a.seq);
          if (!stored) throw new Error(`${n.name}: rexmit of unknown seq ${a.seq}`);
          if (a.lost) break;
          n.wire.push({ at: this.now, rexmit: true, msg: stored });
          this.#broadcast(n.name, stored);
          break;
        }
        case "exit":
          n.alive = false;
          break;
      }
    }
    this.#armTick(n);
  }

  #armTick(n: SimNode): void {
    if (!n.alive) {
      this.#cancelTick(n);
      return;
    }
    const at = Math.max(this.now, n.core.nextDeadline());
    if (n.tick && !n.tick.cancelled && n.tick.at === at) return;
    this.#cancelTick(n);
    if (!Number.isFinite(at)) return;
    n.tick = this.#schedule(at, () => {
      n.tick = undefined;
      this.#feed(n, { type: "tick", now: this.now, wallClock: this.#wall(n) });
    });
  }

  /** Delivers `msg` from `from` on every link to every attached node (itself included). */
  #broadcast(from: string, msg: CoreMessage): void {
    this.#opts.links.forEach((link, channel) => {
      if (this.#cut.has(`${from}/${link}`)) return;
      for (const to of this.#nodes.values()) {
        if (this.#cut.has(`${to.name}/${link}`)) continue;
        const loss = this.#loss.get(`${to.name}/${link}`) ?? 0;
        if (loss > 0 && this.#random() * 100 < loss) continue;
        if (this.#dropFilter && this.#dropFilter(from, to.name, link, msg)) continue;
        const name = to.name;
        this.#schedule(this.now + this.#opts.latencyMs, () => {
          const target = this.#nodes.get(name)!;
          this.#feed(target, {
            type: "message",
            now: this.now,
            wallClock: this.#wall(target),
            origin: { kind: "medium", channel },
            msg,
          });
        });
      }
    });
  }

  /** Echo replies of the reachable ping nodes to a status `from` sent. */
  #pings(from: string): void {
    const base = this.#opts.links.length;
    this.#opts.pingNodes.forEach((ping, i) => {
      if (this.#unreachablePings.has(ping)) return;
      this.#schedule(this.now + 2 * this.#opts.latencyMs, () => {
        const target = this.#nodes.get(from)!;
        const reply = CoreMessage.of({
          t: "NS_st",
          st: "ping",
          info: "ping",
          src: ping,
          ts: Math.floor(this.#wall(target) / 1000).toString(16),
        });
        this.#feed(target, {
          type: "message",
          now: this.now,
          wallClock: this.#wall(target),
          origin: { kind: "medium", channel: base + i },
          msg: reply,
        });
      });
    });
  }
}
