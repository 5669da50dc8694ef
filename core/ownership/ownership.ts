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
 * Layout: the state lives in `state.ts` ({@link OwnershipState}); the class here dispatches
 * each event to the protocol modules, which are plain functions of that state: `context.ts`
 * (output, bookkeeping, shutdown), `legacy.ts` (req_resource, ip-request, hb_takeover),
 * `standby_exchange.ts` (`ask_resources`, auto failback), `duplicates.ts` (hb fix 3),
 * `takeover.ts` (comm-up, peer status, dead nodes, `shutdone`, orphans) and `reports.ts`
 * (`starting`/`resource`). Each imports only modules listed before it.
 *
 * @module
 */

import type { CoreMessage } from "../message.ts";
import { className, keysOfClass } from "./rules.ts";
import {
  type GroupOutcome,
  type OwnershipAction,
  type OwnershipConfig,
  type OwnershipEvent,
  type OwnershipLike,
  RSC_NONE,
  type RscStatus,
  RState,
  Standby,
} from "./types.ts";
import { OwnershipState } from "./state.ts";
import {
  alive,
  baseEnv,
  childCount,
  endExchange,
  isStable,
  log,
  multi,
  noteHomeBack,
  olderThanReport,
  onShutdownRequest,
  peerRuns,
  quiet,
  run,
  send,
  sendHeld,
  shutdownIfNeeded,
} from "./context.ts";
import { onHbTakeover, onIpRequest, onIpRequestResp, reqOurResources } from "./legacy.ts";
import {
  askForResources,
  cancelStandby,
  performAutoFailback,
  standbyExpired,
  standbyRetry,
} from "./standby_exchange.ts";
import { audit, repeatHealAnnouncement, resolveDuplicates } from "./duplicates.ts";
import { onCommUp, onFenced, onNodeStatus, onShutdone, sweepOrphans } from "./takeover.ts";
import { processResources } from "./reports.ts";

export {
  AUTO_FAILBACK_RETRY_MS,
  STANDBY_INIT_TIMEOUT_MS,
  STANDBY_RESOURCE_TIMEOUT_MS,
} from "./state.ts";

/** The ownership state machine of one node. */
export class Ownership implements OwnershipLike {
  /** Its state, shared with the protocol modules of this folder. */
  readonly #s: OwnershipState;

  /** Creates the machine for `config`. */
  constructor(config: OwnershipConfig) {
    const s: OwnershipState = new OwnershipState(config, (from, msg) => onMessage(s, from, msg));
    this.#s = s;
  }

  /** The held set as Heartbeat names it (`none`/`local`/`foreign`/`all`). */
  get held(): string {
    return className(this.#s.held);
  }

  /** Resource state number (INIT 0 … SHUTDOWN 5). */
  get resourceState(): RState {
    return this.#s.rstate;
  }

  /** Standby state number (NOT 0 … DONE 3). */
  get standbyState(): Standby {
    return this.#s.standby;
  }

  /** Group keys this node runs per its bookkeeping (started and not released). */
  get holding(): string[] {
    return this.#s.cfg.groups.map((g) => g.key).filter((k) => this.#s.holding.has(k));
  }

  /**
   * Groups peer `node` last reported running (its exact `hb_held` list, else the groups of its
   * `rsc_hold` class); undefined before its first report. Read by `heartbeat status`.
   */
  peerHolding(node: string): string[] | undefined {
    const p = this.#s.peers.get(node);
    if (p === undefined) return undefined;
    if (p.heldKeys !== undefined) {
      return this.#s.cfg.groups.map((g) => g.key).filter((k) => p.heldKeys!.has(k));
    }
    return p.held === undefined ? undefined : keysOfClass(this.#s.cfg.groups, node, p.held);
  }

  /** `cl_status rscstatus` (behavior.md §6.2). */
  rscstatus(): RscStatus {
    if (!this.#s.nice) return childCount(this.#s) > 0 ? "transition" : "none";
    return isStable(this.#s) ? className(this.#s.held) as RscStatus : "transition";
  }

  /** When the next tick is wanted. */
  nextDeadline(): number {
    let t = Infinity;
    for (const x of this.#s.timers) t = Math.min(t, x.at);
    if (this.#s.nice && this.#s.rstate === RState.RSCRCVD && this.#s.localTakeoverAt > 0) {
      t = Math.min(t, this.#s.localTakeoverAt);
    }
    if (this.#s.standbyDeadline > 0) t = Math.min(t, this.#s.standbyDeadline);
    return Math.min(t, this.#s.failbackRetryAt, this.#s.retryAt, this.#s.otherTimeoutAt);
  }

  /** Feeds one event; returns the actions in order. */
  handle(ev: OwnershipEvent): OwnershipAction[] {
    this.#s.out = [];
    this.#s.serial++;
    this.#s.now = Math.max(this.#s.now, ev.now);
    switch (ev.type) {
      case "comm-up":
        onCommUp(this.#s, ev.restarting ?? this.#s.restarting);
        break;
      case "node-status":
        onNodeStatus(this.#s, ev.node, ev.status, ev.previous, ev.lastHeard, ev.heard);
        break;
      case "node-restart": {
        const p = this.#s.peers.get(ev.node);
        if (p !== undefined) {
          // (whatever it last reported: a restart during its shutdown had reported none while
          // it still held them, explore_restart_during_shutdown.txt)
          if (p.status !== "dead" && this.#s.nice) p.recheckOurs = true;
          // with 3+ nodes, the groups of others it ran are gone too (hb fix 25)
          p.lostKeys = multi(this.#s) && p.status !== "dead"
            ? [...(p.heldKeys ?? [])].filter((k) =>
              this.#s.cfg.groups.find((g) => g.key === k)?.node !== ev.node
            )
            : undefined;
          p.renegotiate = this.#s.rstate === RState.BOTHSTARTING;
          // hb fix 16 (legacy): our ip-requests to it died with it; ask again once it is up
          p.legacyRecheck = !this.#s.nice && this.#s.commUp;
          // hb fix 10: the peer of a standby exchange restarted: it will never answer (found by
          // the simulator: core/sim/testdata/explore_standby_peer_restart.txt)
          // groups given up for it ran nowhere then: they are checked like in hb fix 9
          if (this.#s.standby !== Standby.NOT && this.#s.standbyPeer === ev.node) {
            p.recheckOurs = true;
            cancelStandby(this.#s);
          }
          // hb fix 40: a peer that restarted may have run our groups (both sides took them over
          // in a split brain, and a real Heartbeat restarts itself after the heal): its stop
          // took their addresses down and clients still send to its hardware address. We
          // announce what we run again (gratuitous ARPs; found by the chaos campaign, mixed
          // topology, seed 2026 #1: the service unreachable 23 s after the heal)
          if (this.#s.nice && this.#s.holding.size > 0 && !this.#s.shutdownInProgress) {
            const keys = this.#s.cfg.groups.map((g) => g.key).filter((k) => this.#s.holding.has(k));
            run(this.#s, "announce", keys, "resolve", baseEnv(this.#s), () => {});
            // hb fix 44: and the restarted peer hears what we run (its `starting`, which a
            // report of ours answers, can be lost: a one-way cut while it restarted left both
            // running our group for good, found by the simulator:
            // explore_restart_behind_one_way_cut.txt)
            if (this.#s.commUp && this.#s.rstate === RState.STABLE && !multi(this.#s)) {
              sendHeld(this.#s, true);
            }
          }
          // hb fix 51 (3+ nodes): and, running something or not, we ask every node for its
          // report (`hb_ask`): a restart seen only after a heal (its `starting` never reached
          // us) left us without the restarted node's report, and the orphan sweep waited for
          // it for good while a group we had given up in a cancelled exchange ran nowhere
          // (found by the simulator: explore_restart_seen_at_heal.txt)
          if (
            multi(this.#s) && this.#s.nice && this.#s.commUp && this.#s.rstate === RState.STABLE &&
            !this.#s.shutdownInProgress
          ) {
            sendHeld(this.#s, true, undefined, true);
          }
          noteHomeBack(this.#s, ev.node);
          // (a shutdown notice of its earlier life still waiting here is dropped: it released
          // everything at its stop and asks for its own groups itself:
          // explore_shutdone_deferred_past_restart.txt)
          this.#s.deferredShutdone.delete(ev.node);
          p.restarted = true;
          p.heldAtDeath = undefined;
          p.hasResources = true;
          p.held = undefined;
          p.heldKeys = undefined;
        }
        break;
      }
      case "partition-healed":
        if (this.#s.peers.has(ev.node)) this.#s.healPending = true;
        // hb fix 31 (3+ nodes): its reports from across the partition were heard while it was
        // dead to us, so none started the duplicate resolution, and a keeper re-announces
        // without a new report: its last report is checked now (found by the simulator:
        // core/sim/testdata/explore_heal_after_lossy_four.txt)
        if (multi(this.#s) && this.#s.peers.get(ev.node)?.held !== undefined) {
          this.#s.dupCheckFrom.add(ev.node);
        }
        // hb fix 33 (two nodes, a real Heartbeat peer): a peer back from a partition or a freeze
        // without a restart still runs what it ran when we took over from it, unless it
        // reported since. An hb peer announces what it runs after the heal; a real Heartbeat
        // 3.0.6 never does (it only logs "Both machines own our resources!"), so its groups ran
        // twice for good (found by the chaos campaign, mixed topology: the real holder's master
        // frozen past deadtime, then thawed). The duplicate resolution runs on what it ran;
        // where we keep a group, our announcements go on until the peer yields or we do
        // (yieldDuplicates). Not for hb peers: their reports after a heal are the truth, and
        // what they ran before can be stale (a release we did not hear).
        if (!multi(this.#s) && this.#s.isHeartbeatPeer(ev.node)) {
          const p = this.#s.peers.get(ev.node);
          if (p?.heldAtDeath !== undefined && (p.held ?? RSC_NONE) === RSC_NONE) {
            p.held = p.heldAtDeath;
            // (and the audit's view of the other side: else it found nobody running our
            // groups once we yielded and took them back at once)
            this.#s.otherHeld = p.heldAtDeath;
            this.#s.dupCheckFrom.add(ev.node);
          }
          if (p !== undefined) p.heldAtDeath = undefined;
        }
        break;
      case "message":
        onMessage(this.#s, ev.from, ev.msg);
        break;
      case "tick":
        break;
      case "shutdown-request":
        onShutdownRequest(this.#s, ev.restart ?? false);
        break;
      case "group-result":
        onGroupResult(this.#s, ev.id, ev.key, ev.result, ev.standby);
        break;
      case "fenced":
        onFenced(this.#s, ev.node, ev.result);
        break;
    }
    runDue(this.#s);
    afterEvent(this.#s);
    return this.#s.out;
  }
}

function runDue(s: OwnershipState): void {
  for (let guard = 0; guard < 1000; guard++) {
    const i = s.timers.findIndex((t) => t.at <= s.now && t.serial !== s.serial);
    if (i < 0) break;
    const [t] = s.timers.splice(i, 1);
    t.fn();
    shutdownIfNeeded(s);
  }
  if (
    s.nice && s.rstate === RState.RSCRCVD && s.localTakeoverAt > 0 &&
    s.now >= s.localTakeoverAt
  ) {
    s.rstate = RState.STABLE;
    reqOurResources(s, false);
    log(s, "info", "local resource transition completed.");
    sendHeld(s, true);
    audit(s);
  }
  if (s.standbyDeadline > 0 && s.now >= s.standbyDeadline) standbyExpired(s);
  if (s.now >= s.failbackRetryAt) {
    s.failbackRetryAt = Infinity;
    performAutoFailback(s);
  }
  if (s.now >= s.retryAt) standbyRetry(s);
  if (s.now >= s.otherTimeoutAt) {
    s.otherTimeoutAt = Infinity;
    if (s.standby === Standby.OTHER && !s.peerReleaseSeen) {
      log(
        s,
        "WARN",
        `Standby request from ${s.standbyPeer} was not carried out.  Standby request cancelled.`,
      );
      // the requester released nothing: it is as stable as before its request (a stable
      // node sends no new report, so we stayed in transition for good: found by the
      // simulator, core/sim/testdata/explore_standby_not_carried_out.txt)
      s.otherStable = true;
      endExchange(s);
    }
  }
}

function afterEvent(s: OwnershipState): void {
  shutdownIfNeeded(s);
  if (!s.nice || !s.commUp) return;
  if (s.healPending && quiet(s)) {
    s.healPending = false;
    log(s, "info", "Announcing held resources after partition.");
    s.dupAnnounced = true;
    sendHeld(s, true);
    s.healAnnouncedAt = s.now;
    repeatHealAnnouncement(s, 5);
  }
  if (s.dupCheckFrom.size > 0 && quiet(s)) {
    for (const from of [...s.dupCheckFrom]) {
      if (!quiet(s)) break; // the rest once this resolution's release is done
      // a healed peer is checked once it is alive again (the heal comes before its status)
      if (!alive(s, from)) continue;
      s.dupCheckFrom.delete(from);
      resolveDuplicates(s, from);
    }
  }
  sweepOrphans(s);
}

function onMessage(s: OwnershipState, from: string, msg: CoreMessage): void {
  const fromMe = from === s.me;
  const peer = s.peers.get(from);
  if (!fromMe && peer === undefined) return;
  if (peer !== undefined) peer.heard = true;
  if (s.standbyDeadline > 0 && s.now >= s.standbyDeadline) standbyExpired(s);
  const t = msg.type;
  if (!s.commUp && t !== "shutdone") return;
  switch (t) {
    case "starting":
    case "resource":
      processResources(s, t, from, msg);
      break;
    case "ask_resources":
      askForResources(s, from, msg);
      break;
    case "hb_takeover":
      onHbTakeover(s, from, msg);
      break;
    case "ip-request":
      if (!fromMe) onIpRequest(s, from, msg);
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
        !fromMe && msg.get("node") === s.me && s.standby !== Standby.NOT &&
        from === s.standbyPeer && !olderThanReport(s, from, msg) && !s.acquiring
      ) {
        log(s, "WARN", `${from} declared us dead: standby exchange cancelled.`);
        cancelStandby(s);
        endExchange(s);
      }
      break;
    case "ip-request-resp":
      if (!s.shutdownInProgress) onIpRequestResp(s, msg);
      break;
    case "shutdone":
      onShutdone(s, from);
      break;
    case "hb-failhold":
      // hb: the peer's operator cleared its service failures: failback may go ahead
      if (!fromMe && from === s.failbackHoldFrom && msg.get("hold") === "0") {
        s.failbackHoldUntil = -Infinity;
        if (s.failbackNeeded) s.failbackRetryAt = s.now;
      }
      break;
    default:
      break;
  }
}

function onGroupResult(
  s: OwnershipState,
  id: number,
  key: string,
  result: GroupOutcome,
  standby: "local" | "foreign" | undefined,
): void {
  const run = s.runs.get(id);
  if (run === undefined || !run.pending.delete(key)) return;
  if (run.op === "give") s.releasing.delete(key);
  // an announcement changes nothing we run (a release of the group may have overlapped it)
  switch (run.op === "announce" ? "announced" : result) {
    case "announced":
      break;
    case "started": {
      s.holding.add(key);
      // (claimed again: a failed start of the same group in another run had dropped the
      // claim, and our reports then hid a group we run: explore_failed_then_started.txt)
      s.claimed.add(key);
      // hb fix: a peer that announced this group while we were still starting it (it thawed
      // during our takeover, found by the chaos campaign, seed 2026) is checked now, not at
      // its next report: the duplicate is resolved as soon as we are quiet.
      // Two nodes only: with 3+ a peer's last report may predate the standby exchanges it
      // is part of, and the keeper's periodic re-announcement resolves a duplicate there.
      const g = s.cfg.groups.find((x) => x.key === key);
      for (const [name, p] of multi(s) ? [] : s.peers) {
        if (g === undefined || p.held === undefined || !alive(s, name)) continue;
        if (peerRuns(s, name, p.held, g)) s.dupCheckFrom.add(name);
      }
      break;
    }
    case "released":
      s.holding.delete(key);
      break;
    case "start-failed": {
      s.failedHere.add(key);
      s.holding.delete(key);
      s.claimed.delete(key);
      // Heartbeat's ResourceManager always asks `hb_standby foreign` (its class test never
      // matches, resources/spec.ts standbyGroupType): when the failed group is this node's
      // own, that asks for nothing and the group stays unowned while the peer could run it
      // (found by the chaos campaign: seed 2026, script-fail on the home node). hb asks
      // `local` when the failed group is the only group of that class here — what
      // ResourceManager meant to do — so nothing else moves with it; with more local groups
      // it keeps Heartbeat's `foreign`, as a standby would move the healthy ones too.
      const home = s.cfg.groups.find((g) => g.key === key)?.node;
      const onlyLocal = home === s.me &&
        s.cfg.groups.filter((g) => g.node === s.me).length === 1;
      const cls = onlyLocal ? "local" : standby ?? "foreign";
      s.timers.push({
        at: s.now + s.cfg.failedStartStandbyMs,
        child: false,
        fn: () => {
          log(s, "info", `Going standby [${cls}].`, "hb_standby");
          send(s, [["t", "ask_resources"], ["rsc_hold", cls], ["info", "me"]]);
        },
      });
      break;
    }
    case "stop-failed":
      s.claimed.add(key);
      s.out.push({ type: "stop-failure", key });
      break;
  }
  run.onKey?.(key, result);
  if (run.pending.size === 0) {
    s.runs.delete(id);
    run.onDone();
    shutdownIfNeeded(s);
  }
}
