/**
 * The deterministic heart of hb: node and link membership driven by events
 * (start, ticks, received messages, shutdown) producing actions (send, log,
 * status changes). No I/O, no clocks, no timers: see {@link CoreEvent}.
 *
 * Behaviour follows Heartbeat 3.0.6 (behavior.md §3-§5) except where the
 * real daemon is slow or wrong: deadlines are evaluated exactly when they
 * fall due (no 250/500 ms polling grid).
 *
 * @module
 */

import { CoreMessage } from "./message.ts";
import type {
  CoreAction,
  CoreConfig,
  CoreEvent,
  CoreLike,
  LinkStatus,
  NodeStatus,
  Origin,
  Priority,
} from "./types.ts";

/** For this long after start a node advertises deadtime + 2 s (behavior.md §3.1). */
const STARTUP_DT_WINDOW_MS = 5000;
const STARTUP_DT_EXTRA_MS = 2000;

interface LinkState {
  status: LinkStatus;
  lastHeard: number;
}

interface NodeState {
  name: string;
  kind: "normal" | "ping";
  status: NodeStatus;
  /** Monotonic time the last status message was processed (or our start). */
  lastUpdate: number;
  /** Whether any status message was processed since start or since death. */
  heard: boolean;
  /** Whether any packet at all arrived since our start (links-up condition). */
  heardAnything: boolean;
  /** The node's advertised deadtime (`dt`), once heard. */
  advertisedDeadMs?: number;
  generation?: number;
  lastSeq?: number;
  links: LinkState[];
}

/** Membership core of one node. */
export class HbCore implements CoreLike {
  readonly #cfg: CoreConfig;
  readonly #nodes = new Map<string, NodeState>();
  #localStatus: NodeStatus = "init";
  #commUp = false;
  #started = false;
  #startTime = 0;
  #nextStatusAt = Infinity;
  #startupDtPending = true;
  #seq = 0;
  #out: CoreAction[] = [];
  #now = 0;
  #wallClock = 0;
  #loadavg = "n/a";

  /** Creates the core for one node. */
  constructor(cfg: CoreConfig) {
    this.#cfg = cfg;
    const linkCount = cfg.links.length;
    const mk = (name: string, kind: "normal" | "ping"): NodeState => ({
      name,
      kind,
      status: "init",
      lastUpdate: 0,
      heard: false,
      heardAnything: false,
      links: Array.from({ length: linkCount }, () => ({ status: "dead", lastHeard: 0 })),
    });
    for (const n of cfg.nodes) this.#nodes.set(n, mk(n, "normal"));
    for (const p of cfg.pingNodes) this.#nodes.set(p, mk(p, "ping"));
  }

  /** Our current status. */
  get localStatus(): NodeStatus {
    return this.#localStatus;
  }

  /** Whether communication is up (Comm_now_up happened). */
  get commUp(): boolean {
    return this.#commUp;
  }

  /** Status of a node as this node sees it (undefined for unknown names). */
  nodeStatus(name: string): NodeStatus | undefined {
    if (name === this.#cfg.nodeName) return this.#localStatus;
    return this.#nodes.get(name)?.status;
  }

  /** Status of the link `link` (a link name) to `node`. */
  linkStatus(node: string, link: string): LinkStatus | undefined {
    const i = this.#cfg.links.indexOf(link);
    const n = this.#nodes.get(node);
    if (i < 0 || !n) return undefined;
    return n.links[i].status;
  }

  /** All node names known: normal nodes then ping nodes, in configuration order. */
  nodeNames(): string[] {
    return [...this.#nodes.keys()];
  }

  /** Feeds one event and returns the resulting actions. */
  handle(ev: CoreEvent): CoreAction[] {
    this.#out = [];
    this.#now = ev.now;
    this.#wallClock = ev.wallClock;
    switch (ev.type) {
      case "start":
        if (ev.loadavg) this.#loadavg = ev.loadavg;
        this.#start();
        break;
      case "tick":
        if (ev.loadavg) this.#loadavg = ev.loadavg;
        this.#tick();
        break;
      case "message":
        this.#receive(ev.origin, ev.msg);
        this.#checkTimers();
        break;
      case "shutdown":
        this.#out.push({ type: "exit", code: 0 });
        break;
    }
    return this.#out;
  }

  /** When the next tick is due (our next status message or the earliest dead-node deadline). */
  nextDeadline(): number {
    if (!this.#started) return Infinity;
    let next = this.#nextStatusAt;
    if (this.#startupDtPending) next = Math.min(next, this.#startTime + STARTUP_DT_WINDOW_MS);
    for (const n of this.#nodes.values()) {
      if (n.name === this.#cfg.nodeName) continue;
      const dead = this.#deadMs(n);
      if (n.status !== "dead") next = Math.min(next, n.lastUpdate + dead + 1);
      for (const l of n.links) {
        if (l.status === "up") next = Math.min(next, l.lastHeard + dead + 1);
      }
    }
    return next;
  }

  #log(prio: Priority, text: string): void {
    this.#out.push({ type: "log", prio, text });
  }

  #start(): void {
    this.#started = true;
    this.#startTime = this.#now;
    for (const n of this.#nodes.values()) n.lastUpdate = this.#now;
    this.#sendStatus("init");
    this.#setLocalStatus("up");
    this.#sendStatus("up");
    this.#sendStatus("up");
    this.#nextStatusAt = this.#now + this.#cfg.keepaliveMs;
    this.#checkCommUp();
  }

  #tick(): void {
    if (!this.#started) return;
    if (this.#startupDtPending && this.#now >= this.#startTime + STARTUP_DT_WINDOW_MS) {
      this.#startupDtPending = false;
      this.#sendStatus(this.#localStatus);
    }
    if (this.#now >= this.#nextStatusAt) {
      this.#sendStatus(this.#localStatus);
      this.#nextStatusAt += this.#cfg.keepaliveMs;
      if (this.#nextStatusAt <= this.#now) this.#nextStatusAt = this.#now + this.#cfg.keepaliveMs;
    }
    this.#checkTimers();
  }

  #deadMs(n: NodeState): number {
    if (!this.#commUp) return this.#cfg.initdeadMs;
    if (n.advertisedDeadMs !== undefined) return n.advertisedDeadMs;
    return n.kind === "ping" ? this.#cfg.deadpingMs : this.#cfg.deadtimeMs;
  }

  #checkTimers(): void {
    for (const n of this.#nodes.values()) {
      if (n.name === this.#cfg.nodeName) continue;
      const dead = this.#deadMs(n);
      if (n.status !== "dead" && this.#now - n.lastUpdate > dead) this.#declareDead(n);
      n.links.forEach((l, i) => {
        if (l.status === "up" && this.#now - l.lastHeard > dead) this.#setLink(n, i, "dead");
      });
    }
    this.#checkCommUp();
  }

  #declareDead(n: NodeState): void {
    const previous = n.status;
    n.status = "dead";
    n.heard = false;
    n.lastSeq = undefined;
    n.advertisedDeadMs = undefined;
    this.#log("WARN", `node ${n.name}: is dead`);
    this.#out.push({ type: "node-status", node: n.name, status: "dead", previous });
    n.links.forEach((l, i) => {
      if (l.status === "up") this.#setLink(n, i, "dead");
    });
  }

  #setLink(n: NodeState, i: number, status: LinkStatus): void {
    n.links[i].status = status;
    const link = this.#cfg.links[i];
    this.#log("info", `Link ${n.name}:${link} ${status}.`);
    this.#out.push({ type: "link-status", node: n.name, link, status });
  }

  #checkCommUp(): void {
    if (this.#commUp || !this.#started) return;
    for (const n of this.#nodes.values()) {
      if (n.name === this.#cfg.nodeName) continue;
      if (!n.heardAnything && n.status !== "dead") return;
    }
    this.#commUp = true;
    this.#log("info", "Comm_now_up(): updating status to active");
    this.#setLocalStatus("active");
    this.#sendStatus("active");
    this.#out.push({ type: "comm-up" });
  }

  #setLocalStatus(st: NodeStatus): void {
    this.#localStatus = st;
    this.#log("info", `Local status now set to: '${st}'`);
  }

  #advertisedDt(): number {
    const extra = this.#startupDtPending ? STARTUP_DT_EXTRA_MS : 0;
    return this.#cfg.deadtimeMs + extra;
  }

  #sendStatus(st: NodeStatus): void {
    const msg = CoreMessage.of({
      t: "status",
      st,
      dt: this.#advertisedDt().toString(16),
      protocol: "1",
    });
    this.#send(msg);
  }

  /** Adds control fields, processes the message locally first (loopback), then sends it. */
  #send(msg: CoreMessage): void {
    const ns = msg.type.startsWith("NS_");
    msg.set("src", this.#cfg.nodeName);
    msg.set("srcuuid", this.#cfg.uuid);
    if (!ns) msg.set("seq", (++this.#seq).toString(16));
    msg.set("hg", this.#cfg.generation.toString(16));
    msg.set("ts", Math.floor(this.#wallClock / 1000).toString(16));
    if (!ns) msg.set("ld", this.#loadavg);
    msg.set("ttl", String(this.#cfg.hopfudge + this.#nodes.size));
    this.#receive({ kind: "loopback" }, msg);
    this.#out.push({ type: "send", msg });
  }

  #receive(origin: Origin, msg: CoreMessage): void {
    const src = msg.get("src");
    if (src === undefined) return;
    const n = this.#nodes.get(src.toLowerCase());
    if (!n) {
      this.#log("ERROR", `process_status_message: bad node [${src}] in message`);
      return;
    }
    n.heardAnything = true;
    if (origin.kind === "medium" && n.name !== this.#cfg.nodeName) {
      const l = n.links[origin.channel];
      if (l) {
        l.lastHeard = this.#now;
        if (l.status === "dead") this.#setLink(n, origin.channel, "up");
      }
    } else if (origin.kind === "medium") {
      const l = n.links[origin.channel];
      if (l && l.status === "dead") {
        l.lastHeard = this.#now;
        this.#setLink(n, origin.channel, "up");
      }
    }
    if (!this.#acceptSequence(n, msg)) return;
    if (msg.type === "status") this.#onStatus(n, msg);
  }

  /** Sequence/generation checks; false for duplicates and replays. */
  #acceptSequence(n: NodeState, msg: CoreMessage): boolean {
    const seqText = msg.get("seq");
    const hgText = msg.get("hg");
    if (seqText === undefined || hgText === undefined) return true;
    const seq = parseInt(seqText, 16);
    const gen = parseInt(hgText, 16);
    if (!Number.isFinite(seq) || !Number.isFinite(gen)) return false;
    if (n.generation !== undefined && gen < n.generation) {
      this.#log(
        "ERROR",
        `should_drop_message: attempted replay attack [${n.name}]? [gen = ${gen}, curgen = ${n.generation}]`,
      );
      return false;
    }
    if (n.generation !== undefined && gen > n.generation && msg.type === "status") {
      this.#log("info", `Heartbeat restart on node ${n.name}`);
      n.lastSeq = undefined;
    }
    if (msg.type === "status") n.generation = gen;
    else if (n.generation === undefined) n.generation = gen;
    if (n.lastSeq === undefined || seq === n.lastSeq + 1) {
      n.lastSeq = seq;
      return true;
    }
    if (seq <= n.lastSeq) return false;
    this.#log(
      "WARN",
      `${seq - n.lastSeq - 1} lost packet(s) for [${n.name}] [${n.lastSeq}:${seq}]`,
    );
    n.lastSeq = seq;
    return true;
  }

  #onStatus(n: NodeState, msg: CoreMessage): void {
    const isSelf = n.name === this.#cfg.nodeName;
    if (n.heard) {
      const interval = this.#now - n.lastUpdate;
      if (interval > this.#cfg.deadtimeMs && !isSelf) {
        this.#log("CRIT", `Late heartbeat: Node ${n.name}: interval ${interval} ms (> deadtime)`);
        if (n.status !== "dead") this.#declareDead(n);
      } else if (interval > this.#cfg.warntimeMs) {
        this.#log("WARN", `Late heartbeat: Node ${n.name}: interval ${interval} ms`);
      }
    }
    n.heard = true;
    n.lastUpdate = this.#now;
    if (isSelf) return;
    const dt = msg.get("dt");
    if (dt !== undefined) {
      const v = parseInt(dt, 16);
      if (Number.isFinite(v) && v > 0) n.advertisedDeadMs = v;
    }
    const st = (msg.get("st") ?? "").toLowerCase() as NodeStatus;
    if (st && st !== n.status) {
      const previous = n.status;
      n.status = st;
      this.#log("info", `Status update for node ${n.name}: status ${st}`);
      this.#out.push({ type: "node-status", node: n.name, status: st, previous });
    }
  }
}
