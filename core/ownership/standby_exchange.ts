/**
 * The standby exchange (`ask_resources` `me` / `other` / `done`, behavior.md §6.4): a node
 * giving groups away and the peer taking them, the named taker of 3+ node clusters (`hb_taker`),
 * the requester's retries (hb fix 4), the exchange's timeouts, and the auto failback that asks
 * for our groups the same way.
 *
 * @module
 */

import type { CoreMessage } from "../message.ts";
import {
  className,
  complementClass,
  designatedNode,
  encodeClass,
  keysOf,
  keysOfClass,
  peerClassCovers,
} from "./rules.ts";
import { RSC_ALL, RSC_FOREIGN, RSC_LOCAL, RSC_NONE, RState, Standby } from "./types.ts";
import {
  AUTO_FAILBACK_RETRY_MS,
  olderThan,
  type OwnershipState,
  STANDBY_INIT_TIMEOUT_MS,
  STANDBY_RESOURCE_TIMEOUT_MS,
} from "./state.ts";
import {
  alive,
  announceAcquisition,
  childCount,
  childLine,
  clearRetry,
  endExchange,
  heldByBystander,
  heldFromHolding,
  log,
  multi,
  olderThanReport,
  run,
  send,
  sendDoneWithoutTaker,
  sendHeld,
  sendRaw,
  sendStandby,
  shutdownIfNeeded,
  standbyFields,
  takerOf,
} from "./context.ts";
import { reqOurResources } from "./legacy.ts";

/** Ends a pending standby exchange whose peer is gone (died or restarted). */
export function cancelStandby(s: OwnershipState): void {
  log(s, "info", "Cancelling pending standby operation");
  s.standby = Standby.NOT;
  s.standbyDeadline = 0;
  clearRetry(s);
  if (!s.otherStable && s.held === RSC_ALL) s.otherStable = true;
  shutdownIfNeeded(s);
}

/** ask_for_resources. */
export function askForResources(s: OwnershipState, from: string, msg: CoreMessage): void {
  s.lastStandbyMessageAt = s.now;
  if (!s.nice) {
    log(s, "info", "Standby mode only implemented when nice_failback on");
    return;
  }
  if (s.rstate === RState.SHUTDOWN) return;
  const info = msg.get("info");
  const rsctype = msg.get("rsc_hold");
  let rtype = RSC_ALL;
  if (rsctype !== undefined) {
    rtype = encodeClass(rsctype);
    if (rtype < 0) {
      log(s, "ERROR", `encode_resources: bad resource type [${rsctype}]`);
      rtype = RSC_NONE;
    }
  }
  if (info === undefined) {
    log(s, "ERROR", "Received standby message without info/from");
    return;
  }
  const fromMe = from === s.me;
  // hb fix 52 (3+ nodes): a request retransmitted after the requester's later report (its
  // exchange may be over: its `done` came before it) is not answered: we waited for good for
  // a `done` already past (found by the simulator with loss and concurrent hb_takeover:
  // explore_late_standby_request.txt). A requester still waiting re-sends it (standby retry).
  if (!fromMe && multi(s)) {
    const p = s.peers.get(from);
    const seq = parseInt(msg.get("seq") ?? "", 16);
    const olderThanStandby = p !== undefined && olderThan(msg, p.standbyGen, p.standbySeq);
    if (info === "me" && (olderThanReport(s, from, msg) || olderThanStandby)) {
      log(s, "debug", `Ignoring standby request from ${from}: a newer message was processed.`);
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
    s.failbackHoldUntil = Math.max(s.failbackHoldUntil, s.now + hold);
    s.failbackHoldFrom = from;
  }

  // hb fix 36 (3+ nodes): a giver's `done` names its taker; a taker's `done` names the giver
  // it answers (`hb_for`): each concerns those two nodes only
  if (info === "done" && multi(s)) {
    const forGiver = msg.get("hb_for");
    if (forGiver !== undefined && (fromMe || forGiver !== s.me)) return;
    if (!fromMe && msg.get("hb_taker") !== undefined) {
      takeNamed(s, from, msg);
      return;
    }
  }

  // hb fix 4: repeated messages of an exchange are answered idempotently
  if (!fromMe && from === s.standbyPeer) {
    if (info === "me" && s.standby === Standby.OTHER && !s.peerReleaseSeen) {
      sendRaw(s, standbyFields(s, "other"));
      return;
    }
    if (info === "other" && (s.releaseStarted || s.standby === Standby.DONE)) return;
    if (info === "done" && s.standby === Standby.DONE && s.acquiring) return;
  }
  if (!fromMe && multi(s)) {
    // hb fix 2: with 3+ nodes every other node answers a standby request; the
    // requester deals with the first answer, the other answers are no errors
    if (
      info === "other" && from !== s.standbyPeer &&
      (s.standby === Standby.OTHER || s.standby === Standby.DONE || s.releaseStarted)
    ) {
      return;
    }
    if (info === "done" && s.standby === Standby.DONE && s.acquiring) return;
  }
  // hb fix 37 (3+ nodes): a retried request (`hb_retry`) of a requester whose exchange with
  // us just ended is stale (delayed past our answer): taking it for a new one left us
  // waiting for a release that never came (found by the simulator: explore_stale_retry.txt)
  if (
    !fromMe && info === "me" && multi(s) && msg.get("hb_retry") !== undefined &&
    s.standby === Standby.NOT && from === s.lastExchangePeer &&
    s.now - s.lastExchangeEnd < STANDBY_INIT_TIMEOUT_MS
  ) {
    return;
  }
  if (
    !fromMe && (info === "done" || (info === "other" && multi(s))) &&
    s.standby === Standby.NOT &&
    (from === s.lastExchangePeer || multi(s)) &&
    s.now - s.lastExchangeEnd < STANDBY_INIT_TIMEOUT_MS
  ) {
    return;
  }

  if (s.standbyDeadline > 0 && s.now < s.standbyDeadline && info === "me") {
    // hb fix 13: with 3+ nodes our broadcast `other` also answers a concurrent requester
    // (hb_takeover makes every other node ask at once), which then gives its groups up
    // too: we acquire them with the first requester's (found by the simulator:
    // core/sim/testdata/explore_takeover_three_nodes.txt)
    if (
      multi(s) && !fromMe && from !== s.standbyPeer &&
      (s.standby === Standby.OTHER || s.standby === Standby.DONE) && !s.acquiring
    ) {
      // a later request of the same requester is ignored there: its first class still counts
      // (core/sim/testdata/explore_concurrent_standby_class_union.txt)
      s.alsoGiving.set(from, (s.alsoGiving.get(from) ?? RSC_NONE) | rtype);
    }
    const left = Math.floor((s.standbyDeadline - s.now + 999) / 1000);
    log(s, "WARN", `Standby in progress- new request from ${from} ignored [${left} seconds left]`);
    return;
  }
  const orig = s.standby;
  let ignored = false;
  switch (s.standby) {
    case Standby.NOT:
      if (!s.otherStable) {
        log(s, "WARN", `standby message [${info}] from ${from} ignored.  Other side is in flux.`);
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
        s.rstate !== RState.STABLE || (info === "me" && s.acquiring) ||
        (fromMe && multi(s) && childCount(s) > 0)
      ) {
        log(s, "WARN", `standby message [${info}] from ${from} ignored.  local resources in flux.`);
        return;
      }
      s.standbyClass = rtype;
      if (info === "me") {
        s.otherStable = false;
        log(s, "info", `${from} wants to go standby [${className(rtype)}]`);
        s.releaseStarted = false;
        s.peerReleaseSeen = false;
        s.acquiring = false;
        if (fromMe) {
          s.standbyDeadline = s.now + STANDBY_INIT_TIMEOUT_MS;
          s.standby = Standby.ME;
          s.exchangeSerial++;
          s.standbyPeer = "";
          s.retries = 0;
          s.retryAt = s.now + s.cfg.standbyRetryMs;
        } else {
          s.standby = Standby.OTHER;
          s.exchangeSerial++;
          s.standbyPeer = from;
          sendStandby(s, "other");
          s.standbyDeadline = s.now + STANDBY_RESOURCE_TIMEOUT_MS;
          s.otherTimeoutAt = s.now +
            s.cfg.standbyRetryMs * (s.cfg.standbyRetries + 2);
        }
      } else {
        ignored = true;
      }
      break;
    case Standby.ME:
      // hb fix 35 (3+ nodes): a message of another exchange (a `done` of someone else's)
      // changed the class we give up, and our own `done` then gave away another class
      // (found by the simulator: explore_requester_class_kept.txt)
      if (!fromMe && multi(s) && info !== "other") {
        ignored = true;
        break;
      }
      if (!fromMe) {
        s.standbyClass = rtype;
        s.standbyDeadline = s.now + STANDBY_RESOURCE_TIMEOUT_MS;
        if (info === "other") {
          clearRetry(s);
          s.standbyPeer = from;
          s.releaseStarted = true;
          log(s, "info", `standby: ${from} can take our ${className(rtype)} resources`);
          goStandby(s, Standby.ME, rtype, from);
        } else {
          ignored = true;
        }
      } else if (info === "done") {
        log(s, "info", `Local standby process completed [${className(rtype)}].`);
        s.standby = Standby.DONE;
        s.held &= ~s.standbyClass;
        s.standbyDeadline = s.now + STANDBY_RESOURCE_TIMEOUT_MS;
        // no re-sent `done` here: a real 3.0.6 answerer still acquiring takes a second
        // `done` for its own completion (it then never counts what it acquired); a lost
        // `done` is retransmitted by the membership layer (rexmit) like every message
        clearRetry(s);
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
        info === "done" && !fromMe && multi(s) && from !== s.standbyPeer &&
        !s.alsoGiving.has(from)
      ) {
        return;
      }
      s.standbyClass = rtype;
      if (info === "done") {
        s.standbyDeadline = s.now + STANDBY_RESOURCE_TIMEOUT_MS;
        if (!fromMe) {
          s.otherTimeoutAt = Infinity;
          log(s, "info", `standby: acquire [${className(rtype)}] resources from ${from}`);
          goStandby(s, Standby.OTHER, s.standbyClass, from);
          s.standby = Standby.DONE;
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
        info === "done" && !fromMe && multi(s) && s.standbyPeer !== "" &&
        from !== s.standbyPeer && s.releaseStarted
      ) {
        return;
      }
      s.standbyClass = rtype;
      if (info === "done") {
        s.standbyDeadline = 0;
        s.standby = Standby.NOT;
        if (fromMe) {
          log(s, "info", `Standby resource acquisition done [${className(rtype)}].`);
          if (s.cfg.autoFailback === "on") {
            s.localWorkDone = true;
            announceAcquisition(s, "auto_failback");
          }
          s.held |= complementClass(rtype);
        } else {
          log(s, "info", `Other node completed standby takeover of ${className(rtype)} resources.`);
        }
        endExchange(s);
        sendHeld(s, true);
      } else {
        ignored = true;
      }
      break;
  }
  if (ignored) {
    log(s, "ERROR", `Ignored standby message '${info}' from ${from} in state ${orig}`);
  }
  shutdownIfNeeded(s);
}

/** Heartbeat's standby deadline check. */
export function standbyExpired(s: OwnershipState): void {
  s.standbyDeadline = 0;
  s.otherStable = true;
  log(s, "WARN", "No reply to standby request.  Standby request cancelled.");
  endExchange(s);
  shutdownIfNeeded(s);
}

/** hb fix 4: re-send the request (ME) while no answer came, then give up. */
export function standbyRetry(s: OwnershipState): void {
  const asRequester = s.standby === Standby.ME && !s.releaseStarted;
  if (!asRequester) {
    clearRetry(s);
    return;
  }
  if (s.retries < s.cfg.standbyRetries) {
    s.retries++;
    s.retryAt = s.now + s.cfg.standbyRetryMs;
    // (marked with 3+ nodes: a retry that reaches a node after their exchange ended is stale)
    sendRaw(s, [...standbyFields(s, "me"), ...(multi(s) ? [["hb_retry", "1"]] : [])] as [
      string,
      string,
    ][]);
    return;
  }
  s.otherStable = true;
  log(s, "WARN", "No reply to standby request.  Standby request cancelled.");
  endExchange(s);
}

/** go_standby: give up (ME) or acquire (OTHER) a class in a child. */
export function goStandby(s: OwnershipState, who: Standby, set: number, peer: string): void {
  const give = who === Standby.ME;
  if (give) {
    s.otherStable = false;
    s.held &= ~set;
    sendHeld(s, false, "standby");
  } else {
    s.acquiring = true;
  }
  const act = set === RSC_FOREIGN
    ? (give ? RSC_FOREIGN : RSC_LOCAL)
    : set === RSC_LOCAL
    ? (give ? RSC_LOCAL : RSC_FOREIGN)
    : RSC_ALL;
  let keys = keysOfClass(s.cfg.groups, s.me, act);
  // hb fix 2: with 3+ nodes a class covers groups that run elsewhere: give up only ours
  if (give && multi(s)) {
    const cls = keys;
    keys = keys.filter((k) => s.holding.has(k));
    // (a group whose start failed here is given too: the delayed hb_standby after a failed
    // start exists to have another node run it; found by the chaos campaign, hb3 seed 2026
    // #7: with the named taker nobody took it)
    s.givenKeys = new Set([...keys, ...cls.filter((k) => s.failedHere.has(k))]);
  }
  if (!give && multi(s)) {
    // the taker takes, of the class the requester gives up (seen from the requester), the
    // groups it is designated for once the requester is excluded. Taking only our own class
    // left the groups of a dead third node nowhere when their holder failed back (found by
    // the simulator: core/sim/testdata/explore_failback_orphan.txt)
    // (the first `done` may come from a concurrent requester: the exchange's own peer
    // gives up too, explore_takeover_failback_three_nodes.txt)
    const givers = new Map([[peer, set], ...s.alsoGiving]);
    if (s.standbyPeer !== "" && !givers.has(s.standbyPeer)) {
      givers.set(s.standbyPeer, set);
    }
    keys = [
      ...new Set([...givers].flatMap(([n, cls]) => keysOfClass(s.cfg.groups, n, cls))),
    ];
    // a concurrent requester keeps what it runs outside the class it gives up (giving up its
    // foreign groups it keeps its own): nobody takes those (found by the simulator:
    // core/sim/testdata/explore_concurrent_failback_keeps_own.txt)
    const exclude = new Set(givers.keys());
    keys = keys.filter((k) => {
      const g = s.cfg.groups.find((x) => x.key === k)!;
      const kept = [...givers].some(([n, cls]) =>
        !peerClassCovers(cls, n, g) &&
        (s.peers.get(n)?.heldKeys?.has(k) ?? g.node === n)
      );
      return !kept &&
        designatedNode(s.cfg.nodes, (n) => alive(s, n), g.node, exclude) === s.me &&
        !heldByBystander(s, k, exclude);
    });
  }
  const verb = give ? "give up" : "acquire";
  const serial = s.exchangeSerial;
  run(s, give ? "give" : "take", keys, "standby", {}, () => {
    log(
      s,
      "info",
      `${className(act)} HA resource ${give ? "release" : "acquisition"} completed (standby).`,
      "heartbeat-child",
    );
    if (!give) s.acquiring = false;
    // hb fix 42: the exchange this child belonged to was cancelled and a new one began while
    // it ran (our scripts queue behind a takeover): its `done` would have been taken for the
    // new exchange's, which then waited an hour for a peer that never took anything (found
    // by the simulator: core/sim/testdata/explore_done_of_cancelled_exchange.txt)
    if (serial !== s.exchangeSerial && s.standby !== Standby.NOT) {
      s.held = heldFromHolding(s);
      sendHeld(s, s.rstate === RState.STABLE);
      // (hb fix 48: its answerers still wait for its `done`: it names no taker; found by the
      // simulator, a thaw with queued standby requests: explore_cancelled_release_new_exchange.txt)
      if (give && multi(s)) {
        sendDoneWithoutTaker(s);
      }
      return;
    }
    // hb fix 17: the exchange was cancelled while we released (the peer died): nobody takes
    // our local groups, which this release stopped after the recovery had looked at them
    // (found by the simulator: core/sim/testdata/explore_standby_peer_dies.txt)
    // (and our class bits, which the recovery may have set meanwhile, are recomputed from
    // what runs here and announced: explore_standby_cancelled_release.txt)
    if (give && s.standby === Standby.NOT && !s.shutdownInProgress) {
      s.held = heldFromHolding(s);
      const missing = keysOf(s.cfg.groups, s.me).filter((k) => !s.holding.has(k));
      if (missing.length > 0) {
        log(s, "info", "Standby cancelled during our release: acquiring our resources.");
        reqOurResources(s, true);
      } else sendHeld(s, s.rstate === RState.STABLE);
    }
    // hb fix 29 (3+ nodes): the exchange was cancelled while we acquired (a node died): our
    // `done` is then ignored here and nobody heard what we now run, so a duplicate with a
    // node that took the same group by mach_down stayed unresolved (found by the simulator:
    // core/sim/testdata/explore_standby_take_cancelled_three.txt)
    if (!give && multi(s) && s.standby === Standby.NOT && !s.shutdownInProgress) {
      s.held = heldFromHolding(s);
      sendHeld(s, s.rstate === RState.STABLE);
    }
    // hb fix 48 (3+ nodes): a cancelled exchange (its taker restarted or died) names no
    // taker and gives nothing: the named taker took the groups we had just taken back
    // above (found by the simulator: explore_taker_restarts_during_release.txt); the other
    // answerers still end their part (explore_cancelled_release_ends_answers.txt)
    if (give && multi(s) && s.standby === Standby.NOT) {
      sendDoneWithoutTaker(s);
      return;
    }
    if (give && multi(s) && s.standbyPeer !== "") {
      // hb fix 36 (3+ nodes): our `done` names the one node that takes what we released and
      // lists it; every other answerer takes nothing (see takeNamed)
      send(s, [
        ...standbyFields(s, "done"),
        ["hb_taker", s.standbyPeer],
        ["hb_given", [...s.givenKeys].map((k) => `${k}@${takerOf(s, k)}`).join(" ")],
      ]);
    } else sendStandby(s, "done");
  }, { before: [childLine(`${verb} ${className(act)} HA resources (standby).`)] });
}

/**
 * hb fix 36 (3+ nodes): a giver's `done` names its taker (`hb_taker`) and what it released
 * (`hb_given`). Every other node in standby had answered too and took a share chosen by
 * its own view of who gave what; two takers with different views both took a group (a
 * concurrent requester whose own request was refused still counted as giving: found by the
 * simulator, core/sim/testdata/explore_named_taker.txt). The named taker takes the listed
 * groups no bystander runs; the others only end their part of the exchange.
 */
function takeNamed(s: OwnershipState, from: string, msg: CoreMessage): void {
  // `key@node` per released group: its taker (a group whose haresources node is up goes home)
  const mine: string[] = [];
  for (const entry of (msg.get("hb_given") ?? "").split(" ")) {
    if (entry === "") continue;
    const at = entry.lastIndexOf("@");
    const key = at < 0 ? entry : entry.slice(0, at);
    const taker = at < 0 ? msg.get("hb_taker") : entry.slice(at + 1);
    if (taker === s.me) mine.push(key);
  }
  if (msg.get("hb_taker") !== s.me) {
    if (from === s.standbyPeer && s.standby === Standby.OTHER && !s.acquiring) {
      const taker = msg.get("hb_taker");
      log(
        s,
        "info",
        taker ? `standby: ${from} gave its resources to ${taker}.` : `standby: ${from} cancelled.`,
      );
      endExchange(s);
      // the others are as stable as their last reports say: the giver's stable report may
      // have come before its (retransmitted) request (found by the simulator:
      // explore_named_done_after_report.txt)
      s.otherStable = ![...s.peers].some(([n, q]) => alive(s, n) && q.unstable);
      if (mine.length === 0) sendHeld(s, s.rstate === RState.STABLE);
    }
    if (mine.length === 0) return;
  }
  if (s.shutdownInProgress || s.rstate === RState.SHUTDOWN) return;
  const keys = mine.filter((k) =>
    s.cfg.groups.some((g) => g.key === k) && !s.holding.has(k) &&
    !s.claimed.has(k) && !heldByBystander(s, k, new Set([from]))
  );
  log(s, "info", `standby: acquire [${keys.join(" ") || "none"}] from ${from}`);
  const main = from === s.standbyPeer && s.standby === Standby.OTHER &&
    msg.get("hb_taker") === s.me;
  if (main) {
    s.otherTimeoutAt = Infinity;
    s.standby = Standby.DONE;
    s.acquiring = true;
  }
  run(s, "take", keys, "standby", {}, () => {
    log(s, "info", `HA resource acquisition from ${from} completed (standby).`, "heartbeat-child");
    s.held |= heldFromHolding(s, keys);
    if (main && s.standby === Standby.DONE) {
      s.acquiring = false;
      log(s, "info", `Standby resource acquisition done [${className(s.standbyClass)}].`);
      endExchange(s);
    }
    send(s, [...standbyFields(s, "done"), ["hb_for", from]]);
    sendHeld(s, s.rstate === RState.STABLE);
  }, { before: [childLine("acquire HA resources (standby).")] });
  // the others learn at once that these run here now (an unstable report: no orphan sweep
  // takes them while we start them, explore_named_taker_slow.txt)
  if (keys.length > 0) sendHeld(s, false);
}

/** PerformAutoFailback. */
export function performAutoFailback(s: OwnershipState): void {
  if (
    s.shutdownInProgress || !(s.held & RSC_FOREIGN) ||
    !s.failbackNeeded || s.cfg.autoFailback !== "on"
  ) {
    s.failbackNeeded = false;
    shutdownIfNeeded(s);
    return;
  }
  // (3+ nodes: and while our own takeover runs, which refuses our own request as "local
  // resources in flux" and nothing asked again: explore_shutdone_of_stopped_peer.txt)
  if (
    s.standby !== Standby.NOT || !s.otherStable || s.rstate !== RState.STABLE ||
    (multi(s) && (s.takeoverInProgress || childCount(s) > 0))
  ) {
    log(s, "debug", "Auto failback delayed.");
    s.failbackRetryAt = s.now + AUTO_FAILBACK_RETRY_MS;
    return;
  }
  if (s.now < s.failbackHoldUntil) {
    log(
      s,
      "info",
      `Auto failback delayed: ${s.failbackHoldFrom} gave these resources up for service failures (${
        Math.round(s.failbackHoldUntil - s.now)
      } ms left).`,
    );
    s.failbackRetryAt = s.failbackHoldUntil;
    return;
  }
  s.standbyClass = RSC_FOREIGN;
  s.failbackNeeded = false;
  sendStandby(s, "me");
}
