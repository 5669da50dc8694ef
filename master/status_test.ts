import { assert, assertEquals } from "../tests/assert.ts";
import { statusSchema, validate } from "../tests/support/json_schema.ts";
import { formatText, nagios } from "../cli/status.ts";
import { encodeDigest } from "../core/drift.ts";
import { CoreMessage } from "../core/message.ts";
import { NodeCore } from "../core/node_core.ts";
import { monitorStatusOf, StatusCollector } from "./status.ts";

const DIGEST = { haresources: "aaaaaaaaaaaa", authkeys: "bbbbbbbbbbbb", timing: "cccccccccccc" };

function setup() {
  const core = new NodeCore(
    {
      nodeName: "node1",
      nodes: ["node1", "node2"],
      pingNodes: ["198.18.0.254"],
      links: ["eth0"],
      keepaliveMs: 100,
      deadtimeMs: 500,
      warntimeMs: 300,
      initdeadMs: 1000,
      deadpingMs: 1000,
      hopfudge: 1,
      generation: 1,
      uuid: new Uint8Array(16).fill(1),
    },
    {
      groups: [{ node: "node1", key: "rec::g1" }, { node: "node2", key: "rec::g2" }],
      autoFailback: "on",
      stonith: false,
    },
    { version: "0.1.0", digest: DIGEST },
  );
  let now = 1000;
  const status = new StatusCollector({
    nodeName: "node1",
    links: ["eth0"],
    pingNodes: ["198.18.0.254"],
    nodeOrder: ["node1", "node2", "198.18.0.254"],
    groups: [{ node: "node1", key: "rec::g1" }, { node: "node2", key: "rec::g2" }],
    version: "0.1.0",
    heartbeatVersion: "3.0.6",
    now: () => now,
  });
  status.attach(core);
  const feed = (ev: Parameters<NodeCore["handle"]>[0]) => {
    now = ev.now;
    const actions = core.handle(ev);
    status.step(ev, actions);
    return actions;
  };
  return { core, status, feed };
}

Deno.test("status: the document validates against cli/status_schema.json and shows drift", async () => {
  const schema = await statusSchema();
  const { status, feed } = setup();
  const sent = feed({ type: "start", now: 1000, wallClock: 1_700_000_000_000 });
  // our heartbeats carry hbver and hbcfg
  const own = sent.find((a) => a.type === "send" && a.msg.type === "status");
  assert(own?.type === "send");
  assertEquals(own.msg.get("hbver"), "0.1.0");
  assertEquals(own.msg.get("hbcfg"), encodeDigest(DIGEST));
  assertEquals(validate(schema, status.document()), []);

  const peer = CoreMessage.of({
    t: "status",
    st: "up",
    dt: "1f4",
    protocol: "1",
    src: "node2",
    seq: "1",
    hg: "5",
    ts: "65000000",
    ttl: "4",
    hbver: "0.1.0",
    hbcfg: encodeDigest({ ...DIGEST, haresources: "dddddddddddd" }),
  });
  const actions = feed({
    type: "message",
    now: 1050,
    wallClock: 1_700_000_000_050,
    origin: { kind: "medium", channel: 0 },
    msg: peer,
  });
  const warn = actions.filter((a) => a.type === "log" && a.prio === "WARN");
  assertEquals(warn.map((a) => a.type === "log" ? a.text : ""), [
    "Configuration drift: node node2 differs in haresources (ours aaaaaaaaaaaa, theirs dddddddddddd)",
  ]);
  const doc = status.document();
  assertEquals(validate(schema, doc), []);
  assertEquals(doc.nodes.map((n) => [n.name, n.implementation, n.version]), [
    ["node1", "hb", "0.1.0"],
    ["node2", "hb", "0.1.0"],
    ["198.18.0.254", "ping", null],
  ]);
  assertEquals(doc.links[0], {
    node: "node2",
    link: "eth0",
    status: "up",
    last_packet_age_ms: 0,
    packets_received: 1,
  });
  assertEquals(doc.drift.map((d) => [d.node, d.parts]), [["node2", ["haresources"]]]);
  assertEquals(doc.groups.map((g) => g.state), ["unowned", "unowned"]);
  const text = formatText(doc).join("\n");
  assert(text.includes("WARNING: node2 differs in haresources"), text);
  assert(text.includes("(none configured)"), text);
  // not active yet, groups unowned: CRITICAL
  const v = nagios(doc);
  assertEquals(v.code, 2);
  assert(v.line.startsWith("HB CRITICAL - this node is up; group rec::g1 unowned"), v.line);

  // the validator does catch mistakes
  const bad = structuredClone(doc) as unknown as Record<string, unknown>;
  delete bad.links;
  (bad.node as Record<string, unknown>).status = "sleeping";
  assertEquals(validate(schema, bad), [
    "$: missing links",
    '$.node.status: "sleeping" is not one of ["init","up","active","dead"]',
  ]);
});

/** The status document of a healthy node1: active, every group running here, all up. */
function healthyDocument() {
  const doc = setup().status.document();
  doc.node.status = "active";
  doc.groups = doc.groups.map((g) => ({ ...g, owner: "node1", state: "running" }));
  doc.nodes = doc.nodes.map((n) => ({ ...n, status: n.type === "ping" ? "ping" : "active" }));
  doc.links = doc.links.map((l) => ({ ...l, status: "up" }));
  return doc;
}

Deno.test("status: nagios OK and WARNING verdicts", () => {
  const doc = healthyDocument();
  assertEquals(nagios(doc).code, 0);
  assert(nagios(doc).line.startsWith("HB OK - node1 active, 2/2 nodes up, 2/2 links up"));
  doc.nodes[1].status = "dead";
  doc.links[0].status = "dead";
  const w = nagios(doc);
  assertEquals(w.code, 1);
  assert(w.line.startsWith("HB WARNING - node node2 dead;"), w.line);
});

Deno.test("status: monitor states map onto ok, failing and unknown", () => {
  const base = {
    consecutiveFailures: 0,
    failures: 0,
    checks: 3,
    restartsInWindow: 0,
    restarts: 0,
  };
  const got = monitorStatusOf([
    { ...base, resource: "svc", group: "g1", state: "ok" },
    { ...base, resource: "web", group: "g1", state: "restarting", failures: 2 },
    { ...base, resource: "db", group: "g2", state: "idle" },
  ]);
  assertEquals(got.map((m) => [m.name, m.group, m.state, m.failures]), [
    ["svc", "g1", "ok", 0],
    ["web", "g1", "failing", 2],
    ["db", "g2", "unknown", 0],
  ]);
  // on an otherwise healthy node, a failing monitor is a Nagios WARNING
  const doc = healthyDocument();
  doc.monitors = got;
  const v = nagios(doc);
  assertEquals(v.code, 1);
  assert(v.line.includes("monitor web failing"), v.line);
});
