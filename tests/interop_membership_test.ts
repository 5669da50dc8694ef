/**
 * Mixed cluster membership: one hb node (node1) and one real Heartbeat 3.0.6 node (node2), for
 * every UDP medium (bcast, ucast, mcast) and every auth method (crc, md5, sha1). Both must
 * reach `active` for each other (the real `cl_status nodestatus` inside each node), neither may
 * log an authentication or format complaint, and a hard kill of either must be logged as
 * `node X: is dead` by the other within deadtime + one keepalive + the survivor's scheduling
 * slack ({@link DETECTION_SLACK}). One testbed per medium, reused for the three auth methods.
 *
 * Needs root and the Debian heartbeat package; fails (never skips) without them.
 *
 * @module
 */

import { requireRealHeartbeat } from "./support/mod.ts";
import { assertEquals } from "./assert.ts";
import {
  checkDetections,
  complaints,
  type DetectionRow,
  MEDIA,
  mediaLogLines,
  membershipRun,
  stopwatch,
  waitAllActive,
} from "./support/interop.ts";
import { authkeys, REAL_CL_STATUS, Testbed, waitFor } from "./testbed/mod.ts";
import { testHaCf, writeNodeFiles } from "./support/cluster.ts";

const rows: DetectionRow[] = [];

for (const media of MEDIA) {
  Deno.test(`interop membership hb ↔ real Heartbeat over ${media}: crc, md5, sha1`, async () => {
    await requireRealHeartbeat();
    await membershipRun(["hb", "heartbeat"], media, rows);
    checkDetections(`hb ↔ real Heartbeat, ${media}`, rows.filter((r) => r.media === media));
  });
}

Deno.test("interop ucast with one ha.cf for all (own address included): hb, real, hb", async () => {
  // Three nodes share one ha.cf naming every node's address: each node has three media all
  // named eth0, one of them to itself. Heartbeat finds a link by the medium's name, so every
  // packet refreshes the first `eth0` link, and the API shows that one: all links `up`.
  await requireRealHeartbeat();
  const lap = stopwatch();
  await using tb = await Testbed.create({
    nodes: ["node1", "node2", "node3"],
    links: 1,
    name: "ucastall",
  });
  const conf = testHaCf({
    udpport: 694,
    bcast: undefined,
    ucast: tb.nodes.map((n) => `eth0 ${n.address(0)}`),
    node: tb.nodes.map((n) => n.name),
  });
  const impls = ["hb", "heartbeat", "hb"] as const;
  await writeNodeFiles(tb.nodes, {
    haCf: conf,
    authkeys: authkeys("md5", "one-conf"),
    haresources: "",
  });
  await Promise.all(tb.nodes.map((n, i) => n.start({ impl: impls[i] })));
  await waitAllActive(tb.nodes);
  lap("all three active");
  const views = async () => {
    const out: string[] = [];
    for (const n of tb.nodes) {
      for (const p of tb.nodes) {
        const r = await n.exec([REAL_CL_STATUS, "hblinkstatus", p.name, "eth0"]);
        out.push(`${n.name}→${p.name}:eth0=${r.stdout.trim()}`);
      }
    }
    return out;
  };
  const want = tb.nodes.flatMap((n) => tb.nodes.map((p) => `${n.name}→${p.name}:eth0=up`));
  let seen: string[] = [];
  await waitFor(
    "every link up on every node",
    async () => JSON.stringify(seen = await views()) === JSON.stringify(want),
    { timeoutMs: 5000, intervalMs: 100 },
  ).catch((e) => {
    throw new Error(`${e.message}: ${seen.filter((v) => !want.includes(v)).join(", ")}`);
  });
  for (const n of tb.nodes) {
    const log = await n.readLog();
    // Three nodes starting together make the resource protocol of the real daemon itself log
    // `ERROR: Received 'starting' message in state 2` now and then (seen with three real
    // nodes); not a membership matter.
    const bad = complaints(log).filter((l) => !/Received 'starting' message in state/.test(l));
    assertEquals(bad, [], `${n.name} complained`);
    // one `Link X:eth0 up.` per node, never dead
    for (const p of tb.nodes) {
      assertEquals(log.split("\n").filter((l) => l.includes(`Link ${p.name}:eth0 `)).length, 1);
    }
  }
  // hb logs the ucast socket lines as the real daemon does, for all three media
  const real = mediaLogLines(await tb.nodes[1].readLog());
  assertEquals(real.length, 21, real.join("\n"));
  assertEquals(mediaLogLines(await tb.nodes[0].readLog()), real);
  lap("links and start lines as the real daemon's");
});
