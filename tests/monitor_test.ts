/**
 * Acceptance tests of service health checks (issue 13): two nodes, the group
 * `node1 198.18.0.100/24/eth0 svc` (a one-process TCP server started by a resource.d script),
 * hb.cf `monitor svc interval=1s timeout=2s fall=2 on-fail=restart max-restarts=1` and two
 * notify hooks (one records, one fails). The client namespace connects to the service every
 * 20 ms; an `ip monitor` per node proves the address is never on both nodes.
 *
 * - kill the service on node1 → restarted on node1 (client outage printed);
 * - kill it again within the window → escalation: the group moves to node2 by the standby
 *   exchange (client outage printed); with a real Heartbeat 3.0.6 node2, the real node logs
 *   its normal standby takeover;
 * - node2 never ran a check while node1 held the group;
 * - (hb node2) a check that hangs is killed at its timeout and counts as a failure;
 * - the hooks saw the events in order with the documented variables; the failing hook is
 *   logged.
 *
 * Needs root and the testbed packages (and the real Heartbeat for the mixed pair); fails
 * loudly when something is missing.
 *
 * @module
 */

import { requireRealHeartbeat, sleep } from "./support/mod.ts";
import { assert, assertEquals } from "./assert.ts";
import { complaints } from "./support/interop.ts";
import {
  AddressWatch,
  HB_MONITOR,
  hbCommand,
  type Impl,
  killService,
  ServiceProbe,
  SVC_IP as IP,
  SVC_PORT as PORT,
  type Testbed,
  type TestNode,
  waitFor,
  writeServicePair,
} from "./testbed/mod.ts";
import { pairTestbed } from "./support/cluster.ts";

/** The group key (its first resource as written). */
const KEY = `${IP}/24/eth0`;

const NOTIFY = `#!/bin/sh
echo "$HB_EVENT|$HB_NODE|$HB_GROUP|$HB_RESOURCE|$HB_FROM|$HB_TO|$HB_REASON|$HB_ELAPSED_MS|$HB_TIMESTAMP" >>/var/log/notify.log
`;

const NOTIFY_FAIL = `#!/bin/sh
echo "hook says no" >&2
exit 3
`;

const HB_CF = `${HB_MONITOR}notify /etc/ha.d/notify.sh
notify /etc/ha.d/notify_fail.sh
`;

interface Run {
  tb: Testbed;
  watch: AddressWatch;
  probe: ServiceProbe;
  doubles: string[];
  /** Nodes killed on purpose (their stale address does not count). */
  down: Set<string>;
  stop: () => Promise<void>;
}

async function setUp(tb: Testbed, impls: [Impl, Impl]): Promise<Run> {
  await writeServicePair(tb, "hb-monitor");
  for (const n of tb.nodes) {
    await n.writeConfig("notify.sh", NOTIFY, 0o755);
    await n.writeConfig("notify_fail.sh", NOTIFY_FAIL, 0o755);
    await n.writeConfig("hb.cf", HB_CF);
  }
  await Promise.all(tb.nodes.map((n, i) => n.start({ impl: impls[i], timeoutMs: 30_000 })));
  const watch = await AddressWatch.start(tb.nodes, IP);
  const probe = ServiceProbe.start(tb.client!, IP, PORT, 20);
  const doubles: string[] = [];
  const down = new Set<string>();
  let checking = true;
  const checker = (async () => {
    while (checking) {
      const h = watch.holders().filter((n) => !down.has(n));
      if (h.length > 1) doubles.push(`${new Date().toISOString()}: ${h.join(" and ")} hold ${IP}`);
      await sleep(5);
    }
  })();
  return {
    tb,
    watch,
    probe,
    doubles,
    down,
    stop: async () => {
      checking = false;
      await checker;
      await probe.stop();
      await watch.stop();
    },
  };
}

async function statusCalls(n: TestNode): Promise<number> {
  const calls = await n.readLog("svc.calls").catch(() => "");
  return calls.split("\n").filter((l) => l.endsWith(" status")).length;
}

/** Kill → local restart, kill → escalation to node2. Returns the two client outages. */
async function restartThenEscalate(run: Run, realPeer: boolean): Promise<void> {
  const { tb, watch, probe } = run;
  const [node1, node2] = tb.nodes;
  await waitFor("node1 to hold the service address", () => watch.holders().join() === "node1", {
    timeoutMs: 60_000,
  });
  await probe.replyAfter(Date.now());
  // node1 checks; node2, which does not hold the group, never runs one
  await waitFor("node1's first checks", async () => (await statusCalls(node1)) >= 3, {
    timeoutMs: 30_000,
  });
  assertEquals(await statusCalls(node2), 0, "node2 ran a status of a group it does not hold");

  const from1 = await node1.logOffset();
  const kill1 = await killService(node1);
  await node1.waitForLog("Restart of svc done", { from: from1, timeoutMs: 30_000 });
  const back1 = await probe.replyAfter(kill1 + 20);
  console.log(`  local restart: client outage ${back1 - kill1} ms`);
  console.log(`    ${await node1.waitForLog("Restart of svc done", { from: from1 })}`);
  assertEquals(watch.holders(), ["node1"]);

  const from2 = await node1.logOffset();
  const from2b = await node2.logOffset();
  const kill2 = await killService(node1);
  await node1.waitForLog("Giving up group", { from: from2, timeoutMs: 30_000 });
  await waitFor("node2 to hold the service address", () => watch.holders().join() === "node2", {
    timeoutMs: 60_000,
  });
  const back2 = await probe.replyAfter(kill2 + 20);
  console.log(`  escalation to node2: client outage ${back2 - kill2} ms`);
  console.log(`    ${await node1.waitForLog("Giving up group", { from: from2 })}`);
  if (realPeer) {
    // the real Heartbeat takes the group in its ordinary standby exchange
    await node2.waitForLog("node1 wants to go standby [local]", {
      from: from2b,
      timeoutMs: 30_000,
    });
    const done = await node2.waitForLog(
      /Standby resource acquisition done|remote resource transition completed/,
      {
        from: from2b,
        timeoutMs: 30_000,
      },
    );
    console.log(`    real node2: ${done}`);
  } else {
    await node2.waitForLog("node1 wants to go standby [local]", {
      from: from2b,
      timeoutMs: 30_000,
    });
  }
  // node1 keeps its hands off while node2 runs it (no failback for restart-window)
  await sleep(3000);
  assertEquals(watch.holders(), ["node2"]);
}

/** The hook's records on `n`, as field maps. */
async function hookEvents(n: TestNode): Promise<Record<string, string>[]> {
  const text = await n.readLog("notify.log").catch(() => "");
  const keys = ["event", "node", "group", "resource", "from", "to", "reason", "elapsed", "ts"];
  return text.split("\n").filter((l) => l !== "").map((l) => {
    const f = l.split("|");
    return Object.fromEntries(keys.map((k, i) => [k, f[i] ?? ""]));
  });
}

function assertSubsequence(got: string[], want: string[], what: string): void {
  let i = 0;
  for (const g of got) if (g === want[i]) i++;
  assert(i === want.length, `${what}: expected in order ${want.join(", ")}; got ${got.join(", ")}`);
}

async function checkHooks(node1: TestNode): Promise<void> {
  const evs = await waitFor("node1's hooks to record the escalation", async () => {
    const e = await hookEvents(node1);
    return e.some((x) => x.event === "release-done") ? e : undefined;
  }, { timeoutMs: 30_000 });
  assertSubsequence(
    evs.map((e) => e.event),
    [
      "takeover-start",
      "takeover-done",
      "monitor-fail",
      "restart",
      "monitor-fail",
      "escalate",
      "release-done",
    ],
    "node1's hook events",
  );
  const restart = evs.find((e) => e.event === "restart")!;
  assertEquals([restart.node, restart.group, restart.resource], ["node1", KEY, "svc"]);
  assert(/^\d+$/.test(restart.elapsed), `HB_ELAPSED_MS of restart: ${restart.elapsed}`);
  assert(/^\d{4}-\d\d-\d\dT/.test(restart.ts), `HB_TIMESTAMP: ${restart.ts}`);
  const esc = evs.find((e) => e.event === "escalate")!;
  assertEquals([esc.group, esc.resource, esc.from], [KEY, "svc", "node1"]);
  assert(esc.reason.includes("max-restarts 1"), esc.reason);
  assert(evs.some((e) => e.event === "node-up" && e.node === "node2"), "node-up of node2");
  await node1.waitForLog(/notify \/etc\/ha.d\/notify_fail.sh \(\S+\): exit 3: hook says no/);
}

/** `heartbeat resource ARGS` on `n` (over its API socket). */
async function resourceCmd(n: TestNode, ...args: string[]) {
  return await n.exec([...hbCommand(), "resource", ...args]);
}

/** `heartbeat resource failures` on node1 after its escalation, and a refused cleanup. */
async function failuresView(node1: TestNode): Promise<void> {
  const f = await resourceCmd(node1, "failures");
  assertEquals(f.code, 0, f.stderr);
  console.log(f.stdout.replace(/^/gm, "    "));
  const j = await resourceCmd(node1, "failures", "--json");
  const svc = JSON.parse(j.stdout).states[0];
  assertEquals([svc.resource, svc.group, svc.restarts, svc.failures], ["svc", KEY, 1, 4]);
  assert(svc.heldBackMs > 0, `held back after the escalation: ${j.stdout}`);
  const bad = await resourceCmd(node1, "cleanup", "nosuch");
  assertEquals(bad.code, 1);
  assert(bad.stderr.includes("no monitor for nosuch; monitored: svc"), bad.stderr);
}

Deno.test("monitor, two hb nodes: restart, escalation, failback hold, cleanup, hanging check, hooks", async () => {
  await using tb = await pairTestbed("mon", { client: true });
  const [node1, node2] = tb.nodes;
  const run = await setUp(tb, ["hb", "hb"]);
  try {
    await restartThenEscalate(run, false);
    await checkHooks(node1);
    await failuresView(node1);

    // node1's daemon restarted within the window: node2 (auto_failback on) holds the
    // failback back (the escalation's standby request carried hb_failhold)
    const from2 = await node2.logOffset();
    await node1.stopSoft({ via: "command" });
    await node1.start({ impl: "hb", timeoutMs: 30_000 });
    console.log(
      `    ${await node2.waitForLog(
        "Auto failback delayed: node1 gave these resources up for service failures",
        { from: from2, timeoutMs: 60_000 },
      )}`,
    );
    await sleep(3000); // nothing moves: a window checks more the longer it is
    assertEquals(run.watch.holders(), ["node2"]);

    // the operator's cleanup on node1 lifts the hold: node2 fails the group back at once
    const c = await resourceCmd(node1, "cleanup", "svc");
    assertEquals([c.code, c.stdout.trim()], [0, "cleared: svc"]);
    await node1.waitForLog("Failures of svc cleared by the operator.");
    await waitFor("the failback to node1", () => run.watch.holders().join() === "node1", {
      timeoutMs: 60_000,
    });
    const after = JSON.parse((await resourceCmd(node1, "failures", "--json")).stdout).states[0];
    assertEquals([after.restarts, after.heldBackMs], [0, undefined]);

    // two hanging checks are killed at the timeout and count as failures: a restart
    await waitFor("node1's monitor after the failback", async () => {
      const st = JSON.parse((await resourceCmd(node1, "failures", "--json")).stdout).states[0];
      return st.state === "ok" && st.checks > 0;
    }, { timeoutMs: 30_000 });
    const from = await node1.logOffset();
    await node1.exec(["sh", "-c", "echo 2 >/var/log/svc.hang"], { check: true });
    const first = await node1.waitForLog("Monitor of svc failed (1/2): status timed out after", {
      from,
      timeoutMs: 30_000,
    });
    console.log(`  hanging check: ${first}`);
    await node1.waitForLog("Restart of svc done", { from, timeoutMs: 30_000 });
    const left = await node1.exec(["pgrep", "-f", "sleep 31"]);
    assertEquals(left.stdout.trim(), "", "the hung check's process group survived");
    assertEquals(run.watch.holders(), ["node1"]);
    const ev2 = await hookEvents(node2);
    assertSubsequence(
      ev2.map((e) => e.event),
      ["takeover-start", "takeover-done", "release-done"],
      "node2's hook events",
    );

    // node1 dies: node2 takes the group (no failback hold applies to a dead peer's groups),
    // and its hooks see node-dead, takeover-start and takeover-done
    run.down.add("node1");
    const killAt = Date.now();
    await node1.killHard();
    await waitFor("node2 to hold the address", () => run.watch.holders().includes("node2"), {
      timeoutMs: 60_000,
    });
    const back = await run.probe.replyAfter(killAt + 20);
    console.log(`  node1 killed: client outage ${back - killAt} ms`);
    const ev = await waitFor("node2's hooks to record the takeover", async () => {
      const e = await hookEvents(node2);
      const dead = e.findIndex((x) => x.event === "node-dead");
      return dead >= 0 && e.slice(dead).some((x) => x.event === "takeover-done") ? e : undefined;
    }, { timeoutMs: 30_000 });
    const dead = ev.findIndex((x) => x.event === "node-dead");
    assertSubsequence(
      ev.slice(dead).map((e) => e.event),
      ["node-dead", "takeover-start", "takeover-done"],
      "node2's hook events after node1's death",
    );
    const d = ev[dead];
    assertEquals([d.node, d.from, d.to], ["node1", "active", "dead"]);
    assert(Number(d.elapsed) >= 2500, `HB_ELAPSED_MS of node-dead (deadtime 3 s): ${d.elapsed}`);
    const t = ev.slice(dead).find((e) => e.event === "takeover-start")!;
    assertEquals(t.group, KEY);
    // Heartbeat's mach_down takes each group through ip-request-resp (the run's cause)
    assert(["mach_down", "ip-request-resp"].includes(t.reason), `HB_REASON: ${t.reason}`);
  } finally {
    await run.stop();
  }
  assertEquals(run.doubles, []);
});

Deno.test("monitor, hb node1 + real Heartbeat node2: escalation is a standby takeover", async () => {
  await requireRealHeartbeat();
  await using tb = await pairTestbed("monx", { client: true });
  const run = await setUp(tb, ["hb", "heartbeat"]);
  try {
    await restartThenEscalate(run, true);
    await checkHooks(tb.nodes[0]);
    // the real daemon took hb's standby request (with its hb_failhold field) without complaint
    assertEquals(complaints(await tb.nodes[1].readLog()), []);
  } finally {
    await run.stop();
  }
  assertEquals(run.doubles, []);
});
