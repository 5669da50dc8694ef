/**
 * Helpers shared by the simulator tests: crafting peer messages and
 * searching wire traffic and log lines.
 *
 * @module
 */

import { CoreMessage } from "../../core/message.ts";
import type { SimCluster } from "../../core/sim/cluster.ts";
import { SIM_EPOCH_MS, type SimLogLine, type SimWireLine } from "../../core/sim/types.ts";

/** The uuid the simulator gives the node at `index` in the node list. */
export function simUuid(index: number): Uint8Array {
  return new Uint8Array(16).fill(index + 1);
}

/** A message as peer `src` would send it (fields in order, control fields appended). */
export function peerMessage(
  src: string,
  srcIndex: number,
  fields: Record<string, string>,
  control: { seq?: number; hg: number; atMs: number },
): CoreMessage {
  const msg = CoreMessage.of(fields);
  msg.set("src", src);
  msg.set("srcuuid", simUuid(srcIndex));
  if (control.seq !== undefined) msg.set("seq", control.seq.toString(16));
  msg.set("hg", control.hg.toString(16));
  msg.set("ts", Math.floor((SIM_EPOCH_MS + control.atMs) / 1000).toString(16));
  if (control.seq !== undefined) msg.set("ld", "0.00 0.00 0.00 1/1 1");
  msg.set("ttl", "3");
  return msg;
}

/** Wire lines of `node` whose message has type `t` (and matches `extra` fields). */
export function sentOfType(
  sim: SimCluster,
  node: string,
  t: string,
  extra: Record<string, string> = {},
): SimWireLine[] {
  return sim.wire(node).filter((w) =>
    w.msg.type === t && Object.entries(extra).every(([k, v]) => w.msg.get(k) === v)
  );
}

/** Index of the first log line equal to `line` (`PRIO: text`), -1 when absent. */
export function logIndex(sim: SimCluster, node: string, line: string): number {
  return sim.logs(node).indexOf(line);
}

/** Log lines of `node` starting with `prefix` (`PRIO: text` form). */
export function logsStarting(sim: SimCluster, node: string, prefix: string): string[] {
  return sim.logs(node).filter((l) => l.startsWith(prefix));
}

/** The first log line with exactly this text (without priority). */
export function findLog(sim: SimCluster, node: string, text: string): SimLogLine | undefined {
  return sim.logLines(node).find((l) => l.text === text);
}

/** Heartbeat-like timers: keepalive 1 s, warntime 3 s, deadtime 5 s, initdead 10 s. */
export const REAL_TIMERS = {
  keepaliveMs: 1000,
  warntimeMs: 3000,
  deadtimeMs: 5000,
  initdeadMs: 10000,
};
