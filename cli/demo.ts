/**
 * `heartbeat demo`: starts a two-node hb cluster on this machine (each node in
 * its own network namespace, joined by a bridge), shows the cluster's state
 * as it happens, kills the active node hard, shows the failover and how long
 * it took, brings the node back, and removes everything when done or
 * interrupted. Needs root (network namespaces).
 *
 * @module
 */

import { authkeys, haCf, Testbed, type TestNode } from "../tests/testbed/mod.ts";

const HELP = `Usage: heartbeat demo [--keepalive MS] [--deadtime MS]

Starts two hb nodes (node1, node2) in network namespaces on this machine,
shows their status, kills node1 hard, shows node2 detecting it and the time
it took, restarts node1, and cleans up. Needs root.`;

/** Lines of interest from a node's ha-log, shown live. */
const INTERESTING =
  /Comm_now_up|Status update|is dead|Link .* (up|dead)\.|Local status now set|shutdown|restart on node|Takeover|acquir|Releasing|Running .* (start|stop)/;

function stamp(t0: number): string {
  return `+${((performance.now() - t0) / 1000).toFixed(2).padStart(6)}s`;
}

/** Follows the ha-logs of the nodes and prints interesting lines as they appear. */
class LogFollower {
  #offsets = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  constructor(private nodes: readonly TestNode[], private t0: number) {}

  start(): void {
    this.#timer = setInterval(() => void this.poll(), 100);
  }

  async poll(): Promise<void> {
    for (const n of this.nodes) {
      const text = await n.readLog().catch(() => "");
      const off = this.#offsets.get(n.name) ?? 0;
      if (text.length <= off) continue;
      this.#offsets.set(n.name, text.length);
      for (const line of text.slice(off).split("\n")) {
        if (!INTERESTING.test(line)) continue;
        const msg = line.replace(/^.*?heartbeat: \[\d+\]: /, "");
        console.log(`${stamp(this.t0)}  ${n.name.padEnd(6)} ${msg}`);
      }
    }
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }
}

async function waitLog(n: TestNode, what: string, from: number, timeoutMs = 20000) {
  await n.waitForLog(what, { from, timeoutMs });
}

/** Entry of the `demo` personality. */
export async function demoMain(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  let keepalive = 100;
  let deadtime = 500;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--keepalive") keepalive = Number(args[++i]);
    else if (args[i] === "--deadtime") deadtime = Number(args[++i]);
  }
  if (Deno.uid() !== 0) {
    console.error("hb demo: needs root to build network namespaces (run it as root)");
    return 1;
  }
  const t0 = performance.now();
  console.log(
    `hb demo: two nodes, bcast on one link, keepalive ${keepalive} ms, deadtime ${deadtime} ms`,
  );
  await using tb = await Testbed.create({ nodes: ["node1", "node2"], links: 1, name: "demo" });
  const [n1, n2] = tb.nodes;
  for (const n of tb.nodes) {
    await n.writeHaCf(haCf({
      logfile: "/var/log/ha-log",
      keepalive: `${keepalive}ms`,
      deadtime: `${deadtime}ms`,
      warntime: `${Math.round(deadtime * 0.6)}ms`,
      initdead: Math.max(1, Math.ceil((deadtime * 2) / 1000)),
      bcast: "eth0",
      auto_failback: "on",
      realtime: "off",
      node: ["node1", "node2"],
    }));
    await n.writeAuthkeys(authkeys("sha1", "hb-demo"));
    await n.writeHaresources("");
  }
  const follow = new LogFollower(tb.nodes, t0);
  follow.start();
  try {
    console.log(`${stamp(t0)}  starting node1 and node2`);
    await n1.start({ impl: "hb" });
    await n2.start({ impl: "hb" });
    await waitLog(n1, "Status update for node node2: status active", 0);
    await waitLog(n2, "Status update for node node1: status active", 0);
    await follow.poll();
    console.log(`${stamp(t0)}  cluster up: node1 and node2 see each other active`);
    // let the start-up window (deadtime + 2 s advertised for 5 s) pass
    await new Promise((r) => setTimeout(r, 5200));
    const from = await n2.logOffset();
    console.log(`${stamp(t0)}  killing node1 hard (SIGKILL of every process, link down)`);
    const killedAt = performance.now();
    await tb.killHard("node1");
    await waitLog(n2, "node node1: is dead", from);
    const detected = performance.now() - killedAt;
    await follow.poll();
    console.log(
      `${stamp(t0)}  node2 declared node1 dead ${detected.toFixed(0)} ms after the kill ` +
        `(deadtime ${deadtime} ms; Heartbeat 3.0.6 polls on a 250-500 ms grid, hb does not)`,
    );
    console.log(`${stamp(t0)}  bringing node1 back`);
    const from2 = await n2.logOffset();
    await n1.start({ impl: "hb" });
    await waitLog(n2, "Status update for node node1: status active", from2);
    await follow.poll();
    console.log(`${stamp(t0)}  node1 is back and active; stopping the cluster`);
    await tb.stopSoft("node1", { via: "command" });
    await tb.stopSoft("node2", { via: "command" });
    await follow.poll();
    console.log(`${stamp(t0)}  demo complete`);
    return 0;
  } catch (e) {
    console.error(`hb demo failed: ${e instanceof Error ? e.message : e}`);
    return 1;
  } finally {
    follow.stop();
  }
}
