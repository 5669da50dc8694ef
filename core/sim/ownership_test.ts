/**
 * The resource ownership protocol on the real node core (membership + ownership), ported from
 * the ownership machine's former stand-alone harness: Heartbeat's timers (keepalive 1 s,
 * deadtime 5 s, initdead 10 s), 2 ms network delay, 50 ms per group action.
 */
import { assert, assertEquals } from "../../tests/assert.ts";
import { SimCluster } from "./cluster.ts";
import type { FailbackMode } from "../ownership/types.ts";
import { REAL_TIMERS } from "../../tests/support/sim.ts";

const G1 = "198.18.40.100";
const G2 = "logrsc::g2";
const groups = [{ node: "node1", key: G1 }, { node: "node2", key: G2 }];

interface Extra {
  failStart?: string[];
}

function cluster(nodes: string[], gs: typeof groups, mode: FailbackMode, extra: Extra = {}) {
  const h = new SimCluster({
    nodes,
    links: ["eth0"],
    groups: gs,
    autoFailback: mode,
    ...REAL_TIMERS,
    latencyMs: 2,
  });
  for (const f of extra.failStart ?? []) {
    const [node, key] = f.split(/:(.*)/);
    h.setScript(node, key, { failStart: true });
  }
  return h;
}

function two(mode: FailbackMode = "on", extra: Extra = {}): SimCluster {
  return cluster(["node1", "node2"], groups, mode, extra);
}

/** Both started, stable, each with its own group (scenario (c) of §6.4 = start together). */
function stablePair(mode: FailbackMode = "on", extra: Extra = {}): SimCluster {
  const h = two(mode, extra);
  h.start("node1");
  h.start("node2");
  h.runUntil(30_000);
  assertEquals(h.running("node1"), [G1]);
  assertEquals(h.running("node2"), [G2]);
  return h;
}

function has(list: string[], text: string): void {
  assert(list.includes(text), `missing "${text}" in\n${list.join("\n")}`);
}

Deno.test("(a) node1 starts alone: takeover at initdead, stable 10 s later", () => {
  const h = two();
  h.start("node1");
  h.runUntil(25_000);
  // the node core hands initdead's death to ownership after Comm_now_up (node_core.ts)
  assertEquals(h.wireOf("node1"), [
    "t=starting",
    "t=stonith node=node2 result=n_stnth",
    `t=ip-request-resp dest=node1 ipaddr=${G1} weown=yes ok=OK`,
    "t=resource rsc_hold=all rtype=full isstable=1 info=req_our_resources()",
    "t=resource rsc_hold=foreign info=mach_down",
    "t=resource rsc_hold=all rtype=full isstable=1",
  ]);
  const logs = h.logTexts("node1");
  for (
    const l of [
      "No STONITH device configured.",
      "Shared disks are not protected.",
      "Resources being acquired from node2.",
      `Taking over resource group ${G2}`,
      "mach_down takeover complete for node node2.",
      "mach_down takeover complete.",
      "Local Resource acquisition completed. (none)",
      "local resource transition completed.",
    ]
  ) has(logs, l);
  // Heartbeat (§9.1) logs "(mach_down)": its mach_down finished after the local acquisition;
  // here the local run is queued first (starting before stonith), so the local one closes it
  assert(logs.includes("Initial resource acquisition complete (T_RESOURCES(us))"));
  assertEquals(h.running("node1"), [G1, G2]);
  assertEquals(h.nodeCore("node1").rscstatus(), "all");
});

Deno.test("(b) node2 joins a stable node1: report, then auto failback of g2", () => {
  const h = two();
  h.start("node1");
  h.runUntil(25_000);
  h.start("node2");
  h.runUntil(30_000);
  assertEquals(h.wireAll(25_000), [
    "node2: t=starting",
    "node1: t=resource rsc_hold=all rtype=full isstable=1",
    "node2: t=resource rsc_hold=none rtype=full isstable=0",
    "node2: t=resource rsc_hold=none rtype=full isstable=1",
    "node1: t=resource rsc_hold=all rtype=full isstable=1",
    "node1: t=ask_resources rsc_hold=foreign info=me",
    "node2: t=ask_resources rsc_hold=foreign info=other",
    "node1: t=resource rsc_hold=local rtype=full isstable=0 info=standby",
    "node1: t=ask_resources rsc_hold=foreign info=done",
    "node2: t=resource rsc_hold=local rtype=full isstable=1",
    "node2: t=ask_resources rsc_hold=foreign info=done",
    "node1: t=resource rsc_hold=local rtype=full isstable=1",
    "node1: t=resource rsc_hold=local rtype=full isstable=1",
    "node2: t=resource rsc_hold=local rtype=full isstable=1",
  ]);
  has(h.logTexts("node2"), "Initial resource acquisition complete (auto_failback)");
  has(h.logTexts("node1"), "Other node completed standby takeover of foreign resources.");
  assertEquals(h.running("node1"), [G1]);
  assertEquals(h.running("node2"), [G2]);
  assertEquals(h.nodeCore("node1").rscstatus(), "local");
  assertEquals(h.nodeCore("node2").rscstatus(), "local");
});

Deno.test("§6.4(c) both start together: BOTHSTARTING, each takes its group after RQSTDELAY", () => {
  const h = stablePair();
  assertEquals(h.wireOf("node1").slice(0, 2), [
    "t=starting",
    "t=resource rsc_hold=none rtype=full isstable=0",
  ]);
  has(h.logTexts("node1").concat(h.logTexts("node2")), "local resource transition completed.");
});

Deno.test("(c) node1 killed: node2 takes g1 after deadtime, timing line", () => {
  const h = stablePair();
  const t0 = h.now;
  h.kill("node1");
  h.runUntil(t0 + 8000);
  assertEquals(h.wireOf("node2", t0), [
    "t=stonith node=node1 result=n_stnth",
    "t=resource rsc_hold=all rtype=full isstable=1 info=req_our_resources()",
    "t=resource rsc_hold=foreign info=mach_down",
  ]);
  assertEquals(h.running("node2"), [G1, G2]);
  const timing = h.logTexts("node2", t0).filter((l) => l.startsWith("Takeover of group"));
  assertEquals(timing.length, 1);
  assert(
    /^Takeover of group 198\.18\.40\.100 from node1 complete: \d+ ms since its last heartbeat$/
      .test(timing[0]),
  );
});

for (const mode of ["on", "off"] as const) {
  Deno.test(`(d) node1 returns, auto_failback ${mode}`, () => {
    const h = stablePair(mode);
    h.kill("node1");
    h.runFor(8000);
    const t0 = h.now;
    h.start("node1");
    h.runFor(6000);
    has(h.logTexts("node1", t0), "Local Resource acquisition completed. (none)");
    if (mode === "on") {
      assertEquals(h.running("node1"), [G1]);
      assertEquals(h.running("node2"), [G2]);
    } else {
      assertEquals(h.running("node1"), []);
      assertEquals(h.running("node2"), [G1, G2]);
      has(h.logTexts("node1", t0), "Initial resource acquisition complete (T_RESOURCES(them))");
      assertEquals(h.nodeCore("node1").rscstatus(), "none");
      assertEquals(h.nodeCore("node2").rscstatus(), "all");
    }
  });
}

for (const cls of ["all", "local", "foreign"] as const) {
  Deno.test(`(e) hb_standby ${cls} on node1`, () => {
    const h = stablePair();
    const t0 = h.now;
    h.standby("node1", cls);
    h.runFor(3000);
    const expect = { all: [[], [G1, G2]], local: [[], [G1, G2]], foreign: [[G1], [G2]] }[cls];
    assertEquals([h.running("node1"), h.running("node2")], expect);
    has(h.logTexts("node1", t0), `node1 wants to go standby [${cls}]`);
    has(h.logTexts("node2", t0), `Standby resource acquisition done [${cls}].`);
    assertEquals(h.wireAll(t0).slice(0, 3), [
      `node1: t=ask_resources rsc_hold=${cls} info=me`,
      `node2: t=ask_resources rsc_hold=${cls} info=other`,
      `node1: t=resource rsc_hold=${
        cls === "foreign" ? "local" : "none"
      } rtype=full isstable=0 info=standby`,
    ]);
    assertEquals(h.nodeCore("node1").rscstatus(), cls === "foreign" ? "local" : "none");
  });
}

Deno.test("(e) hb_takeover failback on node1 makes node2 go standby all (quirk kept)", () => {
  const h = stablePair();
  const t0 = h.now;
  h.takeover("node1", "failback");
  h.runFor(3000);
  has(h.logTexts("node2", t0), "Going standby [all].");
  assertEquals(h.running("node1"), [G1, G2]);
  assertEquals(h.running("node2"), []);
});

Deno.test("(f) graceful stop of node1: release, shutdone, node2 takes over at once", () => {
  const h = stablePair();
  const t0 = h.now;
  h.shutdown("node1");
  h.runFor(1000);
  assertEquals(h.wireOf("node1", t0), [
    "t=resource rsc_hold=none rtype=full isstable=0 info=shutdown",
    "t=shutdone st=dead",
  ]);
  assertEquals(h.running("node2"), [G1, G2]);
  has(h.logTexts("node2", t0), "Received shutdown notice from 'node1'.");
  h.runFor(10_000);
  has(h.logTexts("node2", t0), "Dead node node1 gave up resources.");
  assert(h.wireOf("node2", t0).includes("t=stonith node=node1 result=unneeded"));
  assertEquals(h.running("node2"), [G1, G2]);
});

Deno.test("(g) link cut 10 s: split brain, heal converges to one owner per group", () => {
  const h = stablePair();
  const t0 = h.now;
  h.network.partition(["node1"], ["node2"]);
  h.runFor(10_000);
  assertEquals(h.holders(G1), ["node1", "node2"]);
  h.network.healAll();
  h.runFor(2000);
  assertEquals(h.holders(G1), ["node1"]);
  assertEquals(h.holders(G2), ["node2"]);
  h.runFor(20_000);
  assertEquals(h.holders(G1), ["node1"]);
  assertEquals(h.holders(G2), ["node2"]);
  assert(h.logTexts("node1", t0).some((l) => l.startsWith("Releasing resource group logrsc::g2")));
});

Deno.test("late heartbeat > deadtime (paused node): one owner within 2 keepalives", () => {
  const h = stablePair();
  h.freeze("node2");
  h.runFor(7000);
  assertEquals(h.holders(G2), ["node1", "node2"]);
  const resume = h.now;
  h.thaw("node2");
  h.runFor(2000);
  assertEquals(h.holders(G1), ["node1"], `at ${h.now - resume}`);
  assertEquals(h.holders(G2), ["node2"]);
});

Deno.test("3 nodes: a dead node's group is taken by exactly one survivor", () => {
  const g3 = [...groups, { node: "node3", key: "logrsc::g3" }];
  const h = cluster(["node1", "node2", "node3"], g3, "on");
  h.start("node1");
  h.start("node2");
  h.start("node3");
  h.runUntil(30_000);
  for (const g of g3) assertEquals(h.holders(g.key), [g.node]);
  h.kill("node1");
  h.runFor(8000);
  assertEquals(h.holders(G1), ["node2"]);
  has(h.logTexts("node3"), "Resources of dead node node1 are acquired by node2, not by us.");
  h.start("node1");
  h.runFor(8000);
  for (const g of g3) assertEquals(h.holders(g.key), [g.node]);
});

function three(mode: FailbackMode = "on"): SimCluster {
  const g3 = [...groups, { node: "node3", key: "logrsc::g3" }];
  const h = cluster(["node1", "node2", "node3"], g3, mode);
  h.start("node1");
  h.start("node2");
  h.start("node3");
  h.runUntil(30_000);
  for (const g of g3) assertEquals(h.holders(g.key), [g.node]);
  return h;
}
const G3 = "logrsc::g3";

Deno.test("3 nodes: groups a dead node had taken over move on when it dies too", () => {
  const h = three();
  h.kill("node1");
  h.runFor(8000);
  assertEquals(h.holders(G1), ["node2"]);
  h.kill("node2");
  h.runFor(8000);
  assertEquals(h.holders(G1), ["node3"]);
  assertEquals(h.holders(G2), ["node3"]);
  assertEquals(h.holders(G3), ["node3"]);
  // each node announces exactly what it runs (hb_held) in a 3+ node cluster
  assert(h.wireOf("node3").some((w) => w.includes(`hb_held=${G1} ${G2} ${G3}`)));
});

Deno.test("3 nodes, auto_failback off: a group left on its taker goes to its returned owner when the taker dies", () => {
  const h = three("off");
  h.kill("node1");
  h.runFor(8000);
  assertEquals(h.holders(G1), ["node2"]);
  h.start("node1");
  h.runFor(8000);
  assertEquals(h.holders(G1), ["node2"]);
  h.kill("node2");
  h.runFor(8000);
  assertEquals(h.holders(G1), ["node1"]);
  assertEquals(h.holders(G2), ["node1"]);
  assertEquals(h.holders(G3), ["node3"]);
});

Deno.test("3 nodes: a graceful leave hands each group to one survivor", () => {
  const h = three();
  h.shutdown("node3");
  h.runFor(8000);
  assertEquals(h.holders(G3), ["node1"]);
  assertEquals(h.holders(G1), ["node1"]);
  assertEquals(h.holders(G2), ["node2"]);
  has(h.logTexts("node2"), "Resources of departed node node3 are acquired by node1, not by us.");
});

Deno.test("lost standby reply (other) converges in < 5 s", () => {
  const h = stablePair();
  const t0 = h.now;
  let dropped = false;
  h.network.setDropFilter((from, _to, _link, msg) => {
    if (dropped || from !== "node2" || msg.get("info") !== "other") return false;
    dropped = true;
    return true;
  });
  h.standby("node1", "all");
  h.runFor(5000);
  assertEquals(h.running("node2"), [G1, G2]);
  assertEquals(h.nodeCore("node1").rscstatus(), "none");
  assertEquals(h.nodeCore("node2").rscstatus(), "all");
  assert(dropped);
  assert(h.wireOf("node2", t0).some((w) => w.includes("info=other")));
});

Deno.test("the requester sends `done` once, however slow the answerer's acquisition", () => {
  // a second `done` makes a real 3.0.6 answerer that is still acquiring end the exchange
  // early (and never record what it acquired); lost messages are the membership's rexmit job
  const h = stablePair();
  const t0 = h.now;
  h.standby("node1", "all");
  h.runFor(5000);
  const dones = h.wireOf("node1", t0).filter((w) => w.includes("info=done"));
  assertEquals(dones.length, 1);
  assertEquals(h.running("node2"), [G1, G2]);
  assertEquals(h.nodeCore("node1").rscstatus(), "none");
  assertEquals(h.nodeCore("node2").rscstatus(), "all");
});

Deno.test("failing start: group released, hb_standby foreign 30 s later", () => {
  const h = two("on", { failStart: ["node2:" + G1] });
  h.start("node1");
  h.start("node2");
  h.runUntil(30_000);
  const t0 = h.now;
  h.kill("node1");
  h.runFor(8000);
  assertEquals(h.holders(G1), []);
  h.runFor(31_000);
  has(h.logTexts("node2", t0), "Going standby [foreign].");
  assert(h.wireOf("node2", t0).includes("t=ask_resources rsc_hold=foreign info=me"));
});

Deno.test("legacy: start alone, then the returning owner gets its group via ip-request", () => {
  const h = two("legacy");
  h.start("node1");
  h.runUntil(15_000);
  assertEquals(h.running("node1"), [G1, G2]);
  assertEquals(h.nodeCore("node1").rscstatus(), "none");
  h.start("node2");
  h.runFor(5000);
  assert(h.wireOf("node2").includes(`t=ip-request ipaddr=${G2}`));
  assert(h.wireOf("node1").includes(`t=ip-request-resp dest=node2 ipaddr=${G2} weown=yes ok=OK`));
  assertEquals(h.running("node1"), [G1]);
  assertEquals(h.running("node2"), [G2]);
  const t0 = h.now;
  h.standby("node1");
  h.runFor(1000);
  has(h.logTexts("node2", t0), "Standby mode only implemented when nice_failback on");
});

Deno.test("legacy: peer death and graceful leave", () => {
  const h = two("legacy");
  h.start("node1");
  h.start("node2");
  h.runUntil(15_000);
  assertEquals(h.running("node1"), [G1]);
  assertEquals(h.running("node2"), [G2]);
  const t0 = h.now;
  h.shutdown("node2");
  h.runFor(1000);
  assertEquals(h.wireOf("node2", t0), ["t=shutdone st=dead"]);
  assertEquals(h.running("node1"), [G1, G2]);
  h.runFor(10_000);
  has(h.logTexts("node1", t0), "Dead node node2 gave up resources.");
});
