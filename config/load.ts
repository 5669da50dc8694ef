/**
 * `loadConfig`: reads ha.cf, authkeys and haresources from a configuration
 * directory exactly in Heartbeat 3.0.6's order and decides whether the real
 * daemon would start (exit 0) or refuse (exit 6).
 *
 * @module
 */
import { type Authkeys, parseAuthkeys } from "./authkeys.ts";
import { HEARTBEAT_VERSION, OPTION_DIRECTIVES } from "./defaults.ts";
import type { Diagnostic } from "./diagnostics.ts";
import { HaCfParser } from "./ha_cf.ts";
import type { HaCfState } from "./types.ts";
import { checkHaresources, type Haresources, parseHaresources } from "./haresources.ts";
import { MEDIA_DESCRIPTIONS } from "./media.ts";
import { Reporter } from "./reporter.ts";
import { createRealSystemView, type SystemView } from "./system_view.ts";

/** `auto_failback` mode. */
export type AutoFailback = "on" | "off" | "legacy";

/** The effective configuration of a node, after defaults and computed values. */
export interface HaConfig extends Omit<HaCfState, "errors" | "crashes" | "directiveLines"> {
  /** Local node name (lower-cased). */
  nodeName: string;
  /** auto_failback mode. */
  autoFailback: AutoFailback;
  /** udpport parameter as a number. */
  udpport: number;
  /** Node names (normal nodes only, lower-cased, in order, duplicates kept). */
  nodeNames: string[];
}

/** Everything loaded from the configuration directory. */
export interface LoadedConfig {
  /** ha.cf. */
  ha: HaConfig;
  /** authkeys. */
  authkeys: Authkeys;
  /** haresources (undefined with resource management off). */
  haresources?: Haresources;
  /** Directory as Heartbeat prints it, with trailing slash. */
  displayDir: string;
}

/** Options of {@link loadConfig}. */
export interface LoadOptions {
  /** Configuration directory (default `/etc/ha.d`). */
  dir?: string;
  /**
   * Directory as Heartbeat prints it in messages (default: `dir` plus a
   * trailing slash, so `/etc/ha.d/` gives `/etc/ha.d//ha.cf`).
   */
  displayDir?: string;
  /** Local node name (default: first line of DIR/nodeinfo, else `uname -n`; lower-cased). */
  nodeName?: string;
  /** Resource management (false for `-M`; default true). */
  resourceManagement?: boolean;
  /** Command-line debug level (`-d` count, default 0). */
  debugLevel?: number;
  /** Environment (default: the real one). */
  system?: SystemView;
  /**
   * Keep checking after the point where Heartbeat stops (used by `check`).
   * Later diagnostics are still returned, the exit code is unchanged.
   */
  exhaustive?: boolean;
}

/** Result of {@link loadConfig}. */
export interface LoadResult {
  /** True when Heartbeat would start. */
  ok: boolean;
  /** The configuration (present when ok, and in exhaustive mode when ha.cf parsed). */
  config?: LoadedConfig;
  /** Diagnostics in Heartbeat's order. */
  diagnostics: Diagnostic[];
  /** 0 = would start, 6 = refused (LSB "not configured"). */
  exitCode: 0 | 6;
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/** Reads the local node name like Heartbeat: DIR/nodeinfo first line, else uname -n; lower-cased. */
export function localNodeName(sys: SystemView, dir: string): string {
  const ni = sys.readTextFile(joinPath(dir, "nodeinfo"));
  if (ni !== undefined) {
    const nl = ni.indexOf("\n");
    if (nl > 0) return ni.slice(0, nl).toLowerCase();
  }
  return sys.hostname().toLowerCase();
}

/** Loads and validates a configuration directory like `heartbeat` does at start-up. */
export function loadConfig(opts: LoadOptions = {}): LoadResult {
  const sys = opts.system ?? createRealSystemView();
  const dir = opts.dir ?? "/etc/ha.d";
  const displayDir = opts.displayDir ?? (dir.endsWith("/") ? dir : dir + "/");
  const nodeName = (opts.nodeName ?? localNodeName(sys, dir)).toLowerCase();
  const manage = opts.resourceManagement ?? true;
  const rep = new Reporter();
  const cfPath = joinPath(dir, "ha.cf");
  const akPath = joinPath(dir, "authkeys");
  const hrPath = joinPath(dir, "haresources");
  let refused = false;
  const refuse = (extra: string[]) => {
    if (refused) return;
    rep.at(undefined);
    for (const t of extra) {
      rep.emit(
        "ERROR",
        t,
        t === "Heartbeat not started: configuration error."
          ? "ha.cf has errors"
          : "start-up refused",
        undefined,
        { continuation: true },
      );
    }
    refused = true;
  };
  const fail = (): LoadResult => ({ ok: false, diagnostics: rep.diagnostics, exitCode: 6 });

  const cfText = sys.readTextFile(cfPath);
  if (cfText === undefined) {
    rep.at(cfPath, undefined, "ha.cf");
    rep.emit(
      "ERROR",
      `Cannot open config file [${displayDir}/ha.cf]`,
      "file missing or unreadable",
      "an ha.cf file",
    );
    rep.follow("info", [
      `An annotated sample ${displayDir}/ha.cf file is provided in the documentation.`,
      `Please copy it to ${displayDir}/ha.cf, read it, customize it, and try again.`,
    ]);
    refuse([
      "Heartbeat not started: configuration error.",
      "Configuration error, heartbeat not started.",
    ]);
    return fail();
  }
  const parser = new HaCfParser({
    text: cfText,
    displayPath: `${displayDir}/ha.cf`,
    explainPath: cfPath,
    displayDir,
    nodeName,
    manageResources: manage,
    debugLevel: opts.debugLevel ?? 0,
    sys,
    rep,
    haresourcesExists: sys.stat(hrPath) !== undefined,
  });
  const st = parser.parse();
  if (st.errors > 0 || st.crashes) {
    if (st.errors > 0) {
      refuse([
        "Heartbeat not started: configuration error.",
        "Configuration error, heartbeat not started.",
      ]);
    } else refused = true;
    if (!opts.exhaustive) return fail();
  }

  const akStat = sys.stat(akPath);
  const authkeys = parseAuthkeys({
    text: akStat?.isFile ? sys.readTextFile(akPath) : undefined,
    mode: akStat?.mode,
    displayPath: `${displayDir}/authkeys`,
    explainPath: akPath,
    rep,
  });
  if (!authkeys) {
    rep.at(akPath, undefined, "authkeys");
    rep.emit("ERROR", "Authentication configuration error.", "authkeys rejected", undefined, {
      continuation: true,
    });
    refuse(["Configuration error, heartbeat not started."]);
    if (!opts.exhaustive) return fail();
  }

  // init_config after authkeys: defaults, then the checks in Heartbeat's order.
  parser.applyDefaults();
  if (!st.params.has("debug")) st.params.set("debug", String(opts.debugLevel ?? 0));
  let errs = 0;
  const err = (text: string | string[], what: string, allowed?: string, directive?: string) => {
    rep.at(cfPath, directive ? st.directiveLines.get(directive) : undefined, directive);
    rep.emit("ERROR", text, what, allowed);
    errs++;
  };
  if (st.media.length < 1) {
    err(
      "No heartbeat media defined",
      "no communication medium declared",
      "at least one bcast/mcast/ucast/serial/ping line",
      "media",
    );
  }
  if (st.warntimeMs <= 0) {
    st.warntimeMs = Math.trunc(st.deadtimeMs / 2);
    st.params.set("warntime", `${st.warntimeMs}ms`);
  }
  if (st.nodes.length < 1 && st.autojoin !== "any") {
    err("no nodes defined", "no node declared", "one or more 'node NAME' lines", "node");
  }
  if (!st.nodes.some((n) => n.name === nodeName)) {
    if (st.autojoin === "any") {
      st.nodes.push({ name: nodeName, type: "normal" });
      rep.at(cfPath, undefined, "node");
      rep.emit(
        "notice",
        `Current node [${nodeName}] added to configuration.`,
        "local node added by autojoin any",
        undefined,
        { fatal: false },
      );
    } else {
      err(
        `Current node [${nodeName}] not in configuration!`,
        `this node's name '${nodeName}' (uname -n, lower-cased) is not declared`,
        `a 'node ${nodeName}' line`,
        "node",
      );
      rep.follow("info", [
        "By default, cluster nodes are named by `uname -n` and must be declared with a 'node' directive in the ha.cf file.",
        "See also: http://linux-ha.org/wiki/Ha.cf#node_directive",
      ]);
    }
  }
  if (st.deadtimeMs <= 2 * st.keepaliveMs) {
    err(
      `Dead time [${st.deadtimeMs}] is too small compared to keeplive [${st.keepaliveMs}]`,
      `deadtime ${st.deadtimeMs} ms is not greater than 2 x keepalive (${2 * st.keepaliveMs} ms)`,
      `deadtime > ${2 * st.keepaliveMs} ms`,
      "deadtime",
    );
  }
  if (st.initdeadMs < 0) {
    st.initdeadMs = st.deadtimeMs > 10000
      ? st.deadtimeMs
      : st.deadtimeMs < 6000
      ? 12000
      : 2 * st.deadtimeMs;
    st.params.set("initdead", `${st.initdeadMs}ms`);
  }
  if (st.initdeadMs < st.deadtimeMs) {
    err(
      `Initial dead time [${st.initdeadMs}] is smaller than deadtime [${st.deadtimeMs}]`,
      `initdead ${st.initdeadMs} ms is smaller than deadtime ${st.deadtimeMs} ms`,
      `initdead >= ${st.deadtimeMs} ms (and >= 10 s recommended)`,
      "initdead",
    );
  } else if (st.initdeadMs < 10000) {
    rep.at(cfPath, st.directiveLines.get("initdead"), "initdead");
    rep.emit(
      "WARN",
      `Initial dead time [${st.initdeadMs} ms] may be too small!`,
      `initdead ${st.initdeadMs} ms is below 10 s`,
      "initdead >= deadtime and >= 10 s",
      {
        fatal: false,
      },
    );
    rep.follow("info", [
      "Initial dead time accounts for slow network startup time",
      "It should be >= deadtime and >= 10 seconds",
    ]);
  }
  if (st.deadpingMs < 0) {
    st.deadpingMs = st.deadtimeMs;
    st.params.set("deadping", `${st.deadpingMs}ms`);
  } else if (st.deadpingMs <= 2 * st.keepaliveMs) {
    err(
      `Ping dead time [${st.deadpingMs}] is too small compared to keeplive [${st.keepaliveMs}]`,
      `deadping ${st.deadpingMs} ms is not greater than 2 x keepalive`,
      `deadping > ${2 * st.keepaliveMs} ms`,
      "deadping",
    );
  }
  if (!st.params.has("udpport")) {
    st.params.set("udpport", String(sys.serviceByName("ha-cluster", "udp") ?? 694));
  }
  rep.at(cfPath, undefined, "auto_failback");
  if (!st.niceFailback && st.manageResources) {
    rep.emit(
      "WARN",
      "Deprecated 'legacy' auto_failback option selected.",
      "auto_failback is legacy (the default)",
      "auto_failback on or off",
      { fatal: false },
    );
    rep.follow("WARN", [
      "Please convert to 'auto_failback on'.",
      "See documentation for conversion details.",
    ]);
  }
  rep.at(cfPath, undefined, "use_logd");
  const noLogs = st.logfile === "" && st.debugfile === "" && st.logFacility <= 0;
  if (noLogs) {
    if (st.useLogd === undefined) {
      rep.emit(
        "info",
        "No log entry found in ha.cf -- use logd",
        "no logfile/debugfile/logfacility: messages go to ha_logd only",
        "logfile, debugfile or logfacility",
        {
          fatal: false,
        },
      );
      parser.addOption("use_logd", "yes");
    } else if (!st.useLogd) {
      err(
        "No log entry found in ha.cf and use_logd is set to off",
        "no log destination at all",
        "logfile, debugfile, logfacility or use_logd on",
        "use_logd",
      );
    }
  } else if (!st.useLogd) {
    rep.emit(
      "WARN",
      "Logging daemon is disabled --enabling logging daemon is recommended",
      "use_logd is off",
      undefined,
      { fatal: false },
    );
  } else {
    rep.emit(
      "WARN",
      `logd is enabled but logfile/debugfile${
        st.logFacility > 0 ? "/logfacility" : ""
      } is still configured in ha.cf`,
      "use_logd on together with direct log targets",
      undefined,
      { fatal: false },
    );
  }
  if (st.logFacility > 0) {
    if (st.logfile === "") st.params.set("logfile", "/dev/null");
    if (st.debugfile === "") st.params.set("debugfile", "/dev/null");
  }
  if (st.manageResources && st.autojoin !== "none") {
    err(
      [
        "R1 style resource management conflicts with  autojoin set",
        "You need either unset autojoin or enable crm",
      ],
      `autojoin ${st.autojoin} cannot be used with haresources`,
      "autojoin none (or start with -M)",
      "autojoin",
    );
  }
  if (errs > 0) {
    refuse(["Configuration error, heartbeat not started."]);
    if (!opts.exhaustive) return fail();
  }
  if (!refused) {
    rep.at(undefined);
    rep.emit("info", "**************************", "configuration validated", undefined, {
      fatal: false,
      noise: true,
    });
    rep.emit(
      "info",
      `Configuration validated. Starting heartbeat ${HEARTBEAT_VERSION}`,
      "configuration validated",
      undefined,
      {
        fatal: false,
        noise: true,
      },
    );
  }
  let haresources: Haresources | undefined;
  if (st.manageResources) {
    const text = sys.readTextFile(hrPath);
    const good = checkHaresources({
      text,
      displayPath: `${displayDir}/haresources`,
      explainPath: hrPath,
      nodes: st.nodes.map((n) => n.name),
      rep,
    });
    if (text !== undefined) haresources = parseHaresources(text, rep, hrPath);
    if (!good) refuse(["Configuration error, heartbeat not started."]);
  }
  const ha: HaConfig = {
    ...st,
    nodeName,
    autoFailback: st.niceFailback ? (st.autoFailbackOn ? "on" : "off") : "legacy",
    udpport: Number(st.params.get("udpport")),
    nodeNames: st.nodes.filter((n) => n.type === "normal").map((n) => n.name),
  };
  delete (ha as Partial<HaCfState>).errors;
  delete (ha as Partial<HaCfState>).crashes;
  delete (ha as Partial<HaCfState>).directiveLines;
  const config = authkeys ? { ha, authkeys, haresources, displayDir } : undefined;
  return refused
    ? { ok: false, config, diagnostics: rep.diagnostics, exitCode: 6 }
    : { ok: true, config, diagnostics: rep.diagnostics, exitCode: 0 };
}

/** `heartbeat -v` output for a loaded configuration (each line ends with `\n`). */
export function formatVerbose(config: LoadedConfig): string {
  const ha = config.ha;
  let s = `#\n#\tLinux-HA heartbeat configuration (on ${ha.nodeName})\n#\n`;
  s += "\n#---------------------------------------------------\n";
  s += "#\n#\tHA configuration and status\n#\n";
  for (const d of OPTION_DIRECTIVES) {
    const v = ha.params.get(d.name);
    if (!d.recorded || v === undefined) continue;
    s += `${d.name}\t${v}${d.explanation ? `\t#\t${d.explanation}` : ""}\n`;
  }
  s += "#\n#\tHA Cluster nodes:\n#\n";
  for (const n of ha.nodes) s += `node ${n.name}\t#\t current status: init\n`;
  s += "#\n#\tCommunications media:\n";
  for (const m of ha.media) {
    s += "#\n";
    s += `# ${MEDIA_DESCRIPTIONS[m.type]} heartbeat channel -------------\n`;
    s += `${m.type} ${m.linkName}\n`;
  }
  s += "#---------------------------------------------------\n";
  return s;
}
