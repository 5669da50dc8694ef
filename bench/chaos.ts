/**
 * The benchmark's availability suite: the fault campaign of `deno task chaos` (chaos/mod.ts)
 * on an hb pair and, with the same seeded schedule, on a real Heartbeat 3.0.6 pair; reported
 * as the share of the campaign's time the client was answered, per implementation.
 *
 * @module
 */

import { availability, hbViolations, report, runCampaign } from "../chaos/mod.ts";
import type { Timing } from "./cluster.ts";
import type { Recorder } from "./results.ts";

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  /** Faults per implementation. */
  faults: number;
  /** Schedule seed. */
  seed: number;
  /** Timers. */
  timing: Timing;
  /** Raw results. */
  rec: Recorder;
  /** Progress lines. */
  log: (line: string) => void;
  /** Where the logs of a run with violations are kept. */
  keepDir: string;
}

/** Runs the campaign on hb-hb and the real pair; returns the report. */
export async function runChaos(o: ChaosOptions): Promise<string> {
  const runs = await runCampaign({
    topologies: ["hb-hb"],
    faults: o.faults,
    seed: o.seed,
    timing: o.timing,
    compare: true,
    log: o.log,
    keepDir: o.keepDir,
  });
  for (const r of runs) {
    await o.rec.write({
      suite: "chaos",
      kind: "campaign",
      impl: r.topology === "heartbeat" ? "heartbeat" : "hb",
      seed: o.seed,
      faults: r.results.length,
      faults_with_violations: r.results.filter((x) => x.violations.length).length,
      global_violations: r.global,
      availability: availability(r),
      outage_ms: r.results.reduce((a, x) => a + x.outageMs, 0),
      window_ms: r.results.reduce((a, x) => a + x.windowMs, 0),
      seconds: r.seconds,
      results: r.results.map((x) => ({
        kind: x.fault.kind,
        node: x.node,
        restore_ms: x.restoreMs ?? null,
        outage_ms: x.outageMs,
        violations: x.violations,
      })),
    });
  }
  return [
    `Fault campaign (seed ${o.seed}, ${o.faults} faults, timing ${o.timing.keepaliveMs}/${o.timing.deadtimeMs} ms; ` +
    "hb-hb = two hb nodes, heartbeat = the same schedule on two real Heartbeat 3.0.6 nodes)",
    report(runs),
    `hb violations: ${hbViolations(runs)} (reported, not asserted here; deno task chaos asserts)`,
  ].join("\n");
}
