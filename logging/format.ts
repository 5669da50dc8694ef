/**
 * Pure formatting of Heartbeat 3.0.6 log lines (spec §6.2–§6.4). No I/O, no clock: callers
 * pass the time, host, entity and pid, so tests can reproduce captured lines byte for byte.
 *
 * All dates are local time (as the C library's `localtime` gives them, i.e. the TZ of the
 * process).
 *
 * @module
 */

/** Log priorities, named like the convenience functions of `logging/mod.ts`. */
export type Priority =
  | "emerg"
  | "alert"
  | "crit"
  | "error"
  | "warn"
  | "notice"
  | "info"
  | "debug";

/** Every priority, most severe first. */
export const PRIORITIES: readonly Priority[] = [
  "emerg",
  "alert",
  "crit",
  "error",
  "warn",
  "notice",
  "info",
  "debug",
];

/** syslog priority value (LOG_EMERG = 0 … LOG_DEBUG = 7) of each priority. */
export const SYSLOG_PRIORITY: Readonly<Record<Priority, number>> = {
  emerg: 0,
  alert: 1,
  crit: 2,
  error: 3,
  warn: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

/** The word Heartbeat prints for each priority (§6.3). */
export const PRIORITY_WORD: Readonly<Record<Priority, string>> = {
  emerg: "EMERG",
  alert: "ALERT",
  crit: "CRIT",
  error: "ERROR",
  warn: "WARN",
  notice: "notice",
  info: "info",
  debug: "debug",
};

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function hms(d: Date): string {
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** `Mon DD HH:MM:SS` with the day zero-padded (`Nov 05 21:44:31`), local time. */
export function formatSyslogStyleDate(d: Date): string {
  return `${MONTHS[d.getMonth()]} ${pad2(d.getDate())} ${hms(d)}`;
}

/** `YYYY/MM/DD_HH:MM:SS` (`2026/11/21_21:41:32`), local time. */
export function formatHaDate(d: Date): string {
  return `${d.getFullYear()}/${pad2(d.getMonth() + 1)}/${pad2(d.getDate())}_${hms(d)}`;
}

/** Everything needed to format one cl_log line. */
export interface LineFields {
  /** When the message was logged. */
  time: Date;
  /** Node name (`uname -n`), used by the syslog-style format only. */
  host: string;
  /** Program basename: `heartbeat`, `ipfail`, `cl_status`, … */
  entity: string;
  /** Pid of the logging process. */
  pid: number;
  /** Priority of the message. */
  prio: Priority;
  /** Message text; may contain newlines, written as-is. */
  msg: string;
  /** Message from a plugin/glib: `glib: ` follows the priority word. */
  glib?: boolean;
}

/** `<PRIO>: [glib: ]<message>`: the part shared by every format. */
export function formatBody(prio: Priority, msg: string, glib = false): string {
  return `${PRIORITY_WORD[prio]}: ${glib ? "glib: " : ""}${msg}`;
}

/**
 * One file/stderr line, without the trailing newline.
 *
 * - `syslogmsgfmt` true (default):
 *   `Nov 21 21:44:31 node1 heartbeat: [3310]: WARN: node node2: is dead`
 * - `syslogmsgfmt` false:
 *   `heartbeat[5765]: 2026/11/21_21:41:32 info: Configuration validated. …`
 */
export function formatLine(f: LineFields, syslogmsgfmt = true): string {
  const body = formatBody(f.prio, f.msg, f.glib);
  return syslogmsgfmt
    ? `${formatSyslogStyleDate(f.time)} ${f.host} ${f.entity}: [${f.pid}]: ${body}`
    : `${f.entity}[${f.pid}]: ${formatHaDate(f.time)} ${body}`;
}

/**
 * Text handed to syslog(3) (the ident is the entity, without LOG_PID):
 * `[5542]: WARN: Core dumps could be lost …`.
 */
export function formatSyslogText(pid: number, prio: Priority, msg: string, glib = false): string {
  return `[${pid}]: ${formatBody(prio, msg, glib)}`;
}

// ---- script (ha_log) lines, §6.4 --------------------------------------------------------

/**
 * Tag of a script line: `<name>(<instance>)[<pid>]`, e.g. `ResourceManager(default)[4489]`.
 */
export function scriptTag(name: string, pid: number, instance = "default"): string {
  return `${name}(${instance})[${pid}]`;
}

/** Text of a script line: `<PRIO>: <message>`, or the message alone when prio is null. */
export function scriptText(prio: Priority | null, msg: string): string {
  return prio === null ? msg : formatBody(prio, msg);
}

/** Date as ha_log prints it: heartbeat's `HA_DATEFMT` or the stand-alone default. */
function scriptDate(d: Date, haDateFormat: boolean): string {
  return haDateFormat ? formatHaDate(d) : formatSyslogStyleDate(d);
}

/**
 * logfile line of a script: `<date>  <TAG>:    <text>` (two spaces, four spaces):
 * `2026/11/21_21:44:31  ResourceManager(default)[4489]:    info: Running …`.
 * `haDateFormat` false uses the stand-alone date (`Nov 21 21:45:10`).
 */
export function formatScriptLogfileLine(
  time: Date,
  tag: string,
  text: string,
  haDateFormat = true,
): string {
  return `${scriptDate(time, haDateFormat)}  ${tag}:    ${text}`;
}

/**
 * debugfile line of a script: `<TAG>:<TAB><date> <text>`:
 * `ResourceManager(default)[18219]:\t2026/11/21_21:33:04 info: Releasing resource group: …`.
 */
export function formatScriptDebugLine(
  time: Date,
  tag: string,
  text: string,
  haDateFormat = true,
): string {
  return `${tag}:\t${scriptDate(time, haDateFormat)} ${text}`;
}

/**
 * stderr line of a script when neither a logfile nor a facility is set:
 * `Nov 21 21:45:10 Going standby [all].` (no tag).
 */
export function formatScriptStderrLine(time: Date, text: string, haDateFormat = false): string {
  return `${scriptDate(time, haDateFormat)} ${text}`;
}

/**
 * syslog priority ha_log picks from the text: err if it contains `ERROR`, warning if it
 * contains `WARN`, info if it contains `INFO` or is exactly `info`, else notice (so the usual
 * `info: …` lines arrive at notice). Case-sensitive, like the shell pattern match.
 */
export function scriptSyslogPriority(text: string): number {
  if (text.includes("ERROR")) return SYSLOG_PRIORITY.error;
  if (text.includes("WARN")) return SYSLOG_PRIORITY.warn;
  if (text.includes("INFO") || text === "info") return SYSLOG_PRIORITY.info;
  return SYSLOG_PRIORITY.notice;
}
