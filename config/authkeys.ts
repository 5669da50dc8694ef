/**
 * The `authkeys` parser of Heartbeat 3.0.6 (heartbeat/auth.c
 * `parse_authfile`), with its exact messages and quirks (auth line must come
 * first, key 0 accepted, repeated keys replace, only group/other read bits
 * checked).
 *
 * @module
 */
import type { Reporter } from "./reporter.ts";

/** Installed authentication methods (case-sensitive). */
export const AUTH_METHODS = ["crc", "md5", "sha1"] as const;
/** An authentication method name. */
export type AuthMethod = typeof AUTH_METHODS[number];

/** One key of the file. */
export interface AuthKey {
  /** Key number 0–15. */
  index: number;
  /** Method. */
  method: AuthMethod;
  /** Secret ("" for crc). */
  secret: string;
  /** 1-based line. */
  line: number;
}

/** Parsed `authkeys`. */
export interface Authkeys {
  /** Key used to sign outgoing packets. */
  activeIndex: number;
  /** Number given on the last `auth` line (may differ from activeIndex, see quirk). */
  authLineIndex: number;
  /** All keys, by number (accepted for incoming packets). */
  keys: Map<number, AuthKey>;
}

/** Inputs of {@link parseAuthkeys}. */
export interface AuthkeysInput {
  /** File text, or undefined when the file cannot be opened. */
  text: string | undefined;
  /** Permission bits, when known. */
  mode?: number;
  /** Path as Heartbeat prints it (`/etc/ha.d//authkeys`). */
  displayPath: string;
  /** Path for explanations. */
  explainPath: string;
  /** Sink. */
  rep: Reporter;
}

const NEEDS_KEY: Record<AuthMethod, boolean> = { crc: false, md5: true, sha1: true };
const ALLOWED_LINE =
  "'auth N' first, then 'N METHOD [SECRET]' with N 0-15, METHOD crc, md5 or sha1 (md5/sha1 need a secret, crc takes none)";

function scanInt(s: string, i: number): { value: number; end: number } | undefined {
  while (i < s.length && " \t\n\r\f\v".includes(s[i])) i++;
  const m = /^[+-]?[0-9]+/.exec(s.slice(i));
  if (!m) return undefined;
  return { value: Number(m[0]), end: i + m[0].length };
}

function scanWord(s: string, i: number): { value: string; end: number } | undefined {
  while (i < s.length && " \t\n\r\f\v".includes(s[i])) i++;
  let j = i;
  while (j < s.length && !" \t\n\r\f\v".includes(s[j])) j++;
  if (j === i) return undefined;
  return { value: s.slice(i, j), end: j };
}

/**
 * Parses authkeys like Heartbeat. Returns the keys, or undefined when
 * Heartbeat would refuse them (diagnostics emitted, without the trailing
 * `Authentication configuration error.` which the caller adds).
 */
export function parseAuthkeys(inp: AuthkeysInput): Authkeys | undefined {
  const { rep, displayPath } = inp;
  rep.at(inp.explainPath, undefined, "authkeys");
  if (inp.text === undefined) {
    rep.emit(
      "ERROR",
      `Cannot open keyfile [${displayPath}].  Stop.`,
      "file missing or unreadable",
      "a file readable by root, mode 600",
    );
    return undefined;
  }
  if (inp.mode !== undefined && (inp.mode & 0o044) !== 0) {
    rep.emit(
      "ERROR",
      `Bad permissions on keyfile [${displayPath}], 600 recommended.`,
      `mode ${(inp.mode & 0o777).toString(8).padStart(3, "0")} lets group or others read the keys`,
      "no group/other read bit (600 recommended)",
    );
    return undefined;
  }
  let ok = true;
  let authnum = -1;
  let active: number | undefined;
  const keys = new Map<number, AuthKey>();
  const loaded = new Set<string>();
  const lines = inp.text.split(/(?<=\n)/);
  lines.forEach((buf, idx) => {
    const line = idx + 1;
    const bp = buf.replace(/^[ \t\n\r\f]+/, "");
    if (bp === "" || bp.startsWith("#")) return;
    rep.at(inp.explainPath, line, "authkeys");
    if (bp[0] === "a") {
      rep.directive = "auth";
      const m = /^auth/.exec(bp);
      const n = m ? scanInt(bp, 4) : undefined;
      if (!n) {
        rep.emit(
          "ERROR",
          `Invalid auth line [${buf}] in ${displayPath}`,
          `'${bp.trimEnd()}' is not 'auth N'`,
          ALLOWED_LINE,
        );
        ok = false;
        return;
      }
      authnum = n.value;
      return;
    }
    const n = scanInt(bp, 0);
    const meth = n ? scanWord(bp, n.end) : undefined;
    if (!n || !meth) {
      rep.emit(
        "ERROR",
        `Auth line [${buf}] is invalid.`,
        `'${bp.trimEnd()}' is not 'N METHOD [SECRET]'`,
        ALLOWED_LINE,
      );
      ok = false;
      return;
    }
    const key = scanWord(bp, meth.end)?.value ?? "";
    rep.directive = `key ${n.value}`;
    if (n.value < 0 || n.value >= 16) {
      rep.emit(
        "ERROR",
        `Invalid authnum [${n.value}] in ${displayPath}`,
        `key number ${n.value} out of range`,
        "key numbers 0-15",
      );
      ok = false;
      return;
    }
    const method = meth.value;
    if (!(AUTH_METHODS as readonly string[]).includes(method)) {
      rep.emit(
        "ERROR",
        [
          `LoadPlugin on ${method} returned 5: No such plugin/interface/interface type`,
          `Lookup extended#2 returned FALSE for ${method}`,
          `Table size: ${loaded.size}`,
          `Invalid authtype [${method}]`,
        ],
        `unknown method '${method}' (names are case-sensitive)`,
        "crc, md5 or sha1",
      );
      ok = false;
      return;
    }
    const am = method as AuthMethod;
    loaded.add(am);
    if (key !== "" && !NEEDS_KEY[am]) {
      rep.emit(
        "info",
        `Auth method [${am}] doesn't use a key`,
        `crc takes no secret (found '${key}'; a '#' comment after crc counts as one)`,
        "'N crc' alone",
        {
          fatal: true,
        },
      );
      ok = false;
      return;
    }
    if (key === "" && NEEDS_KEY[am]) {
      rep.emit(
        "ERROR",
        `Auth method [${am}] requires a key`,
        `${am} needs a secret`,
        `'N ${am} SECRET'`,
      );
      ok = false;
      return;
    }
    keys.set(n.value, { index: n.value, method: am, secret: key, line });
    if (n.value === authnum) active = n.value;
  });
  rep.at(inp.explainPath, undefined, "auth");
  if (active === undefined) {
    if (authnum < 0) {
      rep.emit(
        "ERROR",
        `Missing auth directive in keyfile [${displayPath}]`,
        "no valid 'auth N' line",
        "'auth N' before the key lines",
      );
    } else {
      rep.emit(
        "ERROR",
        `Auth Key [${authnum}] not found in keyfile [${displayPath}]`,
        `no valid key ${authnum} after the 'auth ${authnum}' line`,
        "a valid 'N METHOD [SECRET]' line after 'auth N'",
      );
    }
    ok = false;
  }
  if (!ok) return undefined;
  return { activeIndex: active!, authLineIndex: authnum, keys };
}
