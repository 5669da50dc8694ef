/**
 * The option-directive table of Heartbeat 3.0.6 (names, whether the value is
 * recorded as a parameter, built-in default, explanation) and the
 * `heartbeat -D` / `-DW` printers; the initial values of the parsed state and the
 * placeholder timings of a refused start. Every default of hb's ha.cf handling lives here.
 *
 * @module
 */
import type { HaCfState, MsgFmt } from "./types.ts";

/** One option directive, in Heartbeat's table order. */
export interface DirectiveInfo {
  /** Directive name as written in ha.cf. */
  name: string;
  /** Whether a successfully applied value is recorded as parameter `HA_<name>`. */
  recorded: boolean;
  /** Built-in default applied after the file when the directive was not given. */
  defaultValue?: string;
  /** Explanation printed by `-v` and `-D`. */
  explanation?: string;
}

/** Heartbeat 3.0.6's option directives, in its table order (this order drives `-v` and `-D`). */
export const OPTION_DIRECTIVES: readonly DirectiveInfo[] = [
  { name: "cluster", recorded: true, defaultValue: "linux-ha", explanation: "the name of cluster" },
  { name: "node", recorded: false },
  {
    name: "hopfudge",
    recorded: true,
    defaultValue: "1",
    explanation: "# of hops above cluster size",
  },
  { name: "keepalive", recorded: true, defaultValue: "1000ms", explanation: "keepalive time" },
  { name: "deadtime", recorded: true, defaultValue: "30000ms", explanation: "node deadtime" },
  { name: "deadping", recorded: true, explanation: "ping deadtime" },
  { name: "initdead", recorded: true, explanation: "initial deadtime" },
  { name: "warntime", recorded: true, explanation: "warning time" },
  { name: "watchdog", recorded: true, explanation: "watchdog device" },
  { name: "baud", recorded: true, defaultValue: "19200", explanation: "baud rate" },
  { name: "udpport", recorded: true, explanation: "UDP port number" },
  { name: "logfacility", recorded: true, explanation: "syslog log facility" },
  { name: "logfile", recorded: true, explanation: "log file" },
  { name: "debugfile", recorded: true, explanation: "debug file" },
  { name: "nice_failback", recorded: false },
  { name: "auto_failback", recorded: true, defaultValue: "legacy", explanation: "auto failback" },
  { name: "rtprio", recorded: true, explanation: "realtime priority" },
  {
    name: "hbgenmethod",
    recorded: true,
    defaultValue: "file",
    explanation: "protocol generation computation method",
  },
  {
    name: "realtime",
    recorded: true,
    defaultValue: "true",
    explanation: "enable realtime behavior?",
  },
  { name: "debug", recorded: true, explanation: "debug level" },
  {
    name: "msgfmt",
    recorded: true,
    defaultValue: "classic",
    explanation: "message format in the wire",
  },
  { name: "use_logd", recorded: true, explanation: "use logging daemon" },
  {
    name: "conn_logd_time",
    recorded: true,
    defaultValue: "60",
    explanation: "the interval to reconnect to logd",
  },
  { name: "use_apphbd", recorded: false, explanation: "register with apphbd" },
  {
    name: "log_badpack",
    recorded: true,
    defaultValue: "true",
    explanation: "warn about bad packets",
  },
  {
    name: "syslogmsgfmt",
    recorded: true,
    defaultValue: "true",
    explanation: "log to files in syslog format",
  },
  {
    name: "coredumps",
    recorded: true,
    defaultValue: "true",
    explanation: "enable Linux-HA core dumps",
  },
  { name: "coreroot", recorded: true, explanation: "set root directory of core dump area" },
  { name: "crm_daemon_dir", recorded: true, explanation: "location for Pacemaker daemons" },
  {
    name: "crmd_spawns_pengine",
    recorded: true,
    explanation: "should pengine be spawned directly by heartbeat",
  },
  { name: "crm", recorded: false, explanation: "historical alias for 'pacemaker'" },
  {
    name: "pacemaker",
    recorded: true,
    defaultValue: "false",
    explanation: "enable Pacemaker resource management",
  },
  {
    name: "autojoin",
    recorded: true,
    defaultValue: "none",
    explanation: "set automatic join mode/style",
  },
  {
    name: "uuidfrom",
    recorded: true,
    defaultValue: "file",
    explanation: "set the source for uuid",
  },
  {
    name: "compression",
    recorded: true,
    defaultValue: "zlib",
    explanation: "set compression module",
  },
  {
    name: "compression_threshold",
    recorded: true,
    defaultValue: "2",
    explanation: "set compression threshold",
  },
  {
    name: "traditional_compression",
    recorded: true,
    defaultValue: "no",
    explanation: "set traditional_compression",
  },
  { name: "env", recorded: false, explanation: "set environment variable for respawn clients" },
  {
    name: "max_rexmit_delay",
    recorded: true,
    defaultValue: "250",
    explanation: "set the maximum rexmit delay time",
  },
  {
    name: "record_config_changes",
    recorded: true,
    defaultValue: "on",
    explanation: "record changes to the cib (valid only with: pacemaker on)",
  },
  {
    name: "record_pengine_inputs",
    recorded: true,
    defaultValue: "on",
    explanation: "record the input used by the policy engine (valid only with: pacemaker on)",
  },
  {
    name: "enable_config_writes",
    recorded: true,
    defaultValue: "on",
    explanation: "write configuration changes to disk (valid only with: pacemaker on)",
  },
  {
    name: "memreserve",
    recorded: true,
    defaultValue: "6500",
    explanation: "number of kbytes to preallocate in heartbeat",
  },
  { name: "quorum_server", recorded: true, explanation: "the name or ip of quorum server" },
];

/** Whole-line directives (the rest of the line goes to one parser). */
export const WHOLE_LINE_DIRECTIVES: readonly string[] = [
  "stonith",
  "stonith_host",
  "apiauth",
  "respawn",
  "failfast",
];

/** Media directives whose value is split into one medium per token. */
export const PER_TOKEN_MEDIA: readonly string[] = ["bcast", "ping", "ping6", "serial"];

/** Media directives whose whole line goes to the plugin's parser. */
export const WHOLE_LINE_MEDIA: readonly string[] = [
  "mcast",
  "mcast6",
  "ucast",
  "ucast6",
  "ping_group",
];

/** The Heartbeat version string printed in messages. */
export const HEARTBEAT_VERSION = "3.0.6";

/** Looks a directive up in {@link OPTION_DIRECTIVES}. */
export function optionDirective(name: string): DirectiveInfo | undefined {
  return OPTION_DIRECTIVES.find((d) => d.name === name);
}

function padCut(s: string, w: number): string {
  const t = s.slice(0, w);
  return t + " ".repeat(Math.max(0, w - t.length));
}

function wikiName(name: string): string {
  const s = name[0].toUpperCase() + name.slice(1);
  return s.replace(/_(.?)/g, (_m, c: string) => c.toUpperCase());
}

/**
 * The output of `heartbeat -D` (`wiki` false) or `heartbeat -DW` (`wiki`
 * true), each line terminated by `\n`.
 */
export function formatDefaults(wiki: boolean): string {
  const rows = OPTION_DIRECTIVES.filter((d) => d.defaultValue !== undefined);
  let l = Math.max(...rows.map((d) => d.name.length));
  let c = Math.max(...rows.map((d) => d.defaultValue!.length));
  let r = Math.max(...rows.map((d) => (d.explanation ?? "").length));
  let out = "";
  if (wiki) {
    out += "##Put this output in the ha.cf/DefaultValues page\n";
    out += "The [wiki:ha.cf ha.cf] directives with default values are shown below" +
      " - along with a brief description.\n";
    out += `This was produced by {{{heartbeat -DW}}} ''# (version ${HEARTBEAT_VERSION})''\n\n`;
    out += "||''Directive''||''Default''||''Description''||\n";
    for (const d of rows) {
      out += `||[wiki:ha.cf/${wikiName(d.name)}Directive ${d.name}]||${d.defaultValue}||${
        d.explanation ?? ""
      }||\n`;
    }
    return out;
  }
  l = Math.max(l, "Directive".length);
  c = Math.max(c, "Default".length);
  r = Math.max(r, "Description".length);
  out += `${padCut("Directive", l)}  ${padCut("Default", c)}  Description\n`;
  // Heartbeat pads the dash line to sizeof(char*) and cuts it at 80 dashes.
  const dashes = "-".repeat(Math.min(80, l + c + r + 4));
  out += `${dashes}${" ".repeat(Math.max(0, 8 - dashes.length))}\n`;
  for (const d of rows) {
    out += `${padCut(d.name, l)}  ${padCut(d.defaultValue!, c)}  ${d.explanation ?? ""}\n`;
  }
  return out;
}

/** Keepalive before ha.cf is read (Heartbeat's initial value, the `keepalive` default too), ms. */
export const KEEPALIVE_MS = 1000;

/** Deadtime before ha.cf is read (Heartbeat's initial value, the `deadtime` default too), ms. */
export const DEADTIME_MS = 30000;

/** Wire format before ha.cf is read (the `msgfmt` default too). */
export const MSGFMT: MsgFmt = "classic";

/**
 * The core timings a start plan carries when the configuration was refused (the daemon does
 * not start with them; they only fill the plan): the built-in keepalive and deadtime, half
 * the deadtime as warntime, twice as initdead, deadtime as deadping, hop fudge 1.
 */
export const REFUSED_START_TIMING = {
  keepaliveMs: KEEPALIVE_MS,
  deadtimeMs: DEADTIME_MS,
  warntimeMs: DEADTIME_MS / 2,
  initdeadMs: 2 * DEADTIME_MS,
  deadpingMs: DEADTIME_MS,
  hopfudge: 1,
} as const;

/**
 * A state before the file: Heartbeat's initial `sys_config` values (the ones a directive's
 * default does not set, e.g. `warntime` 0 = not set, are markers for init_config).
 */
export function initialHaCfState(manageResources: boolean, debugLevel: number): HaCfState {
  return {
    params: new Map(),
    keepaliveMs: KEEPALIVE_MS,
    deadtimeMs: DEADTIME_MS,
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
    msgfmt: MSGFMT,
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
