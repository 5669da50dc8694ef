/**
 * Diagnostics produced while loading a Heartbeat configuration.
 *
 * A {@link Diagnostic} carries both the exact text Heartbeat 3.0.6 logs for a
 * problem (so the log can be reproduced line for line) and our own explanation
 * naming the file, line and directive.
 *
 * @module
 */

import type { Priority } from "../logging/priority.ts";

/** Heartbeat's priority words: the one priority type, `Priority` of `logging/priority.ts`. */
export type Level = Priority;

/** One problem (or notable event) found while loading the configuration. */
export interface Diagnostic {
  /** Priority word Heartbeat logs the text with. */
  level: Level;
  /**
   * The exact message text(s) Heartbeat 3.0.6 logs, without the log prefix
   * (`Mon DD HH:MM:SS host heartbeat: [pid]: LEVEL: `). A message may contain
   * an embedded newline (e.g. `Invalid auth line [auth x\n] ...`).
   */
  text: string[];
  /** Heartbeat writes this with plain `fprintf(stderr)`: no prefix, never in a log file. */
  stderrOnly?: boolean;
  /** The stderr-only text is written without a trailing newline (glued to the next line). */
  noNewline?: boolean;
  /** True when this problem makes Heartbeat refuse to start (exit 6). */
  fatal: boolean;
  /** Path of the file concerned, when there is one. */
  file?: string;
  /** 1-based line number in {@link Diagnostic.file}, when applicable. */
  line?: number;
  /** Directive (or authkeys/haresources element) concerned. */
  directive?: string;
  /** Our own sentence: `<file>:<line>: <directive>: <what is wrong>; allowed: <what is allowed>`. */
  explain: string;
  /**
   * True for lines Heartbeat logs as a follow-up of the previous diagnostic
   * (e.g. the `info: Syntax: ...` lines after an apiauth error). Their
   * {@link Diagnostic.explain} repeats the previous one.
   */
  continuation?: boolean;
  /** Pure console noise Heartbeat prints on correct configurations too. */
  noise?: boolean;
}

/** Formats `<file>:<line>: <directive>: <what>; allowed: <allowed>` (parts omitted when absent). */
export function explainText(
  file: string | undefined,
  line: number | undefined,
  directive: string | undefined,
  what: string,
  allowed?: string,
): string {
  let s = "";
  if (file) s += line ? `${file}:${line}: ` : `${file}: `;
  if (directive) s += `${directive}: `;
  s += what;
  if (allowed) s += `; allowed: ${allowed}`;
  return s;
}

/** Renders a diagnostic the way Heartbeat prints it on stderr (without the timestamp prefix). */
export function heartbeatLines(d: Diagnostic): string[] {
  if (d.stderrOnly) return d.text.slice();
  return d.text.map((t) => `${d.level}: ${t}`);
}
