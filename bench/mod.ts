/**
 * `deno task bench`: hb side by side with the real Heartbeat 3.0.6 (and, in the failover and
 * cost suites, keepalived and Corosync + Pacemaker: `peers.ts`), in one run on one machine
 * (only ratios within a run mean anything). See `bench/README.md`.
 *
 * ```
 * deno task bench [failover] [false] [cost] [scale] [chaos] [service] [--quick] [options]
 * ```
 *
 * Prints the tables, writes raw results as JSON lines to `bench/results/<stamp>.jsonl`, the
 * report to `<stamp>.txt` and the failover plot to `<stamp>-failover.png`. Exits 0 when the
 * harness worked, whatever hb's numbers are; 1 when the harness itself broke (a suite threw,
 * or the reference Heartbeat could not be measured); 2 on bad usage.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { BenchImpl, Impl, Timing } from "./cluster.ts";
import { isPeer } from "./peers.ts";
import { type CostGroup, runCost } from "./cost.ts";
import { failoverSeries, runFailover } from "./failover.ts";
import { type Condition, runFalseFailovers } from "./false_failover.ts";
import { hbIpaddr, installGuard, killChildren, run } from "../lab/mod.ts";
import { plotFailover } from "./plot.ts";
import { Recorder } from "./results.ts";
import { runScale } from "./scale.ts";
import { runChaos } from "./chaos.ts";
import { runService } from "./service.ts";
import { HB_FORMS, type HbForm, useHbForm } from "./hb_form.ts";

/** The suites, in the order they run. */
export const SUITES = ["failover", "false", "cost", "scale", "chaos", "service"] as const;
/** A suite name. */
export type Suite = typeof SUITES[number];

const HELP = `Usage: deno task bench [SUITE...] [OPTIONS]

Benchmarks hb against the real Heartbeat 3.0.6, keepalived 2.2.7 and Corosync 3 +
Pacemaker 2 on this machine (needs root, the Debian packages heartbeat, nftables,
iputils-ping, stress-ng, keepalived, corosync, pacemaker, resource-agents).

Suites (default: all, in this order):
  failover   hard kill of the active node -> first ping reply from the survivor on
             the service address, detection time, graceful stop hand-over
             (hb, Heartbeat and the peers keepalived, Corosync + Pacemaker)
  false      false dead declarations / resource moves under CPU stress and loss
  cost       idle CPU and PSS per node, 1 and 2 media, keepalive 1s and 200ms
             (hb, Heartbeat and the peers)
  scale      2..16 hb nodes on one segment: CPU, memory, membership stability
  chaos      availability under the fault campaign of deno task chaos, hb pair
             and real Heartbeat pair on the same seeded schedule
  service    service death -> first answered request: hb health checks (local
             restart, escalation to the peer) beside a keepalived pair with a
             vrrp_script at the same interval and fall (needs keepalived)

Options:
  --quick              CI size: whole set in about 6 minutes
  --out DIR            results directory (default bench/results)
  --impl LIST          implementations, comma separated: hb, heartbeat and the peers
                       keepalived (VRRPv3) and pacemaker (Corosync 3 + Pacemaker 2),
                       which take part in the failover and cost suites only; all = the
                       four (default all; quick hb,heartbeat,keepalived)
  --trials N           failover: hard-kill trials per configuration (20; quick 3)
  --peer-trials N      failover: hard-kill trials of keepalived and Pacemaker per
                       configuration (min(--trials, 10): they are the reference, and
                       keep the full set's duration in bounds)
  --soft-trials N      failover: graceful-stop trials per configuration (3; quick 1)
  --timings LIST       failover: keepalive/deadtime in ms, e.g. 1000/5000,200/1000
  --duration S         false: seconds per window (600; quick 20)
  --cost-window S      cost: measurement window (60; quick 10)
  --cost-groups LIST   cost: MEDIA/KEEPALIVE_MS configurations, e.g. 1/1000,2/200
  --breakdown          cost: also a table per process (memory, CPU, wake-ups/s)
  --scale-sizes LIST   scale: cluster sizes (2,4,8,16; quick 4,8)
  --scale-window S     scale: stability window of the largest size (300; quick 20)
  --scale-trend-window S
                       scale: window of the smaller sizes (60; quick 20)
  --scale-impl LIST    scale: implementations (default hb)
  --chaos-faults N     chaos: faults per implementation (20; quick 4)
  --service-trials N   service: trials per implementation (10; quick 2)
  --chaos-seed S       chaos: schedule seed (default 1)
  --realtime on|off    ha.cf realtime directive for both (default on, Heartbeat's default)
  --hb-form F          bundle: hb as the package and the compiled binary ship it
                       (packaging/bundle.ts; default); source: from the checkout's
                       TypeScript, as the tests run it
  -h, --help           this text

Environment: HB_BENCH_IPADDR=builtin (default) gives hb nodes hb's built-in IPaddr
agent (a node with only the hb binary); =script keeps Heartbeat's shell script in
resource.d, which hb's on-disk lookup then prefers.

Exit status: 0 = harness worked (hb's numbers are reported, never asserted),
1 = the harness broke, 2 = usage error.`;

/** Parsed settings of a run. */
export interface BenchSettings {
  /** Suites to run. */
  suites: Suite[];
  /** Quick (CI) mode. */
  quick: boolean;
  /** Results directory. */
  outDir: string;
  /** Implementations compared (the peers only in the failover and cost suites). */
  impls: BenchImpl[];
  /** Failover timings. */
  timings: Timing[];
  /** Failover hard trials per configuration. */
  trials: number;
  /** Failover hard trials per configuration of the peers. */
  peerTrials: number;
  /** Failover soft trials per configuration. */
  softTrials: number;
  /** False-failover window (s). */
  durationS: number;
  /** False-failover timings. */
  falseTimings: Timing[];
  /** Cost configurations. */
  costGroups: CostGroup[];
  /** Cost window (s). */
  costWindowS: number;
  /** Cost: per-process breakdown. */
  breakdown: boolean;
  /** Scale sizes. */
  scaleSizes: number[];
  /** Scale window of the largest size (s). */
  scaleWindowS: number;
  /** Scale window of the smaller sizes (s). */
  scaleTrendWindowS: number;
  /** Scale implementations. */
  scaleImpls: Impl[];
  /** `realtime` directive. */
  realtime: boolean;
  /** Chaos: faults per implementation. */
  chaosFaults: number;
  /** Chaos: schedule seed. */
  chaosSeed: number;
  /** Service: trials per implementation. */
  serviceTrials: number;
  /** How hb runs: bundled (as shipped) or from source. */
  hbForm: HbForm;
}

function parseTimings(s: string): Timing[] {
  return s.split(",").map((p) => {
    const m = /^(\d+)\/(\d+)$/.exec(p.trim());
    if (!m) throw new Error(`--timings: "${p}" is not KEEPALIVE_MS/DEADTIME_MS`);
    return { keepaliveMs: Number(m[1]), deadtimeMs: Number(m[2]) };
  });
}

/** The implementations `--impl all` selects. */
export const ALL_IMPLS: BenchImpl[] = ["hb", "heartbeat", "keepalived", "pacemaker"];
/** The default `--impl` of a full run: all four (the peers in the failover and cost suites). */
export const FULL_IMPLS: BenchImpl[] = ALL_IMPLS;
/**
 * The default `--impl` of `--quick`: Pacemaker's start (its first DC election waits
 * dc-deadtime, 20 s, per configuration) is not quick; keepalived's is.
 */
export const QUICK_IMPLS: BenchImpl[] = ["hb", "heartbeat", "keepalived"];

function parseImpls(s: string, what: string): Impl[] {
  const out = s.split(",").map((x) => x.trim()).filter(Boolean);
  for (const x of out) {
    if (x !== "hb" && x !== "heartbeat") throw new Error(`${what}: "${x}" is not hb or heartbeat`);
  }
  return out as Impl[];
}

/** Parses `--impl`: hb, heartbeat and the peers, or `all`. */
function parseBenchImpls(s: string): BenchImpl[] {
  if (s.trim() === "all") return [...ALL_IMPLS];
  const out = s.split(",").map((x) => x.trim()).filter(Boolean);
  if (!out.length) throw new Error("--impl: empty list");
  for (const x of out) {
    if (!(ALL_IMPLS as string[]).includes(x)) {
      throw new Error(`--impl: "${x}" is not one of ${ALL_IMPLS.join(", ")} (or all)`);
    }
  }
  return [...new Set(out)] as BenchImpl[];
}

/** hb and Heartbeat among `impls`: the suites the peers do not take part in. */
function heartbeatImpls(impls: BenchImpl[]): Impl[] {
  return impls.filter((i): i is Impl => !isPeer(i));
}

function posInt(v: string | undefined, what: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`${what}: expected a positive integer, got ${v}`);
  }
  return n;
}

/** Parses `--cost-groups`: `MEDIA/KEEPALIVE_MS,…`. */
function parseCostGroups(list: string): CostGroup[] {
  return list.split(",").map((p) => {
    const m = /^([1-9]\d*)\/([1-9]\d*)$/.exec(p.trim());
    if (!m) throw new Error(`--cost-groups: "${p}" is not MEDIA/KEEPALIVE_MS (e.g. 2/1000)`);
    return { media: Number(m[1]), keepaliveMs: Number(m[2]) };
  });
}

/** Parses the command line; throws on bad usage. Returns undefined for `--help`. */
export function parseSettings(args: string[]): BenchSettings | undefined {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      quick: { type: "boolean", default: false },
      out: { type: "string" },
      impl: { type: "string" },
      trials: { type: "string" },
      "peer-trials": { type: "string" },
      "soft-trials": { type: "string" },
      timings: { type: "string" },
      duration: { type: "string" },
      "cost-window": { type: "string" },
      "cost-groups": { type: "string" },
      breakdown: { type: "boolean", default: false },
      "scale-sizes": { type: "string" },
      "scale-window": { type: "string" },
      "scale-trend-window": { type: "string" },
      "scale-impl": { type: "string" },
      realtime: { type: "string" },
      "chaos-faults": { type: "string" },
      "chaos-seed": { type: "string" },
      "service-trials": { type: "string" },
      "hb-form": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return undefined;
  for (const p of positionals) {
    if (!(SUITES as readonly string[]).includes(p)) {
      throw new Error(`unknown suite "${p}" (suites: ${SUITES.join(", ")})`);
    }
  }
  const quick = values.quick ?? false;
  const suites = positionals.length ? SUITES.filter((s) => positionals.includes(s)) : [...SUITES];
  if (values.realtime !== undefined && !["on", "off"].includes(values.realtime)) {
    throw new Error(`--realtime: expected on or off, got ${values.realtime}`);
  }
  const hbForm = values["hb-form"] ?? "bundle";
  if (!(HB_FORMS as readonly string[]).includes(hbForm)) {
    throw new Error(`--hb-form: expected ${HB_FORMS.join(" or ")}, got ${hbForm}`);
  }
  const defaultOut = new URL("./results", import.meta.url).pathname;
  return {
    suites,
    quick,
    outDir: values.out ?? defaultOut,
    impls: parseBenchImpls(values.impl ?? (quick ? QUICK_IMPLS : FULL_IMPLS).join(",")),
    timings: values.timings
      ? parseTimings(values.timings)
      : quick
      ? parseTimings("200/1000,100/500")
      : parseTimings("1000/5000,200/1000,100/500,10/50"),
    trials: posInt(values.trials, "--trials", quick ? 3 : 20),
    peerTrials: posInt(
      values["peer-trials"],
      "--peer-trials",
      Math.min(posInt(values.trials, "--trials", quick ? 3 : 20), 10),
    ),
    softTrials: posInt(values["soft-trials"], "--soft-trials", quick ? 1 : 3),
    durationS: posInt(values.duration, "--duration", quick ? 20 : 600),
    falseTimings: parseTimings("100/500,200/1000"),
    costGroups: values["cost-groups"]
      ? parseCostGroups(values["cost-groups"])
      : quick
      ? [{ media: 1, keepaliveMs: 1000 }, { media: 2, keepaliveMs: 200 }]
      : [
        { media: 1, keepaliveMs: 1000 },
        { media: 1, keepaliveMs: 200 },
        { media: 2, keepaliveMs: 1000 },
        { media: 2, keepaliveMs: 200 },
      ],
    costWindowS: posInt(values["cost-window"], "--cost-window", quick ? 10 : 60),
    breakdown: values.breakdown ?? false,
    scaleSizes: (values["scale-sizes"] ?? (quick ? "4,8" : "2,4,8,16")).split(",").map((s) =>
      posInt(s, "--scale-sizes", 2)
    ),
    scaleWindowS: posInt(values["scale-window"], "--scale-window", quick ? 20 : 300),
    scaleTrendWindowS: posInt(
      values["scale-trend-window"],
      "--scale-trend-window",
      quick ? 20 : 60,
    ),
    scaleImpls: parseImpls(values["scale-impl"] ?? "hb", "--scale-impl"),
    realtime: (values.realtime ?? "on") === "on",
    chaosFaults: posInt(values["chaos-faults"], "--chaos-faults", quick ? 4 : 20),
    chaosSeed: posInt(values["chaos-seed"], "--chaos-seed", 1),
    serviceTrials: posInt(values["service-trials"], "--service-trials", quick ? 2 : 10),
    hbForm: hbForm as HbForm,
  };
}

async function describeMachine(): Promise<Record<string, unknown>> {
  const text = async (cmd: string[]) =>
    (await run(cmd, { check: false, timeoutMs: 10_000 }).catch(() => undefined))?.stdout.trim();
  const repo = new URL("..", import.meta.url).pathname;
  return {
    kernel: await text(["uname", "-r"]),
    cpus: navigator.hardwareConcurrency,
    loadavg: await Deno.readTextFile("/proc/loadavg").then((s) => s.trim(), () => undefined),
    mem_total_kb: Number(
      /MemTotal:\s+(\d+)/.exec(await Deno.readTextFile("/proc/meminfo").catch(() => ""))?.[1],
    ),
    deno: Deno.version.deno,
    hb_commit: await text(["git", "-C", repo, "rev-parse", "--short", "HEAD"]),
    hb_dirty: Boolean(await text(["git", "-C", repo, "status", "--porcelain"])),
    heartbeat_pkg: await text(["dpkg-query", "-W", "-f", "${Version}", "heartbeat"]),
    stress_ng: await text(["stress-ng", "--version"]),
  };
}

/** Harness failures that make the run exit 1 (never hb's own results). */
function harnessProblems(rec: Recorder, s: BenchSettings): string[] {
  const out: string[] = [];
  for (const r of rec.records) {
    if (r.kind === "error" && r.impl === "heartbeat") {
      out.push(`${r.suite}: the reference Heartbeat could not be measured: ${r.reason}`);
    } else if (r.kind === "error" && isPeer(String(r.impl))) {
      out.push(`${r.suite}: the peer ${r.impl} could not be measured: ${r.reason}`);
    }
  }
  if (s.suites.includes("failover") && s.impls.includes("heartbeat")) {
    for (const t of s.timings) {
      const rs = rec.select("failover", "hard").filter((r) =>
        r.impl === "heartbeat" && r.keepalive_ms === t.keepaliveMs &&
        r.deadtime_ms === t.deadtimeMs
      );
      if (rs.length && !rs.some((r) => r.ok)) {
        out.push(
          `failover ${t.keepaliveMs}/${t.deadtimeMs}: no successful Heartbeat trial ` +
            `(probe or testbed broken?): ${rs[0].reason}`,
        );
      }
    }
  }
  return out;
}

/**
 * A unit of work: a suite, or one of the two windows of the false-failover suite (`false-loss`
 * without stress, `false-stress` with the `cpu` and `both` clusters under stress-ng).
 */
export type Part = Suite | "false-loss" | "false-stress";

/**
 * The order of work; the parts of one step run side by side. With both `false` and `scale`
 * selected, the loss-only false-failover window runs beside the scale suite (neither is
 * under stress; the extra load only makes both harder), which keeps the full set under 45
 * minutes; the stressed window always runs alone.
 */
export function planSteps(suites: readonly Suite[]): Part[][] {
  const overlap = suites.includes("false") && suites.includes("scale");
  const steps: Part[][] = [];
  for (const suite of suites) {
    if (suite === "false") steps.push([overlap ? "false-stress" : "false"]);
    else if (suite === "scale") steps.push(overlap ? ["scale", "false-loss"] : ["scale"]);
    else steps.push([suite]);
  }
  return steps;
}

async function runPart(
  part: Part,
  s: BenchSettings,
  rec: Recorder,
  log: (line: string) => void,
  base: string,
  stamp: string,
): Promise<string> {
  switch (part) {
    case "failover": {
      let report = await runFailover({
        impls: s.impls,
        timings: s.timings,
        trials: s.trials,
        peerTrials: s.peerTrials,
        softTrials: s.softTrials,
        realtime: s.realtime,
        rec,
        log,
      });
      const png = plotFailover(
        failoverSeries(rec, s.impls, s.timings),
        s.impls.some(isPeer)
          ? "Failover time after a hard kill: hb and its peers"
          : "Failover time after a hard kill: hb vs Heartbeat 3.0.6",
        `run ${stamp}, ${s.trials} trials per configuration${
          s.impls.some(isPeer) && s.peerTrials !== s.trials ? ` (peers ${s.peerTrials})` : ""
        }, ping every 10 ms, hb IPaddr: ${hbIpaddr()}`,
      );
      await Deno.writeFile(`${base}-failover.png`, png);
      report += `\nplot: ${base}-failover.png`;
      return report;
    }
    case "false":
    case "false-loss":
    case "false-stress":
      return await runFalseFailovers({
        impls: heartbeatImpls(s.impls),
        timings: s.falseTimings,
        conditions: (part === "false"
          ? ["cpu", "loss", "both"]
          : part === "false-loss"
          ? ["loss"]
          : ["cpu", "both"]) as Condition[],
        durationS: s.durationS,
        lossPct: 30,
        realtime: s.realtime,
        rec,
        log,
      });
    case "cost":
      return await runCost({
        impls: s.impls,
        groups: s.costGroups,
        windowS: s.costWindowS,
        settleS: 12,
        realtime: s.realtime,
        breakdown: s.breakdown,
        rec,
        log,
      });
    case "scale":
      return await runScale({
        impls: s.scaleImpls,
        sizes: s.scaleSizes,
        windowS: s.scaleWindowS,
        trendWindowS: s.scaleTrendWindowS,
        settleS: s.quick ? 2 : 5,
        realtime: s.realtime,
        rec,
        log,
      });
    case "chaos":
      return await runChaos({
        faults: s.chaosFaults,
        seed: s.chaosSeed,
        timing: { keepaliveMs: 200, deadtimeMs: 1000 },
        rec,
        log,
        keepDir: `${base}-chaos-logs`,
      });
    case "service":
      return await runService({
        trials: s.serviceTrials,
        impls: ["hb", "keepalived"],
        rec,
        log,
      });
  }
}

/** Runs the benchmark with `args`; returns the exit status. */
export async function benchMain(args: string[]): Promise<number> {
  let s: BenchSettings | undefined;
  try {
    s = parseSettings(args);
  } catch (e) {
    console.error(`bench: ${e instanceof Error ? e.message : e}\n\n${HELP}`);
    return 2;
  }
  if (!s) {
    console.log(HELP);
    return 0;
  }
  if (Deno.uid() !== 0) {
    console.error("bench: must run as root (the testbed builds network namespaces)");
    return 1;
  }
  installGuard();
  const formDir = await Deno.makeTempDir({ prefix: "hb-bench-form-" });
  try {
    return await benchRun(s, args, await useHbForm(s.hbForm, formDir));
  } finally {
    await Deno.remove(formDir, { recursive: true });
  }
}

async function benchRun(s: BenchSettings, args: string[], hbForm: string): Promise<number> {
  const stamp = new Date().toISOString().replace(/[:]/g, "").replace(/\.\d+Z$/, "Z");
  const base = `${s.outDir}/${stamp}`;
  const rec = await Recorder.open(`${base}.jsonl`);
  const t0 = Date.now();
  const log = (line: string) =>
    console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${line}`);
  await rec.write({
    suite: "run",
    kind: "meta",
    args,
    quick: s.quick,
    suites: s.suites,
    impls: s.impls,
    realtime: s.realtime,
    hb_form: hbForm,
    ...(await describeMachine()),
  });
  log(
    `bench ${s.quick ? "--quick " : ""}${s.suites.join(" ")}: ${s.impls.join(" vs ")}; ` +
      `hb ${hbForm}; raw results ${base}.jsonl`,
  );
  const reports: string[] = [];
  const broken: string[] = [];
  const steps = planSteps(s.suites);
  const falseParts = steps.flat().filter((p) => p.startsWith("false")).length;
  let falseDone = 0;
  const falseStart = { at: 0 };
  for (const step of steps) {
    const ts = Date.now();
    if (step.length > 1) log(`running side by side: ${step.join(" + ")}`);
    await Promise.all(step.map(async (part) => {
      if (part.startsWith("false") && falseStart.at === 0) falseStart.at = ts;
      try {
        const report = await runPart(part, s!, rec, log, base, stamp);
        let suite: string = part;
        let since = ts;
        if (part.startsWith("false")) {
          if (++falseDone < falseParts) return;
          suite = "false";
          since = falseStart.at;
        }
        reports.push(`== ${suite} (${((Date.now() - since) / 1000).toFixed(0)} s)\n${report}`);
        console.log(`\n${reports[reports.length - 1]}\n`);
      } catch (e) {
        const msg = e instanceof Error ? e.stack ?? e.message : String(e);
        broken.push(`${part}: harness error: ${msg}`);
        log(`${part}: HARNESS ERROR: ${msg}`);
        await rec.write({ suite: part, kind: "harness_error", reason: msg });
      }
    }));
    killChildren();
  }
  broken.push(...harnessProblems(rec, s));
  const total = ((Date.now() - t0) / 1000).toFixed(0);
  const summary = [
    `bench finished in ${total} s; raw results: ${base}.jsonl; report: ${base}.txt`,
    broken.length ? `HARNESS PROBLEMS:\n  ${broken.join("\n  ")}` : "harness: ok",
  ].join("\n");
  await Deno.writeTextFile(`${base}.txt`, `${reports.join("\n\n")}\n\n${summary}\n`);
  rec.close();
  console.log(summary);
  return broken.length ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await benchMain(Deno.args));
}
