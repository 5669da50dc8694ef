/**
 * Order statistics and table formatting for the reports of the benchmark and the chaos campaign.
 *
 * @module
 */

/** Min, median, 95th percentile and max of a sample (all undefined when it is empty). */
export interface Summary {
  /** Number of values. */
  n: number;
  /** Smallest value. */
  min?: number;
  /** Median (mean of the two middle values for an even count). */
  median?: number;
  /** 95th percentile, nearest-rank method. */
  p95?: number;
  /** Largest value. */
  max?: number;
}

/** Summarises `values` (non-finite values are ignored). */
export function summarize(values: number[]): Summary {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return { n: 0 };
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  const p95 = v[Math.min(v.length - 1, Math.ceil(0.95 * v.length) - 1)];
  return { n: v.length, min: v[0], median, p95, max: v[v.length - 1] };
}

/** Formats a number with `digits` decimals, or `-` for undefined/non-finite. */
export function fmt(x: number | undefined, digits = 0): string {
  return x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(digits);
}

/** `a / b` as `1.23×`, or `-` when either is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) {
    return "-";
  }
  return `${(a / b).toFixed(2)}x`;
}

/**
 * Renders rows as a plain-text table with a header rule; numbers-looking cells are right
 * aligned.
 */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = (s: string) => /^[-+]?[\d.]+(x|%| ?ms| ?s| ?MB)?$/.test(s) || s === "-";
  const line = (cells: string[]) =>
    cells.map((c, i) => numeric(c) && rows.length ? c.padStart(widths[i]) : c.padEnd(widths[i]))
      .join("  ").trimEnd();
  return [
    line(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.map((r) => line(header.map((_, i) => r[i] ?? ""))),
  ].join("\n");
}
