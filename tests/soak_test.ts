/**
 * Soak: an idle two-node hb cluster runs for several minutes with `realtime on` (the default)
 * on two media, beside a real Heartbeat 3.0.6 pair with the same ha.cf on its own testbed. The
 * health invariant (lab/health.ts) must hold on the hb nodes: no core worker died
 * (every worker used to die about every 45 s — V8 aborting on `madvise` of memory locked by
 * `mlockall`), no packet lost, no node death, no ERROR/CRIT line beyond those the real pair
 * logged on the same machine in the same minutes (e.g. "Cannot lock ourselves into memory"
 * where the locked-memory limit is 8 MB).
 *
 * `HB_SOAK_SECONDS` sets the length (default 150 s: three of the old death intervals). The
 * issue's acceptance run used 600.
 *
 * Needs root and the Debian heartbeat package; fails (never skips) without them.
 *
 * @module
 */

import { requireRealHeartbeat } from "./support/mod.ts";
import { assert, assertEquals } from "./assert.ts";
import { waitAllActive } from "./support/interop.ts";
import { pairTestbed, testHaCf, writeNodeFiles } from "./support/cluster.ts";
import {
  assertHealthy,
  authkeys,
  errorLines,
  healthProblems,
  type Impl,
  type Testbed,
} from "./testbed/mod.ts";

const SECONDS = Number(Deno.env.get("HB_SOAK_SECONDS") ?? "150");

async function pair(impl: Impl): Promise<Testbed> {
  const tb = await pairTestbed(`soak-${impl}`, { links: 2 });
  await writeNodeFiles(tb.nodes, {
    haCf: testHaCf({
      keepalive: "200ms",
      deadtime: 2,
      initdead: 4,
      bcast: "eth0 eth1",
      realtime: undefined, // the default, on
      crm: "off",
      node: ["node1", "node2"],
    }),
    authkeys: authkeys("sha1", "soak"),
    haresources: "",
  });
  for (const n of tb.nodes) await n.start({ impl });
  return tb;
}

Deno.test(`soak: idle hb pair, realtime on, 2 media, ${SECONDS} s: no worker death, no loss, no new error`, async () => {
  await requireRealHeartbeat();
  await using hb = await pair("hb");
  await using real = await pair("heartbeat");
  await waitAllActive(hb.nodes, 30_000);
  await waitAllActive(real.nodes, 30_000);
  // judged from the moment both are up: a node that starts sending before its peer's reader
  // is up is seen with a gap in its first numbers (Heartbeat logs the same at a start)
  const from = new Map(
    await Promise.all(hb.nodes.map(async (n) => [n, await n.logOffset()] as const)),
  );
  const started = Date.now();
  // check every 10 s so a broken run fails early, with the lines that broke it
  while (Date.now() - started < SECONDS * 1000) {
    await new Promise((r) => setTimeout(r, Math.min(10_000, SECONDS * 1000)));
    await assertHealthy(hb.nodes, { from });
  }
  const realErrors = new Set<string>();
  for (const n of real.nodes) for (const l of errorLines(await n.readLog())) realErrors.add(l);
  for (const n of hb.nodes) {
    const log = (await n.readLog()).slice(from.get(n));
    assertEquals(healthProblems(log, await n.readConsole()), [], n.name);
    for (const l of errorLines(log)) {
      assert(realErrors.has(l), `${n.name}: "${l}" was not logged by the real pair`);
    }
    assert(!/ is dead/.test(log), `${n.name} declared a node dead:\n${log.slice(-2000)}`);
    const console = await n.readConsole();
    const whole = await n.readLog();
    assert(/pid \d+ locked in memory/.test(whole + console), `${n.name}: no worker was locked`);
  }
  await waitAllActive(hb.nodes);
  console.log(`soak: ${SECONDS} s; ERROR lines of the real pair: ${[...realErrors].join(" | ")}`);
});
