/**
 * The Heartbeat message model (spec `wire.md` §1): an **ordered** list of named, typed fields.
 * Names may repeat; every lookup uses the first field with the name. Field order is preserved by
 * both encodings and is covered by the digests, so it is never changed implicitly.
 *
 * Names and string values are byte strings (one char per byte, see `bytes.ts`). Field objects are
 * treated as immutable: setters replace them, so a decoded message re-encodes byte-exactly until
 * it is modified.
 *
 * @module
 */

import { isByteString } from "./bytes.ts";

/** Field type 0: a string (byte string). */
export const FT_STRING = 0;
/** Field type 1: raw bytes (uuids, `_compressed_payload`). */
export const FT_BINARY = 1;
/** Field type 2: a nested message. */
export const FT_STRUCT = 2;
/** Field type 3: a list of non-empty strings. */
export const FT_LIST = 3;
/** Field type 4: compressed bytes that decode to a nested message (field-level compression). */
export const FT_COMPRESS = 4;
/** Field type 5: in-memory nested message marked for compression; becomes type 4 when sent. */
export const FT_UNCOMPRESS = 5;

/** The six field types (`(0)`…`(5)` markers). */
export type FieldType = 0 | 1 | 2 | 3 | 4 | 5;

/** A type 0 field. */
export interface StringField {
  /** Field name (byte string, non-empty, no `=`). */
  readonly name: string;
  /** Always 0. */
  readonly type: 0;
  /** The value (byte string, may be empty). */
  readonly value: string;
}

/** A type 1 field. */
export interface BinaryField {
  /** Field name. */
  readonly name: string;
  /** Always 1. */
  readonly type: 1;
  /** The raw bytes (any length, including 0). */
  readonly value: Uint8Array;
}

/** A type 2 field. */
export interface StructField {
  /** Field name. */
  readonly name: string;
  /** Always 2. */
  readonly type: 2;
  /** The nested message. */
  readonly value: Message;
}

/** A type 3 field. */
export interface ListField {
  /** Field name. */
  readonly name: string;
  /** Always 3. */
  readonly type: 3;
  /** The elements (byte strings, each non-empty on the wire). */
  readonly value: readonly string[];
}

/** A type 4 field. */
export interface CompressField {
  /** Field name. */
  readonly name: string;
  /** Always 4. */
  readonly type: 4;
  /** Compressed bytes (see `compress.ts` to read the nested message). */
  readonly value: Uint8Array;
}

/** A type 5 field. */
export interface UncompressField {
  /** Field name. */
  readonly name: string;
  /** Always 5. */
  readonly type: 5;
  /** The nested message to be compressed when sent. */
  readonly value: Message;
}

/** Any field. */
export type Field =
  | StringField
  | BinaryField
  | StructField
  | ListField
  | CompressField
  | UncompressField;

/**
 * Checks that `name` can be a field name: non-empty byte string without `=`, NUL or newline.
 * Throws `TypeError` (a programming error) otherwise.
 */
export function assertFieldName(name: string): void {
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError("field name must be a non-empty string");
  }
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x3d || c === 0 || c === 0x0a || c > 0xff) {
      throw new TypeError(
        `field name ${
          JSON.stringify(name)
        } contains a forbidden character (=, NUL, newline, >0xFF)`,
      );
    }
  }
}

function assertByteString(name: string, value: string): void {
  if (typeof value !== "string" || !isByteString(value)) {
    throw new TypeError(
      `value of field ${JSON.stringify(name)} must be a byte string (chars 0-255); ` +
        "use utf8ToBytes() for Unicode text",
    );
  }
}

/** Checks a field's name and value shape; throws `TypeError` when it is not a valid field. */
export function assertField(f: Field): void {
  assertFieldName(f.name);
  switch (f.type) {
    case FT_STRING:
      assertByteString(f.name, f.value);
      return;
    case FT_BINARY:
    case FT_COMPRESS:
      if (!(f.value instanceof Uint8Array)) throw new TypeError(`field ${f.name}: bytes expected`);
      return;
    case FT_STRUCT:
    case FT_UNCOMPRESS:
      if (!(f.value instanceof Message)) throw new TypeError(`field ${f.name}: Message expected`);
      return;
    case FT_LIST:
      if (!Array.isArray(f.value)) throw new TypeError(`field ${f.name}: string[] expected`);
      for (const e of f.value) assertByteString(f.name, e);
      return;
    default:
      throw new TypeError(`field ${(f as Field).name}: unknown type ${(f as Field).type}`);
  }
}

/** An ordered list of fields with first-match lookup. */
export class Message {
  #fields: Field[];

  /**
   * Creates a message from fields (validated; throws `TypeError` on an invalid field).
   * Decoders use {@link Message.trusted} instead to skip validation.
   */
  constructor(fields: Iterable<Field> = []) {
    this.#fields = [];
    for (const f of fields) {
      assertField(f);
      this.#fields.push(f);
    }
  }

  /** Wraps an already valid field array without copying or checking (used by the decoders). */
  static trusted(fields: Field[]): Message {
    const m = new Message();
    m.#fields = fields;
    return m;
  }

  /**
   * Builds a message of string fields in the given order, e.g.
   * `Message.fromStrings([["t", "status"], ["st", "up"]])` or `Message.fromStrings({t: "status"})`.
   */
  static fromStrings(pairs: Iterable<readonly [string, string]> | Record<string, string>): Message {
    const m = new Message();
    const it = Symbol.iterator in pairs
      ? pairs as Iterable<readonly [string, string]>
      : Object.entries(pairs);
    for (const [k, v] of it) m.add(k, v);
    return m;
  }

  /** The fields in order (do not mutate; use the setters). */
  get fields(): readonly Field[] {
    return this.#fields;
  }

  /** Number of fields. */
  get length(): number {
    return this.#fields.length;
  }

  /** Index of the first field named `name`, or -1. */
  indexOf(name: string): number {
    const fs = this.#fields;
    for (let i = 0; i < fs.length; i++) if (fs[i].name === name) return i;
    return -1;
  }

  /** True when a field named `name` exists. */
  has(name: string): boolean {
    return this.indexOf(name) >= 0;
  }

  /** The first field named `name`. */
  getField(name: string): Field | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.#fields[i];
  }

  /** Value of the first field named `name` if it is a string field, else `undefined`. */
  get(name: string): string | undefined {
    const f = this.getField(name);
    return f !== undefined && f.type === FT_STRING ? f.value : undefined;
  }

  /** Value of the first field named `name` if it is a binary field, else `undefined`. */
  getBinary(name: string): Uint8Array | undefined {
    const f = this.getField(name);
    return f !== undefined && f.type === FT_BINARY ? f.value : undefined;
  }

  /**
   * Nested message of the first field named `name` if it is a struct (type 2) or an in-memory
   * uncompressed struct (type 5). Type 4 fields are read with `compress.ts`.
   */
  getStruct(name: string): Message | undefined {
    const f = this.getField(name);
    return f !== undefined && (f.type === FT_STRUCT || f.type === FT_UNCOMPRESS)
      ? f.value
      : undefined;
  }

  /** Elements of the first field named `name` if it is a list, else `undefined`. */
  getList(name: string): readonly string[] | undefined {
    const f = this.getField(name);
    return f !== undefined && f.type === FT_LIST ? f.value : undefined;
  }

  /** Raw compressed bytes of the first field named `name` if it is type 4, else `undefined`. */
  getCompressed(name: string): Uint8Array | undefined {
    const f = this.getField(name);
    return f !== undefined && f.type === FT_COMPRESS ? f.value : undefined;
  }

  /** Appends a field (validated). */
  addField(field: Field): this {
    assertField(field);
    this.#fields.push(field);
    return this;
  }

  /**
   * Replaces the first field with the same name in place (keeping its position), or appends the
   * field when there is none — Heartbeat's "replace or append" (`ha_msg_mod`).
   */
  setField(field: Field): this {
    assertField(field);
    const i = this.indexOf(field.name);
    if (i < 0) this.#fields.push(field);
    else this.#fields[i] = field;
    return this;
  }

  /** Appends a string field. */
  add(name: string, value: string): this {
    return this.addField({ name, type: FT_STRING, value });
  }

  /** Replaces (in place) or appends a string field. */
  set(name: string, value: string): this {
    return this.setField({ name, type: FT_STRING, value });
  }

  /** Appends a binary field. The bytes are not copied. */
  addBinary(name: string, value: Uint8Array): this {
    return this.addField({ name, type: FT_BINARY, value });
  }

  /** Replaces (in place) or appends a binary field. */
  setBinary(name: string, value: Uint8Array): this {
    return this.setField({ name, type: FT_BINARY, value });
  }

  /** Appends a nested message (type 2). */
  addStruct(name: string, value: Message): this {
    return this.addField({ name, type: FT_STRUCT, value });
  }

  /** Replaces (in place) or appends a nested message (type 2). */
  setStruct(name: string, value: Message): this {
    return this.setField({ name, type: FT_STRUCT, value });
  }

  /** Appends a list field (the array is copied). */
  addList(name: string, value: readonly string[]): this {
    return this.addField({ name, type: FT_LIST, value: [...value] });
  }

  /** Replaces (in place) or appends a list field (the array is copied). */
  setList(name: string, value: readonly string[]): this {
    return this.setField({ name, type: FT_LIST, value: [...value] });
  }

  /**
   * Appends a nested message marked for field-level compression (type 5). It is turned into a
   * type 4 field by `compressFields()` in `compress.ts` before encoding.
   */
  addCompressedStruct(name: string, value: Message): this {
    return this.addField({ name, type: FT_UNCOMPRESS, value });
  }

  /** Removes the first field named `name`; returns whether one was removed. */
  remove(name: string): boolean {
    const i = this.indexOf(name);
    if (i < 0) return false;
    this.#fields.splice(i, 1);
    return true;
  }

  /** A copy whose field list can be modified independently (nested messages are cloned too). */
  clone(): Message {
    const out: Field[] = new Array(this.#fields.length);
    for (let i = 0; i < out.length; i++) {
      const f = this.#fields[i];
      out[i] = f.type === FT_STRUCT || f.type === FT_UNCOMPRESS
        ? { name: f.name, type: f.type, value: f.value.clone() } as Field
        : f;
    }
    return Message.trusted(out);
  }

  /** True when the message holds a type 2, 4 or 5 field (such messages never get an `auth` field). */
  hasNested(): boolean {
    for (const f of this.#fields) {
      if (f.type === FT_STRUCT || f.type === FT_COMPRESS || f.type === FT_UNCOMPRESS) return true;
    }
    return false;
  }

  /** A readable one-line rendering for logs: `t=status st=up (1)srcuuid=<16 bytes> …`. */
  toString(): string {
    const parts: string[] = [];
    for (const f of this.#fields) {
      switch (f.type) {
        case FT_STRING:
          parts.push(`${f.name}=${f.value}`);
          break;
        case FT_BINARY:
        case FT_COMPRESS:
          parts.push(`(${f.type})${f.name}=<${f.value.length} bytes>`);
          break;
        case FT_LIST:
          parts.push(`(3)${f.name}=[${f.value.join(",")}]`);
          break;
        default:
          parts.push(`(${f.type})${f.name}={${f.value.toString()}}`);
      }
    }
    return parts.join(" ");
  }
}
