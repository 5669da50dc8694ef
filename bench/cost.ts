/**
 * Suite 3, cost: an idle two-node cluster (hb and Heartbeat: no resources) per implementation, with 1 or 2
 * media and keepalive 1s or 200ms. After the cluster settled, CPU seconds of each node's
 * processes over a window, then PSS (and RSS, private) summed over the node's processes.
 *
 * The hb and Heartbeat clusters of one configuration run at the same time (they share no
 * program pages, so their PSS does not influence each other); configurations run one after
 * the other, so a node's PSS is not diluted by other clusters of the same program.
 *
 * The peers (`--impl …,keepalived,pacemaker`) run beside them with their service address:
 * keepalived's VRRP instance is the address, and a Corosync + Pacemaker cluster is measured
 * as users run it, with one IPaddr2 address monitored every 10 s (the node holding it costs
 * more than the other; the records keep each node). keepalived has one VRRP instance on eth0
 * whatever the media count; Corosync gets one knet link per medium.
 *
 * @module
 */

import { BenchCluster, type BenchImpl, holdsAddress, SERVICE_IP } from "./cluster.ts";
import { isPeer } from "./peers.ts";
import {
  cpuSeconds,
  cpuSnapshot,
  nodeMemory,
  procMemory,
  type ProcSample,
  procSnapshot,
} from "./proc.ts";
import type { Recorder } from "./results.ts";
import { fmt, ratio, sleep, summarize, table } from "../lab/mod.ts";

/** One cost configuration. */
export interface CostGroup {
  /** Number of media (bcast on eth0, eth1, …). */
  media: number;
  /** keepalive in ms (deadtime is 5 × keepalive). */
  keepaliveMs: number;
}

/** Options of {@link runCost}. */
export interface CostOptions {
  /** Implementations (the peers run with their service address: see the module doc). */
  impls: BenchImpl[];
  /** Configurations. */
  groups: CostGroup[];
  /** Measurement window (s). */
  windowS: number;
  /** Wait after both nodes are active before measuring (s); covers Heartbeat's ~10 s start-up negotiation. */
  settleS: number;
  /** `realtime` directive. */
  realtime: boolean;
  /** Where records go. */
  rec: Recorder;
  /** Progress output. */
  log: (line: string) => void;
  /** Also record and report each process: memory, CPU, wake-ups (`cost --breakdown`). */
  breakdown?: boolean;
}

/** Runs suite 3 and returns its report text. */
export async function runCost(opts: CostOptions): Promise<string> {
  for (const g of opts.groups) {
    const label = `${g.media} medi${g.media === 1 ? "um" : "a"}, keepalive ${g.keepaliveMs}ms`;
    opts.log(`cost ${label}: starting ${opts.impls.join(" and ")} clusters`);
    const clusters: BenchCluster[] = [];
    try {
      for (const impl of opts.impls) {
        clusters.push(
          await BenchCluster.create({
            impl,
            timing: { keepaliveMs: g.keepaliveMs, deadtimeMs: 5 * g.keepaliveMs },
            media: g.media,
            resources: false,
            realtime: opts.realtime,
            name: `cost-${impl}-${g.media}-${g.keepaliveMs}`,
          }),
        );
      }
      const usable: BenchCluster[] = [];
      await Promise.all(clusters.map(async (c) => {
        try {
          await c.startAll();
          // Pacemaker elects its first DC after dc-deadtime (20 s)
          const ms = await c.waitMembers(isPeer(c.impl) ? 90_000 : 30_000);
          if (ms === undefined) throw new Error("nodes did not see each other active in time");
          // the peers' address is up (Pacemaker's monitor runs) before the window
          if (isPeer(c.impl)) await waitHolder(c);
          usable.push(c);
        } catch (e) {
          const reason = e instanceof Error ? e.message.split("\n")[0] : String(e);
          opts.log(`cost ${label} ${c.impl}: ${reason}`);
          await opts.rec.write({
            suite: "cost",
            kind: "error",
            impl: c.impl,
            media: g.media,
            keepalive_ms: g.keepaliveMs,
            reason,
          });
        }
      }));
      await sleep(opts.settleS * 1000);
      const before = usable.map((c) => c.nodes.map((n) => cpuSnapshot(n)));
      const procsBefore = usable.map((c) => c.nodes.map((n) => procSnapshot(n)));
      const t0 = performance.now();
      await sleep(opts.windowS * 1000);
      const after = usable.map((c) => c.nodes.map((n) => cpuSnapshot(n)));
      const procsAfter = usable.map((c) => c.nodes.map((n) => procSnapshot(n)));
      const windowS = (performance.now() - t0) / 1000;
      if (opts.breakdown) {
        for (const [i, c] of usable.entries()) {
          for (const [j, n] of c.nodes.entries()) {
            for (const a of procsAfter[i][j].values()) {
              await opts.rec.write({
                suite: "cost",
                kind: "process",
                impl: c.impl,
                media: g.media,
                keepalive_ms: g.keepaliveMs,
                node: n.name,
                ...processRecord(a, procsBefore[i][j].get(a.key), windowS),
              });
            }
          }
        }
      }
      for (const [i, c] of usable.entries()) {
        for (const [j, n] of c.nodes.entries()) {
          const mem = nodeMemory(n);
          const cpu = cpuSeconds(before[i][j], after[i][j]);
          await opts.rec.write({
            suite: "cost",
            kind: "node",
            impl: c.impl,
            media: g.media,
            keepalive_ms: g.keepaliveMs,
            node: n.name,
            window_s: Number(windowS.toFixed(2)),
            cpu_s: cpu,
            cpu_pct: (100 * cpu) / windowS,
            pss_mb: mem.pssMb,
            rss_mb: mem.rssMb,
            private_mb: mem.privateMb,
            processes: mem.processes,
            running: n.running,
            holds_address: isPeer(c.impl) ? await holdsAddress(n, SERVICE_IP) : undefined,
          });
          opts.log(
            `cost ${label} ${c.impl} ${n.name}: cpu ${cpu.toFixed(2)} s in ${
              windowS.toFixed(0)
            } s, pss ${mem.pssMb.toFixed(1)} MB (${mem.processes} processes)`,
          );
        }
      }
    } finally {
      for (const c of clusters) await c.destroy().catch((e) => opts.log(`cost: clean-up: ${e}`));
    }
  }
  const report = costReport(opts.rec, opts.impls, opts.groups);
  return opts.breakdown
    ? `${report}\n\n${costBreakdown(opts.rec, opts.impls, opts.groups)}`
    : report;
}

/** Waits (up to 30 s) until exactly one node of `c` holds the service address. */
async function waitHolder(c: BenchCluster): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await c.ipHolders()).length !== 1) {
    if (Date.now() > deadline) throw new Error("the service address did not come up in 30 s");
    await sleep(200);
  }
}

/** Fields of one process's `kind: "process"` record. */
function processRecord(
  a: ProcSample,
  b: ProcSample | undefined,
  windowS: number,
): Record<string, unknown> {
  const mem = procMemory(a.key);
  return {
    title: role(a.title),
    window_s: Number(windowS.toFixed(2)),
    cpu_s: (a.ticks - (b?.ticks ?? 0)) / 100,
    wakeups_per_s: (a.allSwitches - (b?.allSwitches ?? 0)) / windowS,
    main_wakeups_per_s: (a.mainVoluntary - (b?.mainVoluntary ?? 0)) / windowS,
    threads: a.threads,
    pss_mb: mem?.pssMb,
    private_mb: mem?.privateMb,
    rss_mb: mem?.rssMb,
  };
}

/**
 * A process's role from its title: Heartbeat's and hb's titles (`heartbeat: master control
 * process`, `heartbeat: write: bcast eth0`); anything else by its program name.
 */
function role(title: string): string {
  const t = title.trim();
  if (t.startsWith("heartbeat:")) return t.replace(/^heartbeat:\s*/, "").replace(/\s+/g, " ");
  return (t.split(" ")[0] ?? "").split("/").pop() ?? t;
}

/**
 * The breakdown table (`cost --breakdown`): per configuration, implementation and process
 * role, means over the nodes of PSS, private memory, CPU over the window, and wake-ups per
 * second (context switches of all threads; of the main thread, voluntary only).
 */
export function costBreakdown(rec: Recorder, impls: BenchImpl[], groups: CostGroup[]): string {
  const rows: string[][] = [];
  for (const g of groups) {
    for (const impl of impls) {
      const rs = rec.select("cost", "process").filter((r) =>
        r.impl === impl && r.media === g.media && r.keepalive_ms === g.keepaliveMs
      );
      if (!rs.length) continue;
      const nodes = new Set(rs.map((r) => r.node)).size;
      const roles = [...new Set(rs.map((r) => r.title as string))];
      const sum = (xs: Record<string, unknown>[], k: string) =>
        xs.reduce((s, r) => s + ((r[k] as number | undefined) ?? 0), 0);
      /** One row: the processes `xs` (per node), labelled `label`; `threads` per process. */
      const row = (label: string, xs: typeof rs, threads: string) => [
        String(g.media),
        `${g.keepaliveMs}ms`,
        impl,
        label,
        fmt(xs.length / nodes, 1),
        fmt(sum(xs, "pss_mb") / nodes, 1),
        fmt(sum(xs, "private_mb") / nodes, 1),
        fmt(sum(xs, "cpu_s") / nodes, 2),
        fmt(sum(xs, "wakeups_per_s") / nodes, 1),
        fmt(sum(xs, "main_wakeups_per_s") / nodes, 1),
        threads,
      ];
      for (const t of roles) {
        const xs = rs.filter((r) => r.title === t);
        rows.push(row(t, xs, fmt(sum(xs, "threads") / xs.length, 0)));
      }
      rows.push(row("= node", rs, ""));
    }
  }
  return [
    "Idle cost per process (means per node; testbed init excluded; wake-ups = context switches " +
    "per second, all threads; main = voluntary switches of the main thread)",
    table(
      [
        "media",
        "keepalive",
        "impl",
        "process",
        "n",
        "pss MB",
        "private MB",
        "cpu s",
        "wake/s",
        "main/s",
        "threads",
      ],
      rows,
    ),
  ].join("\n");
}

/**
 * The targets of one configuration (issue 17), each `name: met|missed|?`. CPU limits in
 * seconds are per 60 s: the window's CPU is scaled to 60 s.
 */
export function costTargets(
  g: CostGroup,
  hb: { cpu?: number; pss?: number; window?: number },
  ref: { cpu?: number },
): string[] {
  const verdict = (ok: boolean | undefined) => ok === undefined ? "?" : ok ? "met" : "missed";
  const out: string[] = [];
  const pssMax = g.media >= 2 ? 72 : 55;
  out.push(`pss <= ${pssMax} MB: ${verdict(hb.pss === undefined ? undefined : hb.pss <= pssMax)}`);
  const ratioOk = (k: number) =>
    hb.cpu === undefined || ref.cpu === undefined ? undefined : hb.cpu <= k * ref.cpu;
  if (g.keepaliveMs <= 200) out.push(`cpu <= 3x HB3: ${verdict(ratioOk(3))}`);
  else if (g.media === 1) out.push(`cpu <= 4x HB3: ${verdict(ratioOk(4))}`);
  else if (g.keepaliveMs === 1000) {
    const per60 = hb.cpu === undefined || !hb.window ? undefined : (hb.cpu * 60) / hb.window;
    out.push(`cpu <= 0.32 s/60 s: ${verdict(per60 === undefined ? undefined : per60 <= 0.32)}`);
  }
  return out;
}

/** The suite's table: per configuration and implementation, means per node and ratios. */
export function costReport(rec: Recorder, impls: BenchImpl[], groups: CostGroup[]): string {
  const rows: string[][] = [];
  for (const g of groups) {
    const per = new Map<BenchImpl, { cpu?: number; pss?: number; window?: number }>();
    for (const impl of impls) {
      const rs = rec.select("cost", "node").filter((r) =>
        r.impl === impl && r.media === g.media && r.keepalive_ms === g.keepaliveMs
      );
      const mean = (k: string) =>
        rs.length ? rs.reduce((s, r) => s + (r[k] as number), 0) / rs.length : undefined;
      const cpu = mean("cpu_s");
      const pss = mean("pss_mb");
      const win = summarize(rs.map((r) => r.window_s as number)).median;
      per.set(impl, { cpu, pss, window: win });
      rows.push([
        String(g.media),
        `${g.keepaliveMs}ms`,
        impl,
        String(rs.length),
        fmt(win, 0),
        fmt(cpu, 2),
        fmt(mean("cpu_pct"), 2),
        fmt(pss, 1),
        fmt(mean("private_mb"), 1),
        fmt(mean("rss_mb"), 1),
        fmt(mean("processes"), 0),
      ]);
    }
    for (const peer of impls.filter(isPeer)) {
      // the peers' address holder and the other node, separately (Pacemaker's differ)
      const rs = rec.select("cost", "node").filter((r) =>
        r.impl === peer && r.media === g.media && r.keepalive_ms === g.keepaliveMs
      );
      for (const holder of [true, false]) {
        const r = rs.find((x) => x.holds_address === holder);
        if (!r) continue;
        rows.push([
          "",
          "",
          `${peer} ${holder ? "holder" : "standby"}`,
          "1",
          fmt(r.window_s as number, 0),
          fmt(r.cpu_s as number, 2),
          fmt(r.cpu_pct as number, 2),
          fmt(r.pss_mb as number, 1),
          fmt(r.private_mb as number, 1),
          fmt(r.rss_mb as number, 1),
          fmt(r.processes as number, 0),
        ]);
      }
    }
    if (impls.includes("hb") && impls.includes("pacemaker")) {
      const h = per.get("hb") ?? {};
      const p = per.get("pacemaker") ?? {};
      rows.push(["", "", "hb/pcmk", "", "", ratio(h.cpu, p.cpu), "", ratio(h.pss, p.pss)]);
    }
    if (impls.includes("hb") && impls.includes("heartbeat")) {
      const h = per.get("hb") ?? {};
      const r = per.get("heartbeat") ?? {};
      rows.push([
        "",
        "",
        "hb/HB3",
        "",
        "",
        ratio(h.cpu, r.cpu),
        "",
        ratio(h.pss, r.pss),
        "",
        "",
        "",
        costTargets(g, h, r).join("; "),
      ]);
    }
  }
  return [
    "Idle cost per node (2-node cluster; hb, heartbeat: no resources; keepalived: its VRRP " +
    "address; pacemaker: one IPaddr2 address, monitor every 10 s; CPU = all of the node's " +
    "processes over the window; memory summed over the node's processes, testbed init " +
    "excluded; means of both nodes, the peers' holder and standby node below them)",
    table(
      [
        "media",
        "keepalive",
        "impl",
        "nodes",
        "window s",
        "cpu s",
        "cpu %",
        "pss MB",
        "private MB",
        "rss MB",
        "procs",
        "targets",
      ],
      rows,
    ),
    "targets (issue 17): PSS per node <= 72 MB with 2 media, <= 55 MB with 1; CPU per node " +
    "<= 0.32 s per 60 s at keepalive 1s with 2 media, <= 4x Heartbeat's with 1 medium at 1s, " +
    "<= 3x Heartbeat's at 200ms",
  ].join("\n");
}
