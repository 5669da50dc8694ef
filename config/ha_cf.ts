/**
 * The `ha.cf` parser and start-up validation of Heartbeat 3.0.6
 * (heartbeat/config.c `parse_config` and `init_config`), reproduced
 * message for message.
 *
 * @module
 */
import {
  OPTION_DIRECTIVES,
  optionDirective,
  PER_TOKEN_MEDIA,
  WHOLE_LINE_DIRECTIVES,
  WHOLE_LINE_MEDIA,
} from "./defaults.ts";
import { type Medium, newTokenMedium, parseLineMedium } from "./media.ts";
import type { Reporter } from "./reporter.ts";
import { isExecutable, type SystemView } from "./system_view.ts";
import { atoi, parseBoolean, parseTimeMs } from "./values.ts";

/** MAXLINE of the cluster-glue build: fgets reads at most this minus one byte. */
export const MAXLINE = 5120;
const MAXNODE = 100;
const MAXMEDIA = 64;
const WHITESPACE = " \t\n\r\f";
const DELIMS = ", \t\n\r\f";

/** A declared cluster member or ping pseudo-node. */
export interface NodeDecl {
  /** Lower-cased node name. */
  name: string;
  /** `normal` for `node`, `ping` for ping / ping_group pseudo-nodes. */
  type: "normal" | "ping";
}

/** One `apiauth` entry. */
export interface ApiAuthEntry {
  /** API client name. */
  client: string;
  /** Allowed uids (resolved), or undefined when no uid list. */
  uids?: number[];
  /** Allowed gids (resolved), or undefined when no gid list. */
  gids?: number[];
  /** True for Heartbeat's built-in entries added after the file. */
  builtin: boolean;
}

/** A `respawn` / `failfast` client. */
export interface ClientChild {
  /** User to run as. */
  user: string;
  /** Its uid. */
  uid: number;
  /** Its primary gid. */
  gid: number;
  /** Whole command (run as `/bin/sh -c "exec <command>"`). */
  command: string;
  /** First word of the command (must be executable). */
  path: string;
  /** `failfast` (reboot if it dies) rather than `respawn`. */
  failfast: boolean;
}

/** The STONITH device applicable to this node (the last applicable line wins). */
export interface StonithConfig {
  /** Which directive declared it. */
  directive: "stonith" | "stonith_host";
  /** Plugin type (`null`, `ssh`, `external/ipmi`, …). */
  type: string;
  /** For `stonith`: the config file. */
  configFile?: string;
  /** For `stonith_host`: the plugin parameters, white-space separated. */
  params?: string[];
  /** For `stonith_host`: the host field (`*` or a node name, lower-cased). */
  host?: string;
}

/** Pacemaker directive value, decoded. */
export type PacemakerMode = "off" | "on" | "minimal" | "respawn" | "valgrind" | "ccm-only";

/** Everything heartbeat's `sys_config` holds after ha.cf (before or after defaults). */
export interface HaCfState {
  /** Recorded parameters in recording order: exactly the strings `HA_<name>` gets. */
  params: Map<string, string>;
  /** Keepalive in ms. */
  keepaliveMs: number;
  /** Deadtime in ms. */
  deadtimeMs: number;
  /** Warntime in ms (0 = not set). */
  warntimeMs: number;
  /** Initdead in ms (-1 = not set). */
  initdeadMs: number;
  /** Deadping in ms (-1 = not set). */
  deadpingMs: number;
  /** Hop fudge. */
  hopfudge: number;
  /** Nodes and ping nodes, in declaration order (duplicates kept). */
  nodes: NodeDecl[];
  /** Media in declaration order. */
  media: Medium[];
  /** Log facility value (-1 = not given; 0 = none/kern = no syslog). */
  logFacility: number;
  /** Log facility name as given. */
  logFacilityName?: string;
  /** Log file ("" = not given). */
  logfile: string;
  /** Debug file ("" = not given). */
  debugfile: string;
  /** Nice-failback mode (auto_failback on/off). */
  niceFailback: boolean;
  /** auto_failback value when in nice-failback mode. */
  autoFailbackOn: boolean;
  /** Watchdog device. */
  watchdog?: string;
  /** Debug level. */
  debugLevel: number;
  /** Realtime priority, if given. */
  rtprio?: number;
  /** Generation method. */
  hbgenmethod: "file" | "time";
  /** Realtime on/off. */
  realtime: boolean;
  /** Wire format. */
  msgfmt: "classic" | "netstring";
  /** use_logd as given (undefined = not given). */
  useLogd?: boolean;
  /** conn_logd_time in ms. */
  connLogdTimeMs: number;
  /** log_badpack. */
  logBadpack: boolean;
  /** syslogmsgfmt. */
  syslogmsgfmt: boolean;
  /** coredumps. */
  coredumps: boolean;
  /** use_apphbd. */
  useApphbd: boolean;
  /** autojoin. */
  autojoin: "none" | "other" | "any";
  /** uuidfrom. */
  uuidfrom: "file" | "nodename";
  /** Compression module. */
  compression: string;
  /** Compression threshold (KB). */
  compressionThresholdKb: number;
  /** traditional_compression. */
  traditionalCompression: boolean;
  /** max_rexmit_delay (ms). */
  maxRexmitDelayMs: number;
  /** memreserve (KB). */
  memreserveKb: number;
  /** Cluster name. */
  cluster: string;
  /** Environment set by `env` directives (`HA_` prefixed names). */
  env: Record<string, string>;
  /** API authorisations by client name, in insertion order. */
  apiauth: Map<string, ApiAuthEntry>;
  /** respawn / failfast clients in file order. */
  clients: ClientChild[];
  /** Applicable STONITH device. */
  stonith?: StonithConfig;
  /** Pacemaker mode. */
  pacemaker: PacemakerMode;
  /** Resource management (haresources) enabled. */
  manageResources: boolean;
  /** Line of the last occurrence of each directive (for explanations of later checks). */
  directiveLines: Map<string, number>;
  /** Number of errors counted by the parser. */
  errors: number;
  /** A whole-line medium was accepted without a medium: the real daemon segfaults. */
  crashes: boolean;
}

/** Inputs of {@link parseHaCf}. */
export interface HaCfInput {
  /** File text. */
  text: string;
  /** Path as Heartbeat prints it (`/etc/ha.d//ha.cf`). */
  displayPath: string;
  /** Path used in our explanations. */
  explainPath: string;
  /** Configuration directory as Heartbeat prints it, with trailing slash (`/etc/ha.d/`). */
  displayDir: string;
  /** Lower-cased local node name. */
  nodeName: string;
  /** Resource management requested (false for `-M`). */
  manageResources: boolean;
  /** Initial debug level (`-d` count). */
  debugLevel: number;
  /** Environment. */
  sys: SystemView;
  /** Diagnostic sink. */
  rep: Reporter;
  /** Does `haresources` exist (for the pacemaker warning). */
  haresourcesExists: boolean;
}

const FACILITIES: Record<string, number> = {
  none: 0,
  auth: 4,
  security: 4,
  authpriv: 10,
  cron: 9,
  daemon: 3,
  ftp: 11,
  kern: 0,
  lpr: 6,
  mail: 2,
  news: 7,
  syslog: 5,
  user: 1,
  uucp: 8,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

/** What each directive accepts, for explanations. */
export const ALLOWED_VALUES: Record<string, string> = {
  node: "node names (at most 100 nodes)",
  keepalive:
    "a time > 0: seconds (fractions allowed), or with unit ms/us attached, e.g. 1, 1.5, 500ms",
  deadtime: "a time: seconds, or with unit ms/us attached, e.g. 30, 5000ms (no 's' unit)",
  deadping: "a time: seconds, or with unit ms/us attached (no 's' unit)",
  initdead: "a time: seconds, or with unit ms/us attached (no 's' unit)",
  warntime: "a time > 0: seconds, or with unit ms/us attached (no 's' unit)",
  hopfudge: "an integer 0-255",
  udpport: "a UDP port number > 0",
  baud: "one of 9600 19200 38400 57600 115200 230400 460800, given once",
  watchdog: "one watchdog device path, given once",
  logfacility:
    "none or a syslog facility: auth security authpriv cron daemon ftp kern lpr mail news syslog user uucp local0-local7",
  auto_failback: "on, off (or other boolean words) or legacy",
  nice_failback: "a boolean (obsolete: use auto_failback)",
  rtprio: "an integer 1-99",
  hbgenmethod: "file or time",
  realtime: "a boolean: true on yes y 1 / false off no n 0",
  debug: "an integer 0-255",
  msgfmt: "classic or netstring",
  use_logd: "a boolean",
  conn_logd_time: "a time > 0",
  log_badpack: "a boolean",
  syslogmsgfmt: "a boolean",
  coredumps: "a boolean",
  coreroot: "a directory",
  crm_daemon_dir: "a directory, only after a pacemaker/crm directive",
  crmd_spawns_pengine: "a boolean, only before the pacemaker/crm directive",
  crm: "a boolean, respawn, minimal, manual, ccm-only or valgrind, given once",
  pacemaker: "a boolean, respawn, minimal, manual, ccm-only or valgrind, given once",
  autojoin: "none, other or any",
  uuidfrom: "file or nodename",
  compression: "zlib or bz2",
  compression_threshold: "an integer > 0 (KB)",
  traditional_compression: "a boolean",
  env: "NAME=value",
  max_rexmit_delay: "an integer > 0 (ms)",
  record_config_changes: "a boolean",
  record_pengine_inputs: "a boolean",
  enable_config_writes: "a boolean",
  memreserve: "an integer > 0 (KB)",
  cluster: "a name",
  quorum_server: "a host name",
  use_apphbd: "a boolean",
  logfile: "a path",
  debugfile: "a path",
  apiauth:
    "apiauth CLIENT [uid=u1,u2...] [gid=g1,g2...] with existing users/groups, one entry per client",
  respawn: "respawn USER /absolute/executable [args...] with an existing USER",
  failfast: "failfast USER /absolute/executable [args...] with an existing USER",
  stonith: "stonith TYPE CONFIG-FILE with an installed STONITH type and an existing file",
  stonith_host: "stonith_host HOST|* TYPE PARAMS... with an installed STONITH type",
};

const MEDIA_NAMES = [...PER_TOKEN_MEDIA, ...WHOLE_LINE_MEDIA];

function isLegalDirective(name: string): boolean {
  return !!optionDirective(name) || WHOLE_LINE_DIRECTIVES.includes(name) ||
    MEDIA_NAMES.includes(name);
}

function span(s: string, i: number, set: string): number {
  while (i < s.length && set.includes(s[i])) i++;
  return i;
}
function cspan(s: string, i: number, set: string): number {
  while (i < s.length && !set.includes(s[i])) i++;
  return i;
}

/** Splits text into the pieces `fgets(buf, size)` returns, with their 1-based line numbers. */
export function fgetsLines(text: string, size: number): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  const max = size - 1;
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const nl = text.indexOf("\n", i);
    const end = nl < 0 ? text.length : nl + 1;
    let j = i;
    while (j < end) {
      const k = Math.min(end, j + max);
      out.push({ text: text.slice(j, k), line });
      j = k;
    }
    i = end;
    line++;
  }
  return out;
}

/** Creates an empty state with Heartbeat's initial values. */
export function initialState(manageResources: boolean, debugLevel: number): HaCfState {
  return {
    params: new Map(),
    keepaliveMs: 1000,
    deadtimeMs: 30000,
    warntimeMs: 0,
    initdeadMs: -1,
    deadpingMs: -1,
    hopfudge: 1,
    nodes: [],
    media: [],
    logFacility: -1,
    logfile: "",
    debugfile: "",
    niceFailback: false,
    autoFailbackOn: false,
    debugLevel,
    hbgenmethod: "file",
    realtime: true,
    msgfmt: "classic",
    connLogdTimeMs: 60000,
    logBadpack: true,
    syslogmsgfmt: true,
    coredumps: true,
    useApphbd: false,
    autojoin: "none",
    uuidfrom: "file",
    compression: "zlib",
    compressionThresholdKb: 2,
    traditionalCompression: false,
    maxRexmitDelayMs: 250,
    memreserveKb: 6500,
    cluster: "linux-ha",
    env: {},
    apiauth: new Map(),
    clients: [],
    pacemaker: "off",
    manageResources,
    directiveLines: new Map(),
    errors: 0,
    crashes: false,
  };
}

/** Parser of one ha.cf file; keeps the static-variable state of Heartbeat's setters. */
export class HaCfParser {
  /** Resulting state. */
  readonly st: HaCfState;
  private anyMediaYet = false;
  private baudSet = false;
  private pacemakerCalled = false;
  private latched: { bcast?: number; ucast?: number; ucast6?: number; baud?: number } = {};

  /** Creates a parser. */
  constructor(private readonly inp: HaCfInput) {
    this.st = initialState(inp.manageResources, inp.debugLevel);
  }

  private get rep(): Reporter {
    return this.inp.rep;
  }

  /** Parses the whole file (parse_config), then adds the built-in apiauth entries. */
  parse(): HaCfState {
    const { rep } = this;
    for (const piece of fgetsLines(this.inp.text, MAXLINE)) {
      let s = piece.text;
      s = s.slice(span(s, 0, WHITESPACE));
      const hash = s.indexOf("#");
      if (hash >= 0) s = s.slice(0, hash);
      const crlf = s.search(/[\r\n]/);
      if (crlf >= 0) s = s.slice(0, crlf);
      if (s === "") continue;
      const dlen = cspan(s, 0, WHITESPACE);
      let directive = s.slice(0, dlen);
      rep.at(this.inp.explainPath, piece.line, directive);
      if (directive === "udp") {
        rep.emit(
          "WARN",
          "WARNING: directive 'udp' replaced by 'bcast'",
          "the directive 'udp' is an obsolete alias",
          "bcast",
          { fatal: false },
        );
        directive = "bcast";
        rep.directive = "bcast";
      }
      if (!isLegalDirective(directive)) {
        rep.emit(
          "ERROR",
          `Illegal directive [${directive}] in ${this.inp.displayPath}`,
          `unknown directive '${directive}' (names are case-sensitive)`,
          "the ha.cf directives of Heartbeat 3.0.6 (see heartbeat -D) and the media bcast mcast mcast6 ucast ucast6 ping ping6 ping_group serial",
        );
        this.st.errors++;
        continue;
      }
      this.st.directiveLines.set(directive, piece.line);
      let rest = s.slice(span(s, dlen, DELIMS));
      if (WHOLE_LINE_MEDIA.includes(directive)) {
        const m = parseLineMedium(directive, rest, this.mediaCtx());
        if (m === undefined) {
          this.st.errors++;
          continue;
        }
        if (m === null) {
          this.st.crashes = true;
          rep.emit(
            "CRIT",
            [],
            `'${directive}' without an interface: Heartbeat 3.0.6 crashes (SIGSEGV, exit 139)`,
            directive === "mcast" ? "mcast IF GROUP PORT TTL LOOP" : "ucast IF PEER",
          );
          continue;
        }
        this.st.media.push(m);
        this.anyMediaYet = true;
        rest = "";
      }
      if (WHOLE_LINE_DIRECTIVES.includes(directive)) {
        if (!this.wholeLine(directive, rest)) this.st.errors++;
        this.anyMediaYet = true;
        continue;
      }
      if (WHOLE_LINE_MEDIA.includes(directive)) continue;
      let i = 0;
      while (i < rest.length) {
        const e = cspan(rest, i, DELIMS);
        const tok = rest.slice(i, e);
        if (!this.addOption(directive, tok)) this.st.errors++;
        i = span(rest, e, DELIMS);
      }
    }
    rep.at(this.inp.explainPath, undefined, "apiauth");
    const builtins: [string, string][] = [
      ["ipfail", "uid=hacluster"],
      ["ccm", "uid=hacluster"],
      ["ping", "gid=haclient"],
      ["lha-snmpagent", "uid=root"],
      ["anon", "uid=root gid=haclient"],
    ];
    for (const [name, spec] of builtins) {
      if (!this.st.apiauth.has(name)) this.apiauth(`${name} ${spec}`, true);
    }
    return this.st;
  }

  private mediaCtx() {
    return {
      sys: this.inp.sys,
      rep: this.rep,
      params: this.st.params,
      latched: this.latched,
      addPingNode: (n: string) => this.addNode(n, "ping"),
    };
  }

  private addNode(name: string, type: "normal" | "ping"): boolean {
    if (this.st.nodes.length >= MAXNODE) return false;
    this.st.nodes.push({ name: name.toLowerCase(), type });
    return true;
  }

  private generic(directive: string, value: string): void {
    this.rep.emit(
      "ERROR",
      [],
      `invalid value '${value}'`,
      ALLOWED_VALUES[directive],
      { fatal: true },
    );
  }

  /**
   * add_option: applies one value of an option directive (or creates a
   * per-token medium). Returns false on failure.
   */
  addOption(name: string, value: string): boolean {
    const info = optionDirective(name);
    if (info) {
      const ok = this.apply(name, value);
      if (ok && info.recorded) this.st.params.set(name, value);
      return ok;
    }
    if (PER_TOKEN_MEDIA.includes(name)) {
      if (this.st.media.length >= MAXMEDIA) {
        this.rep.emit(
          "ERROR",
          `Too many media specified (> ${MAXMEDIA})`,
          "too many media",
          "at most 64 media",
        );
        this.rep.follow("info", `Offending command: ${name} ${value}`);
        return false;
      }
      const m = newTokenMedium(name, value, this.mediaCtx());
      if (!m) return false;
      this.st.media.push(m);
      return true;
    }
    this.rep.emit(
      "ERROR",
      `Illegal configuration directive [${name}]`,
      `unknown directive ${name}`,
    );
    return false;
  }

  /** The per-directive setters. Emits Heartbeat's specific message, or our generic explanation. */
  private apply(name: string, value: string): boolean {
    const st = this.st;
    const rep = this.rep;
    const bool = (set: (b: boolean) => void): boolean => {
      const b = parseBoolean(value);
      if (b === undefined) {
        this.generic(name, value);
        return false;
      }
      set(b);
      return true;
    };
    const time = (min: number, set: (ms: number) => void): boolean => {
      const ms = parseTimeMs(value);
      set(ms);
      if (ms >= min) return true;
      this.generic(name, value);
      return false;
    };
    /** Logs an ERROR for this directive and refuses it. */
    const refuse = (text: string, what: string, allowed?: string): false => {
      rep.emit("ERROR", text, what, allowed);
      return false;
    };
    switch (name) {
      case "cluster":
        st.cluster = value;
        return true;
      case "quorum_server":
        st.cluster = value;
        return true;
      case "node":
        if (!this.addNode(value, "normal")) {
          this.generic(name, value);
          return false;
        }
        return true;
      case "hopfudge": {
        st.hopfudge = atoi(value);
        if (st.hopfudge >= 0 && st.hopfudge < 256) return true;
        this.generic(name, value);
        return false;
      }
      case "keepalive":
        return time(1, (ms) => (st.keepaliveMs = ms));
      case "deadtime":
        return time(0, (ms) => (st.deadtimeMs = ms));
      case "deadping":
        return time(0, (ms) => (st.deadpingMs = ms));
      case "initdead":
        return time(0, (ms) => (st.initdeadMs = ms));
      case "warntime": {
        const ms = parseTimeMs(value);
        if (ms <= 0) {
          rep.emit(
            "ERROR",
            `Warn time [${value}] is invalid.`,
            `invalid value '${value}'`,
            ALLOWED_VALUES.warntime,
            {
              stderrOnly: true,
            },
          );
          return false;
        }
        st.warntimeMs = ms;
        return true;
      }
      case "watchdog":
        if (st.watchdog !== undefined) {
          rep.emit(
            "ERROR",
            "heartbeat: Watchdog device multiply specified.",
            "watchdog given twice",
            ALLOWED_VALUES.watchdog,
            {
              stderrOnly: true,
            },
          );
          return false;
        }
        st.watchdog = value;
        return true;
      case "baud": {
        if (this.baudSet) {
          rep.emit(
            "ERROR",
            "heartbeat: Baudrate multiply specified.",
            "baud given twice",
            ALLOWED_VALUES.baud,
            {
              stderrOnly: true,
            },
          );
          return false;
        }
        this.baudSet = true;
        if (![9600, 19200, 38400, 57600, 115200, 230400, 460800].includes(atoi(value))) {
          rep.emit(
            "ERROR",
            `heartbeat: invalid baudrate [${value}] specified.`,
            `invalid baud rate '${value}'`,
            ALLOWED_VALUES.baud,
            {
              stderrOnly: true,
            },
          );
          return false;
        }
        if (this.anyMediaYet) {
          rep.emit(
            "info",
            "heartbeat: baudrate setting must precede media statements",
            "baud comes after media lines (harmless remark; printed on stderr without newline)",
            undefined,
            { stderrOnly: true, noNewline: true, noise: true, fatal: false },
          );
        }
        return true;
      }
      case "udpport": {
        const port = atoi(value);
        if (port <= 0) {
          rep.emit(
            "ERROR",
            `heartbeat: invalid port [${value}] specified.`,
            `invalid port '${value}'`,
            ALLOWED_VALUES.udpport,
            {
              stderrOnly: true,
            },
          );
          return false;
        }
        const svc = this.inp.sys.serviceByPort(port % 65536, "udp");
        if (svc !== undefined && svc !== "ha-cluster") {
          rep.emit(
            "WARN",
            `heartbeat: udp port ${value} reserved for service "${svc}".`,
            `port ${value} is registered for service "${svc}" in /etc/services`,
            "any port; 694 (ha-cluster) is the registered one",
            { fatal: false },
          );
        }
        if (
          this.st.media.some((m) => m.type === "bcast" || m.type === "ucast" || m.type === "ucast6")
        ) {
          rep.emit(
            "WARN",
            [],
            "udpport comes after bcast/ucast/ucast6 media, which keep the port latched at their first line",
            "udpport before the media lines",
            { fatal: false },
          );
        }
        rep.emit(
          "info",
          "heartbeat: udpport setting must precede media statements",
          "udpport remark (printed on stderr without newline on every udpport line)",
          undefined,
          { stderrOnly: true, noNewline: true, noise: true, fatal: false },
        );
        return true;
      }
      case "logfacility": {
        const f = FACILITIES[value];
        if (f === undefined) {
          return refuse(
            `Log facility(${value}) not valid`,
            `unknown facility '${value}'`,
            ALLOWED_VALUES.logfacility,
          );
        }
        st.logFacility = f;
        st.logFacilityName = value;
        return true;
      }
      case "logfile":
        st.logfile = value;
        return true;
      case "debugfile":
        st.debugfile = value;
        return true;
      case "nice_failback": {
        const b = parseBoolean(value);
        rep.emit(
          "ERROR",
          "nice_failback flag is obsolete.. Use auto_failback {on, off, legacy} instead.",
          "nice_failback is obsolete (logged at ERROR level but accepted when boolean)",
          "auto_failback on|off|legacy",
          { fatal: b === undefined },
        );
        if (b !== undefined) {
          if (st.niceFailback) {
            rep.follow("ERROR", `'nice_failback ${value}' has been changed to 'auto_failback off'`);
            st.niceFailback = true;
            st.autoFailbackOn = false;
          } else {
            rep.follow("ERROR", [
              `nice_failback ${value} has been strictly interpreted as 'auto_failback legacy'`,
              "Consider converting to 'auto_failback on'.",
              "When you do, then you can use ipfail, and hb_standby",
            ]);
            st.niceFailback = false;
            st.autoFailbackOn = false;
          }
        }
        rep.follow("ERROR", "See documentation for details.");
        return b !== undefined;
      }
      case "auto_failback": {
        const b = parseBoolean(value);
        if (b !== undefined) {
          st.niceFailback = true;
          st.autoFailbackOn = b;
          return true;
        }
        if (value.toLowerCase() === "legacy") {
          st.niceFailback = false;
          st.autoFailbackOn = false;
          return true;
        }
        this.generic(name, value);
        return false;
      }
      case "rtprio": {
        const p = atoi(value);
        if (p < 1 || p > 99) {
          return refuse(
            `Illegal realtime priority [${value}]`,
            `priority ${value} out of range`,
            ALLOWED_VALUES.rtprio,
          );
        }
        st.rtprio = p;
        return true;
      }
      case "hbgenmethod":
        if (value === "file" || value === "time") {
          st.hbgenmethod = value;
          return true;
        }
        return refuse(
          `Illegal hb generation method [${value}]`,
          `unknown method '${value}'`,
          ALLOWED_VALUES.hbgenmethod,
        );
      case "realtime":
        return bool((b) => (st.realtime = b));
      case "debug": {
        // The bad value is applied before being rejected.
        st.debugLevel = atoi(value);
        if (st.debugLevel >= 0 && st.debugLevel < 256) return true;
        this.generic(name, value);
        return false;
      }
      case "msgfmt":
        if (value === "classic" || value === "netstring") {
          st.msgfmt = value;
          return true;
        }
        this.generic(name, value);
        return false;
      case "use_logd": {
        const b = parseBoolean(value);
        if (b) {
          rep.emit("info", "Enabling logging daemon ", "use_logd is on", undefined, {
            fatal: false,
          });
          rep.follow(
            "info",
            "logfile and debug file are those specified in logd config file (default /etc/logd.cf)",
          );
        } else {
          rep.emit(
            "WARN",
            "Logging daemon is disabled --enabling logging daemon is recommended",
            b === undefined ? `invalid value '${value}'` : "use_logd is off",
            b === undefined ? ALLOWED_VALUES.use_logd : undefined,
            { fatal: false },
          );
        }
        if (b === undefined) {
          this.generic(name, value);
          return false;
        }
        st.useLogd = b;
        return true;
      }
      case "conn_logd_time":
        return time(1, (ms) => (st.connLogdTimeMs = ms));
      case "use_apphbd":
        return bool((b) => (st.useApphbd = b));
      case "log_badpack":
        return bool((b) => (st.logBadpack = b));
      case "syslogmsgfmt":
        return bool((b) => (st.syslogmsgfmt = b));
      case "coredumps":
        return bool((b) => (st.coredumps = b));
      case "coreroot":
        return true;
      case "crm_daemon_dir":
        // Quirk: the check is inverted. Before any pacemaker/crm directive the
        // value is rejected silently; after one it complains but is accepted.
        if (!st.params.has("pacemaker")) {
          this.generic(name, value);
          return false;
        }
        rep.emit(
          "ERROR",
          `If you specify ${value}, it must come before the pacemaker directive\n`,
          "crm_daemon_dir after pacemaker/crm (Heartbeat complains but accepts it)",
          "crm_daemon_dir only after pacemaker (inverted check in 3.0.6)",
          { fatal: false },
        );
        return true;
      case "crmd_spawns_pengine":
        if (st.params.has("pacemaker")) {
          return refuse(
            `If you specify ${value}, it must come before the pacemaker directive\n`,
            "crmd_spawns_pengine after pacemaker/crm",
            ALLOWED_VALUES.crmd_spawns_pengine,
          );
        }
        if (parseBoolean(value) === undefined) {
          return refuse(
            `ha_config_check_boolean:Invalid directive value ${value}`,
            `invalid value '${value}'`,
            ALLOWED_VALUES[name],
          );
        }
        return true;
      case "crm":
        return this.addOption("pacemaker", value);
      case "pacemaker":
        return this.pacemaker(value);
      case "autojoin": {
        const v = value.toLowerCase();
        if (v === "none" || v === "other" || v === "any") {
          st.autojoin = v;
          return true;
        }
        return refuse(
          `Invalid autojoin directive [${value}]`,
          `unknown mode '${value}'`,
          ALLOWED_VALUES.autojoin,
        );
      }
      case "uuidfrom":
        if (value === "file" || value === "nodename") {
          st.uuidfrom = value;
          return true;
        }
        return refuse(
          `Invalid uuidfrom directive [${value}]`,
          `unknown source '${value}'`,
          ALLOWED_VALUES.uuidfrom,
        );
      case "compression":
        if (value === "zlib" || value === "bz2") {
          st.compression = value;
          return true;
        }
        return refuse(
          `Compression module(${value}) not found`,
          `unknown module '${value}'`,
          ALLOWED_VALUES.compression,
        );
      case "compression_threshold": {
        const n = atoi(value);
        if (n <= 0) {
          return refuse(
            `set_compression_threshold: compress_threshhold(${value}) invalid`,
            `invalid threshold '${value}'`,
            ALLOWED_VALUES[name],
          );
        }
        st.compressionThresholdKb = n;
        return true;
      }
      case "traditional_compression": {
        const b = parseBoolean(value);
        if (b === undefined) {
          return refuse(
            `set_traditional_compression:Invalid directive value ${value}`,
            `invalid value '${value}'`,
            ALLOWED_VALUES[name],
          );
        }
        st.traditionalCompression = b;
        return true;
      }
      case "env": {
        const eq = value.indexOf("=");
        const nlen = eq < 0 ? value.length : eq;
        if (nlen <= 0 || nlen >= MAXLINE) {
          return refuse(
            `set_env: invalid nvpair(${value})`,
            `invalid NAME=value pair '${value}'`,
            ALLOWED_VALUES.env,
          );
        }
        st.env[`HA_${value.slice(0, nlen)}`] = eq < 0 ? "" : value.slice(eq + 1);
        return true;
      }
      case "max_rexmit_delay": {
        const n = atoi(value);
        if (n <= 0) {
          return refuse(
            `Invalid max_rexmit_delay time(${value})`,
            `invalid delay '${value}'`,
            ALLOWED_VALUES[name],
          );
        }
        st.maxRexmitDelayMs = n;
        return true;
      }
      case "record_config_changes":
      case "record_pengine_inputs":
      case "enable_config_writes":
        if (parseBoolean(value) === undefined) {
          return refuse(
            `ha_config_check_boolean:Invalid directive value ${value}`,
            `invalid value '${value}'`,
            ALLOWED_VALUES[name],
          );
        }
        return true;
      case "memreserve": {
        const n = atoi(value);
        st.memreserveKb = n;
        if (n > 0) return true;
        this.generic(name, value);
        return false;
      }
    }
    return false;
  }

  private pacemaker(value: string): boolean {
    const st = this.st;
    const rep = this.rep;
    if (this.pacemakerCalled) {
      rep.emit(
        "ERROR",
        "pacemaker/crm directive used multiple times!",
        "pacemaker/crm given more than once",
        ALLOWED_VALUES.pacemaker,
      );
      return false;
    }
    this.pacemakerCalled = true;
    rep.emit("info", `Pacemaker support: ${value}`, `pacemaker ${value}`, undefined, {
      fatal: false,
    });
    const v = value.toLowerCase();
    let mode: PacemakerMode;
    if (v === "minimal" || v === "manual") mode = "minimal";
    else if (v === "respawn") mode = "respawn";
    else if (v === "ccm-only") mode = "ccm-only";
    else if (v === "valgrind") {
      mode = "valgrind";
      rep.follow("info", "Enabling Valgrind on selected components");
    } else {
      const b = parseBoolean(value);
      if (b === undefined) {
        this.generic("pacemaker", value);
        return false;
      }
      if (!b) return true;
      mode = "on";
    }
    st.pacemaker = mode;
    st.manageResources = false;
    if (this.inp.haresourcesExists) {
      rep.emit(
        "WARN",
        `File ${this.inp.displayDir}/haresources exists.`,
        "haresources is ignored when pacemaker is enabled",
        undefined,
        {
          fatal: false,
        },
      );
      rep.follow("WARN", "This file is not used because pacemaker is enabled");
    }
    const auths = [
      "cib uid=hacluster",
      "crmd uid=hacluster",
      "stonithd uid=root",
      "stonith-ng uid=root",
      "attrd uid=hacluster",
      "pingd uid=root",
    ];
    for (let j = 0; j < auths.length; j++) {
      if (mode === "minimal" && j === 2) break;
      if (!this.apiauth(auths[j], true)) {
        rep.emit("ERROR", `failed: apiauth ${auths[j]}`, "pacemaker's API authorisation failed");
        return false;
      }
    }
    const crmDir = st.params.get("crm_daemon_dir") ?? "/usr/libexec/pacemaker";
    const spawnsPengine = parseBoolean(st.params.get("crmd_spawns_pengine") ?? "") ?? true;
    const children: [string, string, boolean, boolean][] = [
      ["ccm", "hacluster", false, false],
      ["cib", "hacluster", true, false],
      ["stonithd", "root", true, true],
      ["lrmd", "root", true, false],
      ["attrd", "hacluster", true, true],
      ["pengine", "hacluster", true, true],
      ["crmd", "hacluster", true, false],
    ];
    for (let j = 0; j < children.length; j++) {
      const [cmd, user, crmFirst, skipMinimal] = children[j];
      if (mode === "ccm-only" && j > 0) break;
      if (mode === "minimal" && skipMinimal) continue;
      if (j === 5 && spawnsPengine) continue;
      const dirs = crmFirst
        ? [crmDir, "/usr/libexec/heartbeat", "/usr/lib/heartbeat"]
        : ["/usr/libexec/heartbeat", "/usr/lib/heartbeat"];
      let found: string | undefined;
      for (const d of dirs) {
        rep.emit("debug", `Checking access of: ${d}/${cmd}`, `looking for ${d}/${cmd}`, undefined, {
          fatal: false,
          continuation: true,
        });
        if (isExecutable(this.inp.sys, `${d}/${cmd}`)) {
          found = `${d}/${cmd}`;
          break;
        }
      }
      if (!found) {
        rep.emit(
          "ERROR",
          `Failed to add pacemaker client child "${cmd}"`,
          `Pacemaker daemon ${cmd} is not installed`,
          "pacemaker off (hb supports haresources mode only)",
        );
        return false;
      }
      this.respawn(
        `${user} ${found}${cmd === "lrmd" && !found.startsWith(crmDir) ? " -r" : ""}`,
        j <= 1 || j >= 5,
      );
    }
    return true;
  }

  private wholeLine(directive: string, rest: string): boolean {
    switch (directive) {
      case "apiauth":
        return this.apiauth(rest, false);
      case "respawn":
        return this.respawn(rest, false);
      case "failfast":
        return this.respawn(rest, true);
      case "stonith":
        return this.stonith(rest);
      case "stonith_host":
        return this.stonithHost(rest);
    }
    return false;
  }

  private apiauth(directive: string, builtin: boolean): boolean {
    const rep = this.rep;
    const sys = this.inp.sys;
    const allowed = ALLOWED_VALUES.apiauth;
    const bad = (what: string): false => {
      rep.emit("ERROR", `Invalid apiauth directive [${directive}]`, what, allowed);
      rep.follow("info", [
        "Syntax: apiauth client [uid=uidlist] [gid=gidlist]",
        "Where uidlist is a comma-separated list of uids,",
        "and gidlist is a comma-separated list of gids",
        "One or the other must be specified.",
      ]);
      return false;
    };
    let i = span(directive, 0, WHITESPACE);
    if (i >= directive.length) return bad("missing client name");
    const e = cspan(directive, i, WHITESPACE);
    const client = directive.slice(i, e);
    i = span(directive, e, WHITESPACE);
    let uidStart: number | undefined, uidLen = 0, gidStart: number | undefined, gidLen = 0;
    while (i < directive.length) {
      i = span(directive, i, WHITESPACE);
      if (directive.startsWith("uid=", i)) {
        if (uidStart !== undefined) {
          rep.emit("ERROR", "Duplicate uid list in apiauth", "uid= given twice", allowed);
          return bad("uid= given twice");
        }
        uidStart = i + 4;
        uidLen = cspan(directive, uidStart, WHITESPACE) - uidStart;
        i = uidStart + uidLen;
      } else if (directive.startsWith("gid=", i)) {
        if (gidStart !== undefined) {
          rep.emit("ERROR", "Duplicate gid list in apiauth", "gid= given twice", allowed);
          return bad("gid= given twice");
        }
        gidStart = i + 4;
        gidLen = cspan(directive, gidStart, WHITESPACE) - gidStart;
        i = gidStart + gidLen;
      } else if (i < directive.length) {
        rep.emit(
          "ERROR",
          "Missing uid or gid in apiauth",
          `unexpected word '${directive.slice(i, cspan(directive, i, WHITESPACE))}'`,
          allowed,
        );
        return bad("each word after the client must start with uid= or gid=");
      }
    }
    if (uidStart === undefined && gidStart === undefined) return bad("neither uid= nor gid= given");
    const resolveList = (
      start: number,
      len: number,
      kind: "uid" | "gid",
    ): number[] | undefined => {
      const list = directive.slice(start, start + len);
      const out: number[] = [];
      let p = 0;
      while (p < list.length) {
        let q = list.indexOf(",", p);
        if (q < 0) q = list.length;
        const id = list.slice(p, q);
        let v: number | undefined;
        if (/^[0-9]/.test(id)) v = atoi(id);
        else if (kind === "uid") {
          v = sys.userByName(id)?.uid;
          if (v === undefined) {
            rep.emit("ERROR", `Invalid user id name [${id}]`, `no such user '${id}'`, allowed);
          }
        } else {
          v = sys.groupByName(id);
          if (v === undefined) {
            rep.emit("ERROR", `Invalid group name [${id}]`, `no such group '${id}'`, allowed);
          }
        }
        if (v === undefined) {
          // "%*s" prints the rest of the directive from the list start.
          rep.emit(
            "ERROR",
            `Bad ${kind} list [${directive.slice(start)}]`,
            `bad ${kind} list`,
            allowed,
          );
          return undefined;
        }
        out.push(v);
        p = q;
        while (list[p] === ",") p++;
      }
      return out;
    };
    let uids: number[] | undefined, gids: number[] | undefined;
    if (uidStart !== undefined) {
      uids = resolveList(uidStart, uidLen, "uid");
      if (!uids) return bad("unknown user");
    }
    if (gidStart !== undefined) {
      gids = resolveList(gidStart, gidLen, "gid");
      if (!gids) return bad("unknown group");
    }
    if (this.st.apiauth.has(client)) {
      rep.emit(
        "ERROR",
        `Duplicate apiauth directive for API client ${client}: [${directive}]`,
        `client ${client} already has an apiauth entry`,
        allowed,
      );
      return bad("duplicate client");
    }
    this.st.apiauth.set(client, { client, uids, gids, builtin });
    return true;
  }

  private respawn(directive: string, failfast: boolean): boolean {
    const rep = this.rep;
    const allowed = ALLOWED_VALUES[failfast ? "failfast" : "respawn"];
    const u0 = span(directive, 0, WHITESPACE);
    const u1 = cspan(directive, u0, WHITESPACE);
    const user = directive.slice(u0, u1);
    let c = Math.min(directive.length, u1 + 1);
    c = span(directive, c, WHITESPACE);
    const cmd = directive.slice(c, cspan(directive, c, "\r\n"));
    const path = directive.slice(c, cspan(directive, c, WHITESPACE));
    if (user.length >= 64) {
      rep.emit(
        "ERROR",
        "UID specified for client child is too long",
        "user name too long",
        allowed,
      );
      return false;
    }
    const pw = this.inp.sys.userByName(user);
    if (!pw) {
      rep.emit(
        "ERROR",
        `Invalid uid [${user}] specified for client child`,
        `no such user '${user}'`,
        allowed,
      );
      return false;
    }
    if (!cmd.startsWith("/")) {
      rep.emit(
        "ERROR",
        `Client child command [${cmd}] is not full pathname`,
        `command '${cmd}' is not an absolute path`,
        allowed,
      );
      return false;
    }
    if (!isExecutable(this.inp.sys, path)) {
      rep.emit(
        "ERROR",
        `Client child command [${path}] is not executable`,
        `${path} does not exist or is not executable`,
        allowed,
      );
      return false;
    }
    this.st.clients.push({ user, uid: pw.uid, gid: pw.gid, command: cmd, path, failfast });
    return true;
  }

  private stonithParamsOk(type: string, params: string): boolean {
    // Parse-level approximation of the plugins' set_config_info: every
    // installed type except suicide needs at least one parameter.
    return type === "suicide" || params.trim() !== "";
  }

  private stonith(rest: string): boolean {
    const rep = this.rep;
    const allowed = ALLOWED_VALUES.stonith;
    const t0 = span(rest, 0, WHITESPACE);
    const t1 = cspan(rest, t0, WHITESPACE);
    const type = rest.slice(t0, t1);
    if (type === "") {
      rep.emit("ERROR", "No Stonith type given", "missing STONITH type", allowed);
      return false;
    }
    if (!this.inp.sys.stonithTypes().includes(type)) {
      rep.emit(
        "ERROR",
        `Invalid Stonith type [${type}]`,
        `STONITH type '${type}' is not installed`,
        allowed,
      );
      return false;
    }
    const f0 = span(rest, t1, WHITESPACE);
    const file = rest.slice(f0, cspan(rest, f0, "\r\n"));
    const content = this.inp.sys.readTextFile(file);
    if (content === undefined) {
      rep.emit(
        "ERROR",
        [`glib: Cannot open ${file}`, `Invalid Stonith config file [${file}]`],
        `cannot open ${file}`,
        allowed,
      );
      return false;
    }
    const params = content.split("\n").find((l) => l.trim() !== "" && !l.trim().startsWith("#")) ??
      "";
    if (!this.stonithParamsOk(type, params)) {
      rep.emit(
        "ERROR",
        `Invalid Stonith config file [${file}]`,
        `${file} holds no parameters for ${type}`,
        allowed,
      );
      return false;
    }
    this.st.stonith = {
      directive: "stonith",
      type,
      configFile: file,
      params: params.trim().split(/\s+/).filter((x) => x),
    };
    return true;
  }

  private stonithHost(rest: string): boolean {
    const rep = this.rep;
    const allowed = ALLOWED_VALUES.stonith_host;
    const h0 = span(rest, 0, WHITESPACE);
    const h1 = cspan(rest, h0, WHITESPACE);
    if (h1 === h0) {
      rep.emit("ERROR", "No Stonith hostname argument given", "missing host field", allowed);
      return false;
    }
    if (h1 - h0 >= 100) {
      rep.emit("ERROR", "Stonith hostname too long", "host field too long", allowed);
      return false;
    }
    const host = rest.slice(h0, h1).toLowerCase();
    if (host !== "*" && host !== this.inp.nodeName) return true;
    const t0 = span(rest, h1, WHITESPACE);
    const t1 = cspan(rest, t0, WHITESPACE);
    const type = rest.slice(t0, t1);
    if (type === "") {
      rep.emit("ERROR", "No Stonith type given", "missing STONITH type", allowed);
      return false;
    }
    if (!this.inp.sys.stonithTypes().includes(type)) {
      rep.emit(
        "ERROR",
        `Invalid Stonith type [${type}]`,
        `STONITH type '${type}' is not installed`,
        allowed,
      );
      return false;
    }
    const params = rest.slice(span(rest, t1, WHITESPACE));
    if (!this.stonithParamsOk(type, params)) {
      rep.emit(
        "ERROR",
        `Invalid Stonith configuration parameter [${rest.slice(t1)}]`,
        `missing parameters for ${type}`,
        allowed,
      );
      return false;
    }
    this.st.stonith = {
      directive: "stonith_host",
      type,
      host,
      params: params.split(/[ \t\n\r\f]+/).filter((x) => x),
    };
    return true;
  }

  /** Applies the built-in defaults for directives not given (init_config step 4). */
  applyDefaults(): void {
    this.rep.at(this.inp.explainPath, undefined, undefined);
    for (const d of OPTION_DIRECTIVES) {
      if (d.defaultValue === undefined || this.st.params.has(d.name)) continue;
      this.rep.directive = d.name;
      this.addOption(d.name, d.defaultValue);
    }
    this.rep.directive = undefined;
  }
}

/** All option-directive names (for completeness checks). */
export const ALL_OPTION_NAMES: readonly string[] = OPTION_DIRECTIVES.map((d) => d.name);
