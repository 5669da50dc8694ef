/**
 * Minimal test assertions (no network access to a registry is assumed).
 *
 * @module
 */

/** Throws unless `a` and `b` are deeply equal (JSON comparison). */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  const a = JSON.stringify(actual, replacer);
  const b = JSON.stringify(expected, replacer);
  if (a !== b) throw new Error(`${msg ? msg + ": " : ""}expected ${b}, got ${a}`);
}

/** Throws unless `cond` is truthy. */
export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

/** Throws unless `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, msg?: string): void {
  if (!text.includes(part)) {
    throw new Error(
      `${msg ? msg + ": " : ""}expected to find ${JSON.stringify(part)} in:\n${text}`,
    );
  }
}

function replacer(_k: string, v: unknown): unknown {
  if (v instanceof Map) return Object.fromEntries(v);
  return v;
}
