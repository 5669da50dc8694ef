/**
 * Command-line parsing for every hb personality. `node:util` parseArgs is the
 * engine (JSR's @std/cli is not reachable from our machines); it sits behind
 * this one module so a swap is one file.
 *
 * {@link getopt} reproduces POSIX getopt's observable behaviour for
 * Heartbeat's option strings: grouped flags (`-dd`, `-DW`), repeated flags
 * counted, `-C state` / `-Cstate`, and the same error texts.
 *
 * @module
 */

import { parseArgs } from "node:util";

/** Result of {@link getopt}. */
export interface GetoptResult {
  /** How often each flag was given. */
  counts: Record<string, number>;
  /** The last value of each option that takes an argument. */
  values: Record<string, string>;
  /** Arguments after the options. */
  rest: string[];
  /** getopt's error line (`prog: invalid option -- 'x'`), if any. */
  error?: string;
}

/**
 * Parses `args` against a getopt option string such as `"dDkMrRsvWlC:Vf"`.
 * Parsing stops at the first non-option argument or at `--`.
 */
export function getopt(prog: string, args: string[], optstring: string): GetoptResult {
  const flags = new Set<string>();
  const withValue = new Set<string>();
  for (let i = 0; i < optstring.length; i++) {
    const c = optstring[i];
    if (optstring[i + 1] === ":") {
      withValue.add(c);
      i++;
    } else {
      flags.add(c);
    }
  }
  const options: Record<string, { type: "boolean" | "string"; short: string; multiple: true }> = {};
  for (const c of flags) options[`o${c}`] = { type: "boolean", short: c, multiple: true };
  for (const c of withValue) options[`o${c}`] = { type: "string", short: c, multiple: true };

  const result: GetoptResult = { counts: {}, values: {}, rest: [] };
  // Validate first: parseArgs in non-strict mode accepts unknown flags, so
  // check every short option character ourselves to produce getopt's text.
  let end = args.length;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      end = i;
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      end = i;
      break;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j];
      if (withValue.has(c)) {
        if (j === a.length - 1 && i + 1 >= args.length) {
          result.error = `${prog}: option requires an argument -- '${c}'`;
          return result;
        }
        if (j === a.length - 1) i++;
        break;
      }
      if (!flags.has(c)) {
        result.error = `${prog}: invalid option -- '${c}'`;
        return result;
      }
    }
  }
  const { values } = parseArgs({
    args: args.slice(0, end),
    options,
    strict: true,
    allowPositionals: false,
  });
  for (const [k, v] of Object.entries(values)) {
    const c = k.slice(1);
    if (!Array.isArray(v)) continue;
    if (withValue.has(c)) {
      result.values[c] = String(v[v.length - 1]);
      result.counts[c] = v.length;
    } else {
      result.counts[c] = v.length;
    }
  }
  result.rest = args.slice(args[end] === "--" ? end + 1 : end);
  return result;
}
