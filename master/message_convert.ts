/**
 * Converts between the core's {@link CoreMessage} and the wire codec's {@link Message}
 * (no signing, no verification: that is master/packet_codec.ts).
 *
 * @module
 */

import { CoreMessage, type FieldValue } from "../core/message.ts";
import { type Field, FT_BINARY, FT_STRING, Message } from "../wire/message.ts";

/** Wire message → core message (text and binary fields; nested types are kept out). */
export function toCore(msg: Message): CoreMessage {
  const fields: [string, FieldValue][] = [];
  for (const f of msg.fields) {
    if (f.type === FT_STRING) fields.push([f.name, f.value]);
    else if (f.type === FT_BINARY) fields.push([f.name, f.value]);
  }
  return new CoreMessage(fields);
}

/** Core message → wire message. */
export function toWire(msg: CoreMessage): Message {
  const fields: Field[] = msg.fields.map(([name, value]) =>
    typeof value === "string" ? { name, type: FT_STRING, value } : { name, type: FT_BINARY, value }
  );
  return new Message(fields);
}
