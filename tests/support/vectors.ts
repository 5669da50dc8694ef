/**
 * Test support: loads the captured wire vectors (`testdata/vectors/wire/`) and API captures
 * (`testdata/vectors/api/`), in-repo copies of the shared `vectors/` recordings of the real
 * Heartbeat 3.0.6 (see `testdata/vectors/README.md`), and converts messages to the JSON shape of
 * `index.json`. Fails loudly when the vector directories are missing. Used only by `*_test.ts`
 * files.
 *
 * @module
 */

import { toHex } from "../../wire/bytes.ts";
import type { AuthKey, AuthKeys } from "../../wire/auth.ts";
import type { Message } from "../../wire/message.ts";

/** Directory of the wire vectors, resolved relative to this file. */
export const WIRE_VECTOR_DIR: URL = new URL("../../testdata/vectors/wire/", import.meta.url);
/** Directory of the API captures. */
export const API_VECTOR_DIR: URL = new URL("../../testdata/vectors/api/", import.meta.url);

/** A field as described in `index.json`. */
export interface VectorField {
  /** Field name. */
  name: string;
  /** Field type. */
  type: number;
  /** Type 0 value. */
  value?: string;
  /** Types 1 and 4: hex bytes. */
  hex?: string;
  /** Type 3 elements. */
  list?: string[];
  /** Types 2 and 5: nested fields. */
  fields?: VectorField[];
}

/** One entry of `index.json`. */
export interface WireVector {
  /** File name. */
  file: string;
  /** Sender's method. */
  auth: "crc" | "md5" | "sha1";
  /** Sender's key. */
  key: string | null;
  /** Sender's key index. */
  key_index: number;
  /** Run tag. */
  media: string;
  /** Encoding. */
  format: "netstring" | "classic";
  /** File size. */
  length: number;
  /** SHA-256 of the file. */
  sha256: string;
  /** Real receiver's decision. */
  expect: "accept" | "reject";
  /** Decoded fields. */
  fields: VectorField[];
  /** Netstring trailer. */
  trailer?: { index: number; token: string };
  /** Value of the `auth` field. */
  auth_field?: string;
  /** Receiver's authkeys for synthetic vectors. */
  receiver_authkeys?: string;
  /** Free text. */
  note?: string;
  /** Synthetic variant. */
  variant?: string;
}

function mustExist(dir: URL): void {
  try {
    if (!Deno.statSync(dir).isDirectory) throw new Error("not a directory");
  } catch (e) {
    throw new Error(
      `test vectors directory ${dir.pathname} is missing or unreadable (${e}); ` +
        "the wire tests read the in-repo copy testdata/vectors/ (see its README.md)",
    );
  }
}

/** Loads every vector of `index.json` with its bytes. */
export function loadWireVectors(): { vector: WireVector; bytes: Uint8Array }[] {
  mustExist(WIRE_VECTOR_DIR);
  const index = JSON.parse(Deno.readTextFileSync(new URL("index.json", WIRE_VECTOR_DIR)));
  const list = index.vectors as WireVector[];
  if (!Array.isArray(list) || list.length === 0) throw new Error("index.json has no vectors");
  return list.map((vector) => ({
    vector,
    bytes: Deno.readFileSync(new URL(vector.file, WIRE_VECTOR_DIR)),
  }));
}

/** The keys of the vector's sender (method, key and index it signed with). */
export function senderKeys(v: WireVector): AuthKeys {
  return {
    active: v.key_index,
    keys: new Map<number, AuthKey>([[v.key_index, { method: v.auth, secret: v.key ?? "" }]]),
  };
}

/** Parses `auth 3 / 1 crc / 2 md5 testkey-md5 / 3 sha1 testkey-sha1` into {@link AuthKeys}. */
export function parseAuthkeysLine(text: string): AuthKeys {
  const parts = text.split("/").map((s) => s.trim().split(/\s+/));
  let active = -1;
  const keys = new Map<number, AuthKey>();
  for (const p of parts) {
    if (p[0] === "auth") active = Number(p[1]);
    else keys.set(Number(p[0]), { method: p[1] as AuthKey["method"], secret: p[2] ?? "" });
  }
  return { active, keys };
}

/**
 * The keys of the receiver: for synthetic vectors the stated receiver authkeys, for captures the
 * peer's own (identical) configuration.
 */
export function receiverKeys(v: WireVector): AuthKeys {
  return v.receiver_authkeys ? parseAuthkeysLine(v.receiver_authkeys) : senderKeys(v);
}

/** Converts a message to the `fields` shape of `index.json`. */
export function toVectorFields(msg: Message): VectorField[] {
  return msg.fields.map((f): VectorField => {
    switch (f.type) {
      case 0:
        return { name: f.name, type: 0, value: f.value };
      case 1:
      case 4:
        return { name: f.name, type: f.type, hex: toHex(f.value) };
      case 3:
        return { name: f.name, type: 3, list: [...f.value] };
      default:
        return { name: f.name, type: f.type, fields: toVectorFields(f.value) };
    }
  });
}

/** One direction's byte stream of an API capture, and its write groups. */
export interface ApiCapture {
  /** File name. */
  file: string;
  /** Bytes client → server. */
  client: Uint8Array;
  /** Bytes server → client. */
  server: Uint8Array;
  /** FIFO writes (W: lines), one array per write. */
  writes: Uint8Array[];
}

/** Loads every `*.hex` API capture. */
export function loadApiCaptures(): ApiCapture[] {
  mustExist(API_VECTOR_DIR);
  const out: ApiCapture[] = [];
  for (const e of Deno.readDirSync(API_VECTOR_DIR)) {
    if (!e.name.endsWith(".hex")) continue;
    const text = Deno.readTextFileSync(new URL(e.name, API_VECTOR_DIR));
    const c: number[] = [];
    const s: number[] = [];
    const writes: number[][] = [];
    let lastW = false;
    for (const line of text.split("\n")) {
      const m = /^([CSW]):\s*(.*)$/.exec(line);
      if (!m) {
        lastW = false;
        continue;
      }
      const bytes = m[2].trim().split(/\s+/).filter((x) => x).map((h) => parseInt(h, 16));
      if (m[1] === "C") c.push(...bytes);
      else if (m[1] === "S") s.push(...bytes);
      else {
        if (!lastW) writes.push([]);
        writes[writes.length - 1].push(...bytes);
        lastW = true;
        continue;
      }
      lastW = false;
    }
    out.push({
      file: e.name,
      client: new Uint8Array(c),
      server: new Uint8Array(s),
      writes: writes.map((w) => new Uint8Array(w)),
    });
  }
  if (out.length === 0) throw new Error(`no .hex captures in ${API_VECTOR_DIR.pathname}`);
  return out.sort((a, b) => a.file.localeCompare(b.file));
}

/** Splits an IPC byte stream into frame bodies (8-byte header: int32 LE length, magic 0xabcd). */
export function splitIpcFrames(stream: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const dv = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  let p = 0;
  while (p + 8 <= stream.length) {
    const len = dv.getInt32(p, true);
    const magic = dv.getUint32(p + 4, true);
    if (magic !== 0xabcd) throw new Error(`bad IPC magic at ${p}`);
    out.push(stream.subarray(p + 8, p + 8 + len));
    p += 8 + len;
  }
  if (p !== stream.length) throw new Error(`trailing ${stream.length - p} bytes in IPC stream`);
  return out;
}
