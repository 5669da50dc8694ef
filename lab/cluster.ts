/**
 * A cluster on one machine: network namespaces, bridges, veth links, and the nodes on them.
 *
 * Topology of `Testbed.create({ nodes: ["node1", "node2"], links: 2, client: true })`:
 *
 * ```
 *   netns <id>-sw:      br0 ── n1l0, n2l0, c0        br1 ── n1l1, n2l1
 *   netns <id>-node1:   eth0 198.18.0.1/24           eth1 198.18.1.1/24
 *   netns <id>-node2:   eth0 198.18.0.2/24           eth1 198.18.1.2/24
 *   netns <id>-client:  eth0 198.18.0.250/24
 * ```
 *
 * `<id>` is `<prefix><pid>x<random>` (prefix default `hbtb`), so concurrent runs never clash and
 * leftovers of a killed run can be told from live ones ({@link cleanupStale}). Nothing is
 * created in the root network namespace; IPv6 is disabled in every namespace so the links carry
 * only what the test makes them carry (`ipv6: true` keeps it on in the node namespaces, with
 * `fd00:198:18:<link>::<i>/64`). Only 198.18.0.0/15 and fd00:198:18::/48 addresses are used.
 *
 * @module
 */

import { type NodeLink, TestNode } from "./node.ts";
import {
  CAPTURE_TOOLS,
  inUserNamespace,
  LAB_TOOLS,
  LOSS_TOOLS,
  requireTools,
} from "./prerequisites.ts";
import {
  inNetnsTied,
  pidExists,
  pidsInNamespace,
  procInfo,
  run,
  type RunResult,
  signal,
  sleep,
  waitFor,
} from "./sys.ts";

/** Options of {@link Testbed.create}. */
export interface TestbedOptions {
  /** Node names (host names, lower case, `[a-z0-9-]`), at most 99. */
  nodes: string[];
  /** Number of links (each its own bridge and subnet 198.18.<link>.0/24), 1–8 (default 1). */
  links?: number;
  /** Add a client namespace on link 0 (address 198.18.0.250) to probe services. */
  client?: boolean;
  /** Free-form label put in the temp dir name (helps when debugging leftovers). */
  name?: string;
  /** Name prefix of everything the testbed makes (default `hbtb`). */
  prefix?: string;
  /** Mount each node's log dir over /var/log (default true). */
  privateVarLog?: boolean;
  /**
   * Keep IPv6 on in the node namespaces (default off: disabled everywhere) and give each node
   * `fd00:198:18:<link>::<i>/64` on every link (no DAD), for the ucast6/mcast6 media.
   */
  ipv6?: boolean;
  /**
   * Give every node a copy of the installed Heartbeat's `/etc/ha.d` scripts and Heartbeat's
   * directory tree, owned by `hacluster`/`haclient` (default true: needed to run the real
   * Heartbeat). `false` (hb-only labs such as the demo): empty config and state dirs, nothing
   * of the Debian package `heartbeat` needed.
   */
  heartbeatFiles?: boolean;
}

/** A running packet capture on a bridge (see {@link Testbed.capture}). */
export interface Capture {
  /** The pcap file being written. */
  readonly path: string;
  /** Stops tcpdump and waits until the file is complete. */
  stop(): Promise<void>;
}

/** Address prefix length of every link. */
const PREFIX_LEN = 24;
/** Host part of the client's address. */
const CLIENT_HOST = 250;
/**
 * The reaper: a child that holds the read end of a pipe from the test process. `destroy()`
 * writes `ok` and it exits; if the test process dies first (SIGKILL, or `deno test` exiting on
 * Ctrl-C before any clean-up could run) it reads EOF and removes the namespaces and the temp dir.
 * Arguments: temp dir, namespace names.
 */
const REAPER_SCRIPT = `
trap '' INT TERM HUP
read -r line
[ "$line" = ok ] && exit 0
dir=$1
shift
for ns in "$@"; do
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
done
sleep 0.2
for ns in "$@"; do
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
done
rm -rf -- "$dir"
`;

/** Testbeds of this process not yet destroyed (for SIGINT/SIGTERM clean-up). */
const live = new Set<Testbed>();
let signalHandlers: [() => void, () => void] | undefined;

function registerLive(tb: Testbed): void {
  live.add(tb);
  if (signalHandlers) return;
  let exiting = false;
  const onSignal = (code: number) => {
    if (exiting) return;
    exiting = true;
    console.error(`testbed: signal received, destroying ${live.size} testbed(s)`);
    // Synchronously: `deno test` exits on SIGINT by itself right after the listeners ran.
    for (const t of [...live]) t.destroyNow();
    Deno.exit(code);
  };
  signalHandlers = [() => onSignal(130), () => onSignal(143)];
  Deno.addSignalListener("SIGINT", signalHandlers[0]);
  Deno.addSignalListener("SIGTERM", signalHandlers[1]);
}

function unregisterLive(tb: Testbed): void {
  live.delete(tb);
  if (live.size === 0 && signalHandlers) {
    Deno.removeSignalListener("SIGINT", signalHandlers[0]);
    Deno.removeSignalListener("SIGTERM", signalHandlers[1]);
    signalHandlers = undefined;
  }
}

/** The client namespace of a testbed: a plain host on link 0 without a daemon. */
export class TestClient {
  /** Network namespace name. */
  readonly netns: string;
  /** Interface name inside the client (`eth0`). */
  readonly iface = "eth0";
  /** IPv4 address of the client (198.18.0.250). */
  readonly address: string;
  /** Made by {@link Testbed}. */
  constructor(netns: string, address: string) {
    this.netns = netns;
    this.address = address;
  }
  /** Runs a command in the client's network namespace (`ip netns exec`); never throws on exit code. */
  exec(cmd: string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return run(["ip", "netns", "exec", this.netns, ...cmd], { ...opts, check: false });
  }
}

/**
 * A set of nodes wired by bridges. Make one with {@link Testbed.create}; always destroy it
 * (`await using tb = await Testbed.create(...)`, or `try { … } finally { await tb.destroy() }`).
 */
export class Testbed {
  /** Unique id of this testbed, the prefix of every namespace name. */
  readonly id: string;
  /** Directory holding every node's private directories. */
  readonly baseDir: string;
  /** Namespace holding the bridges. */
  readonly switchNetns: string;
  /** Number of links. */
  readonly linkCount: number;
  /** The nodes, in creation order. */
  readonly nodes: readonly TestNode[];
  /** The client, when requested. */
  readonly client: TestClient | undefined;
  readonly #netnses: string[];
  readonly #captures = new Set<Capture>();
  #reaper: Deno.ChildProcess | undefined;
  #destroyed = false;

  private constructor(
    id: string,
    baseDir: string,
    linkCount: number,
    nodes: TestNode[],
    client: TestClient | undefined,
    netnses: string[],
  ) {
    this.id = id;
    this.baseDir = baseDir;
    this.switchNetns = `${id}-sw`;
    this.linkCount = linkCount;
    this.nodes = nodes;
    this.client = client;
    this.#netnses = netnses;
  }

  /**
   * Builds the namespaces, bridges and links, and each node's private directories. Removes
   * leftovers of earlier killed runs first ({@link cleanupStale}). Throws (never skips) when
   * not root or a required tool is missing. On failure everything already made is removed.
   */
  static async create(opts: TestbedOptions): Promise<Testbed> {
    checkPrerequisites();
    if ((opts.heartbeatFiles ?? true) && inUserNamespace()) {
      throw new Error(
        "testbed: Heartbeat's files (owned by hacluster) cannot be made in a user namespace " +
          "(only uid 0 is mapped): run as real root, or create with heartbeatFiles: false (hb only)",
      );
    }
    const prefix = opts.prefix ?? "hbtb";
    if (!/^[a-z][a-z0-9]{0,11}$/.test(prefix)) {
      throw new Error(`testbed: prefix must match [a-z][a-z0-9]{0,11}, got ${prefix}`);
    }
    const linkCount = opts.links ?? 1;
    if (!Number.isInteger(linkCount) || linkCount < 1 || linkCount > 8) {
      throw new Error(`testbed: links must be 1..8, got ${opts.links}`);
    }
    if (!opts.nodes.length || opts.nodes.length > 99) {
      throw new Error(`testbed: need 1..99 nodes, got ${opts.nodes.length}`);
    }
    for (const n of opts.nodes) {
      if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(n) || n === "sw" || n === "client") {
        throw new Error(`testbed: bad node name "${n}" (lower case [a-z0-9-], not sw/client)`);
      }
    }
    if (new Set(opts.nodes).size !== opts.nodes.length) {
      throw new Error(`testbed: duplicate node names in ${opts.nodes.join(",")}`);
    }
    await cleanupStale(prefix);

    const rand = crypto.getRandomValues(new Uint8Array(3));
    const id = `${prefix}${Deno.pid}x${
      [...rand].map((b) => b.toString(16).padStart(2, "0")).join("")
    }`;
    const label = opts.name ? "-" + opts.name.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 40) : "";
    const baseDir = `${tmpRoot()}/${id}${label}`;
    const switchNetns = `${id}-sw`;
    const nodes = opts.nodes.map((name, i) => {
      const netns = `${id}-${name}`;
      const links: NodeLink[] = [];
      for (let k = 0; k < linkCount; k++) {
        links.push({
          index: k,
          iface: `eth${k}`,
          address: `198.18.${k}.${i + 1}`,
          prefixLen: PREFIX_LEN,
          ...(opts.ipv6 ? { address6: `fd00:198:18:${k}::${i + 1}` } : {}),
          switchNetns,
          port: `n${i + 1}l${k}`,
        });
      }
      return new TestNode({
        name,
        index: i + 1,
        netns,
        baseDir: `${baseDir}/${name}`,
        links,
        privateVarLog: opts.privateVarLog,
        heartbeatFiles: opts.heartbeatFiles,
      });
    });
    const client = opts.client
      ? new TestClient(`${id}-client`, `198.18.0.${CLIENT_HOST}`)
      : undefined;
    const netnses = [switchNetns, ...nodes.map((n) => n.netns)];
    if (client) netnses.push(client.netns);
    const tb = new Testbed(id, baseDir, linkCount, nodes, client, netnses);
    registerLive(tb);
    tb.#reaper = new Deno.Command("bash", {
      args: ["-c", REAPER_SCRIPT, "hbtb-reaper", baseDir, ...netnses],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await Deno.mkdir(baseDir, { recursive: true, mode: 0o755 });
      const me = procInfo(Deno.pid);
      await Deno.writeTextFile(`${baseDir}/owner`, `${Deno.pid} ${me?.startTime ?? 0}\n`);
      await tb.#build(nodes, client);
      for (const n of nodes) await n.prepare();
    } catch (e) {
      await tb.destroy().catch((d) => console.error(`testbed: clean-up after failed create: ${d}`));
      throw e;
    }
    return tb;
  }

  async #build(nodes: TestNode[], client: TestClient | undefined): Promise<void> {
    for (const ns of this.#netnses) {
      await run(["ip", "netns", "add", ns]);
      if (nodes.some((n) => n.netns === ns && n.links.some((l) => l.address6))) {
        // IPv6 kept on for this node (Testbed.create({ipv6: true})), without DAD delays.
        await sysctlIn(ns, [
          "net.ipv6.conf.all.disable_ipv6=0",
          "net.ipv6.conf.default.disable_ipv6=0",
          "net.ipv6.conf.all.accept_dad=0",
          "net.ipv6.conf.default.accept_dad=0",
        ]);
        continue;
      }
      // No IPv6 (router solicitations, MLD, DAD) on the test links; loopback up.
      await sysctlIn(ns, [
        "net.ipv6.conf.all.disable_ipv6=1",
        "net.ipv6.conf.default.disable_ipv6=1",
      ]);
    }
    const sw: string[] = [];
    for (let k = 0; k < this.linkCount; k++) {
      sw.push(`link add br${k} type bridge forward_delay 0 stp_state 0 mcast_snooping 0`);
      sw.push(`link set br${k} up`);
    }
    for (const n of nodes) {
      for (const l of n.links) {
        sw.push(`link add ${l.port} type veth peer name ${l.iface} netns ${n.netns}`);
        sw.push(`link set ${l.port} master br${l.index} up`);
      }
    }
    if (client) {
      sw.push(`link add c0 type veth peer name eth0 netns ${client.netns}`);
      sw.push(`link set c0 master br0 up`);
    }
    await run(["ip", "-n", this.switchNetns, "-batch", "-"], { stdin: sw.join("\n") + "\n" });
    for (const n of nodes) {
      const cmds = ["link set lo up"];
      for (const l of n.links) {
        cmds.push(`addr add ${l.address}/${l.prefixLen} brd + dev ${l.iface}`);
        if (l.address6) cmds.push(`addr add ${l.address6}/64 dev ${l.iface} nodad`);
        cmds.push(`link set ${l.iface} up`);
      }
      await run(["ip", "-n", n.netns, "-batch", "-"], { stdin: cmds.join("\n") + "\n" });
    }
    if (client) {
      await run(["ip", "-n", client.netns, "-batch", "-"], {
        stdin:
          `link set lo up\naddr add ${client.address}/${PREFIX_LEN} brd + dev eth0\nlink set eth0 up\n`,
      });
    }
  }

  /** All namespace names this testbed made (switch, nodes, client). */
  get netnsNames(): readonly string[] {
    return this.#netnses;
  }

  /** The node called `name` (also accepts a node, returned as is). */
  node(name: string | TestNode): TestNode {
    if (name instanceof TestNode) return name;
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`testbed: no node ${name} (have ${this.nodes.map((x) => x.name)})`);
    return n;
  }

  /** Subnet of link `link` in CIDR notation (198.18.<link>.0/24). */
  subnet(link = 0): string {
    return `198.18.${link}.0/${PREFIX_LEN}`;
  }

  /**
   * A free address on link `link` for services (e.g. an IPaddr resource): 198.18.<link>.<100+n>,
   * n = 0..99. Never used by the testbed itself.
   */
  serviceAddress(n = 0, link = 0): string {
    if (n < 0 || n > 99) throw new Error(`testbed: service address index ${n} not in 0..99`);
    return `198.18.${link}.${100 + n}`;
  }

  /** Writes the same file into every node's config dir (see {@link TestNode.writeConfig}). */
  async writeConfigAll(relPath: string, text: string, mode = 0o644): Promise<void> {
    for (const n of this.nodes) await n.writeConfig(relPath, text, mode);
  }

  // ---------------------------------------------------------------- faults

  /** Disconnects `node` from link `link` (its bridge-side veth down). */
  cutLink(node: string | TestNode, link = 0): Promise<void> {
    return this.node(node).setLink(link, false);
  }

  /** Reconnects `node` to link `link`. */
  restoreLink(node: string | TestNode, link = 0): Promise<void> {
    return this.node(node).setLink(link, true);
  }

  /**
   * Drops `percent` % of the packets of `node` on link `link`, chosen independently at random
   * (nftables `numgen random mod 100 < N drop` on the node's interface, netdev ingress and/or
   * egress hooks, so ARP is affected too). Replaces an earlier loss setting of that link.
   *
   * @param direction `in`, `out` or `both` (default) as seen from the node
   */
  async addLoss(
    node: string | TestNode,
    link: number,
    percent: number,
    direction: "in" | "out" | "both" = "both",
  ): Promise<void> {
    requireTools("testbed", LOSS_TOOLS);
    const n = this.node(node);
    const iface = n.iface(link);
    const p = Math.round(percent);
    if (p < 0 || p > 100) throw new Error(`testbed: loss ${percent}% not in 0..100`);
    await this.clearLoss(n, link);
    if (p === 0) return;
    // numgen yields 0..99 and nft refuses "< 100": total loss is a plain drop.
    const rule = p === 100 ? "drop" : `numgen random mod 100 < ${p} drop`;
    const chains: string[] = [];
    if (direction !== "out") {
      chains.push(
        `  chain in_${iface} {\n    type filter hook ingress device "${iface}" priority -500;\n` +
          `    ${rule}\n  }`,
      );
    }
    if (direction !== "in") {
      chains.push(
        `  chain out_${iface} {\n    type filter hook egress device "${iface}" priority -500;\n` +
          `    ${rule}\n  }`,
      );
    }
    await run(["ip", "netns", "exec", n.netns, "nft", "-f", "-"], {
      stdin: `table netdev hbtb {\n${chains.join("\n")}\n}\n`,
    });
  }

  /** Removes the loss set by {@link Testbed.addLoss} on `link` of `node` (no-op when none). */
  async clearLoss(node: string | TestNode, link = 0): Promise<void> {
    requireTools("testbed", LOSS_TOOLS);
    const n = this.node(node);
    const iface = n.iface(link);
    const listing = await run(["ip", "netns", "exec", n.netns, "nft", "list", "tables"]);
    if (!listing.stdout.includes("netdev hbtb")) return;
    const chains = await run([
      "ip",
      "netns",
      "exec",
      n.netns,
      "nft",
      "list",
      "table",
      "netdev",
      "hbtb",
    ]);
    for (const c of [`in_${iface}`, `out_${iface}`]) {
      if (chains.stdout.includes(`chain ${c} `)) {
        await run(["ip", "netns", "exec", n.netns, "nft", "delete", "chain", "netdev", "hbtb", c]);
      }
    }
  }

  /** Power failure of `node`: SIGKILL of all its processes and all its links down at once. */
  killHard(node: string | TestNode): Promise<void> {
    return this.node(node).killHard();
  }

  /** Graceful stop of `node` (SIGTERM to the daemon, or `via: "command"` for `heartbeat -k`). */
  stopSoft(
    node: string | TestNode,
    opts?: { via?: "signal" | "command"; timeoutMs?: number },
  ): Promise<Deno.CommandStatus> {
    return this.node(node).stopSoft(opts);
  }

  /** SIGSTOP of every process of `node`. */
  freeze(node: string | TestNode): Promise<void> {
    return this.node(node).freeze();
  }

  /** SIGCONT of every process of `node`. */
  thaw(node: string | TestNode): Promise<void> {
    return this.node(node).thaw();
  }

  /**
   * Starts `tcpdump -U -w path` on the bridge of link `link` (sees every node's traffic, also
   * of nodes whose own port is cut) and resolves once it listens.
   *
   * @param filter optional pcap filter expression, e.g. `udp port 694`
   */
  async capture(link: number, path: string, filter?: string): Promise<Capture> {
    requireTools("testbed", CAPTURE_TOOLS);
    const errFile = `${path}.stderr`;
    const child = new Deno.Command("bash", {
      args: [
        "-c",
        'exec 2>"$0" >/dev/null; exec "$@"',
        errFile,
        ...inNetnsTied(this.switchNetns, [
          "tcpdump",
          "-i",
          `br${link}`,
          "-U",
          "-n",
          "-s",
          "0",
          "-w",
          path,
          ...(filter ? filter.split(/\s+/) : []),
        ]),
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const status = child.status;
    let done = false;
    status.finally(() => (done = true));
    await waitFor(`tcpdump on br${link}`, async () => {
      if (done) throw new Error(await Deno.readTextFile(errFile).catch(() => "tcpdump exited"));
      const err = await Deno.readTextFile(errFile).catch(() => "");
      return err.includes("listening on");
    }, { timeoutMs: 10_000, intervalMs: 20 });
    const cap: Capture = {
      path,
      stop: async () => {
        if (!done) signal(child.pid, "SIGINT");
        await status;
        this.#captures.delete(cap);
      },
    };
    this.#captures.add(cap);
    return cap;
  }

  // ---------------------------------------------------------------- clean-up

  /**
   * Removes everything: kills every node's processes, stops captures, deletes the namespaces
   * (and with them veths, bridges, nft tables and the namespaces' mounts) and the temp dir.
   * Idempotent; throws at the end if something could not be removed.
   */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const errors: string[] = [];
    for (const c of [...this.#captures]) {
      await c.stop().catch((e) => errors.push(`capture ${c.path}: ${e}`));
    }
    await Promise.all(
      this.nodes.map((n) => n.kill().catch((e) => errors.push(`kill ${n.name}: ${e}`))),
    );
    for (const ns of this.#netnses) {
      await removeNetns(ns).catch((e) => errors.push(`netns ${ns}: ${e}`));
    }
    await Deno.remove(this.baseDir, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) errors.push(`rm ${this.baseDir}: ${e}`);
    });
    await this.#stopReaper().catch((e) => errors.push(`reaper: ${e}`));
    unregisterLive(this);
    if (errors.length) {
      throw new Error(`testbed ${this.id}: clean-up incomplete:\n${errors.join("\n")}`);
    }
  }

  async #stopReaper(): Promise<void> {
    const reaper = this.#reaper;
    if (!reaper) return;
    this.#reaper = undefined;
    const writer = reaper.stdin.getWriter();
    await writer.write(new TextEncoder().encode("ok\n")).catch(() => {});
    await writer.close().catch(() => {});
    await reaper.status;
  }

  /**
   * Emergency clean-up without awaiting anything (used on SIGINT/SIGTERM, when the process is
   * about to exit): SIGKILL of every process in the testbed's namespaces, `ip netns del`, temp
   * dir removal. Best effort; prefer {@link Testbed.destroy}.
   */
  destroyNow(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const n of this.nodes) {
      for (const p of [n.initPid, ...n.pids()]) if (p !== undefined) signal(p, "SIGKILL");
    }
    for (const ns of this.#netnses) {
      try {
        const pids = new Deno.Command("ip", { args: ["netns", "pids", ns] }).outputSync();
        for (const p of new TextDecoder().decode(pids.stdout).split(/\s+/).filter(Boolean)) {
          signal(Number(p), "SIGKILL");
        }
        new Deno.Command("ip", { args: ["netns", "del", ns] }).outputSync();
      } catch {
        // best effort; cleanupStale() of a later run removes what is left
      }
    }
    try {
      Deno.removeSync(this.baseDir, { recursive: true });
    } catch {
      // same
    }
    unregisterLive(this);
  }

  /** Same as {@link Testbed.destroy}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy();
  }
}

function tmpRoot(): string {
  return (Deno.env.get("TMPDIR") || "/tmp").replace(/\/+$/, "");
}

function checkPrerequisites(): void {
  if (Deno.uid() !== 0) {
    throw new Error(
      `testbed: must run as root (uid is ${Deno.uid()}), or as root of a user namespace ` +
        `(userNamespaceCommand); namespaces need it`,
    );
  }
  requireTools("testbed", LAB_TOOLS);
}

/** Kills every process in network namespace `ns` and deletes it. */
async function removeNetns(ns: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = (await run(["ip", "netns", "pids", ns], { check: false })).stdout
      .split(/\s+/).filter(Boolean).map(Number);
    if (!pids.length) break;
    for (const p of pids) {
      // Killing a pid namespace's init kills the whole pid namespace with it.
      signal(p, "SIGKILL");
    }
    await sleep(20);
  }
  const del = await run(["ip", "netns", "del", ns], { check: false });
  if (!del.success && !/No such file/.test(del.stderr)) {
    throw new Error(del.stderr.trim());
  }
}

/**
 * Removes leftovers of earlier testbed runs whose owning process is gone: namespaces named
 * `<prefix><pid>x<hex>-*` (their processes are killed first) and temp dirs
 * `$TMPDIR/<prefix><pid>x<hex>*`. A run counts as alive while its pid exists with the start
 * time recorded in its `owner` file (or, without that file, while the pid exists and is not
 * this process). Called by {@link Testbed.create}. Returns what was removed.
 */
export async function cleanupStale(prefix = "hbtb"): Promise<string[]> {
  const removed: string[] = [];
  const idRe = new RegExp(`^(${prefix}(\\d+)x[0-9a-f]+)(-|$)`);
  const liveIds = new Set([...live].map((t) => t.id));
  const ownerCache = new Map<string, boolean>();
  const stale = (id: string, pid: number): boolean => {
    if (liveIds.has(id)) return false;
    let known = ownerCache.get(id);
    if (known !== undefined) return known;
    known = !ownerAlive(id, pid);
    ownerCache.set(id, known);
    return known;
  };
  const list = await run(["ip", "netns", "list"], { check: false });
  for (const line of list.stdout.split("\n")) {
    const name = line.trim().split(/\s+/)[0];
    const m = name ? idRe.exec(name) : null;
    if (!m || !stale(m[1], Number(m[2]))) continue;
    await removeNetns(name);
    removed.push(`netns ${name}`);
  }
  for await (const e of Deno.readDir(tmpRoot())) {
    const m = idRe.exec(e.name);
    if (!m || !e.isDirectory || !stale(m[1], Number(m[2]))) continue;
    await Deno.remove(`${tmpRoot()}/${e.name}`, { recursive: true }).catch(() => {});
    removed.push(`dir ${tmpRoot()}/${e.name}`);
  }
  return removed;
}

function ownerAlive(id: string, pid: number): boolean {
  if (!pidExists(pid)) return false;
  let ownerStart: number | undefined;
  try {
    for (const e of Deno.readDirSync(tmpRoot())) {
      if (e.name === id || e.name.startsWith(`${id}-`)) {
        const t = Deno.readTextFileSync(`${tmpRoot()}/${e.name}/owner`).trim().split(" ");
        ownerStart = Number(t[1]);
        break;
      }
    }
  } catch {
    // no owner file
  }
  if (ownerStart === undefined) return pid !== Deno.pid;
  return procInfo(pid)?.startTime === ownerStart;
}

/** Pids in the pid namespace `ns` (`pid:[inode]`) — re-exported for tests that check clean-up. */
export function processesInPidNamespace(ns: string): number[] {
  return pidsInNamespace(ns);
}

/** Sets kernel parameters (`name=value`) in network namespace `ns` (`sysctl -q -w`). */
async function sysctlIn(ns: string, settings: readonly string[]): Promise<void> {
  await run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", ...settings]);
}
