/**
 * Safety and liveness properties of a simulated cluster, checked while a
 * scenario or a random schedule runs (see `explore.ts`):
 *
 * - `dual-owner`: two nodes that can hear each other never both run a group
 *   once deadtime plus a settle margin (15 s plus one start and one stop script
 *   per group) has passed since their communication
 *   was last disturbed (a lost or badly delayed packet between them in either
 *   direction, a freeze or thaw of either, the end of the initdead of either's
 *   start). While they cannot hear each
 *   other both running a group is Heartbeat's documented split brain (§6.12)
 *   and allowed;
 * - `no-owner` / `many-owners`: once the cluster has been quiet (no fault, no
 *   lost packet, every living node up) for the stability window (45 s, or initdead
 *   plus 35 s, plus one start and one stop script per group), every group
 *   runs on exactly one living node. A group whose start ever failed is
 *   excused: Heartbeat leaves it stopped until the delayed `hb_standby` (§6.5)
 *   hands it on, and for good when nobody else can run it then;
 * - `membership`: after the same quiet window every living node sees every
 *   other living node `active`;
 * - `handover`: in a quiet cluster no group starts on a node while another node not
 *   frozen runs it: a failback, a standby exchange, a graceful stop, a restart or
 *   a takeover hands a group on release first, take second. Quiet means: no
 *   packet was lost or badly delayed on any path, and no node was killed, frozen
 *   or thawed, for deadtime plus the settle margin before the start, and the two
 *   nodes did not both start within initdead plus deadtime of it (a joint start-up
 *   may race). Unlike `dual-owner` it needs no overlap that lasts: one start
 *   while another node runs the group is a violation (the failover tests' call
 *   logs count the same way);
 * - `transition`: no node stays in rscstatus `transition` longer than
 *   `transitionMaxMs` while its communication with every living peer is clean
 *   (frozen time excluded);
 * - `storm`: no node puts more than `maxPacketsPerSecond` packets on the wire
 *   in one virtual second. Retransmissions, their requests and NAKs are not
 *   counted: Heartbeat sends one request per missing number every
 *   max_rexmit_delay without limit and re-sends each requested number up to
 *   every 240 ms (§5.2), and hb mirrors it; under sustained heavy loss that
 *   alone exceeds any fixed bound. New messages (a report loop) are counted.
 *
 * @module
 */

import type { SimCluster } from "./cluster.ts";

/** One broken property. */
export interface Violation {
  /** Which property (`dual-owner`, `handover`, `no-owner`, `many-owners`, `membership`, `transition`, `storm`). */
  kind: string;
  /** Virtual time it was seen. */
  at: number;
  /** What exactly. */
  detail: string;
}

/** Tuning of the checks. */
export interface InvariantOptions {
  /** Margin after deadtime before two nodes that hear each other must not share a group. */
  settleMs?: number;
  /** Quiet time after which membership and ownership must have converged. */
  stableMs?: number;
  /** Longest allowed stay in `transition`. */
  transitionMaxMs?: number;
  /** Packets one node may send in one virtual second. */
  maxPacketsPerSecond?: number;
}

/** Checks the properties above; call {@link check} often (e.g. every 100 ms of virtual time). */
export class InvariantChecker {
  readonly #sim: SimCluster;
  readonly #settleMs: number;
  readonly #stableMs: number;
  readonly #transitionMaxMs: number;
  readonly #maxPps: number;
  /** Last time each node was started, frozen, thawed, killed or stopped. */
  readonly #nodeEvent = new Map<string, number>();
  /** Last kill, freeze or thaw of any node (they excuse a `handover` overlap). */
  #lastUnsettling = -Infinity;
  /** Group starts of the cluster already checked. */
  #startsSeen = 0;
  #lastFault = 0;
  /** Last start failure per group. */
  readonly #failedAt = new Map<string, number>();
  #failuresSeen = 0;
  readonly #transitionSince = new Map<string, number>();
  #second = 0;
  readonly #sentAtSecond = new Map<string, number>();
  /** Every violation seen, in order (each kind reported once per key). */
  readonly violations: Violation[] = [];
  readonly #seen = new Set<string>();

  /** Watches `sim`. */
  constructor(sim: SimCluster, opts: InvariantOptions = {}) {
    this.#sim = sim;
    const { deadtimeMs, initdeadMs } = sim.timers;
    // a node starts and stops its groups one script at a time: after a heal the margin
    // includes running every group's start and stop once (six groups with 2 s scripts take
    // 24 s of script time; the fixed 15 s alone flagged clusters still releasing in order)
    this.#settleMs = opts.settleMs ?? 15_000 + 2 * sim.groups.length * sim.scriptMs;
    // (convergence runs scripts too: the same allowance of one start and one stop per group)
    this.#stableMs = opts.stableMs ??
      Math.max(45_000, initdeadMs + 35_000) + 2 * sim.groups.length * sim.scriptMs;
    this.#transitionMaxMs = opts.transitionMaxMs ?? 60_000 + deadtimeMs;
    this.#maxPps = opts.maxPacketsPerSecond ?? 60;
  }

  /**
   * Notes a fault or operator action on `node` (start, kill, stop, freeze, thaw, standby, …);
   * `unsettling` for a kill, freeze or thaw (the peers' views of it diverge for a while).
   */
  nodeEvent(node: string, unsettling = false): void {
    this.#nodeEvent.set(node, this.#sim.now);
    this.#lastFault = this.#sim.now;
    if (unsettling) this.#lastUnsettling = this.#sim.now;
  }

  /** Notes a change of the network or of the scripts (any node). */
  fault(): void {
    this.#lastFault = this.#sim.now;
  }

  /** Checks every property at the current virtual time; returns the new violations. */
  check(): Violation[] {
    const sim = this.#sim;
    const now = sim.now;
    const fresh: Violation[] = [];
    const add = (kind: string, key: string, detail: string) => {
      const k = `${kind}/${key}`;
      if (this.#seen.has(k)) return;
      this.#seen.add(k);
      const v = { kind, at: now, detail };
      this.violations.push(v);
      fresh.push(v);
    };
    for (; this.#failuresSeen < sim.startFailures.length; this.#failuresSeen++) {
      const f = sim.startFailures[this.#failuresSeen];
      this.#failedAt.set(f.key, f.at);
    }
    for (const m of sim.monitorMisfires) {
      add("monitor-misfire", `${m.node}/${m.key}@${m.at}`, `${m.node} checked ${m.key} ${m.why}`);
    }
    const { deadtimeMs, initdeadMs } = sim.timers;
    const names = sim.nodeNames;
    const live = names.filter((n) => sim.isAlive(n) && !sim.isFrozen(n));

    // storm: packets per node per virtual second
    const second = Math.floor(now / 1000);
    if (second !== this.#second) {
      this.#second = second;
      for (const n of names) this.#sentAtSecond.set(n, sim.sendCount.get(n) ?? 0);
    }
    for (const n of names) {
      const sent = (sim.sendCount.get(n) ?? 0) - (this.#sentAtSecond.get(n) ?? 0);
      if (sent > this.#maxPps) {
        add("storm", `${n}@${second}`, `${n} sent ${sent} packets in second ${second}`);
      }
    }

    // dual-owner among nodes that hear each other. Not in legacy mode: there hb keeps
    // Heartbeat's behaviour, whose duplicates after a partition or a one-sided loss of
    // heartbeats stay until a restart (§5.4, §6.12); hb's duplicate resolution (hb fix 3 in
    // ownership.ts) is a nice_failback feature
    const dualChecked = sim.autoFailback !== "legacy";
    for (let i = 0; dualChecked && i < live.length; i++) {
      for (let j = i + 1; j < live.length; j++) {
        const a = live[i], b = live[j];
        // a node's start-up negotiation (initdead, then up to RQSTDELAY) counts as part of
        // the disturbance: the margin runs from its end
        const since = Math.max(
          sim.network.lastDisturbed.get(`${a}>${b}`) ?? 0,
          sim.network.lastDisturbed.get(`${b}>${a}`) ?? 0,
          this.#nodeEvent.get(a) ?? 0,
          this.#nodeEvent.get(b) ?? 0,
          sim.startedAt(a) + initdeadMs,
          sim.startedAt(b) + initdeadMs,
        );
        if (now - since < deadtimeMs + this.#settleMs) continue;
        const ra = sim.running(a);
        if (ra.length === 0) continue;
        const rb = new Set(sim.running(b));
        for (const g of ra) {
          if (rb.has(g)) {
            add(
              "dual-owner",
              `${g}:${a}:${b}:${since}`,
              `${a} and ${b} both run ${g}, ${now - since} ms after their last disturbance`,
            );
          }
        }
      }
    }

    // handover: no start of a group that another node runs, in a quiet cluster
    let disturbed = this.#lastUnsettling;
    for (const t of sim.network.lastDisturbed.values()) disturbed = Math.max(disturbed, t);
    for (; dualChecked && this.#startsSeen < sim.groupStarts.length; this.#startsSeen++) {
      const s = sim.groupStarts[this.#startsSeen];
      for (const other of s.alsoOn) {
        const startWindow = initdeadMs + deadtimeMs;
        const jointStart = s.at - sim.startedAt(s.node) < startWindow &&
          s.at - sim.startedAt(other) < startWindow;
        // (`disturbed` is as of now, later than the start: a disturbance after it excuses
        // nothing, but the explorer checks every 100 ms, so the gap is small)
        if (s.at - disturbed < deadtimeMs + this.#settleMs || jointStart) continue;
        add(
          "handover",
          `${s.key}:${s.node}:${other}:${s.at}`,
          `${s.node} started ${s.key} at ${s.at} ms while ${other} ran it, ${
            s.at - disturbed
          } ms after the last disturbance`,
        );
      }
    }

    // transition bounded
    for (const n of names) {
      if (!sim.isAlive(n) || sim.nodeCore(n).rscstatus() !== "transition") {
        this.#transitionSince.delete(n);
        continue;
      }
      if (sim.isFrozen(n)) continue;
      // counted while its communication with every living peer is clean: a permanent
      // one-sided cut leaves Heartbeat's exchanges waiting for good (§5.4)
      let since = Math.max(this.#transitionSince.get(n) ?? now, this.#nodeEvent.get(n) ?? 0);
      for (const p of live) {
        if (p === n) continue;
        since = Math.max(
          since,
          sim.network.lastDisturbed.get(`${n}>${p}`) ?? 0,
          sim.network.lastDisturbed.get(`${p}>${n}`) ?? 0,
        );
      }
      this.#transitionSince.set(n, since);
      if (now - since > this.#transitionMaxMs) {
        add("transition", `${n}:${since}`, `${n} in transition since ${since} ms`);
      }
    }

    // convergence after a quiet window
    let quietSince = this.#lastFault;
    for (const a of live) {
      quietSince = Math.max(quietSince, this.#nodeEvent.get(a) ?? 0, sim.startedAt(a));
      for (const b of live) {
        if (a !== b) {
          quietSince = Math.max(quietSince, sim.network.lastDisturbed.get(`${a}>${b}`) ?? 0);
        }
      }
    }
    const frozen = names.some((n) => sim.isAlive(n) && sim.isFrozen(n));
    if (!frozen && live.length > 0 && now - quietSince >= this.#stableMs) {
      for (const a of live) {
        for (const b of live) {
          if (a === b) continue;
          const st = sim.core(a).nodeStatus(b);
          if (st !== "active") {
            add("membership", `${a}:${b}:${quietSince}`, `${a} sees ${b} ${st}`);
          }
        }
      }
      for (const g of sim.groups) {
        // Heartbeat never retries a failed start; its delayed hb_standby helps only when a
        // peer is up then: a group that ever failed to start is not required to run
        if (this.#failedAt.has(g.key)) continue;
        const holders = sim.holders(g.key).filter((n) => live.includes(n));
        if (holders.length === 0) {
          add("no-owner", `${g.key}:${quietSince}`, `${g.key} runs nowhere`);
        } else if (holders.length > 1 && dualChecked) {
          add("many-owners", `${g.key}:${quietSince}`, `${g.key} runs on ${holders.join(" ")}`);
        }
      }
    }
    return fresh;
  }
}
