/**
 * Heartbeat's test hook: the file `OnlyForTesting` in the configuration directory
 * (heartbeat.c `ParseTestOpts`; `/usr/share/heartbeat/TestHeartbeatComm` and CTS write it).
 * The drop decisions are in core/test_loss.ts.
 *
 * Facts (Heartbeat 3.0.6 source, checked against the Debian binary in the testbed, which
 * wins where they differ):
 *
 * - No ha.cf directive enables it: the file's presence does. It is read by the master at
 *   start (after the `Configuration validated` banner, before `heartbeat: version 3.0.6`;
 *   also by the image of a quick restart) and on every reload (SIGHUP, `heartbeat -r`,
 *   `init.d reload`) whose ha.cf is unchanged — after `Configuration unchanged.` or
 *   `Rereading authentication file.`. A reload that finds ha.cf changed restarts instead,
 *   and the new image reads it. The file is read again on every such reload, changed or not.
 * - File present: `WARNING: Enabling Test Code`, one line per recognised parameter, then
 *   `WARNING: Above Options Now Enabled.`; the options replace the previous ones entirely.
 *   File absent: nothing, or `Test Code Now disabled.` when options were in force. When
 *   either happened, the master SIGHUPs its core children, and each logs `Child rereading
 *   authentication file.` and the same lines (it parses the file itself; nothing there
 *   uses them).
 * - Syntax: C `fscanf(fp, "%[a-zA-Z_]=%s\n", name, value)` in a loop while both convert.
 *   A parameter is a name of letters and `_`, `=`, then a value: the next run of
 *   non-blank characters, leading blanks and line ends skipped (so `xmitloss=` at the end
 *   of a line takes the first word of the next line). After the value any blanks and line
 *   ends are skipped, so several `name=value` may share a line. Reading stops silently at
 *   the first text that does not fit — a `#` comment, a blank before `=`, leading blanks
 *   on the first line, a digit or `-` in a name — and the rest of the file is ignored.
 * - `xmitloss=<p>`, `rcvloss=<p>`: C `atof` (the longest number prefix; `0` when there is
 *   none), stored in a `float`; logged `Xmit loss probability = %.3f` /
 *   `Receive loss probability = %.3f`. `allownodes=<list>`: kept as written (at most 511
 *   characters), logged `Allow nodes = %s`; names end with `;` (`TestHeartbeatComm` writes
 *   `allownodes=node1;node2;`, and `allownodes=;` for none). Any other name:
 *   `ERROR: Cannot recognize test param [<name>] in [/etc/ha.d//OnlyForTesting]`.
 * - Effect: see core/test_loss.ts. `TestHeartbeatComm break-communication` writes
 *   `xmitloss=1`, `rcvloss=1`, `allownodes=;` and reloads: the node neither sends nor
 *   accepts anything, so it and every peer declare each other dead. `fix-communication`
 *   removes the file and reloads.
 *
 * hb differs only in what it adds: after Heartbeat's lines, a `WARN` with the file, line
 * and parameter for every line Heartbeat ignores or reads surprisingly (see
 * {@link TestOptsResult.notes}).
 *
 * @module
 */

import type { TestLossOptions } from "./types.ts";
import { explainText } from "./diagnostics.ts";

/** File name of the hook, in the configuration directory. */
export const ONLY_FOR_TESTING = "OnlyForTesting";

/** What the parameters are, for the explanations. */
const ALLOWED =
  "xmitloss=<probability 0..1>, rcvloss=<probability 0..1>, allownodes=<node>;<node>;… " +
  "(one name=value per line, no blanks around =, no comments)";

/** A log line (Heartbeat's priority word and text). */
export interface TestOptsLine {
  /** Priority word. */
  prio: "info" | "ERROR" | "WARN";
  /** Text. */
  text: string;
}

/** Result of {@link parseOnlyForTesting}. */
export interface TestOptsResult {
  /** The options now in force. */
  options: TestLossOptions;
  /**
   * Heartbeat's lines, in its order: `WARNING: Enabling Test Code`, one per parameter,
   * `WARNING: Above Options Now Enabled.`
   */
  lines: TestOptsLine[];
  /**
   * hb's explanations (`<file>:<line>: <parameter>: <what>; allowed: …`), each placed in
   * {@link TestOptsResult.merged} after the Heartbeat line it explains.
   */
  notes: string[];
  /** {@link TestOptsResult.lines} with the notes (as `WARN`) interleaved: what the master logs. */
  merged: TestOptsLine[];
}

/** C `isspace` in the C locale. */
function isSpace(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r";
}

/**
 * Parses the text of `OnlyForTesting` exactly as Heartbeat's `ParseTestOpts` does.
 *
 * @param text the file's content
 * @param displayPath the path as Heartbeat prints it (`/etc/ha.d//OnlyForTesting`)
 * @param explainPath the path used in hb's explanations (`/etc/ha.d/OnlyForTesting`)
 */
export function parseOnlyForTesting(
  text: string,
  displayPath: string,
  explainPath = displayPath,
): TestOptsResult {
  const options: TestLossOptions = { allownodes: "" };
  const merged: TestOptsLine[] = [{ prio: "info", text: "WARNING: Enabling Test Code" }];
  const lines: TestOptsLine[] = [merged[0]];
  const notes: string[] = [];
  const heartbeat = (prio: TestOptsLine["prio"], t: string) => {
    const l = { prio, text: t };
    lines.push(l);
    merged.push(l);
  };
  const note = (line: number, directive: string | undefined, what: string, allowed?: string) => {
    const t = explainText(explainPath, line, directive, what, allowed);
    notes.push(t);
    merged.push({ prio: "WARN", text: t });
  };
  const lineAt = (pos: number) => {
    let n = 1;
    for (let i = 0; i < pos && i < text.length; i++) if (text[i] === "\n") n++;
    return n;
  };
  const lineText = (pos: number) => {
    const start = text.lastIndexOf("\n", pos - 1) + 1;
    const end = text.indexOf("\n", pos);
    return text.slice(start, end < 0 ? text.length : end);
  };

  let pos = 0;
  for (;;) {
    // %[a-zA-Z_]
    const nameStart = pos;
    while (pos < text.length && /[A-Za-z_]/.test(text[pos])) pos++;
    const name = text.slice(nameStart, pos);
    if (name === "" || text[pos] !== "=") {
      if (pos >= text.length && name === "") break; // end of file: a clean end
      const line = lineAt(nameStart);
      const what = name === ""
        ? `"${lineText(nameStart)}" does not start with a parameter name`
        : `"${lineText(nameStart)}": no "=" right after the name`;
      note(
        line,
        undefined,
        `${what}: Heartbeat stops reading here and ignores the rest of the file (hb too)`,
        ALLOWED,
      );
      break;
    }
    pos++; // "="
    // %s: skips blanks and line ends, then takes non-blank characters
    while (isSpace(text[pos])) pos++;
    if (pos >= text.length) {
      note(lineAt(nameStart), name, "no value before the end of the file: ignored", ALLOWED);
      break;
    }
    const valueStart = pos;
    while (pos < text.length && !isSpace(text[pos])) pos++;
    const value = text.slice(valueStart, pos);
    // "\n": skips blanks and line ends
    while (isSpace(text[pos])) pos++;
    const line = lineAt(nameStart);
    const valueLine = lineAt(valueStart);
    const far = valueLine !== line;
    if (far) {
      note(
        line,
        name,
        `no value on this line: Heartbeat takes "${value}" from line ${valueLine} as the value (hb too)`,
        ALLOWED,
      );
    }
    if (name === "rcvloss" || name === "xmitloss") {
      const p = Math.fround(atof(value));
      if (name === "rcvloss") {
        options.rcvloss = p;
        heartbeat("info", `Receive loss probability = ${formatFixed3(p)}`);
      } else {
        options.xmitloss = p;
        heartbeat("info", `Xmit loss probability = ${formatFixed3(p)}`);
      }
      const prefix = numberPrefix(value);
      if (prefix.length !== value.length) {
        note(
          line,
          name,
          prefix === ""
            ? `"${value}" is not a number: taken as 0 (as Heartbeat does)`
            : `"${value}" is not a number: Heartbeat reads its start "${prefix}" (hb too)`,
          "a probability from 0 to 1",
        );
      } else if (!(p >= 0 && p <= 1)) {
        note(
          line,
          name,
          `${value} is not a probability: ${p > 1 ? "acts as 1" : "acts as 0 (never)"}`,
          "a probability from 0 to 1",
        );
      }
    } else if (name === "allownodes") {
      options.allownodes = value.slice(0, 511);
      heartbeat("info", `Allow nodes = ${options.allownodes}`);
      if (value.length > 511) {
        note(line, name, "longer than 511 characters: cut to 511 (as Heartbeat does)");
      } else if (!options.allownodes.endsWith(";")) {
        const last = options.allownodes.slice(options.allownodes.lastIndexOf(";") + 1);
        note(
          line,
          name,
          `"${last}" does not end with ";": packets from it are never let through`,
          "allownodes=<node>;<node>;…",
        );
      }
    } else {
      heartbeat("ERROR", `Cannot recognize test param [${name}] in [${displayPath}]`);
      note(line, name, "unknown test parameter: ignored", ALLOWED);
    }
  }
  heartbeat("info", "WARNING: Above Options Now Enabled.");
  return { options, lines, notes, merged };
}

/** The longest prefix of `s` C's `strtod` converts (`""` when none). */
function numberPrefix(s: string): string {
  const m =
    /^[+-]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])/
      .exec(s);
  if (!m) return "";
  // strtod takes an exponent or hex point only when digits follow: the regex already requires them
  return m[0];
}

/** C `atof`: the value of the longest number prefix, 0 when there is none. */
export function atof(s: string): number {
  const p = numberPrefix(s);
  if (p === "") return 0;
  const neg = p.startsWith("-");
  const body = p.replace(/^[+-]/, "");
  let v: number;
  if (/^0[xX]/.test(body)) {
    const m = /^0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)(?:[pP]([+-]?\d+))?$/.exec(body)!;
    const int = m[1] === "" ? 0 : parseInt(m[1], 16);
    const frac = m[2] === "" ? 0 : parseInt(m[2], 16) / 16 ** m[2].length;
    v = (int + frac) * 2 ** Number(m[3] ?? 0);
  } else if (/^[iI]/.test(body)) {
    v = Infinity;
  } else if (/^[nN]/.test(body)) {
    v = NaN;
  } else {
    v = Number(body.endsWith(".") ? body.slice(0, -1) : body);
  }
  return neg ? -v : v;
}

/** C `printf("%.3f")` of a finite value, `inf`/`nan` otherwise. */
function formatFixed3(v: number): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  return Object.is(v, -0) ? "-0.000" : v.toFixed(3);
}
