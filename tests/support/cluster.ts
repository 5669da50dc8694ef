/**
 * The clusters of the integration tests: the two-node testbed most of them build
 * ({@link pairTestbed}), the `ha.cf` most of them start from ({@link testHaCf}) and the writing of
 * a node's three configuration files ({@link writeNodeFiles}). The failover tests have their own
 * set-up (`failover.ts`, with the lab's `failoverHaCf`), the interop tests theirs (`interop.ts`).
 *
 * @module
 */

import {
  haCf,
  type HaCfValue,
  Testbed,
  type TestbedOptions,
  type TestNode,
} from "../testbed/mod.ts";

/**
 * A two-node testbed (`node1`, `node2`) on one link, named `name`; `opts` adds to it or
 * overrides it (`client`, `ipv6`, more `links`).
 */
export function pairTestbed(
  name: string,
  opts: Omit<TestbedOptions, "nodes" | "name"> = {},
): Promise<Testbed> {
  return Testbed.create({ nodes: ["node1", "node2"], links: 1, ...opts, name });
}

/** Directives of an `ha.cf`, in order; `undefined` leaves one out. */
export type HaCfDirectives = Record<string, HaCfValue | undefined>;

/**
 * The base of {@link testHaCf}. The `undefined` entries hold a place: a test that sets one gets
 * it there (`udpport` must come before the media lines, where Heartbeat reads it).
 */
const TEST_HA_CF: HaCfDirectives = {
  logfile: "/var/log/ha-log", // the node's log directory, read with readLog()
  debugfile: undefined,
  logfacility: "none",
  keepalive: "100ms",
  deadtime: "500ms",
  warntime: undefined,
  initdead: 1,
  udpport: undefined,
  bcast: "eth0",
  auto_failback: "on",
  realtime: "off",
};

/**
 * The `ha.cf` of the integration tests: log to `/var/log/ha-log` only (`logfacility none`), short
 * timers (keepalive 100ms, deadtime 500ms, initdead 1), bcast on eth0, auto_failback on,
 * realtime off, then `directives` in their order. A directive of that base given in `directives`
 * takes its value in the base's place; `undefined` leaves it out.
 *
 * @example testHaCf({ udpport: 694, realtime: "on", node: ["node1", "node2"] })
 */
export function testHaCf(directives: HaCfDirectives = {}): string {
  return haCf({ ...TEST_HA_CF, ...directives });
}

/**
 * A resource script (`rec::<name>`) that records every call as `<epoch ms> <host> <name> <op>`
 * in `/var/log/rec.log` (read with the node's `readLog("rec.log")`); its state lives in `/run`,
 * so a power cycle stops it. (The failover tests' `REC_SCRIPT` also logs each status answer.)
 */
export const RECORDER_SCRIPT = `#!/bin/sh
echo "$(date +%s%3N) $(uname -n) $1 $2" >>/var/log/rec.log
case "$2" in
  start) touch /run/rec-$1;;
  stop) rm -f /run/rec-$1;;
  status) if [ -f /run/rec-$1 ]; then echo running; else echo stopped; fi;;
esac
exit 0
`;

/** The configuration files of a node, as text. */
interface NodeFiles {
  /** `ha.cf` ({@link testHaCf}). */
  haCf: string;
  /** `authkeys` (the testbed's `authkeys()`). */
  authkeys: string;
  /** `haresources` (`""` for none). */
  haresources: string;
}

/** Writes the same `ha.cf`, `authkeys` and `haresources` on each of `nodes`. */
export async function writeNodeFiles(
  nodes: readonly TestNode[],
  files: NodeFiles,
): Promise<void> {
  for (const n of nodes) {
    await n.writeHaCf(files.haCf);
    await n.writeAuthkeys(files.authkeys);
    await n.writeHaresources(files.haresources);
  }
}
