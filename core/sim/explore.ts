/**
 * Random fault exploration of the simulated cluster (FoundationDB style):
 * every seed gives one random schedule of faults — crashes, fast restarts,
 * graceful stops, freezes, partitions, one-way cuts, loss, duplication,
 * delay and reordering per path, failing resource scripts, hb_standby and
 * hb_takeover — written in the scenario language (`scenario.ts`) and run
 * with the invariants of `invariants.ts` checked every 100 ms of virtual
 * time. A violation is shrunk to a minimal schedule by delta debugging over
 * its steps and printed as a scenario file that replays it.
 *
 * ```sh
 * deno task sim [--seeds N] [--seed S] [--nodes 2-5] [--seconds 120] [--first S]
 * ```
 *
 * Test tooling only: product code never imports it.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Random, randomInt, seededRandom } from "../random.ts";
import type { Violation } from "./invariants.ts";
import { formatTime, runScenario } from "./scenario.ts";

/** One step of a schedule: a scenario command at a virtual time. */
export interface Step {
  /** Virtual time, ms. */
  at: number;
  /** Scenario command. */
  cmd: string;
}

/** A random schedule. */
export interface Schedule {
  /** The seed it was made from. */
  seed: number;
  /** `cluster …` and the initial commands. */
  header: string[];
  /** The faults, in time order. */
  steps: Step[];
  /** Virtual length, ms. */
  endMs: number;
}

/** Node count range of random schedules. */
export interface ScheduleShape {
  /** Fixed node count (2–5); random when absent. */
  nodes?: number;
  /** Virtual length in seconds (default 120). */
  seconds?: number;
}

function pick<T>(r: Random, items: readonly T[]): T {
  return items[randomInt(r, 0, items.length - 1)];
}

function subset(r: Random, names: string[]): [string[], string[]] {
  for (;;) {
    const a = names.filter(() => r() < 0.5);
    if (a.length > 0 && a.length < names.length) {
      return [a, names.filter((n) => !a.includes(n))];
    }
  }
}

/** Makes the random schedule of `seed`. */
export function randomSchedule(seed: number, shape: ScheduleShape = {}): Schedule {
  const r = seededRandom(seed * 2654435761 + 12345);
  const count = shape.nodes ?? randomInt(r, 2, 5);
  const endMs = (shape.seconds ?? 120) * 1000;
  const names = Array.from({ length: count }, (_, i) => `node${i + 1}`);
  const groups = names.map((n, i) => `${n}:g${i + 1}`);
  if (r() < 0.3) groups.push(`${pick(r, names)}:g${count + 1}`);
  const mode = pick(r, ["on", "on", "off", "off", "legacy"]);
  const script = pick(r, ["20ms", "50ms", "200ms", "1s", "2s"]);
  const header = [
    `cluster nodes=${names.join(",")} groups=${
      groups.join(",")
    } auto_failback=${mode} script=${script} seed=${seed}`,
  ];
  const steps: Step[] = [];
  // the fault phase ends early enough for the stability checks to apply before the end
  const faultEnd = Math.min(60_000, Math.floor(endMs / 2));
  const together = r() < 0.6;
  for (const n of names) {
    if (together) steps.push({ at: 0, cmd: `start ${n}` });
    else steps.push({ at: randomInt(r, 0, 15) * 1000, cmd: `start ${n}` });
  }
  const keys = groups.map((g) => g.split(":")[1]);
  const faults = randomInt(r, 2, 12);
  const t = (lo: number, hi: number) => randomInt(r, lo, hi);
  for (let i = 0; i < faults; i++) {
    const at = t(1000, faultEnd);
    const n = pick(r, names);
    const later = (lo: number, hi: number) => Math.min(at + t(lo, hi), faultEnd + 4000);
    switch (randomInt(r, 0, 10)) {
      case 0:
        steps.push({ at, cmd: `kill ${n}` });
        if (r() < 0.6) steps.push({ at: later(500, 20_000), cmd: `start ${n}` });
        break;
      case 1:
        steps.push({ at, cmd: `restart ${n}` });
        break;
      case 2:
        steps.push({ at, cmd: `stop ${n}` });
        if (r() < 0.6) steps.push({ at: later(3000, 20_000), cmd: `start ${n}` });
        break;
      case 3:
        steps.push({ at, cmd: `freeze ${n}` });
        steps.push({ at: later(300, 12_000), cmd: `thaw ${n}` });
        break;
      case 4: {
        const [a, b] = subset(r, names);
        steps.push({ at, cmd: `partition ${a.join(",")}|${b.join(",")}` });
        steps.push({ at: later(1000, 20_000), cmd: "heal" });
        break;
      }
      case 5: {
        const m = pick(r, names.filter((x) => x !== n));
        const opts = [
          r() < 0.6 ? `drop=${pick(r, [5, 20, 50, 90])}` : "",
          r() < 0.4 ? `dup=${pick(r, [10, 50])}` : "",
          r() < 0.4 ? `delay=${pick(r, ["10ms", "200ms", "1s", "3s"])}` : "",
          r() < 0.5 ? `jitter=${pick(r, ["5ms", "100ms", "500ms"])}` : "",
        ].filter((o) => o).join(" ");
        const path = r() < 0.3 ? "*>*" : `${n}>${m}`;
        steps.push({ at, cmd: `net ${path} ${opts || "drop=30"}` });
        steps.push({ at: later(2000, 20_000), cmd: `net ${path}` });
        break;
      }
      case 6: {
        const m = pick(r, names.filter((x) => x !== n));
        steps.push({ at, cmd: `cut ${n}>${m}` });
        steps.push({ at: later(1000, 15_000), cmd: "heal" });
        break;
      }
      case 7:
        steps.push({ at, cmd: `standby ${n} ${pick(r, ["all", "local", "foreign", "failback"])}` });
        break;
      case 8:
        steps.push({
          at,
          cmd: `takeover ${n} ${pick(r, ["all", "local", "foreign", "failback"])}`,
        });
        break;
      case 9: {
        const key = pick(r, keys);
        steps.push({ at, cmd: `script ${n} ${key} fail` });
        steps.push({ at: later(2000, 30_000), cmd: `script ${n} ${key} ok` });
        break;
      }
      default:
        steps.push({ at, cmd: `restart ${n}` });
        steps.push({ at: later(200, 3000), cmd: `kill ${n}` });
        steps.push({ at: later(3500, 9000), cmd: `start ${n}` });
        break;
    }
  }
  // hb.cf monitors with random service deaths, from a PRNG of their own so that the other
  // faults of a seed's schedule stay what they were before monitors existed
  const rm = seededRandom(seed * 40503 + 977);
  if (rm() < 0.3) {
    header[0] += " monitor=on";
    const deaths = randomInt(rm, 1, 4);
    for (let i = 0; i < deaths; i++) {
      steps.push({
        at: randomInt(rm, 1000, faultEnd),
        cmd: `svcfail ${pick(rm, names)} ${pick(rm, keys)}`,
      });
    }
  }
  steps.sort((a, b) => a.at - b.at);
  return { seed, header, steps, endMs };
}

/** The scenario text of a schedule (replayable with the scenario runner). */
export function scheduleText(s: Schedule, steps: Step[] = s.steps): string {
  const lines = [`# explorer seed ${s.seed}`, ...s.header];
  let at = 0;
  for (const step of steps) {
    if (step.at > at) {
      lines.push(`at ${formatTime(step.at)}`);
      at = step.at;
    }
    lines.push(step.cmd);
  }
  lines.push(`at ${formatTime(s.endMs)}`);
  lines.push("check", "----", "ok");
  return lines.join("\n") + "\n";
}

/** Runs a schedule; returns its first violation, if any. */
export function runSchedule(s: Schedule, steps: Step[] = s.steps): Violation | undefined {
  const result = runScenario(scheduleText(s, steps), { stopOnViolation: true });
  return result.violations[0];
}

/**
 * Delta debugging (ddmin) over the steps: the smallest list of steps found
 * that still violates an invariant of the same kind.
 */
export function shrink(s: Schedule, kind: string, steps: Step[] = s.steps): Step[] {
  return ddmin(steps, (candidate) => runSchedule(s, candidate)?.kind === kind);
}

/**
 * Zeller's ddmin: removes chunks of `items` (halves, then quarters, …) as
 * long as `fails` still holds for what is left; the result is 1-minimal for
 * single chunks of the final granularity.
 */
export function ddmin<T>(items: T[], fails: (candidate: T[]) => boolean): T[] {
  let current = items;
  let n = 2;
  while (current.length >= 2) {
    const size = Math.ceil(current.length / n);
    let reduced = false;
    for (let i = 0; i < current.length; i += size) {
      const complement = [...current.slice(0, i), ...current.slice(i + size)];
      if (fails(complement)) {
        current = complement;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (n >= current.length) break;
      n = Math.min(n * 2, current.length);
    }
  }
  if (current.length === 1 && fails([])) current = [];
  return current;
}

/** Result of exploring a range of seeds. */
export interface ExploreReport {
  /** Schedules run. */
  schedules: number;
  /** Core events fed. */
  events: number;
  /** Violations (seed, first violation, minimal replay). */
  failures: { seed: number; violation: Violation; replay: string }[];
  /** Wall time, ms. */
  wallMs: number;
}

/** Runs seeds `first` … `first + count - 1`. */
export function explore(
  first: number,
  count: number,
  shape: ScheduleShape = {},
  onFailure?: (f: ExploreReport["failures"][number]) => void,
): ExploreReport {
  const t0 = performance.now();
  const report: ExploreReport = { schedules: 0, events: 0, failures: [], wallMs: 0 };
  for (let seed = first; seed < first + count; seed++) {
    const s = randomSchedule(seed, shape);
    const result = runScenario(scheduleText(s), { stopOnViolation: true });
    report.schedules++;
    report.events += result.sim?.eventCount ?? 0;
    const v = result.violations[0];
    if (v) {
      const minimal = shrink(s, v.kind);
      const f = {
        seed,
        violation: runSchedule(s, minimal) ?? v,
        replay: scheduleText(s, minimal),
      };
      report.failures.push(f);
      onFailure?.(f);
    }
  }
  report.wallMs = performance.now() - t0;
  return report;
}

function main(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      seeds: { type: "string", default: "1000" },
      seed: { type: "string" },
      first: { type: "string", default: "1" },
      nodes: { type: "string" },
      seconds: { type: "string", default: "120" },
      print: { type: "boolean", default: false },
    },
  });
  const shape: ScheduleShape = {
    seconds: Number(values.seconds),
    ...(values.nodes ? { nodes: Number(values.nodes) } : {}),
  };
  if (shape.nodes !== undefined && !(shape.nodes >= 2 && shape.nodes <= 5)) {
    console.error("--nodes: 2 to 5");
    return 2;
  }
  if (values.seed !== undefined && values.print) {
    console.log(scheduleText(randomSchedule(Number(values.seed), shape)));
    return 0;
  }
  const first = values.seed !== undefined ? Number(values.seed) : Number(values.first);
  const count = values.seed !== undefined ? 1 : Number(values.seeds);
  const report = explore(first, count, shape, (f) => {
    console.log(
      `VIOLATION seed ${f.seed}: ${f.violation.kind} at ${
        formatTime(f.violation.at)
      }: ${f.violation.detail}`,
    );
    console.log(`minimal replay (core/sim/testdata/<name>.txt):\n${f.replay}`);
  });
  const byKind = new Map<string, number>();
  for (const f of report.failures) {
    const nodes = /nodes=(\S+)/.exec(f.replay)?.[1].split(",").length ?? 0;
    const k = `${f.violation.kind} (${nodes} nodes)`;
    byKind.set(k, (byKind.get(k) ?? 0) + 1);
  }
  for (const [k, n] of [...byKind].sort()) console.log(`  ${n} × ${k}`);
  const secs = report.wallMs / 1000;
  console.log(
    `sim: ${report.schedules} schedules (seeds ${first}-${
      first + count - 1
    }), ${report.events} events, ` +
      `${report.failures.length} violations, ${secs.toFixed(1)} s wall, ` +
      `${(report.schedules / secs).toFixed(1)} schedules/s`,
  );
  return report.failures.length > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(main(Deno.args));
