/**
 * Shared helpers of the failover acceptance tests (`tests/failover_*_test.ts`): a cluster of
 * testbed nodes with a service IP group and recording resource groups, and the checks every
 * scenario makes.
 *
 * - The service IP `198.18.0.100/24/eth0` is handled by the installed `IPaddr` script (the real
 *   one, copied into every node's `/etc/ha.d/resource.d`).
 * - `rec::<name>` groups run {@link REC_SCRIPT}: each call (start, stop, status) is appended with
 *   a millisecond timestamp and the host name to `/var/log/rec.log` of the node (read by the
 *   test), the state lives in `/run/rec-<name>.state` (so a power cycle stops it) and `status`
 *   answers `running` or `stopped`.
 * - A {@link Watch} follows the service IP on every node (`ip -ts monitor address` in each
 *   node's network namespace: every add and delete, with its time) and remembers hard kills;
 *   with the call logs ({@link runningIntervals}) it proves that neither the IP nor a group was
 *   active on two nodes at once ({@link assertNoOverlap}), outside the windows in which that is
 *   legitimate (a cut link, a frozen node: {@link Watch.allowDuplicates}). Each step also checks
 *   `ip -o addr show` inside every node ({@link waitPlacement}).
 *
 * Needs root and the testbed's packages; throws (never skips) when something is missing.
 *
 * @module
 */

import { sleep } from "./mod.ts";
import { assert, fail } from "../assert.ts";
import {
  authkeys,
  failoverHaCf,
  hbCommand,
  REAL_CL_STATUS,
  REAL_SHARE_DIR,
  run,
  type Testbed,
  type TestNode,
  waitFor,
} from "../testbed/mod.ts";

export { failoverHaCf } from "../testbed/mod.ts";

/** The service address of every failover test. */
export const SERVICE_IP = "198.18.0.100";
/** Its haresources spec (the key of the IP group). */
export const SERVICE_SPEC = `${SERVICE_IP}/24/eth0`;

/**
 * The recording resource script (`rec::<name>`): logs every call as
 * `<epoch ms> <host> <name> <action> <answer>` to `/var/log/rec.log`.
 */
export const REC_SCRIPT = `#!/bin/sh
# rec <name> start|stop|status — a resource that records every call (failover tests)
name=$1 op=$2
log=/var/log/rec.log
state=/run/rec-$name.state
now() { date +%s%3N; }
case "$op" in
  start)
    echo "$(now) $(uname -n) $name start -" >>"$log"
    echo running >"$state"
    exit 0;;
  stop)
    rm -f "$state"
    echo "$(now) $(uname -n) $name stop -" >>"$log"
    exit 0;;
  status)
    if [ -f "$state" ]; then s=running; else s=stopped; fi
    echo "$(now) $(uname -n) $name status $s" >>"$log"
    echo "$s"
    exit 0;;
  *)
    echo "usage: $0 name start|stop|status" >&2
    exit 1;;
esac
`;

/**
 * A resource whose start always fails (`bad::<name>`); it records its calls like
 * {@link REC_SCRIPT} and is never running.
 */
export const BAD_SCRIPT = `#!/bin/sh
name=$1 op=$2
echo "$(date +%s%3N) $(uname -n) $name $op failed" >>/var/log/rec.log
case "$op" in
  start) echo "bad: cannot start $name" >&2; exit 1;;
  stop) exit 0;;
  status) echo stopped; exit 0;;
esac
exit 1
`;

/** Prints the time since the stopwatch was made, with a note; returns the seconds. */
export function stopwatch(prefix = ""): (what: string) => number {
  const t0 = performance.now();
  return (what) => {
    const s = (performance.now() - t0) / 1000;
    console.log(`  ${prefix}${s.toFixed(3).padStart(8)} s  ${what}`);
    return s;
  };
}

// ------------------------------------------------------------------------ set-up

/** Writes ha.cf, authkeys, haresources and the resource scripts on every node. */
export async function configure(
  tb: Testbed,
  opts: {
    autoFailback: "on" | "off" | "legacy";
    haresources: string;
    extra?: Record<string, string | number>;
  },
): Promise<void> {
  const names = tb.nodes.map((n) => n.name);
  for (const n of tb.nodes) {
    await n.writeHaCf(failoverHaCf(names, opts.autoFailback, opts.extra));
    await n.writeAuthkeys(authkeys("sha1", "failover"));
    await n.writeHaresources(opts.haresources);
    await n.writeResourceScript("rec", REC_SCRIPT);
    await n.writeResourceScript("bad", BAD_SCRIPT);
  }
}

// ------------------------------------------------------------------------ observations

/** The IPv4 addresses configured on `eth0` of `node` (`ip -o addr show`, read from outside). */
export async function addresses(node: TestNode): Promise<string[]> {
  const r = await run(["ip", "-n", node.netns, "-o", "-4", "addr", "show", "dev", "eth0"], {
    check: false,
  });
  return [...r.stdout.matchAll(/ inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]);
}

/** Running nodes that have the service IP on eth0 (`ip -o addr show` inside each node). */
export async function ipHolders(tb: Testbed): Promise<string[]> {
  const out: string[] = [];
  for (const n of tb.nodes) {
    if (!n.running) continue;
    const r = await n.exec(["ip", "-o", "-4", "addr", "show"], { timeoutMs: 5000 });
    if (r.stdout.includes(` inet ${SERVICE_IP}/`)) out.push(n.name);
  }
  return out;
}

/** Running nodes on which `rec::<name>` is running (its state file exists). */
export async function recHolders(tb: Testbed, name: string): Promise<string[]> {
  const out: string[] = [];
  for (const n of tb.nodes) {
    if (!n.running) continue;
    const st = await Deno.stat(`${n.runDir}/rec-${name}.state`).catch(() => undefined);
    if (st) out.push(n.name);
  }
  return out;
}

/** Expected placement: group name (`ip` = the service IP) → the one node that runs it, or none. */
export type Placement = Record<string, string | null>;

/** The current placement of `names` (plus `ip`), as lists of holders. */
export async function placement(tb: Testbed, names: readonly string[]): Promise<
  Record<string, string[]>
> {
  const p: Record<string, string[]> = { ip: await ipHolders(tb) };
  for (const g of names) p[g] = await recHolders(tb, g);
  return p;
}

function samePlacement(actual: Record<string, string[]>, want: Placement): boolean {
  return Object.entries(want).every(([g, n]) => {
    const a = actual[g] ?? [];
    return n === null ? a.length === 0 : a.length === 1 && a[0] === n;
  });
}

/**
 * Waits until every group of `want` runs on exactly the given node (null = nowhere); returns
 * the milliseconds it took. Throws with the last placement on timeout.
 */
export async function waitPlacement(
  tb: Testbed,
  want: Placement,
  timeoutMs = 15_000,
): Promise<number> {
  const t0 = performance.now();
  const names = Object.keys(want).filter((g) => g !== "ip");
  let last: Record<string, string[]> = {};
  for (;;) {
    last = await placement(tb, names);
    if (samePlacement(last, want)) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) {
      fail(
        `placement not reached within ${timeoutMs} ms: want ${JSON.stringify(want)}, have ${
          JSON.stringify(last)
        }\n${await logTails(tb)}`,
      );
    }
    await sleep(100);
  }
}

/**
 * Checks that the placement stays `want` for `ms` milliseconds (nothing moves back and forth).
 */
export async function assertStable(tb: Testbed, want: Placement, ms: number): Promise<void> {
  const end = performance.now() + ms;
  const names = Object.keys(want).filter((g) => g !== "ip");
  while (performance.now() < end) {
    const p = await placement(tb, names);
    if (!samePlacement(p, want)) {
      fail(
        `placement changed: want ${JSON.stringify(want)}, have ${
          JSON.stringify(p)
        }\n${await logTails(
          tb,
        )}`,
      );
    }
    await sleep(200);
  }
}

/** The last lines of every node's ha-log (for failure messages). */
export async function logTails(tb: Testbed, lines = 25): Promise<string> {
  const parts: string[] = [];
  for (const n of tb.nodes) {
    const text = await n.readLog();
    parts.push(`---- ${n.name} ha-log tail\n${text.split("\n").slice(-lines).join("\n")}`);
  }
  return parts.join("\n");
}

/** `cl_status rscstatus` inside `node` (the real client; both daemons speak its API). */
export async function rscstatus(node: TestNode): Promise<string> {
  const r = await node.exec([REAL_CL_STATUS, "rscstatus"], { timeoutMs: 5000 });
  return r.code === 0 ? r.stdout.trim() : `exit ${r.code}: ${r.stdout.trim()} ${r.stderr.trim()}`;
}

/** Runs hb_standby (or hb_takeover) `word` inside `node`: the real script or hb's personality. */
export async function standby(
  node: TestNode,
  word: "all" | "local" | "foreign" | "failback" = "all",
  opts: { via?: "real" | "hb"; tool?: "hb_standby" | "hb_takeover" } = {},
): Promise<void> {
  const tool = opts.tool ?? "hb_standby";
  const cmd = (opts.via ?? (node.impl === "hb" ? "hb" : "real")) === "hb"
    ? [...hbCommand(), tool, word]
    : [`${REAL_SHARE_DIR}/${tool}`, word];
  const r = await node.exec(cmd, { timeoutMs: 15_000 });
  if (r.code !== 0) fail(`${node.name}: ${cmd.join(" ")} exited ${r.code}: ${r.stdout}${r.stderr}`);
}

/**
 * Time until the client reaches the service IP (`ping -c1 -W1` in a loop); also returns which
 * node answered (by the MAC address the client resolved).
 */
export async function clientReach(
  tb: Testbed,
  timeoutMs = 15_000,
): Promise<{ ms: number; node: string }> {
  const client = tb.client;
  if (!client) fail("testbed has no client");
  const t0 = performance.now();
  for (;;) {
    const r = await client.exec(["ping", "-n", "-c1", "-W1", SERVICE_IP], { timeoutMs: 3000 });
    if (r.code === 0) {
      const ms = performance.now() - t0;
      const neigh = await client.exec(["ip", "neigh", "show", SERVICE_IP]);
      const mac = neigh.stdout.match(/lladdr ([0-9a-f:]+)/)?.[1] ?? "";
      let node = `unknown (${neigh.stdout.trim()})`;
      for (const n of tb.nodes) {
        const l = await run(["ip", "-n", n.netns, "-o", "link", "show", "eth0"], { check: false });
        if (mac && l.stdout.includes(mac)) node = n.name;
      }
      return { ms, node };
    }
    if (performance.now() - t0 > timeoutMs) {
      fail(`client cannot reach ${SERVICE_IP} within ${timeoutMs} ms: ${r.stdout}${r.stderr}`);
    }
    await sleep(50);
  }
}

// ------------------------------------------------------------------------ call logs

/** One line of a recording script's call log. */
export interface Call {
  /** Epoch ms. */
  at: number;
  /** Host that ran it. */
  host: string;
  /** Resource name. */
  name: string;
  /** start, stop, status. */
  op: string;
  /** status answer, `-` otherwise. */
  answer: string;
}

/** The recording script's calls on `node`. */
export async function readCalls(node: TestNode): Promise<Call[]> {
  const text = await node.readLog("rec.log");
  return text.split("\n").filter(Boolean).map((l) => {
    const [at, host, name, op, answer] = l.split(" ");
    return { at: Number(at), host, name, op, answer };
  });
}

/** A time interval during which a node ran a resource. */
export interface Interval {
  /** The node. */
  node: string;
  /** The resource. */
  name: string;
  /** Start (epoch ms). */
  from: number;
  /** End (epoch ms; Infinity while running). */
  to: number;
}

/**
 * Running intervals of every `rec` resource per node, from the call logs: a start opens one, a
 * stop closes it, and a hard kill or freeze-kill (`ends`) of the node closes every open one.
 */
export async function runningIntervals(
  tb: Testbed,
  ends: ReadonlyArray<{ node: string; at: number }>,
): Promise<Interval[]> {
  const out: Interval[] = [];
  for (const n of tb.nodes) {
    const events: Array<{ at: number; kind: "start" | "stop" | "end"; name?: string }> = [];
    for (const c of await readCalls(n)) {
      if (c.op === "start" || c.op === "stop") events.push({ at: c.at, kind: c.op, name: c.name });
    }
    for (const e of ends) if (e.node === n.name) events.push({ at: e.at, kind: "end" });
    events.sort((a, b) => a.at - b.at);
    const open = new Map<string, number>();
    for (const e of events) {
      if (e.kind === "start") {
        if (!open.has(e.name!)) open.set(e.name!, e.at);
      } else if (e.kind === "stop") {
        const from = open.get(e.name!);
        if (from !== undefined) out.push({ node: n.name, name: e.name!, from, to: e.at });
        open.delete(e.name!);
      } else {
        for (const [name, from] of open) out.push({ node: n.name, name, from, to: e.at });
        open.clear();
      }
    }
    for (const [name, from] of open) out.push({ node: n.name, name, from, to: Infinity });
  }
  return out;
}

/**
 * Asserts that no resource ran on two nodes at once, except inside `allowed` windows (epoch ms).
 */
export function assertNoOverlap(
  intervals: readonly Interval[],
  allowed: ReadonlyArray<{ from: number; to: number }> = [],
  context = "",
): void {
  const bad = findOverlaps(intervals, allowed).map((o) =>
    `${o.name} ran on ${o.nodes[0]} and ${o.nodes[1]} at once from ${iso(o.from)} to ${
      o.to === Infinity ? "now" : iso(o.to)
    } (${o.to === Infinity ? "∞" : o.to - o.from} ms)`
  );
  if (bad.length) fail(`overlapping running intervals:\n${bad.join("\n")}${context}`);
}

/** The overlaps {@link assertNoOverlap} refuses (epoch ms). */
export function findOverlaps(
  intervals: readonly Interval[],
  allowed: ReadonlyArray<{ from: number; to: number }> = [],
): Array<{ name: string; nodes: [string, string]; from: number; to: number }> {
  const out: Array<{ name: string; nodes: [string, string]; from: number; to: number }> = [];
  for (let i = 0; i < intervals.length; i++) {
    for (let j = i + 1; j < intervals.length; j++) {
      const a = intervals[i], b = intervals[j];
      if (a.name !== b.name || a.node === b.node) continue;
      const from = Math.max(a.from, b.from), to = Math.min(a.to, b.to);
      if (from >= to) continue;
      if (allowed.some((w) => w.from <= from && to <= w.to)) continue;
      out.push({ name: a.name, nodes: [a.node, b.node], from, to });
    }
  }
  return out;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

// ------------------------------------------------------------------------ watch

/**
 * Follows the service IP on every node (`ip -ts monitor address` in each node's network
 * namespace, so every add and delete is seen with its time, however short) and remembers hard
 * kills and the windows in which two nodes may legitimately hold a group (a cut link, a frozen
 * node). {@link Watch.check} then asserts that neither the IP nor any `rec` group was active on
 * two nodes at once outside those windows.
 */
export class Watch {
  readonly #tb: Testbed;
  readonly #children: Deno.ChildProcess[] = [];
  readonly #readers: Promise<void>[] = [];
  #allow = 0;
  #allowFrom = 0;
  /** IP address events per node (epoch ms). */
  readonly ipEvents: Array<{ node: string; at: number; up: boolean }> = [];
  /** Windows in which duplicates are allowed (epoch ms). */
  readonly allowed: Array<{ from: number; to: number }> = [];
  /** Hard kills (epoch ms): every resource of the node ended then. */
  readonly ends: Array<{ node: string; at: number }> = [];

  /** Made for the nodes of `tb`; call {@link Watch.start}. */
  constructor(tb: Testbed) {
    this.#tb = tb;
  }

  /** Starts following the addresses of every node. */
  async start(): Promise<void> {
    for (const n of this.#tb.nodes) {
      const child = new Deno.Command("ip", {
        args: ["-ts", "-n", n.netns, "monitor", "address"],
        stdout: "piped",
        stderr: "null",
        stdin: "null",
      }).spawn();
      this.#children.push(child);
      this.#readers.push(this.#follow(n.name, child.stdout));
    }
    // `ip monitor` subscribes right after it starts; give it that moment.
    await sleep(200);
    for (const n of this.#tb.nodes) {
      if ((await addresses(n)).includes(SERVICE_IP)) {
        this.ipEvents.push({ node: n.name, at: Date.now(), up: true });
      }
    }
  }

  async #follow(node: string, stream: ReadableStream<Uint8Array>): Promise<void> {
    const re = new RegExp(
      `^\\[([0-9T:.-]+)\\] (Deleted )?\\d+: \\S+\\s+inet ${SERVICE_IP.replaceAll(".", "\\.")}/`,
    );
    let buf = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const m = line.match(re);
        if (!m) continue;
        // the stamp is local time without a zone: Date parses it as local time
        const at = new Date(m[1].slice(0, 23)).getTime();
        this.ipEvents.push({ node, at: Number.isNaN(at) ? Date.now() : at, up: !m[2] });
      }
    }
  }

  /** Stops following. */
  async stop(): Promise<void> {
    for (const c of this.#children) {
      try {
        c.kill("SIGTERM");
      } catch {
        // gone
      }
    }
    await Promise.all(this.#children.map((c) => c.status));
    await Promise.all(this.#readers);
    this.#children.length = 0;
  }

  /** Intervals in which each node had the service IP (name `ip`), closed by hard kills. */
  ipIntervals(): Interval[] {
    const out: Interval[] = [];
    for (const n of this.#tb.nodes) {
      const evs: Array<{ at: number; kind: "up" | "down" | "end" }> = [
        ...this.ipEvents.filter((e) => e.node === n.name).map((e) => ({
          at: e.at,
          kind: e.up ? "up" as const : "down" as const,
        })),
        ...this.ends.filter((e) => e.node === n.name).map((e) => ({
          at: e.at,
          kind: "end" as const,
        })),
      ].sort((a, b) => a.at - b.at);
      let from: number | undefined;
      for (const e of evs) {
        if (e.kind === "up") from ??= e.at;
        else if (from !== undefined) {
          out.push({ node: n.name, name: "ip", from, to: e.at });
          from = undefined;
        }
      }
      if (from !== undefined) out.push({ node: n.name, name: "ip", from, to: Infinity });
    }
    return out;
  }

  /**
   * Runs `fn` (a link cut, a freeze, …) and the settling after it as a window in which both
   * sides may hold a group; the window ends when `fn` resolves.
   */
  async allowDuplicates<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#allow++ === 0) this.#allowFrom = Date.now();
    try {
      return await fn();
    } finally {
      if (--this.#allow === 0) this.allowed.push({ from: this.#allowFrom, to: Date.now() });
    }
  }

  /** Hard-kills `node` and records the moment; returns `performance.now()` of the kill. */
  async killHard(node: TestNode): Promise<number> {
    const at = Date.now();
    const t = performance.now();
    await this.#tb.killHard(node);
    this.ends.push({ node: node.name, at });
    return t;
  }

  /** Asserts that neither the IP nor a `rec` group was active on two nodes at once. */
  async check(): Promise<void> {
    assert(this.ipEvents.length > 0, "the address monitor saw no change of the service IP");
    const intervals = [...this.ipIntervals(), ...await runningIntervals(this.#tb, this.ends)];
    const overlaps = findOverlaps(intervals, this.allowed);
    // (what every node logged around the first overlap, for a failure seen once in CI)
    const context = overlaps.length === 0 ? "" : await this.#logsAround(overlaps[0].from);
    assertNoOverlap(intervals, this.allowed, context);
  }

  /** Every node's ha-log and call log lines within 3 s of `at` (epoch ms). */
  async #logsAround(at: number): Promise<string> {
    const stamps = new Set<string>();
    for (let t = at - 3000; t <= at + 3000; t += 1000) {
      stamps.add(new Date(t).toISOString().slice(11, 19));
    }
    const parts: string[] = [];
    for (const n of this.#tb.nodes) {
      const lines = (await n.readLog()).split("\n").filter((l) =>
        [...stamps].some((s) => l.includes(s))
      );
      const calls = (await readCalls(n)).filter((c) => Math.abs(c.at - at) <= 3000)
        .map((c) => `${iso(c.at)} ${c.name} ${c.op} ${c.answer}`);
      parts.push(`---- ${n.name} ha-log around ${iso(at)}\n${lines.join("\n")}`);
      parts.push(`---- ${n.name} calls\n${calls.join("\n")}`);
    }
    return `\n${parts.join("\n")}`;
  }
}

/** Waits until `node` answers `cl_status rscstatus` with one of `want`. */
export async function waitRscstatus(
  node: TestNode,
  want: readonly string[],
  timeoutMs = 10_000,
): Promise<string> {
  return await waitFor(`${node.name} rscstatus in ${want.join("|")}`, async () => {
    const s = await rscstatus(node);
    return want.includes(s) ? s : undefined;
  }, { timeoutMs, intervalMs: 100 });
}

/**
 * Copies every node's ha-log, call log and console to `$HB_FAILOVER_LOGS/<label>/` when that
 * environment variable is set (for looking at a run afterwards); does nothing otherwise.
 */
export async function keepLogs(tb: Testbed, label: string): Promise<void> {
  const root = Deno.env.get("HB_FAILOVER_LOGS");
  if (!root) return;
  const dir = `${root}/${label}`;
  await Deno.mkdir(dir, { recursive: true });
  for (const n of tb.nodes) {
    await Deno.writeTextFile(`${dir}/${n.name}.ha-log`, await n.readLog());
    await Deno.writeTextFile(`${dir}/${n.name}.rec.log`, await n.readLog("rec.log"));
    await Deno.writeTextFile(`${dir}/${n.name}.console`, await n.readConsole());
  }
}
