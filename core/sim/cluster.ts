/**
 * A simulated cluster of real nodes: one {@link NodeCore} per node
 * (membership and, when groups are configured, resource ownership) on a
 * virtual clock, joined by simulated broadcast media, with a simulated
 * resource executor and STONITH device. Whole scenarios run in milliseconds
 * of real time and are fully deterministic (one seed drives the network's
 * randomness and every core's).
 *
 * ```ts
 * const sim = new SimCluster({
 *   nodes: ["node1", "node2"],
 *   links: ["eth0"],
 *   groups: [{ node: "node1", key: "g1" }],
 * });
 * sim.startAll();
 * sim.runFor(30_000);
 * sim.kill("node1");
 * sim.runFor(8000);
 * sim.holders("g1"); // ["node2"]
 * ```
 *
 * What is simulated:
 * - the network (`network.ts`, {@link SimCluster.network}): every link is a
 *   broadcast segment; each delivery can be dropped, duplicated, delayed (with
 *   jitter, hence reordered) per directed pair of nodes (`setPath`), a node's
 *   attachment to a link can be cut (`setLinkCut`), and a receiver can lose a
 *   share of what it gets (`setLoss`). Like the real I/O shell, the simulator
 *   keeps the last 500 sequenced messages each node sent and answers `rexmit`
 *   by delivering the very same message object again (byte-identical
 *   retransmission);
 * - processes: `start` (a restart gets a new generation), `kill` (a crash of
 *   the machine: its resources stop with it), `shutdown` (SIGTERM: the
 *   ownership protocol releases everything, then the process exits),
 *   `freeze`/`thaw` (SIGSTOP/SIGCONT: events queue up and are handled on thaw);
 * - resource scripts: every `run` action of a node is executed serially,
 *   each group taking a virtual duration; starts can be made to fail;
 * - ping nodes: every `status` a node sends makes each reachable ping node
 *   answer with `NS_st st=ping` on that ping node's own medium;
 * - STONITH (when configured): a `fence` resets (kills) the target after
 *   100 ms and reports success.
 *
 * Statistics the fault explorer checks (`network.lastDisturbed`, `sendCount`)
 * are kept here too; the options and recorded lines are typed in `types.ts`.
 *
 * @module
 */

import { MinHeap } from "../heap.ts";
import type { HbCore } from "../core.ts";
import { CoreMessage } from "../message.ts";
import {
  NodeCore,
  type NodeCoreAction,
  type NodeCoreEvent,
  OWNERSHIP_TYPES as CORE_OWNERSHIP_TYPES,
} from "../node_core.ts";
import type { ResourceConfig } from "../node_core.ts";
import type { FailbackMode, GroupOutcome, OwnedGroup } from "../ownership/types.ts";
import { seededRandom } from "../random.ts";
import { SimNetwork } from "./network.ts";
import {
  messageText,
  type ScriptBehaviour,
  SIM_EPOCH_MS,
  type SimLogLine,
  type SimOptions,
  type SimWireLine,
} from "./types.ts";
import type { CoreConfig, CoreEvent, Priority } from "../types.ts";
import { HISTORY_SIZE } from "../types.ts";
import type { TestLossOptions } from "../test_loss.ts";

/** Virtual duration of an `announce` run (gratuitous ARPs for addresses that already run). */
const ANNOUNCE_MS = 5;

interface Pending {
  at: number;
  order: number;
  run: () => void;
  cancelled: boolean;
}

interface Job {
  id: number;
  op: "take" | "give" | "announce" | "restart";
  keys: string[];
  announce: Record<string, { prio: Priority | ""; text: string; tag: string }[]>;
}

interface SimNode {
  name: string;
  index: number;
  core: NodeCore;
  alive: boolean;
  frozen: boolean;
  /** Bumped on every kill/start: stale timers and script completions check it. */
  incarnation: number;
  restarts: number;
  backlog: NodeCoreEvent[];
  logs: SimLogLine[];
  actions: NodeCoreAction[];
  wire: SimWireLine[];
  /** Our sent sequenced messages by seq (the shell's byte store). */
  stored: Map<number, CoreMessage>;
  tick: Pending | undefined;
  wallOffset: number;
  /** Groups that run on this machine (the resource executor's truth). */
  resources: Set<string>;
  jobs: Job[];
  busy: boolean;
  startedAt: number;
}

/**
 * Message types of the resource ownership protocol that {@link SimCluster.wireOf} and
 * {@link SimCluster.wireAll} show: NodeCore's, without hb's own `hb-failhold`.
 */
const OWNERSHIP_TYPES: ReadonlySet<string> = new Set(
  [...CORE_OWNERSHIP_TYPES].filter((t) => t !== "hb-failhold"),
);

/** A cluster of node cores on a virtual clock. */
export class SimCluster {
  /** Current virtual time (ms). */
  now = 0;
  /** Number of events fed to cores so far. */
  eventCount = 0;
  /**
   * Number of new packets put on the wire per node: retransmissions, retransmission requests
   * (`NS_rexmit`) and their NAKs are not counted.
   */
  readonly sendCount = new Map<string, number>();
  /** The network between the nodes: its faults, and when each path was last disturbed. */
  readonly network: SimNetwork;
  /** Every failed group start, in order. */
  readonly startFailures: { at: number; node: string; key: string }[] = [];
  /**
   * Every start of a group (at its invocation), with the living nodes not frozen that still
   * ran it (a frozen node's groups are taken over once it is declared dead: a split brain).
   */
  readonly groupStarts: { at: number; node: string; key: string; alsoOn: string[] }[] = [];
  readonly #opts: Required<Omit<SimOptions, "groups" | "ownershipTimers">> & {
    groups: OwnedGroup[] | undefined;
    ownershipTimers: ResourceConfig["timers"];
  };
  readonly #nodes = new Map<string, SimNode>();
  readonly #heap = new MinHeap<Pending>((a, b) =>
    a.at < b.at || (a.at === b.at && a.order < b.order)
  );
  #order = 0;
  readonly #unreachablePings = new Set<string>();
  readonly #scripts = new Map<string, ScriptBehaviour>();
  /** Services broken by {@link failService}, as `node/key`, until restarted, released or taken. */
  readonly #brokenServices = new Set<string>();
  /**
   * Monitor checks issued while the group was not running on the node or a resource run was
   * in progress there (a monitor must never run then): the `monitor-misfire` invariant.
   */
  readonly monitorMisfires: { at: number; node: string; key: string; why: string }[] = [];
  /** Service failures injected so far (node, key, time). */
  readonly serviceFailures: { at: number; node: string; key: string }[] = [];

  /** A cluster of `opts` with every node started at once, after `ms` of virtual time. */
  static startedFor(opts: SimOptions, ms: number): SimCluster {
    const sim = new SimCluster(opts);
    sim.startAll();
    sim.runFor(ms);
    return sim;
  }

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
      autoFailback: "on",
      stonith: false,
      monitor: false,
      scriptMs: 50,
      heartbeatNodes: [],
      ...opts,
      groups: opts.groups,
      ownershipTimers: opts.ownershipTimers,
    };
    this.network = new SimNetwork({
      random: seededRandom(this.#opts.seed),
      now: () => this.now,
      latencyMs: this.#opts.latencyMs,
      keepaliveMs: this.#opts.keepaliveMs,
    });
    opts.nodes.forEach((name, index) => this.#nodes.set(name, this.#makeNode(name, index, 0)));
  }

  /** All media of a core: the broadcast links, then one per ping node. */
  get media(): string[] {
    return [...this.#opts.links, ...this.#opts.pingNodes];
  }

  /** Node names in ha.cf order. */
  get nodeNames(): string[] {
    return this.#opts.nodes;
  }

  /** The configured groups (empty without resource management). */
  get groups(): OwnedGroup[] {
    return this.#opts.groups ?? [];
  }

  /** `auto_failback` of every node. */
  get autoFailback(): FailbackMode {
    return this.#opts.autoFailback;
  }

  /** How long a resource script runs unless a `script` step says otherwise (virtual ms). */
  get scriptMs(): number {
    return this.#opts.scriptMs;
  }

  /** The timers in use. */
  get timers(): { keepaliveMs: number; deadtimeMs: number; initdeadMs: number } {
    const o = this.#opts;
    return { keepaliveMs: o.keepaliveMs, deadtimeMs: o.deadtimeMs, initdeadMs: o.initdeadMs };
  }

  #makeNode(name: string, index: number, restarts: number): SimNode {
    const o = this.#opts;
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
      generation: 1000 + index * 100 + restarts,
      uuid: new Uint8Array(16).fill(index + 1),
      maxRexmitDelayMs: o.maxRexmitDelayMs,
      random: seededRandom(o.seed * 7919 + index * 104729 + restarts),
    };
    const resources: ResourceConfig | undefined = o.groups
      ? {
        groups: o.groups,
        autoFailback: o.autoFailback,
        stonith: o.stonith,
        pid: 4000 + index,
        ...(o.ownershipTimers ? { timers: o.ownershipTimers } : {}),
        ...(o.monitor
          ? {
            monitors: o.groups.map((g) => ({
              resource: g.key,
              key: g.key,
              index: 0,
              groupSize: 1,
              cls: g.node === name ? "local" as const : "foreign" as const,
              intervalMs: 1000,
              timeoutMs: 500,
              fall: 2,
              rise: 1,
              startDelayMs: 0,
              onFail: "restart" as const,
              maxRestarts: 1,
              // short enough for a failback held back by an escalation to come within the
              // invariants' quiet window after the service death
              restartWindowMs: 20_000,
            })),
          }
          : {}),
      }
      : undefined;
    return {
      name,
      index,
      core: new NodeCore(
        cfg,
        resources,
        o.heartbeatNodes.length > 0 && !o.heartbeatNodes.includes(name)
          ? { version: "sim" }
          : undefined,
      ),
      alive: false,
      frozen: false,
      incarnation: 0,
      restarts,
      backlog: [],
      logs: [],
      actions: [],
      wire: [],
      stored: new Map(),
      tick: undefined,
      wallOffset: 0,
      resources: new Set(),
      jobs: [],
      busy: false,
      startedAt: 0,
    };
  }

  /** The membership core of a node (to inspect its state). */
  core(name: string): HbCore {
    return this.#node(name).core.membership;
  }

  /** The whole core of a node. */
  nodeCore(name: string): NodeCore {
    return this.#node(name).core;
  }

  /** Whether the node's heartbeat runs (started, not killed, not exited). */
  isAlive(name: string): boolean {
    return this.#node(name).alive;
  }

  /** Whether the node is frozen. */
  isFrozen(name: string): boolean {
    return this.#node(name).frozen;
  }

  /** When the node's current process started (virtual ms). */
  startedAt(name: string): number {
    return this.#node(name).startedAt;
  }

  /** Log lines of a node, formatted `PRIO: text` (script lines with an empty priority: `text`). */
  logs(name: string): string[] {
    return this.#node(name).logs.map((l) => l.prio === "" ? l.text : `${l.prio}: ${l.text}`);
  }

  /** Log lines of a node with their virtual times. */
  logLines(name: string): SimLogLine[] {
    return this.#node(name).logs;
  }

  /** Texts of a node's log lines (all writers), optionally from virtual time `since`. */
  logTexts(name: string, since = 0): string[] {
    return this.#node(name).logs.filter((l) => l.at >= since).map((l) => l.text);
  }

  /** Every action a node's core produced, in order. */
  actions(name: string): NodeCoreAction[] {
    return this.#node(name).actions;
  }

  /** Everything a node put on the wire (sends and retransmissions), in order. */
  wire(name: string): SimWireLine[] {
    return this.#node(name).wire;
  }

  /** Resource protocol messages `name` sent (not retransmissions), as {@link messageText}. */
  wireOf(name: string, since = 0): string[] {
    return this.#node(name).wire.filter((w) =>
      !w.rexmit && w.at >= since && OWNERSHIP_TYPES.has(w.msg.type)
    ).map((w) => messageText(w.msg));
  }

  /** Resource protocol messages of every node as `node: text`, in wire order. */
  wireAll(since = 0): string[] {
    return this.wireTimed(since).map((w) => w.text);
  }

  /** {@link wireAll} with the virtual send times. */
  wireTimed(since = 0): { at: number; text: string }[] {
    const all: { at: number; node: number; order: number; text: string }[] = [];
    for (const n of this.#nodes.values()) {
      n.wire.forEach((w, order) => {
        if (w.rexmit || w.at < since || !OWNERSHIP_TYPES.has(w.msg.type)) return;
        all.push({ at: w.at, node: n.index, order, text: `${n.name}: ${messageText(w.msg)}` });
      });
    }
    // same virtual time: by node, then wire order (stable and deterministic)
    all.sort((a, b) => a.at - b.at || a.node - b.node || a.order - b.order);
    return all.map(({ at, text }) => ({ at, text }));
  }

  /** Groups running on `name` (per the resource executor), in haresources order. */
  running(name: string): string[] {
    const n = this.#node(name);
    return this.groups.map((g) => g.key).filter((k) => n.resources.has(k));
  }

  /** Nodes running group `key`, in ha.cf order. */
  holders(key: string): string[] {
    return this.#opts.nodes.filter((n) => this.#node(n).resources.has(key));
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
    // a restart of a running node is a crash and a reboot
    if (n.alive) this.kill(name);
    if (n.actions.length > 0) {
      // a restart gets a higher generation, as hb_generation would give it
      this.#cancelTick(n);
      const fresh = this.#makeNode(name, n.index, n.restarts + 1);
      fresh.logs = n.logs;
      fresh.actions = n.actions;
      fresh.wire = n.wire;
      fresh.wallOffset = n.wallOffset;
      fresh.resources = n.resources;
      fresh.incarnation = n.incarnation + 1;
      this.#nodes.set(name, fresh);
      n = fresh;
    }
    n.alive = true;
    n.startedAt = this.now;
    this.#feed(n, { type: "start", now: this.now, wallClock: this.#wall(n) });
  }

  /** Kills a node hard (crash of the machine): it stops at once, its resources with it. */
  kill(name: string): void {
    const n = this.#node(name);
    n.alive = false;
    n.frozen = false;
    n.backlog = [];
    n.incarnation++;
    n.jobs = [];
    n.busy = false;
    n.resources.clear();
    this.#cancelTick(n);
  }

  /** SIGTERM: the node releases its resources, says `shutdone` and exits. */
  shutdown(name: string): void {
    const n = this.#node(name);
    this.#feed(n, { type: "shutdown-request", now: this.now, wallClock: this.#wall(n) });
  }

  /** Freezes a node (SIGSTOP): events for it wait until {@link thaw}. */
  freeze(name: string): void {
    this.#node(name).frozen = true;
  }

  /** Resumes a frozen node: it first sees the time jump, then the events that queued up. */
  thaw(name: string): void {
    const n = this.#node(name);
    if (!n.frozen) return;
    n.frozen = false;
    const backlog = n.backlog;
    n.backlog = [];
    this.#feed(n, { type: "tick", now: this.now, wallClock: this.#wall(n) });
    for (const ev of backlog) this.#feed(n, { ...ev, now: this.now, wallClock: this.#wall(n) });
  }

  /** `hb_standby ARG` on a node (through the FIFO; `failback` asks for foreign). */
  standby(name: string, arg: "all" | "local" | "foreign" | "failback" = "all"): void {
    const cls = arg === "failback" ? "foreign" : arg;
    const n = this.#node(name);
    if (!n.alive) return;
    n.logs.push({ at: this.now, prio: "", text: `Going standby [${cls}].`, tag: "hb_standby" });
    this.fifo(name, { t: "ask_resources", rsc_hold: cls, info: "me" });
  }

  /** `hb_takeover ARG` on a node. */
  takeover(name: string, arg: "all" | "local" | "foreign" | "failback" = "all"): void {
    this.fifo(name, { t: "hb_takeover", rsc_hold: arg });
  }

  /** Sets how the scripts of group `key` behave on node `name` (merged with earlier settings). */
  /**
   * Breaks the service of group `key` on `name` (its monitor's checks fail from now on) when the
   * group runs there; a restart, release or new start of the group on that node repairs it.
   */
  failService(name: string, key: string): void {
    const n = this.#nodes.get(name);
    if (n === undefined || !n.resources.has(key)) return;
    this.#brokenServices.add(`${name}/${key}`);
    this.serviceFailures.push({ at: this.now, node: name, key });
  }

  setScript(name: string, key: string, b: ScriptBehaviour): void {
    const k = `${name}/${key}`;
    this.#scripts.set(k, { ...this.#scripts.get(k), ...b });
  }

  /** Sets (or, with `undefined`, clears) a node's `OnlyForTesting` options. */
  setTestLoss(name: string, options: TestLossOptions | undefined): void {
    const n = this.#node(name);
    this.#feed(n, { type: "test-loss", now: this.now, wallClock: this.#wall(n), options });
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
    this.#schedule(this.now + this.#opts.latencyMs, () => this.#receive(to, channel, msg));
  }

  /** Node `to` receives `msg` on medium `channel` now. */
  #receive(to: string, channel: number, msg: CoreMessage): void {
    const target = this.#nodes.get(to)!;
    this.#feed(target, {
      type: "message",
      now: this.now,
      wallClock: this.#wall(target),
      origin: { kind: "medium", channel },
      msg,
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
    if (t > this.now) this.now = t;
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

  #feed(n: SimNode, ev: NodeCoreEvent): void {
    if (!n.alive) return;
    if (n.frozen) {
      if (ev.type !== "tick") n.backlog.push(ev);
      return;
    }
    this.eventCount++;
    this.#carryOut(n, n.core.handle(ev));
  }

  /**
   * Operator cleanup of monitor failures on `name` (`heartbeat resource cleanup [RESOURCE]`);
   * returns the resources cleared.
   */
  cleanupMonitors(name: string, resource?: string): string[] {
    const n = this.#nodes.get(name);
    if (n === undefined || !n.alive || n.frozen) return [];
    const r = n.core.monitorCleanup(this.now, resource);
    this.#carryOut(n, r.actions);
    return r.cleared;
  }

  #carryOut(n: SimNode, actions: NodeCoreAction[]): void {
    for (const a of actions) {
      n.actions.push(a);
      switch (a.type) {
        case "log":
          n.logs.push({ at: this.now, prio: a.prio, text: a.text });
          break;
        case "script-log":
          n.logs.push({ at: this.now, prio: a.prio, text: a.text, tag: a.tag });
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
          this.#broadcast(n.name, stored, true);
          break;
        }
        case "run":
          for (const l of a.before ?? []) {
            n.logs.push({ at: this.now, prio: l.prio, text: l.text, tag: l.tag });
          }
          n.jobs.push({ id: a.id, op: a.op, keys: a.keys, announce: a.announce ?? {} });
          this.#pump(n);
          break;
        case "fence":
          this.#fence(n, a.node);
          break;
        case "monitor-check": {
          const inc = n.incarnation;
          if (!n.resources.has(a.key) || n.busy || n.jobs.length > 0) {
            this.monitorMisfires.push({
              at: this.now,
              node: n.name,
              key: a.key,
              why: n.resources.has(a.key) ? "during a resource run" : "on a group it does not run",
            });
          }
          this.#schedule(this.now + 10, () => {
            if (n.incarnation !== inc) return;
            const ok = n.resources.has(a.key) && !this.#brokenServices.has(`${n.name}/${a.key}`);
            this.#feed(n, {
              type: "monitor-result",
              now: this.now,
              wallClock: this.#wall(n),
              id: a.id,
              ok,
              timedOut: false,
              detail: ok ? "exit 0 (running)" : "exit 0 (stopped)",
              elapsedMs: 10,
            });
          });
          break;
        }
        case "monitor-restart":
          n.jobs.push({ id: a.id, op: "restart", keys: [a.key], announce: {} });
          this.#pump(n);
          break;
        case "notify":
          break;
        case "shutdown-complete": {
          // as the master: 1 s after its own shutdone, the core is told to stop
          const inc = n.incarnation;
          this.#schedule(this.now + 1000, () => {
            if (n.incarnation !== inc) return;
            this.#feed(n, { type: "shutdown", now: this.now, wallClock: this.#wall(n) });
          });
          break;
        }
        case "exit":
          n.alive = false;
          n.logs.push({
            at: this.now,
            prio: "info",
            text: `${n.name} Heartbeat shutdown complete.`,
          });
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
  #broadcast(from: string, msg: CoreMessage, rexmit = false): void {
    // retransmission requests repeat every max_rexmit_delay per missing number without limit,
    // and each requested number is re-sent at most once per 240 ms (Heartbeat's documented
    // behaviour, behavior.md §5.2): under sustained heavy loss both grow with the number of
    // missing packets, so neither counts as storm material
    // (NAKs are answers to those requests: a node thawed after a freeze answers every request
    // that queued up meanwhile at once)
    if (!rexmit && msg.type !== "NS_rexmit" && msg.type !== "NS_nak_rexmit") {
      this.sendCount.set(from, (this.sendCount.get(from) ?? 0) + 1);
    }
    const links = this.#opts.links;
    for (let channel = 0; channel < links.length; channel++) {
      const link = links[channel];
      if (this.network.isCut(from, link)) {
        for (const to of this.#nodes.values()) this.network.disturb(from, to.name);
        continue;
      }
      for (const to of this.#nodes.values()) {
        const name = to.name;
        const d = this.network.delivery(from, name, link, msg);
        if (d === null) continue;
        for (let c = 0; c < d.copies; c++) {
          this.#schedule(this.now + d.delayMs + c, () => this.#receive(name, channel, msg));
        }
      }
    }
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

  /** STONITH: resets the target after 100 ms, then reports success. */
  #fence(n: SimNode, target: string): void {
    const inc = n.incarnation;
    this.#schedule(this.now + 100, () => {
      if (n.incarnation !== inc) return;
      const t = this.#nodes.get(target);
      if (t && t.name !== n.name) this.kill(t.name);
      this.#feed(n, {
        type: "fenced",
        now: this.now,
        wallClock: this.#wall(n),
        node: target,
        result: "OK",
      });
    });
  }

  /** Runs the next queued resource job, one group after the other. */
  #pump(n: SimNode): void {
    if (n.busy) return;
    const job = n.jobs.shift();
    if (job === undefined) return;
    n.busy = true;
    const inc = n.incarnation;
    const step = (i: number) => {
      if (n.incarnation !== inc) return;
      if (i >= job.keys.length) {
        n.busy = false;
        this.#pump(n);
        return;
      }
      const key = job.keys[i];
      for (const l of job.announce[key] ?? []) {
        n.logs.push({ at: this.now, prio: l.prio, text: l.text, tag: l.tag });
      }
      const script = this.#scripts.get(`${n.name}/${key}`) ?? {};
      // an announcement is gratuitous ARPs for addresses that already run, not a script run
      const ms = job.op === "announce" ? ANNOUNCE_MS : script.ms ?? this.#opts.scriptMs;
      if (job.op === "take") {
        // (a start counts from its invocation, as the failover tests' call logs count it)
        this.groupStarts.push({
          at: this.now,
          node: n.name,
          key,
          alsoOn: this.holders(key).filter((o) =>
            o !== n.name && this.isAlive(o) && !this.isFrozen(o)
          ),
        });
      }
      this.#schedule(this.now + ms, () => {
        if (n.incarnation !== inc) return;
        let result: GroupOutcome;
        if (job.op === "restart") {
          const ok = !script.failStart;
          if (ok) this.#brokenServices.delete(`${n.name}/${key}`);
          this.#feed(n, {
            type: "monitor-restarted",
            now: this.now,
            wallClock: this.#wall(n),
            id: job.id,
            ok,
            detail: ok ? "started" : `start of ${key} failed`,
          });
          step(i + 1);
          return;
        }
        if (job.op === "announce") {
          // (it repairs no broken service either)
          result = n.resources.has(key) ? "started" : "released";
        } else if (job.op === "take") {
          this.#brokenServices.delete(`${n.name}/${key}`);
          if (script.failStart) {
            result = "start-failed";
            n.resources.delete(key);
            this.startFailures.push({ at: this.now, node: n.name, key });
          } else {
            result = "started";
            n.resources.add(key);
          }
        } else {
          this.#brokenServices.delete(`${n.name}/${key}`);
          result = "released";
          n.resources.delete(key);
        }
        this.#feed(n, {
          type: "group-result",
          now: this.now,
          wallClock: this.#wall(n),
          id: job.id,
          key,
          result,
        });
        step(i + 1);
      });
    };
    step(0);
  }
}
