/**
 * Groups running on two nodes at once (hb fix 3): the two-node audit, the announcement of
 * what we run after a healed partition, the resolution of duplicates (keeper and releaser),
 * the keeper's re-announcements and the yield to a peer that never resolves them.
 *
 * @module
 */

import { keysOf, pairKeeper } from "./rules.ts";
import { RSC_FOREIGN, RSC_LOCAL, RSC_NONE, RState } from "./types.ts";
import { type OwnershipState, REANNOUNCE_GAP_MS } from "./state.ts";
import {
  alive,
  baseEnv,
  classesOf,
  heldFromHolding,
  isStable,
  log,
  multi,
  peerRuns,
  quiet,
  run,
  sendHeld,
  yieldAfter,
} from "./context.ts";
import { reqOurResources } from "./legacy.ts";

/** Heartbeat's resource audit (two nodes): logs duplicates and groups nobody owns (hb fix 18 acquires ours). */
export function audit(s: OwnershipState): void {
  if (!s.nice || multi(s)) return;
  if ((s.held & RSC_LOCAL) && (s.otherHeld & RSC_FOREIGN)) {
    log(s, "ERROR", "Both machines own our resources!");
  }
  if ((s.otherHeld & RSC_LOCAL) && (s.held & RSC_FOREIGN)) {
    log(s, "ERROR", "Both machines own foreign resources!");
  }
  if (isStable(s) && !s.shutdownInProgress && s.rstate !== RState.SHUTDOWN) {
    if (!(s.held & RSC_LOCAL) && !(s.otherHeld & RSC_FOREIGN)) {
      log(s, "ERROR", "No one owns our local resources!");
      adoptOurs(s);
    }
    if (!(s.otherHeld & RSC_LOCAL) && !(s.held & RSC_FOREIGN)) {
      log(s, "ERROR", "No one owns foreign resources!");
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
function adoptOurs(s: OwnershipState): void {
  if (!quiet(s) || !s.otherStable || s.failedHere.size > 0) return;
  if (keysOf(s.cfg.groups, s.me).every((k) => s.holding.has(k))) return;
  log(s, "info", "Acquiring our local resources: no one runs them.");
  reqOurResources(s, true);
}

/** hb fix 3: remember a stable peer report that overlaps our groups. */
export function noteDuplicates(s: OwnershipState, from: string, peerCls: number): void {
  // only a living peer's report counts: a dead one's groups are ours to run
  if (!alive(s, from)) return;
  const overlap = s.cfg.groups.some((g) => s.holding.has(g.key) && peerRuns(s, from, peerCls, g));
  if (!overlap) {
    s.dupAnnounced = false;
    return;
  }
  s.dupCheckFrom.add(from);
}

/**
 * hb fix 3: keep each group that both we and `from` run on one of us only. What we run is
 * our own bookkeeping (not the class bits, which in a 3+ node cluster cover groups we never
 * started); the keeper is chosen by {@link pairKeeper}.
 */
export function resolveDuplicates(s: OwnershipState, from: string): void {
  if (!alive(s, from)) return;
  const peerCls = s.peers.get(from)?.held ?? RSC_NONE;
  const dups = s.cfg.groups.filter((g) => s.holding.has(g.key) && peerRuns(s, from, peerCls, g));
  if (dups.length === 0) return;
  log(s, "CRIT", `Resource groups held by both ${s.me} and ${from}: resolving to one owner.`);
  // announced now (or at the end of the gap since the last one), then again every gap while
  // the peer still reports a group we keep: an announcement sent while the peer could not
  // hear us (a one-way cut, heavy loss) is not retransmitted to a peer that declared us
  // dead, and the peer releases only once it knows what we run (found by the simulator:
  // core/sim/testdata/explore_one_way_cut.txt, explore_one_way_cut_short.txt,
  // explore_lossy_heal.txt)
  if (!s.dupAnnounced || s.now >= s.dupAnnouncedAt + REANNOUNCE_GAP_MS) {
    s.dupAnnounced = true;
    s.dupAnnouncedAt = s.now;
    sendHeld(s, true);
  }
  if (dups.some((g) => pairKeeper(s.cfg.nodes, g.node, s.me, from) === s.me)) {
    scheduleReannounce(s, from);
  }
  const release: string[] = [];
  const keep: string[] = [];
  for (const g of dups) {
    const keeper = pairKeeper(s.cfg.nodes, g.node, s.me, from);
    if (keeper === s.me) {
      log(s, "info", `Keeping resource group ${g.key} (owner ${keeper}).`);
      if (s.now - (s.reannouncedAt.get(g.key) ?? -Infinity) >= REANNOUNCE_GAP_MS) {
        keep.push(g.key);
        s.reannouncedAt.set(g.key, s.now);
      }
    } else {
      log(s, "WARN", `Releasing resource group ${g.key}: it belongs on ${keeper}.`);
      release.push(g.key);
    }
  }
  // the other side releases without a restart, so no start announces the service addresses
  // again: the keeper does (gratuitous ARPs), or clients keep the releaser's hardware address
  // (the release first: a duplicate stops as early as possible, and the announcement
  // queued behind slow releases left groups running twice past the settle margin, found by
  // the simulator: core/sim/testdata/explore_resolve_release_first.txt)
  if (release.length > 0) giveDuplicates(s, release);
  if (keep.length > 0) run(s, "announce", keep, "resolve", baseEnv(s), () => {});
}

/**
 * Releases duplicated groups, then recomputes and announces what we hold; `yielded`: the peer
 * keeps them and will not announce their addresses itself (see {@link yieldDuplicates}).
 */
function giveDuplicates(s: OwnershipState, keys: string[], yielded = false): void {
  run(s, "give", keys, "resolve", baseEnv(s), () => {
    // groups of a class never started here keep the class bit they had
    s.held = heldFromHolding(s) | (s.held & ~classesOf(s, keys));
    s.dupAnnounced = false;
    sendHeld(s, true);
  }, yielded ? { announceHolder: true } : {});
}

/**
 * hb fix 21: right after a heal each side declares the other dead once more and restarts
 * its sequence tracking, so an announcement lost then is never retransmitted (heavy loss
 * while healing: both sides' announcements were lost and every group ran twice for good;
 * found by the simulator, core/sim/testdata/explore_lossy_heal_both.txt). It is repeated
 * every gap until a peer's stable report comes, at most `left` times.
 */
export function repeatHealAnnouncement(s: OwnershipState, left: number): void {
  if (left <= 0) return;
  s.timers.push({
    at: s.now + REANNOUNCE_GAP_MS,
    child: false,
    fn: () => {
      if (s.lastPeerReportAt >= s.healAnnouncedAt || !quiet(s)) return;
      sendHeld(s, true);
      repeatHealAnnouncement(s, left - 1);
    },
  });
}

/** Re-announces what we hold one gap later if `from` still reports a group we keep. */
function scheduleReannounce(s: OwnershipState, from: string): void {
  if (s.dupAnnouncePending) return;
  s.dupAnnouncePending = true;
  s.timers.push({
    at: Math.max(s.now, s.dupAnnouncedAt + REANNOUNCE_GAP_MS),
    child: false,
    fn: () => {
      s.dupAnnouncePending = false;
      if (s.shutdownInProgress || s.rstate !== RState.STABLE || !alive(s, from)) {
        return;
      }
      const peerCls = s.peers.get(from)?.held ?? RSC_NONE;
      const stillBoth = s.cfg.groups.some((g) =>
        s.holding.has(g.key) && peerRuns(s, from, peerCls, g) &&
        pairKeeper(s.cfg.nodes, g.node, s.me, from) === s.me
      );
      if (!stillBoth) {
        s.reannounceCount = 0;
        return;
      }
      s.dupAnnouncedAt = s.now;
      sendHeld(s, true);
      if (++s.reannounceCount >= yieldAfter(s, from) && !multi(s)) {
        yieldDuplicates(s, from);
        return;
      }
      scheduleReannounce(s, from);
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
function yieldDuplicates(s: OwnershipState, from: string): void {
  s.reannounceCount = 0;
  const peerCls = s.peers.get(from)?.held ?? RSC_NONE;
  const keys = s.cfg.groups.filter((g) => s.holding.has(g.key) && peerRuns(s, from, peerCls, g))
    .map((g) => g.key);
  if (keys.length === 0) return;
  for (const k of keys) {
    log(
      s,
      "WARN",
      `${from} still runs resource group ${k} after ${
        yieldAfter(s, from)
      } announcement(s): releasing it here.`,
    );
  }
  giveDuplicates(s, keys, true);
}
