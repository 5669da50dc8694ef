/**
 * Prometheus metrics of the master (`metrics_listen ADDR:PORT` in hb.cf): `GET /metrics` in the
 * text exposition format, served by the master itself (`Deno.serve`, no extra process).
 *
 * Counters come from watching the master: every core step ({@link MasterMetrics.step}: our
 * heartbeats and retransmissions sent, heartbeats received per node and link, late heartbeats,
 * takeovers and their durations) and every log line ({@link MasterMetrics.logLine}: process
 * restarts). Gauges are read at scrape time from the core (node and link status), the
 * ownership layer (groups held), the packet codec (packets rejected, by reason) and the API
 * server (clients). Watching never changes what the master does.
 *
 * Takeovers: a `take` of resource groups counts when its last group reported back, labelled
 * with the reason (`mach_down`: a node died, `standby`: hb_standby/hb_takeover,
 * `ip-request-resp`: failback, …); its duration runs from the start of the take. A take for a
 * dead node is also a failover, whose duration runs from the moment the node was declared
 * dead to the last group started.
 *
 * @module
 */

import type { HbCore } from "../core/core.ts";
import type { NodeCoreAction, NodeCoreEvent } from "../core/node_core.ts";
import type { NodeStatus, Priority } from "../core/types.ts";
import type { ListenAddress } from "../config/hb_cf.ts";
import { DRIFT_PARTS, type PeerTracker } from "../core/drift.ts";
import type { RuntimeObserver } from "./observe.ts";
import { PROM_CONTENT_TYPE, PromWriter } from "./prom_text.ts";

/** What the metrics read at scrape time (the runtime fits). */
export interface MetricsSource {
  /** The membership core. */
  readonly core: HbCore;
  /** What this node holds (undefined without resource management). */
  heldState(): { held: string; holding: string[] } | undefined;
  /** Packets dropped by the codec, by reason. */
  readonly dropped: Record<string, number>;
  /** The API server, if any. */
  readonly api?: { readonly connectionCount: number } | undefined;
  /** Peers' implementations and configuration drift (core/drift.ts), when followed. */
  readonly nodeCore?: { readonly peers?: PeerTracker | undefined };
}

/** Static facts for {@link MasterMetrics}. */
export interface MetricsConfig {
  /** Our node name. */
  nodeName: string;
  /** Link names, in ha.cf order (channel index = position). */
  links: readonly string[];
  /** Resource group keys (haresources order). */
  groups: readonly string[];
  /** hb's version. */
  version: string;
  /** The Heartbeat version hb speaks. */
  heartbeatVersion: string;
  /** Clock in ms (default `performance.now`). */
  now?: () => number;
}

const STATUSES: readonly NodeStatus[] = ["init", "up", "active", "dead", "ping"];

/** A take under way: when it started and which groups have not reported yet. */
interface PendingTake {
  reason: string;
  startedAt: number;
  deadAt?: number;
  keys: Set<string>;
}

/** The master's metrics. */
export class MasterMetrics implements RuntimeObserver {
  readonly #cfg: MetricsConfig;
  readonly #now: () => number;
  #source: MetricsSource | undefined;
  #heartbeatsSent = 0;
  readonly #heartbeatsReceived = new Map<string, number>();
  /** Last packet from a node on a link: key `node\nlinkIndex`. */
  readonly #lastPacket = new Map<string, number>();
  readonly #late = new Map<string, number>();
  #rexmitRequested = 0;
  #rexmitSent = 0;
  readonly #deadAt = new Map<string, number>();
  readonly #pending = new Map<number, PendingTake>();
  readonly #takeovers = new Map<string, number>();
  #lastTakeoverSeconds: number | undefined;
  #failovers = 0;
  #lastFailoverSeconds: number | undefined;
  #coreRestarts = 0;
  #clientRestarts = 0;
  readonly #startedAt: number;

  /** Creates the metrics (reading starts with {@link attach}). */
  constructor(cfg: MetricsConfig) {
    this.#cfg = cfg;
    this.#now = cfg.now ?? (() => performance.now());
    this.#startedAt = Date.now() / 1000;
  }

  /** Sets what the gauges are read from. */
  attach(source: MetricsSource): void {
    this.#source = source;
  }

  /** Observer of the runtime: counts what one core step did. */
  step(ev: NodeCoreEvent, actions: readonly NodeCoreAction[]): void {
    const now = this.#now();
    if (ev.type === "message" && ev.origin.kind === "medium") {
      const src = ev.msg.get("src");
      if (src !== undefined && src !== this.#cfg.nodeName) {
        this.#lastPacket.set(`${src}\n${ev.origin.channel}`, now);
        if (ev.msg.type === "status") inc(this.#heartbeatsReceived, src);
      }
    } else if (ev.type === "group-result") {
      this.#groupResult(ev.id, ev.key, now);
    }
    for (const a of actions) {
      switch (a.type) {
        case "send":
          if (a.lost) break;
          if (a.msg.type === "status") this.#heartbeatsSent++;
          else if (a.msg.type === "NS_rexmit") this.#rexmitRequested++;
          break;
        case "rexmit":
          if (!a.lost) this.#rexmitSent++;
          break;
        case "log": {
          const m = /^Late heartbeat: Node (\S+):/.exec(a.text);
          if (m) inc(this.#late, m[1]);
          break;
        }
        case "node-status":
          if (a.status === "dead") this.#deadAt.set(a.node, now);
          break;
        case "run":
          if (a.op === "take" && a.keys.length > 0) {
            const dead = a.reason === "mach_down"
              ? Math.max(...[...this.#deadAt.values()], -Infinity)
              : undefined;
            this.#pending.set(a.id, {
              reason: a.reason,
              startedAt: now,
              ...(dead !== undefined && Number.isFinite(dead) ? { deadAt: dead } : {}),
              keys: new Set(a.keys),
            });
          }
          break;
        default:
          break;
      }
    }
  }

  /** Observer of the master's log lines: process restarts. */
  logLine(_prio: Priority, text: string): void {
    if (text.includes("Beginning communications restart process")) this.#coreRestarts++;
    else if (text.startsWith("Respawning client ")) this.#clientRestarts++;
  }

  #groupResult(id: number, key: string, now: number): void {
    const p = this.#pending.get(id);
    if (p === undefined) return;
    p.keys.delete(key);
    if (p.keys.size > 0) return;
    this.#pending.delete(id);
    inc(this.#takeovers, p.reason);
    this.#lastTakeoverSeconds = (now - p.startedAt) / 1000;
    if (p.reason === "mach_down") {
      this.#failovers++;
      this.#lastFailoverSeconds = (now - (p.deadAt ?? p.startedAt)) / 1000;
    }
  }

  /** Renders every metric in the text exposition format. */
  render(): string {
    const w = new PromWriter();
    const cfg = this.#cfg;
    const src = this.#source;
    const now = this.#now();
    w.family("hb_build_info", "gauge", "hb's version and the Heartbeat version it speaks.")
      .sample(1, {
        version: cfg.version,
        heartbeat_version: cfg.heartbeatVersion,
        deno: Deno.version.deno,
      });
    w.family("hb_start_time_seconds", "gauge", "When the master started (Unix time).")
      .sample(this.#startedAt);
    if (src !== undefined) {
      const core = src.core;
      const nodes = core.nodeNames();
      w.family(
        "hb_node_up",
        "gauge",
        "1 when the node is up, active or (ping node) reachable, as this node sees it.",
      );
      for (const n of nodes) {
        const st = core.nodeStatus(n);
        w.sample(st === "up" || st === "active" || st === "ping" ? 1 : 0, { node: n });
      }
      w.family("hb_node_status", "gauge", "1 for the node's current status, 0 for the others.");
      for (const n of nodes) {
        const st = core.nodeStatus(n);
        for (const s of STATUSES) w.sample(st === s ? 1 : 0, { node: n, status: s });
      }
      w.family("hb_link_up", "gauge", "1 when heartbeats from the node arrive on the link.");
      for (const n of nodes) {
        if (n === cfg.nodeName) continue;
        for (const l of cfg.links) {
          w.sample(core.linkStatus(n, l) === "up" ? 1 : 0, { node: n, link: l });
        }
      }
      w.family(
        "hb_link_last_packet_age_seconds",
        "gauge",
        "Seconds since the last packet from the node on the link (absent: none yet).",
      );
      for (const n of nodes) {
        cfg.links.forEach((l, ch) => {
          const at = this.#lastPacket.get(`${n}\n${ch}`);
          if (at !== undefined) w.sample(round3((now - at) / 1000), { node: n, link: l });
        });
      }
    }
    w.family("hb_heartbeats_sent_total", "counter", "Heartbeats (status messages) sent by us.")
      .sample(this.#heartbeatsSent);
    w.family("hb_heartbeats_received_total", "counter", "Heartbeats received, by sender.");
    for (const [n, v] of this.#heartbeatsReceived) w.sample(v, { node: n });
    w.family("hb_late_heartbeats_total", "counter", "Late heartbeats (past warntime), by node.");
    for (const [n, v] of this.#late) w.sample(v, { node: n });
    w.family(
      "hb_retransmissions_requested_total",
      "counter",
      "Retransmission requests we sent.",
    ).sample(this.#rexmitRequested);
    w.family("hb_retransmissions_sent_total", "counter", "Messages we retransmitted.")
      .sample(this.#rexmitSent);
    w.family("hb_packets_rejected_total", "counter", "Packets dropped by the master, by reason.");
    for (const [reason, v] of Object.entries(src?.dropped ?? {})) w.sample(v, { reason });
    w.family(
      "hb_takeovers_total",
      "counter",
      "Resource takeovers completed (all groups reported back), by reason.",
    );
    for (const [reason, v] of this.#takeovers) w.sample(v, { reason });
    w.family(
      "hb_takeover_last_duration_seconds",
      "gauge",
      "Duration of the last takeover, from its start to the last group started.",
    );
    if (this.#lastTakeoverSeconds !== undefined) w.sample(round3(this.#lastTakeoverSeconds));
    w.family("hb_failovers_total", "counter", "Takeovers of the groups of a node that died.")
      .sample(this.#failovers);
    w.family(
      "hb_failover_last_duration_seconds",
      "gauge",
      "Duration of the last failover, from the node declared dead to the last group started.",
    );
    if (this.#lastFailoverSeconds !== undefined) w.sample(round3(this.#lastFailoverSeconds));
    const held = src?.heldState();
    if (held !== undefined) {
      w.family("hb_group_owned", "gauge", "1 when this node holds the resource group.");
      for (const g of cfg.groups) w.sample(held.holding.includes(g) ? 1 : 0, { group: g });
    }
    const peers = src?.nodeCore?.peers;
    if (peers !== undefined) {
      w.family(
        "hb_peer_hb",
        "gauge",
        "1 when the peer runs hb (its heartbeats carry hbver), 0 for Heartbeat.",
      );
      for (const [n, p] of peers.peers()) {
        if (p.implementation !== "unknown") {
          w.sample(p.implementation === "hb" ? 1 : 0, { node: n });
        }
      }
      w.family(
        "hb_config_drift",
        "gauge",
        "1 when the hb peer's digest of this part of the configuration differs from ours.",
      );
      for (const [n, p] of peers.peers()) {
        if (p.implementation !== "hb" || p.digest === undefined) continue;
        for (const part of Object.values(DRIFT_PARTS)) {
          w.sample(p.drift.includes(part) ? 1 : 0, { node: n, part });
        }
      }
    }
    w.family("hb_api_clients", "gauge", "Connected client API connections.")
      .sample(src?.api?.connectionCount ?? 0);
    w.family("hb_process_restarts_total", "counter", "Processes restarted by the master.")
      .sample(this.#coreRestarts, { kind: "core" })
      .sample(this.#clientRestarts, { kind: "client" });
    return w.text();
  }
}

/** Options of {@link serveMetrics}. */
export interface ServeMetricsOptions {
  /** Where to listen. */
  listen: ListenAddress;
  /** The metrics. */
  metrics: MasterMetrics;
  /** Logging. */
  log: (prio: Priority, text: string) => void;
}

/**
 * Serves `GET /metrics` (everything else: 404). Returns the server, or undefined when the
 * address cannot be bound (logged: the cluster runs on without metrics).
 */
export function serveMetrics(opts: ServeMetricsOptions): Deno.HttpServer | undefined {
  const { listen, metrics, log } = opts;
  const shown = listen.hostname.includes(":")
    ? `[${listen.hostname}]:${listen.port}`
    : `${listen.hostname}:${listen.port}`;
  try {
    const server = Deno.serve({
      hostname: listen.hostname,
      port: listen.port,
      onListen: () => log("info", `Prometheus metrics on http://${shown}/metrics`),
      onError: (e) => {
        log("ERROR", `metrics: ${e instanceof Error ? e.message : e}`);
        return new Response("internal error\n", { status: 500 });
      },
    }, (req) => {
      const url = new URL(req.url);
      if (url.pathname !== "/metrics") return new Response("not found\n", { status: 404 });
      if (req.method !== "GET" && req.method !== "HEAD") {
        return new Response("method not allowed\n", { status: 405, headers: { allow: "GET" } });
      }
      return new Response(metrics.render(), { headers: { "content-type": PROM_CONTENT_TYPE } });
    });
    server.unref();
    return server;
  } catch (e) {
    log(
      "ERROR",
      `metrics_listen ${shown}: cannot listen: ${e instanceof Error ? e.message : e}; ` +
        "running without metrics",
    );
    return undefined;
  }
}

function inc(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
