/**
 * A small JSON Schema validator for the subset `cli/status_schema.json` uses: `type` (one or
 * several of object, array, string, integer, number, boolean, null), `const`, `enum`,
 * `properties`, `required`, `additionalProperties: false`, `items`, `minimum`, `pattern` and
 * `oneOf`. Any other keyword (except annotations: `$schema`, `$id`, `title`, `description`)
 * is an error, so the schema cannot silently use what this does not check.
 *
 * @module
 */

/** A schema node (the subset above). */
export type Schema = Record<string, unknown>;

const ANNOTATIONS = new Set(["$schema", "$id", "title", "description"]);
const KEYWORDS = new Set([
  "type",
  "const",
  "enum",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "minimum",
  "pattern",
  "oneOf",
]);

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Validates `value` against `schema`; returns the errors (`path: what`), empty when valid. */
export function validate(schema: Schema, value: unknown, path = "$"): string[] {
  const errors: string[] = [];
  for (const k of Object.keys(schema)) {
    if (!KEYWORDS.has(k) && !ANNOTATIONS.has(k)) {
      errors.push(`${path}: schema keyword ${k} is not supported by tests/support/json_schema.ts`);
    }
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type as string[] : [schema.type as string];
    const t = typeOf(value);
    if (!types.includes(t) && !(t === "integer" && types.includes("number"))) {
      errors.push(`${path}: expected ${types.join(" or ")}, got ${t}`);
      return errors;
    }
  }
  if ("const" in schema && !same(schema.const, value)) {
    errors.push(`${path}: expected ${JSON.stringify(schema.const)}, got ${JSON.stringify(value)}`);
  }
  if (schema.enum !== undefined && !(schema.enum as unknown[]).some((e) => same(e, value))) {
    errors.push(
      `${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`,
    );
  }
  if (
    schema.minimum !== undefined && typeof value === "number" && value < (schema.minimum as number)
  ) {
    errors.push(`${path}: ${value} is below the minimum ${schema.minimum}`);
  }
  if (
    schema.pattern !== undefined && typeof value === "string" &&
    !new RegExp(schema.pattern as string, "u").test(value)
  ) {
    errors.push(`${path}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
  }
  if (schema.oneOf !== undefined) {
    const ok = (schema.oneOf as Schema[]).filter((s) => validate(s, value, path).length === 0);
    if (ok.length !== 1) {
      errors.push(`${path}: matches ${ok.length} of the oneOf alternatives (expected 1)`);
    }
  }
  if (typeOf(value) === "object") {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const r of (schema.required ?? []) as string[]) {
      if (!(r in obj)) errors.push(`${path}: missing ${r}`);
    }
    for (const [k, v] of Object.entries(obj)) {
      if (k in props) errors.push(...validate(props[k], v, `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected ${k}`);
    }
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((v, i) => errors.push(...validate(schema.items as Schema, v, `${path}[${i}]`)));
  }
  return errors;
}

/** Reads `cli/status_schema.json` of the repository. */
export async function statusSchema(): Promise<Schema> {
  const url = new URL("../../cli/status_schema.json", import.meta.url);
  return JSON.parse(await Deno.readTextFile(url)) as Schema;
}
