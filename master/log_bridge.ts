/**
 * Logging with Heartbeat's priority words (`ERROR`, `WARN`, `info`, …), the
 * vocabulary of the core and the configuration diagnostics, on top of the
 * logging module's priorities.
 *
 * @module
 */

import type { Priority as Word } from "../core/types.ts";
import { hbLog } from "../logging/mod.ts";
import type { Priority } from "../logging/format.ts";

const BY_WORD: Readonly<Record<Word, Priority>> = {
  EMERG: "emerg",
  ALERT: "alert",
  CRIT: "crit",
  ERROR: "error",
  WARN: "warn",
  notice: "notice",
  info: "info",
  debug: "debug",
};

/** Options of {@link logLine}. */
export interface LogLineOptions {
  /** Plugin-originated line (`glib: ` prefix). */
  glib?: boolean;
  /** Log as this pid (lines relayed from a worker process). */
  pid?: number;
}

/** Logs `text` at Heartbeat priority word `word`. */
export function logLine(word: Word, text: string, opts?: LogLineOptions): void {
  hbLog(BY_WORD[word] ?? "info", text, opts);
}
