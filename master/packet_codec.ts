/**
 * Where received packets are decoded: verifies and decodes incoming bytes into core messages
 * (counting the packets dropped, by reason) and signs and encodes outgoing ones.
 *
 * @module
 */

import type { CoreMessage } from "../core/message.ts";
import { type AuthKeys, decodeAndVerify, type MsgFmt, signAndEncode } from "../wire/auth.ts";
import { toCore, toWire } from "./message_convert.ts";

/** Why packets were dropped, counted per reason. */
export type DropReason = "format" | "too-big" | "auth" | "unknown-key" | "compression";

/** Result of {@link PacketCodec.decode}. */
export type DecodeResult =
  | { ok: true; msg: CoreMessage }
  | { ok: false; reason: DropReason; detail: string };

/** Signs/encodes outgoing messages and verifies incoming ones, counting drops. */
export class PacketCodec {
  #keys: AuthKeys;
  #msgfmt: MsgFmt;
  /** Dropped packets by reason. */
  readonly dropped: Record<DropReason, number> = {
    format: 0,
    "too-big": 0,
    auth: 0,
    "unknown-key": 0,
    compression: 0,
  };

  /** Creates a codec with the authkeys and `msgfmt` of ha.cf. */
  constructor(keys: AuthKeys, msgfmt: MsgFmt) {
    this.#keys = keys;
    this.#msgfmt = msgfmt;
  }

  /** Replaces the keys (authkeys reread). */
  setKeys(keys: AuthKeys): void {
    this.#keys = keys;
  }

  /** Encodes a core message for a packet medium. */
  encode(msg: CoreMessage): Uint8Array {
    return signAndEncode(toWire(msg), this.#keys, { msgfmt: this.#msgfmt, medium: "packet" });
  }

  /** Encodes a core message for a serial line: one classic frame with the `auth` field. */
  encodeSerial(msg: CoreMessage): Uint8Array {
    return signAndEncode(toWire(msg), this.#keys, { msgfmt: this.#msgfmt, medium: "serial" });
  }

  /** Decodes and verifies received bytes; never throws. */
  decode(bytes: Uint8Array): DecodeResult {
    const r = decodeAndVerify(bytes, this.#keys);
    if (r.ok) return { ok: true, msg: toCore(r.msg) };
    const reason = r.reason as DropReason;
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
    return { ok: false, reason, detail: r.detail };
  }

  /** Total packets dropped. */
  get droppedTotal(): number {
    return Object.values(this.dropped).reduce((a, b) => a + b, 0);
  }
}
