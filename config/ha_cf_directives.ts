/**
 * The option directives of `ha.cf` as a table: for each name, what is allowed (for our
 * explanations), how the value is parsed, where it is stored in {@link HaCfState}, and
 * Heartbeat 3.0.6's own message when it refuses the value. `config/ha_cf.ts` drives one
 * apply loop from it; whether a value is recorded and its built-in default are in
 * `config/defaults.ts` ({@link optionDirective}).
 *
 * Directives whose setter does more than "parse, check, store" (several messages, state
 * kept between lines) are `custom` entries: their code is here too, one function each.
 *
 * @module
 */
import type { Reporter } from "./reporter.ts";
import type { SystemView } from "./system_view.ts";
import type { HaCfState, NodeDecl } from "./types.ts";
import { atoi, parseBoolean, parseTimeMs } from "./values.ts";

/** MAXLINE of the cluster-glue build: fgets reads at most this minus one byte. */
export const MAXLINE = 5120;

/** What the parser lends a directive's setter. */
export interface DirectiveContext {
  /** The state being built. */
  readonly st: HaCfState;
  /** Diagnostic sink, positioned at the line and directive. */
  readonly rep: Reporter;
  /** Environment. */
  readonly sys: SystemView;
  /** True once a medium (or whole-line directive) was read: `baud` remarks on it. */
  readonly anyMediaYet: boolean;
  /** True once `baud` was given (Heartbeat's static flag). */
  baudSet: boolean;
  /** Adds a node; false when the node table is full. */
  addNode(name: string, type: NodeDecl["type"]): boolean;
  /** Applies another directive (`crm` is an alias of `pacemaker`). */
  addOption(name: string, value: string): boolean;
  /** The `pacemaker` setter (it adds API authorisations and client children). */
  pacemaker(value: string): boolean;
  /** Our generic refusal: `invalid value '<value>'`, allowed: the directive's entry. */
  generic(name: string, value: string): void;
}

/**
 * A directive whose setter is "parse the value, check it, store it". A refused value gets
 * Heartbeat's own message ({@link ValueDirective.refusal}) or, when Heartbeat only fails
 * silently, our generic explanation.
 */
export interface ValueDirective<T> {
  /** Directive name as written in ha.cf. */
  name: string;
  /** What the directive accepts, for explanations. */
  allowed: string;
  /** Parses the value; undefined refuses it. */
  parse: (value: string) => T | undefined;
  /** Checks the parsed value (default: every parsed value is valid). */
  valid?: (v: T) => boolean;
  /** Heartbeat stores the parsed value before checking it (so a refused value stays). */
  storeInvalid?: boolean;
  /** Stores the value (absent: the directive is only checked). */
  store?: (st: HaCfState, v: T, value: string) => void;
  /** Heartbeat's message and our "what is wrong" for a refused value; absent: generic. */
  refusal?: (value: string) => [heartbeat: string, what: string];
}

/** A directive with its own setter. */
export interface CustomDirective {
  /** Directive name as written in ha.cf. */
  name: string;
  /** What the directive accepts, for explanations. */
  allowed: string;
  /** Applies the value; false when refused (the setter has reported why). */
  apply: (ctx: DirectiveContext, value: string) => boolean;
}

/** One entry of {@link DIRECTIVES}. */
export type Directive = ValueDirective<never> | CustomDirective;

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

const BAUD_RATES = [9600, 19200, 38400, 57600, 115200, 230400, 460800];

/** Typed constructor of a {@link ValueDirective} (erases the value type for the table). */
function value<T>(d: ValueDirective<T>): Directive {
  return d as unknown as Directive;
}

/** A time directive: stored even when below `minMs`, then refused with the generic message. */
function time(
  name: string,
  allowed: string,
  minMs: number,
  store: (st: HaCfState, ms: number) => void,
): Directive {
  return value<number>({
    name,
    allowed,
    parse: parseTimeMs,
    valid: (ms) => ms >= minMs,
    storeInvalid: true,
    store,
  });
}

/**
 * An integer directive (C `atoi`) whose value Heartbeat stores before checking it, so a
 * refused value stays in force; refused with the generic message.
 */
function storedInt(
  name: string,
  allowed: string,
  valid: (n: number) => boolean,
  store: (st: HaCfState, n: number) => void,
): Directive {
  return value<number>({ name, allowed, parse: atoi, valid, storeInvalid: true, store });
}

/** A boolean directive refused with the generic message. */
function bool(name: string, store?: (st: HaCfState, b: boolean) => void): Directive {
  return value<boolean>({ name, allowed: "a boolean", parse: parseBoolean, store });
}

/** A boolean directive that is only checked, refused as `ha_config_check_boolean` does. */
function checkedBool(name: string): Directive {
  return value<boolean>({
    name,
    allowed: "a boolean",
    parse: parseBoolean,
    refusal: (
      v,
    ) => [`ha_config_check_boolean:Invalid directive value ${v}`, `invalid value '${v}'`],
  });
}

/** A directive taking one of `words` (exactly as written). */
function oneOf<T extends string>(
  name: string,
  allowed: string,
  words: readonly T[],
  store: (st: HaCfState, v: T) => void,
  refusal?: (value: string) => [string, string],
): Directive {
  return value<T>({
    name,
    allowed,
    parse: (v) => (words as readonly string[]).includes(v) ? v as T : undefined,
    store,
    refusal,
  });
}

/** A string directive stored as written. */
function text(name: string, allowed: string, store: (st: HaCfState, v: string) => void) {
  return value<string>({ name, allowed, parse: (v) => v, store });
}

/** Refuses with Heartbeat's message on stderr only (its `fprintf(stderr)` setters). */
function stderrError(ctx: DirectiveContext, name: string, text: string, what: string): false {
  ctx.rep.emit("ERROR", text, what, ALLOWED_VALUES[name], { stderrOnly: true });
  return false;
}

/** Heartbeat's harmless "must precede media statements" remarks, and our explanation. */
const MEDIA_ORDER_REMARKS = {
  baud: [
    "heartbeat: baudrate setting must precede media statements",
    "baud comes after media lines (harmless remark; printed on stderr without newline)",
  ],
  udpport: [
    "heartbeat: udpport setting must precede media statements",
    "udpport remark (printed on stderr without newline on every udpport line)",
  ],
} as const;

/** Emits the directive's "must precede media statements" remark: stderr, no newline. */
function mediaOrderRemark(ctx: DirectiveContext, name: keyof typeof MEDIA_ORDER_REMARKS): void {
  const [text, what] = MEDIA_ORDER_REMARKS[name];
  ctx.rep.emit("info", text, what, undefined, {
    stderrOnly: true,
    noNewline: true,
    noise: true,
    fatal: false,
  });
}

function applyWarntime(ctx: DirectiveContext, value: string): boolean {
  const ms = parseTimeMs(value);
  if (ms <= 0) {
    return stderrError(
      ctx,
      "warntime",
      `Warn time [${value}] is invalid.`,
      `invalid value '${value}'`,
    );
  }
  ctx.st.warntimeMs = ms;
  return true;
}

function applyWatchdog(ctx: DirectiveContext, value: string): boolean {
  if (ctx.st.watchdog !== undefined) {
    return stderrError(
      ctx,
      "watchdog",
      "heartbeat: Watchdog device multiply specified.",
      "watchdog given twice",
    );
  }
  ctx.st.watchdog = value;
  return true;
}

function applyBaud(ctx: DirectiveContext, value: string): boolean {
  if (ctx.baudSet) {
    return stderrError(ctx, "baud", "heartbeat: Baudrate multiply specified.", "baud given twice");
  }
  ctx.baudSet = true;
  if (!BAUD_RATES.includes(atoi(value))) {
    return stderrError(
      ctx,
      "baud",
      `heartbeat: invalid baudrate [${value}] specified.`,
      `invalid baud rate '${value}'`,
    );
  }
  if (ctx.anyMediaYet) mediaOrderRemark(ctx, "baud");
  return true;
}

function applyUdpport(ctx: DirectiveContext, value: string): boolean {
  const rep = ctx.rep;
  const port = atoi(value);
  if (port <= 0) {
    return stderrError(
      ctx,
      "udpport",
      `heartbeat: invalid port [${value}] specified.`,
      `invalid port '${value}'`,
    );
  }
  const svc = ctx.sys.serviceByPort(port % 65536, "udp");
  if (svc !== undefined && svc !== "ha-cluster") {
    rep.emit(
      "WARN",
      `heartbeat: udp port ${value} reserved for service "${svc}".`,
      `port ${value} is registered for service "${svc}" in /etc/services`,
      "any port; 694 (ha-cluster) is the registered one",
      { fatal: false },
    );
  }
  if (ctx.st.media.some((m) => m.type === "bcast" || m.type === "ucast" || m.type === "ucast6")) {
    rep.emit(
      "WARN",
      [],
      "udpport comes after bcast/ucast/ucast6 media, which keep the port latched at their first line",
      "udpport before the media lines",
      { fatal: false },
    );
  }
  mediaOrderRemark(ctx, "udpport");
  return true;
}

function applyNiceFailback(ctx: DirectiveContext, value: string): boolean {
  const { st, rep } = ctx;
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

function applyUseLogd(ctx: DirectiveContext, value: string): boolean {
  const rep = ctx.rep;
  const b = parseBoolean(value);
  if (b) {
    rep.emit("info", "Enabling logging daemon ", "use_logd is on", undefined, { fatal: false });
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
    ctx.generic("use_logd", value);
    return false;
  }
  ctx.st.useLogd = b;
  return true;
}

function applyCrmDaemonDir(ctx: DirectiveContext, value: string): boolean {
  // Quirk: the check is inverted. Before any pacemaker/crm directive the
  // value is rejected silently; after one it complains but is accepted.
  if (!ctx.st.params.has("pacemaker")) {
    ctx.generic("crm_daemon_dir", value);
    return false;
  }
  ctx.rep.emit(
    "ERROR",
    `If you specify ${value}, it must come before the pacemaker directive\n`,
    "crm_daemon_dir after pacemaker/crm (Heartbeat complains but accepts it)",
    "crm_daemon_dir only after pacemaker (inverted check in 3.0.6)",
    { fatal: false },
  );
  return true;
}

function applyCrmdSpawnsPengine(ctx: DirectiveContext, value: string): boolean {
  const allowed = ALLOWED_VALUES.crmd_spawns_pengine;
  if (ctx.st.params.has("pacemaker")) {
    ctx.rep.emit(
      "ERROR",
      `If you specify ${value}, it must come before the pacemaker directive\n`,
      "crmd_spawns_pengine after pacemaker/crm",
      allowed,
    );
    return false;
  }
  if (parseBoolean(value) === undefined) {
    ctx.rep.emit(
      "ERROR",
      `ha_config_check_boolean:Invalid directive value ${value}`,
      `invalid value '${value}'`,
      allowed,
    );
    return false;
  }
  return true;
}

const TIME_NO_S_UNIT = "a time: seconds, or with unit ms/us attached (no 's' unit)";

const PACEMAKER_ALLOWED = "a boolean, respawn, minimal, manual, ccm-only or valgrind, given once";

/** The option directives, in Heartbeat's table order (`config/defaults.ts` has the same order). */
export const DIRECTIVES: readonly Directive[] = [
  text("cluster", "a name", (st, v) => (st.cluster = v)),
  {
    name: "node",
    allowed: "node names (at most 100 nodes)",
    apply: (ctx, v) => {
      if (ctx.addNode(v, "normal")) return true;
      ctx.generic("node", v);
      return false;
    },
  },
  storedInt("hopfudge", "an integer 0-255", (n) => n >= 0 && n < 256, (st, n) => (st.hopfudge = n)),
  time(
    "keepalive",
    "a time > 0: seconds (fractions allowed), or with unit ms/us attached, e.g. 1, 1.5, 500ms",
    1,
    (st, ms) => (st.keepaliveMs = ms),
  ),
  time(
    "deadtime",
    "a time: seconds, or with unit ms/us attached, e.g. 30, 5000ms (no 's' unit)",
    0,
    (st, ms) => (st.deadtimeMs = ms),
  ),
  time("deadping", TIME_NO_S_UNIT, 0, (st, ms) => (st.deadpingMs = ms)),
  time("initdead", TIME_NO_S_UNIT, 0, (st, ms) => (st.initdeadMs = ms)),
  {
    name: "warntime",
    allowed: "a time > 0: seconds, or with unit ms/us attached (no 's' unit)",
    apply: applyWarntime,
  },
  { name: "watchdog", allowed: "one watchdog device path, given once", apply: applyWatchdog },
  {
    name: "baud",
    allowed: "one of 9600 19200 38400 57600 115200 230400 460800, given once",
    apply: applyBaud,
  },
  { name: "udpport", allowed: "a UDP port number > 0", apply: applyUdpport },
  value<number>({
    name: "logfacility",
    allowed:
      "none or a syslog facility: auth security authpriv cron daemon ftp kern lpr mail news syslog user uucp local0-local7",
    parse: (v) => FACILITIES[v],
    store: (st, f, v) => {
      st.logFacility = f;
      st.logFacilityName = v;
    },
    refusal: (v) => [`Log facility(${v}) not valid`, `unknown facility '${v}'`],
  }),
  text("logfile", "a path", (st, v) => (st.logfile = v)),
  text("debugfile", "a path", (st, v) => (st.debugfile = v)),
  {
    name: "nice_failback",
    allowed: "a boolean (obsolete: use auto_failback)",
    apply: applyNiceFailback,
  },
  value<{ nice: boolean; on: boolean }>({
    name: "auto_failback",
    allowed: "on, off (or other boolean words) or legacy",
    parse: (v) => {
      const b = parseBoolean(v);
      if (b !== undefined) return { nice: true, on: b };
      if (v.toLowerCase() === "legacy") return { nice: false, on: false };
      return undefined;
    },
    store: (st, m) => {
      st.niceFailback = m.nice;
      st.autoFailbackOn = m.on;
    },
  }),
  value<number>({
    name: "rtprio",
    allowed: "an integer 1-99",
    parse: atoi,
    valid: (p) => p >= 1 && p <= 99,
    store: (st, p) => (st.rtprio = p),
    refusal: (v) => [`Illegal realtime priority [${v}]`, `priority ${v} out of range`],
  }),
  oneOf(
    "hbgenmethod",
    "file or time",
    ["file", "time"],
    (st, v) => (st.hbgenmethod = v),
    (v) => [`Illegal hb generation method [${v}]`, `unknown method '${v}'`],
  ),
  value<boolean>({
    name: "realtime",
    allowed: "a boolean: true on yes y 1 / false off no n 0",
    parse: parseBoolean,
    store: (st, b) => (st.realtime = b),
  }),
  storedInt("debug", "an integer 0-255", (n) => n >= 0 && n < 256, (st, n) => (st.debugLevel = n)),
  oneOf("msgfmt", "classic or netstring", ["classic", "netstring"], (st, v) => (st.msgfmt = v)),
  { name: "use_logd", allowed: "a boolean", apply: applyUseLogd },
  time("conn_logd_time", "a time > 0", 1, (st, ms) => (st.connLogdTimeMs = ms)),
  bool("use_apphbd", (st, b) => (st.useApphbd = b)),
  bool("log_badpack", (st, b) => (st.logBadpack = b)),
  bool("syslogmsgfmt", (st, b) => (st.syslogmsgfmt = b)),
  bool("coredumps", (st, b) => (st.coredumps = b)),
  value<string>({ name: "coreroot", allowed: "a directory", parse: (v) => v }),
  {
    name: "crm_daemon_dir",
    allowed: "a directory, only after a pacemaker/crm directive",
    apply: applyCrmDaemonDir,
  },
  {
    name: "crmd_spawns_pengine",
    allowed: "a boolean, only before the pacemaker/crm directive",
    apply: applyCrmdSpawnsPengine,
  },
  { name: "crm", allowed: PACEMAKER_ALLOWED, apply: (ctx, v) => ctx.addOption("pacemaker", v) },
  { name: "pacemaker", allowed: PACEMAKER_ALLOWED, apply: (ctx, v) => ctx.pacemaker(v) },
  value<"none" | "other" | "any">({
    name: "autojoin",
    allowed: "none, other or any",
    parse: (v) => {
      const l = v.toLowerCase();
      return l === "none" || l === "other" || l === "any" ? l : undefined;
    },
    store: (st, m) => (st.autojoin = m),
    refusal: (v) => [`Invalid autojoin directive [${v}]`, `unknown mode '${v}'`],
  }),
  oneOf(
    "uuidfrom",
    "file or nodename",
    ["file", "nodename"],
    (st, v) => (st.uuidfrom = v),
    (v) => [`Invalid uuidfrom directive [${v}]`, `unknown source '${v}'`],
  ),
  oneOf(
    "compression",
    "zlib or bz2",
    ["zlib", "bz2"],
    (st, v) => (st.compression = v),
    (v) => [`Compression module(${v}) not found`, `unknown module '${v}'`],
  ),
  value<number>({
    name: "compression_threshold",
    allowed: "an integer > 0 (KB)",
    parse: atoi,
    valid: (n) => n > 0,
    store: (st, n) => (st.compressionThresholdKb = n),
    refusal: (v) => [
      `set_compression_threshold: compress_threshhold(${v}) invalid`,
      `invalid threshold '${v}'`,
    ],
  }),
  value<boolean>({
    name: "traditional_compression",
    allowed: "a boolean",
    parse: parseBoolean,
    store: (st, b) => (st.traditionalCompression = b),
    refusal: (v) => [
      `set_traditional_compression:Invalid directive value ${v}`,
      `invalid value '${v}'`,
    ],
  }),
  value<[string, string]>({
    name: "env",
    allowed: "NAME=value",
    parse: (v) => {
      const eq = v.indexOf("=");
      const nlen = eq < 0 ? v.length : eq;
      if (nlen <= 0 || nlen >= MAXLINE) return undefined;
      return [`HA_${v.slice(0, nlen)}`, eq < 0 ? "" : v.slice(eq + 1)];
    },
    store: (st, [k, v]) => (st.env[k] = v),
    refusal: (v) => [`set_env: invalid nvpair(${v})`, `invalid NAME=value pair '${v}'`],
  }),
  value<number>({
    name: "max_rexmit_delay",
    allowed: "an integer > 0 (ms)",
    parse: atoi,
    valid: (n) => n > 0,
    store: (st, n) => (st.maxRexmitDelayMs = n),
    refusal: (v) => [`Invalid max_rexmit_delay time(${v})`, `invalid delay '${v}'`],
  }),
  checkedBool("record_config_changes"),
  checkedBool("record_pengine_inputs"),
  checkedBool("enable_config_writes"),
  storedInt("memreserve", "an integer > 0 (KB)", (n) => n > 0, (st, n) => (st.memreserveKb = n)),
  text("quorum_server", "a host name", (st, v) => (st.cluster = v)),
];

const BY_NAME: ReadonlyMap<string, Directive> = new Map(DIRECTIVES.map((d) => [d.name, d]));

/** Looks an option directive up in {@link DIRECTIVES}. */
export function directiveRule(name: string): Directive | undefined {
  return BY_NAME.get(name);
}

/**
 * Applies one value of an option directive: the one apply loop of every table entry.
 * Returns false when the value is refused (after reporting why).
 */
export function applyDirective(d: Directive, ctx: DirectiveContext, value: string): boolean {
  if ("apply" in d) return d.apply(ctx, value);
  const rule = d as unknown as ValueDirective<unknown>;
  const v = rule.parse(value);
  const ok = v !== undefined && (rule.valid?.(v) ?? true);
  if (v !== undefined && (ok || rule.storeInvalid)) rule.store?.(ctx.st, v, value);
  if (ok) return true;
  if (rule.refusal) {
    const [heartbeat, what] = rule.refusal(value);
    ctx.rep.emit("ERROR", heartbeat, what, rule.allowed);
  } else {
    ctx.generic(rule.name, value);
  }
  return false;
}

/** What each directive accepts, for explanations: the table's entries and the whole-line ones. */
export const ALLOWED_VALUES: Readonly<Record<string, string>> = {
  ...Object.fromEntries(DIRECTIVES.map((d) => [d.name, d.allowed])),
  apiauth:
    "apiauth CLIENT [uid=u1,u2...] [gid=g1,g2...] with existing users/groups, one entry per client",
  respawn: "respawn USER /absolute/executable [args...] with an existing USER",
  failfast: "failfast USER /absolute/executable [args...] with an existing USER",
  stonith: "stonith TYPE CONFIG-FILE with an installed STONITH type and an existing file",
  stonith_host: "stonith_host HOST|* TYPE PARAMS... with an installed STONITH type",
};
