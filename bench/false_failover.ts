/**
 * Suite 2, false failovers: healthy two-node clusters with two media (bcast eth0 and eth1)
 * and the service address group, left running for a while under
 *
 * - `cpu`: `stress-ng --cpu 2` saturating both cores (bounded by its own `--timeout`),
 * - `loss`: 30 % random loss on medium 2 (eth1) of node1, both directions (testbed addLoss),
 * - `both`: the two together.
 *
 * Counted per cluster: `is dead` lines in all nodes' logs (false dead declarations),
 * takeover lines (`Taking over resource group`, `Acquiring resource group`), and, from
 * sampling which node holds the service address every second, owner changes and samples
 * where two nodes or none held it. `loss` clusters are observed first without stress, then
 * `cpu` and `both` clusters together under one stress window. Within a window, hb and
 * Heartbeat clusters run side by side under the same conditions.
 *
 * @module
 */

import {
  BenchCluster,
  type Impl,
  LogTail,
  type Timing,
  timingLabel,
  waitAllActive,
} from "./cluster.ts";
import { sleep, table, tied, trackChild, WORKER_DEATH } from "../lab/mod.ts";
import type { Recorder } from "./results.ts";

/** A fault condition. */
export type Condition = "cpu" | "loss" | "both";

/** Options of {@link runFalseFailovers}. */
export interface FalseOptions {
  /** Implementations. */
  impls: Impl[];
  /** Timer configurations. */
  timings: Timing[];
  /** Conditions to run. */
  conditions: Condition[];
  /** Length of each observation window (s). */
  durationS: number;
  /** Loss on the lossy medium (%). */
  lossPct: number;
  /** `realtime` directive. */
  realtime: boolean;
  /** Where records go. */
  rec: Recorder;
  /** Progress output. */
  log: (line: string) => void;
}

const DEAD = /: is dead/;
const TAKEOVER = /Taking over resource group|Acquiring resource group/;

/**
 * Runs suite 2 and returns its report: all clusters start together; the loss-only clusters
 * are observed first (no stress) and removed, then the `cpu` and `both` clusters under one
 * stress-ng window.
 */
export async function runFalseFailovers(opts: FalseOptions): Promise<string> {
  const watched: Watched[] = [];
  try {
    for (const condition of opts.conditions) {
      for (const timing of opts.timings) {
        for (const impl of opts.impls) {
          const c = await BenchCluster.create({
            impl,
            timing,
            media: 2,
            realtime: opts.realtime,
            name: `false-${condition}-${impl}-${timingLabel(timing).replace("/", "-")}`,
          });
          watched.push({
            c,
            condition,
            tails: [],
            prev: undefined,
            changes: 0,
            split: 0,
            empty: 0,
            samples: 0,
            holderStart: undefined,
          });
        }
      }
    }
    opts.log(`false: starting ${watched.length} clusters`);
    await Promise.all(watched.map(async (w) => {
      await w.c.startAll();
      const ms = await waitAllActive(w.c.nodes, 30_000);
      if (ms === undefined) opts.log(`false ${w.c.impl}: members not active within 30 s`);
    }));
    // Every cluster holds its address before the windows start (Heartbeat's start-up resource
    // negotiation takes about 11 s; hb's first acquisition can come after its members are
    // active too): otherwise the first acquisition would count as a takeover in the window.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const held = await Promise.all(watched.map((w) => w.c.ipHolders()));
      if (held.every((h) => h.length === 1)) break;
      await sleep(500);
    }
    await sleep(2000);
    const calm = watched.filter((w) => w.condition === "loss");
    if (calm.length) {
      await observe(calm, false, opts);
      for (const w of calm) await w.c.destroy().catch((e) => opts.log(`false: clean-up: ${e}`));
    }
    const stressed = watched.filter((w) => w.condition !== "loss");
    if (stressed.length) await observe(stressed, true, opts);
  } finally {
    for (const w of watched) await w.c.destroy().catch((e) => opts.log(`false: clean-up: ${e}`));
  }
  return falseReport(opts.rec);
}

interface Watched {
  c: BenchCluster;
  condition: Condition;
  tails: LogTail[];
  prev: string | undefined;
  changes: number;
  split: number;
  empty: number;
  samples: number;
  holderStart: string | undefined;
}

async function observe(watched: Watched[], stress: boolean, opts: FalseOptions): Promise<void> {
  const what = [...new Set(watched.map((w) => w.condition))].join("+");
  let stressProc: Deno.ChildProcess | undefined;
  try {
    for (const w of watched) {
      if (w.condition !== "cpu") await w.c.tb.addLoss(w.c.nodes[0], 1, opts.lossPct, "both");
      w.tails = await Promise.all(w.c.nodes.map((n) => LogTail.at(n)));
      const h = await w.c.ipHolders();
      w.prev = h.join(",");
      w.holderStart = w.prev || undefined;
    }
    if (stress) {
      const [cmd, ...args] = tied([
        "stress-ng",
        "--cpu",
        "2",
        "--timeout",
        `${opts.durationS + 2}s`,
        "--quiet",
      ]);
      stressProc = new Deno.Command(cmd, {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      trackChild(stressProc);
    }
    opts.log(
      `false ${what}${stress ? " under stress-ng --cpu 2" : ""}: observing ${watched.length} ` +
        `clusters for ${opts.durationS} s`,
    );
    const t0 = Date.now();
    while (Date.now() - t0 < opts.durationS * 1000) {
      await sleep(1000);
      await Promise.all(watched.map(async (w) => {
        const h = (await w.c.ipHolders()).join(",");
        w.samples++;
        if (h !== w.prev) w.changes++;
        if (h.includes(",")) w.split++;
        if (!h && w.holderStart) w.empty++;
        w.prev = h;
        for (const t of w.tails) await t.poll();
      }));
    }
    const elapsed = (Date.now() - t0) / 1000;
    if (stressProc) {
      try {
        stressProc.kill("SIGKILL");
      } catch {
        // gone
      }
      await stressProc.status;
      stressProc = undefined;
    }
    for (const w of watched) {
      for (const t of w.tails) await t.poll();
      const dead = w.tails.reduce((n, t) => n + t.matching(DEAD).length, 0);
      const takeovers = w.tails.reduce((n, t) => n + t.matching(TAKEOVER).length, 0);
      // a core worker's death or restart (lab/health.ts): must be 0
      const workerDeaths = w.tails.reduce(
        (n, t) => n + WORKER_DEATH.reduce((k, re) => k + t.matching(re).length, 0),
        0,
      );
      const rec = {
        suite: "false",
        kind: "window",
        impl: w.c.impl,
        condition: w.condition,
        timing: timingLabel(w.c.timing),
        keepalive_ms: w.c.timing.keepaliveMs,
        deadtime_ms: w.c.timing.deadtimeMs,
        duration_s: Number(elapsed.toFixed(1)),
        loss_pct: w.condition === "cpu" ? 0 : opts.lossPct,
        dead_lines: dead,
        takeover_lines: takeovers,
        worker_death_lines: workerDeaths,
        owner_changes: w.changes,
        split_samples: w.split,
        empty_samples: w.empty,
        samples: w.samples,
        holder_start: w.holderStart,
        daemons_running: w.c.nodes.filter((n) => n.running).length,
        dead_examples: w.tails.flatMap((t) => t.matching(DEAD).map((l) => l.text)).slice(0, 3),
      };
      await opts.rec.write(rec);
      opts.log(
        `false ${w.condition} ${w.c.impl} ${rec.timing}: ${dead} dead lines, ${takeovers} takeover ` +
          `lines, ${workerDeaths} worker death lines, ${w.changes} owner changes, ` +
          `${rec.daemons_running}/2 daemons running`,
      );
    }
  } finally {
    if (stressProc) {
      try {
        stressProc.kill("SIGKILL");
      } catch {
        // gone
      }
      await stressProc.status.catch(() => {});
    }
  }
}

/** The suite's table. */
export function falseReport(rec: Recorder): string {
  const rows = rec.select("false", "window").map((r) => [
    String(r.condition),
    String(r.timing),
    String(r.impl),
    String(r.duration_s),
    String(r.dead_lines),
    String(r.takeover_lines),
    String(r.worker_death_lines ?? "-"),
    String(r.owner_changes),
    String(r.split_samples),
    String(r.empty_samples),
    r.holder_start ? String(r.holder_start) : "none",
    `${r.daemons_running}/2`,
  ]);
  return [
    "False failovers (healthy 2-node clusters, 2 media; cpu = stress-ng --cpu 2, loss = 30% on " +
    "eth1 of node1; counts over the window, both nodes' logs; samples every 1 s)",
    table(
      [
        "condition",
        "timing",
        "impl",
        "secs",
        "is dead",
        "takeovers",
        "worker deaths",
        "owner chg",
        "split",
        "no owner",
        "holder",
        "up",
      ],
      rows,
    ),
    "target: zero false failovers (no 'is dead' line) and no worker death for hb",
  ].join("\n");
}
