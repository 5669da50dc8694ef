/**
 * `heartbeat status` on a two-node hb cluster (issue 14), end to end in the testbed:
 *
 * 1. `status --json` of both nodes validates against `cli/status_schema.json` and reports both
 *    nodes as hb with their version, the link with the age of its last packet, and the owner of
 *    every group (node1 `rec::g1` and `late::g3`, node2 `rec::g2`); `--nagios` gives 0; the
 *    text summary names them too; `--watch 0.5` redraws it in place until SIGINT.
 * 2. node1 (holder of g1 and g3) is hard-killed: node2 takes `rec::g1` over at once, while the
 *    start of `late::g3` takes a few seconds on node2 (its script sleeps, then fails): meanwhile
 *    `--nagios` gives 1 (peer dead); once the start failed nobody holds g3: 2 (CRITICAL). The
 *    JSON shows the failover with its timeline (silence, dead declared, fenced by the `null`
 *    STONITH device, each group's start and result, the total), which adds up to the ms of the
 *    takeover's log line.
 * 3. Drift: two hb nodes with different haresources both log the mismatch once at WARN naming
 *    the part and the node; `status` shows it on both, `--nagios` warns.
 *
 * Needs root and the testbed's packages; fails loudly (never skips) without them.
 *
 * @module
 */

import { assert, assertEquals } from "./assert.ts";
import { configure } from "./support/failover.ts";
import {
  configureLatePair,
  hbStatus,
  killAndWatchFailover,
  nodeSummary,
  owners,
  waitNagios,
  waitStatus,
} from "./support/status.ts";
import { hbCommand, waitFor } from "./testbed/mod.ts";
import { pairTestbed } from "./support/cluster.ts";
import { HB_VERSION } from "../master/version.ts";

Deno.test("status: two hb nodes, hard kill of the active node, nagios 0 → 1 → 2", async () => {
  await using tb = await pairTestbed("sthb");
  const node1 = tb.node("node1"), node2 = tb.node("node2");
  await configureLatePair(tb, node1, "node1 rec::g1\nnode1 late::g3\nnode2 rec::g2\n", {
    stonith_host: "* null node1 node2",
  });
  await Promise.all(tb.nodes.map((n) => n.start({ impl: "hb" })));

  const settled = ["rec::g1=node1/running", "late::g3=node1/running", "rec::g2=node2/running"];
  for (const n of [node1, node2]) {
    const d = await waitStatus(
      n,
      `${n.name} sees both nodes active and every group placed`,
      (d) =>
        d.node.status === "active" && d.nodes.every((x) => x.status === "active") &&
        owners(d).join() === settled.join(),
    );
    assertEquals(d.node.name, n.name);
    assertEquals(nodeSummary(d), ["node1:active:hb", "node2:active:hb"]);
    assert(d.nodes.every((x) => x.version === HB_VERSION), JSON.stringify(d.nodes));
    const peer = n === node1 ? "node2" : "node1";
    assertEquals(d.links.map((l) => `${l.node}/${l.link}/${l.status}`), [`${peer}/eth0/up`]);
    assert((d.links[0].last_packet_age_ms ?? 1e9) < 5000, JSON.stringify(d.links));
    assert(d.links[0].packets_received > 0);
    assertEquals(d.drift, []);
    assertEquals(d.monitors, []);
    assertEquals(d.failovers, []);
  }
  console.log(`  ${await waitNagios(node2, 0)}`);
  const text = await hbStatus(node2, []);
  assertEquals(text.code, 0, text.stderr);
  for (const want of ["node2: active", "node1", "hb " + HB_VERSION, "rec::g1", "on node1"]) {
    assert(text.stdout.includes(want), `summary lacks ${want}:\n${text.stdout}`);
  }

  // --watch redraws in place (cursor home, clear to the end) until SIGINT
  const watch = await node2.exec(
    ["timeout", "-s", "INT", "6", ...hbCommand(), "status", "--watch", "0.5"],
    { timeoutMs: 30_000 },
  );
  const frames = watch.stdout.split("\x1b[H").length - 1;
  assert(frames >= 2, `--watch drew ${frames} frame(s):\n${watch.stdout}\n${watch.stderr}`);
  assert(watch.stdout.includes("heartbeat status --watch 0.5 s"), watch.stdout);
  assert(watch.stdout.includes("node2: active"), watch.stdout);

  const d = await killAndWatchFailover(
    tb,
    node1,
    node2,
    "node2 shows the failover of node1 with its timeline",
  );
  assertEquals(nodeSummary(d), ["node1:dead:hb", "node2:active:hb"]);
  assertEquals(d.links.map((l) => l.status), ["dead"]);
  assertEquals(owners(d), ["rec::g1=node2/running", "late::g3=-/failed", "rec::g2=node2/running"]);
  const f = d.failovers[0];
  assertEquals(f.node, "node1");
  assert(f.silence_ms !== null && f.silence_ms >= 400, `silence ${f.silence_ms}`);
  // fenced (the null device) before anything was started
  assertEquals(f.fence_result, "OK");
  assert(f.fence_done_after_ms !== null && f.fence_done_after_ms >= 0, JSON.stringify(f));
  for (const g of f.groups) assert(g.take_started_after_ms >= f.fence_done_after_ms);
  assertEquals(f.groups.map((g) => `${g.group}:${g.result}`).sort(), [
    "late::g3:start-failed",
    "rec::g1:started",
  ]);
  // the runner takes one group after the other: the second began when the first was done
  const [first, second] = [...f.groups].sort((a, b) =>
    a.take_started_after_ms - b.take_started_after_ms
  );
  assert(second.take_started_after_ms >= first.done_after_ms!, JSON.stringify(f));
  const g3 = f.groups.find((g) => g.group === "late::g3")!;
  assert(g3.done_after_ms! - g3.take_started_after_ms >= 7000, JSON.stringify(f));
  assertEquals(f.completed_after_ms, Math.max(...f.groups.map((g) => g.done_after_ms!)));
  assert(Math.abs(f.dead_at_ms - Date.now()) < 120_000, `dead_at_ms ${f.dead_at_ms}`);
  console.log(`  timeline: ${JSON.stringify(f)}`);
  // the breakdown adds up to what the takeover's log line reports
  const g1 = f.groups.find((g) => g.group === "rec::g1")!;
  const logged = /Takeover of group rec::g1 from node1 complete: (\d+) ms since its last heartbeat/
    .exec(await node2.readLog());
  assert(logged, "no takeover line in node2's log");
  const sum = f.silence_ms! + g1.done_after_ms!;
  assert(Math.abs(Number(logged[1]) - sum) <= 2, `log ${logged[1]} ms, timeline ${sum} ms`);
  const summary = await hbStatus(node2, []);
  assert(summary.stdout.includes("node1 declared dead"), summary.stdout);
  assert(summary.stdout.includes("late::g3 start-failed"), summary.stdout);

  // node1 comes back: heard again
  await node1.start({ impl: "hb" });
  const back = await waitStatus(
    node2,
    "node2 hears node1 again",
    (d) => d.failovers[0]?.heard_again_after_ms !== null,
  );
  assert(back.failovers[0].heard_again_after_ms! > f.completed_after_ms!);
});

Deno.test("status: drift between two hb nodes (different haresources) is logged on both and shown", async () => {
  await using tb = await pairTestbed("stdr");
  await configure(tb, { autoFailback: "on", haresources: "node1 rec::g1\n" });
  const node1 = tb.node("node1"), node2 = tb.node("node2");
  await node2.writeHaresources("node1 rec::g1\nnode2 rec::g2\n");
  await Promise.all(tb.nodes.map((n) => n.start({ impl: "hb" })));
  const line = (peer: string) =>
    new RegExp(
      `WARN: Configuration drift: node ${peer} differs in haresources \\(ours [0-9a-f]{12}, theirs [0-9a-f]{12}\\)$`,
      "m",
    );
  for (const [n, peer] of [[node1, "node2"], [node2, "node1"]] as const) {
    await waitFor(`${n.name} logs the drift`, async () => line(peer).test(await n.readLog()), {
      timeoutMs: 30_000,
    });
    const d = await waitStatus(n, `${n.name} shows the drift`, (d) => d.drift.length === 1);
    assertEquals(d.drift[0].node, peer);
    assertEquals(d.drift[0].parts, ["haresources"]);
    assert(d.drift[0].ours.haresources !== d.drift[0].theirs.haresources);
    assertEquals(d.drift[0].ours.authkeys, d.drift[0].theirs.authkeys);
    assertEquals(d.drift[0].ours.timing, d.drift[0].theirs.timing);
    const text = await hbStatus(n, []);
    assert(text.stdout.includes(`WARNING: ${peer} differs in haresources`), text.stdout);
    const nag = await waitNagios(n, 1);
    assert(nag.includes(`config drift with ${peer} (haresources)`), nag);
  }
  // once per change: a few more seconds of heartbeats add no line
  const before = await Promise.all([node1, node2].map((n) => n.readLog()));
  await new Promise((r) => setTimeout(r, 2000));
  for (const [i, n] of [node1, node2].entries()) {
    const count = (t: string) =>
      t.split("\n").filter((l) => l.includes("Configuration drift")).length;
    assertEquals(count(await n.readLog()), 1, `${n.name} logged the drift more than once`);
    assertEquals(count(before[i]), 1);
  }
});
