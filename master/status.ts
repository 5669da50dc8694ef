/**
 * The state `heartbeat status` shows (cli/status.ts), gathered by the master: an observer of
 * every core step (like master/metrics.ts: last packet per node and link, late heartbeats,
 * lost packets, retransmissions, resource runs under way or failed, failover timelines of
 * core/timeline.ts) read together with the core's live state (node and link status, groups
 * held here and reported by peers, peers' implementations and configuration drift of
 * core/drift.ts) into one document of the versioned schema `cli/status_schema.json`
 * ({@link STATUS_SCHEMA_VERSION}). The API server answers hb's own request `hbstatus` with it
 * (api/protocol.ts); real Heartbeat clients never send that request.
 *
 * Monitors: {@link StatusMonitorSource} is where the health-check monitors (hb.cf `monitor`)
 * plug in (master/runtime.ts, through {@link monitorStatusOf}); without monitors the list is
 * empty.
 *
 * @module
 */

import type { NodeCore, NodeCoreAction, NodeCoreEvent } from "../core/node_core.ts";
import type { MonitorState } from "../core/monitor.ts";
import type { FailoverRecord } from "../core/timeline.ts";
import { FailoverTimeline } from "../core/timeline.ts";
import type { RuntimeObserver } from "./observe.ts";

/** Version of the document's schema (`schema_version`); bumped on incompatible changes. */
export const STATUS_SCHEMA_VERSION = 1;

/**
 * The `getparm` name hb answers with {@link STATUS_SCHEMA_VERSION} (no ha.cf directive has it;
 * the real Heartbeat answers no value): `heartbeat status` asks it before `hbstatus`, a request
 * the real daemon would log as an error.
 */
export const HB_STATUS_PARAM = "hb_status";

/** State of a resource group as `heartbeat status` names it. */
export type GroupState = "running" | "starting" | "stopping" | "failed" | "unowned";

/** One monitor's state, as health-check monitors will report it. */
export interface MonitorStatus {
  /** Monitor name. */
  name: string;
  /** Group it watches (null: none). */
  group: string | null;
  /** `ok`, `failing` or `unknown`. */
  state: "ok" | "failing" | "unknown";
  /** Failures counted since start. */
  failures: number;
  /** ms since the last check (null: never checked). */
  last_check_age_ms: number | null;
}

/**
 * The `heartbeat status` view of the core's monitor states (core/monitor.ts): `ok` while
 * checks pass, `failing` from the first failed check until `rise` successes (restarting and
 * escalated included), `unknown` where the group is not checked (not held here).
 */
export function monitorStatusOf(states: readonly MonitorState[]): MonitorStatus[] {
  return states.map((m) => ({
    name: m.resource,
    group: m.group,
    state: m.state === "ok" ? "ok" : m.state === "idle" ? "unknown" : "failing",
    failures: m.failures,
    last_check_age_ms: null,
  }));
}

/** Where monitor states come from (health checks plug in here). */
export interface StatusMonitorSource {
  /** Current monitor states. */
  monitors(): MonitorStatus[];
}

/** The `heartbeat status` document (schema version {@link STATUS_SCHEMA_VERSION}). */
export interface StatusDocument {
  schema_version: number;
  generated_at_ms: number;
  implementation: { name: "hb"; version: string; heartbeat_version: string };
  node: {
    name: string;
    status: string;
    comm_up: boolean;
    uptime_ms: number;
    resources: string;
  };
  nodes: {
    name: string;
    type: "normal" | "ping";
    status: string;
    implementation: "hb" | "heartbeat" | "unknown" | "ping";
    version: string | null;
    late_heartbeats: number;
    lost_packets: number;
    retransmits_requested: number;
  }[];
  links: {
    node: string;
    link: string;
    status: string;
    last_packet_age_ms: number | null;
    packets_received: number;
  }[];
  groups: {
    group: string;
    preferred_node: string;
    owner: string | null;
    state: GroupState;
  }[];
  monitors: MonitorStatus[];
  failovers: {
    node: string;
    dead_at_ms: number;
    silence_ms: number | null;
    fence_done_after_ms: number | null;
    fence_result: string | null;
    groups: {
      group: string;
      take_started_after_ms: number;
      done_after_ms: number | null;
      result: string | null;
    }[];
    completed_after_ms: number | null;
    heard_again_after_ms: number | null;
  }[];
  config_digest: { haresources: string; authkeys: string; timing: string } | null;
  drift: {
    node: string;
    parts: string[];
    ours: { haresources: string; authkeys: string; timing: string };
    theirs: { haresources: string; authkeys: string; timing: string };
  }[];
  retransmits_sent: number;
}

/** Static facts of {@link StatusCollector}. */
export interface StatusConfig {
  /** Our node name. */
  nodeName: string;
  /** Link names, ha.cf order (channel index = position). */
  links: readonly string[];
  /** Ping node names. */
  pingNodes: readonly string[];
  /** Node order of ha.cf (normal and ping). */
  nodeOrder: readonly string[];
  /** Groups in haresources order: key and preferred node. */
  groups: readonly { key: string; node: string }[];
  /** hb's version. */
  version: string;
  /** The Heartbeat version hb speaks. */
  heartbeatVersion: string;
  /** Clock in ms (default `performance.now`). */
  now?: () => number;
}

/** Gathers the state of `heartbeat status`. */
export class StatusCollector implements RuntimeObserver {
  readonly #cfg: StatusConfig;
  readonly #now: () => number;
  readonly #startedAt: number;
  #core: NodeCore | undefined;
  #monitors: StatusMonitorSource | undefined;
  readonly #timeline: FailoverTimeline;
  /** Last packet per `node\nchannel`. */
  readonly #lastPacket = new Map<string, number>();
  readonly #packets = new Map<string, number>();
  readonly #late = new Map<string, number>();
  readonly #lost = new Map<string, number>();
  readonly #rexmitRequested = new Map<string, number>();
  #rexmitSent = 0;
  /** Runs under way: id → op and keys pending. */
  readonly #runs = new Map<number, { op: string; keys: Set<string> }>();
  /** Groups whose last start here failed (until started again). */
  readonly #failed = new Set<string>();

  /** Creates the collector (reading starts with {@link attach}). */
  constructor(cfg: StatusConfig) {
    this.#cfg = cfg;
    this.#now = cfg.now ?? (() => performance.now());
    this.#startedAt = this.#now();
    this.#timeline = new FailoverTimeline(cfg.nodeName);
  }

  /** Sets the core the state is read from. */
  attach(core: NodeCore): void {
    this.#core = core;
  }

  /** Plugs the health-check monitors in. */
  setMonitors(source: StatusMonitorSource): void {
    this.#monitors = source;
  }

  /** Observer of the runtime. */
  step(ev: NodeCoreEvent, actions: readonly NodeCoreAction[]): void {
    const now = this.#now();
    this.#timeline.step(ev, actions);
    if (ev.type === "message" && ev.origin.kind === "medium") {
      const src = ev.msg.get("src");
      if (src !== undefined && src !== this.#cfg.nodeName) {
        const k = `${src}\n${ev.origin.channel}`;
        this.#lastPacket.set(k, now);
        inc(this.#packets, k);
      }
    } else if (ev.type === "group-result") {
      const r = this.#runs.get(ev.id);
      if (r !== undefined) {
        r.keys.delete(ev.key);
        if (r.keys.size === 0) this.#runs.delete(ev.id);
      }
      if (ev.result === "start-failed") this.#failed.add(ev.key);
      else if (ev.result === "started" || ev.result === "released") this.#failed.delete(ev.key);
    }
    for (const a of actions) {
      switch (a.type) {
        case "send":
          if (a.msg.type === "NS_rexmit") inc(this.#rexmitRequested, a.msg.get("dest") ?? "?");
          break;
        case "rexmit":
          if (!a.lost) this.#rexmitSent++;
          break;
        case "log": {
          const late = /^Late heartbeat: Node (\S+):/.exec(a.text);
          if (late) inc(this.#late, late[1]);
          const lost = /^(\d+) lost packet\(s\) for \[([^\]]+)\]/.exec(a.text);
          if (lost) inc(this.#lost, lost[2], Number(lost[1]));
          break;
        }
        case "run":
          if ((a.op === "take" || a.op === "give") && a.keys.length > 0) {
            this.#runs.set(a.id, { op: a.op, keys: new Set(a.keys) });
          }
          break;
        default:
          break;
      }
    }
  }

  /** The group runner begins the scripts of group `key` of run `id` (master/group_runner.ts). */
  groupBegin(id: number, key: string): void {
    this.#timeline.groupBegin(id, key, this.#now());
  }

  /** The failovers recorded, newest first. */
  failovers(): FailoverRecord[] {
    return this.#timeline.list();
  }

  /** The document. */
  document(): StatusDocument {
    const cfg = this.#cfg;
    const now = this.#now();
    const nc = this.#core;
    const core = nc?.membership;
    const self = cfg.nodeName;
    const order = cfg.nodeOrder;
    const rank = (n: string) => {
      const i = order.indexOf(n);
      return i < 0 ? order.length : i;
    };
    const names = (core?.nodeNames() ?? [self]).map((n, i) => ({ n, i }))
      .sort((a, b) => rank(a.n) - rank(b.n) || a.i - b.i).map((x) => x.n);
    const peers = nc?.peers;
    const nodes: StatusDocument["nodes"] = names.map((name) => {
      const ping = cfg.pingNodes.includes(name);
      const info = peers?.peer(name);
      const impl = ping ? "ping" : name === self ? "hb" : info?.implementation ?? "unknown";
      return {
        name,
        type: ping ? "ping" : "normal",
        status: core?.nodeStatus(name) ?? "init",
        implementation: impl,
        version: name === self ? cfg.version : info?.version ?? null,
        late_heartbeats: this.#late.get(name) ?? 0,
        lost_packets: this.#lost.get(name) ?? 0,
        retransmits_requested: this.#rexmitRequested.get(name) ?? 0,
      };
    });
    const links: StatusDocument["links"] = [];
    for (const name of names) {
      if (name === self || cfg.pingNodes.includes(name)) continue;
      cfg.links.forEach((link, ch) => {
        const at = this.#lastPacket.get(`${name}\n${ch}`);
        links.push({
          node: name,
          link,
          status: core?.linkStatus(name, link) ?? "dead",
          last_packet_age_ms: at === undefined ? null : Math.round(now - at),
          packets_received: this.#packets.get(`${name}\n${ch}`) ?? 0,
        });
      });
    }
    for (const p of cfg.pingNodes) {
      links.push({
        node: p,
        link: p,
        status: core?.nodeStatus(p) === "ping" ? "up" : "dead",
        last_packet_age_ms: null,
        packets_received: 0,
      });
    }
    const own = nc?.ownership;
    const holding = new Set(own?.holding ?? []);
    const starting = new Set<string>(), stopping = new Set<string>();
    for (const r of this.#runs.values()) {
      for (const k of r.keys) (r.op === "take" ? starting : stopping).add(k);
    }
    const groups: StatusDocument["groups"] = cfg.groups.map((g) => {
      let owner: string | null = null;
      let state: GroupState = "unowned";
      if (starting.has(g.key)) [owner, state] = [self, "starting"];
      else if (stopping.has(g.key)) [owner, state] = [self, "stopping"];
      else if (holding.has(g.key)) [owner, state] = [self, "running"];
      else {
        for (const n of names) {
          if (n === self || cfg.pingNodes.includes(n)) continue;
          const st = core?.nodeStatus(n);
          if (st !== "up" && st !== "active") continue;
          if (own?.peerHolding(n)?.includes(g.key)) {
            [owner, state] = [n, "running"];
            break;
          }
        }
        if (owner === null && this.#failed.has(g.key)) state = "failed";
      }
      return { group: g.key, preferred_node: g.node, owner, state };
    });
    const ownDigest = peers?.own;
    const drift: StatusDocument["drift"] = [];
    for (const [node, p] of peers?.peers() ?? []) {
      if (p.drift.length === 0 || ownDigest === undefined || p.digest === undefined) continue;
      drift.push({ node, parts: [...p.drift], ours: { ...ownDigest }, theirs: { ...p.digest } });
    }
    return {
      schema_version: STATUS_SCHEMA_VERSION,
      generated_at_ms: Date.now(),
      implementation: { name: "hb", version: cfg.version, heartbeat_version: cfg.heartbeatVersion },
      node: {
        name: self,
        status: core?.localStatus ?? "init",
        comm_up: core?.commUp ?? false,
        uptime_ms: Math.round(now - this.#startedAt),
        resources: nc?.rscstatus() ?? "none",
      },
      nodes,
      links,
      groups,
      monitors: this.#monitors?.monitors() ?? [],
      failovers: this.#timeline.list().map((f) => ({
        node: f.node,
        dead_at_ms: f.deadAtMs,
        silence_ms: f.silenceMs ?? null,
        fence_done_after_ms: f.fenceDoneAfterMs ?? null,
        fence_result: f.fenceResult ?? null,
        groups: f.groups.map((g) => ({
          group: g.group,
          take_started_after_ms: g.takeStartedAfterMs,
          done_after_ms: g.doneAfterMs ?? null,
          result: g.result ?? null,
        })),
        completed_after_ms: f.completedAfterMs ?? null,
        heard_again_after_ms: f.heardAgainAfterMs ?? null,
      })),
      config_digest: ownDigest ? { ...ownDigest } : null,
      drift,
      retransmits_sent: this.#rexmitSent,
    };
  }
}

function inc(m: Map<string, number>, k: string, by = 1): void {
  m.set(k, (m.get(k) ?? 0) + by);
}
