import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { promtoolCheck } from "../tests/support/promtool.ts";
import { MasterMetrics, type MetricsSource, serveMetrics } from "./metrics.ts";
import type { HbCore } from "../core/core.ts";
import type { NodeCoreAction, NodeCoreEvent } from "../core/node_core.ts";
import { CoreMessage } from "../core/message.ts";

/** node1 (us), node2 (peer, `peer` status), links eth0 and eth1. */
function source(peer: "active" | "dead", holding: string[]): MetricsSource {
  const core = {
    nodeNames: () => ["node1", "node2"],
    nodeStatus: (n: string) => n === "node1" ? "active" : peer,
    linkStatus: (_n: string, _l: string) => peer === "active" ? "up" : "dead",
  } as unknown as HbCore;
  return {
    core,
    heldState: () => ({ held: holding.length === 2 ? "all" : "local", holding }),
    dropped: { auth: 2, "bad-format": 1 },
    api: { connectionCount: 3 },
  };
}

const T = { now: 0, wallClock: 0 };
const msg = (t: string, src: string) => CoreMessage.of({ t, src });

Deno.test("metrics: counters from core steps, gauges at scrape time; promtool accepts it", async () => {
  let now = 1000;
  const m = new MasterMetrics({
    nodeName: "node1",
    links: ["eth0", "eth1"],
    groups: ["IPaddr::10.0.0.1", "IPaddr::10.0.0.2"],
    version: "0.1.0",
    heartbeatVersion: "3.0.6",
    now: () => now,
  });
  let src = source("active", ["IPaddr::10.0.0.1"]);
  m.attach({
    get core() {
      return src.core;
    },
    heldState: () => src.heldState(),
    get dropped() {
      return src.dropped;
    },
    get api() {
      return src.api;
    },
  });
  const step = (ev: NodeCoreEvent, actions: NodeCoreAction[] = []) => m.step(ev, actions);
  const tick: NodeCoreEvent = { type: "tick", ...T };
  // two heartbeats from node2 on eth0, one on eth1; our own looped back is not counted
  for (const ch of [0, 0, 1]) {
    step({
      type: "message",
      ...T,
      origin: { kind: "medium", channel: ch },
      msg: msg("status", "node2"),
    });
  }
  step({
    type: "message",
    ...T,
    origin: { kind: "medium", channel: 0 },
    msg: msg("status", "node1"),
  });
  step(tick, [
    { type: "send", msg: msg("status", "node1"), seq: 1 },
    { type: "send", msg: msg("status", "node1"), seq: 2, lost: true },
    { type: "send", msg: msg("NS_rexmit", "node1") },
    { type: "rexmit", seq: 1 },
    { type: "log", prio: "WARN", text: "Late heartbeat: Node node2: interval 600 ms" },
  ]);
  m.logLine("ERROR", 'Respawning client "/usr/lib/heartbeat/ipfail":');
  m.logLine(
    "ERROR",
    "HBREAD process died.  Beginning communications restart process for comm channel 0.",
  );
  now = 2000;
  // node2 dies at 2 s; the take of its group starts at 2.1 s and ends at 2.6 s
  step(tick, [{
    type: "node-status",
    node: "node2",
    kind: "normal",
    status: "dead",
    previous: "active",
  }]);
  now = 2100;
  step(tick, [{
    type: "run",
    id: 7,
    op: "take",
    keys: ["IPaddr::10.0.0.2"],
    reason: "mach_down",
    env: {},
  }]);
  now = 2600;
  src = source("dead", ["IPaddr::10.0.0.1", "IPaddr::10.0.0.2"]);
  step({ type: "group-result", ...T, id: 7, key: "IPaddr::10.0.0.2", result: "started" });
  now = 3000;
  const text = m.render();
  assertEquals(await promtoolCheck(text), { code: 0, output: "" });
  const lines = text.split("\n").filter((l) => !l.startsWith("#"));
  for (
    const want of [
      'hb_node_up{node="node1"} 1',
      'hb_node_up{node="node2"} 0',
      'hb_node_status{node="node2",status="dead"} 1',
      'hb_node_status{node="node2",status="active"} 0',
      'hb_link_up{node="node2",link="eth0"} 0',
      'hb_link_last_packet_age_seconds{node="node2",link="eth0"} 2',
      'hb_link_last_packet_age_seconds{node="node2",link="eth1"} 2',
      "hb_heartbeats_sent_total 1",
      'hb_heartbeats_received_total{node="node2"} 3',
      'hb_late_heartbeats_total{node="node2"} 1',
      "hb_retransmissions_requested_total 1",
      "hb_retransmissions_sent_total 1",
      'hb_packets_rejected_total{reason="auth"} 2',
      'hb_takeovers_total{reason="mach_down"} 1',
      "hb_takeover_last_duration_seconds 0.5",
      "hb_failovers_total 1",
      "hb_failover_last_duration_seconds 0.6",
      'hb_group_owned{group="IPaddr::10.0.0.2"} 1',
      "hb_api_clients 3",
      'hb_process_restarts_total{kind="core"} 1',
      'hb_process_restarts_total{kind="client"} 1',
    ]
  ) assert(lines.includes(want), `missing ${want} in:\n${text}`);
  assertStringIncludes(text, 'hb_build_info{version="0.1.0",heartbeat_version="3.0.6",deno="');
  // no packet from node1 (ourselves) is listed
  assert(!lines.some((l) => l.startsWith('hb_link_last_packet_age_seconds{node="node1"')));
});

Deno.test("metrics: served on /metrics only", async () => {
  const m = new MasterMetrics({
    nodeName: "node1",
    links: [],
    groups: [],
    version: "0.1.0",
    heartbeatVersion: "3.0.6",
  });
  const logs: string[] = [];
  const server = serveMetrics({
    listen: { hostname: "127.0.0.1", port: 0 },
    metrics: m,
    log: (p, t) => logs.push(`${p}: ${t}`),
  })!;
  try {
    const port = (server.addr as Deno.NetAddr).port;
    const r = await fetch(`http://127.0.0.1:${port}/metrics`);
    assertEquals(r.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const body = await r.text();
    assertStringIncludes(body, "# TYPE hb_failovers_total counter\nhb_failovers_total 0\n");
    assertEquals(await promtoolCheck(body), { code: 0, output: "" });
    const nf = await fetch(`http://127.0.0.1:${port}/`);
    assertEquals(nf.status, 404);
    await nf.body?.cancel();
    // a second server on the same port: logged, no throw
    const again = serveMetrics({
      listen: { hostname: "127.0.0.1", port },
      metrics: m,
      log: (p, t) => logs.push(`${p}: ${t}`),
    });
    assertEquals(again, undefined);
    assert(
      logs.some((l) => l.startsWith(`ERROR: metrics_listen 127.0.0.1:${port}: cannot listen`)),
      logs.join("\n"),
    );
  } finally {
    await server.shutdown();
  }
});
