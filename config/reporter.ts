/**
 * Collects {@link Diagnostic}s in the order Heartbeat would print them,
 * stamping each with the current file, line and directive.
 *
 * @module
 */
import { type Diagnostic, explainText, type Level } from "./diagnostics.ts";

/** Extra flags of {@link Reporter.emit}. */
export interface EmitOptions {
  /** Does the problem make Heartbeat refuse to start? (default: level ERROR/CRIT). */
  fatal?: boolean;
  /** Written with `fprintf(stderr)` only. */
  stderrOnly?: boolean;
  /** No trailing newline. */
  noNewline?: boolean;
  /** Follow-up lines of the previous diagnostic. */
  continuation?: boolean;
  /** Harmless console noise. */
  noise?: boolean;
}

/** Position-aware diagnostic collector. */
export class Reporter {
  /** Collected diagnostics, in emission order. */
  readonly diagnostics: Diagnostic[] = [];
  /** File currently being read (explain path). */
  file?: string;
  /** Current 1-based line. */
  line?: number;
  /** Current directive. */
  directive?: string;

  /** Sets the current position. */
  at(file: string | undefined, line?: number, directive?: string): void {
    this.file = file;
    this.line = line;
    this.directive = directive;
  }

  /**
   * Records a diagnostic. `what`/`allowed` build the explanation; `text` is
   * Heartbeat's verbatim message(s).
   */
  emit(
    level: Level,
    text: string | string[],
    what: string,
    allowed?: string,
    opts: EmitOptions = {},
  ): Diagnostic {
    const d: Diagnostic = {
      level,
      text: Array.isArray(text) ? text : [text],
      fatal: opts.fatal ?? (level === "ERROR" || level === "CRIT"),
      explain: explainText(this.file, this.line, this.directive, what, allowed),
    };
    if (this.file) d.file = this.file;
    if (this.line) d.line = this.line;
    if (this.directive) d.directive = this.directive;
    if (opts.stderrOnly) d.stderrOnly = true;
    if (opts.noNewline) d.noNewline = true;
    if (opts.continuation) d.continuation = true;
    if (opts.noise) d.noise = true;
    this.diagnostics.push(d);
    return d;
  }

  /** Records follow-up lines that belong to the previous diagnostic (same explanation). */
  follow(level: Level, text: string | string[]): void {
    const prev = this.diagnostics[this.diagnostics.length - 1];
    const d: Diagnostic = {
      level,
      text: Array.isArray(text) ? text : [text],
      fatal: false,
      explain: prev?.explain ?? "",
      continuation: true,
    };
    if (this.file) d.file = this.file;
    if (this.line) d.line = this.line;
    if (this.directive) d.directive = this.directive;
    this.diagnostics.push(d);
  }
}
