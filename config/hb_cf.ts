/**
 * `hb.cf`: hb's own settings, in the configuration directory beside ha.cf.
 *
 * Heartbeat 3.0.6 never reads this file, so ha.cf, haresources and authkeys stay loadable by
 * the C daemon: whatever hb adds lives here. The syntax is ha.cf's: one directive per line,
 * the directive name, blanks, its value; `#` starts a comment; blank lines are ignored.
 * A missing file means no extras. Every problem is an error naming the file, line and
 * directive, what is wrong and what is allowed; an unknown directive is an error too.
 *
 * The parser is table-driven: a directive is one entry of {@link HB_CF_DIRECTIVES} (its name,
 * a value parser that stores into {@link HbSettings}, and the allowed values for messages).
 *
 * @module
 */

import { explainText } from "./diagnostics.ts";
import type { SystemView } from "./system_view.ts";

/** File name of hb's settings, in the configuration directory. */
export const HB_CF = "hb.cf";

/** An address and port to listen on. */
export interface ListenAddress {
  /** IPv4 address or IPv6 address (without brackets). */
  hostname: string;
  /** TCP port, 1..65535. */
  port: number;
}

/** hb's settings from hb.cf (every field absent: the feature is off). */
export interface HbSettings {
  /** `metrics_listen ADDR:PORT`: serve Prometheus metrics on `/metrics` there. */
  metricsListen?: ListenAddress;
}

/** One problem in hb.cf. */
export interface HbCfProblem {
  /** Path of hb.cf. */
  file: string;
  /** 1-based line. */
  line: number;
  /** Directive concerned (undefined when the line has none). */
  directive?: string;
  /** `<file>:<line>: <directive>: <what is wrong>; allowed: <what is allowed>`. */
  explain: string;
}

/** Result of {@link parseHbCf} and {@link readHbCf}. */
export interface HbCfResult {
  /** The settings (only the valid directives are applied). */
  settings: HbSettings;
  /** Errors; hb refuses to start when there is one. */
  errors: HbCfProblem[];
  /** True when the file exists. */
  present: boolean;
}

/** What a value parser returns: the value, or what is wrong with it. */
export type ValueResult<T> = { ok: true; value: T } | { ok: false; what: string };

/** One hb.cf directive. */
export interface HbCfDirective {
  /** Directive name (matched case-insensitively, as ha.cf's are). */
  name: string;
  /** What is allowed, for messages. */
  allowed: string;
  /** Parses the value and stores it into the settings, or says what is wrong. */
  apply(value: string, settings: HbSettings): ValueResult<unknown>;
}

/** Parses `ADDR:PORT`: an IPv4 address or a bracketed IPv6 address, and a port 1..65535. */
export function parseListenAddress(value: string): ValueResult<ListenAddress> {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(value);
  if (!m) return { ok: false, what: `"${value}" is not ADDR:PORT` };
  const hostname = m[1] ?? m[2];
  if (m[2] !== undefined && m[2].split(".").some((o) => Number(o) > 255)) {
    return { ok: false, what: `"${m[2]}" is not an IPv4 address` };
  }
  if (m[1] !== undefined && !isIpv6(m[1])) {
    return { ok: false, what: `"${m[1]}" is not an IPv6 address` };
  }
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return { ok: false, what: `port ${m[3]} is out of range` };
  return { ok: true, value: { hostname, port } };
}

/** True when `s` is an IPv6 address (the URL parser decides). */
function isIpv6(s: string): boolean {
  try {
    new URL(`http://[${s}]/`);
    return true;
  } catch (_e) {
    return false;
  }
}

/** Every hb.cf directive. Adding a directive is adding one entry (and its settings field). */
export const HB_CF_DIRECTIVES: readonly HbCfDirective[] = [
  {
    name: "metrics_listen",
    allowed: "ADDR:PORT, an IPv4 address or a bracketed IPv6 address and a TCP port 1..65535 " +
      "(e.g. 127.0.0.1:9100, 0.0.0.0:9100, [::1]:9100)",
    apply: (value, s) => {
      const r = parseListenAddress(value);
      if (r.ok) s.metricsListen = r.value;
      return r;
    },
  },
];

/** Parses the text of hb.cf. `file` is the path used in messages. */
export function parseHbCf(text: string, file: string): HbCfResult {
  const settings: HbSettings = {};
  const errors: HbCfProblem[] = [];
  const seen = new Map<string, number>();
  const names = HB_CF_DIRECTIVES.map((d) => d.name).join(", ");
  const error = (line: number, directive: string | undefined, what: string, allowed: string) =>
    errors.push({
      file,
      line,
      ...(directive !== undefined ? { directive } : {}),
      explain: explainText(file, line, directive, what, allowed),
    });
  text.split("\n").forEach((raw, i) => {
    const line = i + 1;
    const body = raw.replace(/#.*$/, "").trim();
    if (body === "") return;
    const m = /^(\S+)(?:\s+(.*))?$/.exec(body)!;
    const name = m[1].toLowerCase();
    const value = (m[2] ?? "").trim();
    const d = HB_CF_DIRECTIVES.find((x) => x.name === name);
    if (d === undefined) {
      error(line, m[1], "unknown directive", `${names} (Heartbeat's directives belong in ha.cf)`);
      return;
    }
    if (value === "") {
      error(line, d.name, "no value", d.allowed);
      return;
    }
    const first = seen.get(d.name);
    if (first !== undefined) {
      error(line, d.name, `given again (first at line ${first})`, "once per file");
      return;
    }
    const r = d.apply(value, settings);
    if (r.ok) seen.set(d.name, line);
    else error(line, d.name, r.what, d.allowed);
  });
  return { settings, errors, present: true };
}

/**
 * Reads `<confDir>/hb.cf`; a missing file gives no settings and no errors.
 *
 * @param confDir the configuration directory
 * @param sys where to read from (default: the real file system)
 */
export function readHbCf(confDir: string, sys?: SystemView): HbCfResult {
  const file = `${confDir.replace(/\/+$/, "")}/${HB_CF}`;
  let text: string | undefined;
  try {
    if (sys !== undefined) text = sys.stat(file)?.isFile ? sys.readTextFile(file) : undefined;
    else text = Deno.readTextFileSync(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { settings: {}, errors: [], present: false };
    const what = `cannot be read: ${e instanceof Error ? e.message : e}`;
    return {
      settings: {},
      errors: [{ file, line: 0, explain: explainText(file, undefined, undefined, what) }],
      present: true,
    };
  }
  if (text === undefined) return { settings: {}, errors: [], present: false };
  return parseHbCf(text, file);
}
