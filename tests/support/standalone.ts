/**
 * One hb node run by hand, without the testbed: a temp dir with `conf/` (ha.cf, authkeys,
 * haresources, nodeinfo `node1`), `state/` and `run/`, the `HB_*` variables that point the
 * daemon there, its log, and `heartbeat ARGS` run in a network namespace the test made. For
 * the tests that watch the daemon's own processes (`tests/process_model_test.ts`,
 * `tests/ping_test.ts`, `tests/state_files_test.ts`).
 *
 * @module
 */

import { selfCommand } from "../../sys/self_exec.ts";
import { run, type RunResult } from "../testbed/sys.ts";

/**
 * The `ha.cf` directives a standalone node's configuration starts with (after the logfile): short
 * timers, auto_failback on, realtime off, no core-dump set-up. Media and `node` lines follow.
 */
export const STANDALONE_BASE: readonly string[] = [
  "keepalive 100ms",
  "deadtime 500ms",
  "warntime 300ms",
  "initdead 1",
  "auto_failback on",
  "realtime off",
  "coredumps false",
];

/** The directories of a {@link standaloneNode}, as the daemon's environment. */
export interface StandaloneEnv {
  /** `<dir>/conf`: ha.cf, authkeys, haresources, nodeinfo. */
  HB_CONFDIR: string;
  /** `<dir>/state`. */
  HB_STATEDIR: string;
  /** `<dir>/run` (the pid file). */
  HB_RUNDIR: string;
}

/** A one-node configuration in a temp dir. */
export interface StandaloneNode {
  /** The temp dir (the test removes it). */
  dir: string;
  /** The daemon's environment. */
  env: StandaloneEnv;
  /** The text of `<dir>/ha-log` (empty while it does not exist). */
  log(): string;
}

/**
 * Makes a temp dir (`prefix`) with the directories of {@link StandaloneEnv} and writes the
 * configuration of node `node1`: ha.cf is `logfile <dir>/ha-log` then `haCf` (one directive a
 * line), authkeys `1 sha1 <secret>` (mode 0600), an empty haresources.
 */
export async function standaloneNode(
  prefix: string,
  haCf: readonly string[],
  secret: string,
): Promise<StandaloneNode> {
  const dir = await Deno.makeTempDir({ prefix });
  const env = await writeNodeConfig(dir, haCf, secret);
  const log = () => {
    try {
      return Deno.readTextFileSync(`${dir}/ha-log`);
    } catch {
      return "";
    }
  };
  return { dir, env, log };
}

/**
 * Writes the configuration of {@link standaloneNode} into the existing `dir` for node `node`
 * (its nodeinfo); returns the environment that points the daemon there.
 */
export async function writeNodeConfig(
  dir: string,
  haCf: readonly string[],
  secret: string,
  node = "node1",
): Promise<StandaloneEnv> {
  const conf = `${dir}/conf`;
  const env = { HB_CONFDIR: conf, HB_STATEDIR: `${dir}/state`, HB_RUNDIR: `${dir}/run` };
  for (const d of [conf, env.HB_STATEDIR, env.HB_RUNDIR]) await Deno.mkdir(d, { recursive: true });
  await Deno.writeTextFile(`${conf}/ha.cf`, [`logfile ${dir}/ha-log`, ...haCf, ""].join("\n"));
  await Deno.writeTextFile(`${conf}/authkeys`, `auth 1\n1 sha1 ${secret}\n`, { mode: 0o600 });
  await Deno.chmod(`${conf}/authkeys`, 0o600);
  await Deno.writeTextFile(`${conf}/haresources`, "");
  await Deno.writeTextFile(`${conf}/nodeinfo`, `${node}\n`);
  return env;
}

/** Runs `heartbeat ARGS` (this checkout) in network namespace `ns` with `env`; never throws on exit. */
export function heartbeatIn(
  ns: string,
  env: StandaloneEnv,
): (args: string[]) => Promise<RunResult> {
  return (args) =>
    run([
      "ip",
      "netns",
      "exec",
      ns,
      "env",
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ...selfCommand(["heartbeat", ...args]),
    ], { check: false });
}

/** The command line of `pid` (the process title the daemon sets), "" when it is gone. */
export function title(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ").trim();
  } catch {
    return "";
  }
}

/** True while `pid` runs (not a zombie, not dead). */
export function alive(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}
