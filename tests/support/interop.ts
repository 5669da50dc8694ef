/**
 * Shared helpers of the membership, redundant-media and loss interop tests
 * (`tests/interop_membership_test.ts`, `tests/hb_membership_test.ts`,
 * `tests/redundant_media_test.ts`, `tests/loss_test.ts`): configurations for
 * every UDP medium, `cl_status` checks, the real daemon's complaint lines,
 * detection-time measurement and a small pcap reader for heartbeat packets.
 *
 * Not a test file itself.
 *
 * @module
 */

import { sleep } from "./mod.ts";
import { assert, assertEquals, fail } from "../assert.ts";
import {
  authkeys,
  haCf,
  type HaCfValue,
  REAL_CL_STATUS,
  type Testbed,
  type TestNode,
} from "../testbed/mod.ts";
import { pairTestbed } from "./cluster.ts";
import { decodeMessage } from "../../wire/codec.ts";
import { FT_STRING } from "../../wire/message.ts";

/** The UDP media exercised. */
export type Media = "bcast" | "ucast" | "mcast";
/** Authentication methods exercised. */
export type AuthMethod = "crc" | "md5" | "sha1";
/** All UDP media. */
export const MEDIA: readonly Media[] = ["bcast", "ucast", "mcast"];
/** All authentication methods. */
export const AUTH_METHODS: readonly AuthMethod[] = ["crc", "md5", "sha1"];
/** Multicast group of the mcast tests (TTL 0..4 allowed by Heartbeat). */
export const MCAST_GROUP = "239.0.0.42";

/**
 * The ha.cf media lines of `node` for `media` on the given testbed links: `bcast ethK`,
 * `ucast ethK <address of every other node on link K>` or `mcast ethK <group> 694 1 0`.
 */
export function mediaLines(
  tb: Testbed,
  node: TestNode,
  media: Media,
  links: readonly number[] = [0],
): Record<string, HaCfValue> {
  const lines: string[] = [];
  for (const k of links) {
    const ifname = node.iface(k);
    switch (media) {
      case "bcast":
        lines.push(ifname);
        break;
      case "ucast":
        for (const peer of tb.nodes) if (peer !== node) lines.push(`${ifname} ${peer.address(k)}`);
        break;
      case "mcast":
        // TTL 1, no loopback, one group per link: Heartbeat's mcast reader binds the group, not
        // a device, so with one group on both links each reader hears both and a cut link stays
        // `up` (seen with two real nodes; hb behaves the same)
        lines.push(`${ifname} ${MCAST_GROUP.replace(/\d+$/, String(42 + k))} 694 1 0`);
        break;
    }
  }
  return { [media]: lines };
}

/** Timers and media of {@link writeCluster}. */
export interface ClusterConfig {
  /** The medium type used on every link. */
  media: Media;
  /** The auth method of authkeys (secret fixed). */
  auth: AuthMethod;
  /** Testbed links carrying a medium (default `[0]`). */
  links?: readonly number[];
  /** keepalive (default `100ms`). */
  keepalive?: string;
  /** deadtime (default `500ms`). */
  deadtime?: string;
  /** initdead (default 1). */
  initdead?: string | number;
}

/** Writes ha.cf, authkeys and an empty haresources on every node of `tb`; returns ha.cf of node 1. */
export async function writeCluster(tb: Testbed, c: ClusterConfig): Promise<string> {
  let first = "";
  for (const n of tb.nodes) {
    const conf = haCf({
      logfile: "/var/log/ha-log",
      logfacility: "none",
      keepalive: c.keepalive ?? "100ms",
      deadtime: c.deadtime ?? "500ms",
      initdead: c.initdead ?? 1,
      udpport: 694,
      ...mediaLines(tb, n, c.media, c.links ?? [0]),
      auto_failback: "on",
      realtime: "off",
      crm: "off",
      node: tb.nodes.map((x) => x.name),
    });
    if (!first) first = conf;
    await n.writeHaCf(conf);
    await n.writeAuthkeys(authkeys(c.auth, `interop-${c.auth}-secret`));
    await n.writeHaresources("");
  }
  return first;
}

/**
 * What the real `cl_status nodestatus <peer>` prints inside `node` (works against both daemons:
 * hb serves the same API socket). `exit N: …` when it could not answer.
 */
export async function nodeStatus(node: TestNode, peer: string): Promise<string> {
  const r = await node.exec([REAL_CL_STATUS, "nodestatus", peer], { timeoutMs: 8000 });
  const out = r.stdout.trim();
  if (r.code === 0 && ["active", "up", "ping"].includes(out)) return out;
  if (r.code === 1 && ["dead", "init"].includes(out)) return out;
  return `exit ${r.code}: ${out} ${r.stderr.trim()}`;
}

/** Waits until every node sees every other one `active` (real cl_status inside each node). */
export async function waitAllActive(nodes: readonly TestNode[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const views: string[] = [];
    for (const n of nodes) {
      for (const p of nodes) {
        if (p !== n) views.push(`${n.name}→${p.name}: ${await nodeStatus(n, p.name)}`);
      }
    }
    if (views.every((v) => v.endsWith(": active"))) return;
    last = views.join(", ");
    if (Date.now() > deadline) fail(`not all nodes active within ${timeoutMs} ms: ${last}`);
    await sleep(100);
  }
}

/**
 * The `glib:` lines (written for the media plugins) of a log, addresses replaced by `ADDR`, up
 * to `Local status now set to: 'up'`.
 */
export function mediaLogLines(log: string): string[] {
  const lines = log.split("\n");
  const end = lines.findIndex((l) => l.includes("Local status now set to: 'up'"));
  return lines.slice(0, end < 0 ? lines.length : end).filter((l) => l.includes(": info: glib: "))
    .map((l) => l.replace(/^.*?: info: glib: /, "").replace(/\d+\.\d+\.\d+\.\d+/g, "ADDR"));
}

/** Lines a daemon writes when it rejects or cannot parse a peer's packets. */
export const COMPLAINT_PATTERNS: readonly RegExp[] = [
  /authtoken does not match/i,
  /authentication failed/i,
  /bad node/i,
  /MSG: Dumping/,
  /: ERROR: /,
];

/** The lines of `log` matching {@link COMPLAINT_PATTERNS}. */
export function complaints(log: string): string[] {
  return log.split("\n").filter((l) => COMPLAINT_PATTERNS.some((re) => re.test(l)));
}

/**
 * Milliseconds from `t0` (a `performance.now()` value) until a line matching `pattern` appears
 * in `node`'s log after offset `from`. Polls every 10 ms (the measurement's resolution); throws
 * with the log tail after `timeoutMs`.
 */
export async function msUntilLog(
  node: TestNode,
  pattern: string | RegExp,
  from: number,
  t0: number,
  timeoutMs: number,
): Promise<number> {
  const match = (l: string) => typeof pattern === "string" ? l.includes(pattern) : pattern.test(l);
  for (;;) {
    const text = (await node.readLog()).slice(from);
    if (text.split("\n").some(match)) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) {
      fail(
        `${node.name}: no log line matching ${pattern} within ${timeoutMs} ms; tail:\n${
          text.split("\n").slice(-15).join("\n")
        }`,
      );
    }
    await sleep(10);
  }
}

/**
 * Hard-kills `victim` and measures how long `survivor` takes to log `node <victim>: is dead`
 * (from just before the SIGKILL). Returns the milliseconds.
 */
export async function killAndMeasure(
  tb: Testbed,
  victim: TestNode,
  survivor: TestNode,
  timeoutMs = 10_000,
): Promise<number> {
  const from = await survivor.logOffset();
  const t0 = performance.now();
  const kill = tb.killHard(victim);
  const ms = await msUntilLog(survivor, `WARN: node ${victim.name}: is dead`, from, t0, timeoutMs);
  await kill;
  return ms;
}

/** Returns a function that prints the time since this call with a note. */
export function stopwatch(): (what: string) => void {
  const t0 = performance.now();
  return (what) => console.log(`  ${((performance.now() - t0) / 1000).toFixed(3)} s  ${what}`);
}

/** One heartbeat packet of a capture, with its string fields. */
export interface CapturedPacket {
  /** Capture time, seconds. */
  time: number;
  /** IPv4 source address. */
  srcAddr: string;
  /** IPv4 destination address. */
  dstAddr: string;
  /** String fields of the message (first occurrence of each name). */
  fields: Record<string, string>;
  /** The UDP payload. */
  payload: Uint8Array;
}

/**
 * Reads the UDP/694 heartbeat packets of a pcap file written by `tb.capture` (Ethernet link
 * type, IPv4). Packets that do not decode as a Heartbeat message are skipped.
 */
export async function readCapture(path: string): Promise<CapturedPacket[]> {
  const data = await Deno.readFile(path);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const magic = v.getUint32(0, true);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && v.getUint32(0, false) !== 0xa1b2c3d4 && v.getUint32(0, false) !== 0xa1b23c4d) {
    fail(`${path}: not a pcap file`);
  }
  const nano = magic === 0xa1b23c4d || v.getUint32(0, false) === 0xa1b23c4d;
  const linkType = v.getUint32(20, le);
  assert(linkType === 1, `${path}: link type ${linkType}, expected Ethernet`);
  const out: CapturedPacket[] = [];
  let off = 24;
  while (off + 16 <= data.length) {
    const sec = v.getUint32(off, le);
    const frac = v.getUint32(off + 4, le);
    const caplen = v.getUint32(off + 8, le);
    const pkt = data.subarray(off + 16, off + 16 + caplen);
    off += 16 + caplen;
    if (pkt.length < 14 + 20 + 8) continue;
    const pv = new DataView(pkt.buffer, pkt.byteOffset, pkt.byteLength);
    if (pv.getUint16(12, false) !== 0x0800) continue;
    const ihl = (pkt[14] & 0x0f) * 4;
    if (pkt[14 + 9] !== 17) continue;
    const udp = 14 + ihl;
    if (pv.getUint16(udp + 2, false) !== 694) continue;
    const payload = pkt.subarray(udp + 8);
    const d = decodeMessage(payload);
    if (!d.ok) continue;
    const fields: Record<string, string> = {};
    for (const f of d.msg.fields) {
      if (f.type === FT_STRING && !(f.name in fields)) fields[f.name] = f.value;
    }
    const ip = (i: number) => `${pkt[i]}.${pkt[i + 1]}.${pkt[i + 2]}.${pkt[i + 3]}`;
    out.push({
      time: sec + frac / (nano ? 1e9 : 1e6),
      srcAddr: ip(14 + 12),
      dstAddr: ip(14 + 16),
      fields,
      payload,
    });
  }
  return out;
}

/** One measured hard-kill detection. */
export interface DetectionRow {
  /** Medium type. */
  media: Media;
  /** Auth method. */
  auth: AuthMethod;
  /** Implementation of the killed node. */
  victim: string;
  /** Implementation of the node that logged `is dead`. */
  survivor: string;
  /** Milliseconds from the SIGKILL to the survivor's `node X: is dead` line. */
  ms: number;
  /** The bound it was checked against. */
  limit: number;
}

/** keepalive and deadtime of the membership runs (ms), as written in ha.cf. */
export const MEMBERSHIP_TIMERS = { keepalive: 100, deadtime: 500 } as const;

/**
 * Scheduling slack allowed on top of deadtime + keepalive, by survivor implementation.
 * - hb checks each node's dead deadline at exactly its time: only process scheduling, the log
 *   write and our 10 ms log polling remain (150 ms on a loaded 2-core CI machine).
 * - The real daemon checks for dead nodes in its poll step, nominally every 250 ms and only at
 *   main-loop wake-ups, which come on the keepalive grid (behavior.md §1.3, §3.3): up to
 *   250 + 100 ms late, plus the same 100 ms of scheduling and polling.
 */
export const DETECTION_SLACK: Record<"hb" | "heartbeat", number> = { hb: 150, heartbeat: 450 };

/**
 * One testbed with `node1` (impl `impls[0]`) and `node2` (impl `impls[1]`) on one link of
 * `media`; for each auth method: fresh start of both, both `active` for each other (real
 * cl_status inside each node), no complaint lines in either log, then node2 killed hard
 * (node1 must log it dead), node2 restarted and active again, node1 killed hard (node2 must log
 * it dead). Returns the measured detections; throws on the first failed check.
 */
export async function membershipRun(
  impls: readonly ["hb" | "heartbeat", "hb" | "heartbeat"],
  media: Media,
  rows: DetectionRow[],
): Promise<void> {
  const lap = stopwatch();
  await using tb = await pairTestbed(`mb-${media}`);
  const [node1, node2] = tb.nodes;
  const implOf = new Map([[node1, impls[0]], [node2, impls[1]]]);
  const { keepalive, deadtime } = MEMBERSHIP_TIMERS;
  for (const auth of AUTH_METHODS) {
    await writeCluster(tb, { media, auth, keepalive: `${keepalive}ms`, deadtime: `${deadtime}ms` });
    const from = new Map([[node1, await node1.logOffset()], [node2, await node2.logOffset()]]);
    const t0 = performance.now();
    await Promise.all(tb.nodes.map((n) => n.start({ impl: implOf.get(n)! })));
    // when node2's core started (its first `Local status now set to: 'up'`, polled)
    const node2Up = t0 +
      await msUntilLog(node2, "Local status now set to: 'up'", from.get(node2)!, t0, 15_000);
    await waitAllActive(tb.nodes);
    lap(`${media}/${auth}: both active`);
    if (impls[0] !== impls[1]) {
      // the medium's start-up lines: same text and order in both daemons
      const [a, b] = await Promise.all(
        tb.nodes.map(async (n) => mediaLogLines((await n.readLog()).slice(from.get(n)))),
      );
      assertEquals(a, b, `${media}: medium start lines of ${impls[0]} (first) and ${impls[1]}`);
    }
    // A node advertises deadtime + 2 s during its first 5 s (behavior.md §3.1, testbed README):
    // kill node2 only after that, so the survivor uses the configured deadtime.
    await sleep(Math.max(0, node2Up + 5300 - performance.now()));
    for (const [victim, survivor] of [[node2, node1], [node1, node2]]) {
      const ms = await killAndMeasure(tb, victim, survivor);
      const limit = deadtime + keepalive + DETECTION_SLACK[implOf.get(survivor)!];
      rows.push({
        media,
        auth,
        victim: implOf.get(victim)!,
        survivor: implOf.get(survivor)!,
        ms,
        limit,
      });
      lap(
        `${media}/${auth}: ${survivor.name} (${
          implOf.get(survivor)
        }) saw ${victim.name} dead after ${ms.toFixed(0)} ms`,
      );
      if (victim === node2) {
        // restart node2; node1 has now run > 5 s, so its own advertised deadtime is normal
        await node2.start({ impl: implOf.get(node2)! });
        await waitAllActive(tb.nodes);
      }
    }
    await tb.killHard(node2); // the next auth method starts both nodes fresh
    for (const n of tb.nodes) {
      const bad = complaints((await n.readLog()).slice(from.get(n)));
      assert(
        bad.length === 0,
        `${media}/${auth}: ${n.name} (${implOf.get(n)}) complained:\n${bad.join("\n")}`,
      );
    }
  }
}

/** Prints the detection table and asserts every row is within its limit. */
export function checkDetections(title: string, rows: readonly DetectionRow[]): void {
  console.log(`\n${title}\n| media | auth | killed | survivor | detection ms | limit ms |`);
  console.log("|---|---|---|---|---|---|");
  for (const r of rows) {
    console.log(
      `| ${r.media} | ${r.auth} | ${r.victim} | ${r.survivor} | ${r.ms.toFixed(0)} | ${r.limit} |`,
    );
  }
  const late = rows.filter((r) => r.ms > r.limit);
  assert(
    late.length === 0,
    `detections over the limit: ${
      late.map((r) => `${r.media}/${r.auth} ${r.survivor} ${r.ms.toFixed(0)} > ${r.limit}`).join(
        ", ",
      )
    }`,
  );
}
