/**
 * `hb.cf`: hb's own settings, in the configuration directory beside ha.cf.
 *
 * Heartbeat 3.0.6 never reads this file, so ha.cf, haresources and authkeys stay loadable by
 * the C daemon: whatever hb adds lives here. The syntax is ha.cf's: one directive per line,
 * the directive name (case-insensitive), blanks, its value; `#` starts a comment; blank lines
 * are ignored. A missing file means no extras.
 *
 * ```
 * # comment
 * metrics_listen 127.0.0.1:9100
 * monitor RESOURCE interval=5s timeout=20s fall=3 on-fail=restart
 * notify /usr/local/sbin/hb-notify
 * ```
 *
 * Every problem is an error naming the file, line and directive, what is wrong and what is
 * allowed (`/etc/ha.d/hb.cf:3: metrics_listen: "x" is not ADDR:PORT; allowed: …`); an
 * unknown directive is an error too. The daemon refuses to start on any error and
 * `heartbeat check` reports them; `heartbeat export pacemaker` prints them as notes and uses
 * what is valid (a `monitor` line keeps its valid keys).
 *
 * The parser is table-driven: a directive is one entry of {@link HB_CF_DIRECTIVES} (its name,
 * whether it may repeat, what is allowed, and a value parser that stores into
 * {@link HbSettings}).
 *
 * @module
 */

import { explainText } from "./diagnostics.ts";
import type { ResourceGroup as HaresourcesGroup } from "./haresources.ts";
import type { SystemView } from "./system_view.ts";
import type { MonitorPolicy, OnFail } from "./types.ts";

/** File name of hb's settings, in the configuration directory. */
export const HB_CF = "hb.cf";

/** An address and port to listen on. */
export interface ListenAddress {
  /** IPv4 address or IPv6 address (without brackets). */
  hostname: string;
  /** TCP port, 1..65535. */
  port: number;
}

/**
 * One `monitor` line: `monitor RESOURCE [interval=5s] [timeout=20s] [fall=3] [rise=1]
 * [start-delay=0] [on-fail=restart|standby|ignore] [max-restarts=3] [restart-window=10min]`.
 * The daemon runs it (core/monitor.ts); `heartbeat export pacemaker` writes its interval and
 * timeout as the primitive's recurring monitor.
 */
export interface MonitorSetting extends MonitorPolicy {
  /** RESOURCE as written (haresources resource, primitive id or script name). */
  resource: string;
  /** Monitor interval as written, when given and valid (the Pacemaker export). */
  interval?: string;
  /** Monitor timeout as written, when given and valid (the Pacemaker export). */
  timeout?: string;
  /** 1-based line number. */
  line: number;
}

/** Defaults of a `monitor` line's keys. */
export const MONITOR_DEFAULTS = {
  intervalMs: 5_000,
  timeoutMs: 20_000,
  fall: 3,
  rise: 1,
  startDelayMs: 0,
  onFail: "restart" as OnFail,
  maxRestarts: 3,
  restartWindowMs: 600_000,
} as const;

/** Everything a `monitor` line allows, for messages. */
export const MONITOR_ALLOWED = "monitor RESOURCE [interval=5s] [timeout=20s] [fall=3] [rise=1] " +
  "[start-delay=0] [on-fail=restart|standby|ignore] [max-restarts=3] [restart-window=10min]";

/** hb's settings from hb.cf (absent fields: the feature is off). */
export interface HbSettings {
  /** `metrics_listen ADDR:PORT`: serve Prometheus metrics on `/metrics` there. */
  metricsListen?: ListenAddress;
  /** `monitor` lines in file order (run by the daemon, used by `heartbeat export pacemaker`). */
  monitors: MonitorSetting[];
  /** `notify PATH` lines in file order: event hooks (master/notify.ts). */
  notify: string[];
}

/** One problem in hb.cf. */
export interface HbCfProblem {
  /** Path of hb.cf. */
  file: string;
  /** 1-based line (0: the file as a whole). */
  line: number;
  /** Directive concerned (undefined when the line has none). */
  directive?: string;
  /** `<file>:<line>: <directive>: <what is wrong>; allowed: <what is allowed>`. */
  explain: string;
}

/** Parsed hb.cf. */
export interface HbCf {
  /** The settings (only what is valid is applied). */
  settings: HbSettings;
  /** Every problem; the daemon refuses to start when there is one. */
  errors: HbCfProblem[];
  /** True when the file exists. */
  present: boolean;
}

/** Where a directive's value parser reports problems and where it is. */
export interface DirectiveContext {
  /** 1-based line. */
  line: number;
  /** Records a problem (`allowed` defaults to the directive's). */
  problem(what: string, allowed?: string): void;
}

/** One hb.cf directive. */
export interface HbCfDirective {
  /** Directive name, lower case (matched case-insensitively, as ha.cf's are). */
  name: string;
  /** What is allowed, for messages. */
  allowed: string;
  /** True when the directive may be given on several lines (default: once). */
  repeatable?: boolean;
  /**
   * Parses the value (the rest of the line, trimmed, never empty) and stores what is valid
   * into the settings; reports problems through `ctx`. Returns false when nothing was stored.
   */
  apply(value: string, settings: HbSettings, ctx: DirectiveContext): boolean;
}

/** Parses `ADDR:PORT`: an IPv4 address or a bracketed IPv6 address, and a port 1..65535. */
export function parseListenAddress(
  value: string,
): { ok: true; value: ListenAddress } | { ok: false; what: string } {
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
    // The URL parser refuses the bracketed host: not an IPv6 address, which is the answer.
    return false;
  }
}

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

const TIME_ALLOWED = "a number of seconds or a number with ms, s, min or h (e.g. 5, 5s, 500ms)";

/** `monitor RESOURCE key=value…`: valid keys are kept, bad ones reported. */
function applyMonitor(value: string, s: HbSettings, ctx: DirectiveContext): boolean {
  const words = value.split(/[ \t]+/);
  if (words[0].includes("=")) {
    ctx.problem("no resource named");
    return false;
  }
  const dup = s.monitors.find((x) => x.resource === words[0]);
  if (dup !== undefined) {
    ctx.problem(
      `${words[0]}: monitored again (first at line ${dup.line})`,
      "one monitor line per resource",
    );
    return false;
  }
  const m: MonitorSetting = { resource: words[0], ...MONITOR_DEFAULTS, line: ctx.line };
  const seen = new Set<string>();
  const time = (key: string, v: string, zero: boolean): number | undefined => {
    const ms = durationMs(v);
    if (!isDuration(v) || ms === undefined || ms < (zero ? 0 : 1)) {
      ctx.problem(
        `${key} '${v}' ignored: not a ${zero ? "" : "positive "}duration`,
        `${key}=${TIME_ALLOWED}`,
      );
      return undefined;
    }
    return ms;
  };
  const count = (key: string, v: string, min: number): number | undefined => {
    if (!/^[0-9]{1,6}$/.test(v) || Number(v) < min) {
      ctx.problem(`${key} '${v}' ignored: not a whole number >= ${min}`, `${key}=N, N >= ${min}`);
      return undefined;
    }
    return Number(v);
  };
  for (const kv of words.slice(1)) {
    const eq = kv.indexOf("=");
    const key = eq < 0 ? kv : kv.slice(0, eq).toLowerCase();
    const v = eq < 0 ? "" : kv.slice(eq + 1);
    if (eq >= 0 && seen.has(key)) {
      ctx.problem(`${key} given twice`, "each key once per monitor line");
      continue;
    }
    seen.add(key);
    switch (eq < 0 ? "" : key) {
      case "interval": {
        const ms = time(key, v, false);
        if (ms !== undefined) [m.interval, m.intervalMs] = [v, ms];
        break;
      }
      case "timeout": {
        const ms = time(key, v, false);
        if (ms !== undefined) [m.timeout, m.timeoutMs] = [v, ms];
        break;
      }
      case "start-delay": {
        const ms = time(key, v, true);
        if (ms !== undefined) m.startDelayMs = ms;
        break;
      }
      case "restart-window": {
        const ms = time(key, v, false);
        if (ms !== undefined) m.restartWindowMs = ms;
        break;
      }
      case "fall":
      case "rise": {
        const n = count(key, v, 1);
        if (n !== undefined) m[key as "fall" | "rise"] = n;
        break;
      }
      case "max-restarts": {
        const n = count(key, v, 0);
        if (n !== undefined) m.maxRestarts = n;
        break;
      }
      case "on-fail":
        if (v === "restart" || v === "standby" || v === "ignore") m.onFail = v;
        else {ctx.problem(
            `on-fail '${v}' ignored`,
            "on-fail=restart, on-fail=standby or on-fail=ignore",
          );}
        break;
      default:
        ctx.problem(
          `unknown setting '${kv}' ignored`,
          "interval=, timeout=, fall=, rise=, start-delay=, on-fail=, max-restarts=, restart-window=",
        );
    }
  }
  s.monitors.push(m);
  return true;
}

/** `notify PATH`: an absolute path of a program run on every event (repeatable). */
function applyNotify(value: string, s: HbSettings, ctx: DirectiveContext): boolean {
  if (/\s/.test(value)) {
    ctx.problem(`'${value}' is more than one path (arguments are not passed)`);
    return false;
  }
  if (!value.startsWith("/")) {
    ctx.problem(`'${value}' is not an absolute path`);
    return false;
  }
  if (s.notify.includes(value)) {
    ctx.problem(`'${value}' given twice`, "each program once");
    return false;
  }
  s.notify.push(value);
  return true;
}

/** Every hb.cf directive. Adding a directive is adding one entry (and its settings field). */
export const HB_CF_DIRECTIVES: readonly HbCfDirective[] = [
  {
    name: "metrics_listen",
    allowed: "ADDR:PORT, an IPv4 address or a bracketed IPv6 address and a TCP port 1..65535 " +
      "(e.g. 127.0.0.1:9100, 0.0.0.0:9100, [::1]:9100)",
    apply: (value, s, ctx) => {
      const r = parseListenAddress(value);
      if (r.ok) s.metricsListen = r.value;
      else ctx.problem(r.what);
      return r.ok;
    },
  },
  {
    name: "monitor",
    allowed: MONITOR_ALLOWED,
    repeatable: true,
    apply: applyMonitor,
  },
  {
    name: "notify",
    allowed: "notify PATH, the absolute path of an executable run on every cluster event " +
      '(repeatable; see README "Event hooks")',
    repeatable: true,
    apply: applyNotify,
  },
];

/** Parses the text of hb.cf. `file` is the path used in messages. */
export function parseHbCf(text: string, file: string = HB_CF): HbCf {
  const settings: HbSettings = { monitors: [], notify: [] };
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
    const body = raw.replace(/#.*$/s, "").trim();
    if (body === "") return;
    const m = /^(\S+)(?:\s+(.*))?$/s.exec(body)!;
    const name = m[1].toLowerCase();
    const value = (m[2] ?? "").trim();
    const d = HB_CF_DIRECTIVES.find((x) => x.name === name);
    if (d === undefined) {
      error(line, m[1], "unknown directive", `${names} (Heartbeat's directives belong in ha.cf)`);
      return;
    }
    if (value === "") {
      error(
        line,
        d.name,
        d.name === "monitor" ? "no resource named" : d.name === "notify" ? "no path" : "no value",
        d.allowed,
      );
      return;
    }
    const first = seen.get(d.name);
    if (first !== undefined && !d.repeatable) {
      error(line, d.name, `given again (first at line ${first})`, "once per file");
      return;
    }
    const ok = d.apply(value, settings, {
      line,
      problem: (what, allowed) => error(line, d.name, what, allowed ?? d.allowed),
    });
    if (ok && first === undefined) seen.set(d.name, line);
  });
  return { settings, errors, present: true };
}

/**
 * Reads `<confDir>/hb.cf`; a missing file gives no settings and no errors.
 *
 * @param confDir the configuration directory
 * @param sys where to read from (default: the real file system)
 */
export function readHbCf(confDir: string, sys?: SystemView): HbCf {
  const file = `${confDir.replace(/\/+$/, "")}/${HB_CF}`;
  const none: HbCf = { settings: { monitors: [], notify: [] }, errors: [], present: false };
  let text: string | undefined;
  try {
    if (sys !== undefined) text = sys.stat(file)?.isFile ? sys.readTextFile(file) : undefined;
    else text = Deno.readTextFileSync(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return none;
    const what = `cannot be read: ${e instanceof Error ? e.message : e}`;
    return {
      ...none,
      errors: [{ file, line: 0, explain: explainText(file, undefined, undefined, what) }],
      present: true,
    };
  }
  if (text === undefined) return none;
  return parseHbCf(text, file);
}

/** A `monitor` line placed in its haresources group. */
export interface PlacedMonitor {
  /** The line. */
  setting: MonitorSetting;
  /** Key of the group. */
  key: string;
  /** Preferred node of the group. */
  node: string;
  /** Position of the resource in the group. */
  index: number;
  /** Number of resources in the group. */
  groupSize: number;
}

/**
 * Places each `monitor` line in haresources: RESOURCE exactly as written there (that
 * resource), else a script name (every resource of that script without a line of its own).
 * A line that matches neither is not run by the daemon (`unmatched`, with its file:line): it may
 * still name a Pacemaker primitive id for `heartbeat export pacemaker`, so it is a warning.
 */
export function placeMonitors(
  monitors: readonly MonitorSetting[],
  groups: readonly HaresourcesGroup[],
  file: string = HB_CF,
): { placed: PlacedMonitor[]; unmatched: HbCfProblem[] } {
  const placed: PlacedMonitor[] = [];
  const unmatched: HbCfProblem[] = [];
  const withKey = groups.filter((g) => g.key !== undefined);
  const exact = new Set(monitors.map((m) => m.resource));
  const all = withKey.flatMap((g) => g.resources.map((r) => r.spec));
  const scripts = [...new Set(withKey.flatMap((g) => g.resources.map((r) => r.script)))];
  for (const m of monitors) {
    let hits = 0;
    for (const g of withKey) {
      g.resources.forEach((r, index) => {
        const mine = r.spec === m.resource ||
          (r.script === m.resource && !exact.has(r.spec) && r.spec !== m.resource);
        if (!mine) return;
        hits++;
        placed.push({
          setting: { ...m, resource: r.spec },
          key: g.key!,
          node: g.node,
          index,
          groupSize: g.resources.length,
        });
      });
    }
    if (hits > 0) continue;
    const shown = all.length > 0 ? all.join(", ") : "(haresources has no resource)";
    unmatched.push({
      file,
      line: m.line,
      directive: "monitor",
      explain: explainText(
        file,
        m.line,
        "monitor",
        `'${m.resource}' is no resource of haresources nor a script of one: the daemon does not ` +
          "run it (heartbeat export pacemaker may use it as a primitive id)",
        `a resource exactly as written in haresources (${shown}) or a script name (${
          scripts.join(", ")
        })`,
      ),
    });
  }
  return { placed, unmatched };
}
