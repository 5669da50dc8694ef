/**
 * The whole deterministic core of one node: membership and messaging
 * ({@link HbCore}) composed with the resource ownership protocol
 * ({@link Ownership}). Still no I/O: the driver feeds events (including the
 * results of resource actions and fencing) and carries out actions (including
 * `run` and `fence`).
 *
 * How the two are joined:
 * - membership actions become ownership events: `comm-up`, `node-status` of
 *   normal nodes (with the dead node's last heartbeat time), `node-restart`,
 *   `partition-healed`, and `deliver` of resource-protocol messages;
 * - ownership's `send` goes through membership as an `originate` (control
 *   fields, history, loopback) — its looped-back copy is not fed back to
 *   ownership, which has already processed its own message;
 * - every other ownership action is passed to the driver.
 *
 * hb fix (suspension guard): when no event reached the core for longer than
 * deadtime (the process was stopped, frozen or starved), its view of the
 * peers is stale: on resume the membership declares every peer dead (their
 * heartbeats are late or queued), exactly as Heartbeat does, and Heartbeat's
 * resource layer then takes over groups that live peers still run. Here the
 * membership still logs what it sees, but deaths it declares within one
 * deadtime of the resume are held back from the ownership protocol; a peer
 * that shows life in that window was never dead for resource purposes, and a
 * peer still dead when the window closes is handed over then (a real death
 * during our suspension is only taken over one deadtime later).
 *
 * @module
 */

import { HbCore } from "./core.ts";
import {
  type ConfigDigest,
  encodeDigest,
  HB_CONFIG_FIELD,
  HB_VERSION_FIELD,
  PeerTracker,
} from "./drift.ts";
import { CoreMessage } from "./message.ts";
import {
  type Eligibility,
  type MonitorAction,
  type MonitorConfig,
  type MonitorEvent,
  Monitors,
  type MonitorState,
  type NotifyEvent,
} from "./monitor.ts";
import { Ownership } from "./ownership/ownership.ts";
import {
  type FenceResult,
  type GroupOutcome,
  type LogTag,
  type OwnedGroup,
  type OwnershipAction,
  type OwnershipEvent,
  type PeerStatus,
  type RscStatus,
  RState,
  Standby,
} from "./ownership/types.ts";
import type { CoreAction, CoreConfig, CoreEvent, Priority } from "./types.ts";

/** Message types the ownership protocol handles (hb's own `hb-failhold` included). */
export const OWNERSHIP_TYPES: ReadonlySet<string> = new Set([
  "starting",
  "resource",
  "ask_resources",
  "hb_takeover",
  "ip-request",
  "ip-request-resp",
  "shutdone",
  "stonith",
  "hb-failhold",
]);

/** Resource management settings of a node. */
export interface ResourceConfig {
  /** haresources groups (preferred node, key), file order. */
  groups: OwnedGroup[];
  /** `auto_failback`. */
  autoFailback: "on" | "off" | "legacy";
  /** Pid shown in `Heartbeat shutdown in progress. (<pid>)` (the master's). */
  pid?: number;
  /** Whether a STONITH device is configured. */
  stonith: boolean;
  /** Quick restart (`heartbeat -R [-C <held>]`): what this node already holds. */
  restart?: { held?: string; holding?: readonly string[] };
  /** hb.cf `monitor` lines resolved against the groups (core/monitor.ts). */
  monitors?: readonly MonitorConfig[];
  /** Overrides of the protocol's timers (tests). */
  timers?: {
    rqstDelayMs?: number;
    standbyRetryMs?: number;
    standbyRetries?: number;
    failedStartStandbyMs?: number;
  };
}

/** Events the resource side adds to {@link CoreEvent}. */
export type NodeCoreEvent =
  | CoreEvent
  | {
    type: "group-result";
    now: number;
    wallClock: number;
    id: number;
    key: string;
    result: GroupOutcome;
    standby?: "local" | "foreign";
  }
  | { type: "fenced"; now: number; wallClock: number; node: string; result: FenceResult }
  | { type: "shutdown-request"; now: number; wallClock: number; restart?: boolean }
  /** Our configuration digests changed (authkeys reread): announced and compared again. */
  | { type: "config-digest"; now: number; wallClock: number; digest: ConfigDigest }
  | (MonitorEvent & { wallClock: number });

/** hb's identity in its heartbeats (core/drift.ts). */
export interface HbIdentity {
  /** hb's version (`hbver`). */
  version: string;
  /** Our configuration digests (`hbcfg`); undefined: not announced, not compared. */
  digest?: ConfigDigest;
}

/** Actions the resource side adds to {@link CoreAction}. */
export type NodeCoreAction =
  | CoreAction
  | { type: "script-log"; prio: Priority | ""; text: string; tag: LogTag }
  | Extract<OwnershipAction, { type: "run" | "fence" | "shutdown-complete" | "stop-failure" }>
  | Extract<MonitorAction, { type: "monitor-check" | "monitor-restart" | "notify" }>;

/** Membership plus (optionally) resource ownership of one node. */
export class NodeCore {
  readonly #hb: HbCore;
  readonly #own: Ownership | undefined;
  readonly #self: string;
  readonly #normal: Set<string>;
  /** Messages ownership sent: their looped-back delivery is not fed back. */
  readonly #ownSent = new WeakSet<CoreMessage>();
  /** Monotonic time of the last status message delivered per node. */
  readonly #lastHeard = new Map<string, number>();
  #out: NodeCoreAction[] = [];
  #now = 0;
  #wall = 0;
  readonly #deadtimeMs: number;
  /** `now` of the previous event (suspension detection). */
  #lastEventAt: number | undefined;
  /** End of the window after a suspension in which deaths are held back. */
  #resumeUntil = -Infinity;
  /** Deaths held back during that window, by node. */
  readonly #heldDeaths = new Map<string, Extract<OwnershipEvent, { type: "node-status" }>>();
  /**
   * Whether communication is up. Until then deaths (a peer declared dead by initdead) are
   * held (dropped when the peer shows life before) and handed to ownership right after Comm_now_up, as Heartbeat orders
   * them (its log shows the STONITH and takeover lines after "Local status now set to:
   * 'active'", §9.1). Found by the simulator (core/sim/testdata/explore_dead_before_comm_up.txt):
   * with a third node that never came, initdead declared it dead a few ms before the
   * reqnodes/repnodes exchange brought communication up; ownership ran mach_down before
   * `starting` and then never acquired the node's own groups, nor did its peer.
   */
  #commUp = false;
  #beforeCommUp: OwnershipEvent[] = [];
  /** Service health checks (hb.cf `monitor`), when resources are managed. */
  readonly #monitors: Monitors | undefined;
  /** Resource runs of the ownership protocol not finished yet, by id. */
  readonly #runs = new Map<number, { op: string; reason: string; at: number; keys: Set<string> }>();

  /** Implementations and configuration drift of the peers (undefined without `identity`). */
  readonly #peers: PeerTracker | undefined;
  readonly #identity: HbIdentity | undefined;

  /**
   * Creates the core; without `resources` it is membership only (`heartbeat -M`). With
   * `identity`, our heartbeats carry hb's fields and the peers' are compared (core/drift.ts).
   */
  constructor(cfg: CoreConfig, resources?: ResourceConfig, identity?: HbIdentity) {
    this.#identity = identity;
    this.#peers = identity ? new PeerTracker(identity.digest) : undefined;
    this.#hb = new HbCore(
      identity ? { ...cfg, statusFields: statusFields(identity.version, identity.digest) } : cfg,
    );
    this.#deadtimeMs = cfg.deadtimeMs;
    this.#self = cfg.nodeName;
    this.#normal = new Set(cfg.nodes);
    if (resources) {
      this.#own = new Ownership({
        nodeName: cfg.nodeName,
        nodes: cfg.nodes,
        groups: resources.groups,
        autoFailback: resources.autoFailback,
        keepaliveMs: cfg.keepaliveMs,
        stonith: resources.stonith,
        pid: resources.pid,
        peerRunsHeartbeat: (n) => this.#peers?.peer(n)?.implementation === "heartbeat",
        ...(resources.restart ? { restart: resources.restart } : {}),
        ...resources.timers,
      });
      if (resources.monitors && resources.monitors.length > 0) {
        this.#monitors = new Monitors(cfg.nodeName, resources.monitors);
      }
    }
  }

  /** The monitors' states (`heartbeat resource failures`); empty without monitors. */
  monitorStates(): MonitorState[] {
    return this.#monitors?.states(this.#now) ?? [];
  }

  /**
   * Operator cleanup of the failure counts of `resource` (every monitor when undefined); the
   * actions (log lines) come back for the driver. `cleared` is empty when nothing matched.
   */
  monitorCleanup(
    now: number,
    resource?: string,
  ): { cleared: string[]; actions: NodeCoreAction[] } {
    this.#out = [];
    this.#now = Math.max(this.#now, now);
    const r = this.#monitors?.cleanup(this.#now, resource);
    if (r === undefined) return { cleared: [], actions: [] };
    this.#fromMonitors(r.actions);
    if (r.cleared.length > 0) {
      // the peers that hold back a failback to us for failures may go ahead (our own record
      // of the hold is gone after a restart of this daemon: tell them in any case)
      this.#fromMembership(
        this.#hb.handle({
          type: "originate",
          now: this.#now,
          wallClock: this.#wall,
          msg: CoreMessage.of({ t: "hb-failhold", hold: "0" }),
        }),
      );
    }
    this.#updateMonitors();
    return { cleared: r.cleared, actions: this.#out };
  }

  /** The membership core (status queries). */
  get membership(): HbCore {
    return this.#hb;
  }

  /** Implementations and configuration drift of the peers (undefined: not followed). */
  get peers(): PeerTracker | undefined {
    return this.#peers;
  }

  /** The ownership protocol, when resources are managed. */
  get ownership(): Ownership | undefined {
    return this.#own;
  }

  /** `cl_status rscstatus`'s answer (`none` without resource management). */
  rscstatus(): RscStatus {
    return this.#own?.rscstatus() ?? "none";
  }

  /** When the next tick is due (membership or ownership timers). */
  nextDeadline(): number {
    const resume = this.#heldDeaths.size > 0 ? this.#resumeUntil : Infinity;
    return Math.min(
      this.#hb.nextDeadline(),
      this.#own?.nextDeadline() ?? Infinity,
      resume,
      this.#monitors?.nextDeadline() ?? Infinity,
    );
  }

  /** Feeds one event and returns the resulting actions, in order. */
  handle(ev: NodeCoreEvent): NodeCoreAction[] {
    this.#out = [];
    this.#now = ev.now;
    this.#wall = ev.wallClock;
    this.#checkSuspension(ev);
    switch (ev.type) {
      case "monitor-result":
      case "monitor-restarted":
        if (this.#monitors) this.#fromMonitors(this.#monitors.handle(ev));
        break;
      case "group-result":
        this.#runResult(ev.id, ev.key, ev.result);
        this.#toOwnership({
          type: "group-result",
          now: ev.now,
          id: ev.id,
          key: ev.key,
          result: ev.result,
          standby: ev.standby,
        });
        break;
      case "fenced":
        this.#toOwnership({ type: "fenced", now: ev.now, node: ev.node, result: ev.result });
        break;
      case "shutdown-request":
        if (this.#own) {
          this.#toOwnership({ type: "shutdown-request", now: ev.now, restart: ev.restart });
        } else this.#out.push({ type: "shutdown-complete", restart: ev.restart ?? false });
        break;
      case "config-digest":
        if (this.#identity && this.#peers) {
          this.#hb.setStatusFields(statusFields(this.#identity.version, ev.digest));
          for (const l of this.#peers.setOwn(ev.digest)) this.#out.push({ type: "log", ...l });
        }
        break;
      default:
        this.#fromMembership(this.#hb.handle(ev));
        if (ev.type === "tick") this.#toOwnership({ type: "tick", now: ev.now });
        break;
    }
    this.#releaseHeldDeaths();
    this.#updateMonitors();
    return this.#out;
  }

  /** What group `key` is for its monitors now. */
  #eligibility(key: string): Eligibility {
    const own = this.#own!;
    if (!own.holding.includes(key)) return "off";
    if (
      this.#runs.size > 0 || this.#monitors!.anyRestarting || own.rscstatus() === "transition" ||
      own.resourceState === RState.SHUTDOWN || own.standbyState !== Standby.NOT
    ) return "pause";
    return "check";
  }

  #updateMonitors(): void {
    if (!this.#monitors) return;
    this.#fromMonitors(this.#monitors.update(this.#now, (k) => this.#eligibility(k)));
  }

  #fromMonitors(actions: MonitorAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case "standby": {
          // what hb_standby does: its log line, then ask_resources through the cluster
          this.#out.push({
            type: "script-log",
            prio: "info",
            text: `Going standby [${a.cls}].`,
            tag: "hb_standby",
          });
          this.#fromMembership(
            this.#hb.handle({
              type: "originate",
              now: this.#now,
              wallClock: this.#wall,
              // hb_failhold: an hb peer does not fail the group back for the window (a real
              // Heartbeat ignores the field)
              msg: CoreMessage.of({
                t: "ask_resources",
                rsc_hold: a.cls,
                info: "me",
                hb_failhold: String(a.holdMs),
              }),
            }),
          );
          break;
        }
        default:
          this.#out.push(a);
      }
    }
  }

  #notify(e: Omit<NotifyEvent, "node"> & { node?: string }): void {
    this.#out.push({ type: "notify", event: { node: this.#self, ...e } });
  }

  /** A group of an ownership run finished: hooks, and the run bookkeeping. */
  #runResult(id: number, key: string, result: GroupOutcome): void {
    const run = this.#runs.get(id);
    if (run === undefined || !run.keys.delete(key)) return;
    if (run.keys.size === 0) this.#runs.delete(id);
    const elapsedMs = this.#now - run.at;
    if (run.op === "take") {
      this.#notify({
        event: "takeover-done",
        group: key,
        to: result,
        reason: run.reason,
        elapsedMs,
      });
    } else if (run.op === "give") {
      this.#notify({
        event: "release-done",
        group: key,
        to: result,
        reason: run.reason,
        elapsedMs,
      });
    }
  }

  /** Opens the resume window when no event came for longer than deadtime. */
  #checkSuspension(ev: NodeCoreEvent): void {
    const last = this.#lastEventAt;
    this.#lastEventAt = ev.now;
    if (!this.#own || last === undefined || ev.type === "start") return;
    const gap = ev.now - last;
    if (gap <= this.#deadtimeMs) return;
    this.#resumeUntil = ev.now + this.#deadtimeMs;
    this.#out.push({
      type: "log",
      prio: "WARN",
      text: `No event for ${
        Math.round(gap)
      } ms (process suspended or starved): peers declared dead within ${this.#deadtimeMs} ms are not taken over unless they stay dead.`,
    });
  }

  /** Hands held deaths to ownership once the window closed and the node is still dead. */
  #releaseHeldDeaths(): void {
    if (this.#heldDeaths.size === 0 || this.#now < this.#resumeUntil) return;
    const held = [...this.#heldDeaths.values()];
    this.#heldDeaths.clear();
    for (const ev of held) {
      if (this.#hb.nodeStatus(ev.node) !== "dead") continue;
      this.#toOwnership({ ...ev, now: this.#now });
    }
  }

  /** Passes membership actions on and derives ownership events from them. */
  #fromMembership(actions: CoreAction[]): void {
    for (const a of actions) {
      this.#out.push(a);
      if (
        this.#peers && a.type === "deliver" && a.from !== this.#self && this.#normal.has(a.from) &&
        a.msg.type.toLowerCase() === "status"
      ) {
        const logs = this.#peers.status(
          a.from,
          a.msg.get(HB_VERSION_FIELD),
          a.msg.get(HB_CONFIG_FIELD),
        );
        for (const l of logs) this.#out.push({ type: "log", ...l });
      }
      if (!this.#own) continue;
      switch (a.type) {
        case "comm-up": {
          this.#commUp = true;
          this.#toOwnership({ type: "comm-up", now: this.#now });
          const early = this.#beforeCommUp;
          this.#beforeCommUp = [];
          // a peer that said shutdone and was declared dead since is just dead
          const dead = new Set(
            early.filter((e) => e.type === "node-status").map((e) =>
              e.type === "node-status" && e.node
            ),
          );
          for (const ev of early) {
            if (ev.type === "message" && dead.has(ev.from)) continue;
            this.#toOwnership({ ...ev, now: this.#now });
          }
          break;
        }
        case "link-status":
          this.#notify({
            event: a.status === "dead" ? "link-dead" : "link-up",
            node: a.node,
            to: a.status,
            reason: a.link,
          });
          break;
        case "partition-healed":
          this.#notify({ event: "split-brain", node: a.node, reason: "partition healed" });
          this.#toOwnership({ type: "partition-healed", now: this.#now, node: a.node });
          break;
        case "node-status": {
          if (a.kind !== "normal" || !this.#normal.has(a.node)) break;
          if (a.status === "dead" && a.previous !== "dead") {
            const last = this.#lastHeard.get(a.node);
            this.#notify({
              event: "node-dead",
              node: a.node,
              from: a.previous,
              to: "dead",
              ...(last !== undefined ? { elapsedMs: Math.round(this.#now - last) } : {}),
            });
          } else if (a.status === "active" && a.previous !== "active") {
            this.#notify({ event: "node-up", node: a.node, from: a.previous, to: "active" });
          }
          const ev: Extract<OwnershipEvent, { type: "node-status" }> = {
            type: "node-status",
            now: this.#now,
            node: a.node,
            status: a.status as PeerStatus,
            previous: a.previous as PeerStatus,
            lastHeard: a.status === "dead" ? this.#lastHeard.get(a.node) : undefined,
          };
          if (a.status === "dead" && this.#now < this.#resumeUntil) {
            if (!this.#heldDeaths.has(a.node)) {
              this.#heldDeaths.set(a.node, ev);
              this.#out.push({
                type: "log",
                prio: "info",
                text:
                  `Takeover from ${a.node} deferred: we were suspended, waiting for it to show life.`,
              });
            }
            break;
          }
          if (a.status !== "dead" && this.#heldDeaths.delete(a.node)) {
            this.#out.push({
              type: "log",
              prio: "info",
              text: `${a.node} is alive after our suspension: no takeover.`,
            });
          }
          if (!this.#commUp && a.status === "dead") this.#beforeCommUp.push(ev);
          else {
            if (!this.#commUp) {
              this.#beforeCommUp = this.#beforeCommUp.filter((e) =>
                e.type !== "node-status" || e.node !== a.node
              );
            }
            this.#toOwnership(ev);
          }
          break;
        }
        case "node-restart":
          this.#toOwnership({ type: "node-restart", now: this.#now, node: a.node });
          break;
        case "deliver": {
          const t = a.msg.type.toLowerCase();
          if (t === "status" && a.from !== this.#self) this.#lastHeard.set(a.from, this.#now);
          if (!OWNERSHIP_TYPES.has(t) || this.#ownSent.has(a.msg)) break;
          const ev: OwnershipEvent = { type: "message", now: this.#now, from: a.from, msg: a.msg };
          // a peer's shutdone before our Comm_now_up waits with the deaths: taken over before
          // communication was up, its groups were acquired in no state the protocol could finish
          // (found by the simulator: core/sim/testdata/explore_shutdone_before_comm_up.txt)
          if (!this.#commUp && t === "shutdone" && a.from !== this.#self) {
            this.#beforeCommUp.push(ev);
          } else this.#toOwnership(ev);
          break;
        }
        default:
          break;
      }
    }
  }

  #toOwnership(ev: OwnershipEvent): void {
    if (!this.#own) return;
    for (const a of this.#own.handle(ev)) {
      switch (a.type) {
        case "send":
          this.#ownSent.add(a.msg);
          this.#fromMembership(
            this.#hb.handle({
              type: "originate",
              now: this.#now,
              wallClock: this.#wall,
              msg: a.msg,
            }),
          );
          break;
        case "log":
          if (a.line.tag === "heartbeat" && a.line.prio !== "") {
            this.#out.push({ type: "log", prio: a.line.prio, text: a.line.text });
          } else {
            this.#out.push({
              type: "script-log",
              prio: a.line.prio,
              text: a.line.text,
              tag: a.line.tag,
            });
          }
          break;
        case "run":
          this.#runs.set(a.id, {
            op: a.op,
            reason: a.reason,
            at: this.#now,
            keys: new Set(a.keys),
          });
          if (a.op === "take") {
            this.#notify({ event: "takeover-start", group: a.keys.join(" "), reason: a.reason });
          }
          this.#out.push(a);
          break;
        case "fence":
          this.#notify({ event: "fence", node: a.node, reason: "STONITH reset before takeover" });
          this.#out.push(a);
          break;
        default:
          this.#out.push(a);
          break;
      }
    }
  }
}

/** The extra fields of our heartbeats. */
function statusFields(
  version: string,
  digest: ConfigDigest | undefined,
): (readonly [string, string])[] {
  const f: (readonly [string, string])[] = [[HB_VERSION_FIELD, version]];
  if (digest) f.push([HB_CONFIG_FIELD, encodeDigest(digest)]);
  return f;
}
