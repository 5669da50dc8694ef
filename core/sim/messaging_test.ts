import { assert, assertEquals } from "../../tests/assert.ts";
import { SimCluster } from "./cluster.ts";
import { logsStarting, peerMessage, REAL_TIMERS, sentOfType } from "../../tests/support/sim.ts";

function seqOf(msg: { get(n: string): string | undefined }): number {
  return parseInt(msg.get("seq") ?? "0", 16);
}

Deno.test("one lost packet: WARN gap, NS_rexmit (decimal) after 50-250 ms, identical resend, filled", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 3000);
  let dropped = false;
  sim.network.setDropFilter((from, to, _l, msg) => {
    if (!dropped && from === "node2" && to === "node1" && seqOf(msg) === 40) {
      dropped = true;
      return true;
    }
    return false;
  });
  sim.runUntilTrue(() => dropped, 10_000);
  const lostAt = sim.now;
  sim.runFor(1000);
  assert(sim.logs("node1").includes("WARN: 1 lost packet(s) for [node2] [39:41]"));
  const req = sentOfType(sim, "node1", "NS_rexmit");
  assertEquals(req.length, 1);
  assertEquals(
    req[0].msg.fields.slice(0, 4),
    [["t", "NS_rexmit"], ["dest", "node2"], ["firstseq", "40"], ["lastseq", "40"]],
  );
  const gapSeenAt = lostAt + 100; // seq 41 arrives one keepalive later
  const delay = req[0].at - gapSeenAt;
  assert(delay >= 50 && delay <= 251, `delay ${delay}`);
  const resent = sim.wire("node2").filter((w) => w.rexmit);
  assertEquals(resent.length, 1);
  const original = sim.wire("node2").find((w) => !w.rexmit && seqOf(w.msg) === 40)!;
  assert(resent[0].msg === original.msg, "byte-identical retransmission of the stored message");
  assert(sim.actions("node2").some((a) => a.type === "rexmit" && a.seq === 40));
  assert(sim.logs("node1").includes("info: No pkts missing from node2!"));
  assertEquals(sim.core("node1").missingFrom("node2"), []);
  // the late message was delivered to the upper layers
  assert(sim.actions("node1").some((a) => a.type === "deliver" && seqOf(a.msg) === 40));
});

Deno.test("requests repeat every max_rexmit_delay until the packet arrives", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 3000);
  let copies = 0;
  sim.network.setDropFilter((from, to, _l, msg) => {
    if (from === "node2" && to === "node1" && seqOf(msg) === 40 && copies < 3) {
      copies++;
      return true;
    }
    return false;
  });
  sim.runFor(2000);
  // the original and two retransmitted copies are lost: three requests
  const req = sentOfType(sim, "node1", "NS_rexmit", { firstseq: "40" });
  assertEquals(req.length, 3);
  assertEquals(req[1].at - req[0].at, 250);
  assertEquals(req[2].at - req[1].at, 250);
  assert(sim.logs("node1").includes("info: No pkts missing from node2!"));
  assertEquals(sim.wire("node2").filter((w) => w.rexmit).length, 3);
});

Deno.test("no requests to a dead sender; its missing list is cleared", () => {
  // past the 5 s of dt = deadtime + 2 s
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 6000);
  sim.network.setDropFilter((from, to, _l, msg) =>
    from === "node2" && to === "node1" && seqOf(msg) >= 70 && seqOf(msg) % 2 === 0
  );
  sim.runFor(500);
  sim.kill("node2");
  sim.runFor(1000);
  assertEquals(sim.core("node1").nodeStatus("node2"), "dead");
  const count = sentOfType(sim, "node1", "NS_rexmit").length;
  sim.runFor(2000);
  assertEquals(sentOfType(sim, "node1", "NS_rexmit").length, count);
  assertEquals(sim.core("node1").missingFrom("node2"), []);
});

/** Two nodes (seed 42) through 30 s of 30 % loss on node1's one link, and 3 s after it. */
function lossyRun(): SimCluster {
  const sim = new SimCluster({
    nodes: ["node1", "node2"],
    links: ["eth0"],
    seed: 42,
    ...REAL_TIMERS,
  });
  sim.startAll();
  sim.runFor(3000);
  sim.network.setLoss("node1", "eth0", 30);
  sim.runFor(30_000);
  sim.network.setLoss("node1", "eth0", 0);
  sim.runFor(3000);
  return sim;
}

Deno.test("30% loss on one link (seeded): gaps re-requested and filled, no node death", () => {
  const sim = lossyRun();
  const lost = logsStarting(sim, "node1", "WARN: ").filter((l) => l.includes("lost packet(s)"));
  assert(lost.length >= 3, lost.join("\n"));
  for (const l of lost) assert(/^WARN: \d+ lost packet\(s\) for \[node2\] \[\d+:\d+\]$/.test(l), l);
  assert(sentOfType(sim, "node1", "NS_rexmit").length >= lost.length);
  assert(sim.logs("node1").includes("info: No pkts missing from node2!"));
  assertEquals(sim.core("node1").missingFrom("node2"), []);
  assertEquals(sim.core("node1").nodeStatus("node2"), "active");
  // deterministic: a second run gives the same log
  assertEquals(lossyRun().logs("node1"), sim.logs("node1"));
});

Deno.test("two links: the copy on the second link fills the first link's loss (no request)", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0", "eth1"] }, 6000);
  sim.network.setLoss("node1", "eth0", 100);
  sim.runFor(1000);
  assertEquals(sentOfType(sim, "node1", "NS_rexmit").length, 0);
  assert(!sim.logs("node1").some((l) => l.includes("lost packet")));
  assertEquals(sim.core("node1").linkStatus("node2", "eth0"), "dead");
  assertEquals(sim.core("node1").linkStatus("node2", "eth1"), "up");
  sim.network.setLoss("node1", "eth0", 0);
  sim.runFor(200);
  assert(sim.logs("node1").includes("info: Link node2:eth0 up."));
});

Deno.test("gap > 250: lost a lot of packets, tracking reset, nothing requested", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 2000);
  let block = true;
  sim.network.setDropFilter((from, to) => block && from === "node2" && to === "node1");
  const before = sim.core("node2").lastSeq;
  for (let i = 0; i < 300; i++) sim.fifo("node2", { t: "burst", n: String(i) });
  block = false;
  sim.runFor(150);
  const next = before + 300 + 1;
  const gap = sim.logs("node1").find((l) => l.includes("lost packet(s) for [node2]"))!;
  assert(gap.startsWith("WARN: "));
  assert(gap.endsWith(`[${before}:${next}]`) || /\[\d+:\d+\]$/.test(gap), gap);
  assert(sim.logs("node1").includes("ERROR: lost a lot of packets!"));
  assertEquals(sentOfType(sim, "node1", "NS_rexmit").length, 0);
  assertEquals(sim.core("node1").missingFrom("node2"), []);
});

Deno.test("rexmit requests: acked skipped, too high WARN, at most 50, not twice within 240 ms", () => {
  // node1 never acks node2, so node2 keeps everything (until the ring overwrites)
  const sim = new SimCluster({ nodes: ["node1", "node2"], links: ["eth0"] });
  sim.network.setDropFilter((from, to, _l, msg) =>
    from === "node1" && to === "node2" && msg.type === "NS_ackmsg"
  );
  sim.startAll();
  sim.runFor(12_000);
  const hi = sim.core("node2").lastSeq;
  const ask = (first: number, last: number) =>
    sim.deliverTo(
      "node2",
      0,
      peerMessage("node1", 0, {
        t: "NS_rexmit",
        dest: "node2",
        firstseq: String(first),
        lastseq: String(last),
      }, { hg: 1000, atMs: sim.now }),
    );
  const rexmits = () => sim.actions("node2").filter((a) => a.type === "rexmit").length;
  ask(10, 100);
  sim.runFor(5);
  assertEquals(rexmits(), 50);
  ask(10, 10);
  sim.runFor(100);
  assertEquals(rexmits(), 50); // re-sent < 240 ms ago
  sim.runFor(200);
  ask(10, 10);
  sim.runFor(5);
  assertEquals(rexmits(), 51);
  ask(hi + 1000, hi + 1000);
  sim.runFor(5);
  assert(
    sim.logs("node2").some((l) =>
      l.startsWith(`WARN: Rexmit of seq ${hi + 1000} requested. `) && l.endsWith(" is max.")
    ),
  );
  ask(0, 5);
  sim.runFor(5);
  assert(sim.logs("node2").includes("ERROR: Invalid rexmit seqnos"));
});

Deno.test("peer never acks: clients paused, hist queue WARN/ERROR, old seqs NAKed as too low", () => {
  const sim = new SimCluster({ nodes: ["node1", "node2"], links: ["eth0"] });
  let blockAcks = true;
  sim.network.setDropFilter((from, to, _l, msg) =>
    blockAcks && from === "node1" && to === "node2" && msg.type === "NS_ackmsg"
  );
  sim.startAll();
  sim.runFor(60_000);
  const logs = sim.logs("node2");
  assert(logs.includes("info: all clients are now paused"));
  assert(sim.actions("node2").some((a) => a.type === "clients-pause"));
  assert(logs.includes("WARN: Message hist queue is filling up (376 messages in queue)"));
  assert(logs.includes("ERROR: Message hist queue is filling up (451 messages in queue)"));
  assert(logs.includes("ERROR: Message hist queue is filling up (500 messages in queue)"));
  assert(!logs.includes("ERROR: Message hist queue is filling up (501 messages in queue)"));
  // seq 5 left the 500-message ring: a request for it is NAKed
  sim.deliverTo(
    "node2",
    0,
    peerMessage("node1", 0, { t: "NS_rexmit", dest: "node2", firstseq: "5", lastseq: "5" }, {
      hg: 1000,
      atMs: sim.now,
    }),
  );
  sim.runFor(10);
  const h = sim.core("node2").history();
  const l2 = sim.logs("node2");
  const i = l2.indexOf("ERROR: Cannot rexmit pkt 5 for node1: seqno too low");
  assert(i > 0);
  assertEquals(l2.slice(i + 1, i + 4), [
    "info: fromnode =node1, fromnode's ackseq = 0",
    "info: hist information:",
    `info: hiseq =${h.hiseq}, lowseq=${h.lowseq},ackseq=${h.ackseq},lastmsg=${(h.hiseq - 1) % 500}`,
  ]);
  const nak = sentOfType(sim, "node2", "NS_nak_rexmit");
  assertEquals(nak.length, 1);
  assertEquals(nak[0].msg.fields.slice(0, 4), [
    ["t", "NS_nak_rexmit"],
    ["firstseq", "5"],
    ["dest", "node1"],
    ["info", "seqno too low"],
  ]);
  assertEquals(nak[0].msg.get("seq"), undefined);
  assert(sim.logs("node1").includes("ERROR: Irretrievably lost packet: node node2 seq 5"));
  // acks flow again: window frees, clients resume
  blockAcks = false;
  sim.runFor(3000);
  assert(sim.logs("node2").includes("info: all clients are now resumed"));
  assert(sim.actions("node2").some((a) => a.type === "clients-resume"));
  assert(sim.core("node2").history().ackseq > h.ackseq);
});

Deno.test("a NAK for a missing packet stops the requests for it", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 2000);
  // node1 misses seq 30 of node2 and node2 never answers requests
  sim.network.setDropFilter((from, to, _l, msg) =>
    (from === "node2" && to === "node1" && seqOf(msg) === 30) ||
    (from === "node1" && to === "node2" && msg.type === "NS_rexmit")
  );
  sim.runFor(1500);
  assertEquals(sim.core("node1").missingFrom("node2"), [30]);
  sim.deliverTo(
    "node1",
    0,
    peerMessage("node2", 1, {
      t: "NS_nak_rexmit",
      firstseq: "1e",
      dest: "node1",
      info: "seqno not found",
    }, { hg: 1100, atMs: sim.now }),
  );
  sim.runFor(5);
  assert(sim.logs("node1").includes("ERROR: Irretrievably lost packet: node node2 seq 30"));
  assert(sim.logs("node1").includes("info: No pkts missing from node2!"));
  const n = sentOfType(sim, "node1", "NS_rexmit").length;
  sim.runFor(1000);
  assertEquals(sentOfType(sim, "node1", "NS_rexmit").length, n);
});

Deno.test("acks: every 10th message per sender, own messages too, to the sender with hex ackseq", () => {
  const sim = SimCluster.startedFor({ nodes: ["node1", "node2"], links: ["eth0"] }, 10_000);
  for (const dest of ["node1", "node2"]) {
    const acks = sentOfType(sim, "node1", "NS_ackmsg", { dest }).map((w) =>
      parseInt(w.msg.get("ackseq")!, 16)
    );
    assert(acks.length > 5, `${dest}: ${acks}`);
    const digit = acks[0] % 10;
    for (let i = 1; i < acks.length; i++) {
      assertEquals(acks[i] - acks[i - 1], 10);
      assertEquals(acks[i] % 10, digit);
    }
  }
  const ack = sentOfType(sim, "node1", "NS_ackmsg")[0].msg;
  assertEquals(ack.fields.slice(0, 3).map(([n]) => n), ["t", "dest", "ackseq"]);
  // the history is freed up to what both acknowledged
  const h = sim.core("node1").history();
  assert(h.ackseq > 0 && h.lowseq >= h.ackseq - 10);
  assert(h.hiseq - h.ackseq < 30);
});

Deno.test("peer without protocol field: flow control disabled, no acks, comm up without reqnodes", () => {
  const sim = new SimCluster({ nodes: ["node1", "node2"], links: ["eth0"] });
  sim.start("node1");
  sim.runFor(200);
  for (let i = 1; i <= 30; i++) {
    sim.deliverTo(
      "node1",
      0,
      peerMessage("node2", 1, { t: "status", st: "active", dt: "1f4" }, {
        seq: i,
        hg: 77,
        atMs: sim.now,
      }),
    );
    sim.runFor(100);
  }
  const logs = sim.logs("node1");
  assertEquals(
    logs.filter((l) => l === "info: flow control disabled due to different version heartbeat")
      .length,
    1,
  );
  assertEquals(sim.core("node1").flowControl, false);
  assertEquals(sim.core("node1").localStatus, "active");
  assertEquals(sentOfType(sim, "node1", "reqnodes").length, 0);
  const ackCount = sentOfType(sim, "node1", "NS_ackmsg").length;
  sim.runFor(3000);
  assertEquals(sentOfType(sim, "node1", "NS_ackmsg").length, ackCount);
  // our status messages no longer carry protocol
  assertEquals(sentOfType(sim, "node1", "status").at(-1)!.msg.get("protocol"), undefined);
});

/**
 * The work a cluster run may take, counted on the simulated clock (how long it takes in real
 * time depends on the machine: speed is `deno task bench`'s business). A node sends at most 4
 * messages per keepalive interval (its status, acks, the start-up reqnodes/repnodes; observed
 * about 3), each message reaches every other node once per link, and a node's core gets those
 * deliveries plus its timer ticks: a message storm (retransmission loops, ack ping-pong) breaks
 * these bounds whatever the machine.
 */
function assertQuiet(sim: SimCluster, nodes: string[], links: number, keepaliveMs: number): void {
  const intervals = 60_000 / keepaliveMs;
  for (const n of nodes) {
    const sent = sim.wire(n).length;
    assert(sent <= 4 * intervals, `${n} sent ${sent} messages in ${intervals} keepalives`);
  }
  const budget = 4 * intervals * (nodes.length - 1) * links * nodes.length;
  assert(sim.eventCount <= budget, `${sim.eventCount} core events, budget ${budget}`);
}

Deno.test("16 nodes, 60 virtual seconds, keepalive 1 s: bounded work, quiet", () => {
  const nodes = Array.from({ length: 16 }, (_, i) => `node${i + 1}`);
  const sim = SimCluster.startedFor({ nodes, links: ["eth0", "eth1"], ...REAL_TIMERS }, 60_000);
  assertQuiet(sim, nodes, 2, REAL_TIMERS.keepaliveMs);
  for (const n of nodes) {
    assertEquals(sim.core(n).localStatus, "active");
    assert(!sim.logs(n).some((l) => l.startsWith("WARN") || l.startsWith("ERROR")), n);
  }
});

Deno.test("16 nodes, 60 virtual seconds, keepalive 100 ms: bounded work", () => {
  const nodes = Array.from({ length: 16 }, (_, i) => `node${i + 1}`);
  const sim = SimCluster.startedFor({ nodes, links: ["eth0"], keepaliveMs: 100 }, 60_000);
  assertQuiet(sim, nodes, 1, 100);
  for (const n of nodes) assertEquals(sim.core(n).nodeStatus("node1"), "active");
});
