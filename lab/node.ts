/**
 * One cluster node of the testbed: its namespaces, private directories, the daemon it runs and
 * the faults that can be injected into it.
 *
 * ## How a node runs
 *
 * A node is a network namespace (made by {@link Testbed}) plus, while something runs on it, a
 * private UTS, mount and pid namespace made by
 *
 * ```
 * setpriv --pdeathsig KILL -- ip netns exec <netns> \
 *   unshare --uts --mount --pid --fork --kill-child --mount-proc -- bash -c <init script> …
 * ```
 *
 * The init script (pid 1 of the node, a bash that reaps orphans like an init) sets the host
 * name, makes all mounts private, hides `/run/netns`, makes missing mount points inside the node
 * only (an overlay over the parent: `/etc/ha.d` where Debian's `heartbeat` package is not
 * installed), bind-mounts the node's config dir over
 * `/etc/ha.d`, its state dir over `/var/lib/heartbeat`, its run dir over `/run` and (by default)
 * its log dir over `/var/log`, then starts the daemon in the foreground as its only child and
 * exits with the daemon's exit status. When pid 1 exits, the kernel kills everything left in the
 * node's pid namespace, so nothing a node started can outlive it; `pkill`, `killall` or `reboot`
 * run by resource scripts only see the node itself. `--kill-child` and `--pdeathsig` make the
 * node die with the test process even when that is SIGKILLed.
 *
 * The daemon is *not* pid 1: a pid 1 ignores signals it has no handler for and takes its whole
 * namespace with it when it dies, both unlike a real host.
 *
 * {@link TestNode.exec} enters the running node with `nsenter -t <pid 1> -n -u -m -p -w`
 * (network, UTS, mount and pid namespaces of the node's init, working directory `/`), so a
 * command sees what the daemon sees (`/run/heartbeat/register`, `/etc/ha.d`, its host name, its
 * process list). When no daemon runs, `exec` builds a transient node (same init script, same
 * mounts) around the command instead.
 *
 * ## Boots
 *
 * The first {@link TestNode.start} and the first start after {@link TestNode.killHard} are a
 * *boot*: the run dir (`/run`) is emptied and recreated as the Debian tmpfiles.d entries of
 * heartbeat and resource-agents would, every interface gets back exactly its testbed address
 * (addresses a resource agent added are gone, like after a power cycle), and links that
 * `killHard` set down are set up again. A start after a graceful stop is not a boot: `/run`
 * (including the stale pid file) and interface addresses are kept, as on a real host.
 *
 * @module
 */

import { hbCommand, NODE_CONFIG_FILES, REAL_HEARTBEAT, SYSTEM_HA_DIR } from "./heartbeat_files.ts";
import {
  childrenOf,
  innermostPid,
  inNetnsTied,
  pidExists,
  pidNamespaceOf,
  pidsInNamespace,
  requireGroup,
  requireUser,
  run,
  type RunResult,
  signal,
  sleep,
  waitFor,
} from "./sys.ts";

/** Which implementation a node runs. */
export type Impl = "heartbeat" | "hb";

/** Options of {@link TestNode.start}. */
export interface StartOptions {
  /** `heartbeat` = the real Heartbeat 3.0.6 binary, `hb` = this project (see `HB_CMD`). */
  impl: Impl;
  /** Arguments after the daemon (default `["-f"]`; keep `-f`, the daemon must not fork away). */
  args?: string[];
  /** Replace the whole command line (program and arguments); `impl` is then only a label. */
  cmd?: string[];
  /** Extra environment variables for the daemon. */
  env?: Record<string, string>;
  /** How long to wait for the node's init and daemon to appear (default 10000 ms). */
  timeoutMs?: number;
}

/** Options of {@link TestNode.exec}. */
export interface ExecOptions {
  /** Throw when the command exits non-zero (default false: inspect `code`). */
  check?: boolean;
  /** Text for the command's standard input. */
  stdin?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Kill the command after this many milliseconds (default 30000). */
  timeoutMs?: number;
}

/** One network link of a node, as wired by the testbed. */
export interface NodeLink {
  /** Link number (0-based), also the bridge number. */
  index: number;
  /** Interface name inside the node (`eth<index>`). */
  iface: string;
  /** IPv4 address of the node on this link (no prefix length). */
  address: string;
  /** Prefix length of the link's subnet (24). */
  prefixLen: number;
  /** IPv6 address on this link (`fd00:198:18:<link>::<i>`, prefix /64) when IPv6 is on. */
  address6?: string;
  /** Network namespace that holds the bridges. */
  switchNetns: string;
  /** The bridge-side veth of this link (in {@link NodeLink.switchNetns}). */
  port: string;
}

/** Everything a {@link TestNode} needs from the testbed that made it. */
export interface NodeSpec {
  /** Node name = host name inside the node. */
  name: string;
  /** 1-based position in the testbed (host part of its addresses). */
  index: number;
  /** Network namespace of the node. */
  netns: string;
  /** Directory that holds the node's private directories. */
  baseDir: string;
  /** The node's links. */
  links: NodeLink[];
  /** Bind-mount the node's log dir over /var/log (default true). */
  privateVarLog?: boolean;
  /** Copy the installed Heartbeat's scripts and directory tree (default true; see TestbedOptions). */
  heartbeatFiles?: boolean;
}

/** Default PATH inside nodes (Heartbeat's scripts need the sbin directories). */
const NODE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Environment variables of the test process that are passed into nodes. */
const PASSED_ENV = /^(HOME|TZ|LANG|LC_[A-Z]+|DENO_[A-Z_]+|NO_COLOR|HB_[A-Z0-9_]+)$/;

/**
 * Pid 1 of a node. Arguments: mode (daemon|exec), config dir, state dir, run dir, log dir (empty
 * = keep /var/log), host name, info dir, then the command.
 */
const INIT_SCRIPT = `
set -eu
mode=$1 conf=$2 state=$3 rundir=$4 logdir=$5 host=$6 info=$7
shift 7
hostname "$host"
mount --make-rprivate /
umount -R -l /run/netns 2>/dev/null || true
# A mount point the host lacks (no heartbeat package: no /etc/ha.d) is made in this node only:
# an overlay over its parent, upper layer in the info dir; the host's tree is not touched.
ensure_dir() {
  [ -d "$1" ] && return 0
  parent=$(dirname "$1")
  ensure_dir "$parent"
  layer="$info/overlay$(echo "$parent" | tr / _)"
  mkdir -p "$layer/upper" "$layer/work"
  mount -t overlay hb-lab-overlay -o "lowerdir=$parent,upperdir=$layer/upper,workdir=$layer/work" "$parent"
  [ -d "$1" ] || mkdir "$1" # the upper layer keeps it from an earlier start
}
ensure_dir /etc/ha.d
ensure_dir /var/lib/heartbeat
mount --bind "$conf" /etc/ha.d
mount --bind "$state" /var/lib/heartbeat
mount --bind "$rundir" /run
if [ -n "$logdir" ]; then mount --bind "$logdir" /var/log; fi
cd /
set +e
# A transient node's command must not get the pid the daemon had (pid files in /run survive).
if [ "$mode" = exec ]; then echo 20000 >/proc/sys/kernel/ns_last_pid; fi
if [ "$mode" = daemon ]; then
  "$@" </dev/null &
else
  "$@" 0<&0 &
fi
child=$!
if [ "$mode" = daemon ]; then echo "$child" >"$info/daemon.nspid"; fi
while :; do
  wait "$child"
  rc=$?
  kill -0 "$child" 2>/dev/null || break
done
exit "$rc"
`;

/**
 * `unshare` options a node's daemon runs under: its own host name, mounts and pid namespace (a
 * fresh /proc), killed with the process that made it, so the real Heartbeat's ResourceManager may
 * `pkill -9 heartbeat` or `reboot` without reaching anything outside.
 */
export const ISOLATION_FLAGS: readonly string[] = [
  "--uts",
  "--mount",
  "--pid",
  "--fork",
  "--kill-child",
  "--mount-proc",
];

/**
 * A node of a {@link Testbed}. Made by the testbed; tests use its files helpers, `start`,
 * `exec`, `readLog` and the fault methods (also reachable through the testbed by node name).
 */
export class TestNode {
  /** Node name (host name inside the node, `uname -n`). */
  readonly name: string;
  /** 1-based position in the testbed; the host part of its addresses. */
  readonly index: number;
  /** Network namespace name (see `ip netns list`). */
  readonly netns: string;
  /** Links of the node, by link number. */
  readonly links: readonly NodeLink[];
  /** Private directory mounted over `/etc/ha.d` (pre-filled with the installed scripts). */
  readonly confDir: string;
  /** Private directory mounted over `/var/lib/heartbeat`. */
  readonly stateDir: string;
  /** Private directory mounted over `/run` (emptied at every boot). */
  readonly runDir: string;
  /** Private directory mounted over `/var/log` (Heartbeat's default `logfile` lands here). */
  readonly logDir: string;
  /** Standard output and error of everything started on the node. */
  readonly consoleLog: string;
  /** Internal bookkeeping files of the testbed for this node. */
  readonly infoDir: string;
  readonly #privateVarLog: boolean;
  readonly #heartbeatFiles: boolean;

  #impl: Impl | undefined;
  #child: Deno.ChildProcess | undefined;
  #status: Promise<Deno.CommandStatus> | undefined;
  #lastStatus: Deno.CommandStatus | undefined;
  #initPid: number | undefined;
  #daemonPid: number | undefined;
  #pidNs: string | undefined;
  #booted = false;
  #frozen = false;
  #linksDownByKill = new Set<number>();
  #linkUp: boolean[];

  /** Made by {@link Testbed}; call {@link TestNode.prepare} before use. */
  constructor(spec: NodeSpec) {
    this.name = spec.name;
    this.index = spec.index;
    this.netns = spec.netns;
    this.links = spec.links;
    this.confDir = `${spec.baseDir}/etc-ha.d`;
    this.stateDir = `${spec.baseDir}/var-lib-heartbeat`;
    this.runDir = `${spec.baseDir}/run`;
    this.logDir = `${spec.baseDir}/var-log`;
    this.infoDir = `${spec.baseDir}/testbed`;
    this.consoleLog = `${spec.baseDir}/console.log`;
    this.#privateVarLog = spec.privateVarLog ?? true;
    this.#heartbeatFiles = spec.heartbeatFiles ?? true;
    this.#linkUp = spec.links.map(() => true);
  }

  /**
   * Creates the node's private directories: the config dir gets a copy of the installed
   * `/etc/ha.d` (harc, rc.d/, resource.d/, shellfuncs, …) without ha.cf, authkeys and
   * haresources; the state dir gets the directory tree of the Debian package. Without
   * `heartbeatFiles` both stay empty (a `resource.d/` only).
   */
  async prepare(): Promise<void> {
    for (const d of [this.confDir, this.stateDir, this.runDir, this.logDir, this.infoDir]) {
      await Deno.mkdir(d, { recursive: true });
    }
    if (!this.#heartbeatFiles) {
      await Deno.mkdir(`${this.confDir}/resource.d`, { recursive: true });
      return;
    }
    await copyTree(SYSTEM_HA_DIR, this.confDir, NODE_CONFIG_FILES);
    await atomicClusterMessages(`${this.confDir}/shellfuncs`);
    const hacluster = requireUser("hacluster");
    const nobody = requireUser("nobody");
    const haclient = requireGroup("haclient");
    const dirs: Array<[string, number, number | undefined, number | undefined]> = [
      ["api", 0o755, 0, 0],
      ["casual", 0o755, 0, 0],
      ["ckpt", 0o755, 0, 0],
      ["lrm", 0o755, 0, 0],
      ["ccm", 0o750, hacluster.uid, haclient],
      ["crm", 0o750, hacluster.uid, haclient],
      ["pengine", 0o750, hacluster.uid, haclient],
      ["cores", 0o755, 0, 0],
      ["cores/root", 0o700, 0, 0],
      ["cores/hacluster", 0o700, hacluster.uid, 0],
      ["cores/nobody", 0o700, nobody.uid, 0],
    ];
    await makeDirs(this.stateDir, dirs);
  }

  /** IPv4 address of the node on link `link` (default 0). */
  address(link = 0): string {
    return this.#link(link).address;
  }

  /** IPv6 address of the node on link `link` (testbeds made with `ipv6: true` only). */
  address6(link = 0): string {
    const a = this.#link(link).address6;
    if (!a) throw new Error(`testbed: ${this.name} has no IPv6 address (create with ipv6: true)`);
    return a;
  }

  /** Interface name of link `link` inside the node (`eth<link>`). */
  iface(link = 0): string {
    return this.#link(link).iface;
  }

  /** The implementation last started on this node (undefined before the first start). */
  get impl(): Impl | undefined {
    return this.#impl;
  }

  /** True while the node's init (and so normally its daemon) is alive. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** True between {@link TestNode.freeze} and {@link TestNode.thaw}. */
  get frozen(): boolean {
    return this.#frozen;
  }

  /** Root-namespace pid of the node's pid 1 (the init script); undefined when not running. */
  get initPid(): number | undefined {
    return this.#initPid;
  }

  /** Root-namespace pid of the daemon (Heartbeat's master control process); undefined when not running. */
  get daemonPid(): number | undefined {
    return this.#daemonPid;
  }

  /** Exit status of the last run of the node (set once it ended). */
  get lastStatus(): Deno.CommandStatus | undefined {
    return this.#lastStatus;
  }

  /** Whether link `link` is currently connected (its bridge port is up). */
  linkIsUp(link = 0): boolean {
    this.#link(link);
    return this.#linkUp[link];
  }

  // ---------------------------------------------------------------- files

  /**
   * Writes a file below the node's config dir (`/etc/ha.d` inside the node), creating parent
   * directories. `mode` defaults to 0644 (use 0755 for scripts).
   */
  async writeConfig(relPath: string, text: string, mode = 0o644): Promise<string> {
    const path = `${this.confDir}/${relPath}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, text, { mode });
    await Deno.chmod(path, mode); // writeTextFile's mode only applies to new files
    return path;
  }

  /** Writes `/etc/ha.d/ha.cf` of the node. */
  writeHaCf(text: string): Promise<string> {
    return this.writeConfig("ha.cf", text);
  }

  /** Writes `/etc/ha.d/authkeys` of the node with mode 0600 (Heartbeat refuses anything else). */
  writeAuthkeys(text: string): Promise<string> {
    return this.writeConfig("authkeys", text, 0o600);
  }

  /** Writes `/etc/ha.d/haresources` of the node. */
  writeHaresources(text: string): Promise<string> {
    return this.writeConfig("haresources", text);
  }

  /** Writes an executable resource script `/etc/ha.d/resource.d/<name>`. */
  writeResourceScript(name: string, text: string): Promise<string> {
    return this.writeConfig(`resource.d/${name}`, text, 0o755);
  }

  /** Reads a file of the node's log dir (`/var/log/<name>` inside; default `ha-log`); "" when absent. */
  async readLog(name = "ha-log"): Promise<string> {
    try {
      return await Deno.readTextFile(`${this.logDir}/${name}`);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return "";
      throw e;
    }
  }

  /** Current length of a log file, to pass as `from` to {@link TestNode.waitForLog}. */
  async logOffset(name = "ha-log"): Promise<number> {
    return (await this.readLog(name)).length;
  }

  /**
   * Waits until a line of the log (from character offset `from`, default 0) contains `pattern`
   * (string) or matches it (RegExp); returns that line. Throws with the log tail on timeout.
   */
  async waitForLog(
    pattern: string | RegExp,
    opts: { from?: number; timeoutMs?: number; name?: string } = {},
  ): Promise<string> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = (await this.readLog(opts.name)).slice(opts.from ?? 0);
      const line = text.split("\n").find((l) =>
        typeof pattern === "string" ? l.includes(pattern) : pattern.test(l)
      );
      if (line !== undefined) return line;
      if (Date.now() >= deadline) {
        const tail = text.split("\n").slice(-15).join("\n");
        throw new Error(
          `${this.name}: no log line matching ${pattern} within ${timeoutMs} ms; log tail:\n${tail}`,
        );
      }
      await sleep(50);
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Starts a daemon on the node (see the module documentation for the namespaces and mounts)
   * and returns once its pid is known. The real one runs `heartbeat -f`, hb runs
   * `HB_CMD heartbeat -f`. A boot (first start, or first after `killHard`) resets `/run`, the
   * interface addresses and links that `killHard` set down.
   *
   * @throws when already running, when the real binary is missing, or when the node dies
   *   before its daemon appears (the message includes the console output)
   */
  async start(opts: StartOptions): Promise<void> {
    if (this.#child) throw new Error(`${this.name}: already running (init pid ${this.#initPid})`);
    let cmd: string[];
    if (opts.cmd) {
      cmd = opts.cmd;
    } else if (opts.impl === "heartbeat") {
      await assertExecutable(REAL_HEARTBEAT, "the real Heartbeat 3.0.6 (Debian package heartbeat)");
      cmd = [REAL_HEARTBEAT, ...(opts.args ?? ["-f"])];
    } else {
      cmd = [...hbCommand(), "heartbeat", ...(opts.args ?? ["-f"])];
    }
    if (!this.#booted) await this.#boot();
    this.#impl = opts.impl;
    try {
      await Deno.remove(`${this.infoDir}/daemon.nspid`);
    } catch {
      // absent
    }
    const stamp = `==== ${new Date().toISOString()} testbed: start ${cmd.join(" ")}\n`;
    await Deno.writeTextFile(this.consoleLog, stamp, { append: true });
    const child = new Deno.Command("bash", {
      args: [
        "-c",
        'exec >>"$0" 2>&1; exec "$@"',
        this.consoleLog,
        ...this.#launcher("daemon", cmd),
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      env: this.#env(opts.env),
      clearEnv: true,
    }).spawn();
    this.#child = child;
    this.#status = child.status.then((s) => {
      this.#lastStatus = s;
      this.#child = undefined;
      this.#initPid = undefined;
      this.#daemonPid = undefined;
      this.#pidNs = undefined;
      this.#frozen = false;
      return s;
    });
    const timeoutMs = opts.timeoutMs ?? 10_000;
    try {
      const init = await waitFor(`${this.name}: node init`, () => {
        if (!this.#child) throw new Error("node exited");
        return childrenOf(child.pid).find((p) =>
          pidNamespaceOf(p.pid) !== pidNamespaceOf(child.pid)
        );
      }, { timeoutMs, intervalMs: 10 });
      this.#initPid = init.pid;
      this.#pidNs = pidNamespaceOf(init.pid);
      const nsPid = await waitFor(`${this.name}: daemon pid`, async () => {
        if (!this.#child) throw new Error("node exited");
        try {
          const t = (await Deno.readTextFile(`${this.infoDir}/daemon.nspid`)).trim();
          return t ? Number(t) : undefined;
        } catch {
          return undefined;
        }
      }, { timeoutMs, intervalMs: 10 });
      this.#daemonPid = await waitFor(`${this.name}: daemon process`, () => {
        if (!this.#child) throw new Error("node exited");
        return childrenOf(init.pid).find((p) => innermostPid(p.pid) === nsPid)?.pid;
      }, { timeoutMs, intervalMs: 10 });
    } catch (e) {
      if (this.#child) await this.#killAll();
      const status = await this.#status;
      const console = await this.readConsole();
      throw new Error(
        `${this.name}: start failed (${
          e instanceof Error ? e.message : e
        }; node exit ${status.code}${status.signal ? " " + status.signal : ""}); console:\n${
          console.slice(-3000)
        }`,
      );
    }
  }

  /** Reads the node's console output (stdout and stderr of everything started on it). */
  async readConsole(): Promise<string> {
    try {
      return await Deno.readTextFile(this.consoleLog);
    } catch {
      return "";
    }
  }

  /** Resolves with the exit status when the current run of the node ends. */
  async wait(): Promise<Deno.CommandStatus> {
    if (!this.#status) throw new Error(`${this.name}: never started`);
    return await this.#status;
  }

  /**
   * Runs a command as the node sees the world (its network, host name, mounts and processes).
   * On a running node through `nsenter` into the init's namespaces; otherwise inside a
   * transient node with the same mounts.
   */
  async exec(cmd: string[], opts: ExecOptions = {}): Promise<RunResult> {
    const env = this.#env(opts.env);
    const runOpts = { check: opts.check ?? false, stdin: opts.stdin, timeoutMs: opts.timeoutMs };
    if (this.#initPid !== undefined) {
      return await run([
        "env",
        "-i",
        ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
        "nsenter",
        "-t",
        String(this.#initPid),
        "-n",
        "-u",
        "-m",
        "-p",
        "-w",
        "--",
        ...cmd,
      ], runOpts);
    }
    return await run([
      "env",
      "-i",
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ...this.#launcher("exec", cmd),
    ], runOpts);
  }

  /**
   * Root-namespace pids of every process of the node (everything in its pid namespace,
   * including pid 1); empty when not running.
   */
  pids(): number[] {
    return this.#pidNs ? pidsInNamespace(this.#pidNs) : [];
  }

  /** The pid-namespace identity (`pid:[inode]`) of the current run; undefined when not running. */
  get pidNamespace(): string | undefined {
    return this.#pidNs;
  }

  // ---------------------------------------------------------------- faults

  /** Connects (`up`) or disconnects link `link` by setting its bridge-side veth up or down. */
  async setLink(link: number, up: boolean): Promise<void> {
    const l = this.#link(link);
    await run(["ip", "-n", l.switchNetns, "link", "set", l.port, up ? "up" : "down"]);
    this.#linkUp[link] = up;
    if (up) this.#linksDownByKill.delete(link);
  }

  /**
   * Power failure: SIGKILL to every process of the node and, at the same moment, all its links
   * down (bridge side). The next {@link TestNode.start} is a boot and reconnects those links.
   * Resolves once the node is gone.
   */
  async killHard(): Promise<void> {
    const down = this.links.filter((l) => this.#linkUp[l.index]);
    const ns = this.#pidNs;
    if (this.#child) this.#signalAll("SIGKILL");
    if (down.length) {
      const batch = down.map((l) => `link set ${l.port} down`).join("\n") + "\n";
      await run(["ip", "-n", this.links[0].switchNetns, "-batch", "-"], { stdin: batch });
      for (const l of down) {
        this.#linkUp[l.index] = false;
        this.#linksDownByKill.add(l.index);
      }
    }
    if (this.#status) await this.#status;
    await this.#waitGone(ns);
    this.#booted = false;
  }

  /**
   * Graceful stop: SIGTERM to the daemon (`via: "signal"`, the default, what
   * `/etc/init.d/heartbeat stop` amounts to) or its own stop command run inside the node
   * (`via: "command"`: `heartbeat -k` / `HB_CMD heartbeat -k`). Resolves with the exit status
   * once the daemon has exited; throws after `timeoutMs` (default 30000) leaving it running.
   */
  async stopSoft(
    opts: { via?: "signal" | "command"; timeoutMs?: number } = {},
  ): Promise<Deno.CommandStatus> {
    if (!this.#child || this.#daemonPid === undefined) {
      throw new Error(`${this.name}: not running`);
    }
    if (this.#frozen) await this.thaw();
    const timeoutMs = opts.timeoutMs ?? 30_000;
    if ((opts.via ?? "signal") === "signal") {
      signal(this.#daemonPid, "SIGTERM");
    } else {
      const stopCmd = this.#impl === "hb"
        ? [...hbCommand(), "heartbeat", "-k"]
        : [REAL_HEARTBEAT, "-k"];
      // Not awaited: the node may be gone (and with it the command) before -k returns.
      this.exec(stopCmd, { timeoutMs }).catch(() => {});
    }
    const status = this.#status!;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.name}: daemon still running ${timeoutMs} ms after stop`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([status, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * SIGSTOP to every process of the node (repeated until no new process appears), so it
   * stops sending and processing anything; {@link TestNode.thaw} resumes it.
   */
  async freeze(): Promise<void> {
    if (!this.#pidNs) throw new Error(`${this.name}: not running`);
    const stopped = new Set<number>();
    for (let round = 0; round < 50; round++) {
      const fresh = pidsInNamespace(this.#pidNs).filter((p) => !stopped.has(p));
      if (!fresh.length) break;
      for (const p of fresh) {
        signal(p, "SIGSTOP");
        stopped.add(p);
      }
      await sleep(5);
    }
    this.#frozen = true;
  }

  /** SIGCONT to every process of the node (after {@link TestNode.freeze}). */
  thaw(): Promise<void> {
    if (this.#pidNs) {
      for (const p of pidsInNamespace(this.#pidNs)) signal(p, "SIGCONT");
    }
    this.#frozen = false;
    return Promise.resolve();
  }

  /** Kills whatever runs on the node (SIGKILL, links untouched) and waits for it. Used by destroy. */
  async kill(): Promise<void> {
    const ns = this.#pidNs;
    if (this.#child) await this.#killAll();
    if (this.#status) await this.#status;
    await this.#waitGone(ns);
  }

  // ---------------------------------------------------------------- internals

  #link(link: number): NodeLink {
    const l = this.links[link];
    if (!l) throw new Error(`${this.name}: no link ${link} (node has ${this.links.length})`);
    return l;
  }

  async #killAll(): Promise<void> {
    this.#signalAll("SIGKILL");
    if (this.#status) await this.#status;
  }

  #signalAll(sig: Deno.Signal): void {
    if (this.#initPid !== undefined) {
      // pid 1 first: its death makes the kernel kill the rest of the namespace; the explicit
      // signals below only shorten the window for processes that are mid-fork. unshare is
      // left alone: it reaps pid 1 (killing it would leave pid 1 a zombie of the host's init).
      signal(this.#initPid, sig);
      for (const p of this.pids()) signal(p, sig);
    } else if (this.#child && pidExists(this.#child.pid)) {
      // Still starting: unshare's --kill-child takes pid 1 (if any yet) with it.
      signal(this.#child.pid, sig);
    }
  }

  /** Waits until no process of the run with pid namespace `ns` is left (zombies included). */
  async #waitGone(ns: string | undefined): Promise<void> {
    if (!ns) return;
    await waitFor(`${this.name}: all processes gone`, () => pidsInNamespace(ns).length === 0, {
      timeoutMs: 10_000,
      intervalMs: 5,
    });
  }

  #env(extra?: Record<string, string>): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(Deno.env.toObject())) {
      if (PASSED_ENV.test(k)) env[k] = v;
    }
    env.PATH = NODE_PATH;
    env.HOME ??= "/root";
    return { ...env, ...extra };
  }

  #launcher(mode: "daemon" | "exec", cmd: string[]): string[] {
    return inNetnsTied(this.netns, [
      "unshare",
      ...ISOLATION_FLAGS,
      "--",
      "bash",
      "-c",
      INIT_SCRIPT,
      "hbtb-init",
      mode,
      this.confDir,
      this.stateDir,
      this.runDir,
      this.#privateVarLog ? this.logDir : "",
      this.name,
      this.infoDir,
      ...cmd,
    ]);
  }

  async #boot(): Promise<void> {
    // /run as after a reboot, with the Debian tmpfiles.d entries of heartbeat and resource-agents.
    await Deno.remove(this.runDir, { recursive: true }).catch(() => {});
    // hb-only labs may run where Heartbeat's users do not exist: root owns those dirs then
    const hacluster = this.#heartbeatFiles ? requireUser("hacluster") : { uid: 0 };
    const haclient = this.#heartbeatFiles ? requireGroup("haclient") : 0;
    await Deno.mkdir(this.runDir, { mode: 0o755 });
    await Deno.chmod(this.runDir, 0o755);
    await makeDirs(this.runDir, [
      ["lock", 0o1777, 0, 0],
      ["heartbeat", 0o750, hacluster.uid, haclient],
      ["heartbeat/ccm", 0o750, hacluster.uid, haclient],
      ["heartbeat/crm", 0o750, hacluster.uid, haclient],
      ["heartbeat/dopd", 0o750, hacluster.uid, haclient],
      ["crm", 0o750, hacluster.uid, haclient],
      ["resource-agents", 0o1755, 0, 0],
    ]);
    // Interfaces exactly as the testbed made them; links a power failure took down come back.
    const batch: string[] = [];
    for (const l of this.links) {
      // with IPv6 on, the kernel's link-local address stays (only a link down/up makes a new one)
      batch.push(`addr flush dev ${l.iface}${l.address6 ? " scope global" : ""}`);
      batch.push(`addr add ${l.address}/${l.prefixLen} brd + dev ${l.iface}`);
      if (l.address6) batch.push(`addr add ${l.address6}/64 dev ${l.iface} nodad`);
      batch.push(`neigh flush dev ${l.iface}`);
      batch.push(`link set ${l.iface} up`);
    }
    await run(["ip", "-n", this.netns, "-batch", "-"], { stdin: batch.join("\n") + "\n" });
    for (const k of [...this.#linksDownByKill]) await this.setLink(k, true);
    this.#booted = true;
  }
}

async function assertExecutable(path: string, what: string): Promise<void> {
  try {
    const st = await Deno.stat(path);
    if (st.isFile && ((st.mode ?? 0) & 0o111) !== 0) return;
  } catch {
    // fall through
  }
  throw new Error(`testbed: ${what} is required but ${path} is missing or not executable`);
}

async function makeDirs(
  root: string,
  dirs: Array<[string, number, number | undefined, number | undefined]>,
): Promise<void> {
  for (const [rel, mode, uid, gid] of dirs) {
    const p = `${root}/${rel}`;
    await Deno.mkdir(p, { recursive: true });
    await Deno.chown(p, uid ?? 0, gid ?? 0);
    await Deno.chmod(p, mode);
  }
}

/**
 * The line of Heartbeat 3.0.6's `shellfuncs` that writes a message to the FIFO
 * (`ha_clustermsg`, used by mach_down, hb_standby, req_resource, …).
 */
const CLUSTERMSG_LINE = `\t(echo ">>>"; cat -; echo "<<<")\t| cat - >> $HA_FIFO`;

/**
 * The same, in one write(2) per message: the message goes to a file first, and `cat` of a
 * small file writes it at once, which a FIFO keeps whole (up to PIPE_BUF bytes).
 */
const CLUSTERMSG_ATOMIC = [
  `\t_hb_msg=\`mktemp\` || return 1`,
  `\t(echo ">>>"; cat -; echo "<<<") > "$_hb_msg"`,
  `\tcat "$_hb_msg" >> $HA_FIFO`,
  `\trm -f "$_hb_msg"`,
].join("\n");

/**
 * Makes the node's copy of `shellfuncs` write each FIFO message in one write.
 *
 * Heartbeat's `ha_clustermsg` pipes `>>>`, the message and `<<<` through a final `cat`, which
 * on a loaded machine writes them in pieces; two scripts sending at once (mach_down beside
 * another event script) then interleave in the FIFO. The real daemon's FIFO reader logs
 * `NV failure (msgfromsteam): [>>>` and loses both messages: its takeover never completes
 * (`rscstatus` stays short of `all`, a start-up acquisition ends with `(none)`). hb's FIFO
 * parser reassembles a message written in pieces but cannot untangle two interleaved ones
 * either. This is the shell function's race, not what the tests compare, so each testbed
 * node gets the one-write version; the installed file is not touched. A `shellfuncs` without
 * the line (another Heartbeat build) is an error, not a silent skip.
 */
async function atomicClusterMessages(path: string): Promise<void> {
  const text = await Deno.readTextFile(path);
  if (!text.includes(CLUSTERMSG_LINE)) {
    throw new Error(
      `testbed: ${path}: ha_clustermsg is not Heartbeat 3.0.6's (looked for ${
        JSON.stringify(CLUSTERMSG_LINE)
      })`,
    );
  }
  await Deno.writeTextFile(path, text.replace(CLUSTERMSG_LINE, CLUSTERMSG_ATOMIC));
}

/** Copies a directory tree preserving modes (cp -a), leaving out top-level names in `skip`. */
async function copyTree(from: string, to: string, skip: string[]): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(from));
  } catch (e) {
    throw new Error(
      `testbed: cannot read ${from} (install the Debian package heartbeat): ${
        e instanceof Error ? e.message : e
      }`,
    );
  }
  const names = entries.map((e) => e.name).filter((n) => !skip.includes(n));
  if (!names.length) return;
  await run(["cp", "-a", "--", ...names.map((n) => `${from}/${n}`), `${to}/`]);
}
