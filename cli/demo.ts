/**
 * `heartbeat demo`: starts a two-node hb cluster on this machine (each node in
 * its own network namespace, joined by a bridge, plus a client namespace),
 * with one resource group: the service IP 198.18.0.100 and a tiny HTTP server
 * bound to it (`node1 198.18.0.100/24/eth0 http::8080`). It shows the
 * cluster's state as it happens, waits for the service, kills node1 hard,
 * shows the failover and how long it took — detection in node2's log, and
 * the outage as the client sees it (kill → first HTTP reply from node2) —
 * brings node1 back (the service fails back), and removes everything when
 * done or interrupted.
 *
 * The cluster is built by the lab (`lab/`). Missing programs are installed
 * with apt-get when run as root (`--no-install`: only named), or named with
 * the command that installs them, in one line. Without root it re-runs itself
 * as root of a user namespace (`unshare --user --map-root-user --net
 * --mount`) where the kernel allows that, and says so in one line where it
 * does not. The nodes need nothing of Debian's `heartbeat` package (the
 * service address is hb's built-in IPaddr agent).
 *
 * @module
 */

import {
  aptInstall,
  authkeys,
  haCf,
  inUserNamespace,
  LAB_TOOLS,
  type MissingTool,
  missingTools,
  missingToolsMessage,
  packagesOf,
  Testbed,
  type TestNode,
  type ToolTable,
  userNamespaceCommand,
  userNamespaceSupport,
} from "../lab/mod.ts";
import { selfCommand } from "../sys/self_exec.ts";

const HELP = `Usage: heartbeat demo [--keepalive MS] [--deadtime MS] [--no-install]

Starts two hb nodes (node1, node2) and a client in network namespaces on this
machine. node1 serves HTTP on the service address 198.18.0.100:8080
(haresources: node1 198.18.0.100/24/eth0 http::8080). The demo kills node1
hard, shows node2 detecting it and taking the service over, prints the outage
the client saw (kill -> first HTTP reply from node2), restarts node1 (the
service fails back), and cleans up.

Needs iproute2, util-linux, procps and socat (or python3). As root, missing
packages are installed with apt-get (--no-install: only name them). Without
root it runs as root of a user namespace (unshare --user --map-root-user
--net --mount) where the kernel allows unprivileged user namespaces.`;

/** Programs the demo runs (besides the lab's): the HTTP resource script's. */
const DEMO_TOOLS: ToolTable = Object.freeze({ ...LAB_TOOLS, ss: "iproute2", timeout: "coreutils" });

/**
 * What the demo misses on this machine: the lab's programs, the resource script's, and an HTTP
 * server (socat, else python3; socat is named when neither is there).
 */
export function demoMissingTools(lookup?: (program: string) => string | undefined): MissingTool[] {
  const missing = missingTools(DEMO_TOOLS, lookup);
  const servers = missingTools({ socat: "socat", python3: "python3" }, lookup);
  if (servers.length === 2) missing.push(servers[0]);
  return missing;
}

/** The service address and port of the demo. */
const SERVICE_IP = "198.18.0.100";
const SERVICE_PORT = 8080;

/**
 * The `http` resource script: `http <port> start|stop|status` runs a tiny HTTP server on the
 * service address (socat, else python3) that answers `hello from <node>`.
 */
const HTTP_SCRIPT = `#!/bin/sh
# http <port> start|stop|status — the hb demo's HTTP service on ${SERVICE_IP}
port=$1 op=$2 ip=${SERVICE_IP}
pidf=/run/hb-demo-http-$port.pid
running() { [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; }
case "$op" in
  start)
    running && exit 0
    if command -v socat >/dev/null 2>&1; then
      reply=/run/hb-demo-http-reply.sh
      cat >"$reply" <<EOF
#!/bin/sh
# read the request up to its blank line, then answer
while read -r line; do [ -z "\\$(echo "\\$line" | tr -d '\\r')" ] && break; done
printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nhello from $(uname -n)\\n'
EOF
      chmod +x "$reply"
      socat TCP-LISTEN:$port,bind=$ip,reuseaddr,fork EXEC:$reply </dev/null >/dev/null 2>&1 &
    elif command -v python3 >/dev/null 2>&1; then
      www=/run/hb-demo-www
      mkdir -p "$www" && echo "hello from $(uname -n)" >"$www/index.html"
      python3 -m http.server "$port" --bind "$ip" --directory "$www" </dev/null >/dev/null 2>&1 &
    else
      echo "http: neither socat nor python3 is installed" >&2
      exit 1
    fi
    echo $! >"$pidf"
    i=0
    while [ $i -lt 100 ]; do
      ss -ltn 2>/dev/null | grep -q "$ip:$port " && exit 0
      running || exit 1
      sleep 0.05
      i=$((i + 1))
    done
    exit 1;;
  stop)
    if running; then kill "$(cat "$pidf")"; fi
    rm -f "$pidf"
    exit 0;;
  status)
    if running; then echo running; else echo stopped; fi
    exit 0;;
esac
echo "usage: $0 port start|stop|status" >&2
exit 1
`;

/** One HTTP GET of the service from the client namespace; the answering node or null. */
async function httpGet(tb: Testbed, timeoutS = 1): Promise<string | null> {
  const r = await tb.client!.exec([
    "timeout",
    String(timeoutS),
    "bash",
    "-c",
    `exec 3<>/dev/tcp/${SERVICE_IP}/${SERVICE_PORT} || exit 1
printf 'GET / HTTP/1.0\r\nHost: ${SERVICE_IP}\r\n\r\n' >&3
cat <&3`,
  ], { timeoutMs: (timeoutS + 1) * 1000 });
  if (r.code !== 0) return null;
  return r.stdout.match(/hello from (\S+)/)?.[1] ?? null;
}

/**
 * Probes the service from the client until `node` answers: a new request every 100 ms (each
 * may wait up to 1 s for its connection), so a stale ARP entry or a lost SYN does not hide the
 * moment the service is back. Resolves with the `performance.now()` of the first reply.
 */
async function firstReplyFrom(tb: Testbed, node: string, timeoutMs = 30_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let first = Infinity;
  const pending: Promise<void>[] = [];
  while (first === Infinity && performance.now() < deadline) {
    pending.push(
      httpGet(tb).then((who) => {
        if (who === node) first = Math.min(first, performance.now());
      }),
    );
    await new Promise((r) => setTimeout(r, 100));
  }
  await Promise.all(pending);
  if (first === Infinity) {
    throw new Error(
      `no HTTP reply from ${node} on ${SERVICE_IP}:${SERVICE_PORT} in ${timeoutMs} ms`,
    );
  }
  return first;
}

/** Lines of interest from a node's ha-log, shown live. */
const INTERESTING =
  /Comm_now_up|Status update|is dead|Link .* (up|dead)\.|Local status now set|shutdown|restart on node|Takeover|acquir|Releasing|Running .* (start|stop)|standby/;

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
      // a node whose log is not written yet shows nothing this round; the next poll reads it
      const text = await n.readLog().catch(() => "");
      const off = this.#offsets.get(n.name) ?? 0;
      if (text.length <= off) continue;
      this.#offsets.set(n.name, text.length);
      for (const line of text.slice(off).split("\n")) {
        if (!INTERESTING.test(line)) continue;
        const msg = line.replace(/^.*?heartbeat: \[\d+\]: /, "").replace(
          /^\S+\s+(\S+?)\(default\)\[\d+\]:\s+/,
          "$1: ",
        );
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
  let install = true;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--keepalive") keepalive = Number(args[++i]);
    else if (args[i] === "--deadtime") deadtime = Number(args[++i]);
    else if (args[i] === "--no-install") install = false;
    else {
      console.error(`hb demo: unknown argument ${args[i]} (see heartbeat demo --help)`);
      return 2;
    }
  }
  if (!(keepalive > 0) || !(deadtime > 2 * keepalive)) {
    console.error(
      `hb demo: need --keepalive > 0 and --deadtime > 2 x keepalive (got ${keepalive}, ${deadtime})`,
    );
    return 2;
  }
  const ready = await prerequisites(install);
  if (!ready) return 1;
  if (Deno.uid() !== 0) return await runInUserNamespace(args);
  const t0 = performance.now();
  console.log(
    `hb demo: two nodes, bcast on one link, keepalive ${keepalive} ms, deadtime ${deadtime} ms,\n` +
      `         service http://${SERVICE_IP}:${SERVICE_PORT}/ (haresources: node1 ${SERVICE_IP}/24/eth0 http::${SERVICE_PORT})`,
  );
  await using tb = await Testbed.create({
    nodes: ["node1", "node2"],
    links: 1,
    client: true,
    name: "demo",
    heartbeatFiles: false,
  });
  const [n1, n2] = tb.nodes;
  for (const n of tb.nodes) {
    await n.writeHaCf(haCf({
      logfile: "/var/log/ha-log",
      logfacility: "none",
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
    await n.writeHaresources(`node1 ${SERVICE_IP}/24/eth0 http::${SERVICE_PORT}\n`);
    await n.writeResourceScript("http", HTTP_SCRIPT);
  }
  const follow = new LogFollower(tb.nodes, t0);
  follow.start();
  try {
    console.log(`${stamp(t0)}  starting node1 and node2`);
    const started = performance.now();
    await n1.start({ impl: "hb" });
    await n2.start({ impl: "hb" });
    await waitLog(n1, "Status update for node node2: status active", 0);
    await waitLog(n2, "Status update for node node1: status active", 0);
    await follow.poll();
    console.log(`${stamp(t0)}  cluster up: node1 and node2 see each other active`);
    // Heartbeat's start-up resource negotiation takes about 10 s
    const up = await firstReplyFrom(tb, "node1", 40_000);
    await follow.poll();
    console.log(
      `${stamp(t0)}  client ${tb.client!.address}: http://${SERVICE_IP}:${SERVICE_PORT}/ ` +
        `answered by node1, ${((up - started) / 1000).toFixed(1)} s after the start ` +
        `(resource negotiation)`,
    );
    const from = await n2.logOffset();
    console.log(`${stamp(t0)}  killing node1 hard (SIGKILL of every process, link down)`);
    const killedAt = performance.now();
    await tb.killHard("node1");
    const back = firstReplyFrom(tb, "node2");
    await waitLog(n2, "node node1: is dead", from);
    const detected = performance.now() - killedAt;
    await follow.poll();
    console.log(
      `${stamp(t0)}  node2 declared node1 dead ${detected.toFixed(0)} ms after the kill ` +
        `(deadtime ${deadtime} ms; Heartbeat 3.0.6 polls on a 250-500 ms grid, hb does not)`,
    );
    const served = await back;
    await follow.poll();
    console.log(
      `${stamp(t0)}  FAILOVER: the client got its first HTTP reply from node2 ` +
        `${(served - killedAt).toFixed(0)} ms after node1 was killed`,
    );
    console.log(`${stamp(t0)}  bringing node1 back (auto_failback on)`);
    const from2 = await n2.logOffset();
    const restart = performance.now();
    await n1.start({ impl: "hb" });
    await waitLog(n2, "Status update for node node1: status active", from2);
    const failback = await firstReplyFrom(tb, "node1");
    await follow.poll();
    console.log(
      `${stamp(t0)}  node1 is back and serves again (failback ${
        ((failback - restart) / 1000).toFixed(1)
      } s after its restart); stopping the cluster`,
    );
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

/**
 * Checks the programs the demo runs; as root (not in a user namespace) installs the missing
 * ones with apt-get unless `install` is false. Prints one line and resolves false when
 * something is still missing.
 */
async function prerequisites(install: boolean): Promise<boolean> {
  const root = Deno.uid() === 0 && !inUserNamespace();
  let missing = demoMissingTools();
  if (missing.length && root && install) {
    const pkgs = packagesOf(missing);
    console.log(`hb demo: installing ${pkgs.join(" ")} (apt-get; --no-install only names them)`);
    const err = await aptInstall(pkgs);
    if (err !== undefined) {
      console.error(`hb demo: could not install ${pkgs.join(" ")}: ${err}`);
      return false;
    }
    missing = demoMissingTools();
  }
  if (missing.length) {
    console.error(missingToolsMessage("hb demo", missing, root));
    return false;
  }
  return true;
}

/**
 * Not root: runs the demo again as root of a new user namespace (with its own network and
 * mount namespaces), or says in one line why that is not possible here. Resolves with the
 * demo's exit status.
 */
async function runInUserNamespace(args: string[]): Promise<number> {
  const support = await userNamespaceSupport();
  if (!support.ok) {
    console.error(
      `hb demo: needs root, or unprivileged user namespaces, which this machine does not allow ` +
        `(${support.reason}); run it as root`,
    );
    return 1;
  }
  console.log(
    "hb demo: not root: running in a user namespace " +
      "(unshare --user --map-root-user --net --mount); nothing outside it is changed",
  );
  const cmd = userNamespaceCommand(selfCommand(["demo", ...args]));
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  // the demo inside cleans up on SIGINT/SIGTERM: pass them on and wait for it
  const forward: Array<[Deno.Signal, () => void]> = (["SIGINT", "SIGTERM"] as const).map((
    sig,
  ) => [sig, () => {
    try {
      child.kill(sig);
    } catch {
      // the demo has exited already: no one to pass the signal on to
    }
  }]);
  for (const [sig, f] of forward) Deno.addSignalListener(sig, f);
  try {
    const st = await child.status;
    return st.signal ? 128 + (st.signal === "SIGINT" ? 2 : 15) : st.code;
  } finally {
    for (const [sig, f] of forward) Deno.removeSignalListener(sig, f);
  }
}
