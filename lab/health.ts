/**
 * The health invariant of every long-running test, benchmark window and fault campaign: no
 * core worker died, no packet was lost, and no ERROR/CRIT line appeared that the real
 * Heartbeat 3.0.6 would not also log on the same machine. (Found the hard way: every hb worker
 * used to die about every 45 s with realtime on, and no test ran long enough with it on to
 * notice.)
 *
 * @module
 */

import type { TestNode } from "./node.ts";

/** Log lines that mean a core worker (HBREAD, HBWRITE, HBFIFO) died or was restarted. */
export const WORKER_DEATH: readonly RegExp[] = [
  /Managed HB(READ|WRITE|FIFO) process \d+ (exited|killed)/,
  /HB(READ|WRITE) process died\./,
  /Both comm processes for channel \d+ have died/,
  /Communications restart (succeeded|failed)/,
  /Restarting HBFIFO process/,
];

/** Log lines that mean a packet was lost on the way (a gap in a sequence). */
export const PACKET_LOSS: readonly RegExp[] = [
  /\d+ lost packet\(s\) for/,
  /Irretrievably lost packet/,
  /lost a lot of packets/,
];

/** Console output of a crashed Deno process (a panic or an uncaught error). */
export const PROCESS_CRASH: readonly RegExp[] = [
  /Deno has panicked/,
  /^error: Uncaught/m,
  /Fatal error in/,
];

/**
 * ERROR/CRIT lines the real Heartbeat 3.0.6 logs on these machines too, so they are not
 * hb's fault: the locked-memory limit of a container without CAP_SYS_RESOURCE is 8 MB, less
 * than twice the master's `memreserve` (config-and-cli.md §7.8).
 */
export const EXPECTED_ERRORS: readonly RegExp[] = [
  /Cannot lock ourselves into memory: {2}System limits on locked-in memory are too small\./,
];

/** The priority words of a line that reports a failure (both of Heartbeat's log formats). */
const SEVERE = /\b(ERROR|CRIT|EMERG|ALERT): /;

/** Options of {@link healthProblems}. */
export interface HealthOptions {
  /** Lost packets are expected (a test that injects loss): do not count them. */
  lossExpected?: boolean;
  /** Further ERROR/CRIT lines that are expected in this test (e.g. a fault it injects). */
  allow?: readonly RegExp[];
}

/** The ha-log lines (and console crash lines) that break the health invariant. */
export function healthProblems(
  log: string,
  console = "",
  opts: HealthOptions = {},
): string[] {
  const allowed = [...EXPECTED_ERRORS, ...(opts.allow ?? [])];
  const problems: string[] = [];
  for (const line of log.split("\n")) {
    if (WORKER_DEATH.some((re) => re.test(line))) problems.push(line);
    else if (!opts.lossExpected && PACKET_LOSS.some((re) => re.test(line))) problems.push(line);
    else if (SEVERE.test(line) && !allowed.some((re) => re.test(line))) {
      problems.push(line);
    }
  }
  for (const line of console.split("\n")) {
    if (PROCESS_CRASH.some((re) => re.test(line))) problems.push(`console: ${line}`);
  }
  return problems;
}

/**
 * Checks the health invariant on every hb node given (from log offset `from` of each, default
 * 0); throws listing every problem with its node.
 */
export async function assertHealthy(
  nodes: readonly TestNode[],
  opts: HealthOptions & { from?: Map<TestNode, number> } = {},
): Promise<void> {
  const all: string[] = [];
  for (const n of nodes) {
    const log = (await n.readLog()).slice(opts.from?.get(n) ?? 0);
    for (const p of healthProblems(log, await n.readConsole(), opts)) all.push(`${n.name}: ${p}`);
  }
  if (all.length > 0) {
    throw new Error(`health invariant broken (${all.length} line(s)):\n${all.join("\n")}`);
  }
}

/** The ERROR/CRIT lines of a log with time stamps and pids removed (to compare two daemons). */
export function errorLines(log: string): string[] {
  return log.split("\n").flatMap((l) => {
    const m = SEVERE.exec(l);
    return m ? [l.slice(m.index).replace(/\b\d{2,}\b/g, "N")] : [];
  });
}
