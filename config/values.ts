/**
 * Value syntaxes of ha.cf as Heartbeat 3.0.6 / cluster-glue read them: time
 * values (`cl_get_msec`), booleans (`cl_str_to_boolean`), C `atoi`, and the
 * classic IPv4 (`inet_aton`/`inet_addr`) and IPv6 (`inet_pton`) address forms.
 *
 * @module
 */

const NUMCHARS = "0123456789.";
const WHITESPACE = " \t\n\r\f";

function isWs(c: string | undefined): boolean {
  return c !== undefined && c !== "" && WHITESPACE.includes(c);
}

/** Emulates C `atof` on the prefix of `s` made of digits and dots (sign not accepted here). */
function atofDigits(s: string): number {
  const m = /^[0-9]*(\.[0-9]*)?/.exec(s);
  const t = m ? m[0] : "";
  if (t === "" || t === ".") return 0;
  return Number(t.endsWith(".") ? t.slice(0, -1) : t);
}

/**
 * Parses a time value like cluster-glue's `cl_get_msec`: digits and dots,
 * then an optional unit (`ms…` → milliseconds, `us…`/`usec` → microseconds,
 * none → seconds). Any other unit (including `s`, `sec`) or a leading
 * non-digit is invalid. Returns milliseconds rounded to the nearest integer,
 * or -1 when invalid.
 */
export function parseTimeMs(input: string): number {
  let i = 0;
  while (isWs(input[i])) i++;
  const cp = input.slice(i);
  let j = 0;
  while (j < cp.length && NUMCHARS.includes(cp[j])) j++;
  let k = j;
  while (isWs(cp[k])) k++;
  const units = cp.slice(k);
  if (cp.length === 0 || !NUMCHARS.includes(cp[0])) return -1;
  let multiplier = 1000;
  let divisor = 1;
  const u2 = units.slice(0, 2).toLowerCase();
  // cluster-glue also accepts the (bogus) 4-character prefix "cl_g" as milliseconds.
  if (u2 === "ms" || units.slice(0, 4).toLowerCase() === "cl_g") {
    multiplier = 1;
  } else if (u2 === "us") {
    multiplier = 1;
    divisor = 1000;
  } else if (units !== "" && units[0] !== "\n" && units[0] !== "\r") {
    return -1;
  }
  const d = atofDigits(cp) * multiplier / divisor + 0.5;
  return Math.trunc(d);
}

/** Parses a boolean like `cl_str_to_boolean`: true/on/yes/y/1, false/off/no/n/0 (any case). */
export function parseBoolean(s: string): boolean | undefined {
  const v = s.toLowerCase();
  if (["true", "on", "yes", "y", "1"].includes(v)) return true;
  if (["false", "off", "no", "n", "0"].includes(v)) return false;
  return undefined;
}

/** C `atoi`: optional blanks and sign, then leading digits; garbage gives 0; 32-bit wrap. */
export function atoi(s: string): number {
  const m = /^[ \t\n\r\f\v]*([+-]?)([0-9]*)/.exec(s);
  if (!m || m[2] === "") return 0;
  let n = 0n;
  for (const c of m[2]) n = (n * 10n + BigInt(c.charCodeAt(0) - 48)) & 0xffffffffffffffffn;
  if (m[1] === "-") n = (-n) & 0xffffffffffffffffn;
  return Number(BigInt.asIntN(32, n));
}

/** Truncates an integer like a C cast to `unsigned char`. */
export function toUChar(n: number): number {
  return ((n % 256) + 256) % 256;
}

/** Truncates an integer like a C cast to `unsigned short`. */
export function toUShort(n: number): number {
  return ((n % 65536) + 65536) % 65536;
}

/**
 * Parses an IPv4 address in any `inet_aton` form (`a.b.c.d`, `a.b.c`, `a.b`,
 * `a`, each part decimal, octal or hex). Returns the 32-bit value or undefined.
 */
export function inetAton(s: string): number | undefined {
  if (s === "") return undefined;
  const parts = s.split(".");
  if (parts.length > 4) return undefined;
  const vals: number[] = [];
  for (const p of parts) {
    let v: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(p)) v = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (/^0[0-7]*$/.test(p)) v = parseInt(p, 8);
    else if (/^[1-9][0-9]*$/.test(p)) v = parseInt(p, 10);
    else return undefined;
    if (!Number.isFinite(v) || v > 0xffffffff) return undefined;
    vals.push(v);
  }
  const last = vals[vals.length - 1];
  const head = vals.slice(0, -1);
  if (head.some((v) => v > 255)) return undefined;
  const maxLast = [0xffffffff, 0xffffff, 0xffff, 0xff][head.length];
  if (last > maxLast) return undefined;
  let r = 0;
  head.forEach((v, i) => (r += v * 2 ** (24 - 8 * i)));
  return r + last;
}

/** Strict dotted-quad IPv4 like `inet_pton(AF_INET)`; returns the 4 bytes or undefined. */
export function inetPton4(s: string): number[] | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || (p.length > 1 && p[0] === "0")) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out.push(v);
  }
  return out;
}

/** Parses an IPv6 address like `inet_pton(AF_INET6)`; returns 16 bytes or undefined. */
export function inetPton6(s: string): number[] | undefined {
  let tail4: number[] | undefined;
  let str = s;
  const lastColon = str.lastIndexOf(":");
  if (lastColon >= 0 && str.slice(lastColon + 1).includes(".")) {
    tail4 = inetPton4(str.slice(lastColon + 1));
    if (!tail4) return undefined;
    str = str.slice(0, lastColon + 1) + "0:0";
  }
  const dbl = str.split("::");
  if (dbl.length > 2) return undefined;
  const parseGroups = (g: string): number[] | undefined => {
    if (g === "") return [];
    const out: number[] = [];
    for (const h of g.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(h)) return undefined;
      out.push(parseInt(h, 16));
    }
    return out;
  };
  const a = parseGroups(dbl[0]);
  const b = dbl.length === 2 ? parseGroups(dbl[1]) : [];
  if (!a || !b) return undefined;
  let groups: number[];
  if (dbl.length === 2) {
    if (a.length + b.length > 7) return undefined;
    groups = [...a, ...new Array(8 - a.length - b.length).fill(0), ...b];
  } else {
    if (a.length !== 8) return undefined;
    groups = a;
  }
  const bytes: number[] = [];
  for (const g of groups) bytes.push(g >> 8, g & 0xff);
  if (tail4) bytes.splice(12, 4, ...tail4);
  return bytes;
}
