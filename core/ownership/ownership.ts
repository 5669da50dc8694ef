/**
 * {@link Ownership}: Heartbeat 3.0.6's haresources resource-ownership
 * protocol (behavior.md §6–§7, wire.md §5.2) as a deterministic state
 * machine. The membership core embeds one instance and feeds it membership
 * changes, delivered resource messages, ticks, shutdown requests and the
 * results of the resource runs it asked for.
 *
 * It also plays the shell programs Heartbeat runs for this protocol
 * (`rc.d/status` → `mach_down`, `req_resource`, `rc.d/ip-request`,
 * `rc.d/ip-request-resp`, `rc.d/hb_takeover`, the delayed `hb_standby` after a
 * failed start) and produces their log lines; the embedder must not run
 * those stock scripts as well.
 *
 * Own messages: {@link Ownership} processes every message it sends before
 * emitting the `send` action (Heartbeat's loopback, §1.2), so messages
 * created while processing appear earlier in the action list, i.e. reach the
 * wire first, exactly as with Heartbeat.
 *
 * Deliberate differences from Heartbeat 3.0.6 (wire-compatible; each only
 * matters when Heartbeat would misbehave):
 * 1. Event driven: messages are acted upon at once and deadlines are exact
 *    (no 500 ms batching, §1.3).
 * 2. With 3+ nodes a dead node's groups are taken by exactly one survivor:
 *    the first living normal node in ha.cf order (others log it and do
 *    nothing); a standby answerer only acquires the groups it is designated
 *    for, a requester gives up only the groups it runs, and the answers of
 *    the other nodes of the same exchange (and the `starting` of every peer
 *    when several start together) are expected, not errors; a starting node
 *    waits for the reports of every living peer.
 * 3. Duplicates after a healed partition or a late heartbeat are resolved
 *    without the shutdown-and-restart: each side announces its held set;
 *    for a group both hold, the preferred node keeps it when it is one of
 *    the two, else the one first in ha.cf order, and the other releases it;
 *    the keeper re-announces the group's service addresses (gratuitous ARPs,
 *    a `run` with op `announce`), which Heartbeat's restart would have done
 *    by starting them again. A real 3.0.6 peer restarts itself as usual; its
 *    `shutdone` then hands its groups to us (standard path).
 * 4. Standby requests do not hang: a requester re-sends `me` when no
 *    `other` comes (every `standbyRetryMs`, `standbyRetries` times); an
 *    answerer re-sends `other` on a repeated `me` and ignores repeated
 *    `done`s; unanswered requests are cancelled in seconds, not after 1
 *    hour. `done` is never re-sent (a real 3.0.6 answerer that is still
 *    acquiring mistakes a second `done` for the end of the exchange and never
 *    records what it acquired); a lost one is retransmitted by the membership
 *    layer like any other message.
 * 5. hb does not send `ip-request-resp` to itself for a group it already
 *    holds per its bookkeeping (req_resource's status check), and rc.d/ip-request
 *    answers `weown` from that bookkeeping.
 * 6. Quirk kept for compatibility: `hb_takeover failback` makes the peer go
 *    standby `all` (rc.d/hb_takeover has no mapping for it).
 * 7. A node already dead that is declared dead again (a late heartbeat after
 *    a partition heals) is not recovered a second time (Heartbeat re-runs
 *    mach_down, which only re-checks what already runs).
 * 8. With 3+ nodes each node adds `hb_held=<keys>` (the groups it runs or is
 *    starting, file order, blank-separated) to its `resource` messages; a
 *    real Heartbeat ignores the field (and 3.0.6 supports only two nodes in
 *    haresources mode). When a node dies or leaves, every group it ran (not
 *    only those it prefers) goes to one survivor: the group's preferred node
 *    when alive, else the first living node in ha.cf order; duplicates are
 *    judged on these exact sets instead of the class bits.
 *
 * @module
 */

import { CoreMessage } from "../message.ts";
import {
  className,
  complementClass,
  designatedNode,
  encodeClass,
  keysOf,
  keysOfClass,
  pairKeeper,
  peerClassCovers,
  updateHeld,
} from "./rules.ts";
import {
  type GroupOutcome,
  type LogLine,
  type LogTag,
  type OwnedGroup,
  type OwnershipAction,
  type OwnershipConfig,
  type OwnershipEvent,
  type OwnershipLike,
  type OwnershipPriority,
  type PeerStatus,
  RSC_ALL,
  RSC_FOREIGN,
  RSC_LOCAL,
  RSC_NONE,
  type RscStatus,
  RState,
  type RunReason,
  Standby,
} from "./types.ts";

/** Heartbeat's STANDBY_INIT_TO_MS: a requester waits this long for `other`. */
export const STANDBY_INIT_TIMEOUT_MS = 10_000;
/** Heartbeat's HB_STANDBY_RSC_TO_MS: one hour. */
export const STANDBY_RESOURCE_TIMEOUT_MS = 3_600_000;
/** hb fix 3: a kept group's addresses are re-announced at most this often. */
const REANNOUNCE_GAP_MS = 3000;
/**
 * Two nodes: re-announcements of a kept duplicate after which a peer that still runs it is
 * taken not to resolve duplicates (a real Heartbeat) and we release ours (5 × 3 s: long enough
 * for an hb peer behind a lossy link to hear one of them).
 */
const YIELD_AFTER_REANNOUNCES = 5;
/**
 * hb fix 27: how long a group must run nowhere, with every living node stable, before its
 * designated node takes it (long enough for reports in flight and a retransmission round).
 */
const ORPHAN_SETTLE_MS = 5000;
/**
 * hb fix 27: no orphan is taken until this long after the last standby message seen (a standby
 * exchange's release or acquisition sends nothing while its scripts run).
 */
const EXCHANGE_QUIET_MS = 20_000;
/** hb fix 22: wait for the answerer's `done` after its stable report. */
const STANDBY_DONE_WAIT_MS = 5000;
/** Auto failback retry interval (AutoFailbackProc). */
export const AUTO_FAILBACK_RETRY_MS = 1000;

interface Run {
  reason: RunReason;
  op: "take" | "give" | "announce";
  pending: Set<string>;
  onKey?: (key: string, result: GroupOutcome) => void;
  onDone: () => void;
}

interface Timer {
  at: number;
  fn: () => void;
  /** Counts as a running resource child (Heartbeat's ResourceMgmt_child_count). */
  child: boolean;
  /** The handle() call that created it: a child's effects never run in the same call. */
  serial?: number;
}

interface PeerInfo {
  status: PeerStatus | "unknown";
  /** anypacketsyet. */
  heard: boolean;
  /** Legacy: has_resources. */
  hasResources: boolean;
  /** A restart was reported since it was last dead. */
  restarted: boolean;
  /** Last `resource` report (N-node bookkeeping). */
  held?: number;
  /** hb fix 8: the exact groups of its last report (`hb_held`), when it sent them. */
  heldKeys?: Set<string>;
  /** Last heartbeat time from the death event. */
  lastHeard?: number;
  /** It had been heard when it was last declared dead (a return is then a healed partition). */
  diedHeard: boolean;
  /**
   * hb fix 9: it restarted (new generation) without being declared dead while it was
   * reported running some of our local groups: its first stable report says whether it
   * still runs them.
   */
  recheckOurs?: boolean;
  /** hb fix 38: generation and seq of its newest report with `isstable` processed. */
  stableGen?: string;
  /** See {@link PeerInfo.stableGen}. */
  stableSeq?: number;
  /** hb fix 33: its class bits when we took over from it (two nodes). */
  heldAtDeath?: number;
  /** hb fix 12: generation (`hg`) and seq of its newest `starting`/`resource` processed. */
  reportGen?: string;
  /** See {@link PeerInfo.reportGen}. */
  reportSeq?: number;
  /** hb fix 25: groups of other nodes it ran before a fast restart. */
  lostKeys?: string[];
  /** hb fix 24: its last report said `isstable=0`. */
  unstable?: boolean;
  /** hb fix 20: a non-dead status of it was ever seen. */
  everHeard?: boolean;
  /** hb fix 16: it restarted (legacy mode): ask for our groups again once it is active. */
  legacyRecheck?: boolean;
  /** hb fix 11: it restarted while we were negotiating with it: its next `starting` counts. */
  renegotiate?: boolean;
  /** hb fix 52: generation and seq of its newest standby message processed. */
  standbyGen?: string;
  /** See {@link PeerInfo.standbyGen}. */
  standbySeq?: number;
}

/**
 * Whether `msg` is older than the message of generation `gen` and sequence number `seq` of the
 * same sender (a retransmission delivered after newer ones).
 */
function olderThan(msg: CoreMessage, gen: string | undefined, seq: number | undefined): boolean {
  return seq !== undefined && gen === msg.get("hg") && parseInt(msg.get("seq") ?? "", 16) < seq;
}

/** The ownership state machine of one node. */
export class Ownership implements OwnershipLike {
  readonly #cfg: Required<Omit<OwnershipConfig, "stonith" | "restart" | "peerRunsHeartbeat">> & {
    stonith: boolean;
  };
  readonly #me: string;
  readonly #nice: boolean;
  #out: OwnershipAction[] = [];
  #now = 0;
  #serial = 0;

  #commUp = false;
  #rstate: RState = RState.INIT;
  #held = RSC_NONE;
  #otherHeld = RSC_NONE;
  #otherStable = false;
  #standby: Standby = Standby.NOT;
  #standbyDeadline = 0;
  #standbyClass = RSC_ALL;
  /** Groups whose start failed here (hb fix 18 leaves them alone). */
  readonly #failedHere = new Set<string>();
  /** hb fix 13: concurrent standby requesters our `other` answered too, with their class. */
  readonly #alsoGiving = new Map<string, number>();
  /** hb fix 42: counts the standby exchanges we entered (requester or answerer). */
  #exchangeSerial = 0;
  /** hb fix 39: our ip-requests (legacy) no answer came for yet. */
  readonly #ipRequestPending = new Set<string>();
  /** Whether a peer is known to run the real Heartbeat (hb fix 33). */
  readonly #isHeartbeatPeer: (node: string) => boolean;
  /** hb fix 30: the groups we released in the standby exchange that runs (3+ nodes). */
  #givenKeys = new Set<string>();
  /** When the last standby message (`ask_resources`) was seen (hb fix 27). */
  #lastStandbyMessageAt = -Infinity;
  /** hb fix 27: groups seen running nowhere, and since when (virtual ms). */
  readonly #orphanSince = new Map<string, number>();
  /**
   * hb fix 49 (3+ nodes): groups whose stop runs here: our reports still list them (`hb_held`)
   * until it completes.
   */
  readonly #releasing = new Set<string>();
  /** hb fix 45: never-heard dead nodes whose takeover waits for the living peers' reports. */
  readonly #deferredDead = new Map<string, { heard: boolean; lastHeard?: number }>();
  /** hb fix 45: shutdown notices of peers that wait the same way. */
  readonly #deferredShutdone = new Set<string>();
  #takeoverInProgress = false;
  #failbackNeeded = false;
  /**
   * hb: a peer gave its groups away for service failures (its `ask_resources` carried
   * `hb_failhold=<ms>`, core/monitor.ts): no auto failback to it before this time.
   */
  #failbackHoldUntil = -Infinity;
  /** The peer of {@link #failbackHoldUntil}. */
  #failbackHoldFrom = "";
  #failbackRetryAt = Infinity;
  #localWorkDone = false;
  #foreignWorkDone = false;
  #announced = false;
  #localTakeoverAt = 0;
  #shutdownInProgress = false;
  #needsShutdown = false;
  #giveupStarted = false;
  #shutdownAfterCommUp = false;
  #restartAfterShutdown = false;
  /** Quick restart (`-R`): Heartbeat's WeAreRestarting. */
  readonly #restarting: boolean;

  // hb fix 4 (standby retries)
  #standbyPeer = "";
  #releaseStarted = false;
  #peerReleaseSeen = false;
  #retryAt = Infinity;
  #retries = 0;
  #otherTimeoutAt = Infinity;
  #acquiring = false;
  #lastExchangePeer = "";
  #lastExchangeEnd = -Infinity;

  // hb fix 3 (duplicates)
  #healPending = false;
  #dupAnnounced = false;
  /** When our held resources were last announced for a duplicate resolution. */
  #dupAnnouncedAt = -Infinity;
  /** hb fix 21: when we last announced after a heal, and last got a peer's stable report. */
  #healAnnouncedAt = -Infinity;
  #lastPeerReportAt = -Infinity;
  /** A repeated announcement is scheduled. */
  #dupAnnouncePending = false;
  /**
   * Peers whose report showed a group we run too, resolved once we are quiet. A set: with 3+
   * nodes several peers can overlap at once and one name lost the others (found by the
   * simulator: core/sim/testdata/explore_heal_after_lossy_four.txt).
   */
  readonly #dupCheckFrom = new Set<string>();

  readonly #runs = new Map<number, Run>();
  #nextRunId = 1;
  #timers: Timer[] = [];
  readonly #peers = new Map<string, PeerInfo>();
  readonly #holding = new Set<string>();
  /** hb fix 8: groups we run or are starting (announced as `hb_held` with 3+ nodes). */
  readonly #claimed = new Set<string>();
  readonly #fenceLastHeard = new Map<string, number | undefined>();
  /** Last re-announcement of a kept group's addresses (fix 3). */
  readonly #reannouncedAt = new Map<string, number>();
  /** Re-announcements in a row to a peer that still runs a group we keep. */
  #reannounceCount = 0;

  /** Creates the machine for `config`. */
  constructor(config: OwnershipConfig) {
    this.#cfg = {
      nodeName: config.nodeName,
      nodes: [...config.nodes],
      groups: [...config.groups],
      autoFailback: config.autoFailback,
      keepaliveMs: config.keepaliveMs,
      stonith: config.stonith ?? false,
      pid: config.pid ?? 0,
      haDir: config.haDir ?? "/etc/ha.d/",
      rqstDelayMs: config.rqstDelayMs ?? 10_000,
      standbyRetryMs: config.standbyRetryMs ?? Math.max(config.keepaliveMs, 500),
      standbyRetries: config.standbyRetries ?? 3,
      failedStartStandbyMs: config.failedStartStandbyMs ?? 30_000,
      stonithRetryMs: config.stonithRetryMs ?? 5000,
    };
    this.#me = config.nodeName;
    this.#isHeartbeatPeer = config.peerRunsHeartbeat ?? (() => false);
    this.#nice = config.autoFailback !== "legacy";
    this.#restarting = config.restart !== undefined;
    if (config.restart !== undefined) {
      const cls = encodeClass(config.restart.held ?? "none");
      if (this.#nice && cls > 0) this.#held = cls;
      const keys = config.restart.holding ??
        keysOfClass(this.#cfg.groups, this.#me, cls > 0 ? cls : RSC_NONE);
      for (const k of keys) {
        this.#holding.add(k);
        this.#claimed.add(k);
      }
    }
    for (const n of this.#cfg.nodes) {
      if (n !== this.#me) {
        this.#peers.set(n, {
          status: "unknown",
          heard: false,
          hasResources: true,
          restarted: false,
          diedHeard: false,
        });
      }
    }
  }

  // ------------------------------------------------------------------ public

  /** The held set as Heartbeat names it (`none`/`local`/`foreign`/`all`). */
  get held(): string {
    return className(this.#held);
  }

  /** Resource state number (INIT 0 … SHUTDOWN 5). */
  get resourceState(): RState {
    return this.#rstate;
  }

  /** Standby state number (NOT 0 … DONE 3). */
  get standbyState(): Standby {
    return this.#standby;
  }

  /** Group keys this node runs per its bookkeeping (started and not released). */
  get holding(): string[] {
    return this.#cfg.groups.map((g) => g.key).filter((k) => this.#holding.has(k));
  }

  /**
   * Groups peer `node` last reported running (its exact `hb_held` list, else the groups of its
   * `rsc_hold` class); undefined before its first report. Read by `heartbeat status`.
   */
  peerHolding(node: string): string[] | undefined {
    const p = this.#peers.get(node);
    if (p === undefined) return undefined;
    if (p.heldKeys !== undefined) {
      return this.#cfg.groups.map((g) => g.key).filter((k) => p.heldKeys!.has(k));
    }
    return p.held === undefined ? undefined : keysOfClass(this.#cfg.groups, node, p.held);
  }

  /** `cl_status rscstatus` (behavior.md §6.2). */
  rscstatus(): RscStatus {
    if (!this.#nice) return this.#childCount() > 0 ? "transition" : "none";
    return this.#isStable() ? className(this.#held) as RscStatus : "transition";
  }

  /** When the next tick is wanted. */
  nextDeadline(): number {
    let t = Infinity;
    for (const x of this.#timers) t = Math.min(t, x.at);
    if (this.#nice && this.#rstate === RState.RSCRCVD && this.#localTakeoverAt > 0) {
      t = Math.min(t, this.#localTakeoverAt);
    }
    if (this.#standbyDeadline > 0) t = Math.min(t, this.#standbyDeadline);
    return Math.min(t, this.#failbackRetryAt, this.#retryAt, this.#otherTimeoutAt);
  }

  /** Feeds one event; returns the actions in order. */
  handle(ev: OwnershipEvent): OwnershipAction[] {
    this.#out = [];
    this.#serial++;
    this.#now = Math.max(this.#now, ev.now);
    switch (ev.type) {
      case "comm-up":
        this.#onCommUp(ev.restarting ?? this.#restarting);
        break;
      case "node-status":
        this.#onNodeStatus(ev.node, ev.status, ev.previous, ev.lastHeard, ev.heard);
        break;
      case "node-restart": {
        const p = this.#peers.get(ev.node);
        if (p !== undefined) {
          // (whatever it last reported: a restart during its shutdown had reported none while
          // it still held them, explore_restart_during_shutdown.txt)
          if (p.status !== "dead" && this.#nice) p.recheckOurs = true;
          // with 3+ nodes, the groups of others it ran are gone too (hb fix 25)
          p.lostKeys = this.#multi() && p.status !== "dead"
            ? [...(p.heldKeys ?? [])].filter((k) =>
              this.#cfg.groups.find((g) => g.key === k)?.node !== ev.node
            )
            : undefined;
          p.renegotiate = this.#rstate === RState.BOTHSTARTING;
          // hb fix 16 (legacy): our ip-requests to it died with it; ask again once it is up
          p.legacyRecheck = !this.#nice && this.#commUp;
          // hb fix 10: the peer of a standby exchange restarted: it will never answer (found by
          // the simulator: core/sim/testdata/explore_standby_peer_restart.txt)
          // groups given up for it ran nowhere then: they are checked like in hb fix 9
          if (this.#standby !== Standby.NOT && this.#standbyPeer === ev.node) {
            p.recheckOurs = true;
            this.#cancelStandby();
          }
          // hb fix 40: a peer that restarted may have run our groups (both sides took them over
          // in a split brain, and a real Heartbeat restarts itself after the heal): its stop
          // took their addresses down and clients still send to its hardware address. We
          // announce what we run again (gratuitous ARPs; found by the chaos campaign, mixed
          // topology, seed 2026 #1: the service unreachable 23 s after the heal)
          if (this.#nice && this.#holding.size > 0 && !this.#shutdownInProgress) {
            const keys = this.#cfg.groups.map((g) => g.key).filter((k) => this.#holding.has(k));
            this.#run("announce", keys, "resolve", this.#baseEnv(), () => {});
            // hb fix 44: and the restarted peer hears what we run (its `starting`, which a
            // report of ours answers, can be lost: a one-way cut while it restarted left both
            // running our group for good, found by the simulator:
            // explore_restart_behind_one_way_cut.txt)
            if (this.#commUp && this.#rstate === RState.STABLE && !this.#multi()) {
              this.#sendHeld(true);
            }
          }
          // hb fix 51 (3+ nodes): and, running something or not, we ask every node for its
          // report (`hb_ask`): a restart seen only after a heal (its `starting` never reached
          // us) left us without the restarted node's report, and the orphan sweep waited for
          // it for good while a group we had given up in a cancelled exchange ran nowhere
          // (found by the simulator: explore_restart_seen_at_heal.txt)
          if (
            this.#multi() && this.#nice && this.#commUp && this.#rstate === RState.STABLE &&
            !this.#shutdownInProgress
          ) {
            this.#sendHeld(true, undefined, true);
          }
          this.#noteHomeBack(ev.node);
          // (a shutdown notice of its earlier life still waiting here is dropped: it released
          // everything at its stop and asks for its own groups itself:
          // explore_shutdone_deferred_past_restart.txt)
          this.#deferredShutdone.delete(ev.node);
          p.restarted = true;
          p.heldAtDeath = undefined;
          p.hasResources = true;
          p.held = undefined;
          p.heldKeys = undefined;
        }
        break;
      }
      case "partition-healed":
        if (this.#peers.has(ev.node)) this.#healPending = true;
        // hb fix 31 (3+ nodes): its reports from across the partition were heard while it was
        // dead to us, so none started the duplicate resolution, and a keeper re-announces
        // without a new report: its last report is checked now (found by the simulator:
        // core/sim/testdata/explore_heal_after_lossy_four.txt)
        if (this.#multi() && this.#peers.get(ev.node)?.held !== undefined) {
          this.#dupCheckFrom.add(ev.node);
        }
        // hb fix 33 (two nodes, a real Heartbeat peer): a peer back from a partition or a freeze
        // without a restart still runs what it ran when we took over from it, unless it
        // reported since. An hb peer announces what it runs after the heal; a real Heartbeat
        // 3.0.6 never does (it only logs "Both machines own our resources!"), so its groups ran
        // twice for good (found by the chaos campaign, mixed topology: the real holder's master
        // frozen past deadtime, then thawed). The duplicate resolution runs on what it ran;
        // where we keep a group, our announcements go on until the peer yields or we do
        // (#yieldDuplicates). Not for hb peers: their reports after a heal are the truth, and
        // what they ran before can be stale (a release we did not hear).
        if (!this.#multi() && this.#isHeartbeatPeer(ev.node)) {
          const p = this.#peers.get(ev.node);
          if (p?.heldAtDeath !== undefined && (p.held ?? RSC_NONE) === RSC_NONE) {
            p.held = p.heldAtDeath;
            // (and the audit's view of the other side: else it found nobody running our
            // groups once we yielded and took them back at once)
            this.#otherHeld = p.heldAtDeath;
            this.#dupCheckFrom.add(ev.node);
          }
          if (p !== undefined) p.heldAtDeath = undefined;
        }
        break;
      case "message":
        this.#onMessage(ev.from, ev.msg);
        break;
      case "tick":
        break;
      case "shutdown-request":
        this.#onShutdownRequest(ev.restart ?? false);
        break;
      case "group-result":
        this.#onGroupResult(ev.id, ev.key, ev.result, ev.standby);
        break;
      case "fenced":
        this.#onFenced(ev.node, ev.result);
        break;
    }
    this.#runDue();
    this.#afterEvent();
    return this.#out;
  }

  // ------------------------------------------------------------------ output helpers

  #log(prio: OwnershipPriority, text: string, tag: LogTag = "heartbeat"): void {
    this.#out.push({ type: "log", line: { prio, text, tag } });
  }

  /** send_cluster_msg: process locally first (nested), then emit. */
  #send(fields: [string, string][]): void {
    const msg = new CoreMessage(fields);
    this.#onMessage(this.#me, msg);
    this.#out.push({ type: "send", msg });
  }

  /** Emits without local processing (hb's retries of a message already processed). */
  #sendRaw(fields: [string, string][]): void {
    this.#out.push({ type: "send", msg: new CoreMessage(fields) });
  }

  #sendHeld(stable: boolean, comment?: string, ask = false): void {
    if (!this.#nice) return;
    const f: [string, string][] = [
      ["t", "resource"],
      ["rsc_hold", className(this.#held)],
      ["rtype", "full"],
      ["isstable", stable ? "1" : "0"],
    ];
    if (comment !== undefined) f.push(["info", comment]);
    const withHeld = this.#withClaimed(f);
    if (ask) withHeld.push(["hb_ask", "1"]);
    this.#send(withHeld);
  }

  /** hb fix 8: adds `hb_held` to a `resource` message in a 3+ node cluster. */
  #withClaimed(f: [string, string][]): [string, string][] {
    if (!this.#multi()) return f;
    // hb fix 49: a group still stopping here is still ours: a node that started meanwhile
    // read our report without it and started it before our stop ended (found by the
    // simulator with the handover check: explore_named_taker_slow.txt)
    const keys = this.#cfg.groups.map((g) => g.key).filter((k) =>
      this.#claimed.has(k) || this.#releasing.has(k)
    );
    return [...f, ["hb_held", keys.join(" ")]];
  }

  #standbyFields(info: string): [string, string][] {
    return [["t", "ask_resources"], ["rsc_hold", className(this.#standbyClass)], ["info", info]];
  }

  #sendStandby(info: "me" | "other" | "done"): void {
    this.#send(this.#standbyFields(info));
  }

  #run(
    op: "take" | "give" | "announce",
    keys: string[],
    reason: RunReason,
    env: Record<string, string>,
    onDone: () => void,
    extra: {
      before?: LogLine[];
      announce?: Record<string, LogLine[]>;
      onKey?: Run["onKey"];
      announceHolder?: boolean;
    } = {},
  ): void {
    const id = this.#nextRunId++;
    for (const k of keys) {
      if (op === "take") {
        this.#claimed.add(k);
        this.#releasing.delete(k);
      } else if (op === "give") {
        this.#claimed.delete(k);
        if (this.#holding.has(k)) this.#releasing.add(k);
      }
    }
    if (keys.length === 0) {
      // a child with nothing to do: its effects come at the next step
      for (const l of extra.before ?? []) this.#log(l.prio, l.text, l.tag);
      this.#timers.push({ at: this.#now, fn: onDone, child: true, serial: this.#serial });
      return;
    }
    this.#runs.set(id, { reason, op, pending: new Set(keys), onKey: extra.onKey, onDone });
    const action: OwnershipAction = { type: "run", id, op, keys: [...keys], reason, env };
    if (extra.before !== undefined) action.before = extra.before;
    if (extra.announce !== undefined) action.announce = extra.announce;
    if (extra.announceHolder === true) action.announceHolder = true;
    this.#out.push(action);
  }

  #childLine(text: string): LogLine {
    return { prio: "info", text, tag: "heartbeat-child" };
  }

  #baseEnv(): Record<string, string> {
    return this.#nice ? { HA_NICEFAILBACK: "yes" } : {};
  }

  // ------------------------------------------------------------------ bookkeeping

  #childCount(): number {
    // announcements (gratuitous ARPs for what already runs) are no resource transition
    let runs = 0;
    for (const r of this.#runs.values()) if (r.op !== "announce") runs++;
    return runs + this.#timers.filter((t) => t.child).length;
  }

  #alive = (n: string): boolean => {
    if (n === this.#me) return true;
    const p = this.#peers.get(n);
    if (p === undefined) return false;
    // hb fix 50: a peer whose messages (its report) came before its first status is alive
    // too: without it a node starting next to it took its groups as orphans, and named
    // itself their designated node (found by the simulator: explore_stop_during_initdead.txt)
    return p.status === "up" || p.status === "active" ||
      (p.status === "unknown" && p.heard && this.#commUp && this.#multi());
  };

  #deadCount(): number {
    let c = 0;
    for (const p of this.#peers.values()) if (p.status === "dead") c++;
    return c;
  }

  #multi(): boolean {
    return this.#cfg.nodes.length > 2;
  }

  /** hb_rsc_isstable. */
  #isStable(): boolean {
    if (!this.#nice) return this.#childCount() === 0;
    if (this.#shutdownInProgress && this.#rstate === RState.INIT) return true;
    return this.#otherStable && !this.#takeoverInProgress && this.#standby === Standby.NOT &&
      this.#standbyDeadline === 0 && this.#childCount() === 0 &&
      (this.#rstate === RState.STABLE || this.#rstate === RState.SHUTDOWN ||
        this.#rstate === RState.INIT);
  }

  #announce(reason: string): void {
    if (this.#announced || !this.#localWorkDone || !this.#foreignWorkDone) return;
    this.#log("info", `Initial resource acquisition complete (${reason})`);
    this.#announced = true;
  }

  #audit(): void {
    if (!this.#nice || this.#multi()) return;
    if ((this.#held & RSC_LOCAL) && (this.#otherHeld & RSC_FOREIGN)) {
      this.#log("ERROR", "Both machines own our resources!");
    }
    if ((this.#otherHeld & RSC_LOCAL) && (this.#held & RSC_FOREIGN)) {
      this.#log("ERROR", "Both machines own foreign resources!");
    }
    if (this.#isStable() && !this.#shutdownInProgress && this.#rstate !== RState.SHUTDOWN) {
      if (!(this.#held & RSC_LOCAL) && !(this.#otherHeld & RSC_FOREIGN)) {
        this.#log("ERROR", "No one owns our local resources!");
        this.#adoptOurs();
      }
      if (!(this.#otherHeld & RSC_LOCAL) && !(this.#held & RSC_FOREIGN)) {
        this.#log("ERROR", "No one owns foreign resources!");
      }
    }
  }

  /**
   * hb fix 18: Heartbeat's audit only logs "No one owns our local resources!"; when both
   * sides are stable and the peer's report says it runs none of them, nobody ever will (a
   * peer that restarted while a duplicate resolution released them there: found by the
   * simulator, core/sim/testdata/explore_nobody_owns_ours.txt). We acquire them, unless a
   * start failed here (that is the delayed hb_standby's business, §6.5) or an exchange runs.
   */
  #adoptOurs(): void {
    if (!this.#quiet() || !this.#otherStable || this.#failedHere.size > 0) return;
    if (keysOf(this.#cfg.groups, this.#me).every((k) => this.#holding.has(k))) return;
    this.#log("info", "Acquiring our local resources: no one runs them.");
    this.#reqOurResources(true);
  }

  #runDue(): void {
    for (let guard = 0; guard < 1000; guard++) {
      const i = this.#timers.findIndex((t) => t.at <= this.#now && t.serial !== this.#serial);
      if (i < 0) break;
      const [t] = this.#timers.splice(i, 1);
      t.fn();
      this.#shutdownIfNeeded();
    }
    if (
      this.#nice && this.#rstate === RState.RSCRCVD && this.#localTakeoverAt > 0 &&
      this.#now >= this.#localTakeoverAt
    ) {
      this.#rstate = RState.STABLE;
      this.#reqOurResources(false);
      this.#log("info", "local resource transition completed.");
      this.#sendHeld(true);
      this.#audit();
    }
    if (this.#standbyDeadline > 0 && this.#now >= this.#standbyDeadline) this.#standbyExpired();
    if (this.#now >= this.#failbackRetryAt) {
      this.#failbackRetryAt = Infinity;
      this.#performAutoFailback();
    }
    if (this.#now >= this.#retryAt) this.#standbyRetry();
    if (this.#now >= this.#otherTimeoutAt) {
      this.#otherTimeoutAt = Infinity;
      if (this.#standby === Standby.OTHER && !this.#peerReleaseSeen) {
        this.#log(
          "WARN",
          `Standby request from ${this.#standbyPeer} was not carried out.  Standby request cancelled.`,
        );
        // the requester released nothing: it is as stable as before its request (a stable
        // node sends no new report, so we stayed in transition for good: found by the
        // simulator, core/sim/testdata/explore_standby_not_carried_out.txt)
        this.#otherStable = true;
        this.#endExchange();
      }
    }
  }

  #afterEvent(): void {
    this.#shutdownIfNeeded();
    if (!this.#nice || !this.#commUp) return;
    if (this.#healPending && this.#quiet()) {
      this.#healPending = false;
      this.#log("info", "Announcing held resources after partition.");
      this.#dupAnnounced = true;
      this.#sendHeld(true);
      this.#healAnnouncedAt = this.#now;
      this.#repeatHealAnnouncement(5);
    }
    if (this.#dupCheckFrom.size > 0 && this.#quiet()) {
      for (const from of [...this.#dupCheckFrom]) {
        if (!this.#quiet()) break; // the rest once this resolution's release is done
        // a healed peer is checked once it is alive again (the heal comes before its status)
        if (!this.#alive(from)) continue;
        this.#dupCheckFrom.delete(from);
        this.#resolveDuplicates(from);
      }
    }
    this.#sweepOrphans();
  }

  /**
   * hb fix 27 (3+ nodes): a group no living node runs, while every living node reports itself
   * stable with its exact groups, for {@link ORPHAN_SETTLE_MS}: its designated node takes it.
   * The two-node protocol has Heartbeat's audit for this; with more nodes a standby exchange
   * can leave a group nowhere when the node designated at that moment dies before it is
   * declared dead, or a concurrent requester gives the group away (found by the simulator:
   * core/sim/testdata/explore_orphan_after_takeover_three.txt).
   */
  #sweepOrphans(): void {
    if (!this.#multi() || !this.#quiet() || !this.#otherStable) {
      this.#orphanSince.clear();
      return;
    }
    const live = [...this.#peers].filter(([n]) => n !== this.#me && this.#alive(n));
    if (live.some(([, p]) => p.unstable || p.heldKeys === undefined || p.status !== "active")) {
      this.#orphanSince.clear();
      return;
    }
    const orphans = this.#cfg.groups.filter((g) =>
      !this.#holding.has(g.key) && !this.#claimed.has(g.key) && !this.#failedHere.has(g.key) &&
      !live.some(([, p]) => p.heldKeys!.has(g.key)) &&
      designatedNode(this.#cfg.nodes, this.#alive, g.node) === this.#me
    ).map((g) => g.key);
    for (const k of [...this.#orphanSince.keys()]) {
      if (!orphans.includes(k)) this.#orphanSince.delete(k);
    }
    // (and never while a standby exchange may still move groups: its release and its
    // acquisition can report nothing for as long as their scripts run, found by the
    // simulator: explore_orphan_during_standby.txt)
    const exchangeQuietAt = this.#lastStandbyMessageAt + EXCHANGE_QUIET_MS;
    const due: string[] = [];
    for (const k of orphans) {
      const since = this.#orphanSince.get(k);
      if (since === undefined) {
        this.#orphanSince.set(k, this.#now);
        const at = Math.max(this.#now + ORPHAN_SETTLE_MS, exchangeQuietAt);
        this.#timers.push({ at, child: false, fn: () => {} });
      } else if (this.#now - since >= ORPHAN_SETTLE_MS && this.#now >= exchangeQuietAt) {
        due.push(k);
      } else if (
        this.#now < exchangeQuietAt && !this.#timers.some((t) => t.at === exchangeQuietAt)
      ) {
        this.#timers.push({ at: exchangeQuietAt, child: false, fn: () => {} });
      }
    }
    if (due.length === 0) return;
    for (const k of due) this.#orphanSince.delete(k);
    this.#log("WARN", `No living node runs ${due.join(" ")}: acquiring them.`);
    this.#run("take", due, "mach_down", this.#baseEnv(), () => {
      this.#held |= this.#heldFromHolding(due);
      this.#sendHeld(this.#rstate === RState.STABLE);
    });
  }

  #quiet(): boolean {
    return this.#rstate === RState.STABLE && this.#standby === Standby.NOT &&
      this.#childCount() === 0 && !this.#shutdownInProgress && !this.#needsShutdown &&
      !this.#takeoverInProgress;
  }

  // ------------------------------------------------------------------ comm-up, membership

  #onCommUp(restarting: boolean): void {
    if (this.#commUp) return;
    this.#commUp = true;
    if (this.#deadCount() === 0) this.#foreignWorkDone = true;
    if (this.#nice) {
      this.#send([["t", "starting"]]);
      this.#rstate = RState.STARTING;
      this.#repeatStarting();
      if (this.#cfg.nodes.every((n) => n === this.#me)) {
        // hb fix: a single-node cluster has nobody to negotiate with. Heartbeat stays in
        // STARTING for ever there (acquires nothing, `-k` hangs for an hour); hb settles
        // at once and takes its groups.
        this.#rstate = RState.STABLE;
        this.#foreignWorkDone = true;
        this.#otherStable = true;
        this.#reqOurResources(false);
        this.#log("info", "local resource transition completed.");
        this.#sendHeld(true);
      }
    } else if (!restarting) {
      this.#reqOurResources(false);
    }
    if (this.#shutdownAfterCommUp) {
      this.#shutdownAfterCommUp = false;
      this.#giveupResources();
    }
  }

  /**
   * hb fix 23: still STARTING one RQSTDELAY after our `starting` while a peer is alive: the
   * message was lost for good (a peer that learns our restart from a later status resets its
   * tracking, behavior.md §4.2), and a peer that never heard it never answers: we stayed in
   * transition for good (found by the simulator: core/sim/testdata/explore_starting_lost.txt).
   * It is sent again, every RQSTDELAY, while that lasts.
   */
  #repeatStarting(): void {
    this.#timers.push({
      at: this.#now + this.#cfg.rqstDelayMs,
      child: false,
      fn: () => {
        if (this.#rstate !== RState.STARTING || this.#shutdownInProgress) return;
        if (![...this.#peers.values()].some((p) => p.status === "active")) {
          this.#repeatStarting();
          return;
        }
        this.#log("WARN", "No answer to our 'starting' message: sending it again.");
        this.#send([["t", "starting"]]);
        this.#repeatStarting();
      },
    });
  }

  #onNodeStatus(
    node: string,
    status: PeerStatus,
    previous: PeerStatus,
    lastHeard: number | undefined,
    heard: boolean | undefined,
  ): void {
    const p = this.#peers.get(node);
    if (p === undefined) return;
    const wasDead = p.status === "dead";
    p.status = status;
    if (status === "dead") {
      if (wasDead) {
        // hb fix 7: a late heartbeat of a node we already declared dead (and recovered)
        // marks it dead again; Heartbeat re-runs the whole recovery, hb does not.
        return;
      }
      // hb fix 24: a dead peer is in flux no more; when it was the last unstable one, the
      // other side is stable now (no report of the others need come)
      if (this.#multi() && p.unstable) {
        p.unstable = false;
        if (
          !this.#otherStable && ![...this.#peers].some(([n, q]) => this.#alive(n) && q.unstable)
        ) {
          this.#otherStable = true;
        }
      }
      const wasHeard = heard ?? p.heard;
      p.lastHeard = lastHeard;
      p.restarted = false;
      p.diedHeard = wasHeard || p.diedHeard;
      this.#cancelFence(node, false);
      this.#recoverDead(node, wasHeard, lastHeard);
      p.heard = false;
      return;
    }
    const wasHeardBefore = p.everHeard === true;
    p.everHeard = true;
    p.heard = true;
    p.hasResources = true;
    this.#cancelFence(node, true);
    if (p.legacyRecheck && status === "active") {
      // hb fix 16: a legacy peer restarted faster than deadtime while it held (or was giving
      // us back) our groups: its answers to our ip-requests never came, and Heartbeat never
      // asks again (found by the simulator: core/sim/testdata/explore_legacy_fast_restart.txt)
      p.legacyRecheck = false;
      if (keysOf(this.#cfg.groups, this.#me).some((k) => !this.#holding.has(k))) {
        this.#log("info", `${node} restarted: requesting our resources again.`);
        this.#reqOurResources(false);
      }
    }
    if (previous === "dead" && p.diedHeard && !p.restarted && this.#nice && this.#commUp) {
      this.#healPending = true;
    }
    if (previous === "dead") this.#noteHomeBack(node);
    // hb fix 20: a node never heard before (dead by initdead) whose first status is already
    // `active` has been running on its own, maybe with our groups: it will not send
    // `starting`, so the two of us announce what we hold as after a partition (found by the
    // simulator: core/sim/testdata/explore_first_contact.txt)
    if (
      previous === "dead" && !wasHeardBefore && status === "active" && this.#nice &&
      this.#commUp
    ) {
      this.#healPending = true;
    }
    p.diedHeard = false;
  }

  /** Ends a pending standby exchange whose peer is gone (died or restarted). */
  #cancelStandby(): void {
    this.#log("info", "Cancelling pending standby operation");
    this.#standby = Standby.NOT;
    this.#standbyDeadline = 0;
    this.#clearRetry();
    if (!this.#otherStable && this.#held === RSC_ALL) this.#otherStable = true;
    this.#shutdownIfNeeded();
  }

  /** hb_rsc_recover_dead_resources. */
  #recoverDead(node: string, heard: boolean, lastHeard: number | undefined): void {
    // hb fix 30 (3+ nodes): the death of a node outside a standby exchange leaves it running
    // (Heartbeat's peer is the only other node); cancelling it made the giver take back, as a
    // dead node's orphan, a group the taker was still starting (found by the simulator:
    // core/sim/testdata/explore_bystander_dies_during_standby.txt)
    if (this.#standby !== Standby.NOT) {
      if (!this.#multi() || this.#standbyPeer === node || this.#standbyPeer === "") {
        this.#cancelStandby();
      } else this.#alsoGiving.delete(node);
    }
    if (this.#shutdownInProgress) {
      switch (this.#rstate) {
        case RState.SHUTDOWN:
        case RState.STABLE:
          return;
        default:
          this.#giveupResources();
          return;
      }
    }
    if (this.#multi()) {
      this.#recoverDeadMulti(node, heard, lastHeard);
      return;
    }
    this.#failbackNeeded = true;
    let needStonith = true;
    if (heard) {
      if (this.#nice) {
        if (this.#otherHeld === RSC_NONE) needStonith = false;
      } else if (!(this.#peers.get(node)?.hasResources ?? true)) {
        needStonith = false;
      }
    }
    if (needStonith) {
      if (this.#cfg.stonith) {
        this.#fenceLastHeard.set(node, lastHeard);
        this.#out.push({ type: "fence", node });
        return;
      }
      this.#send([["t", "stonith"], ["node", node], ["result", "n_stnth"]]);
      this.#log("WARN", "No STONITH device configured.");
      this.#log("WARN", "Shared disks are not protected.");
      this.#takeoverFromNode(node, lastHeard, "heartbeat");
      return;
    }
    this.#log("info", `Dead node ${node} gave up resources.`);
    this.#send([["t", "stonith"], ["node", node], ["result", "unneeded"]]);
    if (this.#nice) {
      if (this.#held === RSC_ALL) {
        this.#otherStable = true;
        return;
      }
      // hb fix 19: with two nodes nobody else can be in flux once the peer is dead; without a
      // takeover (its groups already run here) nothing else marked the other side stable and
      // we stayed in transition (found by the simulator:
      // core/sim/testdata/explore_standby_local_peer_dies.txt)
      if (!this.#multi() && (this.#held & RSC_FOREIGN)) this.#otherStable = true;
      if (!(this.#held & RSC_LOCAL)) this.#reqOurResources(true);
      if (!(this.#held & RSC_FOREIGN)) this.#takeoverFromNode(node, lastHeard, "heartbeat");
    } else {
      this.#takeoverFromNode(node, lastHeard, "heartbeat");
    }
  }

  /**
   * hb fixes 2 and 8, 3+ nodes: every group the dead node ran (its exact `hb_held` when known,
   * else the groups it prefers) goes to its designated survivor; the class shortcuts of the
   * two-node protocol do not apply (a class covers groups that run elsewhere).
   */
  #recoverDeadMulti(
    node: string,
    heard: boolean,
    lastHeard: number | undefined,
    deferred = false,
  ): void {
    // hb fix 45: a node is declared dead when our initdead ends, before the living peers'
    // answers to our `starting` say what they run: we took its groups (and orphans) from a
    // peer that had run them for long (found by the simulator: a node started next to one
    // that ran every group; core/sim/testdata/explore_start_next_to_holder.txt, and one that
    // stopped while we started: explore_stop_during_initdead.txt). Its takeover waits for
    // those reports (or a few standby retry intervals).
    if (!deferred && this.#awaitingReports()) {
      if (!this.#deferredDead.has(node)) {
        this.#deferredDead.set(node, { heard, lastHeard });
        this.#timers.push({
          at: this.#now + 4 * this.#cfg.standbyRetryMs,
          child: false,
          fn: () => this.#recoverDeferredDead(true),
        });
      }
      return;
    }
    this.#deferredDead.delete(node);
    const keys = this.#multiTakeKeys(node);
    if (keys.length === 0) {
      const taker = designatedNode(this.#cfg.nodes, this.#alive, node, new Set([node]));
      this.#log(
        "info",
        taker === this.#me
          ? `Resources of dead node ${node} run on living nodes: nothing to acquire.`
          : `Resources of dead node ${node} are acquired by ${taker ?? "nobody"}, not by us.`,
      );
      this.#goneInFlux();
      return;
    }
    this.#failbackNeeded = true;
    const p = this.#peers.get(node);
    const ranNothing = p?.heldKeys !== undefined
      ? p.heldKeys.size === 0
      : (p?.held ?? RSC_ALL) === RSC_NONE;
    if (!heard || !ranNothing) {
      if (this.#cfg.stonith) {
        this.#fenceLastHeard.set(node, lastHeard);
        this.#out.push({ type: "fence", node });
        return;
      }
      this.#send([["t", "stonith"], ["node", node], ["result", "n_stnth"]]);
      this.#log("WARN", "No STONITH device configured.");
      this.#log("WARN", "Shared disks are not protected.");
    } else {
      this.#log("info", `Dead node ${node} gave up resources.`);
      this.#send([["t", "stonith"], ["node", node], ["result", "unneeded"]]);
    }
    this.#takeoverFromNode(node, lastHeard, "heartbeat");
  }

  /**
   * hb fix 45: whether an hb peer not dead has not yet said which groups it runs (its status
   * may not have come yet either: see {@link #allPeersReported}).
   */
  #awaitingReports(): boolean {
    for (const [n, p] of this.#peers) {
      if (n === this.#me || this.#isHeartbeatPeer(n) || this.#deferredShutdone.has(n)) continue;
      // (a peer still in its own initdead, `init` or `up`, runs nothing and reports only
      // when it is through: explore_shutdone_deferred_past_restart.txt; one whose shutdown
      // notice waits here has stopped: explore_shutdone_of_stopped_peer.txt)
      if (p.status !== "active" && p.status !== "unknown") continue;
      if (p.heldKeys === undefined) return true;
    }
    return false;
  }

  /** hb fix 45: the deferred takeovers, once every report is in (or `anyway`). */
  #recoverDeferredDead(anyway: boolean): void {
    if (this.#deferredDead.size + this.#deferredShutdone.size === 0) return;
    if (!anyway && this.#awaitingReports()) return;
    for (const [node, { heard, lastHeard }] of [...this.#deferredDead]) {
      this.#deferredDead.delete(node);
      if (this.#alive(node) || this.#shutdownInProgress) continue;
      this.#recoverDeadMulti(node, heard, lastHeard, true);
    }
    for (const node of [...this.#deferredShutdone]) {
      this.#deferredShutdone.delete(node);
      this.#onShutdoneNow(node);
    }
  }

  /**
   * hb fix 8: the groups we take when `node` dies or leaves (3+ nodes): those it ran (or, when
   * it never told us, those it prefers), that we do not run yet and for which we are the
   * designated survivor (the preferred node when alive, else the first living node in ha.cf
   * order). A group it prefers but did not run is taken only when no living node runs it.
   */
  #multiTakeKeys(node: string): string[] {
    const ran = this.#peers.get(node)?.heldKeys;
    const exclude = new Set([node]);
    const runElsewhere = (key: string) => {
      for (const [n, p] of this.#peers) {
        if (n !== node && this.#alive(n) && p.heldKeys?.has(key)) return true;
      }
      return false;
    };
    return this.#cfg.groups.filter((g) => {
      if (this.#claimed.has(g.key) || this.#holding.has(g.key)) return false;
      // what we gave in a standby exchange still running is the taker's (hb fix 30)
      if (this.#standby !== Standby.NOT && this.#givenKeys.has(g.key)) return false;
      // a group of a node dead before that no living node is known to run is taken too: the
      // dead node may have taken it after we last heard its hb_held (found by the simulator:
      // core/sim/testdata/explore_orphan_of_two_deaths.txt)
      const orphan = g.node !== node && g.node !== this.#me && !this.#alive(g.node) &&
        !runElsewhere(g.key);
      // hb fix 45: a node we never heard (dead since our start) ran nothing we know of; its
      // own groups a living peer reports running stay there (found by the simulator: a node
      // started next to one that ran every group took the never-seen nodes' groups too;
      // core/sim/testdata/explore_start_next_to_holder.txt)
      const candidate = ran === undefined
        ? (g.node === node && !runElsewhere(g.key)) || orphan
        : ran.has(g.key) || (g.node === node && !runElsewhere(g.key)) || orphan;
      return candidate &&
        designatedNode(this.#cfg.nodes, this.#alive, g.node, exclude) === this.#me;
    }).map((g) => g.key);
  }

  #onFenced(node: string, result: "OK" | "bad" | "badhost"): void {
    if (!this.#fenceLastHeard.has(node)) return;
    const lastHeard = this.#fenceLastHeard.get(node);
    this.#send([["t", "stonith"], ["node", node], ["result", result]]);
    if (result === "OK") {
      this.#fenceLastHeard.delete(node);
      this.#takeoverFromNode(node, lastHeard, "heartbeat");
      return;
    }
    this.#log("ERROR", `STONITH of ${node} failed.  Retrying...`);
    this.#timers.push({
      at: this.#now + this.#cfg.stonithRetryMs,
      child: false,
      fn: () => {
        if (this.#fenceLastHeard.has(node)) this.#out.push({ type: "fence", node });
      },
    });
  }

  /**
   * hb fix, 3+ nodes: a peer that restarted (its `starting` made us wait for its report) and
   * then died or left before reporting stable leaves nothing in flux when we take nothing
   * from it; without this we stayed in transition for good and a later shutdown waited for
   * ever ("Shutdown delayed until current resource activity finishes": found by the chaos
   * campaign, seed 1, hb3; core/sim/testdata/chaos_restart_then_stop_three.txt).
   */
  #goneInFlux(): void {
    if (this.#otherStable || this.#standby !== Standby.NOT || this.#takeoverInProgress) return;
    this.#otherStable = true;
    this.#shutdownIfNeeded();
  }

  #cancelFence(node: string, _alive: boolean): void {
    this.#fenceLastHeard.delete(node);
  }

  /** takeover_from_node + the mach_down notification. */
  #takeoverFromNode(
    node: string,
    lastHeard: number | undefined,
    via: "heartbeat" | "shutdone",
  ): void {
    if (this.#shutdownInProgress) {
      this.#log("info", "Resource takeover cancelled - shutdown in progress.");
      this.#shutdownIfNeeded();
      return;
    }
    let keys = keysOf(this.#cfg.groups, node);
    if (this.#multi()) {
      // hb fixes 2 and 8: each group a departed node ran goes to one survivor
      keys = this.#multiTakeKeys(node);
      if (keys.length === 0) {
        const taker = designatedNode(this.#cfg.nodes, this.#alive, node, new Set([node]));
        this.#log(
          "info",
          `Resources of departed node ${node} are acquired by ${taker ?? "nobody"}, not by us.`,
        );
        this.#goneInFlux();
        return;
      }
    }
    this.#log("info", `Resources being acquired from ${node}.`);
    const announce: Record<string, LogLine[]> = {};
    for (const k of keys) {
      announce[k] = [{ prio: "info", text: `Taking over resource group ${k}`, tag: "mach_down" }];
    }
    const since = lastHeard ?? (via === "shutdone" ? this.#now : undefined);
    const what = via === "shutdone" ? "its shutdown notice" : "its last heartbeat";
    const env = { ...this.#baseEnv(), HA_t: "status", HA_st: "dead", HA_src: node, HA_seq: "1" };
    this.#run("take", keys, "mach_down", env, () => {
      if (this.#nice) {
        this.#log(
          "info",
          "/usr/share/heartbeat/mach_down: nice_failback: foreign resources acquired",
          "mach_down",
        );
      }
      this.#log("info", `mach_down takeover complete for node ${node}.`, "mach_down");
      if (this.#nice) {
        this.#send(
          this.#withClaimed([["t", "resource"], ["rsc_hold", "foreign"], ["info", "mach_down"]]),
        );
      } else if (this.#deadCount() > 0) {
        this.#foreignWorkDone = true;
        this.#announce("status");
      }
    }, {
      before: [{
        prio: "info",
        text: `Running ${this.#cfg.haDir}/rc.d/status status`,
        tag: "harc",
      }],
      announce,
      onKey: (key, result) => {
        if (result === "started" && since !== undefined) {
          this.#log(
            "info",
            `Takeover of group ${key} from ${node} complete: ${
              Math.round(this.#now - since)
            } ms since ${what}`,
          );
        }
      },
    });
    if (this.#nice) {
      this.#held |= RSC_FOREIGN;
      this.#otherHeld = RSC_NONE;
      this.#otherStable = true;
      this.#takeoverInProgress = true;
    }
    this.#reqOurResources(true);
    const p = this.#peers.get(node);
    if (p !== undefined) {
      p.heard = true;
      // what it ran when it went silent: a peer that comes back without a restart (a frozen
      // master, a healed partition) may still run it (hb fix 33)
      if (via === "heartbeat" && p.held !== undefined && p.held !== RSC_NONE) {
        p.heldAtDeath = p.held;
      }
      p.held = RSC_NONE;
      if (p.heldKeys !== undefined) p.heldKeys = new Set();
    }
  }

  /** req_our_resources: the child runs req_resource for each local group at the next step. */
  #reqOurResources(getAnyway: boolean): void {
    if (this.#shutdownInProgress) return;
    if (this.#nice) {
      const someoneHasOurs = this.#multi()
        ? this.#peersHoldOurs()
        : (this.#peersHeldOr() & RSC_FOREIGN) !== 0;
      if ((someoneHasOurs || (this.#held & RSC_LOCAL) !== 0) && !getAnyway) {
        if (this.#standby === Standby.NOT) {
          this.#log("info", "Local Resource acquisition completed. (none)");
          return;
        }
      }
      this.#held |= RSC_LOCAL;
    }
    let activePeers = 0;
    for (const p of this.#peers.values()) if (p.status === "active") activePeers++;
    const dontAsk = activePeers + 1 < 2;
    this.#timers.push({
      at: this.#now,
      child: true,
      serial: this.#serial,
      fn: () => {
        const keys = keysOf(this.#cfg.groups, this.#me);
        for (const key of keys) {
          if (this.#holding.has(key)) continue;
          // hb fix 43 (3+ nodes): one of ours a living peer reports running stays there (a
          // takeover after a third node's death asked for every group of ours, and both ran
          // it: found by the simulator, explore_own_group_on_third_node.txt); if the report
          // was stale the orphan sweep gives it back to us. With auto_failback on the holder
          // sends it home by a standby exchange, release first (hb fix 47: taking it here and
          // letting the duplicate resolution stop it there ran it on both for a moment:
          // explore_own_group_failback_three.txt)
          if (
            this.#multi() && this.#cfg.autoFailback !== "legacy" &&
            this.#heldByBystander(key, new Set())
          ) continue;
          if (!this.#nice && !dontAsk) {
            this.#send([["t", "ip-request"], ["ipaddr", key]]);
            this.#awaitIpRequestResp(key);
          } else {
            this.#send([
              ["t", "ip-request-resp"],
              ["dest", this.#me],
              ["ipaddr", key],
              ["weown", "yes"],
              ["ok", "OK"],
            ]);
          }
        }
        if (keys.length === 0) {
          this.#log(
            "info",
            `No local resources [/usr/share/heartbeat/ResourceManager listkeys ${this.#me}] to acquire.`,
            "heartbeat-child",
          );
        } else {
          this.#log("info", "Local Resource acquisition completed.", "heartbeat-child");
        }
        this.#sendHeld(true, "req_our_resources()");
        // the child exits (RscMgmtProcessDied)
        this.#timers.push({
          at: this.#now,
          child: false,
          fn: () => {
            if (dontAsk) {
              this.#localWorkDone = true;
              this.#announce("req_our_resources");
            }
          },
        });
      },
    });
  }

  /**
   * hb fix 2 (3+ nodes): whether a living peer runs one of our local groups. A peer's
   * `foreign` class covers every group but its own, so the class bit alone made a node that
   * started with a peer holding the groups of dead third nodes believe its own groups ran
   * there (found by the simulator: core/sim/testdata/explore_multi_start_orphan.txt). The
   * exact `hb_held` lists decide; a peer that sent none is judged by its class as before.
   */
  #peersHoldOurs(): boolean {
    const ours = keysOf(this.#cfg.groups, this.#me);
    for (const p of this.#peers.values()) {
      if (p.status === "dead" || p.held === undefined) continue;
      if (p.heldKeys === undefined) {
        if (p.held & RSC_FOREIGN) return true;
      } else if (ours.some((k) => p.heldKeys!.has(k))) return true;
    }
    return false;
  }

  #peersHeldOr(): number {
    if (!this.#multi()) return this.#otherHeld;
    let h = RSC_NONE;
    for (const p of this.#peers.values()) {
      if (p.status !== "dead" && p.held !== undefined) h |= p.held;
    }
    return h;
  }

  // ------------------------------------------------------------------ messages

  #onMessage(from: string, msg: CoreMessage): void {
    const fromMe = from === this.#me;
    const peer = this.#peers.get(from);
    if (!fromMe && peer === undefined) return;
    if (peer !== undefined) peer.heard = true;
    if (this.#standbyDeadline > 0 && this.#now >= this.#standbyDeadline) this.#standbyExpired();
    const t = msg.type;
    if (!this.#commUp && t !== "shutdone") return;
    switch (t) {
      case "starting":
      case "resource":
        this.#processResources(t, from, msg);
        break;
      case "ask_resources":
        this.#askForResources(from, msg);
        break;
      case "hb_takeover":
        this.#onHbTakeover(from, msg);
        break;
      case "ip-request":
        if (!fromMe) this.#onIpRequest(from, msg);
        break;
      case "stonith":
        // hb fix 15: the peer of our standby exchange declared us dead (a one-way loss): it
        // cancelled the exchange and takes our groups over; waiting for its `done` would
        // keep us in transition for good (found by the simulator:
        // core/sim/testdata/explore_standby_one_way_cut.txt)
        // (a late one, older than the peer's last report, is about an earlier exchange or an
        // earlier life of ours: explore_stale_stonith.txt; once we acquire, the exchange
        // completes and the duplicates are resolved: explore_standby_thaw_stonith.txt)
        if (
          !fromMe && msg.get("node") === this.#me && this.#standby !== Standby.NOT &&
          from === this.#standbyPeer && !this.#olderThanReport(from, msg) && !this.#acquiring
        ) {
          this.#log("WARN", `${from} declared us dead: standby exchange cancelled.`);
          this.#cancelStandby();
          this.#endExchange();
        }
        break;
      case "ip-request-resp":
        if (!this.#shutdownInProgress) this.#onIpRequestResp(msg);
        break;
      case "shutdone":
        this.#onShutdone(from);
        break;
      case "hb-failhold":
        // hb: the peer's operator cleared its service failures: failback may go ahead
        if (!fromMe && from === this.#failbackHoldFrom && msg.get("hold") === "0") {
          this.#failbackHoldUntil = -Infinity;
          if (this.#failbackNeeded) this.#failbackRetryAt = this.#now;
        }
        break;
      default:
        break;
    }
  }

  /** process_resources for `starting` and `resource`. */
  #processResources(type: "starting" | "resource", from: string, msg: CoreMessage): void {
    this.#shutdownIfNeeded();
    if (!this.#nice) return;
    // Heartbeat's `first_time && WeAreRestarting` (never cleared): a restarted node is stable
    if (this.#restarting && this.#rstate !== RState.SHUTDOWN) this.#rstate = RState.STABLE;
    const fromMe = from === this.#me;
    if (!fromMe && this.#staleReport(from, msg)) {
      // hb fix 38: its stability still counts when no newer report said it (a mach_down report,
      // which has none, overtook the stable report before it: found by the simulator,
      // core/sim/testdata/explore_stable_report_overtaken.txt)
      const p = this.#peers.get(from);
      const stable = msg.get("isstable");
      if (this.#nice && p !== undefined && stable !== undefined && this.#noteStableSeq(p, msg)) {
        this.#applyStability(p, stable);
        // and a stable report is when duplicates are checked: against what the newer report
        // said it runs (it had none to check: explore_dup_after_overtaken_report.txt)
        if (stable === "1" && p.held !== undefined) this.#noteDuplicates(from, p.held);
      }
      // hb fix 53: a `starting` overtaken by the report after it still asks what we hold: the
      // restarted peer ignored every report we sent before its Comm_now_up, and without an
      // answer it takes its own groups after its wait while we run them (found by the
      // simulator with jitter alone: core/sim/testdata/explore_starting_overtaken.txt)
      if (type === "starting") this.#sendHeld(this.#rstate === RState.STABLE);
      return;
    }
    let newState = this.#rstate;
    if (type === "starting" && !fromMe) {
      switch (this.#rstate) {
        case RState.RSCRCVD:
        case RState.STABLE:
        case RState.SHUTDOWN:
          break;
        case RState.STARTING:
          newState = RState.BOTHSTARTING;
          this.#foreignWorkDone = true;
          this.#announce("HB_R_BOTHSTARTING");
          break;
        case RState.BOTHSTARTING: {
          // hb fix 2: with 3+ nodes starting together every peer says `starting`
          if (this.#multi()) break;
          // hb fix 11: the peer restarted during the negotiation: its new `starting` starts
          // the exchange again. Heartbeat logs the error below and waits for good, nobody
          // acquiring anything (found by the simulator:
          // core/sim/testdata/explore_restart_while_both_starting.txt)
          const peer = this.#peers.get(from);
          if (peer?.renegotiate) {
            peer.renegotiate = false;
            break;
          }
          this.#log("ERROR", `Received 'starting' message in state ${this.#rstate}`);
          return;
        }
        default:
          this.#log("ERROR", `Received 'starting' message in state ${this.#rstate}`);
          return;
      }
      this.#otherStable = false;
      if (this.#takeoverInProgress) this.#log("WARN", "T_STARTING received during takeover.");
      const p = this.#peers.get(from);
      if (p !== undefined) {
        p.held = undefined;
        p.heldKeys = undefined;
      }
      this.#sendHeld(this.#rstate === RState.STABLE);
    }
    if (type === "resource") {
      const hold = msg.get("rsc_hold");
      if (hold === undefined) {
        this.#log("ERROR", "resource message without rsc_hold field.");
        return;
      }
      let n = encodeClass(hold);
      if (n < 0) {
        this.#log("ERROR", `encode_resources: bad resource type [${hold}]`);
        n = RSC_NONE;
      }
      const full = msg.get("rtype") === "full";
      switch (this.#rstate) {
        case RState.BOTHSTARTING:
        case RState.STARTING:
          newState = RState.RSCRCVD;
          if (this.#cfg.autoFailback === "off") {
            this.#foreignWorkDone = true;
            this.#announce("T_RESOURCES");
          }
          break;
        case RState.RSCRCVD:
        case RState.STABLE:
        case RState.SHUTDOWN:
          break;
        default:
          this.#log("ERROR", `resource message received in state ${this.#rstate}`);
          return;
      }
      if (!fromMe) {
        this.#otherHeld = updateHeld(full, this.#otherHeld, n);
        const p = this.#peers.get(from)!;
        p.held = updateHeld(full, p.held ?? RSC_NONE, n);
        const exact = msg.get("hb_held");
        if (exact !== undefined) p.heldKeys = new Set(exact.split(" ").filter(Boolean));
        // hb fix 51: a node that saw a restart asks for every node's report
        if (msg.get("hb_ask") === "1" && this.#multi() && this.#rstate === RState.STABLE) {
          this.#sendHeld(true);
        }
        // (at once: our own report that follows must already list what we take, or a peer
        // takes what it reads as lost by our restart too: explore_deferred_dead_report.txt)
        if (exact !== undefined) this.#recoverDeferredDead(false);
        if (msg.get("info") === "standby" && from === this.#standbyPeer) {
          this.#peerReleaseSeen = true;
        }
        const stable = msg.get("isstable");
        if (stable !== undefined) {
          this.#noteStableSeq(p, msg);
          this.#applyStability(p, stable);
        }
        if (
          this.#rstate !== RState.STABLE && this.#rstate !== RState.SHUTDOWN &&
          this.#otherStable && this.#allPeersReported()
        ) {
          this.#log("info", "remote resource transition completed.");
          this.#reqOurResources(false);
          newState = RState.STABLE;
          this.#sendHeld(true);
          this.#performAutoFailback();
          this.#foreignWorkDone = true;
          if (this.#cfg.autoFailback !== "on" && (this.#otherHeld & RSC_FOREIGN)) {
            this.#localWorkDone = true;
          }
          this.#announce("T_RESOURCES(them)");
        }
        if (stable === "1" && full) {
          this.#lastPeerReportAt = this.#now;
          this.#noteDuplicates(from, n);
          this.#awaitDoneAfterReport(from);
        }
        if (stable === "1" && full && p.recheckOurs) this.#recheckOurs(from, p);
      } else {
        this.#held = updateHeld(full, this.#held, n);
        if (this.#held & RSC_LOCAL) {
          this.#localWorkDone = true;
          this.#announce("T_RESOURCES(us)");
        }
        const comment = msg.get("info");
        if (comment === "mach_down") {
          this.#log("info", "mach_down takeover complete.");
          this.#takeoverInProgress = false;
          this.#held |= RSC_FOREIGN;
          this.#failbackNeeded = true;
          this.#otherStable = true;
          this.#foreignWorkDone = true;
          this.#announce("mach_down");
        } else if (comment === "shutdown") {
          this.#rstate = newState = RState.SHUTDOWN;
        }
      }
    }
    this.#rstate = newState;
    if (this.#rstate === RState.RSCRCVD && this.#localTakeoverAt === 0) {
      this.#localTakeoverAt = this.#now + this.#cfg.rqstDelayMs;
    }
    this.#audit();
    this.#shutdownIfNeeded();
  }

  /**
   * hb fix 12: the membership delivers a retransmitted message when it arrives, after later
   * ones of the same sender (as Heartbeat does). A `starting` or `resource` message older than
   * one already processed would undo newer state (an `isstable=0` after the `isstable=1`
   * left us in transition for good: found by the simulator with reordering alone,
   * core/sim/testdata/explore_reordered_report.txt): it is ignored.
   */
  #staleReport(from: string, msg: CoreMessage): boolean {
    const p = this.#peers.get(from);
    const seq = parseInt(msg.get("seq") ?? "", 16);
    const gen = msg.get("hg") ?? "";
    if (p === undefined || Number.isNaN(seq)) return false;
    if (p.reportGen === gen && p.reportSeq !== undefined && seq < p.reportSeq) {
      this.#log("debug", `Ignoring resource message ${seq} from ${from}: newer one processed.`);
      return true;
    }
    p.reportGen = gen;
    p.reportSeq = seq;
    return false;
  }

  /**
   * hb fix 25 (3+ nodes): a peer that ran groups of other nodes restarted faster than deadtime:
   * it runs only its own now, and nobody else takes the others (no death was declared). Each
   * of them that no living node is known to run is taken by its designated node (found by the
   * simulator: core/sim/testdata/explore_multi_fast_restart.txt).
   */
  #adoptLostKeys(from: string, p: PeerInfo): void {
    const lost = p.lostKeys ?? [];
    p.lostKeys = undefined;
    const exclude = new Set([from]);
    const keys = lost.filter((k) => {
      if (this.#holding.has(k) || this.#claimed.has(k) || p.heldKeys?.has(k)) return false;
      for (const [n, q] of this.#peers) {
        if (n !== from && this.#alive(n) && q.heldKeys?.has(k)) return false;
      }
      const g = this.#cfg.groups.find((x) => x.key === k)!;
      return designatedNode(this.#cfg.nodes, this.#alive, g.node, exclude) === this.#me;
    });
    if (keys.length === 0) return;
    this.#log("info", `${from} restarted without ${keys.join(" ")}: acquiring them.`);
    this.#run("take", keys, "mach_down", this.#baseEnv(), () => {
      this.#held |= this.#heldFromHolding(keys);
      this.#sendHeld(this.#rstate === RState.STABLE);
    });
  }

  /**
   * Records `msg` as `p`'s newest report with a stability flag; false when a newer one was
   * processed already.
   */
  #noteStableSeq(p: PeerInfo, msg: CoreMessage): boolean {
    const seq = parseInt(msg.get("seq") ?? "", 16);
    const gen = msg.get("hg") ?? "";
    if (Number.isNaN(seq)) return true;
    if (p.stableGen === gen && p.stableSeq !== undefined && seq < p.stableSeq) return false;
    p.stableGen = gen;
    p.stableSeq = seq;
    return true;
  }

  /** A peer's report says whether it is stable (`isstable`). */
  #applyStability(p: PeerInfo, stable: string): void {
    // hb fix 24 (3+ nodes): the other side is stable when every living peer is. One flag set
    // by whichever peer reported last flipped with each report of a stable and an unstable
    // peer, and each flip to stable sent a report of ours, which made the others flip: a
    // report storm (176 packets a second from one node; found by the simulator:
    // core/sim/testdata/explore_report_storm.txt)
    let peersStable = stable === "1";
    if (this.#multi()) {
      p.unstable = stable !== "1";
      peersStable = ![...this.#peers].some(([n, q]) => this.#alive(n) && q.unstable);
    }
    if (peersStable) {
      if (!this.#otherStable) {
        this.#log("info", "remote resource transition completed.");
        this.#otherStable = true;
        this.#sendHeld(this.#rstate === RState.STABLE);
        this.#performAutoFailback();
      }
    } else {
      this.#otherStable = false;
    }
  }

  /** Whether `msg` of `from` is older than the newest report of it we processed. */
  #olderThanReport(from: string, msg: CoreMessage): boolean {
    const p = this.#peers.get(from);
    return p !== undefined && olderThan(msg, p.reportGen, p.reportSeq);
  }

  /** hb fix 48: a `done` that ends our exchange's answers and names no taker. */
  #sendDoneWithoutTaker(): void {
    this.#send([...this.#standbyFields("done"), ["hb_taker", ""], ["hb_given", ""]]);
  }

  /** Whether peer `p`'s last report covered one of our local groups. */
  #peerHadOurs(p: PeerInfo): boolean {
    const ours = keysOf(this.#cfg.groups, this.#me);
    if (p.heldKeys !== undefined) return ours.some((k) => p.heldKeys!.has(k));
    return p.held !== undefined && (p.held & RSC_FOREIGN) !== 0;
  }

  /**
   * hb fix 9: a peer that ran some of our local groups restarted faster than deadtime (we
   * never declared it dead, so no takeover ran). Heartbeat's restarted node acquires only its
   * own local groups (§4.4), so ours ran nowhere (found by the simulator:
   * core/sim/testdata/explore_fast_restart_holder.txt). Once its first stable report after
   * the restart shows it no longer runs them, we acquire what we miss of our own.
   */
  #recheckOurs(from: string, p: PeerInfo): void {
    if (this.#rstate !== RState.STABLE || this.#shutdownInProgress) return;
    p.recheckOurs = false;
    this.#adoptLostKeys(from, p);
    if (this.#peerHadOurs(p) || (this.#multi() && this.#peersHoldOurs())) return;
    const missing = keysOf(this.#cfg.groups, this.#me).filter((k) => !this.#holding.has(k));
    if (missing.length === 0) return;
    this.#log("info", `${from} restarted without our resources: acquiring them.`);
    this.#reqOurResources(true);
  }

  /**
   * hb fix 2: with 3+ nodes a starting node waits for every living peer's report. hb fix 46:
   * every peer not dead counts, its status known or not: Comm_now_up comes once every node
   * was heard or declared dead, and a peer whose first packet was not a status (its report,
   * sent when it saw us start, or a message for another node) is heard but not yet `up`;
   * the first report of another peer then started our groups while it still ran them (found
   * by the simulator: core/sim/testdata/explore_report_before_status.txt).
   */
  #allPeersReported(): boolean {
    if (!this.#multi()) return true;
    for (const [n, p] of this.#peers) {
      if (n !== this.#me && p.held === undefined && p.status !== "dead") return false;
    }
    return true;
  }

  /** hb fix 3: remember a stable peer report that overlaps our groups. */
  #noteDuplicates(from: string, peerCls: number): void {
    // only a living peer's report counts: a dead one's groups are ours to run
    if (!this.#alive(from)) return;
    const overlap = this.#cfg.groups.some((g) =>
      this.#holding.has(g.key) && this.#peerRuns(from, peerCls, g)
    );
    if (!overlap) {
      this.#dupAnnounced = false;
      return;
    }
    this.#dupCheckFrom.add(from);
  }

  /**
   * hb fix 3: keep each group that both we and `from` run on one of us only. What we run is
   * our own bookkeeping (not the class bits, which in a 3+ node cluster cover groups we never
   * started); the keeper is chosen by {@link pairKeeper}.
   */
  #resolveDuplicates(from: string): void {
    if (!this.#alive(from)) return;
    const peerCls = this.#peers.get(from)?.held ?? RSC_NONE;
    const dups = this.#cfg.groups.filter((g) =>
      this.#holding.has(g.key) && this.#peerRuns(from, peerCls, g)
    );
    if (dups.length === 0) return;
    this.#log(
      "CRIT",
      `Resource groups held by both ${this.#me} and ${from}: resolving to one owner.`,
    );
    // announced now (or at the end of the gap since the last one), then again every gap while
    // the peer still reports a group we keep: an announcement sent while the peer could not
    // hear us (a one-way cut, heavy loss) is not retransmitted to a peer that declared us
    // dead, and the peer releases only once it knows what we run (found by the simulator:
    // core/sim/testdata/explore_one_way_cut.txt, explore_one_way_cut_short.txt,
    // explore_lossy_heal.txt)
    if (!this.#dupAnnounced || this.#now >= this.#dupAnnouncedAt + REANNOUNCE_GAP_MS) {
      this.#dupAnnounced = true;
      this.#dupAnnouncedAt = this.#now;
      this.#sendHeld(true);
    }
    if (dups.some((g) => pairKeeper(this.#cfg.nodes, g.node, this.#me, from) === this.#me)) {
      this.#scheduleReannounce(from);
    }
    const release: string[] = [];
    const keep: string[] = [];
    for (const g of dups) {
      const keeper = pairKeeper(this.#cfg.nodes, g.node, this.#me, from);
      if (keeper === this.#me) {
        this.#log("info", `Keeping resource group ${g.key} (owner ${keeper}).`);
        if (this.#now - (this.#reannouncedAt.get(g.key) ?? -Infinity) >= REANNOUNCE_GAP_MS) {
          keep.push(g.key);
          this.#reannouncedAt.set(g.key, this.#now);
        }
      } else {
        this.#log("WARN", `Releasing resource group ${g.key}: it belongs on ${keeper}.`);
        release.push(g.key);
      }
    }
    // the other side releases without a restart, so no start announces the service addresses
    // again: the keeper does (gratuitous ARPs), or clients keep the releaser's hardware address
    // (the release first: a duplicate stops as early as possible, and the announcement
    // queued behind slow releases left groups running twice past the settle margin, found by
    // the simulator: core/sim/testdata/explore_resolve_release_first.txt)
    if (release.length > 0) this.#giveDuplicates(release);
    if (keep.length > 0) this.#run("announce", keep, "resolve", this.#baseEnv(), () => {});
  }

  /**
   * Releases duplicated groups, then recomputes and announces what we hold; `yielded`: the peer
   * keeps them and will not announce their addresses itself (see {@link #yieldDuplicates}).
   */
  #giveDuplicates(keys: string[], yielded = false): void {
    this.#run("give", keys, "resolve", this.#baseEnv(), () => {
      // groups of a class never started here keep the class bit they had
      this.#held = this.#heldFromHolding() | (this.#held & ~this.#classesOf(keys));
      this.#dupAnnounced = false;
      this.#sendHeld(true);
    }, yielded ? { announceHolder: true } : {});
  }

  /**
   * hb fix 21: right after a heal each side declares the other dead once more and restarts
   * its sequence tracking, so an announcement lost then is never retransmitted (heavy loss
   * while healing: both sides' announcements were lost and every group ran twice for good;
   * found by the simulator, core/sim/testdata/explore_lossy_heal_both.txt). It is repeated
   * every gap until a peer's stable report comes, at most `left` times.
   */
  #repeatHealAnnouncement(left: number): void {
    if (left <= 0) return;
    this.#timers.push({
      at: this.#now + REANNOUNCE_GAP_MS,
      child: false,
      fn: () => {
        if (this.#lastPeerReportAt >= this.#healAnnouncedAt || !this.#quiet()) return;
        this.#sendHeld(true);
        this.#repeatHealAnnouncement(left - 1);
      },
    });
  }

  /**
   * hb fix 22: we requested standby, released and said `done`; the answerer reports itself
   * stable but its `done` does not follow (our release report or our `done` was lost while it
   * had declared us dead, so it never acquired and its own timeout ended the exchange). After
   * that report and 5 s without its `done`, the exchange is over for us too: waiting longer
   * kept us in transition for good (found by the simulator:
   * core/sim/testdata/explore_standby_done_lost.txt).
   */
  #awaitDoneAfterReport(from: string): void {
    if (this.#standby !== Standby.DONE || from !== this.#standbyPeer || !this.#releaseStarted) {
      return;
    }
    this.#timers.push({
      at: this.#now + STANDBY_DONE_WAIT_MS,
      child: false,
      fn: () => {
        if (
          this.#standby !== Standby.DONE || this.#standbyPeer !== from || !this.#releaseStarted
        ) return;
        this.#log(
          "WARN",
          `No standby 'done' from ${from} after its stable report: exchange ended.`,
        );
        this.#otherStable = true;
        this.#endExchange();
        this.#sendHeld(true);
      },
    });
  }

  /** Re-announces what we hold one gap later if `from` still reports a group we keep. */
  #scheduleReannounce(from: string): void {
    if (this.#dupAnnouncePending) return;
    this.#dupAnnouncePending = true;
    this.#timers.push({
      at: Math.max(this.#now, this.#dupAnnouncedAt + REANNOUNCE_GAP_MS),
      child: false,
      fn: () => {
        this.#dupAnnouncePending = false;
        if (this.#shutdownInProgress || this.#rstate !== RState.STABLE || !this.#alive(from)) {
          return;
        }
        const peerCls = this.#peers.get(from)?.held ?? RSC_NONE;
        const stillBoth = this.#cfg.groups.some((g) =>
          this.#holding.has(g.key) && this.#peerRuns(from, peerCls, g) &&
          pairKeeper(this.#cfg.nodes, g.node, this.#me, from) === this.#me
        );
        if (!stillBoth) {
          this.#reannounceCount = 0;
          return;
        }
        this.#dupAnnouncedAt = this.#now;
        this.#sendHeld(true);
        if (++this.#reannounceCount >= this.#yieldAfter(from) && !this.#multi()) {
          this.#yieldDuplicates(from);
          return;
        }
        this.#scheduleReannounce(from);
      },
    });
  }

  /**
   * hb fix: two nodes, we keep a duplicated group and the peer still runs it after several
   * announcements. An hb peer releases at the first one; a real Heartbeat 3.0.6 never does
   * (it resolves a healed partition only by restarting, and only the side that declared the
   * other dead restarts), so both ran the group for good (found by the chaos campaign, mixed
   * topology: the real holder's master frozen past deadtime, then thawed). The peer evidently
   * keeps it: we release our copy, and the group runs once again. Clients still send to our
   * hardware address (our take-over and re-announcements said so) and the real peer never
   * announces an address it already runs: after the release we announce each address for it
   * (the same chaos faults left the service unreachable ~21 s, until the clients' neighbour
   * entries expired).
   */
  #yieldDuplicates(from: string): void {
    this.#reannounceCount = 0;
    const peerCls = this.#peers.get(from)?.held ?? RSC_NONE;
    const keys = this.#cfg.groups.filter((g) =>
      this.#holding.has(g.key) && this.#peerRuns(from, peerCls, g)
    ).map((g) => g.key);
    if (keys.length === 0) return;
    for (const k of keys) {
      this.#log(
        "WARN",
        `${from} still runs resource group ${k} after ${
          this.#yieldAfter(from)
        } announcement(s): releasing it here.`,
      );
    }
    this.#giveDuplicates(keys, true);
  }

  /**
   * Announcements after which we yield a kept duplicate `from` still runs: a peer known to run
   * the real Heartbeat never releases (its heartbeats carry no `hbver`), so one announcement is
   * enough there (five kept both running 15 s after each freeze of a real holder: chaos, mixed,
   * seed 2026 #3, #14, #22); an hb peer, or one not known yet, gets five.
   */
  #yieldAfter(from: string): number {
    return this.#isHeartbeatPeer(from) ? 1 : YIELD_AFTER_REANNOUNCES;
  }

  /** Whether peer `from` runs `g`: its exact `hb_held` when it sent one, else its class. */
  #peerRuns(from: string, peerCls: number, g: OwnedGroup): boolean {
    const exact = this.#peers.get(from)?.heldKeys;
    return exact !== undefined ? exact.has(g.key) : peerClassCovers(peerCls, from, g);
  }

  #classesOf(keys: string[]): number {
    let c = RSC_NONE;
    for (const g of this.#cfg.groups) {
      if (keys.includes(g.key)) c |= g.node === this.#me ? RSC_LOCAL : RSC_FOREIGN;
    }
    return c;
  }

  /** HBDoMsg_T_SHUTDONE. */
  #onShutdone(from: string): void {
    const fromMe = from === this.#me;
    // hb fix 45: heard before our Comm_now_up, it is handled right after it, before the living
    // peers' reports say what they run: it waits for them as a death does (found by the
    // simulator: explore_shutdone_at_start.txt)
    if (!fromMe && this.#multi() && this.#commUp && this.#awaitingReports()) {
      if (!this.#deferredShutdone.has(from)) {
        this.#deferredShutdone.add(from);
        this.#timers.push({
          at: this.#now + 4 * this.#cfg.standbyRetryMs,
          child: false,
          fn: () => this.#recoverDeferredDead(true),
        });
      }
      return;
    }
    this.#onShutdoneNow(from);
  }

  /** {@link #onShutdone} once nothing defers it. */
  #onShutdoneNow(from: string): void {
    const fromMe = from === this.#me;
    if (this.#commUp && this.#nice) {
      if (!fromMe) {
        this.#otherStable = true;
        this.#otherHeld = RSC_NONE;
        if (this.#held !== RSC_ALL && !this.#shutdownInProgress) {
          const rtype = this.#held === RSC_FOREIGN
            ? RSC_LOCAL
            : this.#held === RSC_LOCAL
            ? RSC_FOREIGN
            : RSC_ALL;
          this.#standby = Standby.DONE;
          this.#standbyClass = rtype;
          this.#standbyPeer = from;
          this.#goStandby(Standby.OTHER, rtype, from);
        }
      } else {
        this.#rstate = RState.SHUTDOWN;
        this.#held = RSC_NONE;
      }
    }
    if (fromMe) {
      this.#out.push({ type: "shutdown-complete", restart: this.#restartAfterShutdown });
      return;
    }
    const p = this.#peers.get(from);
    if (p !== undefined) {
      p.hasResources = false;
      p.held = RSC_NONE;
      p.unstable = false;
      // its groups are released: what it ran is still needed to place them (fix 8)
    }
    this.#otherStable = false;
    this.#otherHeld = RSC_NONE;
    this.#log("info", `Received shutdown notice from '${from}'.`);
    this.#takeoverFromNode(from, undefined, "shutdone");
  }

  // ------------------------------------------------------------------ standby

  /** ask_for_resources. */
  #askForResources(from: string, msg: CoreMessage): void {
    this.#lastStandbyMessageAt = this.#now;
    if (!this.#nice) {
      this.#log("info", "Standby mode only implemented when nice_failback on");
      return;
    }
    if (this.#rstate === RState.SHUTDOWN) return;
    const info = msg.get("info");
    const rsctype = msg.get("rsc_hold");
    let rtype = RSC_ALL;
    if (rsctype !== undefined) {
      rtype = encodeClass(rsctype);
      if (rtype < 0) {
        this.#log("ERROR", `encode_resources: bad resource type [${rsctype}]`);
        rtype = RSC_NONE;
      }
    }
    if (info === undefined) {
      this.#log("ERROR", "Received standby message without info/from");
      return;
    }
    const fromMe = from === this.#me;
    // hb fix 52 (3+ nodes): a request retransmitted after the requester's later report (its
    // exchange may be over: its `done` came before it) is not answered: we waited for good for
    // a `done` already past (found by the simulator with loss and concurrent hb_takeover:
    // explore_late_standby_request.txt). A requester still waiting re-sends it (standby retry).
    if (!fromMe && this.#multi()) {
      const p = this.#peers.get(from);
      const seq = parseInt(msg.get("seq") ?? "", 16);
      const olderThanStandby = p !== undefined && olderThan(msg, p.standbyGen, p.standbySeq);
      if (info === "me" && (this.#olderThanReport(from, msg) || olderThanStandby)) {
        this.#log("debug", `Ignoring standby request from ${from}: a newer message was processed.`);
        return;
      }
      if (p !== undefined && !Number.isNaN(seq) && !olderThanStandby) {
        p.standbyGen = msg.get("hg");
        p.standbySeq = seq;
      }
    }
    // hb: a peer that gives its groups up for service failures is not failed back to until its
    // restart window passed (or its operator cleared the failures: `hb-failhold hold=0`)
    const hold = Number(msg.get("hb_failhold"));
    if (!fromMe && info === "me" && Number.isFinite(hold) && hold > 0) {
      this.#failbackHoldUntil = Math.max(this.#failbackHoldUntil, this.#now + hold);
      this.#failbackHoldFrom = from;
    }

    // hb fix 36 (3+ nodes): a giver's `done` names its taker; a taker's `done` names the giver
    // it answers (`hb_for`): each concerns those two nodes only
    if (info === "done" && this.#multi()) {
      const forGiver = msg.get("hb_for");
      if (forGiver !== undefined && (fromMe || forGiver !== this.#me)) return;
      if (!fromMe && msg.get("hb_taker") !== undefined) {
        this.#takeNamed(from, msg);
        return;
      }
    }

    // hb fix 4: repeated messages of an exchange are answered idempotently
    if (!fromMe && from === this.#standbyPeer) {
      if (info === "me" && this.#standby === Standby.OTHER && !this.#peerReleaseSeen) {
        this.#sendRaw(this.#standbyFields("other"));
        return;
      }
      if (info === "other" && (this.#releaseStarted || this.#standby === Standby.DONE)) return;
      if (info === "done" && this.#standby === Standby.DONE && this.#acquiring) return;
    }
    if (!fromMe && this.#multi()) {
      // hb fix 2: with 3+ nodes every other node answers a standby request; the
      // requester deals with the first answer, the other answers are no errors
      if (
        info === "other" && from !== this.#standbyPeer &&
        (this.#standby === Standby.OTHER || this.#standby === Standby.DONE || this.#releaseStarted)
      ) {
        return;
      }
      if (info === "done" && this.#standby === Standby.DONE && this.#acquiring) return;
    }
    // hb fix 37 (3+ nodes): a retried request (`hb_retry`) of a requester whose exchange with
    // us just ended is stale (delayed past our answer): taking it for a new one left us
    // waiting for a release that never came (found by the simulator: explore_stale_retry.txt)
    if (
      !fromMe && info === "me" && this.#multi() && msg.get("hb_retry") !== undefined &&
      this.#standby === Standby.NOT && from === this.#lastExchangePeer &&
      this.#now - this.#lastExchangeEnd < STANDBY_INIT_TIMEOUT_MS
    ) {
      return;
    }
    if (
      !fromMe && (info === "done" || (info === "other" && this.#multi())) &&
      this.#standby === Standby.NOT &&
      (from === this.#lastExchangePeer || this.#multi()) &&
      this.#now - this.#lastExchangeEnd < STANDBY_INIT_TIMEOUT_MS
    ) {
      return;
    }

    if (this.#standbyDeadline > 0 && this.#now < this.#standbyDeadline && info === "me") {
      // hb fix 13: with 3+ nodes our broadcast `other` also answers a concurrent requester
      // (hb_takeover makes every other node ask at once), which then gives its groups up
      // too: we acquire them with the first requester's (found by the simulator:
      // core/sim/testdata/explore_takeover_three_nodes.txt)
      if (
        this.#multi() && !fromMe && from !== this.#standbyPeer &&
        (this.#standby === Standby.OTHER || this.#standby === Standby.DONE) && !this.#acquiring
      ) {
        // a later request of the same requester is ignored there: its first class still counts
        // (core/sim/testdata/explore_concurrent_standby_class_union.txt)
        this.#alsoGiving.set(from, (this.#alsoGiving.get(from) ?? RSC_NONE) | rtype);
      }
      const left = Math.floor((this.#standbyDeadline - this.#now + 999) / 1000);
      this.#log(
        "WARN",
        `Standby in progress- new request from ${from} ignored [${left} seconds left]`,
      );
      return;
    }
    const orig = this.#standby;
    let ignored = false;
    switch (this.#standby) {
      case Standby.NOT:
        if (!this.#otherStable) {
          this.#log(
            "WARN",
            `standby message [${info}] from ${from} ignored.  Other side is in flux.`,
          );
          return;
        }
        // hb fix 14: a standby acquisition still running (of an exchange cancelled because
        // its peer restarted) is local flux too: a new exchange started
        // then ended with our bookkeeping claiming groups the child had released (found by
        // the simulator: core/sim/testdata/explore_standby_during_child.txt)
        // hb fix 28 (3+ nodes): our own request while a takeover of ours still runs is local
        // flux too: the release gave up only what already ran and the taker started the group
        // our takeover was starting (found by the simulator: a delayed hb_standby after a failed
        // start, core/sim/testdata/explore_standby_during_takeover_three.txt)
        if (
          this.#rstate !== RState.STABLE || (info === "me" && this.#acquiring) ||
          (fromMe && this.#multi() && this.#childCount() > 0)
        ) {
          this.#log(
            "WARN",
            `standby message [${info}] from ${from} ignored.  local resources in flux.`,
          );
          return;
        }
        this.#standbyClass = rtype;
        if (info === "me") {
          this.#otherStable = false;
          this.#log("info", `${from} wants to go standby [${className(rtype)}]`);
          this.#releaseStarted = false;
          this.#peerReleaseSeen = false;
          this.#acquiring = false;
          if (fromMe) {
            this.#standbyDeadline = this.#now + STANDBY_INIT_TIMEOUT_MS;
            this.#standby = Standby.ME;
            this.#exchangeSerial++;
            this.#standbyPeer = "";
            this.#retries = 0;
            this.#retryAt = this.#now + this.#cfg.standbyRetryMs;
          } else {
            this.#standby = Standby.OTHER;
            this.#exchangeSerial++;
            this.#standbyPeer = from;
            this.#sendStandby("other");
            this.#standbyDeadline = this.#now + STANDBY_RESOURCE_TIMEOUT_MS;
            this.#otherTimeoutAt = this.#now +
              this.#cfg.standbyRetryMs * (this.#cfg.standbyRetries + 2);
          }
        } else {
          ignored = true;
        }
        break;
      case Standby.ME:
        // hb fix 35 (3+ nodes): a message of another exchange (a `done` of someone else's)
        // changed the class we give up, and our own `done` then gave away another class
        // (found by the simulator: explore_requester_class_kept.txt)
        if (!fromMe && this.#multi() && info !== "other") {
          ignored = true;
          break;
        }
        if (!fromMe) {
          this.#standbyClass = rtype;
          this.#standbyDeadline = this.#now + STANDBY_RESOURCE_TIMEOUT_MS;
          if (info === "other") {
            this.#clearRetry();
            this.#standbyPeer = from;
            this.#releaseStarted = true;
            this.#log("info", `standby: ${from} can take our ${className(rtype)} resources`);
            this.#goStandby(Standby.ME, rtype, from);
          } else {
            ignored = true;
          }
        } else if (info === "done") {
          this.#log("info", `Local standby process completed [${className(rtype)}].`);
          this.#standby = Standby.DONE;
          this.#held &= ~this.#standbyClass;
          this.#standbyDeadline = this.#now + STANDBY_RESOURCE_TIMEOUT_MS;
          // no re-sent `done` here: a real 3.0.6 answerer still acquiring takes a second
          // `done` for its own completion (it then never counts what it acquired); a lost
          // `done` is retransmitted by the membership layer (rexmit) like every message
          this.#clearRetry();
        } else {
          ignored = true;
        }
        break;
      case Standby.OTHER:
        // hb fix 34 (3+ nodes): a `done` of another exchange (a taker's, finishing one we
        // were not part of) is not our requester's: acquiring on it took the taker's own
        // groups (found by the simulator: explore_done_of_other_exchange.txt). A concurrent
        // requester's `done` counts (hb fix 13).
        if (
          info === "done" && !fromMe && this.#multi() && from !== this.#standbyPeer &&
          !this.#alsoGiving.has(from)
        ) {
          return;
        }
        this.#standbyClass = rtype;
        if (info === "done") {
          this.#standbyDeadline = this.#now + STANDBY_RESOURCE_TIMEOUT_MS;
          if (!fromMe) {
            this.#otherTimeoutAt = Infinity;
            this.#log("info", `standby: acquire [${className(rtype)}] resources from ${from}`);
            this.#goStandby(Standby.OTHER, this.#standbyClass, from);
            this.#standby = Standby.DONE;
          } else {
            ignored = true;
          }
        } else if (!fromMe || info !== "other") {
          ignored = true;
        }
        break;
      case Standby.DONE:
        // hb fix 32 (3+ nodes): only our taker's `done` ends our exchange; another answerer,
        // which took nothing, is done first and the exchange ended while the taker still
        // started our groups (found by the simulator: explore_standby_done_of_bystander.txt)
        if (
          info === "done" && !fromMe && this.#multi() && this.#standbyPeer !== "" &&
          from !== this.#standbyPeer && this.#releaseStarted
        ) {
          return;
        }
        this.#standbyClass = rtype;
        if (info === "done") {
          this.#standbyDeadline = 0;
          this.#standby = Standby.NOT;
          if (fromMe) {
            this.#log("info", `Standby resource acquisition done [${className(rtype)}].`);
            if (this.#cfg.autoFailback === "on") {
              this.#localWorkDone = true;
              this.#announce("auto_failback");
            }
            this.#held |= complementClass(rtype);
          } else {
            this.#log(
              "info",
              `Other node completed standby takeover of ${className(rtype)} resources.`,
            );
          }
          this.#endExchange();
          this.#sendHeld(true);
        } else {
          ignored = true;
        }
        break;
    }
    if (ignored) {
      this.#log("ERROR", `Ignored standby message '${info}' from ${from} in state ${orig}`);
    }
    this.#shutdownIfNeeded();
  }

  #clearRetry(): void {
    this.#retryAt = Infinity;
    this.#retries = 0;
  }

  /** Ends an exchange (hb bookkeeping of fix 4). */
  #endExchange(): void {
    this.#lastExchangePeer = this.#standbyPeer;
    this.#lastExchangeEnd = this.#now;
    this.#standby = Standby.NOT;
    this.#standbyDeadline = 0;
    this.#clearRetry();
    this.#otherTimeoutAt = Infinity;
    this.#releaseStarted = false;
    this.#peerReleaseSeen = false;
    this.#acquiring = false;
    this.#standbyPeer = "";
    this.#alsoGiving.clear();
    this.#givenKeys.clear();
  }

  /** Heartbeat's standby deadline check. */
  #standbyExpired(): void {
    this.#standbyDeadline = 0;
    this.#otherStable = true;
    this.#log("WARN", "No reply to standby request.  Standby request cancelled.");
    this.#endExchange();
    this.#shutdownIfNeeded();
  }

  /** hb fix 4: re-send the request (ME) while no answer came, then give up. */
  #standbyRetry(): void {
    const asRequester = this.#standby === Standby.ME && !this.#releaseStarted;
    if (!asRequester) {
      this.#clearRetry();
      return;
    }
    if (this.#retries < this.#cfg.standbyRetries) {
      this.#retries++;
      this.#retryAt = this.#now + this.#cfg.standbyRetryMs;
      // (marked with 3+ nodes: a retry that reaches a node after their exchange ended is stale)
      this.#sendRaw(
        [...this.#standbyFields("me"), ...(this.#multi() ? [["hb_retry", "1"]] : [])] as [
          string,
          string,
        ][],
      );
      return;
    }
    this.#otherStable = true;
    this.#log("WARN", "No reply to standby request.  Standby request cancelled.");
    this.#endExchange();
  }

  /** go_standby: give up (ME) or acquire (OTHER) a class in a child. */
  #goStandby(who: Standby, set: number, peer: string): void {
    const give = who === Standby.ME;
    if (give) {
      this.#otherStable = false;
      this.#held &= ~set;
      this.#sendHeld(false, "standby");
    } else {
      this.#acquiring = true;
    }
    const act = set === RSC_FOREIGN
      ? (give ? RSC_FOREIGN : RSC_LOCAL)
      : set === RSC_LOCAL
      ? (give ? RSC_LOCAL : RSC_FOREIGN)
      : RSC_ALL;
    let keys = keysOfClass(this.#cfg.groups, this.#me, act);
    // hb fix 2: with 3+ nodes a class covers groups that run elsewhere: give up only ours
    if (give && this.#multi()) {
      const cls = keys;
      keys = keys.filter((k) => this.#holding.has(k));
      // (a group whose start failed here is given too: the delayed hb_standby after a failed
      // start exists to have another node run it; found by the chaos campaign, hb3 seed 2026
      // #7: with the named taker nobody took it)
      this.#givenKeys = new Set([...keys, ...cls.filter((k) => this.#failedHere.has(k))]);
    }
    if (!give && this.#multi()) {
      // the taker takes, of the class the requester gives up (seen from the requester), the
      // groups it is designated for once the requester is excluded. Taking only our own class
      // left the groups of a dead third node nowhere when their holder failed back (found by
      // the simulator: core/sim/testdata/explore_failback_orphan.txt)
      // (the first `done` may come from a concurrent requester: the exchange's own peer
      // gives up too, explore_takeover_failback_three_nodes.txt)
      const givers = new Map([[peer, set], ...this.#alsoGiving]);
      if (this.#standbyPeer !== "" && !givers.has(this.#standbyPeer)) {
        givers.set(this.#standbyPeer, set);
      }
      keys = [
        ...new Set([...givers].flatMap(([n, cls]) => keysOfClass(this.#cfg.groups, n, cls))),
      ];
      // a concurrent requester keeps what it runs outside the class it gives up (giving up its
      // foreign groups it keeps its own): nobody takes those (found by the simulator:
      // core/sim/testdata/explore_concurrent_failback_keeps_own.txt)
      const exclude = new Set(givers.keys());
      keys = keys.filter((k) => {
        const g = this.#cfg.groups.find((x) => x.key === k)!;
        const kept = [...givers].some(([n, cls]) =>
          !peerClassCovers(cls, n, g) &&
          (this.#peers.get(n)?.heldKeys?.has(k) ?? g.node === n)
        );
        return !kept &&
          designatedNode(this.#cfg.nodes, this.#alive, g.node, exclude) === this.#me &&
          !this.#heldByBystander(k, exclude);
      });
    }
    const verb = give ? "give up" : "acquire";
    const serial = this.#exchangeSerial;
    this.#run(give ? "give" : "take", keys, "standby", {}, () => {
      this.#log(
        "info",
        `${className(act)} HA resource ${give ? "release" : "acquisition"} completed (standby).`,
        "heartbeat-child",
      );
      if (!give) this.#acquiring = false;
      // hb fix 42: the exchange this child belonged to was cancelled and a new one began while
      // it ran (our scripts queue behind a takeover): its `done` would have been taken for the
      // new exchange's, which then waited an hour for a peer that never took anything (found
      // by the simulator: core/sim/testdata/explore_done_of_cancelled_exchange.txt)
      if (serial !== this.#exchangeSerial && this.#standby !== Standby.NOT) {
        this.#held = this.#heldFromHolding();
        this.#sendHeld(this.#rstate === RState.STABLE);
        // (hb fix 48: its answerers still wait for its `done`: it names no taker; found by the
        // simulator, a thaw with queued standby requests: explore_cancelled_release_new_exchange.txt)
        if (give && this.#multi()) {
          this.#sendDoneWithoutTaker();
        }
        return;
      }
      // hb fix 17: the exchange was cancelled while we released (the peer died): nobody takes
      // our local groups, which this release stopped after the recovery had looked at them
      // (found by the simulator: core/sim/testdata/explore_standby_peer_dies.txt)
      // (and our class bits, which the recovery may have set meanwhile, are recomputed from
      // what runs here and announced: explore_standby_cancelled_release.txt)
      if (give && this.#standby === Standby.NOT && !this.#shutdownInProgress) {
        this.#held = this.#heldFromHolding();
        const missing = keysOf(this.#cfg.groups, this.#me).filter((k) => !this.#holding.has(k));
        if (missing.length > 0) {
          this.#log("info", "Standby cancelled during our release: acquiring our resources.");
          this.#reqOurResources(true);
        } else this.#sendHeld(this.#rstate === RState.STABLE);
      }
      // hb fix 29 (3+ nodes): the exchange was cancelled while we acquired (a node died): our
      // `done` is then ignored here and nobody heard what we now run, so a duplicate with a
      // node that took the same group by mach_down stayed unresolved (found by the simulator:
      // core/sim/testdata/explore_standby_take_cancelled_three.txt)
      if (!give && this.#multi() && this.#standby === Standby.NOT && !this.#shutdownInProgress) {
        this.#held = this.#heldFromHolding();
        this.#sendHeld(this.#rstate === RState.STABLE);
      }
      // hb fix 48 (3+ nodes): a cancelled exchange (its taker restarted or died) names no
      // taker and gives nothing: the named taker took the groups we had just taken back
      // above (found by the simulator: explore_taker_restarts_during_release.txt); the other
      // answerers still end their part (explore_cancelled_release_ends_answers.txt)
      if (give && this.#multi() && this.#standby === Standby.NOT) {
        this.#sendDoneWithoutTaker();
        return;
      }
      if (give && this.#multi() && this.#standbyPeer !== "") {
        // hb fix 36 (3+ nodes): our `done` names the one node that takes what we released and
        // lists it; every other answerer takes nothing (see #takeNamed)
        this.#send([
          ...this.#standbyFields("done"),
          ["hb_taker", this.#standbyPeer],
          ["hb_given", [...this.#givenKeys].map((k) => `${k}@${this.#takerOf(k)}`).join(" ")],
        ]);
      } else this.#sendStandby("done");
    }, { before: [this.#childLine(`${verb} ${className(act)} HA resources (standby).`)] });
  }

  /**
   * hb fix 36 (3+ nodes): a giver's `done` names its taker (`hb_taker`) and what it released
   * (`hb_given`). Every other node in standby had answered too and took a share chosen by
   * its own view of who gave what; two takers with different views both took a group (a
   * concurrent requester whose own request was refused still counted as giving: found by the
   * simulator, core/sim/testdata/explore_named_taker.txt). The named taker takes the listed
   * groups no bystander runs; the others only end their part of the exchange.
   */
  #takeNamed(from: string, msg: CoreMessage): void {
    // `key@node` per released group: its taker (a group whose haresources node is up goes home)
    const mine: string[] = [];
    for (const entry of (msg.get("hb_given") ?? "").split(" ")) {
      if (entry === "") continue;
      const at = entry.lastIndexOf("@");
      const key = at < 0 ? entry : entry.slice(0, at);
      const taker = at < 0 ? msg.get("hb_taker") : entry.slice(at + 1);
      if (taker === this.#me) mine.push(key);
    }
    if (msg.get("hb_taker") !== this.#me) {
      if (from === this.#standbyPeer && this.#standby === Standby.OTHER && !this.#acquiring) {
        const taker = msg.get("hb_taker");
        this.#log(
          "info",
          taker
            ? `standby: ${from} gave its resources to ${taker}.`
            : `standby: ${from} cancelled.`,
        );
        this.#endExchange();
        // the others are as stable as their last reports say: the giver's stable report may
        // have come before its (retransmitted) request (found by the simulator:
        // explore_named_done_after_report.txt)
        this.#otherStable = ![...this.#peers].some(([n, q]) => this.#alive(n) && q.unstable);
        if (mine.length === 0) this.#sendHeld(this.#rstate === RState.STABLE);
      }
      if (mine.length === 0) return;
    }
    if (this.#shutdownInProgress || this.#rstate === RState.SHUTDOWN) return;
    const keys = mine.filter((k) =>
      this.#cfg.groups.some((g) => g.key === k) && !this.#holding.has(k) &&
      !this.#claimed.has(k) && !this.#heldByBystander(k, new Set([from]))
    );
    this.#log("info", `standby: acquire [${keys.join(" ") || "none"}] from ${from}`);
    const main = from === this.#standbyPeer && this.#standby === Standby.OTHER &&
      msg.get("hb_taker") === this.#me;
    if (main) {
      this.#otherTimeoutAt = Infinity;
      this.#standby = Standby.DONE;
      this.#acquiring = true;
    }
    this.#run("take", keys, "standby", {}, () => {
      this.#log(
        "info",
        `HA resource acquisition from ${from} completed (standby).`,
        "heartbeat-child",
      );
      this.#held |= this.#heldFromHolding(keys);
      if (main && this.#standby === Standby.DONE) {
        this.#acquiring = false;
        this.#log("info", `Standby resource acquisition done [${className(this.#standbyClass)}].`);
        this.#endExchange();
      }
      this.#send([...this.#standbyFields("done"), ["hb_for", from]]);
      this.#sendHeld(this.#rstate === RState.STABLE);
    }, { before: [this.#childLine("acquire HA resources (standby).")] });
    // the others learn at once that these run here now (an unstable report: no orphan sweep
    // takes them while we start them, explore_named_taker_slow.txt)
    if (keys.length > 0) this.#sendHeld(false);
  }

  /**
   * hb fix 36: who takes group `key` we release in a standby exchange: its haresources node when
   * that node is up (and not us), else the node that answered our request. One taker for
   * everything sent a group home to the wrong node with auto_failback on (three nodes, both
   * failed back at once: tests/failover_three_test.ts).
   */
  #takerOf(key: string): string {
    const home = this.#cfg.groups.find((g) => g.key === key)?.node;
    if (home !== undefined && home !== this.#me && this.#alive(home)) return home;
    return this.#standbyPeer;
  }

  /**
   * hb fix 47 (3+ nodes): `node` is back (a restart, a return from dead) and one of its groups
   * runs here. Groups reach a node by standby exchanges too, not only by the death that sets
   * `failbackNeeded`; their home node no longer takes its own groups from a living peer
   * (release first, take second), so with auto_failback on we send them home once it is
   * stable (found by the simulator: explore_own_group_failback_three.txt). Only a return
   * counts: groups an operator moved here by hb_takeover stay (explore_takeover_not_failed_back.txt).
   */
  #noteHomeBack(node: string): void {
    if (!this.#multi()) return;
    if (this.#cfg.groups.some((g) => g.node === node && this.#holding.has(g.key))) {
      this.#failbackNeeded = true;
    }
  }

  /** Our class bits of the groups that run here (of `keys` only, when given). */
  #heldFromHolding(keys?: readonly string[]): number {
    let held = RSC_NONE;
    for (const g of this.#cfg.groups) {
      if (!this.#holding.has(g.key) || (keys !== undefined && !keys.includes(g.key))) continue;
      held |= g.node === this.#me ? RSC_LOCAL : RSC_FOREIGN;
    }
    return held;
  }

  /**
   * hb fix 26: a living node outside a standby exchange (neither a giver nor us) reports
   * running group `key`: the giver's class covers it (`all` covers every foreign group) but the
   * giver never ran it, so the taker leaves it where it runs (found by the simulator: a third
   * node running a dead node's group; core/sim/testdata/explore_standby_bystander_holds.txt).
   */
  #heldByBystander(key: string, givers: ReadonlySet<string>): boolean {
    // (any peer not dead counts: one we just heard again, still `init` to us, reports what it
    // runs all the same: explore_bystander_still_init.txt)
    for (const [n, p] of this.#peers) {
      if (n === this.#me || givers.has(n) || p.status === "dead") continue;
      if (p.heldKeys?.has(key)) return true;
    }
    return false;
  }

  /** rc.d/hb_takeover on a peer: hb_standby with the mapped class (failback → all, quirk). */
  #onHbTakeover(from: string, msg: CoreMessage): void {
    this.#log("info", `Running ${this.#cfg.haDir}/rc.d/hb_takeover hb_takeover`, "harc");
    if (from === this.#me) return;
    const arg = msg.get("rsc_hold");
    const mapped = arg === "local" ? "foreign" : arg === "foreign" ? "local" : "all";
    this.#log("info", `Going standby [${mapped}].`, "hb_standby");
    this.#send([["t", "ask_resources"], ["rsc_hold", mapped], ["info", "me"]]);
  }

  // ------------------------------------------------------------------ legacy requests

  /** rc.d/ip-request. */
  #onIpRequest(from: string, msg: CoreMessage): void {
    const key = msg.get("ipaddr");
    if (key === undefined) return;
    this.#log("info", `Running ${this.#cfg.haDir}/rc.d/ip-request ip-request`, "harc");
    const answer = (weown: string) =>
      this.#send([
        ["t", "ip-request-resp"],
        ["dest", from],
        ["ipaddr", key],
        ["weown", weown],
        ["ok", "OK"],
      ]);
    if (this.#holding.has(key)) {
      this.#run("give", [key], "ip-request", this.#msgEnv(msg), () => answer("yes"));
    } else {
      answer("no");
    }
  }

  /**
   * hb fix 39 (legacy): an ip-request nobody answered (the peers alive then were still in
   * their initdead, before their own communication was up) is asked again every RQSTDELAY
   * until an answer comes: Heartbeat asks once, and the group ran nowhere for good (found by
   * the simulator: core/sim/testdata/explore_legacy_unanswered_request.txt).
   */
  #awaitIpRequestResp(key: string): void {
    if (this.#ipRequestPending.has(key)) return;
    this.#ipRequestPending.add(key);
    this.#timers.push({
      at: this.#now + this.#cfg.rqstDelayMs,
      child: false,
      fn: () => {
        if (!this.#ipRequestPending.delete(key)) return;
        if (this.#holding.has(key) || this.#shutdownInProgress || !this.#commUp) return;
        this.#send([["t", "ip-request"], ["ipaddr", key]]);
        this.#awaitIpRequestResp(key);
      },
    });
  }

  /** rc.d/ip-request-resp. */
  #onIpRequestResp(msg: CoreMessage): void {
    if (msg.get("dest") !== this.#me) return;
    const key = msg.get("ipaddr");
    if (key === undefined) return;
    this.#ipRequestPending.delete(key);
    const ok = msg.get("ok") ?? "";
    this.#log("info", `Running ${this.#cfg.haDir}/rc.d/ip-request-resp ip-request-resp`, "harc");
    this.#log(
      "",
      `received ip-request-resp ${key} ${ok} ${msg.get("weown") ?? ""}`,
      "ip-request-resp",
    );
    if (ok !== "OK") return;
    this.#run("take", [key], "ip-request-resp", this.#msgEnv(msg), () => {
      this.#localWorkDone = true;
      this.#announce("ip-request-resp");
    });
  }

  #msgEnv(msg: CoreMessage): Record<string, string> {
    const env = this.#baseEnv();
    for (const [k, v] of Object.entries(msg.toRecord())) env[`HA_${k}`] = v;
    return env;
  }

  // ------------------------------------------------------------------ results

  #onGroupResult(
    id: number,
    key: string,
    result: GroupOutcome,
    standby: "local" | "foreign" | undefined,
  ): void {
    const run = this.#runs.get(id);
    if (run === undefined || !run.pending.delete(key)) return;
    if (run.op === "give") this.#releasing.delete(key);
    // an announcement changes nothing we run (a release of the group may have overlapped it)
    switch (run.op === "announce" ? "announced" : result) {
      case "announced":
        break;
      case "started": {
        this.#holding.add(key);
        // (claimed again: a failed start of the same group in another run had dropped the
        // claim, and our reports then hid a group we run: explore_failed_then_started.txt)
        this.#claimed.add(key);
        // hb fix: a peer that announced this group while we were still starting it (it thawed
        // during our takeover, found by the chaos campaign, seed 2026) is checked now, not at
        // its next report: the duplicate is resolved as soon as we are quiet.
        // Two nodes only: with 3+ a peer's last report may predate the standby exchanges it
        // is part of, and the keeper's periodic re-announcement resolves a duplicate there.
        const g = this.#cfg.groups.find((x) => x.key === key);
        for (const [name, p] of this.#multi() ? [] : this.#peers) {
          if (g === undefined || p.held === undefined || !this.#alive(name)) continue;
          if (this.#peerRuns(name, p.held, g)) this.#dupCheckFrom.add(name);
        }
        break;
      }
      case "released":
        this.#holding.delete(key);
        break;
      case "start-failed": {
        this.#failedHere.add(key);
        this.#holding.delete(key);
        this.#claimed.delete(key);
        // Heartbeat's ResourceManager always asks `hb_standby foreign` (its class test never
        // matches, resources/spec.ts standbyGroupType): when the failed group is this node's
        // own, that asks for nothing and the group stays unowned while the peer could run it
        // (found by the chaos campaign: seed 2026, script-fail on the home node). hb asks
        // `local` when the failed group is the only group of that class here — what
        // ResourceManager meant to do — so nothing else moves with it; with more local groups
        // it keeps Heartbeat's `foreign`, as a standby would move the healthy ones too.
        const home = this.#cfg.groups.find((g) => g.key === key)?.node;
        const onlyLocal = home === this.#me &&
          this.#cfg.groups.filter((g) => g.node === this.#me).length === 1;
        const cls = onlyLocal ? "local" : standby ?? "foreign";
        this.#timers.push({
          at: this.#now + this.#cfg.failedStartStandbyMs,
          child: false,
          fn: () => {
            this.#log("info", `Going standby [${cls}].`, "hb_standby");
            this.#send([["t", "ask_resources"], ["rsc_hold", cls], ["info", "me"]]);
          },
        });
        break;
      }
      case "stop-failed":
        this.#claimed.add(key);
        this.#out.push({ type: "stop-failure", key });
        break;
    }
    run.onKey?.(key, result);
    if (run.pending.size === 0) {
      this.#runs.delete(id);
      run.onDone();
      this.#shutdownIfNeeded();
    }
  }

  // ------------------------------------------------------------------ shutdown

  #onShutdownRequest(restart: boolean): void {
    this.#restartAfterShutdown = this.#restartAfterShutdown || restart;
    if (this.#giveupStarted) {
      this.#log("info", "Heartbeat shutdown already underway.");
      return;
    }
    if (!this.#commUp) {
      if (!this.#shutdownAfterCommUp) {
        this.#log("WARN", "Shutdown delayed until Communication is up.");
      }
      this.#shutdownAfterCommUp = true;
      return;
    }
    this.#giveupResources();
  }

  #shutdownIfNeeded(): void {
    if (this.#needsShutdown) this.#giveupResources();
  }

  /** hb_giveup_resources. */
  #giveupResources(): void {
    if (!this.#isStable()) {
      if (!this.#needsShutdown) {
        this.#log("WARN", "Shutdown delayed until current resource activity finishes.");
        this.#needsShutdown = true;
      }
      return;
    }
    this.#needsShutdown = false;
    this.#shutdownInProgress = true;
    if (this.#giveupStarted) {
      this.#log("info", "Heartbeat shutdown already underway.");
      return;
    }
    this.#giveupStarted = true;
    this.#held = RSC_NONE;
    this.#rstate = RState.SHUTDOWN;
    this.#sendHeld(false, "shutdown");
    this.#log("info", `Heartbeat shutdown in progress. (${this.#cfg.pid})`);
    const keys = this.#cfg.groups.map((g) => g.key);
    this.#run("give", keys, "shutdown", {}, () => {
      this.#log("info", "All HA resources relinquished.", "heartbeat-child");
      this.#send([["t", "shutdone"], ["st", "dead"]]);
    }, { before: [this.#childLine("Giving up all HA resources.")] });
  }

  // ------------------------------------------------------------------ auto failback

  /** PerformAutoFailback. */
  #performAutoFailback(): void {
    if (
      this.#shutdownInProgress || !(this.#held & RSC_FOREIGN) ||
      !this.#failbackNeeded || this.#cfg.autoFailback !== "on"
    ) {
      this.#failbackNeeded = false;
      this.#shutdownIfNeeded();
      return;
    }
    // (3+ nodes: and while our own takeover runs, which refuses our own request as "local
    // resources in flux" and nothing asked again: explore_shutdone_of_stopped_peer.txt)
    if (
      this.#standby !== Standby.NOT || !this.#otherStable || this.#rstate !== RState.STABLE ||
      (this.#multi() && (this.#takeoverInProgress || this.#childCount() > 0))
    ) {
      this.#log("debug", "Auto failback delayed.");
      this.#failbackRetryAt = this.#now + AUTO_FAILBACK_RETRY_MS;
      return;
    }
    if (this.#now < this.#failbackHoldUntil) {
      this.#log(
        "info",
        `Auto failback delayed: ${this.#failbackHoldFrom} gave these resources up for service failures (${
          Math.round(this.#failbackHoldUntil - this.#now)
        } ms left).`,
      );
      this.#failbackRetryAt = this.#failbackHoldUntil;
      return;
    }
    this.#standbyClass = RSC_FOREIGN;
    this.#failbackNeeded = false;
    this.#sendStandby("me");
  }
}
