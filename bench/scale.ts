/**
 * Suite 4, scale: N nodes on one bcast segment (keepalive 1s, deadtime 5s, no resources), started
 * one after the other, observed for a window: CPU per node and per cluster, memory per node, and
 * whether membership stayed stable (no `is dead` line in any log during the window, and at the end every node's log
 * shows every other node `active`). Sizes run one after the other.
 *
 * @module
 */

import { BenchCluster, type Impl, LogTail, membershipView, waitAllActive } from "./cluster.ts";
import { cpuSeconds, cpuSnapshot, nodeMemory } from "./proc.ts";
import { fmt, sleep, table, WORKER_DEATH } from "../lab/mod.ts";
import type { Recorder } from "./results.ts";

/** Options of {@link runScale}. */
export interface ScaleOptions {
  /** Implementations (the issue asks for hb; Heartbeat can be added for reference). */
  impls: Impl[];
  /** Cluster sizes. */
  sizes: number[];
  /** Observation window of the largest size (s): the stability run. */
  windowS: number;
  /** Observation window of the smaller sizes (s): CPU and memory against N. */
  trendWindowS: number;
  /** Wait after all members are active (s). */
  settleS: number;
  /** `realtime` directive. */
  realtime: boolean;
  /** Where records go. */
  rec: Recorder;
  /** Progress output. */
  log: (line: string) => void;
}

/** Runs suite 4 and returns its report. */
export async function runScale(opts: ScaleOptions): Promise<string> {
  const largest = Math.max(...opts.sizes);
  for (const impl of opts.impls) {
    for (const size of opts.sizes) {
      await runSize(impl, size, size === largest ? opts.windowS : opts.trendWindowS, opts);
    }
  }
  return scaleReport(opts.rec);
}

async function runSize(
  impl: Impl,
  size: number,
  windowS: number,
  opts: ScaleOptions,
): Promise<void> {
  const names = Array.from({ length: size }, (_, i) => `node${i + 1}`);
  const base = { suite: "scale", impl, nodes: size };
  let c: BenchCluster | undefined;
  try {
    opts.log(`scale ${impl} ${size} nodes: starting`);
    c = await BenchCluster.create({
      impl,
      nodes: names,
      timing: { keepaliveMs: 1000, deadtimeMs: 5000 },
      resources: false,
      realtime: opts.realtime,
      name: `scale-${impl}-${size}`,
    });
    // one after the other, as nodes of a real cluster boot on machines of their own: started all
    // at once, 4N Deno processes compiling their modules on this machine's 2 cores starve the
    // nodes that are already up (the cluster would measure the test machine, not hb)
    const t0Start = performance.now();
    for (const n of c.nodes) await c.start(n);
    opts.log(
      `scale ${impl} ${size} nodes: started in ${Math.round(performance.now() - t0Start)} ms`,
    );
    const missing: string[] = [];
    const activeMs = await waitAllActive(c.nodes, 60_000 + size * 2000, missing);
    if (activeMs === undefined) {
      throw new Error(`not every node saw every other active in time: ${missing.join("; ")}`);
    }
    opts.log(`scale ${impl} ${size} nodes: all active after ${activeMs} ms`);
    await sleep(opts.settleS * 1000);
    const tails = await Promise.all(c.nodes.map((n) => LogTail.at(n)));
    const before = c.nodes.map((n) => cpuSnapshot(n));
    const t0 = performance.now();
    const end = Date.now() + windowS * 1000;
    while (Date.now() < end) {
      await sleep(Math.min(5000, Math.max(0, end - Date.now())));
      for (const t of tails) await t.poll();
    }
    const after = c.nodes.map((n) => cpuSnapshot(n));
    const measuredS = (performance.now() - t0) / 1000;
    const cpu = c.nodes.map((_, i) => cpuSeconds(before[i], after[i]));
    const mem = c.nodes.map((n) => nodeMemory(n));
    for (const t of tails) await t.poll();
    const dead = tails.reduce((n, t) => n + t.matching(/: is dead/).length, 0);
    const workerDeaths = tails.reduce(
      (n, t) => n + WORKER_DEATH.reduce((k, re) => k + t.matching(re).length, 0),
      0,
    );
    let notActive = 0;
    const examples: string[] = [];
    for (const n of c.nodes) {
      const view = membershipView(
        (await n.readLog()).split("\n"),
        names.filter((x) => x !== n.name),
      );
      for (const [peer, s] of view) {
        if (s === "active") continue;
        notActive++;
        if (examples.length < 3) examples.push(`${n.name} sees ${peer} ${s}`);
      }
    }
    const running = c.nodes.filter((n) => n.running).length;
    const cpuTotal = cpu.reduce((a, b) => a + b, 0);
    const rec = {
      ...base,
      kind: "window",
      window_s: Number(measuredS.toFixed(1)),
      active_ms: activeMs,
      cpu_cluster_s: cpuTotal,
      cpu_node_s: cpuTotal / size,
      cpu_node_max_s: Math.max(...cpu),
      cpu_node_pct: (100 * cpuTotal) / size / measuredS,
      pss_node_mb: mem.reduce((a, m) => a + m.pssMb, 0) / size,
      private_node_mb: mem.reduce((a, m) => a + m.privateMb, 0) / size,
      rss_node_mb: mem.reduce((a, m) => a + m.rssMb, 0) / size,
      dead_lines: dead,
      worker_death_lines: workerDeaths,
      not_active_pairs: notActive,
      daemons_running: running,
      stable: dead === 0 && workerDeaths === 0 && notActive === 0 && running === size,
      examples,
    };
    await opts.rec.write(rec);
    opts.log(
      `scale ${impl} ${size} nodes: cpu ${fmt(rec.cpu_node_s, 2)} s/node, pss ${
        fmt(rec.pss_node_mb, 1)
      } MB/node, ${dead} dead lines, ${notActive} pairs not active → ${
        rec.stable ? "stable" : "UNSTABLE"
      }`,
    );
  } catch (e) {
    const reason = e instanceof Error ? e.message.split("\n")[0] : String(e);
    opts.log(`scale ${impl} ${size} nodes: aborted: ${reason}`);
    await opts.rec.write({ ...base, kind: "error", reason });
    if (c) await keepLogs(c, opts.rec.path.replace(/\.jsonl$/, `-scale-${impl}-${size}-logs`));
  } finally {
    await c?.destroy().catch((e) => opts.log(`scale: clean-up: ${e}`));
  }
}

/** Copies every node's ha-log into `dir` (for a run that failed), best effort. */
async function keepLogs(c: BenchCluster, dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    for (const n of c.nodes) await Deno.writeTextFile(`${dir}/${n.name}.log`, await n.readLog());
  } catch {
    // the run is already reported as failed; the logs are a bonus
  }
}

/** The suite's table. */
export function scaleReport(rec: Recorder): string {
  const rows = rec.select("scale", "window").map((r) => [
    String(r.impl),
    String(r.nodes),
    String(r.window_s),
    fmt(r.cpu_node_s as number, 2),
    fmt(r.cpu_node_pct as number, 2),
    fmt(r.cpu_cluster_s as number, 2),
    fmt(r.pss_node_mb as number, 1),
    fmt(r.private_node_mb as number, 1),
    String(r.dead_lines),
    String(r.worker_death_lines ?? "-"),
    String(r.not_active_pairs),
    r.stable ? "yes" : "NO",
  ]);
  for (const r of rec.select("scale", "error")) {
    rows.push([String(r.impl), String(r.nodes), "-", "-", "-", "-", "-", "-", "-", "-", "error"]);
  }
  return [
    "Scale (N nodes, one bcast segment, keepalive 1s / deadtime 5s, no resources; CPU over the " +
    "window; memory summed per node, testbed init excluded)",
    table(
      [
        "impl",
        "nodes",
        "secs",
        "cpu s/node",
        "cpu %/node",
        "cpu s/cluster",
        "pss MB/node",
        "private MB",
        "is dead",
        "worker deaths",
        "not active",
        "stable",
      ],
      rows,
    ),
    "target: 16 hb nodes stable (no 'is dead', every node sees every other active)",
  ].join("\n");
}
