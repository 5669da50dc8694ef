/**
 * The `starting` and `resource` reports (Heartbeat's process_resources): the start-up
 * negotiation, a peer's stability and held groups, stale and retransmitted reports, the checks
 * after a peer restarted (hb fixes 9, 25) and the wait for a standby answerer's `done` (fix 22).
 *
 * @module
 */

import type { CoreMessage } from "../message.ts";
import { designatedNode, encodeClass, keysOf, updateHeld } from "./rules.ts";
import { RSC_FOREIGN, RSC_LOCAL, RSC_NONE, RState, Standby } from "./types.ts";
import { type OwnershipState, type PeerInfo, STANDBY_DONE_WAIT_MS } from "./state.ts";
import {
  alive,
  allPeersReported,
  announceAcquisition,
  baseEnv,
  endExchange,
  heldFromHolding,
  log,
  multi,
  noteStableSeq,
  peerHadOurs,
  peersHoldOurs,
  run,
  sendHeld,
  shutdownIfNeeded,
} from "./context.ts";
import { reqOurResources } from "./legacy.ts";
import { performAutoFailback } from "./standby_exchange.ts";
import { audit, noteDuplicates } from "./duplicates.ts";
import { recoverDeferredDead } from "./takeover.ts";

/** process_resources for `starting` and `resource`. */
export function processResources(
  s: OwnershipState,
  type: "starting" | "resource",
  from: string,
  msg: CoreMessage,
): void {
  shutdownIfNeeded(s);
  if (!s.nice) return;
  // Heartbeat's `first_time && WeAreRestarting` (never cleared): a restarted node is stable
  if (s.restarting && s.rstate !== RState.SHUTDOWN) s.rstate = RState.STABLE;
  const fromMe = from === s.me;
  if (!fromMe && staleReport(s, from, msg)) {
    // hb fix 38: its stability still counts when no newer report said it (a mach_down report,
    // which has none, overtook the stable report before it: found by the simulator,
    // core/sim/testdata/explore_stable_report_overtaken.txt)
    const p = s.peers.get(from);
    const stable = msg.get("isstable");
    if (s.nice && p !== undefined && stable !== undefined && noteStableSeq(p, msg)) {
      applyStability(s, p, stable);
      // and a stable report is when duplicates are checked: against what the newer report
      // said it runs (it had none to check: explore_dup_after_overtaken_report.txt)
      if (stable === "1" && p.held !== undefined) noteDuplicates(s, from, p.held);
    }
    // hb fix 53: a `starting` overtaken by the report after it still asks what we hold: the
    // restarted peer ignored every report we sent before its Comm_now_up, and without an
    // answer it takes its own groups after its wait while we run them (found by the
    // simulator with jitter alone: core/sim/testdata/explore_starting_overtaken.txt)
    if (type === "starting") sendHeld(s, s.rstate === RState.STABLE);
    return;
  }
  let newState = s.rstate;
  if (type === "starting" && !fromMe) {
    switch (s.rstate) {
      case RState.RSCRCVD:
      case RState.STABLE:
      case RState.SHUTDOWN:
        break;
      case RState.STARTING:
        newState = RState.BOTHSTARTING;
        s.foreignWorkDone = true;
        announceAcquisition(s, "HB_R_BOTHSTARTING");
        break;
      case RState.BOTHSTARTING: {
        // hb fix 2: with 3+ nodes starting together every peer says `starting`
        if (multi(s)) break;
        // hb fix 11: the peer restarted during the negotiation: its new `starting` starts
        // the exchange again. Heartbeat logs the error below and waits for good, nobody
        // acquiring anything (found by the simulator:
        // core/sim/testdata/explore_restart_while_both_starting.txt)
        const peer = s.peers.get(from);
        if (peer?.renegotiate) {
          peer.renegotiate = false;
          break;
        }
        log(s, "ERROR", `Received 'starting' message in state ${s.rstate}`);
        return;
      }
      default:
        log(s, "ERROR", `Received 'starting' message in state ${s.rstate}`);
        return;
    }
    s.otherStable = false;
    if (s.takeoverInProgress) log(s, "WARN", "T_STARTING received during takeover.");
    const p = s.peers.get(from);
    if (p !== undefined) {
      p.held = undefined;
      p.heldKeys = undefined;
    }
    sendHeld(s, s.rstate === RState.STABLE);
  }
  if (type === "resource") {
    const hold = msg.get("rsc_hold");
    if (hold === undefined) {
      log(s, "ERROR", "resource message without rsc_hold field.");
      return;
    }
    let n = encodeClass(hold);
    if (n < 0) {
      log(s, "ERROR", `encode_resources: bad resource type [${hold}]`);
      n = RSC_NONE;
    }
    const full = msg.get("rtype") === "full";
    switch (s.rstate) {
      case RState.BOTHSTARTING:
      case RState.STARTING:
        newState = RState.RSCRCVD;
        if (s.cfg.autoFailback === "off") {
          s.foreignWorkDone = true;
          announceAcquisition(s, "T_RESOURCES");
        }
        break;
      case RState.RSCRCVD:
      case RState.STABLE:
      case RState.SHUTDOWN:
        break;
      default:
        log(s, "ERROR", `resource message received in state ${s.rstate}`);
        return;
    }
    if (!fromMe) {
      s.otherHeld = updateHeld(full, s.otherHeld, n);
      const p = s.peers.get(from)!;
      p.held = updateHeld(full, p.held ?? RSC_NONE, n);
      const exact = msg.get("hb_held");
      if (exact !== undefined) p.heldKeys = new Set(exact.split(" ").filter(Boolean));
      // hb fix 51: a node that saw a restart asks for every node's report
      if (msg.get("hb_ask") === "1" && multi(s) && s.rstate === RState.STABLE) {
        sendHeld(s, true);
      }
      // (at once: our own report that follows must already list what we take, or a peer
      // takes what it reads as lost by our restart too: explore_deferred_dead_report.txt)
      if (exact !== undefined) recoverDeferredDead(s, false);
      if (msg.get("info") === "standby" && from === s.standbyPeer) {
        s.peerReleaseSeen = true;
      }
      const stable = msg.get("isstable");
      if (stable !== undefined) {
        noteStableSeq(p, msg);
        applyStability(s, p, stable);
      }
      if (
        s.rstate !== RState.STABLE && s.rstate !== RState.SHUTDOWN &&
        s.otherStable && allPeersReported(s)
      ) {
        log(s, "info", "remote resource transition completed.");
        reqOurResources(s, false);
        newState = RState.STABLE;
        sendHeld(s, true);
        performAutoFailback(s);
        s.foreignWorkDone = true;
        if (s.cfg.autoFailback !== "on" && (s.otherHeld & RSC_FOREIGN)) {
          s.localWorkDone = true;
        }
        announceAcquisition(s, "T_RESOURCES(them)");
      }
      if (stable === "1" && full) {
        s.lastPeerReportAt = s.now;
        noteDuplicates(s, from, n);
        awaitDoneAfterReport(s, from);
      }
      if (stable === "1" && full && p.recheckOurs) recheckOurs(s, from, p);
    } else {
      s.held = updateHeld(full, s.held, n);
      if (s.held & RSC_LOCAL) {
        s.localWorkDone = true;
        announceAcquisition(s, "T_RESOURCES(us)");
      }
      const comment = msg.get("info");
      if (comment === "mach_down") {
        log(s, "info", "mach_down takeover complete.");
        s.takeoverInProgress = false;
        s.held |= RSC_FOREIGN;
        s.failbackNeeded = true;
        s.otherStable = true;
        s.foreignWorkDone = true;
        announceAcquisition(s, "mach_down");
      } else if (comment === "shutdown") {
        s.rstate = newState = RState.SHUTDOWN;
      }
    }
  }
  s.rstate = newState;
  if (s.rstate === RState.RSCRCVD && s.localTakeoverAt === 0) {
    s.localTakeoverAt = s.now + s.cfg.rqstDelayMs;
  }
  audit(s);
  shutdownIfNeeded(s);
}

/**
 * hb fix 12: the membership delivers a retransmitted message when it arrives, after later
 * ones of the same sender (as Heartbeat does). A `starting` or `resource` message older than
 * one already processed would undo newer state (an `isstable=0` after the `isstable=1`
 * left us in transition for good: found by the simulator with reordering alone,
 * core/sim/testdata/explore_reordered_report.txt): it is ignored.
 */
function staleReport(s: OwnershipState, from: string, msg: CoreMessage): boolean {
  const p = s.peers.get(from);
  const seq = parseInt(msg.get("seq") ?? "", 16);
  const gen = msg.get("hg") ?? "";
  if (p === undefined || Number.isNaN(seq)) return false;
  if (p.reportGen === gen && p.reportSeq !== undefined && seq < p.reportSeq) {
    log(s, "debug", `Ignoring resource message ${seq} from ${from}: newer one processed.`);
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
function adoptLostKeys(s: OwnershipState, from: string, p: PeerInfo): void {
  const lost = p.lostKeys ?? [];
  p.lostKeys = undefined;
  const exclude = new Set([from]);
  const keys = lost.filter((k) => {
    if (s.holding.has(k) || s.claimed.has(k) || p.heldKeys?.has(k)) return false;
    for (const [n, q] of s.peers) {
      if (n !== from && alive(s, n) && q.heldKeys?.has(k)) return false;
    }
    const g = s.cfg.groups.find((x) => x.key === k)!;
    return designatedNode(s.cfg.nodes, (n) => alive(s, n), g.node, exclude) === s.me;
  });
  if (keys.length === 0) return;
  log(s, "info", `${from} restarted without ${keys.join(" ")}: acquiring them.`);
  run(s, "take", keys, "mach_down", baseEnv(s), () => {
    s.held |= heldFromHolding(s, keys);
    sendHeld(s, s.rstate === RState.STABLE);
  });
}

/** A peer's report says whether it is stable (`isstable`). */
function applyStability(s: OwnershipState, p: PeerInfo, stable: string): void {
  // hb fix 24 (3+ nodes): the other side is stable when every living peer is. One flag set
  // by whichever peer reported last flipped with each report of a stable and an unstable
  // peer, and each flip to stable sent a report of ours, which made the others flip: a
  // report storm (176 packets a second from one node; found by the simulator:
  // core/sim/testdata/explore_report_storm.txt)
  let peersStable = stable === "1";
  if (multi(s)) {
    p.unstable = stable !== "1";
    peersStable = ![...s.peers].some(([n, q]) => alive(s, n) && q.unstable);
  }
  if (peersStable) {
    if (!s.otherStable) {
      log(s, "info", "remote resource transition completed.");
      s.otherStable = true;
      sendHeld(s, s.rstate === RState.STABLE);
      performAutoFailback(s);
    }
  } else {
    s.otherStable = false;
  }
}

/**
 * hb fix 9: a peer that ran some of our local groups restarted faster than deadtime (we
 * never declared it dead, so no takeover ran). Heartbeat's restarted node acquires only its
 * own local groups (§4.4), so ours ran nowhere (found by the simulator:
 * core/sim/testdata/explore_fast_restart_holder.txt). Once its first stable report after
 * the restart shows it no longer runs them, we acquire what we miss of our own.
 */
function recheckOurs(s: OwnershipState, from: string, p: PeerInfo): void {
  if (s.rstate !== RState.STABLE || s.shutdownInProgress) return;
  p.recheckOurs = false;
  adoptLostKeys(s, from, p);
  if (peerHadOurs(s, p) || (multi(s) && peersHoldOurs(s))) return;
  const missing = keysOf(s.cfg.groups, s.me).filter((k) => !s.holding.has(k));
  if (missing.length === 0) return;
  log(s, "info", `${from} restarted without our resources: acquiring them.`);
  reqOurResources(s, true);
}

/**
 * hb fix 22: we requested standby, released and said `done`; the answerer reports itself
 * stable but its `done` does not follow (our release report or our `done` was lost while it
 * had declared us dead, so it never acquired and its own timeout ended the exchange). After
 * that report and 5 s without its `done`, the exchange is over for us too: waiting longer
 * kept us in transition for good (found by the simulator:
 * core/sim/testdata/explore_standby_done_lost.txt).
 */
function awaitDoneAfterReport(s: OwnershipState, from: string): void {
  if (s.standby !== Standby.DONE || from !== s.standbyPeer || !s.releaseStarted) {
    return;
  }
  s.timers.push({
    at: s.now + STANDBY_DONE_WAIT_MS,
    child: false,
    fn: () => {
      if (
        s.standby !== Standby.DONE || s.standbyPeer !== from || !s.releaseStarted
      ) return;
      log(s, "WARN", `No standby 'done' from ${from} after its stable report: exchange ended.`);
      s.otherStable = true;
      endExchange(s);
      sendHeld(s, true);
    },
  });
}
