/**
 * `hb.cf`: hb's own settings file beside ha.cf (Heartbeat has none). Only the
 * `monitor` lines are read today, and only by `heartbeat export pacemaker`:
 *
 * ```
 * # comment
 * monitor RESOURCE interval=30s timeout=20s
 * ```
 *
 * RESOURCE is a haresources resource as written (`httpd`,
 * `IPaddr::198.18.0.10/24/eth0`), an exported primitive id, or a script name
 * (`Filesystem`: every resource of that script). The parser is lenient: other
 * directives are ignored (they belong to future hb features), and a bad key or
 * value is reported as a note and skipped.
 *
 * @module
 */

/** One `monitor` line of hb.cf. */
export interface MonitorSetting {
  /** RESOURCE as written. */
  resource: string;
  /** Monitor interval as written (a Pacemaker duration), when given and valid. */
  interval?: string;
  /** Monitor timeout as written (a Pacemaker duration), when given and valid. */
  timeout?: string;
  /** 1-based line number. */
  line: number;
}

/** Parsed hb.cf. */
export interface HbCf {
  /** `monitor` lines in file order. */
  monitors: MonitorSetting[];
  /** Problems found, each `file:line: monitor: what is wrong; allowed: …`. */
  notes: string[];
}

/** The file name of hb.cf inside the configuration directory. */
export const HB_CF = "hb.cf";

const DURATION = /^[0-9]+(ms|msec|us|usec|s|sec|m|min|h|hr)?$/i;

/** True for a duration Pacemaker accepts in an operation (`10`, `10s`, `500ms`, `2min`, `1h`). */
export function isDuration(value: string): boolean {
  return DURATION.test(value);
}

/** Duration in milliseconds (plain numbers are seconds, as in Pacemaker). */
export function durationMs(value: string): number | undefined {
  const m = /^([0-9]+)([a-z]*)$/i.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  switch (m[2].toLowerCase()) {
    case "us":
    case "usec":
      return n / 1000;
    case "ms":
    case "msec":
      return n;
    case "":
    case "s":
    case "sec":
      return n * 1000;
    case "m":
    case "min":
      return n * 60_000;
    case "h":
    case "hr":
      return n * 3_600_000;
    default:
      return undefined;
  }
}

/** Parses hb.cf text; `path` names the file in notes. */
export function parseHbCf(text: string, path = HB_CF): HbCf {
  const monitors: MonitorSetting[] = [];
  const notes: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const words = lines[i].replace(/#.*/s, "").trim().split(/[ \t]+/).filter((w) => w !== "");
    if (words.length === 0 || words[0].toLowerCase() !== "monitor") continue;
    const where = `${path}:${line}: monitor`;
    if (words.length < 2 || words[1].includes("=")) {
      notes.push(`${where}: no resource named; allowed: monitor RESOURCE interval=30s timeout=20s`);
      continue;
    }
    const m: MonitorSetting = { resource: words[1], line };
    const notesBefore = notes.length;
    for (const kv of words.slice(2)) {
      const eq = kv.indexOf("=");
      const key = eq < 0 ? kv : kv.slice(0, eq).toLowerCase();
      const value = eq < 0 ? "" : kv.slice(eq + 1);
      if (key !== "interval" && key !== "timeout") {
        notes.push(`${where}: unknown setting '${kv}' ignored; allowed: interval=, timeout=`);
        continue;
      }
      const ms = durationMs(value);
      if (!isDuration(value) || ms === undefined || ms <= 0) {
        notes.push(
          `${where}: ${key} '${value}' ignored: not a positive duration; ` +
            "allowed: a number of seconds or a number with ms, s, min or h (e.g. 30s)",
        );
        continue;
      }
      m[key] = value;
    }
    if (m.interval === undefined && m.timeout === undefined) {
      if (notes.length > notesBefore) continue;
      notes.push(`${where}: ${m.resource}: nothing to set; allowed: interval=, timeout=`);
      continue;
    }
    monitors.push(m);
  }
  return { monitors, notes };
}
