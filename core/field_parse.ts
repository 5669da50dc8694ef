/**
 * Parsing of the numeric fields of Heartbeat messages as Heartbeat's C code reads them
 * (`sscanf("%lx")` for hex fields, `atoi` for decimal ones): lenient, never throwing.
 *
 * @module
 */

/** sscanf("%lx")-like: leading hex digits (after blanks), undefined when there are none. */
export function parseHex(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  let i = 0;
  while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
  let v = 0;
  let digits = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else break;
    v = v * 16 + d;
    digits++;
  }
  return digits > 0 ? v : undefined;
}

/** atoi-like: the leading decimal digits, 0 when there are none. */
export function parseDecimal(text: string | undefined): number {
  if (text === undefined) return 0;
  const v = parseInt(text.trim(), 10); // atoi: leading digits, else 0
  return Number.isFinite(v) ? v : 0;
}
