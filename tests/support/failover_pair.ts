/**
 * The two-node failover scenarios shared by `failover_mixed_test.ts` (hb + real Heartbeat) and
 * `failover_hb_test.ts` (two hb nodes): hard kills, failback with `auto_failback` on and off,
 * `hb_standby` on either side, graceful stops of either side. Every step waits for the expected
 * placement of the groups (the service IP group `node1 198.18.0.100/24/eth0 rec::g1` and
 * `node2 rec::g2`), prints how long it took, and the {@link Watch} checks that the IP is never
 * on both connected nodes and that no group ran on both nodes at once.
 *
 * @module
 */

import { sleep } from "./mod.ts";
import { assert, assertEquals } from "../assert.ts";
import {
  assertStable,
  clientReach,
  configure,
  keepLogs,
  logTails,
  type Placement,
  placement,
  SERVICE_SPEC,
  standby,
  stopwatch,
  waitPlacement,
  waitRscstatus,
  Watch,
} from "./failover.ts";
import { type Impl, run, type Testbed, type TestNode, waitFor } from "../testbed/mod.ts";
import { pairTestbed } from "./cluster.ts";

/** The haresources of the pair tests. */
export const PAIR_HARESOURCES = `node1 ${SERVICE_SPEC} rec::g1\nnode2 rec::g2\n`;

/** Normal placement: each group on its preferred node. */
export const NORMAL: Placement = { ip: "node1", g1: "node1", g2: "node2" };
/** Everything on `n`. */
export function allOn(n: string): Placement {
  return { ip: n, g1: n, g2: n };
}

/** One timing observation of a scenario step. */
export interface Timing {
  /** What was measured. */
  step: string;
  /** Milliseconds. */
  ms: number;
}

/**
 * Runs `body` on a fresh two-node testbed (with the client namespace, `links` links) while a
 * {@link Watch} follows the service IP; then keeps the logs as `logs`, prints the step timings
 * and checks the watch.
 */
export async function onWatchedPair(
  opts: { name: string; links: number; logs: string },
  body: (tb: Testbed, watch: Watch, timings: Timing[]) => Promise<void>,
): Promise<void> {
  const timings: Timing[] = [];
  await using tb = await pairTestbed(opts.name, { links: opts.links, client: true });
  const watch = new Watch(tb);
  await watch.start();
  try {
    await body(tb, watch, timings);
  } finally {
    await watch.stop();
    await keepLogs(tb, opts.logs);
    console.table(timings.map((t) => ({ step: t.step, ms: Math.round(t.ms) })));
  }
  await watch.check();
}

/** Options of {@link runPairSuite}. */
export interface PairSuiteOptions {
  /** Implementation of node1 and node2. */
  impls: [Impl, Impl];
  /** auto_failback. */
  autoFailback: "on" | "off";
  /** Collected timings (appended). */
  timings: Timing[];
  /** Steps to run (default all). */
  steps?: ReadonlyArray<"kill" | "standby" | "stop">;
  /** How hb nodes issue hb_standby: hb's personality (default) or the real script. */
  hbStandbyVia?: "hb" | "real";
  /** Extra ha.cf directives (e.g. `bcast: "eth0 eth1"`). */
  haCf?: Record<string, string | number>;
}

/** The line a takeover after a hard kill leaves in the survivor's log. */
function takeoverLine(impl: Impl, dead: string): RegExp {
  return impl === "hb"
    ? new RegExp(`Takeover of group \\S+ from ${dead} complete: \\d+ ms since its last heartbeat`)
    : new RegExp(`mach_down takeover complete for node ${dead}\\.`);
}

/**
 * Starts both nodes (configuration written here) and runs the pair scenarios; leaves the
 * nodes running in {@link NORMAL} placement when failback is on, else wherever the last step
 * left them. The caller owns `watch` (started) and checks it.
 */
export async function runPairSuite(
  tb: Testbed,
  watch: Watch,
  opts: PairSuiteOptions,
): Promise<void> {
  const [n1, n2] = tb.nodes;
  const impl = (n: TestNode) => opts.impls[n === n1 ? 0 : 1];
  const on = opts.autoFailback === "on";
  const steps = new Set(opts.steps ?? ["kill", "standby", "stop"]);
  const lap = stopwatch(`[${opts.impls.join("+")} af=${opts.autoFailback}] `);
  const note = (step: string, ms: number) => {
    opts.timings.push({ step: `${opts.impls.join("+")} af=${opts.autoFailback}: ${step}`, ms });
    lap(`${step}: ${ms.toFixed(0)} ms`);
  };
  await configure(tb, {
    autoFailback: opts.autoFailback,
    haresources: PAIR_HARESOURCES,
    extra: opts.haCf,
  });

  // ---- start-up: each node gets its own group (Heartbeat's ~10 s negotiation)
  const t0 = performance.now();
  await Promise.all([n1.start({ impl: opts.impls[0] }), n2.start({ impl: opts.impls[1] })]);
  await waitPlacement(tb, NORMAL, 30_000);
  note("start-up until each node runs its group", performance.now() - t0);
  await waitRscstatus(n1, ["local"]);
  await waitRscstatus(n2, ["local"]);
  const first = await clientReach(tb);
  assertEquals(first.node, "node1", "the client reaches the service IP on node1");

  let where: Placement = NORMAL;
  const expectAfterReturn = (took: Placement) => on ? NORMAL : took;

  if (steps.has("kill")) {
    for (const [victim, survivor] of [[n1, n2], [n2, n1]] as const) {
      const from = await survivor.logOffset();
      const killedAt = await watch.killHard(victim);
      const took = allOn(survivor.name);
      await waitPlacement(tb, took, 15_000);
      note(
        `hard kill of ${victim.name} (${impl(victim)}) → ${survivor.name} runs every group`,
        performance.now() - killedAt,
      );
      const reach = await clientReach(tb);
      assertEquals(reach.node, survivor.name, "the client reaches the IP on the survivor");
      note(
        `hard kill of ${victim.name} → client reaches the IP on ${survivor.name}`,
        performance.now() - killedAt,
      );
      await survivor.waitForLog(takeoverLine(impl(survivor), victim.name), {
        from,
        timeoutMs: 5000,
      });
      await waitRscstatus(survivor, ["all"]);
      // the victim comes back
      const back = performance.now();
      await victim.start({ impl: impl(victim) });
      where = expectAfterReturn(took);
      await waitPlacement(tb, where, 20_000);
      if (on) {
        note(
          `${victim.name} restarted → failback to ${victim.name} (auto_failback on)`,
          performance.now() - back,
        );
      } else {
        await assertStable(tb, where, 3000);
        note(
          `${victim.name} restarted → groups stay on ${survivor.name} (auto_failback off, watched 3 s)`,
          performance.now() - back,
        );
      }
      await waitRscstatus(n1, on ? ["local"] : victim === n1 ? ["none"] : ["all"], 15_000);
      await waitRscstatus(n2, on ? ["local"] : victim === n1 ? ["all"] : ["none"], 15_000);
      const r = await clientReach(tb);
      assertEquals(r.node, where.ip);
    }
  }

  if (steps.has("standby")) {
    // hb_standby (all) on node1, then on node2, then foreign on node1 to get back to normal
    for (const [asker, other] of [[n1, n2], [n2, n1]] as const) {
      const t = performance.now();
      await standby(asker, "all", {
        via: impl(asker) === "hb" ? opts.hbStandbyVia ?? "hb" : "real",
      });
      await waitPlacement(tb, allOn(other.name), 15_000);
      note(
        `hb_standby on ${asker.name} (${impl(asker)}) → ${other.name} runs every group`,
        performance.now() - t,
      );
      await waitRscstatus(asker, ["none"]);
      await waitRscstatus(other, ["all"]);
      await clientReach(tb);
    }
    const t = performance.now();
    await standby(n1, "foreign", { via: impl(n1) === "hb" ? opts.hbStandbyVia ?? "hb" : "real" });
    await waitPlacement(tb, NORMAL, 15_000);
    note("hb_standby foreign on node1 → back to normal placement", performance.now() - t);
    where = NORMAL;
    await waitRscstatus(n1, ["local"]);
    await waitRscstatus(n2, ["local"]);
  }

  if (steps.has("stop")) {
    for (const [leaver, stayer, via] of [[n1, n2, "command"], [n2, n1, "signal"]] as const) {
      const t = performance.now();
      const from = await stayer.logOffset();
      const stopping = tb.stopSoft(leaver, { via, timeoutMs: 30_000 });
      const took = allOn(stayer.name);
      await waitPlacement(tb, took, 20_000);
      note(
        `graceful stop of ${leaver.name} (${impl(leaver)}, ${
          via === "command" ? "heartbeat -k" : "SIGTERM"
        }) → ${stayer.name} runs every group`,
        performance.now() - t,
      );
      const status = await stopping;
      assertEquals(status.code, 0, `${leaver.name} exits 0 after a graceful stop`);
      note(`graceful stop of ${leaver.name}: daemon exited`, performance.now() - t);
      await stayer.waitForLog(`Received shutdown notice from '${leaver.name}'.`, {
        from,
        timeoutMs: 5000,
      });
      await waitPlacement(tb, took, 5000);
      await clientReach(tb);
      const back = performance.now();
      await leaver.start({ impl: impl(leaver) });
      where = expectAfterReturn(took);
      await waitPlacement(tb, where, 20_000);
      if (!on) await assertStable(tb, where, 3000);
      note(
        `${leaver.name} restarted after graceful stop → ${on ? "failback" : "groups stay"}`,
        performance.now() - back,
      );
      await waitRscstatus(leaver, on ? ["local"] : ["none"], 15_000);
      await waitRscstatus(stayer, on ? ["local"] : ["all"], 15_000);
    }
  }
}

/** Drops (or stops dropping) every heartbeat packet (UDP 694) of `node`, in and out. */
async function blockHeartbeats(node: TestNode, on: boolean): Promise<void> {
  const rules = on
    ? "table inet hbsplit {\n" +
      "  chain in { type filter hook input priority 0; udp dport 694 drop; }\n" +
      "  chain out { type filter hook output priority 0; udp dport 694 drop; }\n}\n"
    : "delete table inet hbsplit\n";
  await run(["ip", "netns", "exec", node.netns, "nft", "-f", "-"], { stdin: rules });
}

/**
 * Split brain of a running pair: node2 is cut off, both sides must take over (and log it),
 * then the partition heals and the cluster must converge to one owner per group (the
 * preferred node) without either daemon restarting, and the client must reach the service IP
 * on node1 again.
 *
 * - `links`: every link of node2 is cut (nothing of node2 reaches the client either);
 * - `heartbeats`: only the heartbeat traffic (UDP 694) of node2 is dropped, the network stays
 *   up, so the client sees node2 take the IP over (its gratuitous ARPs) and, after the heal,
 *   depends on node1 announcing the address again.
 */
export async function splitBrain(
  tb: Testbed,
  watch: Watch,
  timings: Timing[],
  label: string,
  how: "links" | "heartbeats" = "links",
): Promise<void> {
  const [n1, n2] = tb.nodes;
  const lap = stopwatch(`[${label}] `);
  const note = (step: string, ms: number) => {
    timings.push({ step: `${label}: ${step}`, ms });
    lap(`${step}: ${ms.toFixed(0)} ms`);
  };
  // each node runs its own group first (after auto_failback off everything may be on one)
  const p0 = await placement(tb, ["g1", "g2"]);
  if (p0.g2.length !== 1 || p0.g2[0] !== "node2") {
    await standby(n1, "foreign");
    await waitPlacement(tb, NORMAL, 15_000);
  }
  await waitRscstatus(n1, ["local"]);
  await waitRscstatus(n2, ["local"]);
  const pids = [n1.daemonPid, n2.daemonPid];
  const from = [await n1.logOffset(), await n2.logOffset()];
  const what = how === "links" ? "all links of node2 cut" : "heartbeats of node2 dropped";
  let healedAt = 0;
  await watch.allowDuplicates(async () => {
    const t = performance.now();
    if (how === "links") {
      for (let k = 0; k < tb.linkCount; k++) await tb.cutLink(n2, k);
    } else {
      await blockHeartbeats(n2, true);
    }
    await waitFor("both sides run every group", async () => {
      const p = await placement(tb, ["g1", "g2"]);
      return Object.values(p).every((h) => h.length === 2) ? p : undefined;
    }, { timeoutMs: 10_000, intervalMs: 50 }).catch(async (e) => {
      throw new Error(`${e.message}\n${await logTails(tb)}`);
    });
    note(`${what} → both sides run every group`, performance.now() - t);
    await n1.waitForLog(/Takeover of group rec::g2 from node2 complete/, { from: from[0] });
    await n2.waitForLog(/Takeover of group \S+ from node1 complete/, { from: from[1] });
    await sleep(1500);
    healedAt = performance.now();
    if (how === "links") {
      for (let k = 0; k < tb.linkCount; k++) await tb.restoreLink(n2, k);
    } else {
      await blockHeartbeats(n2, false);
    }
    await waitPlacement(tb, NORMAL, 20_000);
    note("healed → one owner per group", performance.now() - healedAt);
  });
  const r = await clientReach(tb, 30_000);
  note(`healed → client reaches the IP on ${r.node}`, performance.now() - healedAt);
  assertEquals(r.node, "node1");
  await assertStable(tb, NORMAL, 2000);
  assertEquals([n1.daemonPid, n2.daemonPid], pids, "neither daemon restarted");
  for (const [i, n] of [n1, n2].entries()) {
    const text = (await n.readLog()).slice(from[i]);
    assert(!/Heartbeat restart|shutdown in progress/.test(text), `${n.name} restarted or stopped`);
    assert(text.includes("resolving to one owner"), `${n.name} logs the resolution`);
  }
  await waitRscstatus(n1, ["local"]);
  await waitRscstatus(n2, ["local"]);
}
