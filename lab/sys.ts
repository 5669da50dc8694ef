/**
 * Small OS helpers for the testbed: running commands, reading `/proc`, polling.
 *
 * Everything here runs in the root namespaces of the test process; namespace-specific work is
 * done by the callers (`ip -n`, `ip netns exec`, `nsenter`).
 *
 * @module
 */

import { SIGNAL_NUMBERS } from "../sys/signals.ts";

/** Result of {@link run}: exit code and decoded output. */
export interface RunResult {
  /** Exit code (128 + signal number when killed by a signal). */
  code: number;
  /** True when `code` is 0. */
  success: boolean;
  /** Standard output, decoded as UTF-8. */
  stdout: string;
  /** Standard error, decoded as UTF-8. */
  stderr: string;
}

/** Options of {@link run}. */
export interface RunOptions {
  /** Throw when the command exits non-zero (default true). */
  check?: boolean;
  /** Text written to the command's standard input (default: none, stdin is /dev/null). */
  stdin?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Kill the command (SIGKILL) after this many milliseconds (default 30000). */
  timeoutMs?: number;
}

/** Thrown by {@link run} when a checked command fails. */
export class CommandError extends Error {
  /** The failing command's result. */
  readonly result: RunResult;
  /** The command line. */
  readonly cmd: string[];
  /** Builds the error from the command and its result. */
  constructor(cmd: string[], result: RunResult) {
    super(
      `command failed (exit ${result.code}): ${cmd.join(" ")}\n${result.stderr.trim()}${
        result.stdout.trim() ? "\nstdout: " + result.stdout.trim() : ""
      }`,
    );
    this.name = "CommandError";
    this.cmd = cmd;
    this.result = result;
  }
}

const decoder = new TextDecoder();

/**
 * Runs a command to completion and returns its output.
 *
 * @param cmd program and arguments (program looked up in PATH)
 * @param opts see {@link RunOptions}
 * @throws CommandError when `check` (the default) is set and the exit code is not 0
 */
export async function run(cmd: string[], opts: RunOptions = {}): Promise<RunResult> {
  // A cleared timer rather than AbortSignal.timeout(), whose timer would outlive the command
  // and trip Deno's test sanitizers.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), opts.timeoutMs ?? 30_000);
  const command = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: opts.env,
    signal: abort.signal,
  });
  let child: Deno.ChildProcess;
  try {
    child = command.spawn();
  } catch (e) {
    clearTimeout(timer);
    throw new Error(`cannot run ${cmd[0]}: ${e instanceof Error ? e.message : e}`);
  }
  if (opts.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(opts.stdin));
      await writer.close();
    } catch {
      // The command may exit without reading its input; its status tells what happened.
    }
  }
  const out = await child.output().finally(() => clearTimeout(timer));
  const result: RunResult = {
    code: out.signal ? 128 + signalNumber(out.signal) : out.code,
    success: out.success,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
  if (abort.signal.aborted) {
    result.stderr += `\n(testbed: killed after ${opts.timeoutMs ?? 30_000} ms)`;
  }
  if ((opts.check ?? true) && !result.success) throw new CommandError(cmd, result);
  return result;
}

/**
 * The command line that runs `argv` killed when the calling process dies
 * (`setpriv --pdeathsig KILL -- …`): helper processes outside the nodes (stress-ng, monitors).
 */
export function tied(argv: readonly string[]): string[] {
  return ["setpriv", "--pdeathsig", "KILL", "--", ...argv];
}

/**
 * The command line that runs `argv` in network namespace `netns` and is killed when the calling
 * process dies (`setpriv --pdeathsig KILL -- ip netns exec NETNS …`): every process the lab,
 * the probes and the nodes start in a namespace.
 */
export function inNetnsTied(netns: string, argv: readonly string[]): string[] {
  return tied(["ip", "netns", "exec", netns, ...argv]);
}

/** Linux signal number of a signal name (0 when unknown). */
export function signalNumber(name: string): number {
  return SIGNAL_NUMBERS[name] ?? 0;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `probe` every `intervalMs` until it returns a value other than `undefined`/`false`, or
 * throws after `timeoutMs` with `what` and the last probe value in the message.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${opts.timeoutMs ?? 10_000} ms waiting for ${what} (last: ${
          last instanceof Error ? last.message : String(last)
        })`,
      );
    }
    await sleep(opts.intervalMs ?? 50);
  }
}

/** One process as seen in `/proc/<pid>/stat` and `/proc/<pid>/status`. */
export interface ProcInfo {
  /** Pid in the root pid namespace. */
  pid: number;
  /** Parent pid in the root pid namespace. */
  ppid: number;
  /** Start time in clock ticks since boot (identifies a pid across reuse). */
  startTime: number;
  /** Command name (`comm`). */
  comm: string;
}

/** Reads `/proc/<pid>/stat`; undefined when the process is gone. */
export function procInfo(pid: number): ProcInfo | undefined {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // The comm field is in parentheses and may itself contain spaces or parentheses.
  const open = stat.indexOf("(");
  const close = stat.lastIndexOf(")");
  const comm = stat.slice(open + 1, close);
  const rest = stat.slice(close + 2).split(" ");
  // rest[0] = state (field 3), rest[1] = ppid (field 4), rest[19] = starttime (field 22).
  return { pid, ppid: Number(rest[1]), startTime: Number(rest[19]), comm };
}

/** Pids of every process currently listed in `/proc`. */
export function allPids(): number[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (/^\d+$/.test(e.name)) pids.push(Number(e.name));
  }
  return pids;
}

/** Direct children of `pid` (by scanning `/proc`; this kernel has no `/proc/<pid>/task/*\/children`). */
export function childrenOf(pid: number): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const p of allPids()) {
    const info = procInfo(p);
    if (info && info.ppid === pid) out.push(info);
  }
  return out;
}

/** Pids of the direct children of `pid`. */
export function childPids(pid: number): number[] {
  return childrenOf(pid).map((p) => p.pid);
}

/** The `pid:[inode]` identity of the pid namespace of `pid`; undefined when the process is gone. */
export function pidNamespaceOf(pid: number): string | undefined {
  try {
    return Deno.readLinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** Every process (root-namespace pids) whose pid namespace is `ns` (as from {@link pidNamespaceOf}). */
export function pidsInNamespace(ns: string): number[] {
  const out: number[] = [];
  for (const p of allPids()) {
    if (pidNamespaceOf(p) === ns) out.push(p);
  }
  return out;
}

/** The innermost pid (last `NSpid:` entry) of a process; undefined when it is gone. */
export function innermostPid(pid: number): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const line = status.split("\n").find((l) => l.startsWith("NSpid:"));
    if (!line) return undefined;
    const fields = line.slice(6).trim().split(/\s+/);
    return Number(fields[fields.length - 1]);
  } catch {
    return undefined;
  }
}

/** Sends a signal, ignoring "no such process". Returns false when the process was gone. */
export function signal(pid: number, sig: Deno.Signal): boolean {
  try {
    Deno.kill(pid, sig);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    // ESRCH surfaces as NotFound; anything else (EPERM) is a real problem.
    throw e;
  }
}

/** True when `pid` exists (a zombie counts as existing). */
export function pidExists(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Looks up a user's uid and primary gid in /etc/passwd; undefined when absent. */
export function lookupUser(name: string): { uid: number; gid: number } | undefined {
  const passwd = Deno.readTextFileSync("/etc/passwd");
  for (const line of passwd.split("\n")) {
    const f = line.split(":");
    if (f[0] === name && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return undefined;
}

/** Looks up a group's gid in /etc/group; undefined when absent. */
export function lookupGroup(name: string): number | undefined {
  const group = Deno.readTextFileSync("/etc/group");
  for (const line of group.split("\n")) {
    const f = line.split(":");
    if (f[0] === name && f.length >= 3) return Number(f[2]);
  }
  return undefined;
}

/**
 * Looks up a user that must exist (`hacluster`, `nobody`): its ids differ between machines
 * (Debian assigns them at package installation), so they are never written into tests.
 *
 * @throws {Error} naming /etc/passwd when the user is missing.
 */
export function requireUser(name: string): { uid: number; gid: number } {
  const u = lookupUser(name);
  if (u === undefined || !Number.isInteger(u.uid) || !Number.isInteger(u.gid)) {
    throw new Error(`user ${name} not found in /etc/passwd: install Debian's heartbeat package`);
  }
  return u;
}

/**
 * Looks up a group that must exist (`haclient`).
 *
 * @throws {Error} naming /etc/group when the group is missing.
 */
export function requireGroup(name: string): number {
  const g = lookupGroup(name);
  if (g === undefined || !Number.isInteger(g)) {
    throw new Error(`group ${name} not found in /etc/group: install Debian's heartbeat package`);
  }
  return g;
}

/** Finds an executable in PATH (plus the sbin directories); undefined when missing. */
export function which(program: string): string | undefined {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").concat([
    "/usr/local/sbin",
    "/usr/sbin",
    "/sbin",
    "/usr/bin",
    "/bin",
  ]);
  for (const d of dirs) {
    if (!d) continue;
    try {
      const st = Deno.statSync(`${d}/${program}`);
      if (st.isFile && ((st.mode ?? 0) & 0o111) !== 0) return `${d}/${program}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Quotes a string for a POSIX shell command line. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replaceAll("'", `'"'"'`)}'`;
}
