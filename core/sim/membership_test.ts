import { assert, assertEquals } from "../../tests/assert.ts";
import { HbCore } from "../core.ts";
import { CoreMessage } from "../message.ts";
import { seededRandom } from "../random.ts";
import type { CoreAction } from "../types.ts";
import { SimCluster } from "./cluster.ts";
import {
  findLog,
  logIndex,
  logsStarting,
  peerMessage,
  REAL_TIMERS,
  sentOfType,
  simUuid,
} from "../../tests/support/sim.ts";

Deno.test("start-up emission: init, up, up with dt=deadtime+2s, then dt=deadtime at +5 s", () => {
  const sim = new SimCluster({ nodes: ["node1", "node2"], links: ["eth0"], ...REAL_TIMERS });
  sim.start("node1");
  sim.runFor(6500);
  const st = sentOfType(sim, "node1", "status");
  assertEquals(st.slice(0, 3).map((w) => [w.msg.get("st"), w.msg.get("dt"), w.msg.get("seq")]), [
    ["init", "1b58", "1"],
    ["up", "1b58", "2"],
    ["up", "1b58", "3"],
  ]);
  const switched = st.filter((w) => w.msg.get("dt") === "1388");
  assertEquals(switched[0].at, 5000);
  // the extra status at the switch: two status messages at +5 s
  assertEquals(st.filter((w) => w.at === 5000).length, 2);
  assertEquals(st[0].msg.get("protocol"), "1");
  assertEquals(sim.logs("node1")[0], "info: Local status now set to: 'up'");
  assertEquals(sim.logs("node1")[1], "info: Link node1:eth0 up.");
});

Deno.test("lone node: peer dead at initdead, then Comm_now_up and st=active at once", () => {
  const sim = new SimCluster({ nodes: ["node1", "node2"], links: ["eth0"], ...REAL_TIMERS });
  sim.start("node1");
  sim.runFor(10000);
  assertEquals(sim.core("node1").nodeStatus("node2"), "init");
  sim.runFor(2);
  const logs = sim.logs("node1");
  const i = logIndex(sim, "node1", "WARN: node node2: is dead");
  assertEquals(logs.slice(i, i + 3), [
    "WARN: node node2: is dead",
    "info: Comm_now_up(): updating status to active",
    "info: Local status now set to: 'active'",
  ]);
  assertEquals(findLog(sim, "node1", "node node2: is dead")!.at, 10001);
  assertEquals(sim.actions("node1").filter((a) => a.type === "comm-up").length, 1);
  const active = sentOfType(sim, "node1", "status", { st: "active" });
  assertEquals(active[0].at, 10001);
  // no peer alive: no reqnodes
  assertEquals(sentOfType(sim, "node1", "reqnodes").length, 0);
  const dead = sim.actions("node1").find((a) => a.type === "node-status");
  assertEquals(dead, {
    type: "node-status",
    node: "node2",
    kind: "normal",
    status: "dead",
    previous: "init",
  });
});

Deno.test("single-node cluster goes active at start and stays active", () => {
  const sim = new SimCluster({ nodes: ["node1"], links: ["eth0"] });
  sim.start("node1");
  sim.runFor(300);
  assertEquals(sim.core("node1").localStatus, "active");
  assertEquals(sim.logs("node1").slice(0, 3), [
    "info: Local status now set to: 'up'",
    "info: Comm_now_up(): updating status to active",
    "info: Local status now set to: 'active'",
  ]);
});

Deno.test("joining node: reqnodes to the peer, repnodes with dest first, active only after it", () => {
  const sim = new SimCluster({ nodes: ["node1", "node2"], links: ["eth0"], ...REAL_TIMERS });
  sim.start("node1");
  sim.runFor(12000);
  sim.start("node2");
  sim.runFor(2000);
  const req = sentOfType(sim, "node2", "reqnodes");
  assertEquals(req.length, 1);
  assertEquals(req[0].msg.get("dest"), "node1");
  assertEquals(req[0].msg.getBytes("destuuid"), simUuid(0));
  const rep = sentOfType(sim, "node1", "repnodes");
  assertEquals(rep.length, 1);
  assertEquals(rep[0].msg.fields.slice(0, 4), [
    ["dest", "node2"],
    ["t", "repnodes"],
    ["nodelist", "node1 node2 "],
    ["delnodelist", " "],
  ]);
  assert(rep[0].msg.get("seq") !== undefined);
  const commUp = findLog(sim, "node2", "Comm_now_up(): updating status to active")!;
  assert(commUp.at > rep[0].at);
  assertEquals(sim.core("node2").localStatus, "active");
  assertEquals(sim.core("node1").nodeStatus("node2"), "active");
});

Deno.test("reqnodes is repeated every second until a repnodes arrives", () => {
  const sim = new SimCluster({ nodes: ["node1", "node2"], links: ["eth0"], ...REAL_TIMERS });
  sim.start("node1");
  sim.runFor(12000);
  let blockRepnodes = true;
  sim.network.setDropFilter((_f, to, _l, msg) =>
    blockRepnodes && to === "node2" && msg.type === "repnodes"
  );
  sim.start("node2");
  sim.runFor(3500);
  const req = sentOfType(sim, "node2", "reqnodes");
  assertEquals(req.length, 4);
  assertEquals(req.map((w) => w.at - req[0].at), [0, 1000, 2000, 3000]);
  assertEquals(sim.core("node2").localStatus, "up");
  blockRepnodes = false;
  // the lost repnodes is also re-requested (it left a gap in node1's sequence)
  sim.runFor(1000);
  assertEquals(sim.core("node2").localStatus, "active");
});

Deno.test("three nodes: reqnodes goes to the first live normal node", () => {
  const sim = new SimCluster({ nodes: ["node1", "node2", "node3"], links: ["eth0"] });
  sim.start("node2");
  sim.runFor(1500); // node1 and node3 dead by initdead
  sim.start("node3");
  sim.runFor(1500); // node1 stays silent: declared dead after initdead
  assertEquals(sentOfType(sim, "node3", "reqnodes")[0].msg.get("dest"), "node2");
  assertEquals(sim.core("node3").localStatus, "active");
  assertEquals(sentOfType(sim, "node2", "status")[0].msg.get("ttl"), "4");
});

Deno.test("peers are timed out with their advertised dt (deadtime+2s during their first 5 s)", () => {
  const sim = SimCluster.startedFor(
    { nodes: ["node1", "node2"], links: ["eth0"], ...REAL_TIMERS },
    2000,
  );
  assertEquals(sim.core("node1").nodeDeadtime("node2"), 7000);
  sim.kill("node2");
  const lastStatus = sentOfType(sim, "node2", "status").at(-1)!.at;
  sim.runFor(8000);
  const dead = findLog(sim, "node1", "node node2: is dead")!;
  // received 1 ms after sending; dead when now - last > 7000
  assertEquals(dead.at, lastStatus + 1 + 7001);
});

Deno.test("dead node: node-status dead, then every up link dead (2 links)", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0", "eth1"] }, 6000);
  sim.kill("node2");
  sim.runFor(800);
  const logs = sim.logs("node1");
  const i = logIndex(sim, "node1", "WARN: node node2: is dead");
  assert(i >= 0);
  assertEquals(logs.slice(i, i + 3), [
    "WARN: node node2: is dead",
    "info: Link node2:eth0 dead.",
    "info: Link node2:eth1 dead.",
  ]);
  const linkActions = sim.actions("node1").filter((a) => a.type === "link-status");
  assertEquals(linkActions.slice(-2), [
    { type: "link-status", node: "node2", link: "eth0", status: "dead" },
    { type: "link-status", node: "node2", link: "eth1", status: "dead" },
  ]);
  // own links never time out
  assertEquals(sim.core("node1").linkStatus("node1", "eth0"), "up");
});

Deno.test("late heartbeat: WARN on both sides, for the local node too", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 6000);
  sim.freeze("node2");
  sim.runFor(400);
  sim.thaw("node2");
  sim.runFor(100);
  assertEquals(logsStarting(sim, "node1", "WARN: Late heartbeat: Node node2: interval ").length, 1);
  const own = logsStarting(sim, "node2", "WARN: Late heartbeat: Node ");
  assert(own.some((l) => l.startsWith("WARN: Late heartbeat: Node node2: interval 4")), own.join());
  assert(own.some((l) => l.startsWith("WARN: Late heartbeat: Node node1: interval 4")), own.join());
  assertEquals(sim.core("node1").nodeStatus("node2"), "active");
  assertEquals(logsStarting(sim, "node1", "CRIT").length, 0);
});

Deno.test("frozen past deadtime then thawed: dead, partition healed, CRIT late, dead again, active", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 6000);
  sim.freeze("node2");
  sim.runFor(1200);
  assertEquals(sim.core("node1").nodeStatus("node2"), "dead");
  sim.thaw("node2");
  sim.runFor(50);
  const logs = sim.logs("node1");
  const i = logIndex(sim, "node1", "CRIT: Cluster node node2 returning after partition.");
  assert(i > 0, logs.join("\n"));
  assertEquals(logs.slice(i, i + 9), [
    "CRIT: Cluster node node2 returning after partition.",
    "info: For information on cluster partitions, See URL: http://linux-ha.org/wiki/Split_Brain",
    "WARN: Deadtime value may be too small.",
    "info: See FAQ for information on tuning deadtime.",
    "info: URL: http://linux-ha.org/wiki/FAQ#Heavy_Load",
    "info: Link node2:eth0 up.",
    logs[i + 6],
    "WARN: node node2: is dead",
    "info: Status update for node node2: status active",
  ]);
  assert(logs[i + 6].startsWith("CRIT: Late heartbeat: Node node2: interval 1"));
  assert(logs[i + 6].endsWith(" ms (> deadtime)"));
  assert(sim.actions("node1").some((a) => a.type === "partition-healed" && a.node === "node2"));
  const deadAgain = sim.actions("node1").filter((a) =>
    a.type === "node-status" && a.status === "dead"
  );
  assertEquals(deadAgain.length, 2);
  assertEquals(deadAgain[1], {
    type: "node-status",
    node: "node2",
    kind: "normal",
    status: "dead",
    previous: "dead",
  });
  assertEquals(sim.core("node1").nodeStatus("node2"), "active");
  // the thawed node: late heartbeats (> deadtime) for itself and its peer
  const n2 = sim.logs("node2");
  assert(
    n2.some((l) => /^CRIT: Late heartbeat: Node node2: interval \d+ ms \(> deadtime\)$/.test(l)),
  );
  assert(
    n2.some((l) => /^CRIT: Late heartbeat: Node node1: interval \d+ ms \(> deadtime\)$/.test(l)),
  );
  // the local node is never marked dead for a late heartbeat
  assert(!n2.includes("WARN: node node2: is dead"));
  assert(!n2.includes("ERROR: No local heartbeat. Forcing restart."));
});

Deno.test("restart faster than deadtime: Heartbeat restart on node, init, up, active", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 6000);
  sim.kill("node2");
  sim.runFor(100);
  sim.start("node2");
  sim.runFor(500);
  const logs = sim.logs("node1");
  const i = logIndex(sim, "node1", "info: Heartbeat restart on node node2");
  assert(i > 0);
  assertEquals(logs.slice(i, i + 3), [
    "info: Heartbeat restart on node node2",
    "info: Status update for node node2: status init",
    "info: Status update for node node2: status up",
  ]);
  assert(logs.includes("info: Status update for node node2: status active"));
  assert(!logs.includes("WARN: node node2: is dead"));
  assertEquals(
    sim.actions("node1").filter((a) => a.type === "node-restart"),
    [{ type: "node-restart", node: "node2", generation: 1101 }],
  );
  assertEquals(sim.core("node1").nodeGeneration("node2"), 1101);
  assertEquals(logsStarting(sim, "node1", "WARN: ").filter((l) => l.includes("lost")).length, 0);
});

Deno.test("restart after being declared dead: new generation accepted, no partition", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 6000);
  sim.kill("node2");
  sim.runFor(1000);
  sim.start("node2");
  sim.runFor(500);
  const logs = sim.logs("node1");
  assert(logs.includes("info: Heartbeat restart on node node2"));
  assert(!logs.some((l) => l.includes("returning after partition")));
  assert(!logs.some((l) => l.includes("Late heartbeat")));
  assertEquals(sim.core("node1").nodeStatus("node2"), "active");
});

Deno.test("replay attack: a lower generation is dropped", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 1000);
  sim.deliverTo(
    "node1",
    0,
    peerMessage("node2", 1, { t: "status", st: "active", dt: "1f4", protocol: "1" }, {
      seq: 999,
      hg: 1099,
      atMs: sim.now,
    }),
  );
  sim.runFor(5);
  assert(
    sim.logs("node1").includes(
      "ERROR: should_drop_message: attempted replay attack [node2]? [gen = 1099, curgen = 1100]",
    ),
  );
  assert(!sim.logs("node1").some((l) => l.includes("lost packet")));
});

Deno.test("ping node: init → ping, dead after deadping, back with CRIT late + dead + ping", () => {
  const sim = new SimCluster({
    nodes: ["node1", "node2"],
    links: ["eth0"],
    pingNodes: ["198.18.40.3"],
    deadpingMs: 800,
  });
  sim.startAll();
  sim.runFor(2000);
  const ping = "198.18.40.3";
  assertEquals(sim.core("node1").nodeStatus(ping), "ping");
  assert(sim.logs("node1").includes(`info: Status update for node ${ping}: status ping`));
  assert(sim.logs("node1").includes(`info: Link ${ping}:${ping} up.`));
  sim.setPingReachable(ping, false);
  sim.runFor(1000);
  assertEquals(sim.core("node1").nodeStatus(ping), "dead");
  assert(sim.logs("node1").includes(`WARN: node ${ping}: is dead`));
  const deadAction = sim.actions("node1").find((a) =>
    a.type === "node-status" && a.node === ping && a.status === "dead"
  );
  assertEquals(deadAction && deadAction.type === "node-status" && deadAction.kind, "ping");
  // dead ping nodes cause nothing else: node2 unaffected
  assertEquals(sim.core("node1").nodeStatus("node2"), "active");
  sim.setPingReachable(ping, true);
  sim.runFor(200);
  const logs = sim.logs("node1");
  const i = logs.findIndex((l) => l.startsWith(`CRIT: Late heartbeat: Node ${ping}: interval `));
  assert(i > 0);
  assertEquals(logs[i + 1], `WARN: node ${ping}: is dead`);
  assert(logs.slice(i).includes(`info: Status update for node ${ping}: status ping`));
  assertEquals(sim.core("node1").nodeStatus(ping), "ping");
  // ping nodes count in ttl
  assertEquals(sentOfType(sim, "node1", "status")[0].msg.get("ttl"), "4");
});

Deno.test("clock jumped backwards: one info line, forward jumps ignored, no state change", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 2000);
  sim.setWallClockOffset("node1", -120_000);
  sim.runFor(2000);
  sim.setWallClockOffset("node1", 3_600_000);
  sim.runFor(2000);
  sim.setWallClockOffset("node1", 0);
  sim.runFor(2000);
  assertEquals(
    sim.logs("node1").filter((l) => l === "info: Clock jumped backwards. Compensating.").length,
    2,
  );
  assertEquals(sim.core("node1").nodeStatus("node2"), "active");
  assertEquals(sim.core("node2").nodeStatus("node1"), "active");
  assert(!sim.logs("node2").some((l) => l.includes("Clock")));
});

Deno.test("unknown node: bad node line, message dropped", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 500);
  sim.deliverTo(
    "node1",
    0,
    peerMessage("node3", 2, { t: "status", st: "active", dt: "1f4", protocol: "1" }, {
      seq: 1,
      hg: 5,
      atMs: sim.now,
    }),
  );
  sim.runFor(5);
  assert(sim.logs("node1").includes("ERROR: process_status_message: bad node [node3] in message"));
});

Deno.test("uuid learning and `node X changed its uuid to …`", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 500);
  assertEquals(sim.core("node1").nodeUuid("node2"), "02020202-0202-0202-0202-020202020202");
  const msg = peerMessage("node2", 1, { t: "hello" }, { seq: 500, hg: 1100, atMs: sim.now });
  msg.set("srcuuid", new Uint8Array(16).fill(0xab));
  sim.deliverTo("node1", 0, msg);
  sim.runFor(5);
  assert(
    sim.logs("node1").includes(
      "info: node node2 changed its uuid to abababab-abab-abab-abab-abababababab",
    ),
  );
});

Deno.test("FIFO message: completed with control fields, looped back first, delivered everywhere", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 500);
  sim.fifo("node1", { t: "mytest", foo: "bar baz" });
  sim.runFor(5);
  const sent = sentOfType(sim, "node1", "mytest");
  assertEquals(sent.length, 1);
  const names = sent[0].msg.fields.map(([n]) => n);
  assertEquals(names, ["t", "foo", "src", "srcuuid", "seq", "hg", "ts", "ld", "ttl"]);
  assertEquals(sent[0].msg.get("ttl"), "3");
  const actions = sim.actions("node1");
  const deliverIdx = actions.findIndex((a) => a.type === "deliver" && a.msg.type === "mytest");
  const sendIdx = actions.findIndex((a) => a.type === "send" && a.msg.type === "mytest");
  assert(deliverIdx >= 0 && deliverIdx < sendIdx, "loopback before send");
  assertEquals((actions[deliverIdx] as { origin: unknown }).origin, { kind: "loopback" });
  const on2 = sim.actions("node2").find((a) => a.type === "deliver" && a.msg.type === "mytest");
  assert(on2 && on2.type === "deliver" && on2.from === "node1" && on2.msg.get("foo") === "bar baz");
});

Deno.test("messages addressed to another node are tracked but not delivered", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2", "node3"], links: ["eth0"] }, 1000);
  sim.fifo("node1", { t: "ip-request-resp", dest: "node2", ipaddr: "x" });
  sim.runFor(5);
  const sent = sentOfType(sim, "node1", "ip-request-resp")[0].msg;
  assertEquals(sent.fields.map(([n]) => n).slice(0, 4), ["t", "dest", "ipaddr", "destuuid"]);
  const delivered = (n: string) =>
    sim.actions(n).some((a) => a.type === "deliver" && a.msg.type === "ip-request-resp");
  assertEquals([delivered("node1"), delivered("node2"), delivered("node3")], [false, true, false]);
  // no gap appears at node3 afterwards
  sim.runFor(500);
  assert(!sim.logs("node3").some((l) => l.includes("lost packet")));
});

Deno.test("NS messages carry no seq and no ld", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 3000);
  const acks = sentOfType(sim, "node1", "NS_ackmsg");
  assert(acks.length > 0);
  for (const a of acks) {
    assertEquals(a.msg.get("seq"), undefined);
    assertEquals(a.msg.get("ld"), undefined);
    assert(a.msg.get("hg") !== undefined && a.msg.get("ts") !== undefined);
  }
});

Deno.test("no local heartbeat: detected when own status stops, reported once", () => {
  // keepalive > deadtime makes our own looped-back heartbeat late (config checks forbid it)
  const core = new HbCore({
    nodeName: "node1",
    nodes: ["node1"],
    pingNodes: [],
    links: ["eth0"],
    keepaliveMs: 3000,
    deadtimeMs: 1000,
    warntimeMs: 500,
    initdeadMs: 1000,
    deadpingMs: 1000,
    hopfudge: 1,
    generation: 7,
    uuid: simUuid(0),
    random: seededRandom(3),
  });
  const all: CoreAction[] = [];
  all.push(...core.handle({ type: "start", now: 0, wallClock: 0 }));
  let t = 0;
  for (let i = 0; i < 4; i++) {
    t = core.nextDeadline();
    all.push(...core.handle({ type: "tick", now: t, wallClock: t }));
  }
  const logs = all.filter((a) => a.type === "log").map((a) => a.type === "log" && a.text);
  const i = logs.indexOf("node node1: is dead");
  assert(i >= 0, logs.join("\n"));
  assertEquals(logs.slice(i, i + 3), [
    "node node1: is dead",
    "No local heartbeat. Forcing restart.",
    "See URL: http://linux-ha.org/wiki/FAQ#No_Local_Heartbeat",
  ]);
  assertEquals(all.filter((a) => a.type === "restart-required").length, 1);
  assertEquals(core.localStatus, "active");
});

Deno.test("advertise-deadtime raises dt at once and back", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 6000);
  const before = sentOfType(sim, "node1", "status").length;
  sim.feed("node1", { type: "advertise-deadtime", now: 0, wallClock: 0, extraMs: 30000 });
  const st = sentOfType(sim, "node1", "status");
  assertEquals(st.length, before + 1);
  assertEquals(st.at(-1)!.msg.get("dt"), (500 + 30000).toString(16));
  sim.runFor(100);
  assertEquals(sim.core("node2").nodeDeadtime("node1"), 30500);
  sim.feed("node1", { type: "advertise-deadtime", now: 0, wallClock: 0, extraMs: 0 });
  assertEquals(sentOfType(sim, "node1", "status").at(-1)!.msg.get("dt"), "1f4");
});

Deno.test("shutdown: exit 0, then silence", () => {
  const core = new HbCore({
    nodeName: "node1",
    nodes: ["node1", "node2"],
    pingNodes: [],
    links: ["eth0"],
    keepaliveMs: 100,
    deadtimeMs: 500,
    warntimeMs: 250,
    initdeadMs: 1000,
    deadpingMs: 500,
    hopfudge: 1,
    generation: 7,
    uuid: simUuid(0),
  });
  core.handle({ type: "start", now: 0, wallClock: 0 });
  assertEquals(core.handle({ type: "shutdown", now: 10, wallClock: 10 }), [{
    type: "exit",
    code: 0,
  }]);
  assertEquals(core.handle({ type: "tick", now: 200, wallClock: 200 }), []);
  assertEquals(core.nextDeadline(), Infinity);
  assertEquals(
    core.handle({
      type: "message",
      now: 1,
      wallClock: 1,
      origin: { kind: "fifo" },
      msg: new CoreMessage([["t", "x"]]),
    }),
    [],
  );
});
