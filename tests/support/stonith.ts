/**
 * Test helpers of the STONITH tests: a log that records what the fencer writes.
 *
 * @module
 */

import type { Priority, StonithLog } from "../../stonith/types.ts";

/** One logged line. */
export interface LoggedLine {
  /** Priority word. */
  prio: Priority;
  /** Text. */
  text: string;
  /** Pid the line was logged as (undefined: the master). */
  pid?: number;
  /** `glib: ` prefix. */
  glib: boolean;
}

/** A log that records, plus its lines as Heartbeat prints them (`info: glib: …`). */
export function recordingLog(): { log: StonithLog; lines: LoggedLine[]; text: () => string[] } {
  const lines: LoggedLine[] = [];
  return {
    lines,
    log: (prio, text, opts) =>
      lines.push({ prio, text, pid: opts?.pid, glib: opts?.glib === true }),
    text: () => lines.map((l) => `${l.prio}: ${l.glib ? "glib: " : ""}${l.text}`),
  };
}
