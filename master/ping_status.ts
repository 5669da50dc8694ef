/**
 * The master's half of the ping media (wire.md §7.6; the division of labour is explained in
 * workers/ping.ts): the `NS_st` payload it signs and sends to each ping medium's writer after
 * every status message.
 *
 * @module
 */

import { CoreMessage } from "../core/message.ts";
import { type AnyPingSpec, pingNodeName } from "../workers/ping.ts";

/**
 * The `NS_st` message the master signs and sends to a ping medium's writer
 * for a status message whose `ts` is `ts`:
 * `t=NS_st st=ping info=<ping|ping_group> src=<ping node name> ts=<ts>`.
 */
export function pingStatusMessage(m: AnyPingSpec, ts: string): CoreMessage {
  return CoreMessage.of({ t: "NS_st", st: "ping", info: m.type, src: pingNodeName(m), ts });
}
