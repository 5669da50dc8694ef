/**
 * Membership events of the ownership protocol: communication up (`starting`), peer status
 * changes, dead nodes (fencing, the two-node takeover and the N-node one of fix 2 where one
 * survivor takes each group), a peer's shutdown notice (`shutdone`), and the N-node sweep of
 * groups no living node runs (hb fix 27).
 *
 * @module
 */

import { designatedNode, keysOf } from "./rules.ts";
import {
  type LogLine,
  type PeerStatus,
  RSC_ALL,
  RSC_FOREIGN,
  RSC_LOCAL,
  RSC_NONE,
  RState,
  Standby,
} from "./types.ts";
import { EXCHANGE_QUIET_MS, ORPHAN_SETTLE_MS, type OwnershipState } from "./state.ts";
import {
  alive,
  announceAcquisition,
  awaitingReports,
  baseEnv,
  cancelFence,
  deadCount,
  giveupResources,
  heldFromHolding,
  log,
  multi,
  noteHomeBack,
  quiet,
  run,
  send,
  sendHeld,
  shutdownIfNeeded,
  withClaimed,
} from "./context.ts";
import { reqOurResources } from "./legacy.ts";
import { cancelStandby, goStandby } from "./standby_exchange.ts";

/**
 * hb fix 27 (3+ nodes): a group no living node runs, while every living node reports itself
 * stable with its exact groups, for {@link ORPHAN_SETTLE_MS}: its designated node takes it.
 * The two-node protocol has Heartbeat's audit for this; with more nodes a standby exchange
 * can leave a group nowhere when the node designated at that moment dies before it is
 * declared dead, or a concurrent requester gives the group away (found by the simulator:
 * core/sim/testdata/explore_orphan_after_takeover_three.txt).
 */
export function sweepOrphans(s: OwnershipState): void {
  if (!multi(s) || !quiet(s) || !s.otherStable) {
    s.orphanSince.clear();
    return;
  }
  const live = [...s.peers].filter(([n]) => n !== s.me && alive(s, n));
  if (live.some(([, p]) => p.unstable || p.heldKeys === undefined || p.status !== "active")) {
    s.orphanSince.clear();
    return;
  }
  const orphans = s.cfg.groups.filter((g) =>
    !s.holding.has(g.key) && !s.claimed.has(g.key) && !s.failedHere.has(g.key) &&
    !live.some(([, p]) => p.heldKeys!.has(g.key)) &&
    designatedNode(s.cfg.nodes, (n) => alive(s, n), g.node) === s.me
  ).map((g) => g.key);
  for (const k of [...s.orphanSince.keys()]) {
    if (!orphans.includes(k)) s.orphanSince.delete(k);
  }
  // (and never while a standby exchange may still move groups: its release and its
  // acquisition can report nothing for as long as their scripts run, found by the
  // simulator: explore_orphan_during_standby.txt)
  const exchangeQuietAt = s.lastStandbyMessageAt + EXCHANGE_QUIET_MS;
  const due: string[] = [];
  for (const k of orphans) {
    const since = s.orphanSince.get(k);
    if (since === undefined) {
      s.orphanSince.set(k, s.now);
      const at = Math.max(s.now + ORPHAN_SETTLE_MS, exchangeQuietAt);
      s.timers.push({ at, child: false, fn: () => {} });
    } else if (s.now - since >= ORPHAN_SETTLE_MS && s.now >= exchangeQuietAt) {
      due.push(k);
    } else if (
      s.now < exchangeQuietAt && !s.timers.some((t) => t.at === exchangeQuietAt)
    ) {
      s.timers.push({ at: exchangeQuietAt, child: false, fn: () => {} });
    }
  }
  if (due.length === 0) return;
  for (const k of due) s.orphanSince.delete(k);
  log(s, "WARN", `No living node runs ${due.join(" ")}: acquiring them.`);
  run(s, "take", due, "mach_down", baseEnv(s), () => {
    s.held |= heldFromHolding(s, due);
    sendHeld(s, s.rstate === RState.STABLE);
  });
}

/** Communication is up: sends `starting` (or, in legacy mode, asks for our groups) and starts the negotiation. */
export function onCommUp(s: OwnershipState, restarting: boolean): void {
  if (s.commUp) return;
  s.commUp = true;
  if (deadCount(s) === 0) s.foreignWorkDone = true;
  if (s.nice) {
    send(s, [["t", "starting"]]);
    s.rstate = RState.STARTING;
    repeatStarting(s);
    if (s.cfg.nodes.every((n) => n === s.me)) {
      // hb fix: a single-node cluster has nobody to negotiate with. Heartbeat stays in
      // STARTING for ever there (acquires nothing, `-k` hangs for an hour); hb settles
      // at once and takes its groups.
      s.rstate = RState.STABLE;
      s.foreignWorkDone = true;
      s.otherStable = true;
      reqOurResources(s, false);
      log(s, "info", "local resource transition completed.");
      sendHeld(s, true);
    }
  } else if (!restarting) {
    reqOurResources(s, false);
  }
  if (s.shutdownAfterCommUp) {
    s.shutdownAfterCommUp = false;
    giveupResources(s);
  }
}

/**
 * hb fix 23: still STARTING one RQSTDELAY after our `starting` while a peer is alive: the
 * message was lost for good (a peer that learns our restart from a later status resets its
 * tracking, behavior.md §4.2), and a peer that never heard it never answers: we stayed in
 * transition for good (found by the simulator: core/sim/testdata/explore_starting_lost.txt).
 * It is sent again, every RQSTDELAY, while that lasts.
 */
function repeatStarting(s: OwnershipState): void {
  s.timers.push({
    at: s.now + s.cfg.rqstDelayMs,
    child: false,
    fn: () => {
      if (s.rstate !== RState.STARTING || s.shutdownInProgress) return;
      if (![...s.peers.values()].some((p) => p.status === "active")) {
        repeatStarting(s);
        return;
      }
      log(s, "WARN", "No answer to our 'starting' message: sending it again.");
      send(s, [["t", "starting"]]);
      repeatStarting(s);
    },
  });
}

/** A peer changed status: a death starts its recovery (fencing, takeover), a return ends a pending one. */
export function onNodeStatus(
  s: OwnershipState,
  node: string,
  status: PeerStatus,
  previous: PeerStatus,
  lastHeard: number | undefined,
  heard: boolean | undefined,
): void {
  const p = s.peers.get(node);
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
    if (multi(s) && p.unstable) {
      p.unstable = false;
      if (
        !s.otherStable && ![...s.peers].some(([n, q]) => alive(s, n) && q.unstable)
      ) {
        s.otherStable = true;
      }
    }
    const wasHeard = heard ?? p.heard;
    p.lastHeard = lastHeard;
    p.restarted = false;
    p.diedHeard = wasHeard || p.diedHeard;
    cancelFence(s, node, false);
    recoverDead(s, node, wasHeard, lastHeard);
    p.heard = false;
    return;
  }
  const wasHeardBefore = p.everHeard === true;
  p.everHeard = true;
  p.heard = true;
  p.hasResources = true;
  cancelFence(s, node, true);
  if (p.legacyRecheck && status === "active") {
    // hb fix 16: a legacy peer restarted faster than deadtime while it held (or was giving
    // us back) our groups: its answers to our ip-requests never came, and Heartbeat never
    // asks again (found by the simulator: core/sim/testdata/explore_legacy_fast_restart.txt)
    p.legacyRecheck = false;
    if (keysOf(s.cfg.groups, s.me).some((k) => !s.holding.has(k))) {
      log(s, "info", `${node} restarted: requesting our resources again.`);
      reqOurResources(s, false);
    }
  }
  if (previous === "dead" && p.diedHeard && !p.restarted && s.nice && s.commUp) {
    s.healPending = true;
  }
  if (previous === "dead") noteHomeBack(s, node);
  // hb fix 20: a node never heard before (dead by initdead) whose first status is already
  // `active` has been running on its own, maybe with our groups: it will not send
  // `starting`, so the two of us announce what we hold as after a partition (found by the
  // simulator: core/sim/testdata/explore_first_contact.txt)
  if (
    previous === "dead" && !wasHeardBefore && status === "active" && s.nice &&
    s.commUp
  ) {
    s.healPending = true;
  }
  p.diedHeard = false;
}

/**
 * A dead node that may still run groups: fences it when STONITH is configured (true: the
 * takeover waits for the result), else sends the `n_stnth` notice and warns (false).
 */
function fenceOrWarn(s: OwnershipState, node: string, lastHeard: number | undefined): boolean {
  if (s.cfg.stonith) {
    s.fenceLastHeard.set(node, lastHeard);
    s.out.push({ type: "fence", node });
    return true;
  }
  send(s, [["t", "stonith"], ["node", node], ["result", "n_stnth"]]);
  log(s, "WARN", "No STONITH device configured.");
  log(s, "WARN", "Shared disks are not protected.");
  return false;
}

/** hb_rsc_recover_dead_resources. */
function recoverDead(
  s: OwnershipState,
  node: string,
  heard: boolean,
  lastHeard: number | undefined,
): void {
  // hb fix 30 (3+ nodes): the death of a node outside a standby exchange leaves it running
  // (Heartbeat's peer is the only other node); cancelling it made the giver take back, as a
  // dead node's orphan, a group the taker was still starting (found by the simulator:
  // core/sim/testdata/explore_bystander_dies_during_standby.txt)
  if (s.standby !== Standby.NOT) {
    if (!multi(s) || s.standbyPeer === node || s.standbyPeer === "") {
      cancelStandby(s);
    } else s.alsoGiving.delete(node);
  }
  if (s.shutdownInProgress) {
    switch (s.rstate) {
      case RState.SHUTDOWN:
      case RState.STABLE:
        return;
      default:
        giveupResources(s);
        return;
    }
  }
  if (multi(s)) {
    recoverDeadMulti(s, node, heard, lastHeard);
    return;
  }
  s.failbackNeeded = true;
  let needStonith = true;
  if (heard) {
    if (s.nice) {
      if (s.otherHeld === RSC_NONE) needStonith = false;
    } else if (!(s.peers.get(node)?.hasResources ?? true)) {
      needStonith = false;
    }
  }
  if (needStonith) {
    if (fenceOrWarn(s, node, lastHeard)) return;
    takeoverFromNode(s, node, lastHeard, "heartbeat");
    return;
  }
  log(s, "info", `Dead node ${node} gave up resources.`);
  send(s, [["t", "stonith"], ["node", node], ["result", "unneeded"]]);
  if (s.nice) {
    if (s.held === RSC_ALL) {
      s.otherStable = true;
      return;
    }
    // hb fix 19: with two nodes nobody else can be in flux once the peer is dead; without a
    // takeover (its groups already run here) nothing else marked the other side stable and
    // we stayed in transition (found by the simulator:
    // core/sim/testdata/explore_standby_local_peer_dies.txt)
    if (!multi(s) && (s.held & RSC_FOREIGN)) s.otherStable = true;
    if (!(s.held & RSC_LOCAL)) reqOurResources(s, true);
    if (!(s.held & RSC_FOREIGN)) takeoverFromNode(s, node, lastHeard, "heartbeat");
  } else {
    takeoverFromNode(s, node, lastHeard, "heartbeat");
  }
}

/**
 * hb fixes 2 and 8, 3+ nodes: every group the dead node ran (its exact `hb_held` when known,
 * else the groups it prefers) goes to its designated survivor; the class shortcuts of the
 * two-node protocol do not apply (a class covers groups that run elsewhere).
 */
function recoverDeadMulti(
  s: OwnershipState,
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
  if (!deferred && awaitingReports(s)) {
    if (!s.deferredDead.has(node)) {
      s.deferredDead.set(node, { heard, lastHeard });
      s.timers.push({
        at: s.now + 4 * s.cfg.standbyRetryMs,
        child: false,
        fn: () => recoverDeferredDead(s, true),
      });
    }
    return;
  }
  s.deferredDead.delete(node);
  const keys = multiTakeKeys(s, node);
  if (keys.length === 0) {
    const taker = designatedNode(s.cfg.nodes, (n) => alive(s, n), node, new Set([node]));
    log(
      s,
      "info",
      taker === s.me
        ? `Resources of dead node ${node} run on living nodes: nothing to acquire.`
        : `Resources of dead node ${node} are acquired by ${taker ?? "nobody"}, not by us.`,
    );
    goneInFlux(s);
    return;
  }
  s.failbackNeeded = true;
  const p = s.peers.get(node);
  const ranNothing = p?.heldKeys !== undefined
    ? p.heldKeys.size === 0
    : (p?.held ?? RSC_ALL) === RSC_NONE;
  if (!heard || !ranNothing) {
    if (fenceOrWarn(s, node, lastHeard)) return;
  } else {
    log(s, "info", `Dead node ${node} gave up resources.`);
    send(s, [["t", "stonith"], ["node", node], ["result", "unneeded"]]);
  }
  takeoverFromNode(s, node, lastHeard, "heartbeat");
}

/** hb fix 45: the deferred takeovers, once every report is in (or `anyway`). */
export function recoverDeferredDead(s: OwnershipState, anyway: boolean): void {
  if (s.deferredDead.size + s.deferredShutdone.size === 0) return;
  if (!anyway && awaitingReports(s)) return;
  for (const [node, { heard, lastHeard }] of [...s.deferredDead]) {
    s.deferredDead.delete(node);
    if (alive(s, node) || s.shutdownInProgress) continue;
    recoverDeadMulti(s, node, heard, lastHeard, true);
  }
  for (const node of [...s.deferredShutdone]) {
    s.deferredShutdone.delete(node);
    onShutdoneNow(s, node);
  }
}

/**
 * hb fix 8: the groups we take when `node` dies or leaves (3+ nodes): those it ran (or, when
 * it never told us, those it prefers), that we do not run yet and for which we are the
 * designated survivor (the preferred node when alive, else the first living node in ha.cf
 * order). A group it prefers but did not run is taken only when no living node runs it.
 */
function multiTakeKeys(s: OwnershipState, node: string): string[] {
  const ran = s.peers.get(node)?.heldKeys;
  const exclude = new Set([node]);
  const runElsewhere = (key: string) => {
    for (const [n, p] of s.peers) {
      if (n !== node && alive(s, n) && p.heldKeys?.has(key)) return true;
    }
    return false;
  };
  return s.cfg.groups.filter((g) => {
    if (s.claimed.has(g.key) || s.holding.has(g.key)) return false;
    // what we gave in a standby exchange still running is the taker's (hb fix 30)
    if (s.standby !== Standby.NOT && s.givenKeys.has(g.key)) return false;
    // a group of a node dead before that no living node is known to run is taken too: the
    // dead node may have taken it after we last heard its hb_held (found by the simulator:
    // core/sim/testdata/explore_orphan_of_two_deaths.txt)
    const orphan = g.node !== node && g.node !== s.me && !alive(s, g.node) &&
      !runElsewhere(g.key);
    // hb fix 45: a node we never heard (dead since our start) ran nothing we know of; its
    // own groups a living peer reports running stay there (found by the simulator: a node
    // started next to one that ran every group took the never-seen nodes' groups too;
    // core/sim/testdata/explore_start_next_to_holder.txt)
    const candidate = ran === undefined
      ? (g.node === node && !runElsewhere(g.key)) || orphan
      : ran.has(g.key) || (g.node === node && !runElsewhere(g.key)) || orphan;
    return candidate &&
      designatedNode(s.cfg.nodes, (n) => alive(s, n), g.node, exclude) === s.me;
  }).map((g) => g.key);
}

/** The STONITH of `node` ended: on success its groups are taken over, else it is retried. */
export function onFenced(s: OwnershipState, node: string, result: "OK" | "bad" | "badhost"): void {
  if (!s.fenceLastHeard.has(node)) return;
  const lastHeard = s.fenceLastHeard.get(node);
  send(s, [["t", "stonith"], ["node", node], ["result", result]]);
  if (result === "OK") {
    s.fenceLastHeard.delete(node);
    takeoverFromNode(s, node, lastHeard, "heartbeat");
    return;
  }
  log(s, "ERROR", `STONITH of ${node} failed.  Retrying...`);
  s.timers.push({
    at: s.now + s.cfg.stonithRetryMs,
    child: false,
    fn: () => {
      if (s.fenceLastHeard.has(node)) s.out.push({ type: "fence", node });
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
function goneInFlux(s: OwnershipState): void {
  if (s.otherStable || s.standby !== Standby.NOT || s.takeoverInProgress) return;
  s.otherStable = true;
  shutdownIfNeeded(s);
}

/** takeover_from_node + the mach_down notification. */
function takeoverFromNode(
  s: OwnershipState,
  node: string,
  lastHeard: number | undefined,
  via: "heartbeat" | "shutdone",
): void {
  if (s.shutdownInProgress) {
    log(s, "info", "Resource takeover cancelled - shutdown in progress.");
    shutdownIfNeeded(s);
    return;
  }
  let keys = keysOf(s.cfg.groups, node);
  if (multi(s)) {
    // hb fixes 2 and 8: each group a departed node ran goes to one survivor
    keys = multiTakeKeys(s, node);
    if (keys.length === 0) {
      const taker = designatedNode(s.cfg.nodes, (n) => alive(s, n), node, new Set([node]));
      log(
        s,
        "info",
        `Resources of departed node ${node} are acquired by ${taker ?? "nobody"}, not by us.`,
      );
      goneInFlux(s);
      return;
    }
  }
  log(s, "info", `Resources being acquired from ${node}.`);
  const announce: Record<string, LogLine[]> = {};
  for (const k of keys) {
    announce[k] = [{ prio: "info", text: `Taking over resource group ${k}`, tag: "mach_down" }];
  }
  const since = lastHeard ?? (via === "shutdone" ? s.now : undefined);
  const what = via === "shutdone" ? "its shutdown notice" : "its last heartbeat";
  const env = { ...baseEnv(s), HA_t: "status", HA_st: "dead", HA_src: node, HA_seq: "1" };
  run(s, "take", keys, "mach_down", env, () => {
    if (s.nice) {
      log(
        s,
        "info",
        "/usr/share/heartbeat/mach_down: nice_failback: foreign resources acquired",
        "mach_down",
      );
    }
    log(s, "info", `mach_down takeover complete for node ${node}.`, "mach_down");
    if (s.nice) {
      send(s, withClaimed(s, [["t", "resource"], ["rsc_hold", "foreign"], ["info", "mach_down"]]));
    } else if (deadCount(s) > 0) {
      s.foreignWorkDone = true;
      announceAcquisition(s, "status");
    }
  }, {
    before: [{
      prio: "info",
      text: `Running ${s.cfg.haDir}/rc.d/status status`,
      tag: "harc",
    }],
    announce,
    onKey: (key, result) => {
      if (result === "started" && since !== undefined) {
        log(
          s,
          "info",
          `Takeover of group ${key} from ${node} complete: ${
            Math.round(s.now - since)
          } ms since ${what}`,
        );
      }
    },
  });
  if (s.nice) {
    s.held |= RSC_FOREIGN;
    s.otherHeld = RSC_NONE;
    s.otherStable = true;
    s.takeoverInProgress = true;
  }
  reqOurResources(s, true);
  const p = s.peers.get(node);
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

/** HBDoMsg_T_SHUTDONE. */
export function onShutdone(s: OwnershipState, from: string): void {
  const fromMe = from === s.me;
  // hb fix 45: heard before our Comm_now_up, it is handled right after it, before the living
  // peers' reports say what they run: it waits for them as a death does (found by the
  // simulator: explore_shutdone_at_start.txt)
  if (!fromMe && multi(s) && s.commUp && awaitingReports(s)) {
    if (!s.deferredShutdone.has(from)) {
      s.deferredShutdone.add(from);
      s.timers.push({
        at: s.now + 4 * s.cfg.standbyRetryMs,
        child: false,
        fn: () => recoverDeferredDead(s, true),
      });
    }
    return;
  }
  onShutdoneNow(s, from);
}

/** {@link onShutdone} once nothing defers it. */
function onShutdoneNow(s: OwnershipState, from: string): void {
  const fromMe = from === s.me;
  if (s.commUp && s.nice) {
    if (!fromMe) {
      s.otherStable = true;
      s.otherHeld = RSC_NONE;
      if (s.held !== RSC_ALL && !s.shutdownInProgress) {
        const rtype = s.held === RSC_FOREIGN
          ? RSC_LOCAL
          : s.held === RSC_LOCAL
          ? RSC_FOREIGN
          : RSC_ALL;
        s.standby = Standby.DONE;
        s.standbyClass = rtype;
        s.standbyPeer = from;
        goStandby(s, Standby.OTHER, rtype, from);
      }
    } else {
      s.rstate = RState.SHUTDOWN;
      s.held = RSC_NONE;
    }
  }
  if (fromMe) {
    s.out.push({ type: "shutdown-complete", restart: s.restartAfterShutdown });
    return;
  }
  const p = s.peers.get(from);
  if (p !== undefined) {
    p.hasResources = false;
    p.held = RSC_NONE;
    p.unstable = false;
    // its groups are released: what it ran is still needed to place them (fix 8)
  }
  s.otherStable = false;
  s.otherHeld = RSC_NONE;
  log(s, "info", `Received shutdown notice from '${from}'.`);
  takeoverFromNode(s, from, undefined, "shutdone");
}
