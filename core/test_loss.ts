/**
 * Heartbeat's test hook `OnlyForTesting` (heartbeat.c `ParseTestOpts`, test.h): the drop
 * decisions. The file itself is parsed by `config/only_for_testing.ts`; the facts are
 * recorded there.
 *
 * Heartbeat's master control process applies the options at two places, both reproduced
 * in the core (core.ts):
 *
 * - sending (`send_to_all_media`, every transmission: new messages and retransmissions,
 *   after the message went into the history and through loopback processing): when
 *   `xmitloss` is set, one draw with probability `xmitloss`; a hit drops the transmission on
 *   every medium — but only while `allownodes` is empty or starts with `;`. With a node list,
 *   nothing is ever dropped on the way out.
 * - receiving (`process_clustermsg`, after the checks of the mandatory fields and the lookup
 *   of the sender, before anything else — link status included): when `rcvloss` is set and
 *   the sender is not this node, one draw with probability `rcvloss`; a hit drops the packet
 *   unless the sender's name (`src`, as received) occurs in `allownodes` followed by `;`
 *   (C `strstr`, first occurrence only: `allownodes=xnode2;` lets `node2` through, and
 *   `allownodes=node22;node2;` does not).
 *
 * A draw is C's `rand() <= RAND_MAX * p` with `p` a C `float`: `p = 1` always hits, `p = 0`
 * hits once in 2^31, a negative or NaN `p` never.
 *
 * @module
 */

import type { TestLossOptions } from "../config/types.ts";
import type { Random } from "./random.ts";

export type { TestLossOptions } from "../config/types.ts";

/** glibc's `RAND_MAX`. */
const RAND_MAX = 2147483647;

/** Heartbeat's `RandThresh(p)`: `rand() <= RAND_MAX * p`, with `rand()` drawn from `random`. */
export function randThresh(p: number, random: Random): boolean {
  const r = Math.floor(random() * (RAND_MAX + 1));
  return r <= RAND_MAX * p;
}

/** Whether one transmission (on all media at once) is thrown away. */
export function dropOnSend(opts: TestLossOptions, random: Random): boolean {
  if (opts.xmitloss === undefined) return false;
  if (!randThresh(opts.xmitloss, random)) return false;
  return opts.allownodes === "" || opts.allownodes.startsWith(";");
}

/**
 * Whether a packet received from `from` (its `src`, as received) is thrown away. The caller
 * never asks for our own packets.
 */
export function dropOnReceive(opts: TestLossOptions, from: string, random: Random): boolean {
  if (opts.rcvloss === undefined) return false;
  if (!randThresh(opts.rcvloss, random)) return false;
  return !allowed(opts.allownodes, from);
}

/** C: `match = strstr(allow, from); match != NULL && match[strlen(from)] == ';'`. */
function allowed(allow: string, from: string): boolean {
  const at = allow.indexOf(from);
  return at >= 0 && allow[at + from.length] === ";";
}
