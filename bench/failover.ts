/**
 * Suite 1, failover time: two nodes and the client namespace pinging the service address
 * every 10 ms. A trial kills the node that holds the address hard (testbed `killHard`:
 * SIGKILL of all its processes and its links down at once) and measures
 *
 * - `failover_ms`: kill → first echo reply from the survivor on the service address (the
 *   first reply after the kill that follows a silence of at least {@link GAP_MS});
 * - `detect_ms`: kill → the survivor's `node <victim>: is dead` line appearing in its ha-log
 *   (polled every 5 ms).
 *
 * The victim is then restarted (a boot) and rejoins; with `auto_failback off` the address
 * stays where it is, so trials alternate between the nodes. When no node holds the address
 * (hb before its resource takeover lands) a trial still measures detection (the victim is the
 * node that has been up longest) and records the failover as failed with the reason.
 *
 * Soft-stop trials stop the holder gracefully (SIGTERM, what `/etc/init.d/heartbeat stop`
 * does) and measure stop → first reply from the survivor (`handover_ms`) and the longest
 * silence of the service (`outage_ms`).
 *
 * @module
 */

import { fmt, Pinger, ratio, run, sleep, summarize, table, type TestNode } from "../lab/mod.ts";
import {
  BenchCluster,
  type BenchImpl,
  LogTail,
  reEscape,
  SERVICE_IP,
  type Timing,
  timingLabel,
} from "./cluster.ts";
import type { Recorder } from "./results.ts";
import { COROSYNC_MIN_TOKEN_MS, corosyncToken, isPeer } from "./peers.ts";

/** A reply counts as the new owner's first when the service was silent at least this long. */
export const GAP_MS = 30;

/** Don't kill a node within this long of its start (Heartbeat advertises a longer deadtime then). */
const MIN_UPTIME_MS = 6000;
/**
 * The same for the peers, whose rejoin already waited for the membership (keepalived's BACKUP
 * state, Pacemaker's `crm_mon` showing both nodes online); only a margin for their first
 * advertisements and probes.
 */
const PEER_MIN_UPTIME_MS = 2000;

/** Options of {@link runFailover}. */
export interface FailoverOptions {
  /** Implementations, compared configuration by configuration. */
  impls: BenchImpl[];
  /** Timer configurations. */
  timings: Timing[];
  /** Hard-kill trials per configuration. */
  trials: number;
  /** Hard-kill trials per configuration of the peers (keepalived, Pacemaker); default `trials`. */
  peerTrials?: number;
  /** Graceful-stop trials per configuration. */
  softTrials: number;
  /** `realtime` directive. */
  realtime: boolean;
  /** Where records go. */
  rec: Recorder;
  /** Progress output. */
  log: (line: string) => void;
}

/** Per-configuration state kept across trials. */
interface RunState {
  c: BenchCluster;
  startedAt: Map<string, number>;
  /** The implementation logs Heartbeat's resource negotiation lines (waited for on rejoin). */
  resourceLines: boolean;
}

/** Runs suite 1 and returns its report text. */
export async function runFailover(opts: FailoverOptions): Promise<string> {
  for (const timing of opts.timings) {
    for (const impl of opts.impls) {
      await runConfig(impl, timing, opts);
    }
  }
  return failoverReport(opts.rec, opts.impls, opts.timings);
}

async function runConfig(impl: BenchImpl, timing: Timing, opts: FailoverOptions): Promise<void> {
  const label = timingLabel(timing);
  const base = {
    suite: "failover",
    impl,
    timing: label,
    keepalive_ms: timing.keepaliveMs,
    deadtime_ms: timing.deadtimeMs,
  };
  opts.log(`failover ${impl} ${label}: starting two nodes`);
  let c: BenchCluster | undefined;
  try {
    c = await BenchCluster.create({
      impl,
      timing,
      client: true,
      realtime: opts.realtime,
      name: `failover-${impl}-${label.replace("/", "-")}`,
    });
    const st: RunState = { c, startedAt: new Map(), resourceLines: false };
    const t0 = Date.now();
    await c.startAll();
    for (const n of c.nodes) st.startedAt.set(n.name, t0);
    const up = await initialSettle(st);
    if (impl === "pacemaker") up.corosync_token_ms = corosyncToken(timing.deadtimeMs);
    await opts.rec.write({ ...base, kind: "startup", ...up });
    opts.log(
      `failover ${impl} ${label}: members active after ${fmt(up.members_ms as number)} ms, ` +
        `service address ${up.holder ? `on ${up.holder} after ${up.service_ms} ms` : "not up"}`,
    );
    const trials = isPeer(impl) ? opts.peerTrials ?? opts.trials : opts.trials;
    for (let i = 0; i < trials; i++) {
      const r = await guarded(() => hardTrial(st), st);
      await opts.rec.write({ ...base, kind: "hard", trial: i + 1, ...r });
      opts.log(
        `failover ${impl} ${label} #${i + 1}: ${r.victim} killed, detect ${
          fmt(r.detect_ms as number | undefined)
        } ms, failover ${fmt(r.failover_ms as number | undefined)} ms${
          r.ok ? "" : ` (failed: ${r.reason})`
        }`,
      );
    }
    for (let i = 0; i < opts.softTrials; i++) {
      const r = await guarded(() => softTrial(st), st);
      await opts.rec.write({ ...base, kind: "soft", trial: i + 1, ...r });
      opts.log(
        `failover ${impl} ${label} soft #${i + 1}: ${r.victim ?? "no node"} stopped, hand-over ${
          fmt(r.handover_ms as number | undefined)
        } ms, outage ${fmt(r.outage_ms as number | undefined)} ms${
          r.ok ? "" : ` (failed: ${r.reason})`
        }`,
      );
    }
  } catch (e) {
    const reason = e instanceof Error ? e.message.split("\n")[0] : String(e);
    opts.log(`failover ${impl} ${label}: configuration aborted: ${reason}`);
    await opts.rec.write({ ...base, kind: "error", reason });
  } finally {
    await c?.destroy().catch((e) => opts.log(`failover: clean-up: ${e}`));
  }
}

/** Runs a trial; an exception becomes a failed trial, then both nodes are brought back up. */
async function guarded(
  f: () => Promise<Record<string, unknown>>,
  st: RunState,
): Promise<Record<string, unknown>> {
  try {
    return await f();
  } catch (e) {
    const reason = e instanceof Error ? e.message.split("\n")[0] : String(e);
    for (const n of st.c.nodes) {
      if (!n.running) {
        await st.c.start(n);
        st.startedAt.set(n.name, Date.now());
      }
    }
    await sleep(3000);
    return { ok: false, reason: `harness: ${reason}` };
  }
}

const activeLine = (peer: string) =>
  new RegExp(`Status update for node ${reEscape(peer)}: status active`);
const RESOURCES_DONE = /Initial resource acquisition complete/;

/** Waits for both members active and for the service address (or gives up on it). */
async function initialSettle(st: RunState): Promise<Record<string, unknown>> {
  const { c } = st;
  const [n1, n2] = c.nodes;
  const t0 = Date.now();
  const tails = [new LogTail(n1), new LogTail(n2)];
  let membersMs: number;
  if (c.impl === "hb" || c.impl === "heartbeat") {
    const a = await tails[0].waitFor(activeLine(n2.name), 30_000, 50);
    const b = await tails[1].waitFor(activeLine(n1.name), 30_000, 50);
    if (!a || !b) throw new Error("the two nodes did not see each other active within 30 s");
    membersMs = Math.max(a.at, b.at) - t0;
  } else {
    // Pacemaker elects its first DC after dc-deadtime (20 s)
    const ms = await c.waitMembers(90_000);
    if (ms === undefined) throw new Error(`the two ${c.impl} nodes did not form a cluster in 90 s`);
    membersMs = ms;
  }
  // Heartbeat's start-up resource negotiation takes about 11 s; give the address 15 s more.
  let holder: string | undefined;
  const deadline = Date.now() + 15_000 + 2 * c.timing.deadtimeMs;
  while (Date.now() < deadline) {
    const h = await runningHolders(c);
    if (h.length === 1) {
      holder = h[0];
      break;
    }
    await sleep(100);
  }
  const serviceMs = holder ? Date.now() - t0 : undefined;
  for (const t of tails) await t.poll();
  st.resourceLines = tails.every((t) => t.matching(RESOURCES_DONE).length > 0);
  await sleep(1000);
  return { members_ms: membersMs, service_ms: serviceMs, holder, resource_lines: st.resourceLines };
}

/** Service address holders among the running nodes. */
async function runningHolders(c: BenchCluster): Promise<string[]> {
  const running = new Set(c.nodes.filter((n) => n.running).map((n) => n.name));
  return (await c.ipHolders()).filter((h) => running.has(h));
}

/** Picks the victim (the address holder, else the node up longest) and the survivor. */
async function pickVictim(st: RunState): Promise<[TestNode, TestNode, boolean]> {
  const holders = await runningHolders(st.c);
  const [n1, n2] = st.c.nodes;
  let victim: TestNode;
  if (holders.length === 1) victim = st.c.node(holders[0]);
  else victim = (st.startedAt.get(n1.name) ?? 0) <= (st.startedAt.get(n2.name) ?? 0) ? n1 : n2;
  const survivor = victim === n1 ? n2 : n1;
  const uptime = Date.now() - (st.startedAt.get(victim.name) ?? 0);
  const minUptime = st.c.impl === "hb" || st.c.impl === "heartbeat"
    ? MIN_UPTIME_MS
    : PEER_MIN_UPTIME_MS;
  if (uptime < minUptime) await sleep(minUptime - uptime);
  return [victim, survivor, holders.length === 1];
}

async function hardTrial(st: RunState): Promise<Record<string, unknown>> {
  const { c } = st;
  const { keepaliveMs, deadtimeMs } = c.timing;
  const [victim, survivor, hasService] = await pickVictim(st);
  // Random phase of the kill relative to the heartbeat schedule.
  await sleep(Math.random() * keepaliveMs);
  let pinger: Pinger | undefined;
  let reason: string | undefined;
  if (hasService) {
    pinger = Pinger.start(c.tb.client!, SERVICE_IP);
    if (!(await pinger.waitReplies(3, 0, 3000))) {
      reason = `service address held by ${victim.name} but not answering before the kill`;
      const neigh = await c.tb.client!.exec(["ip", "neigh", "show", SERVICE_IP]);
      const macs = await Promise.all(c.nodes.map(async (n) => {
        const r = await run(["ip", "-n", n.netns, "-br", "link", "show", "eth0"], { check: false });
        return `${n.name} ${r.stdout.trim().split(/\s+/)[2] ?? "?"}`;
      }));
      reason += ` (client: ${neigh.stdout.trim() || "no neighbour entry"}; ${macs.join(", ")})`;
    }
  } else {
    reason = `service address ${SERVICE_IP} not up on any node before the kill`;
  }
  const tail = await LogTail.at(c.logPath(survivor));
  const tKill = Date.now();
  await c.tb.killHard(victim);
  const killMs = Date.now() - tKill;
  const det = await tail.waitFor(c.detectLine(victim.name), 2 * deadtimeMs + 5000);
  let failoverMs: number | undefined;
  let outageMs: number | undefined;
  if (pinger && !reason) {
    // The takeover follows detection within a few hundred ms in Heartbeat; allow 3 s.
    const wait = det ? Math.max(0, det.at + 3000 - Date.now()) : 0;
    // replies before killHard returned may still come from the victim (its links go down last)
    const rep = await pinger.waitAfterGap(tKill + killMs, GAP_MS, wait);
    if (rep) {
      failoverMs = rep.reply.at - tKill;
      if (rep.previous) outageMs = rep.reply.at - rep.previous.at;
    } else {
      reason = det
        ? `no reply on ${SERVICE_IP} within 3000 ms of the detection`
        : `no detection and no reply within ${2 * deadtimeMs + 5000} ms`;
    }
  }
  await pinger?.stop();
  if (!det && !reason) reason = `survivor logged no ${c.detectLine(victim.name).source} line`;
  const holdersAfter = await runningHolders(c);
  const result: Record<string, unknown> = {
    victim: victim.name,
    survivor: survivor.name,
    detect_ms: det ? det.at - tKill : undefined,
    failover_ms: failoverMs,
    outage_ms: outageMs,
    kill_ms: killMs,
    holder_after: holdersAfter.join(",") || undefined,
    ok: reason === undefined && failoverMs !== undefined,
    reason,
  };
  await rejoin(st, victim, survivor);
  return result;
}

async function softTrial(st: RunState): Promise<Record<string, unknown>> {
  const { c } = st;
  const holders = await runningHolders(c);
  if (holders.length !== 1) {
    return { ok: false, reason: `service address ${SERVICE_IP} not up on exactly one node` };
  }
  const [victim, survivor] = await pickVictim(st);
  await sleep(Math.random() * c.timing.keepaliveMs);
  const pinger = Pinger.start(c.tb.client!, SERVICE_IP);
  let reason: string | undefined;
  if (!(await pinger.waitReplies(3, 0, 3000))) reason = "service address not answering";
  const tStop = Date.now();
  const stopped = c.tb.stopSoft(victim, { timeoutMs: 60_000 }).then(
    () => ({ at: Date.now() }),
    (e) => ({ at: Date.now(), error: String(e) }),
  );
  const rep = await pinger.waitAfterGap(tStop, GAP_MS, 2 * c.timing.deadtimeMs + 15_000);
  const stop = await stopped;
  await sleep(200);
  await pinger.stop();
  const holdersAfter = await runningHolders(c);
  let handoverMs: number | undefined;
  let outageMs: number | undefined;
  if (rep) {
    handoverMs = rep.reply.at - tStop;
    outageMs = rep.previous ? rep.reply.at - rep.previous.at : undefined;
  } else if (!reason) {
    const answered = pinger.replies.some((r) => r.at > stop.at + 100);
    if (answered && holdersAfter.includes(survivor.name)) {
      outageMs = 0; // moved without a silence of GAP_MS
    } else {
      reason = "no reply from the survivor after the graceful stop";
    }
  }
  if (!reason && !holdersAfter.includes(survivor.name)) {
    reason = `after the stop the address is on ${holdersAfter.join(",") || "no node"}`;
  }
  if ("error" in stop) reason ??= `stop: ${stop.error}`;
  const result = {
    victim: victim.name,
    survivor: survivor.name,
    handover_ms: handoverMs,
    outage_ms: outageMs,
    stop_ms: stop.at - tStop,
    holder_after: holdersAfter.join(",") || undefined,
    ok: reason === undefined,
    reason,
  };
  await rejoin(st, victim, survivor);
  return result;
}

/** Restarts `victim` and waits until both sides see each other active again and settled. */
async function rejoin(st: RunState, victim: TestNode, survivor: TestNode): Promise<void> {
  const { c } = st;
  if (c.impl !== "hb" && c.impl !== "heartbeat") {
    const since = new Map<string, number>();
    for (const n of c.nodes) {
      since.set(n.name, n === victim ? (await n.readConsole()).length : 0);
    }
    await c.start(victim);
    st.startedAt.set(victim.name, Date.now());
    if (await c.waitMembers(60_000, since) === undefined) {
      throw new Error(`${victim.name} did not rejoin within 60 s`);
    }
    await sleep(Math.max(1000, 2 * c.timing.keepaliveMs));
    return;
  }
  const ts = await LogTail.at(survivor);
  const tv = await LogTail.at(victim);
  await c.start(victim);
  st.startedAt.set(victim.name, Date.now());
  const a = await ts.waitFor(activeLine(victim.name), 30_000, 20);
  const b = await tv.waitFor(activeLine(survivor.name), 30_000, 20);
  if (!a || !b) throw new Error(`${victim.name} did not rejoin within 30 s`);
  if (st.resourceLines) await tv.waitFor(RESOURCES_DONE, 15_000, 20);
  await sleep(Math.max(500, 2 * c.timing.keepaliveMs));
}

/** Data for the plot: per timing and implementation, the hard-kill failover and detection times. */
export interface FailoverSeries {
  /** Timing label. */
  timing: string;
  /** Deadtime of the timing (ms). */
  deadtimeMs: number;
  /** Keepalive of the timing (ms). */
  keepaliveMs: number;
  /** Implementation. */
  impl: BenchImpl;
  /** Successful failover times (ms). */
  failover: number[];
  /** Detection times (ms). */
  detect: number[];
}

/** Collects {@link FailoverSeries} from the records. */
export function failoverSeries(
  rec: Recorder,
  impls: BenchImpl[],
  timings: Timing[],
): FailoverSeries[] {
  const out: FailoverSeries[] = [];
  for (const t of timings) {
    for (const impl of impls) {
      const rs = rec.select("failover", "hard").filter((r) =>
        r.impl === impl && r.timing === timingLabel(t)
      );
      out.push({
        timing: timingLabel(t),
        deadtimeMs: t.deadtimeMs,
        keepaliveMs: t.keepaliveMs,
        impl,
        failover: rs.filter((r) => r.ok).map((r) => r.failover_ms as number),
        detect: rs.map((r) => r.detect_ms as number | undefined).filter((x): x is number =>
          x !== undefined
        ),
      });
    }
  }
  return out;
}

/** The suite's tables (hard kill and soft stop), with hb/Heartbeat ratios and targets. */
export function failoverReport(rec: Recorder, impls: BenchImpl[], timings: Timing[]): string {
  const rows: string[][] = [];
  const medians = new Map<string, { failover?: number; detect?: number }>();
  for (const t of timings) {
    const label = timingLabel(t);
    for (const impl of impls) {
      const rs = rec.select("failover", "hard").filter((r) =>
        r.impl === impl && r.timing === label
      );
      const fo = summarize(rs.filter((r) => r.ok).map((r) => r.failover_ms as number));
      const de = summarize(rs.map((r) => r.detect_ms as number));
      medians.set(`${impl} ${label}`, { failover: fo.median, detect: de.median });
      const failed = rs.filter((r) => !r.ok);
      rows.push([
        label,
        impl,
        `${fo.n}/${rs.length}`,
        fmt(fo.min),
        fmt(fo.median),
        fmt(fo.p95),
        fmt(fo.max),
        fmt(de.min),
        fmt(de.median),
        fmt(de.p95),
        fmt(de.max),
        failed.length ? String(failed[0].reason ?? "").slice(0, 60) : "",
      ]);
    }
  }
  const out = [
    "Failover after a hard kill (ms from the kill; failover = first echo reply from the survivor on " +
    `${SERVICE_IP}, detect = "is dead" in the survivor's ha-log; keepalived: its "Receive ` +
    `advertisement timeout"; pacemaker: Corosync's new membership, "Members left")`,
    table(
      [
        "timing",
        "impl",
        "ok",
        "fo min",
        "fo med",
        "fo p95",
        "fo max",
        "det min",
        "det med",
        "det p95",
        "det max",
        "first failure",
      ],
      rows,
    ),
  ];
  if (impls.includes("keepalived") || impls.includes("pacemaker")) {
    out.push(
      "keepalived: advert_int = keepalive (master down after 3 × advert_int + skew); " +
        "pacemaker: Corosync token = deadtime / 2.2 (lost after token + 1.2 × token), at " +
        `least ${COROSYNC_MIN_TOKEN_MS} ms (Corosync's minimum; at 10ms/50ms lost after 277 ms)`,
    );
  }
  if (impls.some((i) => i !== "hb" && i !== "heartbeat") && impls.length > 1) {
    out.push(
      "",
      "Side by side: failover median (ms; n ok / trials)",
      table(
        ["timing", ...impls],
        timings.map((t) => {
          const label = timingLabel(t);
          return [
            label,
            ...impls.map((impl) => {
              const rs = rec.select("failover", "hard").filter((r) =>
                r.impl === impl && r.timing === label
              );
              const ok = rs.filter((r) => r.ok).length;
              return `${fmt(medians.get(`${impl} ${label}`)?.failover)} (${ok}/${rs.length})`;
            }),
          ];
        }),
      ),
    );
  }
  if (impls.includes("hb") && impls.includes("heartbeat")) {
    const r2: string[][] = [];
    for (const t of timings) {
      const label = timingLabel(t);
      const h = medians.get(`hb ${label}`) ?? {};
      const r = medians.get(`heartbeat ${label}`) ?? {};
      const target = t.deadtimeMs - t.keepaliveMs / 2 + 50;
      const targetText = t.deadtimeMs <= 50 ? `<= ${target} and < 100` : `<= ${target}`;
      const met = h.failover === undefined
        ? "not measured"
        : h.failover <= target && (t.deadtimeMs > 50 || h.failover < 100)
        ? "met"
        : "missed";
      r2.push([
        label,
        fmt(h.failover),
        fmt(r.failover),
        ratio(h.failover, r.failover),
        fmt(h.detect),
        fmt(r.detect),
        ratio(h.detect, r.detect),
        targetText,
        met,
      ]);
    }
    out.push(
      "",
      "hb vs Heartbeat (medians, ms; ratio = hb / Heartbeat; target: hb failover median <= " +
        "deadtime - keepalive/2 + 50 ms, and < 100 ms at 10ms/50ms)",
      table(
        [
          "timing",
          "hb fo",
          "HB3 fo",
          "ratio",
          "hb det",
          "HB3 det",
          "ratio",
          "target (ms)",
          "hb",
        ],
        r2,
      ),
    );
  }
  const soft = rec.select("failover", "soft");
  if (soft.length) {
    const r3: string[][] = [];
    for (const t of timings) {
      const label = timingLabel(t);
      for (const impl of impls) {
        const rs = soft.filter((r) => r.impl === impl && r.timing === label);
        if (!rs.length) continue;
        const ok = rs.filter((r) => r.ok);
        const ho = summarize(ok.map((r) => r.handover_ms as number));
        const ou = summarize(ok.map((r) => r.outage_ms as number));
        const sp = summarize(rs.map((r) => r.stop_ms as number));
        const failed = rs.filter((r) => !r.ok);
        r3.push([
          label,
          impl,
          `${ok.length}/${rs.length}`,
          fmt(ho.min),
          fmt(ho.median),
          fmt(ho.max),
          fmt(ou.median),
          fmt(ou.max),
          fmt(sp.median),
          failed.length ? String(failed[0].reason ?? "").slice(0, 60) : "",
        ]);
      }
    }
    out.push(
      "",
      "Graceful stop of the holder (SIGTERM; hand-over = stop → first reply from the survivor; " +
        "outage = longest silence; stop = until the daemon exited; ms)",
      table(
        [
          "timing",
          "impl",
          "ok",
          "ho min",
          "ho med",
          "ho max",
          "out med",
          "out max",
          "stop med",
          "first failure",
        ],
        r3,
      ),
    );
  }
  return out.join("\n");
}
