/**
 * Acceptance tests of resource failover in hb-only clusters (issue 4, part C and D):
 *
 * - three hb nodes, each preferring one group (`node1` also the service IP): a hard kill, a
 *   graceful stop and a freeze past deadtime each leave every group on exactly one node (checked
 *   in every node's call log and with the IP monitor), and a frozen node that resumes does not
 *   take over what its peers run;
 * - two hb nodes: a standby exchange whose answer is dropped (nftables on the answering node)
 *   does not leave either node in `transition`; a group whose script cannot start is released
 *   and `hb_standby foreign` follows 30 s later, as ResourceManager does.
 *
 * Needs root, the testbed packages and the real Heartbeat's scripts (IPaddr, hb_standby); fails
 * loudly when something is missing.
 *
 * @module
 */

import { requireRealHeartbeat, sleep } from "./support/mod.ts";
import { assert, assertEquals } from "./assert.ts";
import {
  assertStable,
  clientReach,
  configure,
  keepLogs,
  logTails,
  type Placement,
  readCalls,
  rscstatus,
  SERVICE_SPEC,
  standby,
  stopwatch,
  waitPlacement,
  waitRscstatus,
  Watch,
} from "./support/failover.ts";
import { Testbed, type TestNode, waitFor } from "./testbed/mod.ts";
import { pairTestbed } from "./support/cluster.ts";

const THREE_HARESOURCES = `node1 ${SERVICE_SPEC} rec::g1\nnode2 rec::g2\nnode3 rec::g3\n`;
const NORMAL3: Placement = { ip: "node1", g1: "node1", g2: "node2", g3: "node3" };
const KEEPALIVE_MS = 100;

/** Nodes whose call log shows a start of `group` at or after `since` (epoch ms). */
async function startedSince(tb: Testbed, group: string, since: number): Promise<string[]> {
  const out: string[] = [];
  for (const n of tb.nodes) {
    const calls = await readCalls(n);
    if (calls.some((c) => c.name === group && c.op === "start" && c.at >= since)) out.push(n.name);
  }
  return out;
}

/** Whether `group`'s state file exists on `node` (it runs there, frozen or not). */
async function runsOn(node: TestNode, group: string): Promise<boolean> {
  return await Deno.stat(`${node.runDir}/rec-${group}.state`).then(() => true, () => false);
}

Deno.test("failover, three hb nodes: kill, graceful stop and freeze leave every group on one node", async () => {
  await requireRealHeartbeat();
  const lap = stopwatch("[three] ");
  await using tb = await Testbed.create({
    nodes: ["node1", "node2", "node3"],
    links: 1,
    client: true,
    name: "fo3",
  });
  const [n1, n2, n3] = tb.nodes;
  const watch = new Watch(tb);
  await watch.start();
  try {
    await configure(tb, { autoFailback: "on", haresources: THREE_HARESOURCES });
    const t0 = performance.now();
    await Promise.all(tb.nodes.map((n) => n.start({ impl: "hb" })));
    await waitPlacement(tb, NORMAL3, 30_000);
    lap(`start-up: each node runs its group after ${(performance.now() - t0).toFixed(0)} ms`);
    for (const n of tb.nodes) await waitRscstatus(n, ["local"]);

    // ---- hard kill of node1: its group (and the IP) on exactly one survivor
    const killedAtWall = Date.now();
    const killedAt = await watch.killHard(n1);
    const afterKill: Placement = { ip: "node2", g1: "node2", g2: "node2", g3: "node3" };
    await waitPlacement(tb, afterKill, 10_000);
    lap(`kill node1 → g1 and the IP run on node2: ${(performance.now() - killedAt).toFixed(0)} ms`);
    const reach = await clientReach(tb);
    assertEquals(reach.node, "node2");
    lap(`kill node1 → client reaches the IP: ${(performance.now() - killedAt).toFixed(0)} ms`);
    await assertStable(tb, afterKill, 1500);
    assertEquals(await startedSince(tb, "g1", killedAtWall), ["node2"], "g1 started once");
    await n3.waitForLog("Resources of dead node node1 are acquired by node2, not by us.");

    // ---- node1 returns: failback (auto_failback on)
    let t = performance.now();
    await n1.start({ impl: "hb" });
    await waitPlacement(tb, NORMAL3, 20_000);
    lap(`node1 back → failback: ${(performance.now() - t).toFixed(0)} ms`);
    for (const n of tb.nodes) await waitRscstatus(n, ["local"]);

    // ---- graceful stop of node3: g3 on exactly one survivor (node1, first in ha.cf order)
    t = performance.now();
    const stopWall = Date.now();
    const stopping = tb.stopSoft(n3, { via: "command" });
    const afterStop: Placement = { ip: "node1", g1: "node1", g2: "node2", g3: "node1" };
    await waitPlacement(tb, afterStop, 20_000);
    lap(`graceful stop of node3 → g3 on node1: ${(performance.now() - t).toFixed(0)} ms`);
    assertEquals((await stopping).code, 0);
    await assertStable(tb, afterStop, 1000);
    assertEquals(await startedSince(tb, "g3", stopWall), ["node1"], "g3 started once");
    t = performance.now();
    await n3.start({ impl: "hb" });
    await waitPlacement(tb, NORMAL3, 20_000);
    lap(`node3 back → failback: ${(performance.now() - t).toFixed(0)} ms`);
    for (const n of tb.nodes) await waitRscstatus(n, ["local"]);

    // ---- freeze node2 past deadtime; its peers take g2; on resume one owner quickly
    await sleep(500);
    const g2Calls = async () => (await readCalls(n1)).filter((c) => c.name === "g2");
    let thawWall = 0;
    await watch.allowDuplicates(async () => {
      await tb.freeze(n2);
      const frozenAt = performance.now();
      await waitFor("node1 runs g2 while node2 is frozen", () => runsOn(n1, "g2"), {
        timeoutMs: 10_000,
      });
      lap(`node2 frozen → node1 runs g2 after ${(performance.now() - frozenAt).toFixed(0)} ms`);
      assert(await runsOn(n2, "g2"), "the frozen node still has g2");
      assert(!(await runsOn(n3, "g2")), "node3 does not take g2 (node1 does)");
      await sleep(Math.max(0, 1500 - (performance.now() - frozenAt)));
      thawWall = Date.now();
      await tb.thaw(n2);
      await waitFor("node1 stops g2", async () => {
        const calls = await g2Calls();
        return calls.some((c) => c.op === "stop" && c.at >= thawWall);
      }, { timeoutMs: 10_000, intervalMs: 20 }).catch(async (e) => {
        throw new Error(`${e.message}\n${await logTails(tb)}`);
      });
    });
    const stop = (await g2Calls()).find((c) => c.op === "stop" && c.at >= thawWall)!;
    const oneOwnerMs = stop.at - thawWall;
    lap(`node2 thawed → one owner of g2 after ${oneOwnerMs} ms (call log)`);
    assert(
      oneOwnerMs <= 2 * KEEPALIVE_MS + 100,
      `one owner ${oneOwnerMs} ms after the resume (want ≤ 2 keepalives)`,
    );
    await waitPlacement(tb, NORMAL3, 10_000);
    await assertStable(tb, NORMAL3, 1500);
    for (const n of tb.nodes) await waitRscstatus(n, ["local"], 5000);
    assertEquals(await startedSince(tb, "g2", thawWall), [], "nothing restarted g2 after the thaw");
    assertEquals(await startedSince(tb, "g1", thawWall), [], "the thawed node took nothing");
    assertEquals(await startedSince(tb, "g3", thawWall), [], "the thawed node took nothing");
    const n2log = await n2.readLog();
    assert(n2log.includes("is alive after our suspension: no takeover."), "node2 logs the guard");

    // ---- cascading failure: node1 dies, then node2 (which took g1 and the IP) dies too
    const cascadeWall = Date.now();
    let k = await watch.killHard(n1);
    await waitPlacement(tb, { ip: "node2", g1: "node2", g2: "node2", g3: "node3" }, 10_000);
    lap(`kill node1 → node2 runs g1: ${(performance.now() - k).toFixed(0)} ms`);
    k = await watch.killHard(n2);
    const lastOne: Placement = { ip: "node3", g1: "node3", g2: "node3", g3: "node3" };
    await waitPlacement(tb, lastOne, 10_000);
    lap(`then kill node2 → node3 runs every group: ${(performance.now() - k).toFixed(0)} ms`);
    assertEquals((await clientReach(tb)).node, "node3");
    await assertStable(tb, lastOne, 1000);
    assertEquals(await startedSince(tb, "g1", cascadeWall), ["node2", "node3"]);
    t = performance.now();
    await Promise.all([n1.start({ impl: "hb" }), n2.start({ impl: "hb" })]);
    await waitPlacement(tb, NORMAL3, 20_000);
    lap(`node1 and node2 back → failback: ${(performance.now() - t).toFixed(0)} ms`);
    for (const n of tb.nodes) await waitRscstatus(n, ["local"], 10_000);
  } finally {
    await watch.stop();
    await keepLogs(tb, "three");
  }
  await watch.check();
});

Deno.test("failover, two hb nodes: a dropped standby answer and a group that cannot start", async () => {
  await requireRealHeartbeat();
  const lap = stopwatch("[standby] ");
  await using tb = await pairTestbed("fosb");
  const [n1, n2] = tb.nodes;
  const watch = new Watch(tb);
  await watch.start();
  try {
    // node2's second group cannot start (bad::g9): ResourceManager releases it and asks for
    // `hb_standby foreign` 30 s later (its fixed `sleep 30`; no option shortens it)
    await configure(tb, {
      autoFailback: "on",
      haresources: `node1 ${SERVICE_SPEC} rec::g1\nnode2 rec::g2\nnode2 bad::g9 rec::g9\n`,
    });
    const t0 = performance.now();
    await Promise.all(tb.nodes.map((n) => n.start({ impl: "hb" })));
    const normal: Placement = { ip: "node1", g1: "node1", g2: "node2", g9: null };
    await waitPlacement(tb, normal, 30_000);
    const failedAt = performance.now();
    lap(`start-up after ${(failedAt - t0).toFixed(0)} ms`);

    // ---- D: the failed start, as ResourceManager handles it
    await n2.waitForLog("Giving up resources due to failure of bad::g9", { timeoutMs: 5000 });
    await n2.waitForLog("Releasing resource group: node2 bad::g9 rec::g9", { timeoutMs: 5000 });
    const n2calls = await readCalls(n2);
    assert(
      n2calls.some((c) => c.name === "g9" && c.op === "start" && c.answer === "failed"),
      "bad::g9 start was attempted",
    );
    assert(
      !n2calls.some((c) => c.name === "g9" && c.op === "start" && c.answer === "-"),
      "rec::g9 never started",
    );
    assert(
      n2calls.some((c) => c.name === "g9" && c.op === "stop"),
      "the group was released (stops)",
    );
    await waitRscstatus(n1, ["local"]);
    await waitRscstatus(n2, ["local"]);

    // ---- C: standby whose answer is dropped: node2's outgoing packets are dropped while it
    // answers node1's request. A 100 % egress drop is a one-way link cut: if load stretches it
    // past deadtime, node2 is declared dead and both may hold g2 until the heal is resolved.
    const from1 = await n1.logOffset();
    const dropMs = 250; // below deadtime (500 ms)
    const t = performance.now();
    let s: string[] = [];
    await watch.allowDuplicates(async () => {
      await tb.addLoss(n2, 0, 100, "out");
      // the request goes straight into node1's FIFO (what hb_standby writes), so that node2's
      // answer falls into the drop window
      await n1.exec([
        "sh",
        "-c",
        "printf '>>>\\nt=ask_resources\\nrsc_hold=all\\ninfo=me\\n<<<\\n' >/var/lib/heartbeat/fifo",
      ], { check: true, timeoutMs: 5000 });
      await sleep(dropMs);
      await tb.clearLoss(n2, 0);
      lap(`standby on node1 with node2's answers dropped for ${dropMs} ms`);
      s = await waitFor("both nodes out of transition", async () => {
        const r = [await rscstatus(n1), await rscstatus(n2)];
        return r.every((x) => x !== "transition") ? r : undefined;
      }, { timeoutMs: 5000, intervalMs: 50 });
      lap(`both nodes left transition ${(performance.now() - t).toFixed(0)} ms after the request`);
      // either the exchange completed (the answer was retransmitted) or it was cancelled
      const p = await waitPlacement(
        tb,
        s[0] === "none" ? { ip: "node2", g1: "node2", g2: "node2" } : normal,
        10_000,
      );
      lap(`placement settled (${s.join("/")}) ${p.toFixed(0)} ms later`);
    });
    const text = (await n1.readLog()).slice(from1);
    if (text.includes("node node2: is dead")) {
      lap("note: node2 was declared dead during the drop (the host was too slow for deadtime)");
    } else {
      assert(
        /No pkts missing from node2|Standby request cancelled|Other node completed standby/.test(
          text,
        ),
        "the exchange was recovered by retransmission or cancelled",
      );
    }
    await waitRscstatus(n1, [s[0]], 2000);

    // back to normal for the standby that follows the failed start
    if (s[0] === "none") {
      await standby(n2, "foreign", { via: "hb" });
      await waitPlacement(tb, normal, 10_000);
    }

    // ---- D, continued: 30 s after the failure, node2 runs `hb_standby foreign`
    const wait = 30_000 - (performance.now() - failedAt) + 3000;
    if (wait > 0) await sleep(wait);
    const line = await n2.waitForLog("Going standby [foreign].", { timeoutMs: 10_000 });
    lap(`node2: ${line.replace(/^.*\]: +/, "")}`);
    await waitRscstatus(n1, ["local"], 10_000);
    await waitRscstatus(n2, ["local"], 10_000);
    await waitPlacement(tb, normal, 5000);
  } finally {
    await watch.stop();
    await keepLogs(tb, "standby");
  }
  await watch.check();
});
