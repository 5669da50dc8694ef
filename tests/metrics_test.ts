/**
 * Prometheus metrics end to end (hb.cf `metrics_listen`, master/metrics.ts): two hb nodes in the
 * testbed, each with `metrics_listen 127.0.0.1:9100` in hb.cf and one resource group
 * (`node1 rec::g1`, `node2 rec::g2`). The test scrapes node1 (curl inside its namespace), checks
 * the output with `promtool check metrics`, hard-kills node2 and scrapes again: the failover and
 * takeover counters went up by one, node2's node and link gauges are 0, node1 holds both groups.
 *
 * Needs root, the testbed's packages and promtool (Debian `prometheus`); fails loudly (never
 * skips) without them.
 *
 * @module
 */

import { assert, assertEquals } from "./assert.ts";
import { configure } from "./support/failover.ts";
import { promtoolCheck } from "./support/promtool.ts";
import { type TestNode, waitFor } from "./testbed/mod.ts";
import { pairTestbed } from "./support/cluster.ts";

/** Samples of a scrape: `name{labels}` → value. */
type Samples = Map<string, number>;

async function scrape(n: TestNode): Promise<{ text: string; samples: Samples }> {
  const r = await n.exec(["curl", "-sS", "--max-time", "2", "http://127.0.0.1:9100/metrics"], {
    timeoutMs: 5000,
  });
  assertEquals(r.code, 0, `curl on ${n.name}: ${r.stderr}`);
  const samples: Samples = new Map();
  for (const line of r.stdout.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    samples.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return { text: r.stdout, samples };
}

async function scrapeUntil(
  n: TestNode,
  what: string,
  pred: (s: Samples) => boolean,
  timeoutMs = 20_000,
): Promise<{ text: string; samples: Samples }> {
  let last: { text: string; samples: Samples } | undefined;
  try {
    await waitFor(what, async () => {
      last = await scrape(n).catch(() => undefined);
      return last !== undefined && pred(last.samples);
    }, { timeoutMs, intervalMs: 100 });
  } catch (e) {
    throw new Error(`${e}\nlast scrape:\n${last?.text ?? "(none)"}`);
  }
  return last!;
}

Deno.test("metrics: scrape, hard-kill the peer, scrape again", async () => {
  await using tb = await pairTestbed("metrics");
  await configure(tb, { autoFailback: "on", haresources: "node1 rec::g1\nnode2 rec::g2\n" });
  for (const n of tb.nodes) {
    await n.writeConfig("hb.cf", "# hb's own\nmetrics_listen 127.0.0.1:9100\n");
  }
  await Promise.all(tb.nodes.map((n) => n.start({ impl: "hb" })));
  const node1 = tb.node("node1");
  const g1 = 'hb_group_owned{group="rec::g1"}';
  const g2 = 'hb_group_owned{group="rec::g2"}';
  const before = await scrapeUntil(
    node1,
    "node1 holds rec::g1 and sees node2 active",
    (s) => s.get(g1) === 1 && s.get('hb_node_status{node="node2",status="active"}') === 1,
  );
  assertEquals(await promtoolCheck(before.text), { code: 0, output: "" });
  const b = before.samples;
  assertEquals(b.get(g2), 0);
  assertEquals(b.get('hb_node_up{node="node2"}'), 1);
  assertEquals(b.get('hb_link_up{node="node2",link="eth0"}'), 1);
  assert((b.get('hb_link_last_packet_age_seconds{node="node2",link="eth0"}') ?? 99) < 1);
  assert((b.get("hb_heartbeats_sent_total") ?? 0) > 0);
  assert((b.get('hb_heartbeats_received_total{node="node2"}') ?? 0) > 0);
  assertEquals(b.get("hb_failovers_total"), 0);
  const takeoversBefore = b.get('hb_takeovers_total{reason="mach_down"}') ?? 0;
  assert([...b.keys()].some((k) => k.startsWith("hb_build_info{")));
  // the peer runs hb, with the same configuration
  assertEquals(b.get('hb_peer_hb{node="node2"}'), 1);
  for (const part of ["haresources", "authkeys", "timing"]) {
    assertEquals(b.get(`hb_config_drift{node="node2",part="${part}"}`), 0, part);
  }

  const killedAt = performance.now();
  await tb.killHard("node2");
  const after = await scrapeUntil(
    node1,
    "node1 took rec::g2 over",
    (s) => s.get("hb_failovers_total") === 1 && s.get(g2) === 1,
  );
  const seen = performance.now() - killedAt;
  assertEquals(await promtoolCheck(after.text), { code: 0, output: "" });
  const a = after.samples;
  assertEquals(a.get('hb_takeovers_total{reason="mach_down"}'), takeoversBefore + 1);
  assertEquals(a.get('hb_node_up{node="node2"}'), 0);
  assertEquals(a.get('hb_node_status{node="node2",status="dead"}'), 1);
  assertEquals(a.get('hb_link_up{node="node2",link="eth0"}'), 0);
  assertEquals(a.get(g1), 1);
  assert((a.get('hb_link_last_packet_age_seconds{node="node2",link="eth0"}') ?? 0) >= 0.5);
  const failover = a.get("hb_failover_last_duration_seconds")!;
  const takeover = a.get("hb_takeover_last_duration_seconds")!;
  assert(failover > 0 && failover >= takeover && failover < 5, `failover ${failover} s`);
  console.log(
    `  failover (dead → group started) ${failover} s, takeover ${takeover} s; ` +
      `counter seen ${(seen / 1000).toFixed(2)} s after the kill`,
  );
});
