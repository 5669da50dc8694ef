/**
 * Benchmark clusters on the testbed: the same `ha.cf`, `authkeys` and `haresources` for hb
 * and the real Heartbeat 3.0.6, plus helpers that watch logs, find which node holds the
 * service address and wait for a cluster to settle.
 *
 * @module
 */

import {
  authkeys,
  benchHaCf,
  forgetTestbed,
  hbIpaddr,
  type Impl,
  installGuard,
  run,
  sleep,
  Testbed,
  type TestNode,
  type Timing,
  trackTestbed,
} from "../lab/mod.ts";
import {
  configurePacemaker,
  isPeer,
  KEEPALIVED_CMD,
  PACEMAKER_CMD,
  PACEMAKER_ENV,
  pacemakerView,
  type Peer,
  peerDetectLine,
  writePeerConfig,
} from "./peers.ts";

/** The service address of the benchmark's resource group (link 0, client-reachable). */
export const SERVICE_IP = "198.18.0.100";

/** The `haresources` line: node1 prefers one IPaddr resource on eth0. */
export const HARESOURCES = `node1 ${SERVICE_IP}/24/eth0\n`;

/** The implementations compared and the timers of one configuration; re-exported from the lab. */
export type { Impl, Timing };

/**
 * Everything the benchmark can run on a node: hb, the real Heartbeat (`Impl`) and the peers
 * of `peers.ts` (keepalived, Corosync + Pacemaker).
 */
export type BenchImpl = Impl | Peer;

/** Short label of a timing, e.g. `200ms/1s`. */
export function timingLabel(t: Timing): string {
  return `${fmtDuration(t.keepaliveMs)}/${fmtDuration(t.deadtimeMs)}`;
}

function fmtDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Options of {@link BenchCluster.create}. */
export interface ClusterOptions {
  /** Which daemon every node runs. */
  impl: BenchImpl;
  /** Node names (default node1, node2). */
  nodes?: string[];
  /** Number of media: one `bcast ethK` line per link (default 1). */
  media?: number;
  /** Timers. */
  timing: Timing;
  /** Put the service address group into `haresources` (default true; the peers always have it). */
  resources?: boolean;
  /** Make the client namespace (198.18.0.250) for probing (default false). */
  client?: boolean;
  /** `realtime` directive (default true, Heartbeat's default). */
  realtime?: boolean;
  /** Label for the testbed's temp dir. */
  name: string;
}

/** A configured testbed cluster running one implementation on every node. */
export class BenchCluster {
  /** The testbed. */
  readonly tb: Testbed;
  /** The implementation. */
  readonly impl: BenchImpl;
  /** Timers. */
  readonly timing: Timing;
  /** Number of media. */
  readonly media: number;
  /** Pacemaker: the CIB holds the address and the options (done once, after the first start). */
  #configured = false;

  private constructor(tb: Testbed, impl: BenchImpl, timing: Timing, media: number) {
    this.tb = tb;
    this.impl = impl;
    this.timing = timing;
    this.media = media;
  }

  /** Builds the testbed and writes the configuration into every node. Does not start anything. */
  static async create(opts: ClusterOptions): Promise<BenchCluster> {
    installGuard();
    const names = opts.nodes ?? ["node1", "node2"];
    const media = opts.media ?? 1;
    const tb = await Testbed.create({
      nodes: names,
      links: media,
      client: opts.client ?? false,
      name: opts.name,
      prefix: "hbbench",
    });
    trackTestbed(tb);
    try {
      if (isPeer(opts.impl)) {
        await writePeerConfig(opts.impl, tb.nodes, SERVICE_IP, opts.timing, media);
        return new BenchCluster(tb, opts.impl, opts.timing, media);
      }
      const conf = benchHaCf(names, opts.timing, media, opts.realtime ?? true);
      for (const n of tb.nodes) {
        await n.writeHaCf(conf);
        await n.writeAuthkeys(authkeys("sha1", "hb-bench"));
        await n.writeHaresources(opts.resources === false ? "" : HARESOURCES);
        // hb nodes use hb's built-in IPaddr (what a node with only the hb binary runs) unless
        // HB_BENCH_IPADDR=script keeps Heartbeat's shell script, which on-disk lookup prefers
        if (opts.impl === "hb" && hbIpaddr() === "builtin") {
          await Deno.remove(`${n.confDir}/resource.d/IPaddr`).catch(() => {});
        }
      }
    } catch (e) {
      await tb.destroy().catch(() => {});
      forgetTestbed(tb);
      throw e;
    }
    return new BenchCluster(tb, opts.impl, opts.timing, media);
  }

  /** The nodes. */
  get nodes(): readonly TestNode[] {
    return this.tb.nodes;
  }

  /** The node called `name`. */
  node(name: string): TestNode {
    return this.tb.node(name);
  }

  /** Starts the daemon on `node` (the cluster's implementation). */
  async start(node: TestNode): Promise<void> {
    if (this.impl === "keepalived") {
      // `impl` is only a label when `cmd` is given
      await node.start({ impl: "hb", cmd: KEEPALIVED_CMD, timeoutMs: 30_000 });
    } else if (this.impl === "pacemaker") {
      await node.start({ impl: "hb", cmd: PACEMAKER_CMD, env: PACEMAKER_ENV, timeoutMs: 30_000 });
    } else {
      await node.start({ impl: this.impl, timeoutMs: 30_000 });
    }
  }

  /**
   * The file where `node` logs what the benchmark watches: Heartbeat's and hb's `ha-log`, the
   * console (stdout and stderr) of keepalived and Corosync.
   */
  logPath(node: TestNode): string {
    return isPeer(this.impl) ? node.consoleLog : `${node.logDir}/ha-log`;
  }

  /** The survivor's line saying it declared `victim` dead (or lost). */
  detectLine(victim: string): RegExp {
    return isPeer(this.impl) ? peerDetectLine(this.impl) : deadLine(victim);
  }

  /**
   * Waits until the running nodes see each other as members: hb and Heartbeat by their logs
   * (every node shows every other `active`), keepalived by each node's VRRP state line since
   * `since` (console offsets per node, default the whole console) and one holder of the
   * address, Pacemaker by `crm_mon` on every node (all online, a DC). The first time a
   * Pacemaker cluster is ready, its CIB gets the options and the address. Returns the time it
   * took or undefined after `timeoutMs`.
   */
  async waitMembers(
    timeoutMs: number,
    since?: Map<string, number>,
  ): Promise<number | undefined> {
    const t0 = Date.now();
    if (!isPeer(this.impl)) return await waitAllActive(this.nodes, timeoutMs);
    const names = this.nodes.map((n) => n.name).sort().join();
    const deadline = t0 + timeoutMs;
    while (Date.now() < deadline) {
      let ok = true;
      for (const n of this.nodes) {
        if (!n.running) {
          throw new Error(
            `${n.name}: ${this.impl} exited; console: ${(await n.readConsole()).slice(-600)}`,
          );
        }
        if (this.impl === "keepalived") {
          const text = (await Deno.readTextFile(n.consoleLog).catch(() => "")).slice(
            since?.get(n.name) ?? 0,
          );
          if (!/Entering (BACKUP|MASTER) STATE/.test(text)) ok = false;
        } else {
          const v = await pacemakerView(n);
          if (!v || !v.dc || v.online.join() !== names) ok = false;
        }
        if (!ok) break;
      }
      if (ok && this.impl === "keepalived" && (await this.ipHolders()).length !== 1) ok = false;
      if (ok) {
        if (this.impl === "pacemaker" && !this.#configured) {
          await configurePacemaker(this.nodes[0], SERVICE_IP);
          this.#configured = true;
        }
        return Date.now() - t0;
      }
      await sleep(200);
    }
    return undefined;
  }

  /** Starts every node (concurrently). */
  async startAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.start(n)));
  }

  /** Which nodes currently carry the service address on an interface. */
  async ipHolders(): Promise<string[]> {
    const out: string[] = [];
    await Promise.all(this.nodes.map(async (n) => {
      if (await holdsAddress(n, SERVICE_IP)) out.push(n.name);
    }));
    return out.sort();
  }

  /** Removes everything (idempotent). */
  async destroy(): Promise<void> {
    try {
      await this.tb.destroy();
    } finally {
      forgetTestbed(this.tb);
    }
  }
}

/** True when `node`'s network namespace has `address` on any interface. */
export async function holdsAddress(node: TestNode, address: string): Promise<boolean> {
  const r = await run(["ip", "-n", node.netns, "-4", "-o", "addr", "show"], {
    check: false,
    timeoutMs: 5000,
  });
  return r.stdout.includes(` ${address}/`);
}

/** A log line and when the benchmark saw it. */
export interface SeenLine {
  /** The line without its newline. */
  text: string;
  /** Wall-clock time (`Date.now()`) of the poll that read it. */
  at: number;
}

/**
 * Follows a node's `ha-log` from an offset, keeping every whole line read (with the time it
 * was seen). Cheap enough to poll every few milliseconds: it reads only what was appended.
 */
export class LogTail {
  /** Every line read so far. */
  readonly lines: SeenLine[] = [];
  readonly #path: string;
  #offset: number;
  #partial = "";
  readonly #decoder = new TextDecoder();

  /**
   * Follows `node`'s ha-log (or the file `path`) from byte `offset` (see {@link LogTail.at}
   * for "from now").
   */
  constructor(node: TestNode | string, offset = 0) {
    this.#path = typeof node === "string" ? node : `${node.logDir}/ha-log`;
    this.#offset = offset;
  }

  /** A tail that starts at the current end of `node`'s log (or of the file `path`). */
  static async at(node: TestNode | string): Promise<LogTail> {
    const path = typeof node === "string" ? node : `${node.logDir}/ha-log`;
    const size = await Deno.stat(path).then((s) => s.size, () => 0);
    return new LogTail(path, size);
  }

  /** Reads what was appended since the last poll; returns the new whole lines. */
  async poll(): Promise<SeenLine[]> {
    let f: Deno.FsFile;
    try {
      f = await Deno.open(this.#path, { read: true });
    } catch {
      return [];
    }
    try {
      const size = (await f.stat()).size;
      if (size < this.#offset) this.#offset = 0; // truncated or replaced
      if (size === this.#offset) return [];
      const buf = new Uint8Array(size - this.#offset);
      await f.seek(this.#offset, Deno.SeekMode.Start);
      let got = 0;
      while (got < buf.length) {
        const n = await f.read(buf.subarray(got));
        if (n === null) break;
        got += n;
      }
      this.#offset += got;
      const at = Date.now();
      const text = this.#partial + this.#decoder.decode(buf.subarray(0, got), { stream: true });
      const parts = text.split("\n");
      this.#partial = parts.pop() ?? "";
      const fresh = parts.map((t) => ({ text: t, at }));
      this.lines.push(...fresh);
      return fresh;
    } finally {
      f.close();
    }
  }

  /** Lines read so far that match `pattern`. */
  matching(pattern: RegExp): SeenLine[] {
    return this.lines.filter((l) => pattern.test(l.text));
  }

  /**
   * The first line (of everything read since the tail was made) matching `pattern`, polling
   * every `intervalMs` for up to `timeoutMs`; undefined on timeout.
   */
  async waitFor(pattern: RegExp, timeoutMs: number, intervalMs = 5): Promise<SeenLine | undefined> {
    const deadline = Date.now() + timeoutMs;
    let found = this.lines.find((l) => pattern.test(l.text));
    while (!found) {
      if (Date.now() >= deadline) return undefined;
      await sleep(intervalMs);
      found = (await this.poll()).find((l) => pattern.test(l.text));
    }
    return found;
  }
}

/** Escapes a string for use inside a RegExp. */
export function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Matches a node's "peer is dead" line (`WARN: node <peer>: is dead`). */
export function deadLine(peer: string): RegExp {
  return new RegExp(`node ${reEscape(peer)}: is dead`);
}

/**
 * A node's view of its peers from its log lines: the last `Status update for node P: status
 * S` (or `dead` after `node P: is dead`) for each peer; `unknown` when nothing was logged.
 */
export function membershipView(lines: string[], peers: string[]): Map<string, string> {
  const view = new Map<string, string>(peers.map((p) => [p, "unknown"]));
  const re = /Status update for node (\S+): status (\S+)|node (\S+): is dead/;
  for (const l of lines) {
    const m = re.exec(l);
    if (!m) continue;
    if (m[1] && view.has(m[1])) view.set(m[1], m[2]);
    else if (m[3] && view.has(m[3])) view.set(m[3], "dead");
  }
  return view;
}

/**
 * Waits until every node's log shows every other node `active` (polling every 200 ms);
 * returns the milliseconds it took, or undefined after `timeoutMs`. `missing`, when given,
 * receives up to 10 "nodeA sees nodeB STATUS" lines of the last poll (what was still missing).
 */
export async function waitAllActive(
  nodes: readonly TestNode[],
  timeoutMs: number,
  missing?: string[],
): Promise<number | undefined> {
  const t0 = Date.now();
  const names = nodes.map((n) => n.name);
  while (Date.now() - t0 < timeoutMs) {
    const lacking: string[] = [];
    for (const n of nodes) {
      const view = membershipView(
        (await n.readLog()).split("\n"),
        names.filter((x) => x !== n.name),
      );
      for (const [peer, s] of view) {
        if (s !== "active") lacking.push(`${n.name} sees ${peer} ${s}`);
      }
      if (lacking.length > 0 && !missing) break;
    }
    if (lacking.length === 0) return Date.now() - t0;
    if (missing) {
      missing.splice(0, missing.length, ...lacking.slice(0, 10), `(${lacking.length} in all)`);
    }
    await sleep(200);
  }
  return undefined;
}
