/**
 * Scenario files: a small text language that drives a {@link SimCluster},
 * in the style of etcd raft's data-driven tests. One command per line;
 * `#` starts a comment. A command followed by a `----` line prints output,
 * compared exactly with the lines after `----` up to the next blank line
 * (`REWRITE=1` rewrites them). Invariants (`invariants.ts`) are checked
 * every 100 ms of virtual time throughout.
 *
 * ```text
 * cluster nodes=node1,node2 groups=node1:g1,node2:g2 auto_failback=on
 * start node1 node2
 * tick 30s
 * kill node1
 * tick 8s
 * expect owner g1 = node2
 * owners
 * ----
 * g1: node2
 * g2: node2
 * ```
 *
 * Commands (durations: `250ms`, `5s`, `1.5s`; a bare number is ms):
 * - `cluster nodes=a,b[,…] [groups=node:key,…] [auto_failback=on|off|legacy]
 *   [links=eth0,…] [ping=p1,…] [keepalive=1s] [deadtime=5s] [warntime=3s]
 *   [initdead=10s] [latency=2ms] [script=50ms] [stonith=on] [seed=1]
 *   [rqstdelay=10s] [heartbeat=n2,…] [monitor=on]` — must come first (`heartbeat=`: the
 *   other nodes take these for real Heartbeat peers, see `SimOptions.heartbeatNodes`;
 *   `monitor=on`: every group's key has an hb.cf monitor, see `SimOptions.monitor`);
 * - `start N…`, `kill N…` (crash: resources stop too), `restart N…`
 *   (kill + start, new generation), `stop N…` (graceful shutdown),
 *   `freeze N…`, `thaw N…`;
 * - `tick D` (run for D), `at T` (run until virtual time T), `mark` (later
 *   `log`/`wire` output starts here);
 * - `partition A,B|C,D` (both directions cut between the two sets), `heal`
 *   (every path fault removed), `cut A>B` (one direction),
 *   `net A>B [drop=%] [dup=%] [delay=D] [jitter=D]` (replaces the faults of
 *   that path; `*` means every node; no option clears it);
 * - `standby N [all|local|foreign|failback]`, `takeover N [all|…]`;
 * - `script N KEY fail|ok [ms=D]` (behaviour of starting KEY on N);
 * - `svcfail N KEY` (the service of KEY on N dies: its monitor's checks fail until a restart);
 * - `cleanup N [RESOURCE]` (`heartbeat resource cleanup` on N);
 * - `ping P up|down`;
 * - `expect owner KEY = N…|none`, `expect status A B = STATUS`,
 *   `expect rscstatus N = STATUS`;
 * - output: `owners`, `status`, `log N [match=REGEX]`, `wire [N]`, `check`
 *   (the violations so far, or `ok`).
 *
 * @module
 */

import type { FailbackMode, OwnedGroup } from "../ownership/types.ts";
import { SimCluster } from "./cluster.ts";
import type { SimOptions } from "./types.ts";
import { InvariantChecker, type InvariantOptions, type Violation } from "./invariants.ts";

/** The outcome of running a scenario. */
export interface ScenarioResult {
  /** The scenario with every output block as produced (for `REWRITE=1`). */
  rewritten: string;
  /** Failed `expect`s and output blocks that differ, with line numbers. */
  mismatches: string[];
  /** Invariant violations. */
  violations: Violation[];
  /** The simulated cluster, as the scenario left it. */
  sim: SimCluster | undefined;
  /** Virtual time at the end. */
  endMs: number;
}

/** Options of {@link runScenario}. */
export interface RunOptions {
  /** Stop at the first invariant violation (the explorer). */
  stopOnViolation?: boolean;
  /** Interval of invariant checks in virtual ms (default 100). */
  checkEveryMs?: number;
  /** Tuning of the invariants. */
  invariants?: InvariantOptions;
}

/** Parses `250ms`, `5s`, `1.5s`, `2m` or a bare number of ms. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!m) throw new Error(`bad duration ${text}`);
  const v = Number(m[1]);
  return Math.round(m[2] === "s" ? v * 1000 : m[2] === "m" ? v * 60_000 : v);
}

/** Formats virtual ms as seconds with millisecond precision (`12.345s`). */
export function formatTime(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`;
}

function options(words: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const w of words) {
    const i = w.indexOf("=");
    if (i < 0) throw new Error(`expected key=value, got ${w}`);
    m.set(w.slice(0, i), w.slice(i + 1));
  }
  return m;
}

function clusterOptions(words: string[]): SimOptions {
  const o = options(words);
  const nodes = (o.get("nodes") ?? "").split(",").filter((n) => n);
  if (nodes.length === 0) throw new Error("cluster needs nodes=");
  const groups: OwnedGroup[] | undefined = o.has("groups")
    ? o.get("groups")!.split(",").filter((g) => g).map((g) => {
      const i = g.indexOf(":");
      return { node: g.slice(0, i), key: g.slice(i + 1) };
    })
    : undefined;
  const d = (k: string, def: number) => o.has(k) ? parseDuration(o.get(k)!) : def;
  const rqst = o.has("rqstdelay") ? parseDuration(o.get("rqstdelay")!) : undefined;
  return {
    nodes,
    links: (o.get("links") ?? "eth0").split(","),
    pingNodes: o.has("ping") ? o.get("ping")!.split(",") : [],
    keepaliveMs: d("keepalive", 1000),
    deadtimeMs: d("deadtime", 5000),
    warntimeMs: d("warntime", 3000),
    initdeadMs: d("initdead", 10_000),
    latencyMs: d("latency", 2),
    scriptMs: d("script", 50),
    seed: Number(o.get("seed") ?? "1"),
    groups: groups ?? (o.has("auto_failback") ? [] : undefined),
    autoFailback: (o.get("auto_failback") ?? "on") as FailbackMode,
    stonith: o.get("stonith") === "on",
    ...(o.has("heartbeat") ? { heartbeatNodes: o.get("heartbeat")!.split(",") } : {}),
    monitor: o.get("monitor") === "on",
    ...(rqst !== undefined ? { ownershipTimers: { rqstDelayMs: rqst } } : {}),
  };
}

/** Runs a scenario text; never throws for a failed expectation (see the result). */
export function runScenario(text: string, opts: RunOptions = {}): ScenarioResult {
  return new Runner(opts).run(text);
}

/**
 * The commands that act on each named node: what they do to it, and whether the invariant
 * checker counts them as unsettling (see {@link InvariantChecker.nodeEvent}).
 */
const NODE_COMMANDS: Record<
  "start" | "kill" | "restart" | "stop" | "freeze" | "thaw",
  { run: (s: SimCluster, node: string) => void; unsettling: boolean }
> = {
  start: { run: (s, n) => s.start(n), unsettling: false },
  kill: { run: (s, n) => s.kill(n), unsettling: true },
  restart: {
    run: (s, n) => {
      s.kill(n);
      s.start(n);
    },
    unsettling: true,
  },
  stop: { run: (s, n) => s.shutdown(n), unsettling: false },
  freeze: { run: (s, n) => s.freeze(n), unsettling: true },
  thaw: { run: (s, n) => s.thaw(n), unsettling: true },
};

class Runner {
  sim: SimCluster | undefined;
  checker: InvariantChecker | undefined;
  readonly opts: RunOptions;
  readonly mismatches: string[] = [];
  cursor = 0;
  stopped = false;

  constructor(opts: RunOptions) {
    this.opts = opts;
  }

  run(text: string): ScenarioResult {
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    const out: string[] = [];
    let i = 0;
    while (i < lines.length) {
      const raw = lines[i];
      const line = raw.replace(/#.*$/, "").trim();
      out.push(raw);
      i++;
      if (line === "") continue;
      const hasBlock = lines[i]?.trim() === "----";
      let expected: string[] = [];
      if (hasBlock) {
        i++;
        while (i < lines.length && lines[i].trim() !== "") expected.push(lines[i++]);
      }
      let actual: string[] = [];
      if (!this.stopped) {
        try {
          actual = this.command(line, i);
        } catch (e) {
          throw new Error(`line ${i}: ${line}: ${e instanceof Error ? e.message : e}`);
        }
      } else actual = expected;
      if (hasBlock) {
        out.push("----", ...actual);
        if (actual.join("\n") !== expected.join("\n")) {
          this.mismatches.push(
            `line ${i}: ${line}\n--- expected\n${expected.join("\n")}\n--- actual\n${
              actual.join("\n")
            }`,
          );
        }
        expected = [];
      } else if (actual.length > 0) {
        throw new Error(`line ${i}: ${line}: prints output: add a ---- block`);
      }
    }
    return {
      rewritten: out.join("\n") + "\n",
      mismatches: this.mismatches,
      violations: this.checker?.violations ?? [],
      sim: this.sim,
      endMs: this.sim?.now ?? 0,
    };
  }

  get s(): SimCluster {
    if (!this.sim) throw new Error("no cluster yet: the first command must be `cluster`");
    return this.sim;
  }

  get c(): InvariantChecker {
    return this.checker!;
  }

  advanceTo(t: number): void {
    const step = this.opts.checkEveryMs ?? 100;
    const sim = this.s;
    while (sim.now < t && !this.stopped) {
      sim.runUntil(Math.min(t, (Math.floor(sim.now / step) + 1) * step));
      if (this.c.check().length > 0 && this.opts.stopOnViolation) this.stopped = true;
    }
  }

  nodes(words: string[]): string[] {
    if (words.length === 0) throw new Error("names a node");
    for (const n of words) {
      if (!this.s.nodeNames.includes(n)) throw new Error(`unknown node ${n}`);
    }
    return words;
  }

  /** `a,b` or `*` → node names. */
  set(text: string): string[] {
    if (text === "*") return this.s.nodeNames;
    return this.nodes(text.split(","));
  }

  command(line: string, lineNo: number): string[] {
    const [cmd, ...w] = line.split(/\s+/);
    if (cmd !== "cluster" && this.sim === undefined) throw new Error("`cluster` must come first");
    switch (cmd) {
      case "cluster":
        this.sim = new SimCluster(clusterOptions(w));
        this.checker = new InvariantChecker(this.sim, this.opts.invariants);
        return [];
      case "start":
      case "kill":
      case "restart":
      case "stop":
      case "freeze":
      case "thaw": {
        const { run, unsettling } = NODE_COMMANDS[cmd];
        for (const n of this.nodes(w)) {
          run(this.s, n);
          this.c.nodeEvent(n, unsettling);
        }
        return [];
      }
      case "tick":
        this.advanceTo(this.s.now + parseDuration(w[0] ?? ""));
        return [];
      case "at":
        this.advanceTo(parseDuration(w[0] ?? ""));
        return [];
      case "mark":
        this.cursor = this.s.now;
        return [];
      case "partition": {
        const sides = (w[0] ?? "").split("|");
        if (sides.length !== 2) throw new Error("partition A,B|C,D");
        this.s.network.partition(this.set(sides[0]), this.set(sides[1]));
        this.c.fault();
        return [];
      }
      case "heal":
        this.s.network.healAll();
        this.c.fault();
        return [];
      case "cut":
      case "net": {
        const [from, to] = (w[0] ?? "").split(">");
        if (to === undefined) throw new Error(`${cmd} A>B`);
        const o = options(w.slice(1));
        for (const a of this.set(from)) {
          for (const b of this.set(to)) {
            if (a === b) continue;
            if (cmd === "cut") {
              this.s.network.setPath(a, b, { ...this.s.network.path(a, b), cut: true });
            } else {
              this.s.network.setPath(a, b, {
                dropPct: Number(o.get("drop") ?? 0),
                dupPct: Number(o.get("dup") ?? 0),
                delayMs: o.has("delay") ? parseDuration(o.get("delay")!) : 0,
                jitterMs: o.has("jitter") ? parseDuration(o.get("jitter")!) : 0,
              });
            }
          }
        }
        this.c.fault();
        return [];
      }
      case "standby":
      case "takeover": {
        const [n, arg = "all"] = w;
        this.nodes([n]);
        if (!["all", "local", "foreign", "failback"].includes(arg)) throw new Error(`bad ${arg}`);
        const a = arg as "all" | "local" | "foreign" | "failback";
        if (cmd === "standby") this.s.standby(n, a);
        else this.s.takeover(n, a);
        this.c.nodeEvent(n);
        return [];
      }
      case "script": {
        const [n, key, what, ...rest] = w;
        this.nodes([n]);
        if (what !== "fail" && what !== "ok") throw new Error("script N KEY fail|ok [ms=D]");
        const o = options(rest);
        this.s.setScript(n, key, {
          failStart: what === "fail",
          ...(o.has("ms") ? { ms: parseDuration(o.get("ms")!) } : {}),
        });
        this.c.fault();
        return [];
      }
      case "cleanup": {
        const [n, resource] = w;
        this.nodes([n]);
        this.s.cleanupMonitors(n, resource);
        this.c.nodeEvent(n);
        return [];
      }
      case "svcfail": {
        const [n, key] = w;
        this.nodes([n]);
        if (key === undefined) throw new Error("svcfail N KEY");
        this.s.failService(n, key);
        this.c.fault();
        return [];
      }
      case "ping":
        this.s.setPingReachable(w[0], w[1] === "up");
        this.c.fault();
        return [];
      case "expect":
        this.expect(w, line, lineNo);
        return [];
      case "owners":
        return this.s.groups.map((g) => `${g.key}: ${this.s.holders(g.key).join(" ") || "-"}`);
      case "status":
        return this.s.nodeNames.map((n) => this.statusLine(n));
      case "log": {
        const n = this.nodes([w[0]])[0];
        const o = options(w.slice(1));
        const re = o.has("match") ? new RegExp(o.get("match")!) : undefined;
        return this.s.logLines(n).filter((l) => l.at >= this.cursor)
          .map((l) => `${formatTime(l.at)} ${l.prio === "" ? "" : `${l.prio}: `}${l.text}`)
          .filter((l) => !re || re.test(l));
      }
      case "wire": {
        const names = w.length > 0 ? this.nodes(w) : this.s.nodeNames;
        return this.s.wireTimed(this.cursor).filter((l) => names.includes(l.text.split(":")[0]))
          .map((l) => `${formatTime(l.at)} ${l.text}`);
      }
      case "check":
        return this.c.violations.length === 0
          ? ["ok"]
          : this.c.violations.map((v) => `${formatTime(v.at)} ${v.kind}: ${v.detail}`);
      default:
        throw new Error(`unknown command ${cmd}`);
    }
  }

  statusLine(n: string): string {
    const s = this.s;
    if (!s.isAlive(n)) return `${n}: down`;
    const core = s.core(n);
    const peers = s.nodeNames.filter((p) => p !== n).map((p) => `${p}=${core.nodeStatus(p)}`);
    const rsc = s.groups.length > 0 ? ` rsc=${s.nodeCore(n).rscstatus()}` : "";
    const frozen = s.isFrozen(n) ? " frozen" : "";
    return `${n}: ${core.localStatus}${rsc}${frozen} ${peers.join(" ")}`.trimEnd();
  }

  expect(w: string[], line: string, lineNo: number): void {
    const eq = w.indexOf("=");
    if (eq < 0) throw new Error("expect … = VALUE");
    const what = w.slice(0, eq);
    const want = w.slice(eq + 1).join(" ");
    let got: string;
    switch (what[0]) {
      case "owner":
        got = this.s.holders(what[1]).join(" ") || "none";
        break;
      case "status":
        got = String(this.s.core(this.nodes([what[1]])[0]).nodeStatus(what[2]));
        break;
      case "rscstatus":
        got = this.s.nodeCore(this.nodes([what[1]])[0]).rscstatus();
        break;
      default:
        throw new Error(`unknown expectation ${what[0]}`);
    }
    if (got !== want) {
      this.mismatches.push(
        `line ${lineNo}: ${line}: got ${got} at ${formatTime(this.s.now)}`,
      );
    }
  }
}
