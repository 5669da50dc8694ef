/**
 * `deno task chaos [--faults N] [--seed S] [--topology hb-hb|hb3|mixed|heartbeat|all]
 * [--no-compare] [--keepalive MS] [--deadtime MS]`: a fault campaign on real processes in
 * network namespaces (Jepsen's way: real daemons, random faults from a seed, invariants
 * checked from outside).
 *
 * Each topology is a testbed cluster with one resource group (the service address
 * 198.18.0.100 and a recorded `svc` script) probed from a client namespace every 10 ms. Faults
 * (chaos/schedule.ts) are applied one at a time: applied, held, reverted, then the cluster
 * must settle. Invariants, from outside the daemons:
 *
 * - **no double owner**: the address is never on two live nodes (per `ip monitor` on every
 *   node), except while a fault that makes nodes unable to hear each other (partition,
 *   freeze, master freeze, loss) is active and until the cluster has settled after it;
 * - **settles**: after every fault, within a bound per kind, exactly one live node holds the
 *   address and the client gets answers;
 * - **health** (lab/health.ts): no core worker died except by a worker-kill fault,
 *   no process crashed, no CRIT line;
 * - **no leaks**: the master's descriptor count does not grow across faults; after the final
 *   graceful stop no process and no service address is left on any node.
 *
 * With the default `all`, the hb-hb schedule is also run against a real Heartbeat 3.0.6 pair
 * (`heartbeat` topology) so the report shows both side by side; the real pair's violations are
 * reported, never fatal. Exit status 1 when an hb node broke an invariant; the logs of a run
 * with violations are kept (`$TMPDIR/hb-chaos-<seed>-<time>/<topology>/`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  AddressWatch,
  authkeys,
  benchHaCf,
  fmt,
  hbCommand,
  hbIpaddr,
  healthProblems,
  installGuard,
  REAL_CL_STATUS,
  REAL_HEARTBEAT,
  REAL_SHARE_DIR,
  ServiceProbe,
  summarize,
  SVC_IP as SERVICE_IP,
  SVC_PORT as SERVICE_PORT,
  SVC_SERVER,
  svcScript,
  table,
  Testbed,
  type TestNode,
  type Timing,
  trackTestbed,
  WORKER_DEATH,
} from "../lab/mod.ts";
import {
  describeFault,
  type Fault,
  FAULT_KINDS,
  type FaultKind,
  planSchedule,
  type Topology,
  topologyImpls,
} from "./schedule.ts";

/**
 * The service, started after the address in the group: a one-process TCP server answering `ok`
 * on the service address; a start fails (once) while /var/log/svc.failnext exists.
 */
const SVC_SCRIPT = svcScript(SERVICE_IP, { failNext: true, checks: false });

/**
 * Longest wait for the cluster to settle after a fault is reverted, per kind and cluster size
 * (ms).
 */
function settleBoundMs(kind: FaultKind, t: Timing, nodes: number): number {
  // a failed start is given up, then offered again (Heartbeat waits 30 s before its
  // `hb_standby foreign`): every node but the holder fails its next start once, so the group
  // may be given up once per other node before the holder takes it back; a boot waits
  // initdead and the start-up negotiation (10 s)
  if (kind === "script-fail") return 30_000 * nodes;
  if (kind === "kill" || kind === "stop") return 30_000 + 4 * t.deadtimeMs;
  return 20_000 + 4 * t.deadtimeMs;
}

/** Faults during which nodes may legitimately not hear each other (split brain excused). */
const SPLITTING = new Set<FaultKind>(["partition", "freeze", "freeze-master", "loss"]);

/**
 * CRIT lines Heartbeat itself logs for what these faults do (a peer or our own heartbeat late
 * past deadtime, a partition healing), which hb logs the same way: not invariant violations.
 */
const EXPECTED_CRIT: readonly RegExp[] = [
  /CRIT: Late heartbeat: Node \S+: interval \d+ ms \(> deadtime\)/,
  /CRIT: Cluster node \S+ returning after partition\./,
  /CRIT: Resource groups held by both \S+ and \S+: resolving to one owner\./,
];

/** The resource manager's line for a start that failed (what the script-fail fault does). */
const FAILED_START_CRIT = /CRIT: Giving up resources due to failure of svc/;

/** One fault's outcome. */
export interface FaultResult {
  fault: Fault;
  node: string;
  /**
   * ms from the start of the fault until the client was answered for good: the end of the
   * last silence of the probe before the cluster settled; 0 when the client never noticed
   * (undefined: never settled).
   */
  restoreMs?: number;
  /** ms the client got no answer during the fault (sum of gaps > 50 ms). */
  outageMs: number;
  /** ms from the start of the fault to settled, or to giving up. */
  windowMs: number;
  /** Real Heartbeat daemons that restarted themselves (and were started again). */
  selfRestarts: number;
  violations: string[];
}

/** One topology's run. */
export interface RunResult {
  topology: Topology;
  results: FaultResult[];
  /** Violations not tied to one fault (leaks at the end, start-up). */
  global: string[];
  seconds: number;
}

/** Runs `faults` on a fresh cluster of `topology`. */
async function runTopology(
  topology: Topology,
  faults: Fault[],
  timing: Timing,
  log: (s: string) => void,
  keepDir: string,
): Promise<RunResult> {
  const impls = topologyImpls(topology);
  const names = impls.map((_, i) => `node${i + 1}`);
  const t0 = Date.now();
  const tb = await Testbed.create({
    nodes: names,
    links: 1,
    client: true,
    name: `chaos-${topology}`,
    prefix: "hbchaos",
  });
  trackTestbed(tb);
  const global: string[] = [];
  const results: FaultResult[] = [];
  try {
    const conf = benchHaCf(names, timing, 1, true);
    for (const n of tb.nodes) {
      await n.writeHaCf(conf);
      await n.writeAuthkeys(authkeys("sha1", "hb-chaos"));
      await n.writeHaresources(`node1 ${SERVICE_IP}/24/eth0 svc\n`);
      await n.writeResourceScript("svc", SVC_SCRIPT);
      await n.writeConfig("svc_server.py", SVC_SERVER);
    }
    const implOf = new Map(tb.nodes.map((n, i) => [n.name, impls[i]]));
    for (const n of tb.nodes) {
      // hb nodes use hb's built-in IPaddr, as in the benchmark (bench/cluster.ts hbIpaddr)
      if (implOf.get(n.name) === "hb" && hbIpaddr() === "builtin") {
        await Deno.remove(`${n.confDir}/resource.d/IPaddr`).catch(() => {});
      }
    }
    await Promise.all(
      tb.nodes.map((n) => n.start({ impl: implOf.get(n.name)!, timeoutMs: 30_000 })),
    );
    const watch = await AddressWatch.start(tb.nodes, SERVICE_IP);
    const pinger = ServiceProbe.start(tb.client!, SERVICE_IP, SERVICE_PORT, 10);
    const down = new Set<string>(); // nodes a fault has taken down (killed or stopped)
    let excused = false; // a splitting fault is active or its cluster has not settled yet
    const doubles: string[] = [];
    let checking = true;
    const checker = (async () => {
      let reported = false;
      while (checking) {
        const live = watch.holders().filter((h) => !down.has(h));
        if (live.length >= 2 && !excused) {
          if (!reported) doubles.push(`${live.join(" and ")} both hold ${SERVICE_IP}`);
          reported = true;
        } else reported = false;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const quietMs = 2 * timing.deadtimeMs;
    // The real Heartbeat restarts itself after some faults (a partition, its own late
    // heartbeat) by re-executing without -f: it daemonizes and so leaves its testbed node.
    // Started again here, as the re-executed daemon would be running; counted per fault.
    let selfRestarts = 0;
    const revive = async (n: TestNode) => {
      if (implOf.get(n.name) !== "heartbeat") return; // an hb node never leaves by itself
      selfRestarts++;
      await n.start({ impl: "heartbeat", timeoutMs: 30_000 });
    };
    const settled = await settle(
      tb,
      watch,
      pinger,
      down,
      30_000 + 4 * timing.deadtimeMs,
      quietMs,
      revive,
    );
    if (settled === undefined) global.push("the cluster did not settle after start");
    const fdsAtStart = masterFds(tb.nodes);

    for (const f of faults) {
      const node = f.target === "holder"
        ? tb.node(watch.holders().find((h) => !down.has(h)) ?? names[0])
        : tb.nodes[f.target];
      const impl = implOf.get(node.name)!;
      const holdMs = Math.round(f.holdDeadtimes * timing.deadtimeMs);
      const logFrom = new Map<TestNode, number>();
      for (const n of tb.nodes) logFrom.set(n, await n.logOffset());
      const start = Date.now();
      const violations: string[] = [];
      doubles.length = 0;
      if (SPLITTING.has(f.kind)) excused = true;
      try {
        await apply(tb, node, impl, f.kind, holdMs, down, watch);
      } catch (e) {
        violations.push(`fault could not be applied: ${e instanceof Error ? e.message : e}`);
      }
      selfRestarts = 0;
      const at = await settle(
        tb,
        watch,
        pinger,
        down,
        settleBoundMs(f.kind, timing, tb.nodes.length),
        quietMs,
        revive,
      );
      excused = false;
      if (at === undefined) {
        violations.push(
          `not settled within ${settleBoundMs(f.kind, timing, tb.nodes.length)} ms: holders ${
            watch.holders().join(",") || "none"
          }`,
        );
      }
      violations.push(...doubles);
      // leftovers of a script-fail fault must not fail a later start
      for (const n of tb.nodes) await Deno.remove(`${n.logDir}/svc.failnext`).catch(() => {});
      for (const n of tb.nodes) {
        if (implOf.get(n.name) !== "hb") continue;
        const text = (await n.readLog()).slice(logFrom.get(n));
        // a worker's death is a violation unless this fault killed it; CRIT always is
        const workerKilled = f.kind === "worker-kill" && n === node;
        const problems = healthProblems(text, "", { lossExpected: true }).filter((l) =>
          WORKER_DEATH.some((re) => re.test(l))
            ? !workerKilled
            : /\b(CRIT|EMERG|ALERT): /.test(l) && !EXPECTED_CRIT.some((re) => re.test(l)) &&
              !(f.kind === "script-fail" && FAILED_START_CRIT.test(l))
        );
        for (const p of problems) violations.push(`${n.name}: ${p}`);
      }
      const end = Date.now(); // settled (or given up): the fault's window ends here
      const r: FaultResult = {
        fault: f,
        node: node.name,
        restoreMs: at === undefined
          ? undefined
          : Math.round(restoredAt(pinger, start, end) - start),
        outageMs: outage(pinger, start, end, at === undefined),
        windowMs: Math.round(end - start),
        selfRestarts,
        violations,
      };
      results.push(r);
      log(
        `chaos ${topology} ${describeFault(f)} on ${node.name}: ${
          r.restoreMs === undefined ? "NOT SETTLED" : `service restored after ${r.restoreMs} ms`
        }, outage ${r.outageMs} ms${
          violations.length ? `; VIOLATIONS: ${violations.join("; ")}` : ""
        }`,
      );
    }

    // leaks: descriptors of masters that lived through the run
    // (the fewest of a few samples a second apart: a resource script or a client connection
    // running at one instant holds descriptors for a moment, a leak holds them for good)
    let fdsAtEnd = masterFds(tb.nodes);
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const again = masterFds(tb.nodes);
      fdsAtEnd = new Map([...fdsAtEnd].map(([p, n]) => [p, Math.min(n, again.get(p) ?? n)]));
    }
    for (const [pid, n0] of fdsAtStart) {
      const n1 = fdsAtEnd.get(pid);
      if (n1 !== undefined && n1 > n0 + 8) {
        global.push(`master ${pid}: descriptors grew from ${n0} to ${n1}`);
      }
    }
    checking = false;
    await checker;
    // consoles: no crash on any hb node during the whole run
    for (const n of tb.nodes) {
      if (implOf.get(n.name) !== "hb") continue;
      for (const p of healthProblems("", await n.readConsole())) global.push(`${n.name}: ${p}`);
    }
    // graceful stop of everything: nothing may be left behind
    for (const n of tb.nodes) {
      if (!n.running) continue;
      try {
        await n.stopSoft({ timeoutMs: 60_000 });
      } catch (e) {
        global.push(`${n.name}: ${e instanceof Error ? e.message : e}`);
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    for (const h of watch.holders()) global.push(`${h} still holds ${SERVICE_IP} after stopping`);
    for (const n of tb.nodes) {
      if (n.pids().length > 0) global.push(`${n.name}: processes left after stopping`);
    }
    await pinger.stop();
    await watch.stop();
    if (global.length > 0 || results.some((r) => r.violations.length > 0)) {
      const dir = `${keepDir}/${topology}`;
      await Deno.mkdir(dir, { recursive: true });
      for (const n of tb.nodes) {
        for (const f of ["ha-log", "svc.calls"]) {
          await Deno.copyFile(`${n.logDir}/${f}`, `${dir}/${n.name}.${f}`).catch(() => {});
        }
        await Deno.writeTextFile(`${dir}/${n.name}.console`, await n.readConsole());
      }
      log(`chaos ${topology}: logs kept in ${dir}`);
    }
  } finally {
    await tb.destroy();
  }
  return { topology, results, global, seconds: (Date.now() - t0) / 1000 };
}

/** Applies, holds and reverts one fault. */
async function apply(
  tb: Testbed,
  node: TestNode,
  impl: "hb" | "heartbeat",
  kind: FaultKind,
  holdMs: number,
  down: Set<string>,
  watch: AddressWatch,
): Promise<void> {
  const hold = () => new Promise((r) => setTimeout(r, holdMs));
  switch (kind) {
    case "kill":
      down.add(node.name);
      await node.killHard();
      await hold();
      await node.start({ impl, timeoutMs: 30_000 });
      down.delete(node.name);
      return;
    case "stop":
      await node.stopSoft({ timeoutMs: 60_000 });
      down.add(node.name);
      await hold();
      await node.start({ impl, timeoutMs: 30_000 });
      down.delete(node.name);
      return;
    case "freeze":
      await node.freeze();
      await hold();
      await node.thaw();
      return;
    case "freeze-master": {
      const pid = node.daemonPid!;
      Deno.kill(pid, "SIGSTOP");
      await hold();
      Deno.kill(pid, "SIGCONT");
      return;
    }
    case "partition":
      await node.setLink(0, false);
      await hold();
      await node.setLink(0, true);
      return;
    case "loss":
      await tb.addLoss(node, 0, 30);
      await hold();
      await tb.clearLoss(node, 0);
      return;
    case "worker-kill": {
      const workers = childrenOf(node.daemonPid!).filter((p) => {
        const cmd = cmdline(p);
        return cmd.startsWith("heartbeat:") && !cmd.includes("master");
      });
      if (workers.length === 0) throw new Error(`${node.name}: no core worker found`);
      Deno.kill(workers[Math.floor(workers.length / 2)], "SIGKILL");
      await hold();
      return;
    }
    case "standby":
      await standby(node);
      await hold();
      return;
    case "reload": {
      const cmd = impl === "hb" ? [...hbCommand(), "heartbeat", "-r"] : [REAL_HEARTBEAT, "-r"];
      await node.exec(cmd, { timeoutMs: 20_000 });
      await hold();
      return;
    }
    case "script-fail": {
      // the next start fails on every node but the holder; then the holder gives the group up
      const holder = watch.holders().find((h) => !down.has(h)) ?? node.name;
      for (const n of tb.nodes) {
        if (n.name !== holder) await Deno.writeTextFile(`${n.logDir}/svc.failnext`, "1\n");
      }
      await standby(tb.node(holder));
      await hold();
      return;
    }
  }
}

/** Runs Heartbeat's own `hb_standby` inside the node (it works against both daemons). */
async function standby(node: TestNode): Promise<void> {
  await node.exec([`${REAL_SHARE_DIR}/hb_standby`], { timeoutMs: 20_000 });
}

/**
 * Waits until every node not taken down is running and sees every other such node `active`
 * (the real `cl_status`, which works against both daemons), exactly one of them holds the
 * address, and the client is answered, with no change of holder for `quietMs` (a restart in
 * progress shows up within it). Returns the time of the client's first answer after the last
 * change of holder (the service restored), or undefined after `boundMs`.
 */
async function settle(
  tb: Testbed,
  watch: AddressWatch,
  pinger: ServiceProbe,
  down: Set<string>,
  boundMs: number,
  quietMs: number,
  revive: (n: TestNode) => Promise<void>,
): Promise<number | undefined> {
  const deadline = Date.now() + boundMs;
  while (Date.now() < deadline) {
    for (const n of tb.nodes) if (!down.has(n.name) && !n.running) await revive(n);
    const live = watch.holders().filter((h) => !down.has(h));
    const up = tb.nodes.filter((n) => !down.has(n.name));
    if (up.every((n) => n.running) && live.length === 1) {
      const changed = watch.events.length ? watch.events[watch.events.length - 1].at : 0;
      const first = pinger.replies.find((r) => r.at > changed);
      const last = pinger.replies[pinger.replies.length - 1];
      if (
        first && last.at > Date.now() - 200 && Date.now() - changed >= quietMs &&
        await allActive(up)
      ) {
        return first.at;
      }
    }
    await pinger.nextReply(50);
  }
  return undefined;
}

/** True when every node sees every other node of `nodes` as `active` (`cl_status`). */
async function allActive(nodes: readonly TestNode[]): Promise<boolean> {
  for (const n of nodes) {
    for (const p of nodes) {
      if (p === n) continue;
      const r = await n.exec([REAL_CL_STATUS, "nodestatus", p.name], { timeoutMs: 5000 })
        .catch(() => undefined);
      if (r?.stdout.trim() !== "active") return false;
    }
  }
  return true;
}

/** The end of the probe's last silence (> 50 ms) between `from` and `to`; `from` when none. */
function restoredAt(pinger: ServiceProbe, from: number, to: number): number {
  let prev = from;
  let at = from;
  for (const r of pinger.replies) {
    if (r.at <= from) continue;
    if (r.at > to) break;
    if (r.at - prev > 50) at = r.at;
    prev = r.at;
  }
  return at;
}

/**
 * Sum of the probe's silences longer than 50 ms between `from` and `to` (ms); with
 * `openEnded`, a silence still going on at `to` counts too.
 */
function outage(pinger: ServiceProbe, from: number, to: number, openEnded: boolean): number {
  let prev = from;
  let sum = 0;
  for (const r of pinger.replies) {
    if (r.at <= from) continue;
    if (r.at > to) break;
    if (r.at - prev > 50) sum += r.at - prev;
    prev = r.at;
  }
  if (openEnded && to - prev > 50) sum += to - prev; // still silent at the end
  return Math.round(sum);
}

function childrenOf(pid: number): number[] {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`);
    return text.trim().split(/\s+/).filter((s) => s).map(Number);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return []; // the process is gone
    throw e;
  }
}

function cmdline(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ").trim();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return ""; // the process is gone
    throw e;
  }
}

/** Descriptor count of each running hb or Heartbeat master, by pid. */
function masterFds(nodes: readonly TestNode[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const n of nodes) {
    const pid = n.daemonPid;
    if (pid === undefined || !n.running) continue;
    try {
      out.set(pid, [...Deno.readDirSync(`/proc/${pid}/fd`)].length);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e; // exited meanwhile: nothing to count
    }
  }
  return out;
}

/** The per-fault-kind table of some runs, side by side. */
export function report(runs: RunResult[]): string {
  const rows = FAULT_KINDS.map((kind) => [
    kind,
    ...runs.map((run) => {
      const rs = run.results.filter((r) => r.fault.kind === kind);
      if (rs.length === 0) return "-";
      const v = rs.filter((r) => r.violations.length > 0).length;
      const rest = summarize(rs.flatMap((r) => r.restoreMs === undefined ? [] : [r.restoreMs]));
      const out = summarize(rs.map((r) => r.outageMs));
      return `${rs.length} / ${v} / ${fmt(rest.median)}, ${fmt(rest.p95)} / ${fmt(out.median)}, ${
        fmt(out.p95)
      }`;
    }),
  ]);
  const totals = runs.map((r) =>
    `${r.topology}: ${r.results.length} faults, ${
      r.results.filter((x) => x.violations.length).length
    } with violations, ${r.global.length} global, ${
      r.results.reduce((a, x) => a + x.selfRestarts, 0)
    } self-restarts, ${r.seconds.toFixed(0)} s, availability ${
      (100 * availability(r)).toFixed(2)
    } %`
  );
  return [
    "Per fault kind: count / faults with violations / service restored after (median, p95 ms " +
    "from the fault's start) / client outage (median, p95 ms)",
    table(["kind", ...runs.map((r) => r.topology)], rows),
    ...totals,
  ].join("\n");
}

/** Share of the campaign's time the client was answered (1 − outage / duration). */
export function availability(r: RunResult): number {
  const outageMs = r.results.reduce((a, x) => a + x.outageMs, 0);
  const ms = r.results.reduce((a, x) => a + x.windowMs, 0);
  return ms > 0 ? Math.max(0, 1 - outageMs / ms) : 1;
}

/** What {@link runCampaign} runs. */
export interface CampaignOptions {
  /** Topologies, in order. */
  topologies: Topology[];
  /** Faults per topology. */
  faults: number;
  /** Seed of every schedule. */
  seed: number;
  /** Timers of every cluster. */
  timing: Timing;
  /** After hb-hb, run its schedule against a real Heartbeat pair too. */
  compare: boolean;
  /** Fault vocabulary (default: all kinds). */
  kinds?: readonly FaultKind[];
  /** Progress lines. */
  log: (line: string) => void;
  /** Where the logs of a run with violations are kept. */
  keepDir: string;
}

/** Runs the campaign on each topology in turn (see the module documentation). */
export async function runCampaign(o: CampaignOptions): Promise<RunResult[]> {
  const runs: RunResult[] = [];
  for (const t of o.topologies) {
    const faults = planSchedule(o.seed, o.faults, topologyImpls(t).length, o.kinds);
    runs.push(await runTopology(t, faults, o.timing, o.log, o.keepDir));
    if (t === "hb-hb" && o.compare) {
      // the same seeded schedule against the real Heartbeat pair, for the side-by-side table
      runs.push(await runTopology("heartbeat", faults, o.timing, o.log, o.keepDir));
    }
  }
  return runs;
}

/**
 * Faults with violations plus global violations of the hb topologies. Not counted: the real
 * pair, and in the mixed topology a fault during which the real Heartbeat restarted itself —
 * its restart re-executes the daemon without `-f`, which leaves the testbed node, so the
 * campaign starts it again while the old image may still hold the address it acquired: what
 * follows says nothing about hb (reported as Heartbeat's in the per-fault lines).
 */
export function hbViolations(runs: readonly RunResult[]): number {
  return runs.filter((r) => r.topology !== "heartbeat").reduce(
    (n, r) =>
      n + r.global.length +
      r.results.filter((x) => x.violations.length && !heartbeatsDoing(r, x)).length,
    0,
  );
}

/** A fault of the mixed topology during which the real Heartbeat restarted itself. */
export function heartbeatsDoing(r: RunResult, x: FaultResult): boolean {
  return r.topology === "mixed" && x.selfRestarts > 0;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      faults: { type: "string", default: "20" },
      seed: { type: "string" },
      topology: { type: "string", default: "all" },
      "no-compare": { type: "boolean", default: false },
      kinds: { type: "string" },
      keepalive: { type: "string", default: "200" },
      deadtime: { type: "string", default: "1000" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(
      "usage: deno task chaos [--faults N (per topology)] [--seed S] " +
        "[--topology hb-hb|hb3|mixed|heartbeat|all] [--no-compare] [--kinds K1,K2] " +
        "[--keepalive MS] [--deadtime MS]",
    );
    return 0;
  }
  const count = Number(values.faults);
  const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2 ** 31;
  const timing = { keepaliveMs: Number(values.keepalive), deadtimeMs: Number(values.deadtime) };
  if (!Number.isInteger(count) || count < 1 || !Number.isFinite(seed)) {
    console.error("chaos: --faults must be a positive integer and --seed a number");
    return 2;
  }
  const topologies: Topology[] = values.topology === "all"
    ? ["hb-hb", "hb3", "mixed"]
    : [values.topology as Topology];
  for (const t of topologies) {
    if (!["hb-hb", "hb3", "mixed", "heartbeat"].includes(t)) {
      console.error(`chaos: unknown topology ${t}; allowed: hb-hb, hb3, mixed, heartbeat, all`);
      return 2;
    }
  }
  const kinds = values.kinds === undefined
    ? FAULT_KINDS
    : values.kinds.split(",").map((k) => k.trim() as FaultKind);
  for (const k of kinds) {
    if (!FAULT_KINDS.includes(k)) {
      console.error(`chaos: unknown fault kind ${k}; allowed: ${FAULT_KINDS.join(", ")}`);
      return 2;
    }
  }
  const keepDir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/hb-chaos-${seed}-${Date.now()}`;
  installGuard();
  console.log(
    `chaos: seed ${seed}, ${count} faults per topology, timing ${timing.keepaliveMs}/${timing.deadtimeMs} ms`,
  );
  const runs = await runCampaign({
    topologies,
    faults: count,
    seed,
    timing,
    compare: !values["no-compare"],
    kinds,
    log: console.log,
    keepDir,
  });
  console.log(report(runs));
  for (const r of runs) for (const g of r.global) console.log(`${r.topology}: ${g}`);
  const bad = hbViolations(runs);
  console.log(`chaos: seed ${seed}: ${bad === 0 ? "0 hb violations" : `${bad} hb violation(s)`}`);
  return bad === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
