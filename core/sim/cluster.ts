/**
 * A simulated cluster: several cores on a virtual clock, joined by simulated
 * media. Whole scenarios (start-up, a node dying, loss, partitions) run in
 * milliseconds of real time and are fully deterministic (seeded randomness).
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
 * @module
 */

import { HbCore } from "../core.ts";
import type { CoreMessage } from "../message.ts";
import type { CoreAction, CoreConfig, CoreEvent, Priority } from "../types.ts";

/** A log line produced in the simulation, with its virtual time. */
export interface SimLogLine {
  /** Virtual time in ms since the simulation began. */
  at: number;
  /** Priority word. */
  prio: Priority;
  /** Text. */
  text: string;
}

/** Options of a simulated cluster. */
export interface SimOptions {
  /** Node names (ha.cf order). */
  nodes: string[];
  /** Link names; every node has every link, all links are broadcast segments. */
  links: string[];
  /** Timers (defaults: keepalive 100, deadtime 500, warntime 250, initdead 1000). */
  keepaliveMs?: number;
  /** Dead time. */
  deadtimeMs?: number;
  /** Warn time. */
  warntimeMs?: number;
  /** Initial dead time. */
  initdeadMs?: number;
  /** One-way delivery latency on every link (default 1 ms). */
  latencyMs?: number;
  /** PRNG seed for loss (default 1). */
  seed?: number;
}

interface Pending {
  at: number;
  order: number;
  run: () => void;
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
}

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A cluster of cores on a virtual clock. */
export class SimCluster {
  /** Current virtual time (ms). */
  now = 0;
  readonly #opts: Required<SimOptions>;
  readonly #nodes = new Map<string, SimNode>();
  #queue: Pending[] = [];
  #order = 0;
  #random: () => number;
  /** Link cuts: "node/link" → true when that node's attachment to the link is down. */
  readonly #cut = new Set<string>();
  /** Loss percentage per "node/link" (applied to packets that node receives). */
  readonly #loss = new Map<string, number>();
  readonly #ticks = new Map<string, Pending>();

  /** Builds the cluster (nodes are not started yet). */
  constructor(opts: SimOptions) {
    this.#opts = {
      keepaliveMs: 100,
      deadtimeMs: 500,
      warntimeMs: 250,
      initdeadMs: 1000,
      latencyMs: 1,
      seed: 1,
      ...opts,
    };
    this.#random = prng(this.#opts.seed);
    opts.nodes.forEach((name) => this.#nodes.set(name, this.#makeNode(name)));
  }

  #makeNode(name: string, restarts = 0): SimNode {
    const o = this.#opts;
    const idx = o.nodes.indexOf(name);
    const cfg: CoreConfig = {
      nodeName: name,
      nodes: o.nodes,
      pingNodes: [],
      links: o.links,
      keepaliveMs: o.keepaliveMs,
      deadtimeMs: o.deadtimeMs,
      warntimeMs: o.warntimeMs,
      initdeadMs: o.initdeadMs,
      deadpingMs: o.deadtimeMs,
      hopfudge: 1,
      generation: 1000 + idx * 100 + restarts,
      uuid: new Uint8Array(16).fill(idx + 1),
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
      const fresh = this.#makeNode(name, n.restarts + 1);
      fresh.logs = n.logs;
      fresh.actions = n.actions;
      this.#nodes.set(name, fresh);
      n = fresh;
    }
    n.alive = true;
    this.#feed(n, { type: "start", now: this.now, wallClock: this.#wall() });
  }

  /** Kills a node hard: it stops processing and sending at once. */
  kill(name: string): void {
    const n = this.#node(name);
    n.alive = false;
    const t = this.#ticks.get(name);
    if (t) this.#queue = this.#queue.filter((p) => p !== t);
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
    this.#feed(n, { type: "tick", now: this.now, wallClock: this.#wall() });
    for (const ev of backlog) this.#feed(n, { ...ev, now: this.now, wallClock: this.#wall() });
  }

  /** Cuts (or restores) one node's attachment to a link. */
  setLinkCut(name: string, link: string, cut: boolean): void {
    const key = `${name}/${link}`;
    if (cut) this.#cut.add(key);
    else this.#cut.delete(key);
  }

  /** Sets random loss (percent) of packets a node receives on a link. */
  setLoss(name: string, link: string, percent: number): void {
    this.#loss.set(`${name}/${link}`, percent);
  }

  /** Runs the simulation for `ms` of virtual time. */
  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  /** Runs until virtual time `t`. */
  runUntil(t: number): void {
    while (true) {
      this.#queue.sort((a, b) => a.at - b.at || a.order - b.order);
      const next = this.#queue[0];
      if (!next || next.at > t) break;
      this.#queue.shift();
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

  #wall(): number {
    return 1_795_000_000_000 + this.now;
  }

  #schedule(at: number, run: () => void): Pending {
    const p = { at, order: this.#order++, run };
    this.#queue.push(p);
    return p;
  }

  #feed(n: SimNode, ev: CoreEvent): void {
    if (!n.alive) return;
    if (n.frozen) {
      if (ev.type === "message") n.backlog.push(ev);
      return;
    }
    const actions = n.core.handle(ev);
    for (const a of actions) {
      n.actions.push(a);
      if (a.type === "log") n.logs.push({ at: this.now, prio: a.prio, text: a.text });
      else if (a.type === "send") this.#deliver(n.name, a.msg);
      else if (a.type === "exit") n.alive = false;
    }
    this.#armTick(n);
  }

  #armTick(n: SimNode): void {
    const old = this.#ticks.get(n.name);
    if (old) this.#queue = this.#queue.filter((p) => p !== old);
    if (!n.alive) return;
    const at = Math.max(this.now, n.core.nextDeadline());
    if (!Number.isFinite(at)) return;
    const p = this.#schedule(at, () => {
      this.#ticks.delete(n.name);
      this.#feed(n, { type: "tick", now: this.now, wallClock: this.#wall() });
    });
    this.#ticks.set(n.name, p);
  }

  #deliver(from: string, msg: CoreMessage): void {
    this.#opts.links.forEach((link, channel) => {
      if (this.#cut.has(`${from}/${link}`)) return;
      for (const to of this.#nodes.values()) {
        if (this.#cut.has(`${to.name}/${link}`)) continue;
        const loss = this.#loss.get(`${to.name}/${link}`) ?? 0;
        if (loss > 0 && this.#random() * 100 < loss) continue;
        const copy = msg.clone();
        this.#schedule(this.now + this.#opts.latencyMs, () => {
          const target = this.#nodes.get(to.name)!;
          this.#feed(target, {
            type: "message",
            now: this.now,
            wallClock: this.#wall(),
            origin: { kind: "medium", channel },
            msg: copy,
          });
        });
      }
    });
  }
}
