/**
 * hb logging: Heartbeat 3.0.6 log lines (spec §6) for every hb process.
 *
 * LogTape is the engine (this is the only module that imports it): {@link hbLog} and
 * {@link scriptLog} emit LogTape records under the category `["hb"]`, and four LogTape
 * sinks defined here write them: stderr, logfile, debugfile and syslog.
 *
 * Routing (§6.1):
 * - logfile: every cl_log message except priority debug; script lines;
 * - debugfile: every message, debug included; script lines (when it is not the logfile);
 * - syslog (a facility other than none/kern): every message with its own priority, through
 *   glibc `syslog(3)` (`sys/syslog.ts`), ident = entity, text `[<pid>]: <PRIO>: <msg>`;
 * - stderr: every cl_log message in the file format while {@link setStderr} is on (the
 *   default, for start-up and CLI tools).
 *
 * A process that never calls {@link configureLogging} logs to stderr only. Files are opened
 * in append mode, written with one unbuffered `write(2)` per line before the call returns
 * (see `log_file.ts`), kept open, reopened by {@link reopenLogs} (SIGHUP/reload), and about
 * once a minute checked for rotation (`info: log-rotate detected on logfile <path>`).
 *
 * Logging calls never throw.
 *
 * @module
 */

import {
  configureSync,
  getConfig,
  getLogger,
  type LogLevel,
  type LogRecord,
  type Sink,
} from "@logtape/logtape";
import {
  FACILITY_NAMES,
  facilityCode,
  syslogClose,
  syslogOpen,
  syslogSend,
  syslogSendAs,
} from "../sys/syslog.ts";
import {
  formatLine,
  formatScriptDebugLine,
  formatScriptLogfileLine,
  formatScriptStderrLine,
  formatSyslogText,
  PRIORITIES,
  type Priority,
  PRIORITY_WORD,
  scriptSyslogPriority,
  scriptTag,
  scriptText,
  SYSLOG_PRIORITY,
} from "./format.ts";
import { isNullPath, LogFile } from "./log_file.ts";

export {
  FACILITY_NAMES,
  formatLine,
  formatSyslogText,
  PRIORITIES,
  type Priority,
  PRIORITY_WORD,
  scriptTag,
};

/** Options of {@link configureLogging}. */
export interface LoggingOptions {
  /** Program name in every line (`heartbeat`, `ipfail`, `cl_status`). Default: argv[0] basename. */
  entity?: string;
  /** Node name in syslog-format lines. Default: `uname -n`. */
  hostname?: string;
  /** `logfile` path; absent or `/dev/null` (any case) = none. */
  logfile?: string;
  /** `debugfile` path; absent or `/dev/null` (any case) = none. */
  debugfile?: string;
  /** `logfacility` name; absent, `none` or `kern` = no syslog. Unknown names throw RangeError. */
  facility?: string;
  /** `syslogmsgfmt` (default true): file/stderr line format. */
  syslogmsgfmt?: boolean;
  /** Copy every message to stderr (default true). */
  stderr?: boolean;
  /** Debug level 0..255; left unchanged when absent. */
  debugLevel?: number;
  /**
   * Script lines use heartbeat's `HA_DATEFMT` (`2026/11/21_21:44:31`, default true); false
   * gives ha_log's stand-alone date (`Nov 21 21:45:10`), for client tools run by hand.
   */
  haDateFormat?: boolean;
  /** How often files are checked for rotation, in ms (default 60000, like Heartbeat). */
  rotateCheckMs?: number;
}

/** The active destinations, e.g. for exporting `HA_LOGFILE` or chown'ing the files. */
export interface LoggingTargets {
  /** Entity printed in lines. */
  entity: string;
  /** Open logfile path, or null. */
  logfile: string | null;
  /** Open debugfile path, or null. */
  debugfile: string | null;
  /** Syslog facility name, or null when syslog is off. */
  facility: string | null;
  /** Whether messages are copied to stderr. */
  stderr: boolean;
  /** Current `syslogmsgfmt`. */
  syslogmsgfmt: boolean;
}

interface State {
  entity: string;
  host: string | null; // resolved lazily
  logfile: LogFile | null;
  debugfile: LogFile | null;
  facility: string | null;
  syslogmsgfmt: boolean;
  stderr: boolean;
  haDateFormat: boolean;
  rotateCheckMs: number;
}

const encoder = new TextEncoder();

function defaultEntity(): string {
  try {
    const argv0 = Deno.readTextFileSync("/proc/self/cmdline").split("\0", 1)[0];
    const base = argv0.slice(argv0.lastIndexOf("/") + 1);
    if (base !== "" && base !== "deno" && !base.includes(":")) return base;
  } catch {
    // no /proc or no read permission: the log lines carry the default name "heartbeat"
  }
  return "heartbeat";
}

function detectHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    try {
      return Deno.readTextFileSync("/proc/sys/kernel/hostname").trim();
    } catch {
      return "localhost";
    }
  }
}

const state: State = {
  entity: defaultEntity(),
  host: null,
  logfile: null,
  debugfile: null,
  facility: null,
  syslogmsgfmt: true,
  stderr: true,
  haDateFormat: true,
  rotateCheckMs: 60_000,
};

let debugLevel = 0;
let lastRotateCheck = Date.now();

function host(): string {
  return (state.host ??= detectHostname());
}

// ---- LogTape records and sinks ---------------------------------------------------------

/** Properties of an hb record. */
interface HbProps {
  kind: "cl_log" | "script";
  prio: Priority;
  msg: string;
  glib: boolean;
  /** script lines only */
  tag: string;
  /** pid printed in the line (a worker's, for lines it relays through the master) */
  pid?: number;
}

const LOGTAPE_LEVEL: Readonly<Record<Priority, LogLevel>> = {
  emerg: "fatal",
  alert: "fatal",
  crit: "fatal",
  error: "error",
  warn: "warning",
  notice: "info",
  info: "info",
  debug: "debug",
};

function propsOf(record: LogRecord): HbProps | null {
  const p = record.properties as Partial<HbProps>;
  return p.kind === undefined ? null : (p as HbProps);
}

// The formatted file/stderr line of the record being dispatched, shared by the sinks.
let memoRecord: LogRecord | null = null;
let memoLine: Uint8Array = new Uint8Array();

function clLogLine(record: LogRecord, p: HbProps): Uint8Array {
  if (memoRecord !== record) {
    const line = formatLine({
      time: new Date(record.timestamp),
      host: host(),
      entity: state.entity,
      pid: p.pid ?? Deno.pid,
      prio: p.prio,
      msg: p.msg,
      glib: p.glib,
    }, state.syslogmsgfmt);
    memoLine = encoder.encode(line + "\n");
    memoRecord = record;
  }
  return memoLine;
}

function writeStderr(bytes: Uint8Array): void {
  try {
    let off = 0;
    while (off < bytes.length) off += Deno.stderr.writeSync(bytes.subarray(off));
  } catch {
    // stderr closed: nothing sensible to do
  }
}

/** True when a script line must fall back to stderr (ha_log: no logfile and no facility). */
function scriptNeedsStderr(): boolean {
  return state.logfile === null && state.facility === null;
}

const stderrSink: Sink = (record) => {
  const p = propsOf(record);
  if (p === null) return;
  if (p.kind === "cl_log") {
    if (state.stderr) writeStderr(clLogLine(record, p));
  } else if (scriptNeedsStderr() && p.prio !== "debug") {
    const text = scriptText(null, p.msg);
    writeStderr(
      encoder.encode(
        formatScriptStderrLine(new Date(record.timestamp), text, state.haDateFormat) + "\n",
      ),
    );
  }
};

/** Writes a resource script's line to `f` in the file's `format` (logfile or debugfile). */
function writeScriptLine(
  f: LogFile,
  format: typeof formatScriptLogfileLine,
  record: LogRecord,
  p: HbProps,
): void {
  const line = format(new Date(record.timestamp), p.tag, p.msg, state.haDateFormat);
  f.write(encoder.encode(line + "\n"), state.rotateCheckMs);
}

const logfileSink: Sink = (record) => {
  const p = propsOf(record);
  const f = state.logfile;
  if (p === null || f === null || p.prio === "debug") return;
  if (p.kind === "cl_log") {
    f.write(clLogLine(record, p), state.rotateCheckMs);
  } else {
    writeScriptLine(f, formatScriptLogfileLine, record, p);
  }
};

const debugfileSink: Sink = (record) => {
  const p = propsOf(record);
  const f = state.debugfile;
  if (p === null || f === null) return;
  if (p.kind === "cl_log") {
    f.write(clLogLine(record, p), state.rotateCheckMs);
  } else if (state.logfile === null || state.logfile.path !== f.path) {
    writeScriptLine(f, formatScriptDebugLine, record, p);
  }
};

const syslogSink: Sink = (record) => {
  const p = propsOf(record);
  if (p === null || state.facility === null) return;
  if (p.kind === "cl_log") {
    syslogSend(SYSLOG_PRIORITY[p.prio], formatSyslogText(p.pid ?? Deno.pid, p.prio, p.msg, p.glib));
  } else {
    const prio = p.prio === "debug" ? SYSLOG_PRIORITY.debug : scriptSyslogPriority(p.msg);
    syslogSendAs(p.tag, prio, p.msg);
  }
};

/** LogTape's own diagnostics (a sink failing, …) go to stderr as hb ERROR lines. */
const metaSink: Sink = (record) => {
  const text = record.message.map((part) => typeof part === "string" ? part : String(part)).join(
    "",
  );
  writeStderr(
    encoder.encode(
      formatLine({
        time: new Date(record.timestamp),
        host: host(),
        entity: state.entity,
        pid: Deno.pid,
        prio: "error",
        msg: `logging: ${text}`,
      }, state.syslogmsgfmt) + "\n",
    ),
  );
};

const hbLogger = getLogger(["hb"]);
let logtapeConfig: unknown = null;

/** (Re)installs the LogTape configuration with the sinks that are currently active. */
function installLogTape(): void {
  const active: string[] = ["stderr"]; // also carries the script-line stderr fallback
  if (state.logfile !== null) active.push("logfile");
  if (state.debugfile !== null) active.push("debugfile");
  if (state.facility !== null) active.push("syslog");
  configureSync({
    reset: true,
    sinks: {
      stderr: stderrSink,
      logfile: logfileSink,
      debugfile: debugfileSink,
      syslog: syslogSink,
      meta: metaSink,
    },
    loggers: [
      { category: ["hb"], sinks: active, lowestLevel: "debug" },
      { category: ["logtape", "meta"], sinks: ["meta"], lowestLevel: "warning" },
    ],
  });
  logtapeConfig = getConfig();
}

function emit(props: HbProps): void {
  if (logtapeConfig === null || getConfig() !== logtapeConfig) installLogTape();
  hbLogger.emit({
    level: LOGTAPE_LEVEL[props.prio],
    message: [props.msg],
    rawMessage: props.msg,
    timestamp: Date.now(),
    properties: props as unknown as Record<string, unknown>,
  });
}

/** Reopens rotated files (checked at most every rotateCheckMs) and says so in the log. */
function checkRotation(): void {
  const now = Date.now();
  if (now - lastRotateCheck < state.rotateCheckMs) return;
  lastRotateCheck = now;
  const reopened: string[] = [];
  for (const f of [state.logfile, state.debugfile]) {
    if (f !== null && f.rotated()) {
      f.open();
      reopened.push(f.path);
    }
  }
  for (const path of reopened) {
    emit({
      kind: "cl_log",
      prio: "info",
      msg: `log-rotate detected on logfile ${path}`,
      glib: false,
      tag: "",
    });
  }
}

// ---- public API --------------------------------------------------------------------------

/**
 * Sets where and how this process logs. Each call replaces the whole configuration (files
 * are closed and opened again); omitted fields take their defaults, except `debugLevel`,
 * which is left unchanged when omitted. Throws RangeError for an unknown facility name
 * (validate with {@link facilityCode} first). A file that cannot be opened does not throw:
 * see {@link loggingProblems}; opening is retried about once a minute.
 */
export function configureLogging(opts: LoggingOptions = {}): void {
  let fac: string | null = null;
  let code: number | undefined;
  if (opts.facility !== undefined && opts.facility !== "none") {
    code = facilityCode(opts.facility);
    if (code === undefined) {
      throw new RangeError(
        `Log facility(${opts.facility}) not valid: use none or one of ${FACILITY_NAMES.join(" ")}`,
      );
    }
    if (code !== 0) fac = opts.facility; // kern (0) means "no syslog", as in Heartbeat
  }
  closeFiles();
  syslogClose();
  state.entity = opts.entity ?? defaultEntity();
  state.host = opts.hostname ?? null;
  state.syslogmsgfmt = opts.syslogmsgfmt ?? true;
  state.stderr = opts.stderr ?? true;
  state.haDateFormat = opts.haDateFormat ?? true;
  state.rotateCheckMs = opts.rotateCheckMs ?? 60_000;
  state.logfile = openTarget(opts.logfile);
  state.debugfile = openTarget(opts.debugfile);
  state.facility = fac;
  if (fac !== null && !syslogOpen(state.entity, code!)) state.facility = null;
  if (opts.debugLevel !== undefined) setDebugLevel(opts.debugLevel);
  lastRotateCheck = Date.now();
  installLogTape();
}

function openTarget(path: string | undefined): LogFile | null {
  if (path === undefined || path === "" || isNullPath(path)) return null;
  return new LogFile(path);
}

function closeFiles(): void {
  state.logfile?.close();
  state.debugfile?.close();
  state.logfile = null;
  state.debugfile = null;
}

/** Problems with the destinations (a file that cannot be opened, …); empty when all is well. */
export function loggingProblems(): string[] {
  const out: string[] = [];
  for (const f of [state.logfile, state.debugfile]) {
    if (f !== null && f.lastError !== "") out.push(`${f.path}: ${f.lastError}`);
  }
  return out;
}

/** The active destinations. */
export function loggingTargets(): LoggingTargets {
  return {
    entity: state.entity,
    logfile: state.logfile?.path ?? null,
    debugfile: state.debugfile?.path ?? null,
    facility: state.facility,
    stderr: state.stderr,
    syslogmsgfmt: state.syslogmsgfmt,
  };
}

/** Turns the copy of every message to stderr on or off (off once the daemon detaches). */
export function setStderr(on: boolean): void {
  state.stderr = on;
}

/** Changes the entity (e.g. after choosing a personality) without touching destinations. */
export function setEntity(entity: string): void {
  state.entity = entity;
}

/**
 * Closes and reopens logfile and debugfile (SIGHUP / reload, so that logrotate's
 * rename-and-signal works). Returns false if a file could not be reopened.
 */
export function reopenLogs(): boolean {
  let ok = true;
  for (const f of [state.logfile, state.debugfile]) {
    if (f !== null && !f.open()) ok = false;
  }
  lastRotateCheck = Date.now();
  return ok;
}

/** Closes files and syslog; afterwards messages go to stderr only (if enabled). */
export function closeLogging(): void {
  closeFiles();
  syslogClose();
  state.facility = null;
  installLogTape();
}

/** Sets the debug level (clamped to 0..255). */
export function setDebugLevel(level: number): void {
  debugLevel = Math.min(255, Math.max(0, Math.trunc(Number.isFinite(level) ? level : 0)));
}

/** The current debug level. */
export function getDebugLevel(): number {
  return debugLevel;
}

/** True when messages of debug level `level` are produced (`level <= current level`). */
export function debugEnabled(level: number): boolean {
  return debugLevel >= level;
}

/** Options of {@link hbLog}. */
export interface HbLogOptions {
  /** Message from a plugin or glib: printed as `<PRIO>: glib: <message>`. */
  glib?: boolean;
  /** Log as this pid instead of ours (a worker's line relayed by the master). */
  pid?: number;
}

/** Logs one message with the given priority, like Heartbeat's cl_log. Never throws. */
export function hbLog(prio: Priority, msg: string, opts?: HbLogOptions): void {
  try {
    checkRotation();
    emit({ kind: "cl_log", prio, msg, glib: opts?.glib ?? false, tag: "", pid: opts?.pid });
  } catch {
    // logging must never take the process down
  }
}

/**
 * Logs a debug-priority message only when the debug level is at least `level`. `msg` may
 * be a function so that expensive text is not built when it is not needed. Level 0
 * messages are always produced (they reach debugfile and syslog, never logfile).
 */
export function debug(level: number, msg: string | (() => string), opts?: HbLogOptions): void {
  if (debugLevel < level) return;
  hbLog("debug", typeof msg === "function" ? msg() : msg, opts);
}

/** Convenience functions, one per priority. `log.debug` logs unconditionally (level 0). */
export const log: Readonly<Record<Priority, (msg: string, opts?: HbLogOptions) => void>> = {
  emerg: (msg, opts) => hbLog("emerg", msg, opts),
  alert: (msg, opts) => hbLog("alert", msg, opts),
  crit: (msg, opts) => hbLog("crit", msg, opts),
  error: (msg, opts) => hbLog("error", msg, opts),
  warn: (msg, opts) => hbLog("warn", msg, opts),
  notice: (msg, opts) => hbLog("notice", msg, opts),
  info: (msg, opts) => hbLog("info", msg, opts),
  debug: (msg, opts) => hbLog("debug", msg, opts),
};

/**
 * Logs a line the way resource-agents' `ha_log` does for heartbeat's scripts (§6.4), for
 * our ResourceManager/harc/mach_down equivalents:
 *
 * - logfile: `2026/11/21_21:44:31  ResourceManager(default)[4489]:    info: Running …`
 * - debugfile (when not the logfile): `ResourceManager(default)[4489]:<TAB>2026/… info: …`
 * - syslog: ident = tag, priority from the text (ERROR → err, WARN → warning, INFO or
 *   exactly `info` → info, else notice), configured facility;
 * - stderr (only when there is neither a logfile nor a facility): `Nov 21 21:45:10 <text>`.
 *
 * `tag` is `name(instance)[pid]` (see {@link scriptTag}). The text is `<PRIO>: <msg>` when
 * `prio` is given, else `msg` exactly (for lines such as `INFO:  Resource is stopped` or
 * `Going standby [all].`). Priority debug (ha_debug) is produced only at debug level > 0 and
 * goes to debugfile and syslog only. Never throws.
 */
export function scriptLog(tag: string, prio: Priority | null, msg: string): void {
  if (prio === "debug" && debugLevel === 0) return;
  try {
    checkRotation();
    emit({ kind: "script", prio: prio ?? "notice", msg: scriptText(prio, msg), glib: false, tag });
  } catch {
    // a line that cannot be written has nowhere to be reported: logging never stops the caller
  }
}

/**
 * Appends `text` as it is to the debug file (Heartbeat sends resource scripts'
 * stdout/stderr to `HA_DEBUGLOG` unchanged). Nothing happens without a debugfile.
 * Never throws.
 */
export function debugRaw(text: string): void {
  const f = state.debugfile;
  if (f === null || text === "") return;
  try {
    f.write(encoder.encode(text.endsWith("\n") ? text : text + "\n"), state.rotateCheckMs);
  } catch {
    // a line that cannot be written has nowhere to be reported: logging never stops the caller
  }
}

/** Checks the files for rotation now (normally done at most once a minute while logging). */
export function checkLogRotation(): void {
  lastRotateCheck = -Infinity;
  checkRotation();
}
