/**
 * The rolling migration of README.md ("Migrating a running Heartbeat cluster to hb, and back"),
 * performed on a real Heartbeat 3.0.6 pair in network namespaces while a client pings the
 * service address every 10 ms (issue 15, part 3):
 *
 * 1. replace the standby node (node2) by hb: stop Heartbeat, start hb, wait until both see each
 *    other active;
 * 2. hand over: `hb_standby` on node1 (the real script) gives the service to node2 (hb);
 * 3. replace node1 (now the standby) by hb;
 *
 * then back, the same way:
 *
 * 4. replace the standby node (node1, hb) by Heartbeat;
 * 5. hand over: `hb_standby` on node2 (hb's own) gives the service to node1 (Heartbeat);
 * 6. replace node2 (now the standby, hb) by Heartbeat.
 *
 * The service is `node1 198.18.0.100/24/eth0` (Heartbeat's own IPaddr script). With
 * `auto_failback off` a node that comes back does not pull the service home; a second test runs
 * the same with `auto_failback on`, where replacing node1 ends with the service going home to it
 * (step 3: hb to hb; step 6: Heartbeat to Heartbeat; the rollback then replaces node2 first and
 * hands over from node1). Every step
 * prints the client-visible outage (the echo requests of the step that got no reply, and the
 * longest silence between two replies) and counts how often the address
 * moved (sampled from outside every 50 ms). Asserted: a replacement step never moves the
 * address and the client loses no echo reply; a hand-over step moves it exactly once and ends with the
 * client reaching it on the new holder. hb runs from source (`deno run main.ts`); the package
 * itself is tested by `tests/package_install_test.ts`.
 *
 * Needs root, the testbed's packages and the real Heartbeat 3.0.6; fails loudly otherwise.
 *
 * @module
 */

import { requireRealHeartbeat, sleep } from "./support/mod.ts";
import {
  type Impl,
  Pinger,
  REAL_CL_STATUS,
  type Reply,
  type TestNode,
  waitFor,
} from "./testbed/mod.ts";
import { pairTestbed } from "./support/cluster.ts";
import { assert, assertEquals } from "./assert.ts";
import {
  addresses,
  clientReach,
  configure,
  keepLogs,
  logTails,
  SERVICE_IP,
  SERVICE_SPEC,
  standby,
  waitPlacement,
  waitRscstatus,
} from "./support/failover.ts";

/** The probe's cadence (ms). */
const INTERVAL_MS = 10;

/** `cl_status rscstatus` answers of a node that is not in a resource transition. */
const SETTLED = ["all", "local", "foreign", "none"];

/** One row of the outage table. */
interface StepResult {
  step: string;
  /** Where the service was before and after the step. */
  holder: string;
  /** Longest silence between two replies within the step, ms. */
  longestGapMs: number;
  /**
   * Echo requests of the step that got no reply (missing `icmp_seq` numbers): the outage in
   * units of 10 ms. Unlike a silence, it does not grow when the loaded machine delays the
   * prober itself (ping then sends later, it does not skip a sequence number).
   */
  lostReplies: number;
  /** How often the service address changed hands during the step (a hand-over is one). */
  moves: number;
  /** The step's duration, ms. */
  tookMs: number;
}

/** Samples which nodes carry the service address, from outside, until stopped. */
class HolderSampler {
  readonly seen: string[] = [];
  #stop = false;
  readonly #done: Promise<void>;

  constructor(nodes: readonly TestNode[]) {
    this.#done = (async () => {
      while (!this.#stop) {
        const holders: string[] = [];
        for (const n of nodes) {
          if ((await addresses(n)).includes(SERVICE_IP)) holders.push(n.name);
        }
        const h = holders.join("+") || "nobody";
        if (this.seen.at(-1) !== h) this.seen.push(h);
        await sleep(50);
      }
    })();
  }

  async stop(): Promise<string[]> {
    this.#stop = true;
    await this.#done;
    return this.seen;
  }
}

/**
 * Longest silence (ms) and lost replies (missing sequence numbers) among the replies received
 * in [from, to], counted from the last reply before `from`.
 */
function outage(replies: readonly Reply[], from: number, to: number) {
  const before = replies.filter((r) => r.at < from).at(-1);
  const inside = replies.filter((r) => r.at >= from && r.at <= to);
  const seqs = [...(before ? [before] : []), ...inside].map((r) => r.seq);
  const times = [from, ...inside.map((r) => r.at), to];
  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i] - times[i - 1]);
  let lost = 0;
  for (let i = 1; i < seqs.length; i++) lost += Math.max(0, seqs[i] - seqs[i - 1] - 1);
  return { longest, lost };
}

Deno.test("rolling migration of a Heartbeat 3.0.6 pair to hb and back, auto_failback off", async () => {
  await migrate("off");
});

Deno.test("rolling migration of a Heartbeat 3.0.6 pair to hb and back, auto_failback on", async () => {
  await migrate("on");
});

/**
 * The migration and its way back on a fresh Heartbeat pair. With `auto_failback on` the node1
 * replacements end with the service going home to node1 (one more graceful hand-over each).
 */
async function migrate(autoFailback: "on" | "off"): Promise<void> {
  await requireRealHeartbeat();
  await using tb = await pairTestbed(`roll${autoFailback}`, { client: true });
  const [node1, node2] = tb.nodes;
  const on = autoFailback === "on";
  await configure(tb, { autoFailback, haresources: `node1 ${SERVICE_SPEC}\n` });
  await Promise.all([node1.start({ impl: "heartbeat" }), node2.start({ impl: "heartbeat" })]);
  await waitPlacement(tb, { ip: "node1" }, 30_000);
  await waitRscstatus(node1, SETTLED, 30_000);
  await waitRscstatus(node2, SETTLED, 30_000);
  assertEquals((await clientReach(tb)).node, "node1");

  const pinger = Pinger.start(tb.client!, SERVICE_IP, INTERVAL_MS);
  const results: StepResult[] = [];
  try {
    assert(await pinger.waitReplies(20, Date.now(), 10_000), "the client's pings are answered");

    /** Both nodes see each other active and have settled their resources. */
    const settled = async (holder: TestNode, other: TestNode) => {
      for (const [a, b] of [[node1, node2], [node2, node1]]) {
        await waitFor(`${a.name} sees ${b.name} active`, async () => {
          const r = await a.exec([REAL_CL_STATUS, "nodestatus", b.name], { timeoutMs: 5000 });
          return r.stdout.trim() === "active";
        }, { timeoutMs: 60_000, intervalMs: 100 });
      }
      // (the holder answers local or all, depending on whose group it runs; not transition)
      await waitRscstatus(holder, SETTLED, 30_000);
      await waitRscstatus(other, SETTLED, 30_000);
    };

    const step = async (
      name: string,
      holderBefore: TestNode,
      holderAfter: TestNode,
      action: () => Promise<void>,
    ) => {
      const sampler = new HolderSampler(tb.nodes);
      const from = Date.now();
      await action();
      await waitPlacement(tb, { ip: holderAfter.name }, 30_000);
      await settled(holderAfter, holderAfter === node1 ? node2 : node1);
      // the client reaches the holder again (and a few replies more close the window)
      assert(await pinger.waitReplies(10, Date.now(), 10_000), `${name}: the client gets answers`);
      const to = Date.now();
      const seen = await sampler.stop();
      const o = outage(pinger.replies, from, to);
      const r: StepResult = {
        step: name,
        holder: `${holderBefore.name} → ${holderAfter.name}`,
        longestGapMs: Math.round(o.longest),
        lostReplies: o.lost,
        moves: seen.filter((h) => h !== "nobody").length - 1,
        tookMs: to - from,
      };
      results.push(r);
      console.log(`  ${name}: ${JSON.stringify(r)} (holders seen: ${seen.join(" → ")})`);
      assertEquals(
        (await clientReach(tb)).node,
        holderAfter.name,
        `${name}: the client reaches the service on ${holderAfter.name}`,
      );
      if (holderBefore === holderAfter) {
        assertEquals(seen, [holderBefore.name], `${name}: the service never moved`);
        assertEquals(
          o.lost,
          0,
          `${name}: ${o.lost} echo replies lost although the node replaced held nothing\n${await logTails(
            tb,
          )}`,
        );
      } else {
        assertEquals(
          seen.filter((h) => h !== "nobody"),
          [holderBefore.name, holderAfter.name],
          `${name}: one hand-over`,
        );
      }
    };

    /** Stops the daemon of `node` gracefully (its own stop command) and starts `impl` there. */
    const replace = async (node: TestNode, impl: Impl) => {
      const st = await node.stopSoft({ via: "command", timeoutMs: 60_000 });
      assertEquals(st.code, 0, `${node.name}: graceful stop exits 0`);
      await node.start({ impl });
    };

    // auto_failback on: node1 coming back (step 3 as hb, step 6 as Heartbeat) takes its group home
    await step("1. node2 (standby) Heartbeat → hb", node1, node1, () => replace(node2, "hb"));
    await step("2. hand-over node1 (Heartbeat) → node2 (hb)", node1, node2, () => standby(node1));
    await step(
      "3. node1 (standby) Heartbeat → hb",
      node2,
      on ? node1 : node2,
      () => replace(node1, "hb"),
    );
    // The same three steps back to Heartbeat from where step 3 left the service (`holder`):
    // the other node is replaced, takes the service, then the holder is replaced. The service
    // ends on node1 either way (with auto_failback on, node1 coming back takes it home).
    const [holder, other] = on ? [node1, node2] : [node2, node1];
    await step(
      `4. ${other.name} (standby) hb → Heartbeat`,
      holder,
      holder,
      () => replace(other, "heartbeat"),
    );
    await step(
      `5. hand-over ${holder.name} (hb) → ${other.name} (Heartbeat)`,
      holder,
      other,
      () => standby(holder),
    );
    await step(
      `6. ${holder.name} (standby) hb → Heartbeat`,
      other,
      node1,
      () => replace(holder, "heartbeat"),
    );
  } finally {
    await pinger.stop();
    await keepLogs(tb, `rolling-migration-af-${autoFailback}`);
    console.log(
      `\nrolling migration, auto_failback ${autoFailback}: client-visible outage per step (ping every 10 ms):`,
    );
    console.table(results.map((r) => ({
      step: r.step,
      service: r.holder,
      "lost replies (×10 ms)": r.lostReplies,
      "longest silence ms": r.longestGapMs,
      moves: r.moves,
      "step took ms": r.tookMs,
    })));
  }
}
