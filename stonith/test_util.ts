/**
 * Test helpers of the STONITH tests: a recording log, waiting, root check.
 *
 * @module
 */

import type { Priority, StonithLog } from "./types.ts";

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

/** Polls `pred` every 20 ms until it holds; throws after `timeoutMs`. */
export async function waitFor(
  pred: () => boolean,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Throws unless running as root (these tests never skip). */
export function requireRoot(): void {
  if (Deno.uid() !== 0) {
    throw new Error("this test must run as root (it is never skipped)");
  }
}

/** Writes an executable script (mode 0755). */
export function writeScript(path: string, body: string): void {
  Deno.writeTextFileSync(path, body);
  Deno.chmodSync(path, 0o755);
}
