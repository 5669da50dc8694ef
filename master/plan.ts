/**
 * From a loaded configuration to what the master runs: the start-up
 * diagnostics as Heartbeat prints them, the logging targets, the core's
 * configuration and the media workers' specs.
 *
 * @module
 */

import { configDigest } from "./config_digest.ts";
import { HB_VERSION } from "./version.ts";
import { loadConfig, type LoadedConfig, type LoadResult } from "../config/load.ts";
import { formatVerbose as configVerbose } from "../config/load.ts";
import { MSGFMT, REFUSED_START_TIMING } from "../config/defaults.ts";
import { type Diagnostic, heartbeatLines } from "../config/diagnostics.ts";
import type { Medium } from "../config/media.ts";
import type { MsgFmt } from "../config/types.ts";
import { createRealSystemView, type SystemView } from "../config/system_view.ts";
import type { CoreConfig } from "../core/types.ts";
import { logLine as hbLog } from "./log_bridge.ts";
import type { AuthKeys } from "../wire/auth.ts";
import { linkName, type MediumSpec } from "../workers/media_spec.ts";
import type { RuntimePlan } from "./runtime.ts";
import type { ApiBackendConfig } from "./api_backend.ts";
import { toRmGroups } from "./group_runner.ts";
import type { RealtimeSetupConfig } from "../sys/realtime_setup.ts";

export { HEARTBEAT_VERSION, HEARTBEAT_VERSION_LINE } from "./version.ts";

/** A configuration loaded for starting (or refusing to start) the daemon. */
export interface StartConfig {
  /** True when Heartbeat would start. */
  ok: boolean;
  /** Diagnostics in Heartbeat's order. */
  diagnostics: Diagnostic[];
  /** The loaded configuration (when ok). */
  loaded?: LoadedConfig;
  /** Logging targets. */
  logging: {
    logfile?: string;
    debugfile?: string;
    facility?: string;
    syslogmsgfmt: boolean;
    debugLevel?: number;
  };
  /** The core's configuration, without identity (generation, uuid). */
  core: Omit<CoreConfig, "generation" | "uuid">;
  /** Media workers. */
  media: MediumSpec[];
  /** Media that workers cannot run yet (named in a log line at start). */
  unsupported: string[];
  /** Keys. */
  keys: AuthKeys;
  /** Wire format. */
  msgfmt: MsgFmt;
  /** `HA_<name>` environment for children. */
  env: Record<string, string>;
  /**
   * Modification times (ms since the epoch) of ha.cf and authkeys, taken just before they
   * were read: a reload compares them (config-and-cli §5.4). Undefined when unreadable.
   */
  mtimes: { haCf?: number; authkeys?: number };
}

/** Modification time of `path` in ms since the epoch, undefined when it cannot be read. */
export function mtimeOf(path: string): number | undefined {
  try {
    return Deno.statSync(path).mtime?.getTime();
  } catch {
    return undefined;
  }
}

/** Loads the configuration directory for a start (or a reload check). */
export function loadForStart(
  opts: { confDir: string; manageResources: boolean; debug: number; system?: SystemView },
): StartConfig {
  const system = opts.system ?? createRealSystemView();
  const mtimes = {
    haCf: mtimeOf(`${opts.confDir}/ha.cf`),
    authkeys: mtimeOf(`${opts.confDir}/authkeys`),
  };
  const r: LoadResult = loadConfig({
    dir: opts.confDir,
    resourceManagement: opts.manageResources,
    debugLevel: opts.debug,
    system,
  });
  const empty: StartConfig = {
    ok: false,
    diagnostics: r.diagnostics,
    logging: { syslogmsgfmt: true },
    core: {
      nodeName: "",
      nodes: [],
      pingNodes: [],
      links: [],
      ...REFUSED_START_TIMING,
    },
    media: [],
    unsupported: [],
    keys: { active: 1, keys: new Map() },
    msgfmt: MSGFMT,
    env: {},
    mtimes,
  };
  const c = r.config;
  if (!c) return { ...empty, logging: partialLogging(opts.confDir, r.diagnostics) };
  const ha = c.ha;
  const logging = {
    logfile: nonNull(ha.logfile),
    debugfile: nonNull(ha.debugfile),
    facility: ha.logFacility > 0 ? ha.logFacilityName : undefined,
    syslogmsgfmt: ha.syslogmsgfmt,
    debugLevel: ha.debugLevel,
  };
  const media: MediumSpec[] = [];
  const unsupported: string[] = [];
  for (const m of ha.media) {
    const spec = toSpec(m, system);
    if (spec) media.push(spec);
    else if (m.type !== "ping" && m.type !== "ping6" && m.type !== "ping_group") {
      unsupported.push(`${m.type} ${m.linkName}`);
    }
  }
  const pingNodes = ha.nodes.filter((n) => n.type === "ping").map((n) => n.name);
  const nodeNames = [...new Set(ha.nodeNames)];
  const env: Record<string, string> = {};
  for (const [k, v] of ha.params) env[`HA_${k}`] = v;
  Object.assign(env, ha.env);
  // what Heartbeat sets for all its children (config-and-cli.md §2.7)
  const haDir = opts.confDir.endsWith("/") ? opts.confDir : `${opts.confDir}/`;
  Object.assign(env, {
    HA_CURHOST: ha.nodeName,
    HA_DIR: haDir,
    HA_FUNCS: `${haDir}/shellfuncs`,
    HA_DATEFMT: "%Y/%m/%d_%T\t",
    HA_LOGFILE: logging.logfile ?? "",
    HA_DEBUGLOG: logging.debugfile ?? "",
    HA_LOGD: "no",
    OCF_ROOT: "/usr/lib/ocf",
  });
  if (logging.facility) env.HA_LOGFACILITY = logging.facility;
  if (ha.autoFailback !== "legacy") env.HA_NICEFAILBACK = "yes";
  const keys: AuthKeys = {
    active: c.authkeys.activeIndex,
    keys: new Map(
      [...c.authkeys.keys].map(([i, k]) => [i, { method: k.method, secret: k.secret }]),
    ),
  };
  return {
    ok: r.ok,
    diagnostics: r.diagnostics,
    loaded: c,
    logging,
    core: {
      nodeName: ha.nodeName,
      nodes: nodeNames,
      pingNodes,
      links: media.map(linkName),
      keepaliveMs: ha.keepaliveMs,
      deadtimeMs: ha.deadtimeMs,
      warntimeMs: ha.warntimeMs,
      initdeadMs: ha.initdeadMs,
      deadpingMs: ha.deadpingMs,
      hopfudge: ha.hopfudge,
    },
    media,
    unsupported,
    keys,
    msgfmt: ha.msgfmt,
    env,
    mtimes,
  };
}

/**
 * The log targets of a refused ha.cf: Heartbeat applies `logfile`, `debugfile` and
 * `logfacility` as it reads them, so the errors found after those lines (and the refusal)
 * reach the targets they name. Lines from the first ha.cf error on are not applied.
 */
function partialLogging(confDir: string, diagnostics: Diagnostic[]): StartConfig["logging"] {
  const logging: StartConfig["logging"] = { syslogmsgfmt: true };
  let text: string;
  try {
    text = Deno.readTextFileSync(`${confDir}/ha.cf`);
  } catch {
    return logging;
  }
  const firstError =
    diagnostics.find((d) =>
      d.fatal && d.line !== undefined && d.file !== undefined && d.file.endsWith("ha.cf")
    )?.line ?? Infinity;
  text.split("\n").forEach((raw, i) => {
    if (i + 1 >= firstError) return;
    const line = raw.replace(/#.*$/, "").trim();
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m) return;
    const [key, value] = [m[1].toLowerCase(), m[2].trim()];
    if (key === "logfile") logging.logfile = nonNull(value);
    else if (key === "debugfile") logging.debugfile = nonNull(value);
    else if (key === "logfacility") logging.facility = value === "none" ? undefined : value;
  });
  return logging;
}

function nonNull(path: string): string | undefined {
  if (!path || path.toLowerCase() === "/dev/null") return undefined;
  return path;
}

function toSpec(m: Medium, system: SystemView): MediumSpec | undefined {
  const iface = (name: string) => system.interfaces().find((i) => i.name === name);
  switch (m.type) {
    case "bcast": {
      const bc = iface(m.ifname)?.ipv4.find((a) => a.broadcast)?.broadcast;
      if (!bc) return undefined;
      return { type: "bcast", ifname: m.ifname, port: m.port, broadcast: bc };
    }
    case "ucast":
      return { type: "ucast", ifname: m.ifname, port: m.port, peer: m.peerAddress };
    case "mcast": {
      const addr = iface(m.ifname)?.ipv4[0]?.address;
      if (!addr) return undefined;
      return {
        type: "mcast",
        ifname: m.ifname,
        ifaddr: addr,
        group: m.group,
        port: m.port,
        ttl: m.ttl,
        loop: m.loop !== 0,
      };
    }
    case "ucast6":
      return { type: "ucast6", ifname: m.ifname, port: m.port, peer: m.peer };
    case "mcast6": {
      // PORT is a number or a udp service name (the plugin resolves it with getaddrinfo)
      const port = /^\d+$/.test(m.port) ? Number(m.port) : system.serviceByName(m.port, "udp");
      if (port === undefined || port > 65535) return undefined;
      return {
        type: "mcast6",
        ifname: m.ifname,
        group: m.group,
        port,
        hops: m.hops,
        loop: m.loop !== 0,
      };
    }
    case "serial":
      return { type: "serial", device: m.device, baud: m.baud };
    case "ping":
      return m.address ? { type: "ping", host: m.host, address: m.address } : undefined;
    case "ping_group": {
      const hosts = m.hosts.map((host) => ({
        host,
        address: /^\d+\.\d+\.\d+\.\d+$/.test(host) ? host : system.resolveHostV4(host),
      })).filter((h): h is { host: string; address: string } => h.address !== undefined);
      return { type: "ping_group", name: m.group, hosts };
    }
    default:
      return undefined;
  }
}

/** Identity of this start. */
export interface StartIdentity {
  /** 16-byte uuid. */
  uuid: Uint8Array;
  /** Generation number. */
  generation: number;
  /** FIFO path. */
  fifo: string;
  /** API socket path (no API server when absent). */
  apiSocket?: string;
  /** Configuration directory (for resource.d). */
  confDir?: string;
  /** Quick restart (`-R [-C <held>]`): what the previous image held (see core/node_core.ts). */
  restart?: { held?: string; holding?: readonly string[] };
}

/** The runtime plan for a validated configuration. */
export function toRuntimePlan(cfg: StartConfig, id: StartIdentity): RuntimePlan {
  return {
    core: { ...cfg.core, uuid: id.uuid, generation: id.generation },
    media: cfg.media,
    keys: cfg.keys,
    msgfmt: cfg.msgfmt,
    fifo: id.fifo,
    env: cfg.env,
    clients: cfg.loaded?.ha.clients ?? [],
    api: id.apiSocket && cfg.loaded ? { socket: id.apiSocket, backend: apiConfig(cfg) } : undefined,
    resources: resourcesConfig(cfg, id),
    stonith: cfg.loaded?.ha.stonith,
    watchdog: cfg.loaded?.ha.watchdog,
    realtime: realtimeConfig(cfg),
    identity: { version: HB_VERSION, digest: configDigest(cfg) },
  };
}

/** `realtime`, `rtprio`, `memreserve` of ha.cf (undefined without a loaded configuration). */
export function realtimeConfig(cfg: StartConfig): RealtimeSetupConfig | undefined {
  const ha = cfg.loaded?.ha;
  if (!ha) return undefined;
  return {
    realtime: ha.realtime,
    memreserveKb: ha.memreserveKb,
    ...(ha.rtprio !== undefined ? { rtprio: ha.rtprio } : {}),
  };
}

function resourcesConfig(cfg: StartConfig, id: StartIdentity): RuntimePlan["resources"] {
  const hr = cfg.loaded?.haresources;
  if (!hr) return undefined;
  const rmGroups = toRmGroups(hr.groups);
  return {
    groups: rmGroups.map((g) => ({ node: g.node, key: g.key })),
    rmGroups,
    autoFailback: cfg.loaded!.ha.autoFailback,
    pid: Deno.pid,
    stonith: cfg.loaded!.ha.stonith !== undefined,
    resourceDir: `${id.confDir ?? "/etc/ha.d"}/resource.d`,
    ...(id.restart ? { restart: id.restart } : {}),
  };
}

function apiConfig(cfg: StartConfig): ApiBackendConfig {
  const ha = cfg.loaded!.ha;
  const pingTypes = new Set(["ping", "ping6", "ping_group"]);
  return {
    nodeName: cfg.core.nodeName,
    deadtimeMs: cfg.core.deadtimeMs,
    keepaliveMs: cfg.core.keepaliveMs,
    pacemaker: ha.params.get("pacemaker") ?? "false",
    logFacility: ha.logFacility,
    msgfmt: ha.msgfmt,
    apiauth: ha.apiauth,
    params: ha.params,
    links: cfg.media.filter((m) => !pingTypes.has(m.type)).map(linkName),
    coreLinks: cfg.core.links,
    pingNodes: cfg.core.pingNodes,
    nodeOrder: ha.nodes.map((n) => n.name),
  };
}

/**
 * Writes the start-up diagnostics: to stderr and the configured log targets. `skip` leaves
 * lines out (a reload prints neither the start banner nor the start-up refusal line).
 */
export function emitDiagnostics(
  cfg: StartConfig,
  opts: { skip?: (text: string) => boolean } = {},
): void {
  for (const d of cfg.diagnostics) {
    if (d.stderrOnly) {
      // Heartbeat's console-only noise ("udpport setting must precede media
      // statements" on correct files) is left out: it never reaches a log.
      if (d.noise) continue;
      const text = d.text.join("\n");
      Deno.stderr.writeSync(new TextEncoder().encode(d.noNewline ? text : text + "\n"));
      continue;
    }
    for (const t of d.text) if (!opts.skip?.(t)) hbLog(d.level, t);
  }
}

/** `heartbeat -v` output. */
export function formatVerbose(cfg: StartConfig): string {
  return cfg.loaded ? configVerbose(cfg.loaded) : "";
}

/** `heartbeat -D` / `-DW` output. */
export { formatDefaults } from "../config/defaults.ts";

/** Heartbeat's lines for a diagnostic (re-exported for the check command). */
export { heartbeatLines };
