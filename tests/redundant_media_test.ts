/**
 * Redundant media: two testbed links, one medium on each (`bcast eth0` + `bcast eth1`; ucast and
 * mcast too for the mixed cluster). Cutting one link of a node must only make the peers log
 * `Link <node>:eth1 dead.` — no node death for more than 2 × deadtime, both still `active` —
 * restoring it brings `Link <node>:eth1 up.` back; cutting both links of a node makes each side
 * declare the other dead. For hb ↔ hb and hb ↔ real Heartbeat 3.0.6, cutting the hb node's link
 * and the other node's link in turn.
 *
 * Needs root and the Debian heartbeat package; fails (never skips) without them.
 *
 * @module
 */

import { requireRealHeartbeat, sleep } from "./support/mod.ts";
import { assert, assertEquals } from "./assert.ts";
import {
  complaints,
  type Media,
  MEMBERSHIP_TIMERS,
  msUntilLog,
  nodeStatus,
  stopwatch,
  waitAllActive,
  writeCluster,
} from "./support/interop.ts";
import { REAL_CL_STATUS, type TestNode, waitFor } from "./testbed/mod.ts";
import { pairTestbed } from "./support/cluster.ts";

/** `Link …`, `node …: is dead` lines: what a link or node fault may produce. */
const FAULT_LINE = /: (info: Link \S+ (dead|up)\.|WARN: node \S+: is dead)$/;

/** The fault lines of `node`'s log after `from`, without the date/pid prefix. */
async function faultLines(node: TestNode, from: number): Promise<string[]> {
  return (await node.readLog()).slice(from).split("\n").filter((l) => FAULT_LINE.test(l))
    .map((l) => l.replace(/^.*?\]: (info|WARN): /, ""));
}

/** What `cl_status hblinkstatus <peer> <link>` says inside `node`. */
async function linkStatus(node: TestNode, peer: string, link: string): Promise<string> {
  return (await node.exec([REAL_CL_STATUS, "hblinkstatus", peer, link])).stdout.trim();
}

async function redundant(impls: ["hb" | "heartbeat", "hb" | "heartbeat"], media: Media) {
  const lap = stopwatch();
  const { keepalive, deadtime } = MEMBERSHIP_TIMERS;
  await using tb = await pairTestbed("redund", { links: 2 });
  const [node1, node2] = tb.nodes;
  const conf = await writeCluster(tb, { media, auth: "sha1", links: [0, 1] });
  assert(conf.includes(`${media} eth0`) && conf.includes(`${media} eth1`), conf);
  const logStart = [await node1.logOffset(), await node2.logOffset()];
  await node1.start({ impl: impls[0] });
  await node2.start({ impl: impls[1] });
  await waitAllActive(tb.nodes);
  // A node's own links are `up` only where its own packets come back to it: bcast, not ucast or
  // mcast with loop 0 (the real daemon's view, and hb's).
  const ownLink = media === "bcast" ? "up" : "dead";
  const linkViews = async () => {
    const v: string[] = [];
    for (const n of tb.nodes) {
      for (const p of tb.nodes) {
        for (const l of ["eth0", "eth1"]) {
          v.push(`${n.name}→${p.name}:${l}=${await linkStatus(n, p.name, l)}`);
        }
      }
    }
    return v;
  };
  const allUp = (await linkViews()).map((v) => v.replace(/=.*/, ""))
    .map((v) =>
      `${v}=${v.startsWith("node1→node1") || v.startsWith("node2→node2") ? ownLink : "up"}`
    );
  await waitFor(
    "all links in their normal state",
    async () => JSON.stringify(await linkViews()) === JSON.stringify(allUp),
    { timeoutMs: 5000, intervalMs: 100 },
  );
  // past the first 5 s (advertised deadtime + 2 s) of both nodes
  await sleep(5500);
  lap(`${impls.join(" ↔ ")} over 2 × ${media}: both active, all links up`);

  // One link cut, on node2 then on node1 (each time both sides lose that path).
  for (const [cut, other] of [[node2, node1], [node1, node2]]) {
    const from = [await node1.logOffset(), await node2.logOffset()];
    const t0 = performance.now();
    await tb.cutLink(cut, 1);
    const ms = await Promise.all([
      msUntilLog(other, `Link ${cut.name}:eth1 dead.`, from[tb.nodes.indexOf(other)], t0, 5000),
      msUntilLog(cut, `Link ${other.name}:eth1 dead.`, from[tb.nodes.indexOf(cut)], t0, 5000),
    ]);
    lap(
      `${cut.name}:eth1 cut: ${other.name} logged the link dead after ${ms[0].toFixed(0)} ms, ` +
        `${cut.name} after ${ms[1].toFixed(0)} ms`,
    );
    for (const x of ms) assert(x < deadtime + keepalive + 1000, `link dead after ${x} ms`);
    // more than 2 × deadtime with one path left: no node death, nothing else
    await sleep(Math.max(0, t0 + 2.5 * deadtime + 200 - performance.now()));
    assertEquals(await faultLines(other, from[tb.nodes.indexOf(other)]), [
      `Link ${cut.name}:eth1 dead.`,
    ]);
    assertEquals(await faultLines(cut, from[tb.nodes.indexOf(cut)]), [
      `Link ${other.name}:eth1 dead.`,
    ]);
    assertEquals(await nodeStatus(other, cut.name), "active");
    assertEquals(await nodeStatus(cut, other.name), "active");
    assertEquals(await linkStatus(other, cut.name, "eth1"), "dead");
    assertEquals(await linkStatus(other, cut.name, "eth0"), "up");
    // the node's own link keeps its state (bcast: its own packets still loop back)
    assertEquals(await linkStatus(cut, cut.name, "eth1"), ownLink);
    lap(`${cut.name}:eth1 cut for ${(performance.now() - t0).toFixed(0)} ms: nobody died`);

    const back = [await node1.logOffset(), await node2.logOffset()];
    await tb.restoreLink(cut, 1);
    await other.waitForLog(`Link ${cut.name}:eth1 up.`, {
      from: back[tb.nodes.indexOf(other)],
      timeoutMs: 5000,
    });
    await cut.waitForLog(`Link ${other.name}:eth1 up.`, {
      from: back[tb.nodes.indexOf(cut)],
      timeoutMs: 5000,
    });
    lap(`${cut.name}:eth1 restored: link up on both sides`);
  }

  // Both links of node1 cut: a partition; each declares the other dead.
  const from = [await node1.logOffset(), await node2.logOffset()];
  const t0 = performance.now();
  await tb.cutLink(node1, 1);
  await tb.cutLink(node1, 0);
  const ms = await Promise.all([
    msUntilLog(node2, "WARN: node node1: is dead", from[1], t0, 5000),
    msUntilLog(node1, "WARN: node node2: is dead", from[0], t0, 5000),
  ]);
  lap(
    `both links of node1 cut: node2 declared node1 dead after ${ms[0].toFixed(0)} ms, node1 ` +
      `declared node2 dead after ${ms[1].toFixed(0)} ms`,
  );
  for (const [n, l] of [[node1, 0], [node2, 1]] as const) {
    const bad = complaints((await n.readLog()).slice(logStart[l]));
    assertEquals(bad, [], `${n.name} complained`);
  }
}

Deno.test("redundant media hb ↔ hb, bcast eth0 + bcast eth1: one link cut is only a link death", async () => {
  await requireRealHeartbeat(); // cl_status
  await redundant(["hb", "hb"], "bcast");
});

for (const media of ["bcast", "ucast", "mcast"] as const) {
  Deno.test(`redundant media hb ↔ real Heartbeat, ${media} on eth0 + eth1`, async () => {
    await requireRealHeartbeat();
    await redundant(["hb", "heartbeat"], media);
  });
}
