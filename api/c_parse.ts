/**
 * The C conversions Heartbeat applies to API field values (`atoi`, `sscanf("%ld")`,
 * `sscanf("%x")`, `sscanf("%u")`), so that odd inputs are judged exactly as the real daemon
 * judges them.
 *
 * @module
 */

const SPACE = /^[ \t\n\v\f\r]*/;

/** `atoi`: optional leading white space and sign, then decimal digits; 0 when none. */
export function atoi(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)/.exec(s);
  if (!m) return 0;
  const n = Number(m[2].slice(0, 12));
  const v = m[1] === "-" ? -n : n;
  return v | 0;
}

/** `sscanf(s, "%ld")` → the number, or `undefined` when no conversion happened. */
export function scanLong(s: string): number | undefined {
  const m = /^([+-]?)(\d+)/.exec(s.replace(SPACE, ""));
  if (!m) return undefined;
  const n = Number(m[2]);
  return m[1] === "-" ? -n : n;
}

/** `sscanf(s, "%x")` into an unsigned → the value (mod 2^32), or `undefined`. */
export function scanHex(s: string): number | undefined {
  const m = /^([+-]?)(?:0[xX])?([0-9a-fA-F]+)/.exec(s.replace(SPACE, ""));
  if (!m) {
    // "0x" alone converts the 0.
    return /^[+-]?0[xX]?/.test(s.replace(SPACE, "")) ? 0 : undefined;
  }
  const digits = m[2].length > 8 ? "ffffffff" : m[2];
  let v = parseInt(digits, 16) >>> 0;
  if (m[1] === "-") v = (-v) >>> 0;
  return v;
}

/** `sscanf(s, "%u")` → the value (mod 2^32), or `undefined`. */
export function scanUnsigned(s: string): number | undefined {
  const m = /^([+-]?)(\d+)/.exec(s.replace(SPACE, ""));
  if (!m) return undefined;
  const n = m[2].length > 10 ? 0xffffffff : Number(m[2]);
  const v = n > 0xffffffff ? 0xffffffff : n;
  return m[1] === "-" ? (-v) >>> 0 : v >>> 0;
}
