/**
 * The deterministic heart of hb: membership (node and link states, dead-node
 * detection, Comm_now_up), the reliable messaging layer (sequencing,
 * retransmission, acks and flow control) and the completion of our own
 * messages, driven by events and producing actions (see {@link CoreEvent},
 * {@link CoreAction}). No I/O, no clocks, no timers.
 *
 * Behaviour follows Heartbeat 3.0.6 (behavior.md §3-§5, wire.md §4-§6),
 * with these deliberate differences:
 * - deadlines are evaluated exactly when they fall due (no 250/500 ms grid);
 * - a link times out after its own node's dead interval (Heartbeat uses the
 *   interval of the last node in the configuration for every link);
 * - a healed partition is reported (`partition-healed`) instead of
 *   scheduling a shutdown-and-restart; a lost local heartbeat is reported
 *   (`restart-required`) and the shell runs the shutdown-and-restart
 *   (master/runtime.ts `restartProcedure`), once per episode where
 *   Heartbeat repeats the log lines at every check;
 * - a single-node cluster goes `active` and stays so (Heartbeat logs
 *   `'up'` after `'active'` and keeps advertising `up`);
 * - `repnodes` node lists are not applied to the node table.
 *
 * Module map: {@link Membership} (node table, timeouts), {@link SeqTrack}
 * (per-sender sequence tracking), {@link SendHistory} (our 500-message
 * history), {@link RexmitTimers} / {@link planRexmitAnswer} (retransmission),
 * {@link shouldDropMessage} (should_drop_message), {@link parseHex} / {@link parseDecimal}
 * (numeric fields).
 *
 * @module
 */

import { FLOW_CONTROL_LIMIT, SendHistory } from "./history.ts";
import { formatUuid, isNullUuid, Membership, type NodeState } from "./membership.ts";
import { CoreMessage } from "./message.ts";
import { parseDecimal, parseHex } from "./field_parse.ts";
import { type DropContext, shouldDropMessage } from "./should_drop.ts";
import { type Random, randomInt, seededRandom, seedFrom } from "./random.ts";
import { dropOnReceive, dropOnSend, type TestLossOptions } from "./test_loss.ts";
import { planRexmitAnswer, RexmitTimers } from "./rexmit.ts";
import { ACK_DIVISOR } from "./sequence.ts";
import { ActionSink } from "./sink.ts";
import {
  type CoreAction,
  type CoreConfig,
  type CoreEvent,
  type CoreLike,
  HISTORY_SIZE,
  type LinkStatus,
  type NodeStatus,
  type Origin,
} from "./types.ts";

/** For this long after start a node advertises deadtime + 2 s (behavior.md §3.1). */
export const STARTUP_DT_WINDOW_MS = 5000;
/** The extra deadtime advertised right after start. */
export const STARTUP_DT_EXTRA_MS = 2000;
/** Interval of `reqnodes` retries (behavior.md §3.5). */
export const REQNODES_RETRY_MS = 1000;
/** Default `max_rexmit_delay`. */
export const DEFAULT_MAX_REXMIT_DELAY_MS = 250;

const NS_PREFIX = "NS_";

/** Membership and messaging core of one node. */
export class HbCore implements CoreLike {
  readonly #cfg: CoreConfig;
  readonly #m: Membership;
  readonly #hist = new SendHistory();
  readonly #timers = new RexmitTimers();
  readonly #out = new ActionSink();
  readonly #random: Random;
  readonly #lossRandom: Random;
  /** Options of the `OnlyForTesting` hook in force (undefined: no test loss). */
  #testLoss: TestLossOptions | undefined;
  readonly #maxRexmitDelay: number;
  readonly #ttl: string;

  #localStatus: NodeStatus = "init";
  #started = false;
  #starting = false;
  #stopped = false;
  #nextStatusAt = Infinity;
  #startupDtUntil = Infinity;
  #extraDtMs = 0;
  /** All nodes heard or dead (Heartbeat's COMM_LINKSUP). */
  #linksUp = false;
  #commUp = false;
  #gotRepnodes = false;
  #reqnodesAt = Infinity;
  #reqnodesIndex = 0;
  #flowControl = true;
  #clientsPaused = false;
  #localHeartbeatLost = false;
  /** Fault injection for tests ({@link HbCore.stopOwnStatus}). */
  #ownStatusStopped = false;
  #seq = 0;
  #now = 0;
  #wallClock = 0;
  #lastWallSec: number | undefined;
  #loadavg = "n/a";
  /** Earliest node/link timeout, valid between events (computed at the end of each). */
  #timeoutAt = Infinity;
  /** Extra fields of our status messages ({@link CoreConfig.statusFields}). */
  #statusFields: readonly (readonly [string, string])[];
  /** What should_drop_message (should_drop.ts) works on. */
  readonly #drop: DropContext;

  /** Creates the core for one node. */
  constructor(cfg: CoreConfig) {
    this.#cfg = cfg;
    this.#random = cfg.random ?? seededRandom(seedFrom(cfg.nodeName, cfg.generation));
    this.#lossRandom = cfg.lossRandom ?? this.#random;
    this.#maxRexmitDelay = cfg.maxRexmitDelayMs ?? DEFAULT_MAX_REXMIT_DELAY_MS;
    this.#m = new Membership({
      self: cfg.nodeName,
      selfUuid: cfg.uuid,
      nodes: cfg.nodes,
      pingNodes: cfg.pingNodes,
      linkCount: cfg.links.length,
      deadtimeMs: cfg.deadtimeMs,
      deadpingMs: cfg.deadpingMs,
      initdeadMs: cfg.initdeadMs,
      trigger: () => randomInt(this.#random, 0, ACK_DIVISOR - 1),
    });
    this.#ttl = String(cfg.hopfudge + this.#m.all.length);
    this.#statusFields = cfg.statusFields ?? [];
    this.#drop = {
      cfg,
      membership: this.#m,
      out: this.#out,
      isLostPacket: (node, seq) => this.#isLostPacket(node, seq),
      logPartition: (node) => this.#logPartition(node),
      resetTrack: (node) => this.#resetTrack(node),
      sendAckIfNeeded: (node, seq) => this.#sendAckIfNeeded(node, seq),
      scheduleRexmitRequest: (node, seq) => this.#scheduleRexmitRequest(node, seq),
    };
  }

  /** Replaces the extra fields of our status messages (from the next one on). */
  setStatusFields(fields: readonly (readonly [string, string])[]): void {
    this.#statusFields = fields;
  }

  // ---------------------------------------------------------------- queries

  /** Our current status. */
  get localStatus(): NodeStatus {
    return this.#localStatus;
  }

  /** Whether communication is up (Comm_now_up happened). */
  get commUp(): boolean {
    return this.#commUp;
  }

  /** Whether ACKs and flow control are enabled (all peers send `protocol`). */
  get flowControl(): boolean {
    return this.#flowControl;
  }

  /** Whether API clients are paused by flow control. */
  get clientsPaused(): boolean {
    return this.#clientsPaused;
  }

  /** Our last sequence number (0 before the first message). */
  get lastSeq(): number {
    return this.#seq;
  }

  /** Our send-history marks (`hiseq`, `lowseq`, `ackseq`). */
  history(): { hiseq: number; lowseq: number; ackseq: number } {
    return { hiseq: this.#hist.hiseq, lowseq: this.#hist.lowseq, ackseq: this.#hist.ackseq };
  }

  /** Status of a node as this node sees it (undefined for unknown names). */
  nodeStatus(name: string): NodeStatus | undefined {
    if (name === this.#cfg.nodeName) return this.#localStatus;
    return this.#m.byName(name)?.status;
  }

  /** Status of the link `link` (a link name) to `node`. */
  linkStatus(node: string, link: string): LinkStatus | undefined {
    const i = this.#cfg.links.indexOf(link);
    const n = this.#m.byName(node);
    if (i < 0 || !n) return undefined;
    return n.links[i].status;
  }

  /** All node names known: normal nodes then ping nodes, in configuration order. */
  nodeNames(): string[] {
    return this.#m.all.map((n) => n.name);
  }

  /** The uuid learnt for `node`, formatted like libuuid (undefined when unknown). */
  nodeUuid(node: string): string | undefined {
    const u = this.#m.byName(node)?.uuid;
    return u ? formatUuid(u) : undefined;
  }

  /** The generation remembered for `node` (0 before its first status message). */
  nodeGeneration(node: string): number | undefined {
    return this.#m.byName(node)?.track.generation;
  }

  /** The advertised deadtime of `node` (its `dt`), or our deadtime setting for ourselves. */
  nodeDeadtime(node: string): number | undefined {
    return this.#m.byName(node)?.deadMs;
  }

  /** Sequence numbers of `node` we are still missing, ascending. */
  missingFrom(node: string): number[] {
    const n = this.#m.byName(node);
    return n ? [...n.track.missing].sort((a, b) => a - b) : [];
  }

  // ---------------------------------------------------------------- driver API

  /**
   * Fault injection for tests: from now on the periodic status message is no longer sent
   * (nor processed locally), as if the keepalive timer of the master had stopped while its
   * main loop runs: the only state in which Heartbeat 3.0.6 reports `No local heartbeat`
   * (its own status is processed locally when it is sent, not when it comes back from a
   * medium). Status messages sent for other reasons still go out.
   */
  stopOwnStatus(): void {
    this.#ownStatusStopped = true;
  }

  /** Feeds one event and returns the resulting actions. */
  handle(ev: CoreEvent): CoreAction[] {
    if (this.#stopped) return [];
    this.#now = ev.now;
    this.#wallClock = ev.wallClock;
    switch (ev.type) {
      case "start":
        if (ev.loadavg) this.#loadavg = ev.loadavg;
        if (!this.#started) this.#start();
        break;
      case "tick":
        if (ev.loadavg) this.#loadavg = ev.loadavg;
        this.#runDue();
        break;
      case "message":
        this.#runDue();
        if (!this.#started) break;
        if (ev.origin.kind === "fifo") this.#sendOwn(ev.msg);
        else this.#receive(ev.origin, ev.msg);
        break;
      case "originate":
        this.#runDue();
        if (this.#started) this.#sendOwn(ev.msg);
        break;
      case "advertise-deadtime": {
        this.#runDue();
        const before = this.#advertisedDt();
        this.#extraDtMs = Math.max(0, ev.extraMs);
        if (this.#started && this.#advertisedDt() !== before) this.#sendStatus();
        break;
      }
      case "test-loss":
        this.#runDue();
        this.#testLoss = ev.options;
        break;
      case "shutdown":
        this.#stopped = true;
        this.#out.push({ type: "exit", code: 0 });
        break;
    }
    this.#timeoutAt = this.#m.nextTimeout(this.#commUp, this.#localHeartbeatLost);
    return this.#out.take();
  }

  /** When the next tick is due: status send, timers, the earliest node/link timeout. */
  nextDeadline(): number {
    if (!this.#started || this.#stopped) return Infinity;
    return Math.min(
      this.#nextStatusAt,
      this.#startupDtUntil,
      this.#reqnodesAt,
      this.#timers.nextAt(),
      this.#timeoutAt,
    );
  }

  // ---------------------------------------------------------------- timers

  #start(): void {
    this.#started = true;
    this.#starting = true;
    for (const n of this.#m.all) n.lastUpdate = this.#now;
    this.#lastWallSec = Math.floor(this.#wallClock / 1000);
    this.#startupDtUntil = this.#now + STARTUP_DT_WINDOW_MS;
    // Heartbeat: raising dt sends a status (still `init`), then `up` twice
    this.#sendStatus();
    this.#setLocalStatus("up");
    this.#sendStatus();
    this.#nextStatusAt = this.#now + this.#cfg.keepaliveMs;
    this.#starting = false;
    this.#checkCommIsUp();
  }

  /** Everything due at `now`, in Heartbeat's order of concerns. */
  #runDue(): void {
    const sec = Math.floor(this.#wallClock / 1000);
    const jumped = this.#lastWallSec !== undefined && sec < this.#lastWallSec;
    this.#lastWallSec = sec;
    if (jumped) this.#out.log("info", "Clock jumped backwards. Compensating.");
    if (!this.#started) return;
    if (this.#now >= this.#startupDtUntil) {
      this.#startupDtUntil = Infinity;
      this.#sendStatus();
    }
    if (this.#now >= this.#nextStatusAt) {
      if (!this.#ownStatusStopped) this.#sendStatus();
      this.#nextStatusAt += this.#cfg.keepaliveMs;
      if (this.#nextStatusAt <= this.#now) this.#nextStatusAt = this.#now + this.#cfg.keepaliveMs;
    }
    for (const { node, seq } of this.#timers.takeDue(this.#now)) this.#sendRexmitRequest(node, seq);
    if (this.#now >= this.#reqnodesAt) {
      this.#reqnodesAt = Infinity;
      this.#sendReqnodes(this.#reqnodesIndex);
    }
    // after a backwards clock jump Heartbeat skips one dead-node check
    if (!jumped) this.#checkTimeouts();
    this.#checkCommIsUp();
  }

  #checkTimeouts(): void {
    // nothing changed since the end of the previous event: its deadline is exact
    if (this.#now < this.#timeoutAt) return;
    for (const t of this.#m.timeouts(this.#now, this.#commUp)) {
      if (t.kind === "node") {
        if (t.node.self && this.#localHeartbeatLost) continue;
        this.#markDead(t.node);
      } else {
        this.#setLink(t.node, t.channel, "dead");
      }
    }
  }

  // ---------------------------------------------------------------- membership

  #markDead(n: NodeState): void {
    this.#out.log("WARN", `node ${n.name}: is dead`);
    if (n.self) {
      this.#out.log("ERROR", "No local heartbeat. Forcing restart.");
      this.#out.log("info", "See URL: http://linux-ha.org/wiki/FAQ#No_Local_Heartbeat");
      if (!this.#localHeartbeatLost) {
        this.#localHeartbeatLost = true;
        this.#out.push({ type: "restart-required", reason: "no-local-heartbeat" });
      }
      return;
    }
    const previous = n.status;
    n.status = "dead";
    this.#out.push({ type: "node-status", node: n.name, kind: n.kind, status: "dead", previous });
    n.remoteTs = 0;
    n.anyPacketsYet = false;
    this.#resetTrack(n);
  }

  #resetTrack(n: NodeState): void {
    for (const seq of n.track.missing) this.#timers.cancel(n.name, seq);
    n.track.reset();
  }

  /** The first channel whose medium has the same link name as `channel`. */
  #linkChannel(channel: number): number {
    const name = this.#cfg.links[channel];
    const first = name === undefined ? -1 : this.#cfg.links.indexOf(name);
    return first < 0 ? channel : first;
  }

  #setLink(n: NodeState, channel: number, status: LinkStatus): void {
    n.links[channel].status = status;
    const link = this.#cfg.links[channel];
    this.#out.log("info", `Link ${n.name}:${link} ${status}.`);
    this.#out.push({ type: "link-status", node: n.name, link, status });
  }

  #setLocalStatus(st: NodeStatus): void {
    if (st === this.#localStatus) return;
    this.#localStatus = st;
    this.#m.self.status = st;
    this.#out.log("info", `Local status now set to: '${st}'`);
    this.#sendStatus();
  }

  #checkCommIsUp(): void {
    if (this.#linksUp || !this.#started || this.#starting) return;
    if (!this.#m.allHeardOrDead()) return;
    this.#linksUp = true;
    if (this.#flowControl) this.#sendReqnodes(0);
    else this.#commNowUp();
  }

  #sendReqnodes(startIndex: number): void {
    if (this.#gotRepnodes) return;
    const all = this.#m.all;
    let index = -1;
    for (let i = startIndex < all.length ? startIndex : 0; i < all.length; i++) {
      const n = all[i];
      if (n.kind === "normal" && !n.self && n.status !== "dead") {
        index = i;
        break;
      }
    }
    if (index < 0) {
      this.#gotRepnodes = true;
      this.#commNowUp();
      return;
    }
    this.#sendOwn(CoreMessage.of({ t: "reqnodes", dest: all[index].name }));
    this.#reqnodesIndex = index;
    this.#reqnodesAt = this.#now + REQNODES_RETRY_MS;
  }

  #commNowUp(): void {
    if (this.#commUp) return;
    this.#commUp = true;
    this.#out.log("info", "Comm_now_up(): updating status to active");
    this.#setLocalStatus("active");
    this.#out.push({ type: "comm-up" });
  }

  #advertisedDt(): number {
    const startup = this.#startupDtUntil !== Infinity ? STARTUP_DT_EXTRA_MS : 0;
    return this.#cfg.deadtimeMs + Math.max(startup, this.#extraDtMs);
  }

  #sendStatus(): void {
    const msg = CoreMessage.of({
      t: "status",
      st: this.#localStatus,
      dt: this.#advertisedDt().toString(16),
    });
    if (this.#flowControl) msg.set("protocol", "1");
    for (const [k, v] of this.#statusFields) msg.set(k, v);
    this.#sendOwn(msg);
  }

  // ---------------------------------------------------------------- sending

  /**
   * Completes an own message with the control fields (replace-or-append;
   * NS messages keep existing ones), records it in the history, processes it
   * locally (loopback) and only then emits the `send` action, so that
   * messages sent while processing it go out first (behavior.md §1.2).
   */
  #sendOwn(msg: CoreMessage): void {
    const type = msg.type;
    if (type === "") {
      this.#out.log("ERROR", "No type (add_control_msg_fields): ");
      return;
    }
    const ns = type.startsWith(NS_PREFIX);
    const dest = msg.get("dest");
    if (dest !== undefined) {
      const uuid = this.#m.byName(dest.toLowerCase())?.uuid;
      if (uuid && !isNullUuid(uuid)) msg.set("destuuid", uuid.slice());
    }
    const put = (name: string, value: string | Uint8Array) => {
      if (!ns || !msg.has(name)) msg.set(name, value);
    };
    let seq: number | undefined;
    put("src", this.#cfg.nodeName);
    put("srcuuid", this.#cfg.uuid.slice());
    if (!ns) {
      seq = ++this.#seq;
      msg.set("seq", seq.toString(16));
    }
    put("hg", this.#cfg.generation.toString(16));
    put("ts", Math.floor(this.#wallClock / 1000).toString(16));
    if (!ns) msg.set("ld", this.#loadavg);
    put("ttl", this.#ttl);
    if (seq !== undefined) this.#addToHistory(seq);
    this.#receive({ kind: "loopback" }, msg);
    const send: Extract<CoreAction, { type: "send" }> = seq === undefined
      ? { type: "send", msg }
      : { type: "send", msg, seq };
    if (this.#lostOnSend()) send.lost = true;
    this.#out.push(send);
  }

  /** Heartbeat's send_to_all_media under the `OnlyForTesting` hook: is this transmission lost? */
  #lostOnSend(): boolean {
    return this.#testLoss !== undefined && dropOnSend(this.#testLoss, this.#lossRandom);
  }

  /** Heartbeat's add2_xmit_hist: history, queue warnings, flow control. */
  #addToHistory(seq: number): void {
    const hist = this.#hist;
    hist.add(seq);
    const live = this.#m.liveNodeCount();
    if (this.#flowControl && live > 1) {
      const queued = hist.queued;
      if (queued > (HISTORY_SIZE * 9) / 10) {
        this.#out.log("ERROR", `Message hist queue is filling up (${queued} messages in queue)`);
      } else if (queued > (HISTORY_SIZE * 3) / 4) {
        this.#out.log("WARN", `Message hist queue is filling up (${queued} messages in queue)`);
      }
    }
    if (this.#flowControl && hist.hiseq - hist.ackseq > FLOW_CONTROL_LIMIT) {
      if (live < 2) {
        this.#updateAck(hist.hiseq - (FLOW_CONTROL_LIMIT - 1));
        this.#resumeClients();
      } else {
        this.#pauseClients();
      }
    }
  }

  #updateAck(ackseq: number): void {
    if (!this.#hist.updateAck(ackseq)) return;
    if (this.#hist.hiseq - this.#hist.ackseq < FLOW_CONTROL_LIMIT) this.#resumeClients();
  }

  #pauseClients(): void {
    if (this.#clientsPaused) return;
    this.#clientsPaused = true;
    this.#out.log("info", "all clients are now paused");
    this.#out.push({ type: "clients-pause" });
  }

  #resumeClients(): void {
    if (!this.#clientsPaused) return;
    this.#clientsPaused = false;
    this.#out.log("info", "all clients are now resumed");
    this.#out.push({ type: "clients-resume" });
  }

  #sendAckIfNeeded(n: NodeState, seq: number): void {
    if (!this.#flowControl || !n.track.wantsAck(seq)) return;
    this.#sendOwn(
      new CoreMessage([["t", "NS_ackmsg"], ["dest", n.name], [
        "ackseq",
        seq.toString(16),
      ]]),
    );
  }

  // ---------------------------------------------------------------- receiving

  /** Heartbeat's process_clustermsg for a message from a medium or our loopback. */
  #receive(origin: Origin, msg: CoreMessage): void {
    const iface = origin.kind === "medium" ? (this.#cfg.links[origin.channel] ?? "?") : "?";
    const type = msg.get("t");
    const from = msg.get("src");
    const ts = msg.get("ts");
    if (type === undefined || from === undefined || ts === undefined) {
      this.#out.log(
        "ERROR",
        `process_clustermsg: missing from/ts/type: iface ${iface}, from ${from ?? "<?>"}`,
      );
      return;
    }
    const ns = type.startsWith(NS_PREFIX);
    let seqno = 0;
    const cseq = msg.get("seq");
    if (cseq !== undefined) {
      const v = parseHex(cseq);
      if (v === undefined) {
        this.#out.log("ERROR", `process_clustermsg: has bad cseq: iface ${iface}, from ${from}`);
        return;
      }
      seqno = v;
    } else if (!ns) {
      this.#out.log("ERROR", `process_clustermsg: missing seqno: iface ${iface}, from ${from}`);
      return;
    }
    const msgtime = parseHex(ts);
    if (msgtime === undefined || msgtime === 0) return;
    const node = this.#m.lookup(from, msg.getBytes("srcuuid"));
    if (!node) {
      this.#out.log("ERROR", `process_status_message: bad node [${from}] in message`);
      return;
    }
    // the OnlyForTesting hook, where Heartbeat's process_clustermsg applies it
    if (!node.self && this.#testLoss && dropOnReceive(this.#testLoss, from, this.#lossRandom)) {
      return;
    }
    node.anyPacketsYet = true;

    const decision = shouldDropMessage(this.#drop, node, msg, type, ns, seqno);
    if (decision === "drop") return;
    if (origin.kind === "medium") {
      // Heartbeat finds the link by the medium's name (lookup_iface): media sharing a name
      // (`ucast eth0 A` + `ucast eth0 B`) all refresh the first link of that name; the others
      // stay `dead` without a log line, and the API reports the first one.
      const channel = this.#linkChannel(origin.channel);
      const l = node.links[channel];
      if (l) {
        l.lastHeard = this.#now;
        if (l.status !== "up") this.#setLink(node, channel, "up");
      }
    }
    if (decision === "duplicate") return;

    switch (type.toLowerCase()) {
      case "status":
      case "ns_st":
        this.#onStatus(node, msg, seqno, msgtime);
        break;
      case "ns_ackmsg":
        if (this.#flowControl) this.#onAck(node, msg);
        break;
      case "ns_rexmit":
        if (!node.self) this.#onRexmitRequest(node, msg);
        break;
      case "reqnodes":
        this.#onReqnodes(node);
        break;
      case "repnodes":
        this.#onRepnodes(node);
        break;
    }
    if (!ns) this.#out.push({ type: "deliver", from: node.name, origin, msg });
    this.#checkCommIsUp();
  }

  #logPartition(node: NodeState): void {
    this.#out.log("CRIT", `Cluster node ${node.name} returning after partition.`);
    this.#out.log(
      "info",
      "For information on cluster partitions, See URL: http://linux-ha.org/wiki/Split_Brain",
    );
    this.#out.log("WARN", "Deadtime value may be too small.");
    this.#out.log("info", "See FAQ for information on tuning deadtime.");
    this.#out.log("info", "URL: http://linux-ha.org/wiki/FAQ#Heavy_Load");
    this.#out.push({ type: "partition-healed", node: node.name });
    this.#sendStatus();
  }

  /** Heartbeat's is_lost_packet: a missing number arrived (or was NAKed). */
  #isLostPacket(node: NodeState, seq: number): boolean {
    const t = node.track;
    const oldFirst = t.firstMissing;
    if (!t.removeMissing(seq)) return false;
    this.#timers.cancel(node.name, seq);
    if (t.missing.size === 0) this.#out.log("info", `No pkts missing from ${node.name}!`);
    if (this.#flowControl && seq === oldFirst) {
      const ackSeq = t.ackAfterFill(oldFirst);
      if (ackSeq > 0) this.#sendAckIfNeeded(node, ackSeq);
    }
    return true;
  }

  /** Heartbeat's HBDoMsg_T_STATUS (also for `NS_st` of ping nodes). */
  #onStatus(node: NodeState, msg: CoreMessage, seqno: number, msgtime: number): void {
    const st = msg.get("st");
    if (st === undefined) {
      this.#out.log("ERROR", "HBDoMsg_T_STATUS: status update without st field");
      return;
    }
    if (msgtime < node.remoteTs && seqno < node.statusSeq) return;
    if (node.kind !== "ping" && this.#flowControl && !msg.has("protocol")) {
      this.#out.log("info", "flow control disabled due to different version heartbeat");
      this.#flowControl = false;
    }
    if (node.lastUpdate !== undefined) {
      const interval = Math.floor(this.#now - node.lastUpdate);
      if (interval > this.#cfg.deadtimeMs) {
        this.#out.log(
          "CRIT",
          `Late heartbeat: Node ${node.name}: interval ${interval} ms (> deadtime)`,
        );
        if (!node.self) this.#markDead(node);
      } else if (interval > this.#cfg.warntimeMs) {
        this.#out.log("WARN", `Late heartbeat: Node ${node.name}: interval ${interval} ms`);
      }
    }
    const status = st.toLowerCase() as NodeStatus;
    if (status !== node.status && !node.self) {
      this.#out.log("info", `Status update for node ${node.name}: status ${st}`);
      const previous = node.status;
      node.status = status;
      this.#out.push({ type: "node-status", node: node.name, kind: node.kind, status, previous });
    }
    const dt = parseHex(msg.get("dt"));
    if (dt !== undefined && dt > 0) node.deadMs = dt;
    if (node.self) this.#localHeartbeatLost = false;
    node.remoteTs = msgtime;
    node.lastUpdate = this.#now;
    node.statusSeq = seqno;
  }

  /** Heartbeat's HBDoMsg_T_ACKMSG: a node acknowledged our messages. */
  #onAck(node: NodeState, msg: CoreMessage): void {
    if (msg.get("dest") !== this.#cfg.nodeName) return;
    const ackseq = parseHex(msg.get("ackseq"));
    if (ackseq === undefined) return;
    const hist = this.#hist;
    const t = node.track;
    if (ackseq === t.ackseq || ackseq <= hist.ackseq) return;
    if (ackseq > hist.hiseq) {
      this.#out.log(
        "ERROR",
        `HBDoMsg_T_ACK: corrupted ackseq current hiseq = ${hist.hiseq} ackseq =${ackseq} in this message`,
      );
      return;
    }
    if (ackseq < t.ackseq) return;
    t.ackseq = ackseq;
    let min = Infinity;
    for (const n of this.#m.all) {
      if (n.kind !== "normal" || n.status === "dead") continue;
      if (n.track.ackseq < min) min = n.track.ackseq;
    }
    if (min === Infinity) return;
    let newAck = hist.ackseq;
    if (this.#m.liveNodeCount() < 2) {
      if (hist.hiseq - newAck >= FLOW_CONTROL_LIMIT) newAck = hist.hiseq - (FLOW_CONTROL_LIMIT - 1);
    } else if (min > 0) {
      newAck = min;
    }
    this.#updateAck(newAck);
  }

  /** Heartbeat's process_rexmit: answer a retransmission request addressed to us. */
  #onRexmitRequest(node: NodeState, msg: CoreMessage): void {
    const first = parseDecimal(msg.get("firstseq"));
    let last = parseDecimal(msg.get("lastseq"));
    if (first <= 0 || last <= 0 || first > last) {
      this.#out.log("ERROR", "Invalid rexmit seqnos");
      return;
    }
    // defensive bound (Heartbeat would loop over any range)
    last = Math.min(last, first + 2 * HISTORY_SIZE);
    const steps = planRexmitAnswer(
      this.#hist,
      first,
      last,
      node.track.ackseq,
      this.#now,
      this.#maxRexmitDelay - 10,
    );
    for (const step of steps) {
      if (step.kind === "resend") {
        this.#out.push(
          this.#lostOnSend()
            ? { type: "rexmit", seq: step.seq, lost: true }
            : { type: "rexmit", seq: step.seq },
        );
      } else if (step.kind === "too-high") {
        this.#out.log("WARN", `Rexmit of seq ${step.seq} requested. ${this.#hist.hiseq} is max.`);
      } else {
        this.#nak(node, step.seq, step.reason);
      }
    }
  }

  #nak(node: NodeState, seq: number, reason: string): void {
    const h = this.#hist;
    this.#out.log("ERROR", `Cannot rexmit pkt ${seq} for ${node.name}: ${reason}`);
    this.#out.log("info", `fromnode =${node.name}, fromnode's ackseq = ${node.track.ackseq}`);
    this.#out.log("info", "hist information:");
    this.#out.log(
      "info",
      `hiseq =${h.hiseq}, lowseq=${h.lowseq},ackseq=${h.ackseq},lastmsg=${h.lastmsg}`,
    );
    this.#sendOwn(
      new CoreMessage([
        ["t", "NS_nak_rexmit"],
        ["firstseq", seq.toString(16)],
        ["dest", node.name],
        ["info", reason],
      ]),
    );
  }

  #scheduleRexmitRequest(node: NodeState, seq: number): void {
    const max = this.#maxRexmitDelay;
    const delay = randomInt(this.#random, max < 100 ? 0 : 50, max);
    this.#timers.schedule(node.name, seq, this.#now + delay);
  }

  /** A retransmission-request timer fired. */
  #sendRexmitRequest(name: string, seq: number): void {
    const node = this.#m.byName(name);
    if (!node || !node.track.missing.has(seq)) return;
    // no point asking a node that is not up
    if (node.status !== "up" && node.status !== "active") return;
    this.#sendOwn(
      new CoreMessage([
        ["t", "NS_rexmit"],
        ["dest", node.name],
        ["firstseq", String(seq)],
        ["lastseq", String(seq)],
      ]),
    );
    this.#timers.schedule(node.name, seq, this.#now + this.#maxRexmitDelay);
  }

  #onReqnodes(node: NodeState): void {
    if (node.self) {
      this.#out.log("ERROR", "HBDoMsg_T_REQNODES: get reqnodes msg from myself!");
      return;
    }
    const nodelist = this.#m.all.filter((n) => n.kind === "normal").map((n) => `${n.name} `)
      .join("");
    this.#sendOwn(
      new CoreMessage([
        ["dest", node.name],
        ["t", "repnodes"],
        ["nodelist", nodelist],
        ["delnodelist", " "],
      ]),
    );
  }

  #onRepnodes(node: NodeState): void {
    if (node.self) return;
    this.#gotRepnodes = true;
    this.#reqnodesAt = Infinity;
    this.#commNowUp();
  }
}
