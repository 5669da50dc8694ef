/**
 * The state of one node's resource ownership machine ({@link OwnershipState}), the timing
 * constants of the protocol and the bookkeeping types the protocol modules of
 * core/ownership/ share. It imports no protocol module: every other module of the folder sits
 * on top of it. The class `Ownership` of ownership.ts owns one instance and passes it to
 * the protocol functions.
 *
 * @module
 */

import type { CoreMessage } from "../message.ts";
import { encodeClass, keysOfClass } from "./rules.ts";
import {
  type GroupOutcome,
  type OwnershipAction,
  type OwnershipConfig,
  type PeerStatus,
  RSC_ALL,
  RSC_NONE,
  RState,
  type RunReason,
  Standby,
} from "./types.ts";

/** Heartbeat's STANDBY_INIT_TO_MS: a requester waits this long for `other`. */
export const STANDBY_INIT_TIMEOUT_MS = 10_000;
/** Heartbeat's HB_STANDBY_RSC_TO_MS: one hour. */
export const STANDBY_RESOURCE_TIMEOUT_MS = 3_600_000;
/** hb fix 3: a kept group's addresses are re-announced at most this often. */
export const REANNOUNCE_GAP_MS = 3000;
/**
 * Two nodes: re-announcements of a kept duplicate after which a peer that still runs it is
 * taken not to resolve duplicates (a real Heartbeat) and we release ours (5 × 3 s: long enough
 * for an hb peer behind a lossy link to hear one of them).
 */
export const YIELD_AFTER_REANNOUNCES = 5;
/**
 * hb fix 27: how long a group must run nowhere, with every living node stable, before its
 * designated node takes it (long enough for reports in flight and a retransmission round).
 */
export const ORPHAN_SETTLE_MS = 5000;
/**
 * hb fix 27: no orphan is taken until this long after the last standby message seen (a standby
 * exchange's release or acquisition sends nothing while its scripts run).
 */
export const EXCHANGE_QUIET_MS = 20_000;
/** hb fix 22: wait for the answerer's `done` after its stable report. */
export const STANDBY_DONE_WAIT_MS = 5000;
/** Auto failback retry interval (AutoFailbackProc). */
export const AUTO_FAILBACK_RETRY_MS = 1000;

/** A resource run in progress (one `run` action): the groups still without a result. */
export interface Run {
  reason: RunReason;
  op: "take" | "give" | "announce";
  pending: Set<string>;
  onKey?: (key: string, result: GroupOutcome) => void;
  onDone: () => void;
}

/** A deferred step: a child's effect or a wake-up at a virtual time. */
export interface Timer {
  at: number;
  fn: () => void;
  /** Counts as a running resource child (Heartbeat's ResourceMgmt_child_count). */
  child: boolean;
  /** The handle() call that created it: a child's effects never run in the same call. */
  serial?: number;
}

/** What this node knows of one peer. */
export interface PeerInfo {
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
export function olderThan(
  msg: CoreMessage,
  gen: string | undefined,
  seq: number | undefined,
): boolean {
  return seq !== undefined && gen === msg.get("hg") && parseInt(msg.get("seq") ?? "", 16) < seq;
}

/** Everything one node's ownership machine holds (public to core/ownership/ only). */
export class OwnershipState {
  /** Processes a message this node sends before it is emitted (Heartbeat's loopback). */
  readonly deliver: (from: string, msg: CoreMessage) => void;
  readonly cfg: Required<Omit<OwnershipConfig, "stonith" | "restart" | "peerRunsHeartbeat">> & {
    stonith: boolean;
  };
  readonly me: string;
  readonly nice: boolean;
  out: OwnershipAction[] = [];
  now = 0;
  serial = 0;

  commUp = false;
  rstate: RState = RState.INIT;
  held = RSC_NONE;
  otherHeld = RSC_NONE;
  otherStable = false;
  standby: Standby = Standby.NOT;
  standbyDeadline = 0;
  standbyClass = RSC_ALL;
  /** Groups whose start failed here (hb fix 18 leaves them alone). */
  readonly failedHere = new Set<string>();
  /** hb fix 13: concurrent standby requesters our `other` answered too, with their class. */
  readonly alsoGiving = new Map<string, number>();
  /** hb fix 42: counts the standby exchanges we entered (requester or answerer). */
  exchangeSerial = 0;
  /** hb fix 39: our ip-requests (legacy) no answer came for yet. */
  readonly ipRequestPending = new Set<string>();
  /** Whether a peer is known to run the real Heartbeat (hb fix 33). */
  readonly isHeartbeatPeer: (node: string) => boolean;
  /** hb fix 30: the groups we released in the standby exchange that runs (3+ nodes). */
  givenKeys = new Set<string>();
  /** When the last standby message (`ask_resources`) was seen (hb fix 27). */
  lastStandbyMessageAt = -Infinity;
  /** hb fix 27: groups seen running nowhere, and since when (virtual ms). */
  readonly orphanSince = new Map<string, number>();
  /**
   * hb fix 49 (3+ nodes): groups whose stop runs here: our reports still list them (`hb_held`)
   * until it completes.
   */
  readonly releasing = new Set<string>();
  /** hb fix 45: never-heard dead nodes whose takeover waits for the living peers' reports. */
  readonly deferredDead = new Map<string, { heard: boolean; lastHeard?: number }>();
  /** hb fix 45: shutdown notices of peers that wait the same way. */
  readonly deferredShutdone = new Set<string>();
  takeoverInProgress = false;
  failbackNeeded = false;
  /**
   * hb: a peer gave its groups away for service failures (its `ask_resources` carried
   * `hb_failhold=<ms>`, core/monitor.ts): no auto failback to it before this time.
   */
  failbackHoldUntil = -Infinity;
  /** The peer of {@link failbackHoldUntil}. */
  failbackHoldFrom = "";
  failbackRetryAt = Infinity;
  localWorkDone = false;
  foreignWorkDone = false;
  announced = false;
  localTakeoverAt = 0;
  shutdownInProgress = false;
  needsShutdown = false;
  giveupStarted = false;
  shutdownAfterCommUp = false;
  restartAfterShutdown = false;
  /** Quick restart (`-R`): Heartbeat's WeAreRestarting. */
  readonly restarting: boolean;

  // hb fix 4 (standby retries)
  standbyPeer = "";
  releaseStarted = false;
  peerReleaseSeen = false;
  retryAt = Infinity;
  retries = 0;
  otherTimeoutAt = Infinity;
  acquiring = false;
  lastExchangePeer = "";
  lastExchangeEnd = -Infinity;

  // hb fix 3 (duplicates)
  healPending = false;
  dupAnnounced = false;
  /** When our held resources were last announced for a duplicate resolution. */
  dupAnnouncedAt = -Infinity;
  /** hb fix 21: when we last announced after a heal, and last got a peer's stable report. */
  healAnnouncedAt = -Infinity;
  lastPeerReportAt = -Infinity;
  /** A repeated announcement is scheduled. */
  dupAnnouncePending = false;
  /**
   * Peers whose report showed a group we run too, resolved once we are quiet. A set: with 3+
   * nodes several peers can overlap at once and one name lost the others (found by the
   * simulator: core/sim/testdata/explore_heal_after_lossy_four.txt).
   */
  readonly dupCheckFrom = new Set<string>();

  readonly runs = new Map<number, Run>();
  nextRunId = 1;
  timers: Timer[] = [];
  readonly peers = new Map<string, PeerInfo>();
  readonly holding = new Set<string>();
  /** hb fix 8: groups we run or are starting (announced as `hb_held` with 3+ nodes). */
  readonly claimed = new Set<string>();
  readonly fenceLastHeard = new Map<string, number | undefined>();
  /** Last re-announcement of a kept group's addresses (fix 3). */
  readonly reannouncedAt = new Map<string, number>();
  /** Re-announcements in a row to a peer that still runs a group we keep. */
  reannounceCount = 0;

  /** Creates the state for `config`; `deliver` processes a message we send (loopback). */
  constructor(config: OwnershipConfig, deliver: (from: string, msg: CoreMessage) => void) {
    this.deliver = deliver;
    this.cfg = {
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
    this.me = config.nodeName;
    this.isHeartbeatPeer = config.peerRunsHeartbeat ?? (() => false);
    this.nice = config.autoFailback !== "legacy";
    this.restarting = config.restart !== undefined;
    if (config.restart !== undefined) {
      const cls = encodeClass(config.restart.held ?? "none");
      if (this.nice && cls > 0) this.held = cls;
      const keys = config.restart.holding ??
        keysOfClass(this.cfg.groups, this.me, cls > 0 ? cls : RSC_NONE);
      for (const k of keys) {
        this.holding.add(k);
        this.claimed.add(k);
      }
    }
    for (const n of this.cfg.nodes) {
      if (n !== this.me) {
        this.peers.set(n, {
          status: "unknown",
          heard: false,
          hasResources: true,
          restarted: false,
          diedHeard: false,
        });
      }
    }
  }
}
