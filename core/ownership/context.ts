/**
 * The shared helpers of the ownership protocol modules: output (log lines, messages sent
 * through the loopback, resource runs), bookkeeping questions (who is alive, are we stable or
 * quiet, which classes a set of groups makes, whose reports are stale), the end of a standby
 * exchange, and the shutdown (hb_giveup_resources). Imports only state.ts and the pure rules.
 *
 * @module
 */

import { CoreMessage } from "../message.ts";
import { className, keysOf, peerClassCovers } from "./rules.ts";
import {
  type LogLine,
  type LogTag,
  type OwnedGroup,
  type OwnershipAction,
  type OwnershipPriority,
  RSC_FOREIGN,
  RSC_LOCAL,
  RSC_NONE,
  RState,
  type RunReason,
  Standby,
} from "./types.ts";
import {
  olderThan,
  type OwnershipState,
  type PeerInfo,
  type Run,
  YIELD_AFTER_REANNOUNCES,
} from "./state.ts";

/** Emits a log line (tag `heartbeat` unless told). */
export function log(
  s: OwnershipState,
  prio: OwnershipPriority,
  text: string,
  tag: LogTag = "heartbeat",
): void {
  s.out.push({ type: "log", line: { prio, text, tag } });
}

/** send_cluster_msg: process locally first (nested), then emit. */
export function send(s: OwnershipState, fields: [string, string][]): void {
  const msg = new CoreMessage(fields);
  s.deliver(s.me, msg);
  s.out.push({ type: "send", msg });
}

/** Emits without local processing (hb's retries of a message already processed). */
export function sendRaw(s: OwnershipState, fields: [string, string][]): void {
  s.out.push({ type: "send", msg: new CoreMessage(fields) });
}

/** Sends our `resource` report (`rsc_hold`, `isstable`, with 3+ nodes `hb_held`; `hb_ask` asks every node for its own); nothing in legacy mode. */
export function sendHeld(s: OwnershipState, stable: boolean, comment?: string, ask = false): void {
  if (!s.nice) return;
  const f: [string, string][] = [
    ["t", "resource"],
    ["rsc_hold", className(s.held)],
    ["rtype", "full"],
    ["isstable", stable ? "1" : "0"],
  ];
  if (comment !== undefined) f.push(["info", comment]);
  const withHeld = withClaimed(s, f);
  if (ask) withHeld.push(["hb_ask", "1"]);
  send(s, withHeld);
}

/** hb fix 8: adds `hb_held` to a `resource` message in a 3+ node cluster. */
export function withClaimed(s: OwnershipState, f: [string, string][]): [string, string][] {
  if (!multi(s)) return f;
  // hb fix 49: a group still stopping here is still ours: a node that started meanwhile
  // read our report without it and started it before our stop ended (found by the
  // simulator with the handover check: explore_named_taker_slow.txt)
  const keys = s.cfg.groups.map((g) => g.key).filter((k) => s.claimed.has(k) || s.releasing.has(k));
  return [...f, ["hb_held", keys.join(" ")]];
}

/** The fields of an `ask_resources` message for our standby class with `info`. */
export function standbyFields(s: OwnershipState, info: string): [string, string][] {
  return [["t", "ask_resources"], ["rsc_hold", className(s.standbyClass)], ["info", info]];
}

/** Sends (and first processes) an `ask_resources` message for our standby class. */
export function sendStandby(s: OwnershipState, info: "me" | "other" | "done"): void {
  send(s, standbyFields(s, info));
}

/** Starts a resource run (`take`, `give` or `announce` of `keys`) and updates the groups we claim; `onDone` runs once every group has its result. */
export function run(
  s: OwnershipState,
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
  const id = s.nextRunId++;
  for (const k of keys) {
    if (op === "take") {
      s.claimed.add(k);
      s.releasing.delete(k);
    } else if (op === "give") {
      s.claimed.delete(k);
      if (s.holding.has(k)) s.releasing.add(k);
    }
  }
  if (keys.length === 0) {
    // a child with nothing to do: its effects come at the next step
    for (const l of extra.before ?? []) log(s, l.prio, l.text, l.tag);
    s.timers.push({ at: s.now, fn: onDone, child: true, serial: s.serial });
    return;
  }
  s.runs.set(id, { reason, op, pending: new Set(keys), onKey: extra.onKey, onDone });
  const action: OwnershipAction = { type: "run", id, op, keys: [...keys], reason, env };
  if (extra.before !== undefined) action.before = extra.before;
  if (extra.announce !== undefined) action.announce = extra.announce;
  if (extra.announceHolder === true) action.announceHolder = true;
  s.out.push(action);
}

/** A log line of a resource child (tag `heartbeat-child`). */
export function childLine(text: string): LogLine {
  return { prio: "info", text, tag: "heartbeat-child" };
}

/** The environment of every resource script (`HA_NICEFAILBACK` when auto failback is off). */
export function baseEnv(s: OwnershipState): Record<string, string> {
  return s.nice ? { HA_NICEFAILBACK: "yes" } : {};
}

/** Heartbeat's ResourceMgmt_child_count: resource runs (announcements excluded) and child timers. */
export function childCount(s: OwnershipState): number {
  // announcements (gratuitous ARPs for what already runs) are no resource transition
  let runs = 0;
  for (const r of s.runs.values()) if (r.op !== "announce") runs++;
  return runs + s.timers.filter((t) => t.child).length;
}

/** Whether node `n` is alive for ownership decisions (ourselves included). */
export function alive(s: OwnershipState, n: string): boolean {
  if (n === s.me) return true;
  const p = s.peers.get(n);
  if (p === undefined) return false;
  // hb fix 50: a peer whose messages (its report) came before its first status is alive
  // too: without it a node starting next to it took its groups as orphans, and named
  // itself their designated node (found by the simulator: explore_stop_during_initdead.txt)
  return p.status === "up" || p.status === "active" ||
    (p.status === "unknown" && p.heard && s.commUp && multi(s));
}

/** How many peers are dead. */
export function deadCount(s: OwnershipState): number {
  let c = 0;
  for (const p of s.peers.values()) if (p.status === "dead") c++;
  return c;
}

/** Whether the cluster has 3+ nodes (the N-node protocol of fixes 2 and 8). */
export function multi(s: OwnershipState): boolean {
  return s.cfg.nodes.length > 2;
}

/** hb_rsc_isstable. */
export function isStable(s: OwnershipState): boolean {
  if (!s.nice) return childCount(s) === 0;
  if (s.shutdownInProgress && s.rstate === RState.INIT) return true;
  return s.otherStable && !s.takeoverInProgress && s.standby === Standby.NOT &&
    s.standbyDeadline === 0 && childCount(s) === 0 &&
    (s.rstate === RState.STABLE || s.rstate === RState.SHUTDOWN ||
      s.rstate === RState.INIT);
}

/** Logs "Initial resource acquisition complete" once local and foreign work are both done. */
export function announceAcquisition(s: OwnershipState, reason: string): void {
  if (s.announced || !s.localWorkDone || !s.foreignWorkDone) return;
  log(s, "info", `Initial resource acquisition complete (${reason})`);
  s.announced = true;
}

/** Whether nothing moves here: stable, no standby exchange, no child, no shutdown, no takeover. */
export function quiet(s: OwnershipState): boolean {
  return s.rstate === RState.STABLE && s.standby === Standby.NOT &&
    childCount(s) === 0 && !s.shutdownInProgress && !s.needsShutdown &&
    !s.takeoverInProgress;
}

/**
 * hb fix 45: whether an hb peer not dead has not yet said which groups it runs (its status
 * may not have come yet either: see {@link allPeersReported}).
 */
export function awaitingReports(s: OwnershipState): boolean {
  for (const [n, p] of s.peers) {
    if (n === s.me || s.isHeartbeatPeer(n) || s.deferredShutdone.has(n)) continue;
    // (a peer still in its own initdead, `init` or `up`, runs nothing and reports only
    // when it is through: explore_shutdone_deferred_past_restart.txt; one whose shutdown
    // notice waits here has stopped: explore_shutdone_of_stopped_peer.txt)
    if (p.status !== "active" && p.status !== "unknown") continue;
    if (p.heldKeys === undefined) return true;
  }
  return false;
}

/** Forgets a pending STONITH of `node`. */
export function cancelFence(s: OwnershipState, node: string, _alive: boolean): void {
  s.fenceLastHeard.delete(node);
}

/**
 * hb fix 2 (3+ nodes): whether a living peer runs one of our local groups. A peer's
 * `foreign` class covers every group but its own, so the class bit alone made a node that
 * started with a peer holding the groups of dead third nodes believe its own groups ran
 * there (found by the simulator: core/sim/testdata/explore_multi_start_orphan.txt). The
 * exact `hb_held` lists decide; a peer that sent none is judged by its class as before.
 */
export function peersHoldOurs(s: OwnershipState): boolean {
  const ours = keysOf(s.cfg.groups, s.me);
  for (const p of s.peers.values()) {
    if (p.status === "dead" || p.held === undefined) continue;
    if (p.heldKeys === undefined) {
      if (p.held & RSC_FOREIGN) return true;
    } else if (ours.some((k) => p.heldKeys!.has(k))) return true;
  }
  return false;
}

/** The class bits the living peers report (two nodes: the other side's). */
export function peersHeldOr(s: OwnershipState): number {
  if (!multi(s)) return s.otherHeld;
  let h = RSC_NONE;
  for (const p of s.peers.values()) {
    if (p.status !== "dead" && p.held !== undefined) h |= p.held;
  }
  return h;
}

/**
 * Records `msg` as `p`'s newest report with a stability flag; false when a newer one was
 * processed already.
 */
export function noteStableSeq(p: PeerInfo, msg: CoreMessage): boolean {
  const seq = parseInt(msg.get("seq") ?? "", 16);
  const gen = msg.get("hg") ?? "";
  if (Number.isNaN(seq)) return true;
  if (p.stableGen === gen && p.stableSeq !== undefined && seq < p.stableSeq) return false;
  p.stableGen = gen;
  p.stableSeq = seq;
  return true;
}

/** Whether `msg` of `from` is older than the newest report of it we processed. */
export function olderThanReport(s: OwnershipState, from: string, msg: CoreMessage): boolean {
  const p = s.peers.get(from);
  return p !== undefined && olderThan(msg, p.reportGen, p.reportSeq);
}

/** hb fix 48: a `done` that ends our exchange's answers and names no taker. */
export function sendDoneWithoutTaker(s: OwnershipState): void {
  send(s, [...standbyFields(s, "done"), ["hb_taker", ""], ["hb_given", ""]]);
}

/** Whether peer `p`'s last report covered one of our local groups. */
export function peerHadOurs(s: OwnershipState, p: PeerInfo): boolean {
  const ours = keysOf(s.cfg.groups, s.me);
  if (p.heldKeys !== undefined) return ours.some((k) => p.heldKeys!.has(k));
  return p.held !== undefined && (p.held & RSC_FOREIGN) !== 0;
}

/**
 * hb fix 2: with 3+ nodes a starting node waits for every living peer's report. hb fix 46:
 * every peer not dead counts, its status known or not: Comm_now_up comes once every node
 * was heard or declared dead, and a peer whose first packet was not a status (its report,
 * sent when it saw us start, or a message for another node) is heard but not yet `up`;
 * the first report of another peer then started our groups while it still ran them (found
 * by the simulator: core/sim/testdata/explore_report_before_status.txt).
 */
export function allPeersReported(s: OwnershipState): boolean {
  if (!multi(s)) return true;
  for (const [n, p] of s.peers) {
    if (n !== s.me && p.held === undefined && p.status !== "dead") return false;
  }
  return true;
}

/**
 * Announcements after which we yield a kept duplicate `from` still runs: a peer known to run
 * the real Heartbeat never releases (its heartbeats carry no `hbver`), so one announcement is
 * enough there (five kept both running 15 s after each freeze of a real holder: chaos, mixed,
 * seed 2026 #3, #14, #22); an hb peer, or one not known yet, gets five.
 */
export function yieldAfter(s: OwnershipState, from: string): number {
  return s.isHeartbeatPeer(from) ? 1 : YIELD_AFTER_REANNOUNCES;
}

/** Whether peer `from` runs `g`: its exact `hb_held` when it sent one, else its class. */
export function peerRuns(s: OwnershipState, from: string, peerCls: number, g: OwnedGroup): boolean {
  const exact = s.peers.get(from)?.heldKeys;
  return exact !== undefined ? exact.has(g.key) : peerClassCovers(peerCls, from, g);
}

/** The class bits (local/foreign) of `keys` seen from here. */
export function classesOf(s: OwnershipState, keys: string[]): number {
  let c = RSC_NONE;
  for (const g of s.cfg.groups) {
    if (keys.includes(g.key)) c |= g.node === s.me ? RSC_LOCAL : RSC_FOREIGN;
  }
  return c;
}

/** Stops the standby request retries (hb fix 4). */
export function clearRetry(s: OwnershipState): void {
  s.retryAt = Infinity;
  s.retries = 0;
}

/** Ends an exchange (hb bookkeeping of fix 4). */
export function endExchange(s: OwnershipState): void {
  s.lastExchangePeer = s.standbyPeer;
  s.lastExchangeEnd = s.now;
  s.standby = Standby.NOT;
  s.standbyDeadline = 0;
  clearRetry(s);
  s.otherTimeoutAt = Infinity;
  s.releaseStarted = false;
  s.peerReleaseSeen = false;
  s.acquiring = false;
  s.standbyPeer = "";
  s.alsoGiving.clear();
  s.givenKeys.clear();
}

/**
 * hb fix 36: who takes group `key` we release in a standby exchange: its haresources node when
 * that node is up (and not us), else the node that answered our request. One taker for
 * everything sent a group home to the wrong node with auto_failback on (three nodes, both
 * failed back at once: tests/failover_three_test.ts).
 */
export function takerOf(s: OwnershipState, key: string): string {
  const home = s.cfg.groups.find((g) => g.key === key)?.node;
  if (home !== undefined && home !== s.me && alive(s, home)) return home;
  return s.standbyPeer;
}

/**
 * hb fix 47 (3+ nodes): `node` is back (a restart, a return from dead) and one of its groups
 * runs here. Groups reach a node by standby exchanges too, not only by the death that sets
 * `failbackNeeded`; their home node no longer takes its own groups from a living peer
 * (release first, take second), so with auto_failback on we send them home once it is
 * stable (found by the simulator: explore_own_group_failback_three.txt). Only a return
 * counts: groups an operator moved here by hb_takeover stay (explore_takeover_not_failed_back.txt).
 */
export function noteHomeBack(s: OwnershipState, node: string): void {
  if (!multi(s)) return;
  if (s.cfg.groups.some((g) => g.node === node && s.holding.has(g.key))) {
    s.failbackNeeded = true;
  }
}

/** Our class bits of the groups that run here (of `keys` only, when given). */
export function heldFromHolding(s: OwnershipState, keys?: readonly string[]): number {
  let held = RSC_NONE;
  for (const g of s.cfg.groups) {
    if (!s.holding.has(g.key) || (keys !== undefined && !keys.includes(g.key))) continue;
    held |= g.node === s.me ? RSC_LOCAL : RSC_FOREIGN;
  }
  return held;
}

/**
 * hb fix 26: a living node outside a standby exchange (neither a giver nor us) reports
 * running group `key`: the giver's class covers it (`all` covers every foreign group) but the
 * giver never ran it, so the taker leaves it where it runs (found by the simulator: a third
 * node running a dead node's group; core/sim/testdata/explore_standby_bystander_holds.txt).
 */
export function heldByBystander(
  s: OwnershipState,
  key: string,
  givers: ReadonlySet<string>,
): boolean {
  // (any peer not dead counts: one we just heard again, still `init` to us, reports what it
  // runs all the same: explore_bystander_still_init.txt)
  for (const [n, p] of s.peers) {
    if (n === s.me || givers.has(n) || p.status === "dead") continue;
    if (p.heldKeys?.has(key)) return true;
  }
  return false;
}

/** The environment of a script run for message `msg`: its fields as `HA_<name>`. */
export function msgEnv(s: OwnershipState, msg: CoreMessage): Record<string, string> {
  const env = baseEnv(s);
  for (const [k, v] of Object.entries(msg.toRecord())) env[`HA_${k}`] = v;
  return env;
}

/** A shutdown (or, with `restart`, a restart) was asked for: gives up the resources once communication is up and nothing moves. */
export function onShutdownRequest(s: OwnershipState, restart: boolean): void {
  s.restartAfterShutdown = s.restartAfterShutdown || restart;
  if (s.giveupStarted) {
    log(s, "info", "Heartbeat shutdown already underway.");
    return;
  }
  if (!s.commUp) {
    if (!s.shutdownAfterCommUp) {
      log(s, "WARN", "Shutdown delayed until Communication is up.");
    }
    s.shutdownAfterCommUp = true;
    return;
  }
  giveupResources(s);
}

/** Gives up the resources now when a delayed shutdown waits for quiet. */
export function shutdownIfNeeded(s: OwnershipState): void {
  if (s.needsShutdown) giveupResources(s);
}

/** hb_giveup_resources. */
export function giveupResources(s: OwnershipState): void {
  if (!isStable(s)) {
    if (!s.needsShutdown) {
      log(s, "WARN", "Shutdown delayed until current resource activity finishes.");
      s.needsShutdown = true;
    }
    return;
  }
  s.needsShutdown = false;
  s.shutdownInProgress = true;
  if (s.giveupStarted) {
    log(s, "info", "Heartbeat shutdown already underway.");
    return;
  }
  s.giveupStarted = true;
  s.held = RSC_NONE;
  s.rstate = RState.SHUTDOWN;
  sendHeld(s, false, "shutdown");
  log(s, "info", `Heartbeat shutdown in progress. (${s.cfg.pid})`);
  const keys = s.cfg.groups.map((g) => g.key);
  run(s, "give", keys, "shutdown", {}, () => {
    log(s, "info", "All HA resources relinquished.", "heartbeat-child");
    send(s, [["t", "shutdone"], ["st", "dead"]]);
  }, { before: [childLine("Giving up all HA resources.")] });
}
