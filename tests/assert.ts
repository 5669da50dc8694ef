/**
 * Test assertions for hb. JSR (@std/assert) is not reachable from our machines,
 * so this wraps `node:assert` behind the names the Deno standard library uses;
 * swapping back to @std/assert is a change of this one file.
 *
 * @module
 */
import nodeAssert from "node:assert/strict";

/** Asserts that `cond` is truthy. */
export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}

/** Asserts deep (strict) equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}

/** Asserts deep (strict) inequality. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, msg);
}

/** Asserts that `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, msg?: string): void {
  nodeAssert.ok(
    text.includes(part),
    msg ?? `expected to find ${JSON.stringify(part)} in:\n${text}`,
  );
}

/** Asserts that `text` matches `re`. */
export function assertMatch(text: string, re: RegExp, msg?: string): void {
  nodeAssert.match(text, re, msg);
}

// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => Error;

/** Checks what was thrown: an instance of `cls` (if given) whose message includes `includes`. */
function thrown(e: unknown, cls?: ErrorClass, includes?: string): Error {
  const err = e as Error;
  if (cls) nodeAssert.ok(err instanceof cls, `expected ${cls.name}, got ${err}`);
  if (includes) assertStringIncludes(err.message, includes);
  return err;
}

/** Asserts that `fn` throws (optionally an instance of `cls` whose message includes `includes`). */
export function assertThrows(fn: () => unknown, cls?: ErrorClass, includes?: string): Error {
  try {
    fn();
  } catch (e) {
    return thrown(e, cls, includes);
  }
  throw new nodeAssert.AssertionError({ message: "expected function to throw" });
}

/** Asserts that the promise returned by `fn` rejects. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  cls?: ErrorClass,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return thrown(e, cls, includes);
  }
  throw new nodeAssert.AssertionError({ message: "expected promise to reject" });
}

/** Fails the test unconditionally. */
export function fail(msg: string): never {
  throw new nodeAssert.AssertionError({ message: msg });
}
