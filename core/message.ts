/**
 * The core's view of a cluster message: an ordered list of named fields whose
 * values are text (wire type 0) or bytes (wire type 1). The I/O shell converts
 * between this and the wire codec; the core never sees encodings or digests.
 *
 * @module
 */

/** A field value: text, or raw bytes (e.g. `srcuuid`). */
export type FieldValue = string | Uint8Array;

/** An ordered cluster message. Lookups use the first field of a name. */
export class CoreMessage {
  /** The fields in wire order. */
  readonly fields: [string, FieldValue][];

  /** Creates a message from `[name, value]` pairs, in order. */
  constructor(fields: [string, FieldValue][] = []) {
    this.fields = fields;
  }

  /** Builds a message from an object (insertion order = field order). */
  static of(obj: Record<string, FieldValue>): CoreMessage {
    return new CoreMessage(Object.entries(obj));
  }

  /** The message type (`t`), or "" when absent. */
  get type(): string {
    return this.get("t") ?? "";
  }

  /** The first text value of `name`. */
  get(name: string): string | undefined {
    for (const [n, v] of this.fields) {
      if (n === name) return typeof v === "string" ? v : undefined;
    }
    return undefined;
  }

  /** The first binary value of `name`. */
  getBytes(name: string): Uint8Array | undefined {
    for (const [n, v] of this.fields) {
      if (n === name) return typeof v === "string" ? undefined : v;
    }
    return undefined;
  }

  /** True if a field `name` exists. */
  has(name: string): boolean {
    return this.fields.some(([n]) => n === name);
  }

  /** Replaces the first field `name` in place, or appends it (Heartbeat's rule for control fields). */
  set(name: string, value: FieldValue): this {
    const i = this.fields.findIndex(([n]) => n === name);
    if (i >= 0) this.fields[i] = [name, value];
    else this.fields.push([name, value]);
    return this;
  }

  /** A copy with the same fields. */
  clone(): CoreMessage {
    return new CoreMessage(this.fields.map(([n, v]) => [n, v]));
  }

  /** Text fields as a plain object (first occurrence wins); binary fields are skipped. */
  toRecord(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [n, v] of this.fields) {
      if (typeof v === "string" && !(n in out)) out[n] = v;
    }
    return out;
  }
}
