/**
 * Test harness for {@link Ownership}: two or more ownership machines on a
 * virtual clock, a small fake membership (heartbeats every keepalive,
 * deadtime/initdead, late heartbeats, restarts, partitions, pauses), a fake
 * resource executor that runs `run` actions serially with a configurable
 * delay per group, and a broadcast network that delivers every sent message
 * to every other running node (the sender already processed its own copy).
 * Independent of core/sim.
 *
 * @module
 */

import { CoreMessage } from "../message.ts";
import { Ownership } from "./ownership.ts";
import type {
  FailbackMode,
  LogLine,
  OwnedGroup,
  OwnershipAction,
  OwnershipConfig,
  OwnershipEvent,
  PeerStatus,
} from "./types.ts";

/** Options of {@link OwnershipHarness}. */
export interface HarnessOptions {
  /** Node names in ha.cf order. */
  nodes: string[];
  /** haresources groups. */
  groups: OwnedGroup[];
  /** auto_failback. */
  autoFailback: FailbackMode;
  /** keepalive (default 1000). */
  keepaliveMs?: number;
  /** deadtime (default 5000). */
  deadtimeMs?: number;
  /** initdead (default 10000). */
  initdeadMs?: number;
  /** One-way network delay (default 2). */
  netDelayMs?: number;
  /** Time one group action takes (default 50). */
  scriptMs?: number;
  /** `node:key` pairs whose start fails. */
  failStart?: string[];
  /** Extra ownership configuration. */
  config?: Partial<OwnershipConfig>;
}

/** A recorded wire message. */
export interface WireRecord {
  /** Virtual time. */
  t: number;
  /** Sender. */
  node: string;
  /** `t=… k=v …` in field order. */
  text: string;
}

/** A recorded log line. */
export interface LogRecord {
  /** Virtual time. */
  t: number;
  /** Node. */
  node: string;
  /** The line. */
  line: LogLine;
}

interface View {
  status: PeerStatus | "unknown";
  lastHeard: number;
  gen: number;
}

interface SimNode {
  name: string;
  own: Ownership | null;
  running: boolean;
  paused: boolean;
  backlog: (() => void)[];
  gen: number;
  startedAt: number;
  commUp: boolean;
  views: Map<string, View>;
  resources: Set<string>;
  queue: {
    id: number;
    op: "take" | "give" | "announce";
    keys: string[];
    announce: Record<string, LogLine[]>;
  }[];
  busy: boolean;
  tickAt: number;
}

/** Formats a message as `t=x a=b …`. */
export function messageText(msg: CoreMessage): string {
  return msg.fields.map(([k, v]) => `${k}=${typeof v === "string" ? v : "<bin>"}`).join(" ");
}

/** Two or more ownership machines on a virtual clock. */
export class OwnershipHarness {
  /** Virtual time, ms. */
  now = 0;
  /** Every message sent, in wire order. */
  readonly wire: WireRecord[] = [];
  /** Every log line. */
  readonly logs: LogRecord[] = [];
  /** Group starts per `node:key`, with times (for duplicate checks). */
  readonly starts: { t: number; node: string; key: string }[] = [];
  readonly #opt: Required<Omit<HarnessOptions, "config" | "failStart">> & {
    config: Partial<OwnershipConfig>;
    failStart: Set<string>;
  };
  readonly #nodes = new Map<string, SimNode>();
  readonly #cut = new Set<string>();
  #events: { at: number; seq: number; fn: () => void }[] = [];
  #seq = 0;
  #drops: ((from: string, text: string) => boolean)[] = [];

  /** Creates the cluster (no node running yet). */
  constructor(opt: HarnessOptions) {
    this.#opt = {
      keepaliveMs: 1000,
      deadtimeMs: 5000,
      initdeadMs: 10000,
      netDelayMs: 2,
      scriptMs: 50,
      ...opt,
      config: opt.config ?? {},
      failStart: new Set(opt.failStart ?? []),
    };
    for (const n of opt.nodes) {
      this.#nodes.set(n, {
        name: n,
        own: null,
        running: false,
        paused: false,
        backlog: [],
        gen: 0,
        startedAt: 0,
        commUp: false,
        views: new Map(),
        resources: new Set(),
        queue: [],
        busy: false,
        tickAt: Infinity,
      });
    }
  }

  /** The node's ownership machine (throws when not running). */
  own(node: string): Ownership {
    const o = this.#node(node).own;
    if (o === null) throw new Error(`${node} not running`);
    return o;
  }

  /** Groups currently running on `node` (per the fake executor). */
  running(node: string): string[] {
    return this.#opt.groups.map((g) => g.key).filter((k) => this.#node(node).resources.has(k));
  }

  /** Nodes running `key`. */
  holders(key: string): string[] {
    return this.#opt.nodes.filter((n) => this.#node(n).resources.has(key));
  }

  /** Log texts of `node` (optionally since time `since`). */
  logTexts(node: string, since = 0): string[] {
    return this.logs.filter((l) => l.node === node && l.t >= since).map((l) => l.line.text);
  }

  /** Wire texts of `node` (without the routine fields), optionally since `since`. */
  wireOf(node: string, since = 0): string[] {
    return this.wire.filter((w) => w.node === node && w.t >= since).map((w) => w.text);
  }

  /** All wire texts as `node: text` since `since`. */
  wireAll(since = 0): string[] {
    return this.wire.filter((w) => w.t >= since).map((w) => `${w.node}: ${w.text}`);
  }

  // ----------------------------------------------------------- scenario controls

  /** Starts heartbeat on `node`. */
  start(node: string): void {
    const n = this.#node(node);
    n.own = new Ownership({
      nodeName: node,
      nodes: this.#opt.nodes,
      groups: this.#opt.groups,
      autoFailback: this.#opt.autoFailback,
      keepaliveMs: this.#opt.keepaliveMs,
      ...this.#opt.config,
    });
    n.running = true;
    n.paused = false;
    n.gen++;
    n.startedAt = this.now;
    n.commUp = false;
    n.tickAt = Infinity;
    n.queue = [];
    n.busy = false;
    n.views = new Map();
    for (const p of this.#opt.nodes) {
      if (p !== node) n.views.set(p, { status: "unknown", lastHeard: -Infinity, gen: 0 });
    }
    const gen = n.gen;
    const beat = () => {
      if (!n.running || n.gen !== gen) return;
      if (!n.paused) this.#heartbeat(n);
      this.#at(this.now + this.#opt.keepaliveMs, beat);
    };
    this.#at(this.now, beat);
    this.#at(this.now + this.#opt.initdeadMs, () => {
      if (n.gen === gen) this.#initdead(n);
    });
  }

  /** SIGKILL of all heartbeat processes; `wipe` also stops its resources (reboot). */
  kill(node: string, wipe = true): void {
    const n = this.#node(node);
    n.running = false;
    n.own = null;
    n.queue = [];
    n.busy = false;
    n.gen++;
    if (wipe) n.resources.clear();
  }

  /** SIGTERM. */
  shutdown(node: string): void {
    this.#feed(this.#node(node), { type: "shutdown-request", now: this.now });
  }

  /** hb_standby ARG on `node` (through the FIFO). */
  hbStandby(node: string, arg: "all" | "local" | "foreign" | "failback" = "all"): void {
    const cls = arg === "failback" ? "foreign" : arg;
    this.logs.push({
      t: this.now,
      node,
      line: { prio: "", text: `Going standby [${cls}].`, tag: "hb_standby" },
    });
    this.#fifo(node, new CoreMessage([["t", "ask_resources"], ["rsc_hold", cls], ["info", "me"]]));
  }

  /** hb_takeover ARG on `node`. */
  hbTakeover(node: string, arg: "all" | "local" | "foreign" | "failback" = "all"): void {
    this.#fifo(node, new CoreMessage([["t", "hb_takeover"], ["rsc_hold", arg]]));
  }

  /** Cuts (or restores) the link between `a` and `b`. */
  setLink(a: string, b: string, up: boolean): void {
    const k = [a, b].sort().join("|");
    if (up) this.#cut.delete(k);
    else this.#cut.add(k);
  }

  /** Freezes `node` (SIGSTOP): it neither sends nor processes until {@link resume}. */
  pause(node: string): void {
    this.#node(node).paused = true;
  }

  /** Resumes a paused node: backlog first, then its overdue deadlines. */
  resume(node: string): void {
    const n = this.#node(node);
    n.paused = false;
    const b = n.backlog;
    n.backlog = [];
    for (const f of b) f();
    for (const p of n.views.keys()) this.#deadCheck(n, p);
    this.#scheduleTick(n);
  }

  /** Drops the next message (from `from`) whose text matches `re`. */
  dropNext(from: string, re: RegExp): void {
    this.#drops.push((f, text) => f === from && re.test(text));
  }

  /** Runs the simulation until virtual time `t`. */
  runUntil(t: number): void {
    for (;;) {
      this.#events.sort((x, y) => x.at - y.at || x.seq - y.seq);
      const e = this.#events[0];
      if (e === undefined || e.at > t) break;
      this.#events.shift();
      this.now = Math.max(this.now, e.at);
      e.fn();
    }
    this.now = Math.max(this.now, t);
  }

  /** Runs for `ms` more. */
  advance(ms: number): void {
    this.runUntil(this.now + ms);
  }

  // ----------------------------------------------------------- internals

  #node(name: string): SimNode {
    const n = this.#nodes.get(name);
    if (n === undefined) throw new Error(`unknown node ${name}`);
    return n;
  }

  #at(at: number, fn: () => void): void {
    this.#events.push({ at, seq: this.#seq++, fn });
  }

  #linked(a: string, b: string): boolean {
    return !this.#cut.has([a, b].sort().join("|"));
  }

  /** Runs `fn` on `n` now, or later when paused. */
  #onNode(n: SimNode, fn: () => void): void {
    if (!n.running) return;
    if (n.paused) n.backlog.push(fn);
    else fn();
  }

  #heartbeat(s: SimNode): void {
    const status: PeerStatus = s.commUp ? "active" : "up";
    const gen = s.gen;
    for (const r of this.#nodes.values()) {
      if (r === s || !this.#linked(r.name, s.name)) continue;
      this.#at(
        this.now + this.#opt.netDelayMs,
        () => this.#onNode(r, () => this.#hear(r, s.name, gen, status)),
      );
    }
  }

  #hear(r: SimNode, from: string, gen: number, status: PeerStatus): void {
    const v = r.views.get(from)!;
    if (gen < v.gen) return;
    if (v.gen !== 0 && gen > v.gen) {
      this.#feed(r, { type: "node-restart", now: this.now, node: from });
    } else if (v.status === "dead" && gen === v.gen) {
      this.#feed(r, { type: "partition-healed", now: this.now, node: from });
    } else if (
      v.status !== "dead" && v.status !== "unknown" && this.now - v.lastHeard > this.#opt.deadtimeMs
    ) {
      // late heartbeat (> deadtime) from a node not yet declared dead
      this.#declareDead(r, from, v);
    }
    v.gen = gen;
    const prev = v.status;
    v.lastHeard = this.now;
    if (prev !== status) {
      v.status = status;
      this.#feed(r, {
        type: "node-status",
        now: this.now,
        node: from,
        status,
        previous: prev === "unknown" ? "init" : prev,
      });
    }
    this.#at(
      this.now + this.#opt.deadtimeMs + 1,
      () => this.#onNode(r, () => this.#deadCheck(r, from)),
    );
    this.#maybeCommUp(r);
  }

  #declareDead(r: SimNode, peer: string, v: View): void {
    const prev = v.status;
    v.status = "dead";
    this.logs.push({
      t: this.now,
      node: r.name,
      line: { prio: "WARN", text: `node ${peer}: is dead`, tag: "heartbeat" },
    });
    this.#feed(r, {
      type: "node-status",
      now: this.now,
      node: peer,
      status: "dead",
      previous: prev === "unknown" ? "init" : prev,
      lastHeard: Number.isFinite(v.lastHeard) ? v.lastHeard : undefined,
    });
  }

  #deadCheck(r: SimNode, peer: string): void {
    if (!r.running || r.paused) return;
    const v = r.views.get(peer)!;
    if (v.status === "dead" || v.status === "unknown") return;
    if (this.now - v.lastHeard > this.#opt.deadtimeMs) this.#declareDead(r, peer, v);
  }

  #initdead(n: SimNode): void {
    this.#onNode(n, () => {
      for (const [p, v] of n.views) {
        if (v.status === "unknown") this.#declareDead(n, p, v);
      }
      this.#commUp(n);
    });
  }

  #maybeCommUp(n: SimNode): void {
    if (n.commUp) return;
    for (const v of n.views.values()) if (v.status === "unknown") return;
    this.#commUp(n);
  }

  #commUp(n: SimNode): void {
    if (n.commUp) return;
    n.commUp = true;
    this.#heartbeat(n);
    this.#feed(n, { type: "comm-up", now: this.now });
  }

  #fifo(node: string, msg: CoreMessage): void {
    const n = this.#node(node);
    this.#onNode(n, () => {
      this.#feed(n, { type: "message", now: this.now, from: node, msg });
      this.#broadcast(n, msg);
    });
  }

  #broadcast(s: SimNode, msg: CoreMessage): void {
    const text = messageText(msg);
    const i = this.#drops.findIndex((d) => d(s.name, text));
    this.wire.push({ t: this.now, node: s.name, text: i >= 0 ? `${text} [DROPPED]` : text });
    if (i >= 0) {
      this.#drops.splice(i, 1);
      return;
    }
    for (const r of this.#nodes.values()) {
      if (r === s || !this.#linked(r.name, s.name)) continue;
      this.#at(this.now + this.#opt.netDelayMs, () =>
        this.#onNode(r, () => {
          if (r.commUp || msg.type === "shutdone") {
            this.#feed(r, { type: "message", now: this.now, from: s.name, msg });
          }
        }));
    }
  }

  #feed(n: SimNode, ev: OwnershipEvent): void {
    if (n.own === null || !n.running) return;
    const actions = n.own.handle(ev);
    this.#apply(n, actions);
    this.#scheduleTick(n);
  }

  #scheduleTick(n: SimNode): void {
    if (n.own === null) return;
    const d = n.own.nextDeadline();
    if (!Number.isFinite(d) || d >= n.tickAt) return;
    n.tickAt = Math.max(d, this.now);
    const gen = n.gen;
    this.#at(n.tickAt, () => {
      if (n.gen !== gen) return;
      n.tickAt = Infinity;
      this.#onNode(n, () => this.#feed(n, { type: "tick", now: this.now }));
    });
  }

  #apply(n: SimNode, actions: OwnershipAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case "send":
          this.#broadcast(n, a.msg);
          break;
        case "log":
          this.logs.push({ t: this.now, node: n.name, line: a.line });
          break;
        case "run":
          for (const l of a.before ?? []) this.logs.push({ t: this.now, node: n.name, line: l });
          n.queue.push({ id: a.id, op: a.op, keys: a.keys, announce: a.announce ?? {} });
          this.#pump(n);
          break;
        case "fence": {
          const gen = n.gen;
          this.#at(this.now + 100, () => {
            if (n.gen === gen) {
              this.#feed(n, { type: "fenced", now: this.now, node: a.node, result: "OK" });
            }
          });
          break;
        }
        case "shutdown-complete": {
          const gen = n.gen;
          this.#at(this.now + 2000, () => {
            if (n.gen !== gen) return;
            this.logs.push({
              t: this.now,
              node: n.name,
              line: {
                prio: "info",
                text: `${n.name} Heartbeat shutdown complete.`,
                tag: "heartbeat",
              },
            });
            n.running = false;
            n.own = null;
            n.gen++;
          });
          break;
        }
        case "stop-failure":
          break;
      }
    }
  }

  #pump(n: SimNode): void {
    if (n.busy) return;
    const job = n.queue.shift();
    if (job === undefined) return;
    n.busy = true;
    const gen = n.gen;
    const step = (i: number) => {
      if (n.gen !== gen) return;
      if (i >= job.keys.length) {
        n.busy = false;
        this.#pump(n);
        return;
      }
      const key = job.keys[i];
      for (const l of job.announce[key] ?? []) {
        this.logs.push({ t: this.now, node: n.name, line: l });
      }
      this.#at(this.now + this.#opt.scriptMs, () => {
        if (n.gen !== gen) return;
        let result: "started" | "start-failed" | "released";
        if (job.op === "announce") {
          result = n.resources.has(key) ? "started" : "released";
        } else if (job.op === "take") {
          if (this.#opt.failStart.has(`${n.name}:${key}`)) {
            result = "start-failed";
            n.resources.delete(key);
          } else {
            result = "started";
            if (!n.resources.has(key)) this.starts.push({ t: this.now, node: n.name, key });
            n.resources.add(key);
          }
        } else {
          result = "released";
          n.resources.delete(key);
        }
        this.#onNode(
          n,
          () => this.#feed(n, { type: "group-result", now: this.now, id: job.id, key, result }),
        );
        step(i + 1);
      });
    };
    step(0);
  }
}
