/**
 * Syslog through glibc (`openlog`/`syslog`), i.e. datagrams to `/dev/log` in the classic
 * BSD shape `<PRI>Mmm dd hh:mm:ss ident: text`, exactly like a C program linked against
 * glibc (Heartbeat's cl_log, `logger`).
 *
 * glibc keeps a pointer to the ident string; this module owns those buffers and keeps them
 * alive. glibc connects lazily (on the first message) and reconnects by itself after errors,
 * and silently drops messages while no syslog daemon listens (no LOG_CONS).
 *
 * @module
 */

import { closelog, cString, LOG_FACILITIES, openlog, syslog } from "./libc.ts";

/** The facility names accepted by Heartbeat's `logfacility` directive (besides `none`). */
export const FACILITY_NAMES: readonly string[] = [
  "auth",
  "security",
  "authpriv",
  "cron",
  "daemon",
  "ftp",
  "kern",
  "lpr",
  "mail",
  "news",
  "syslog",
  "user",
  "uucp",
  "local0",
  "local1",
  "local2",
  "local3",
  "local4",
  "local5",
  "local6",
  "local7",
];

/**
 * Facility code (already shifted, e.g. local0 = 128) of a `logfacility` name, or undefined
 * for an unknown name. `none` is not a facility and yields undefined.
 */
export function facilityCode(name: string): number | undefined {
  return FACILITY_NAMES.includes(name) ? LOG_FACILITIES[name] : undefined;
}

/** The ident glibc currently points at: must stay referenced (and so alive). */
const keepAlive: { ident: Uint8Array<ArrayBuffer> | null } = { ident: null };
let identText = "";
let facility = LOG_FACILITIES.user;
let opened = false;

function setIdent(ident: string): boolean {
  const buf = cString(ident);
  const r = openlog(buf, 0, facility);
  if (!r.ok) return false;
  // glibc now points at `buf` only; the previous buffer may be collected.
  keepAlive.ident = buf;
  identText = ident;
  return true;
}

/**
 * Starts syslog with `ident` (no LOG_PID) and `facilityCode` (see {@link facilityCode}).
 * Returns false when libc is unavailable.
 */
export function syslogOpen(ident: string, facilityCodeValue: number): boolean {
  facility = facilityCodeValue;
  opened = setIdent(ident);
  return opened;
}

/**
 * Sends one message. `priority` is 0..7 (LOG_EMERG..LOG_DEBUG); the facility given to
 * {@link syslogOpen} is used. Returns false if syslog is not open or libc is unavailable.
 */
export function syslogSend(priority: number, message: string): boolean {
  if (!opened) return false;
  return syslog(priority | facility, cString(message)).ok;
}

/**
 * Sends one message under another ident (e.g. `ResourceManager(default)[4489]`, like
 * `logger -t TAG`), then restores the normal ident.
 */
export function syslogSendAs(ident: string, priority: number, message: string): boolean {
  if (!opened) return false;
  const normal = identText;
  if (!setIdent(ident)) return false;
  const ok = syslog(priority | facility, cString(message)).ok;
  setIdent(normal);
  return ok;
}

/** Closes the syslog connection; {@link syslogSend} returns false until the next open. */
export function syslogClose(): void {
  if (!opened) return;
  closelog();
  opened = false;
}

/** True between {@link syslogOpen} and {@link syslogClose}. */
export function syslogIsOpen(): boolean {
  return opened;
}
