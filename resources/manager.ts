/**
 * Our ResourceManager: what Heartbeat 3.0.6's `/usr/share/heartbeat/ResourceManager` shell
 * script does for `takegroup`, `givegroup`, `statgroup`, `status` and `verifyallidle`
 * (spec config-and-cli §3.4–§3.6, §6.4, §6.6.19), done in TypeScript.
 *
 * Deliberate differences from the shell script:
 * - a stop that fails while the resource still reports itself running is *reported*
 *   (`rebootRequired`), and only `CRIT: Resource STOP failure. Reboot required!` is logged:
 *   hb never runs `pkill -9 heartbeat` or `reboot -nf` itself; the caller decides (and logs
 *   `CRIT: Killing heartbeat ungracefully!` if it does kill);
 * - after a failed start the `hb_standby` that Heartbeat runs 30 s later in the background is
 *   returned as `standby`/`standbyDelayMs` instead of being scheduled;
 * - the group is passed in (looked up by exact key by the caller), not re-read from the file
 *   with ResourceManager's loose `egrep " KEY "`;
 * - a per-call time limit (off by default, like Heartbeat) kills the script's process group;
 * - when neither `resource.d` nor `/etc/init.d` has `IPaddr`/`IPaddr2`, a built-in agent runs
 *   in-process and is shown as `builtin:<name>` in the `Running …` line.
 *
 * @module
 */
import { scriptTag } from "../logging/format.ts";
import { parseIpSpec } from "../config/ip_spec.ts";
import { announceForHolder, reannounceIp } from "../agents/ip_agent.ts";
import { BUILTIN_AGENTS, BUILTIN_PREFIX } from "./builtin.ts";
import { isExecutableFile } from "../sys/files.ts";
import { runScript } from "./script_exec.ts";
import { argText, doscriptName, standbyGroupType, statusSaysOwned } from "./spec.ts";
import type {
  BuiltinAgent,
  Env,
  ResourceAction,
  ResourceGroup,
  ResourceSpec,
  ScriptLogger,
} from "./types.ts";

/** Default `HA_RSCTMP` (resource-agents' ocf-directories). */
export const DEFAULT_RSCTMP = "/run/resource-agents";

/** Delay before `hb_standby` after a failed start, as ResourceManager's `sleep 30`. */
export const STANDBY_DELAY_MS = 30_000;

/** Options of {@link ResourceManager}. */
export interface ResourceManagerOptions {
  /** Destination of the script lines and the scripts' output. */
  logger: ScriptLogger;
  /**
   * Environment of every script (HA_* variables, PATH, …). Default: our own environment.
   * Per-call additions are given to each method.
   */
  env?: Env;
  /** First script directory. Default: `HA_RESOURCEDIR` of the environment, else `/etc/ha.d/resource.d`. */
  resourceDir?: string;
  /** Second script directory. Default `/etc/init.d`. */
  initDir?: string;
  /** Time limit per script call in ms; 0 (default) = none, like Heartbeat. */
  timeoutMs?: number;
  /** Pid shown in the tag `ResourceManager(default)[<pid>]`. Default: our pid. */
  pid?: number;
  /** Pause between stop retries (ResourceManager's `sleep 1`). Default 1000 ms. */
  stopRetryDelayMs?: number;
  /** Built-in agents used when no script of that name exists. Default: IPaddr, IPaddr2. */
  builtins?: Readonly<Record<string, BuiltinAgent>>;
  /** How long to read output after a script exited. Default 200 ms. */
  drainMs?: number;
}

/** One script call made during a group action. */
export interface ScriptCall {
  /** The resource spec. */
  resource: string;
  /** The action. */
  action: ResourceAction;
  /** Exit code (1 when the script could not be located). */
  code: number;
  /** True when the time limit killed it. */
  timedOut: boolean;
}

/** Result of {@link ResourceManager.giveGroup}. */
export interface GiveGroupResult {
  /** The group's key. */
  key: string;
  /** True when every stop succeeded (possibly after retries). */
  ok: boolean;
  /** Resources whose stop finally failed while their status said not running (warned only). */
  stopFailedNotRunning: string[];
  /** Resources whose stop finally failed while still running. */
  stopFailedRunning: string[];
  /**
   * "stop failure, reboot required": some resource could not be stopped and still runs.
   * Heartbeat kills itself and reboots here; hb leaves that decision to the caller.
   */
  rebootRequired: boolean;
  /** Exit status ResourceManager would have: 1 when `rebootRequired`, else 0. */
  exitCode: number;
  /** Every script call, in order. */
  calls: ScriptCall[];
}

/** Result of {@link ResourceManager.takeGroup}. */
export interface TakeGroupResult {
  /** The group's key. */
  key: string;
  /** True when every resource runs (started or already running). */
  ok: boolean;
  /** Resources found already running and therefore not started. */
  alreadyRunning: string[];
  /** The resource whose start failed, if any. */
  failedResource?: string;
  /** After a failed start: the `hb_standby` argument Heartbeat would run after 30 s. */
  standby?: "local" | "foreign";
  /** After a failed start: the delay before that `hb_standby` ({@link STANDBY_DELAY_MS}). */
  standbyDelayMs?: number;
  /** After a failed start: the release of the whole group that followed. */
  release?: GiveGroupResult;
  /** Exit status ResourceManager would have: always 0 (the release overwrote the error). */
  exitCode: number;
  /** Every script call, in order (including those of the release). */
  calls: ScriptCall[];
}

/** `ALL`, `SOME` or `NONE` of a group's resources are running. */
export type GroupStatus = "ALL" | "SOME" | "NONE";

/** Result of {@link ResourceManager.verifyAllIdle}. */
export interface VerifyIdleResult {
  /** Keys whose resource is running (ResourceManager's exit status is their number). */
  active: string[];
  /** What ResourceManager prints on standard error. */
  stderr: string;
}

/** Where a script was found. */
export interface Located {
  /** Path shown in log lines (`builtin:<name>` for a built-in agent). */
  display: string;
  /** Path to execute, when it is a file. */
  path?: string;
  /** The built-in agent, when no file exists. */
  builtin?: BuiltinAgent;
}

/** Parses `HA_STOPRETRYMAX`: unset → 10; an integer → it; anything else → no retry at all. */
export function stopRetryMax(value: string | undefined): number | null {
  if (value === undefined) return 10;
  const v = value.trim();
  return /^[+-]?[0-9]+$/.test(v) ? parseInt(v, 10) : null;
}

/** The ResourceManager equivalent. Methods never throw for script failures. */
export class ResourceManager {
  readonly #opts: ResourceManagerOptions;
  readonly #tag: string;

  /** Creates a manager; see {@link ResourceManagerOptions}. */
  constructor(opts: ResourceManagerOptions) {
    this.#opts = opts;
    this.#tag = scriptTag("ResourceManager", opts.pid ?? Deno.pid);
  }

  /** The tag of our log lines: `ResourceManager(default)[<pid>]`. */
  get tag(): string {
    return this.#tag;
  }

  #log(prio: string, text: string): void {
    this.#opts.logger.script(this.#tag, prio, text);
  }

  #env(extra?: Env): Env {
    const env: Env = { ...(this.#opts.env ?? Deno.env.toObject()), ...(extra ?? {}) };
    // ResourceManager unsets these (so ifconfig output is not localised).
    delete env.LC_ALL;
    delete env.LANGUAGE;
    env.HA_DIR ??= "/etc/ha.d";
    env.HA_FUNCS ??= `${env.HA_DIR.replace(/\/+$/, "")}/shellfuncs`;
    env.HA_RSCTMP ??= DEFAULT_RSCTMP;
    env.OCF_ROOT ??= "/usr/lib/ocf";
    env.PATH ??= "/usr/sbin:/usr/bin:/sbin:/bin";
    return env;
  }

  #dirs(env: Env): string[] {
    const rd = this.#opts.resourceDir ?? env.HA_RESOURCEDIR ?? "/etc/ha.d/resource.d";
    return [rd, this.#opts.initDir ?? "/etc/init.d"];
  }

  /**
   * Finds a script like ResourceManager's `scriptpath` (resource directory, then init
   * directory; a regular executable file), else a built-in agent of that name.
   */
  locate(script: string, env?: Env): Located | null {
    for (const dir of this.#dirs(this.#env(env))) {
      const p = `${dir}/${script}`;
      if (isExecutableFile(p)) return { display: p, path: p };
    }
    const b = (this.#opts.builtins ?? BUILTIN_AGENTS)[script];
    if (b !== undefined && Object.hasOwn(this.#opts.builtins ?? BUILTIN_AGENTS, script)) {
      return { display: `${BUILTIN_PREFIX}${script}`, builtin: b };
    }
    return null;
  }

  /** The environment of one call, with OCF_RESKEY_* for the IP agents. */
  #callEnv(r: ResourceSpec, base: Env): Env {
    if (r.script !== "IPaddr" && r.script !== "IPaddr2") return base;
    const ip = parseIpSpec(r.args[0] ?? "");
    if (ip === null) return base;
    const env: Env = { ...base, OCF_RESKEY_ip: ip.ip };
    if (ip.netmask !== undefined) env.OCF_RESKEY_cidr_netmask = ip.netmask;
    if (ip.nic !== undefined) env.OCF_RESKEY_nic = ip.label ?? ip.nic;
    if (ip.broadcast !== undefined) env.OCF_RESKEY_broadcast = ip.broadcast;
    return env;
  }

  async #invoke(
    loc: Located,
    r: ResourceSpec,
    action: ResourceAction,
    env: Env,
    limitMs?: number,
  ): Promise<{ code: number; stdout: string; stderr: string; timedOut: boolean }> {
    const timeoutMs = limitMs ?? this.#opts.timeoutMs ?? 0;
    const callEnv = this.#callEnv(r, env);
    if (loc.path !== undefined) {
      const res = await runScript(loc.path, [...r.args, action], {
        env: callEnv,
        timeoutMs,
        drainMs: this.#opts.drainMs,
      });
      const stderr = res.spawnError !== undefined
        ? `${res.stderr}${loc.path}: ${res.spawnError}\n`
        : res.stderr;
      return { code: res.code, stdout: res.stdout, stderr, timedOut: res.timedOut };
    }
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const call = loc.builtin!(r.args, action, callEnv, {
      logger: this.#opts.logger,
      pid: this.#opts.pid,
      signal: ctl.signal,
    }).then((x) => ({ ...x, stderr: "", timedOut: false })).catch((e) => ({
      code: 1,
      stdout: "",
      stderr: `${loc.display}: ${(e as Error).message}\n`,
      timedOut: false,
    }));
    if (timeoutMs <= 0) return await call;
    const expired = new Promise<
      { code: number; stdout: string; stderr: string; timedOut: boolean }
    >(
      (resolve) => {
        timer = setTimeout(() => {
          ctl.abort();
          resolve({ code: 137, stdout: "", stderr: "", timedOut: true });
        }, timeoutMs);
      },
    );
    try {
      return await Promise.race([call, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  #debugOutput(stdout: string, stderr: string): void {
    if (stdout !== "") this.#opts.logger.debug(stdout);
    if (stderr !== "") this.#opts.logger.debug(stderr);
  }

  #haDebug(env: Env, text: string): void {
    const d = env.HA_debug;
    if (d !== undefined && d !== "" && d !== "0") this.#log("debug", text);
  }

  /** ResourceManager's `doscript`: runs start or stop and logs like it. Returns the code. */
  async #doscript(r: ResourceSpec, action: ResourceAction, env: Env, calls: ScriptCall[]) {
    const loc = this.locate(r.script, env);
    if (loc === null) {
      // scriptpath's message, then doscript's own (with the spec's name before `::`).
      this.#log("error", `Cannot locate resource script ${r.script}`);
      this.#log("error", `Cannot locate resource script ${doscriptName(r.spec)}`);
      calls.push({ resource: r.spec, action, code: 1, timedOut: false });
      return 1;
    }
    const shown = `${loc.display} ${argText(r.spec)} ${action}`;
    this.#log("info", `Running ${shown}`);
    this.#haDebug(env, `Starting ${shown}`);
    const res = await this.#invoke(loc, r, action, env);
    this.#debugOutput(res.stdout, res.stderr);
    this.#haDebug(env, `${shown} done. RC=${res.code}`);
    if (res.timedOut) {
      this.#log(
        "error",
        `Timed out after ${this.#opts.timeoutMs} ms: ${shown} (process group killed)`,
      );
    }
    if (res.code !== 0) this.#log("error", `Return code ${res.code} from ${loc.display}`);
    calls.push({ resource: r.spec, action, code: res.code, timedOut: res.timedOut });
    return res.code;
  }

  /** ResourceManager's `we_own_resource`. */
  async #weOwn(r: ResourceSpec, env: Env, calls: ScriptCall[]): Promise<boolean> {
    const loc = this.locate(r.script, env);
    if (loc === null) {
      this.#log("error", `Cannot locate resource script ${r.script}`);
      calls.push({ resource: r.spec, action: "status", code: 1, timedOut: false });
      return false;
    }
    const res = await this.#invoke(loc, r, "status", env);
    // Only stderr reaches the debug file: stdout is read by the shell's backticks.
    this.#debugOutput("", res.stderr);
    if (res.timedOut) {
      this.#log(
        "error",
        `Timed out after ${this.#opts.timeoutMs} ms: ${loc.display} ${
          argText(r.spec)
        } status (process group killed)`,
      );
    }
    calls.push({ resource: r.spec, action: "status", code: res.code, timedOut: res.timedOut });
    return statusSaysOwned(res.stdout);
  }

  /**
   * `ResourceManager status <resource>`: true when the script's status output says it runs
   * (exit 0), false otherwise (exit 3).
   */
  async status(r: ResourceSpec, env?: Env): Promise<boolean> {
    return await this.#weOwn(r, this.#env(env), []);
  }

  /**
   * hb: one health check (hb.cf `monitor`): the resource's `status` action with its own time
   * limit (past it the process group is killed and the check fails). `ok` by the meaning hb
   * already gives `status` output (running/OK); `detail` says what the check returned.
   * Nothing is logged here: the core logs failures.
   */
  async check(
    r: ResourceSpec,
    timeoutMs: number,
    env?: Env,
  ): Promise<{ ok: boolean; timedOut: boolean; detail: string; elapsedMs: number }> {
    const e = this.#env(env);
    const t0 = performance.now();
    const loc = this.locate(r.script, e);
    if (loc === null) {
      return {
        ok: false,
        timedOut: false,
        detail: `cannot locate resource script ${r.script}`,
        elapsedMs: 0,
      };
    }
    const res = await this.#invoke(loc, r, "status", e, timeoutMs);
    const elapsedMs = Math.round(performance.now() - t0);
    this.#debugOutput("", res.stderr);
    const ok = !res.timedOut && statusSaysOwned(res.stdout);
    const out = res.stdout.trim().split("\n").at(-1)?.trim() ?? "";
    const detail = res.timedOut
      ? `timed out after ${timeoutMs} ms`
      : `exit ${res.code}${out !== "" ? ` (${out.slice(0, 80)})` : ""}`;
    return { ok, timedOut: res.timedOut, detail, elapsedMs };
  }

  /**
   * hb: the restart of a failed resource (hb.cf `monitor … on-fail=restart`): stops the
   * resources from `index` to the end of the group, right to left, then starts them again
   * left to right, logging like givegroup/takegroup do. `ok` when every start succeeded.
   */
  async restartFrom(
    group: ResourceGroup,
    index: number,
    env?: Env,
  ): Promise<{ ok: boolean; detail: string }> {
    const e = this.#env(env);
    const calls: ScriptCall[] = [];
    const part = group.resources.slice(index);
    this.#log(
      "info",
      `Restarting resources of group ${group.key}: ${part.map((r) => r.spec).join(" ")}`,
    );
    for (const r of [...part].reverse()) {
      const rc = await this.#doscript(r, "stop", e, calls);
      if (rc !== 0 && await this.#weOwn(r, e, calls)) {
        return { ok: false, detail: `stop of ${r.spec} failed (exit ${rc}) and it still runs` };
      }
    }
    for (const r of part) {
      const rc = await this.#doscript(r, "start", e, calls);
      if (rc !== 0) return { ok: false, detail: `start of ${r.spec} failed (exit ${rc})` };
    }
    return { ok: true, detail: "started" };
  }

  /** `ResourceManager givegroup <key>`: stops the group's resources right to left. */
  async giveGroup(group: ResourceGroup, env?: Env): Promise<GiveGroupResult> {
    const calls: ScriptCall[] = [];
    return await this.#give(group, this.#env(env), calls);
  }

  async #give(group: ResourceGroup, env: Env, calls: ScriptCall[]): Promise<GiveGroupResult> {
    this.#log("info", `Releasing resource group: ${group.line}`);
    const max = stopRetryMax(env.HA_STOPRETRYMAX);
    const delay = this.#opts.stopRetryDelayMs ?? 1000;
    const notRunning: string[] = [];
    const running: string[] = [];
    for (const r of [...group.resources].reverse()) {
      let retries = 0;
      let rc = await this.#doscript(r, "stop", env, calls);
      while (rc !== 0 && max !== null && (max <= 0 || retries < max)) {
        await new Promise((res) => setTimeout(res, delay));
        retries++;
        this.#log("info", `Retrying failed stop operation [${r.spec}]`);
        rc = await this.#doscript(r, "stop", env, calls);
      }
      if (rc === 0) continue;
      if (await this.#weOwn(r, env, calls)) {
        running.push(r.spec);
        this.#log("crit", "Resource STOP failure. Reboot required!");
      } else {
        notRunning.push(r.spec);
        this.#log("error", `Resource script for ${r.spec} probably not LSB-compliant.`);
        this.#log("warn", `it (${r.spec}) MUST succeed on a stop when already stopped`);
        this.#log("warn", "Machine reboot narrowly avoided!");
      }
    }
    return {
      key: group.key,
      ok: notRunning.length === 0 && running.length === 0,
      stopFailedNotRunning: notRunning,
      stopFailedRunning: running,
      rebootRequired: running.length > 0,
      exitCode: running.length > 0 ? 1 : 0,
      calls,
    };
  }

  /**
   * `ResourceManager takegroup <key>`: starts the group's resources left to right, skipping
   * those already running; on the first failure releases the whole group and reports the
   * `hb_standby` that should follow after {@link STANDBY_DELAY_MS}.
   */
  async takeGroup(group: ResourceGroup, env?: Env): Promise<TakeGroupResult> {
    const e = this.#env(env);
    const calls: ScriptCall[] = [];
    const alreadyRunning: string[] = [];
    this.#log("info", `Acquiring resource group: ${group.line}`);
    for (const r of group.resources) {
      if (await this.#weOwn(r, e, calls)) {
        alreadyRunning.push(r.spec);
        continue;
      }
      if (await this.#doscript(r, "start", e, calls) === 0) continue;
      this.#log("crit", `Giving up resources due to failure of ${r.spec}`);
      const release = await this.#give(group, e, calls);
      return {
        key: group.key,
        ok: false,
        alreadyRunning,
        failedResource: r.spec,
        standby: standbyGroupType([], e.HA_CURHOST ?? "", r.spec),
        standbyDelayMs: STANDBY_DELAY_MS,
        release,
        exitCode: 0,
        calls,
      };
    }
    return { key: group.key, ok: true, alreadyRunning, exitCode: 0, calls };
  }

  /**
   * hb: re-announces the service addresses of a group that runs here (gratuitous ARPs for each
   * `IPaddr`/`IPaddr2` resource that is configured on this host), without touching anything
   * else. Used after a healed split brain by the node that keeps the group. Returns the
   * addresses announced.
   */
  announceGroup(group: ResourceGroup, env?: Env): Promise<string[]> {
    return this.#eachAddress(group, env, reannounceIp);
  }

  /**
   * hb: after this node released `group` to a peer that keeps it without announcing it (a real
   * Heartbeat 3.0.6 node that ran it all along), announces each `IPaddr`/`IPaddr2` address of
   * the group for that node (see {@link announceForHolder}). Returns the addresses announced.
   */
  announceForHolder(group: ResourceGroup, env?: Env): Promise<string[]> {
    return this.#eachAddress(group, env, announceForHolder);
  }

  /** Calls `announce` for each `IPaddr`/`IPaddr2` resource of `group`; the addresses it did. */
  async #eachAddress(
    group: ResourceGroup,
    env: Env | undefined,
    announce: typeof reannounceIp,
  ): Promise<string[]> {
    const e = this.#env(env);
    const done: string[] = [];
    for (const r of group.resources) {
      if (r.script !== "IPaddr" && r.script !== "IPaddr2") continue;
      const ok = await announce(r.script, r.args[0] ?? "", this.#callEnv(r, e), {
        logger: this.#opts.logger,
        pid: this.#opts.pid,
      });
      if (ok) done.push(r.args[0]);
    }
    return done;
  }

  /**
   * `ResourceManager statgroup <key>`: `ALL`, `SOME` or `NONE` of the resources run (an empty
   * group is `NONE`). Like the shell, stops at the first mixed answer and writes the word to
   * the debug log.
   */
  async statGroup(group: ResourceGroup, env?: Env): Promise<GroupStatus> {
    const e = this.#env(env);
    let result: GroupStatus | null = null;
    for (const r of group.resources) {
      const owned = await this.#weOwn(r, e, []);
      if (result === null) result = owned ? "ALL" : "NONE";
      else if ((result === "ALL") !== owned) {
        result = "SOME";
        break;
      }
    }
    const word = result ?? "NONE";
    this.#opts.logger.debug(`${word}\n`);
    return word;
  }

  /**
   * `ResourceManager verifyallidle`: checks the key resource of every group and complains
   * about each one running. ResourceManager's exit status is `active.length`.
   */
  async verifyAllIdle(
    groups: readonly ResourceGroup[],
    env?: Env,
    self = "/usr/share/heartbeat/ResourceManager",
  ): Promise<VerifyIdleResult> {
    const e = this.#env(env);
    const active: string[] = [];
    let stderr = "";
    for (const g of groups) {
      const r = g.resources[0];
      if (r === undefined || !(await this.#weOwn(r, e, []))) continue;
      active.push(g.key);
      this.#log("", `CRITICAL: Resource ${r.spec} is active, and should not be!`);
      this.#log("", "CRITICAL: Non-idle resources can affect data integrity!");
      this.#log("info", "If you don't know what this means, then get help!");
      this.#log("info", `Read the docs and/or source to ${self} for more details.`);
      stderr += `CRITICAL: Resource ${r.spec} is active, and should not be!\n` +
        "CRITICAL: Non-idle resources can affect data integrity!\n" +
        "info: If you don't know what this means, then get help!\n" +
        `info: Read the docs and/or the source to ${self} for more details.\n`;
    }
    if (active.length > 0) {
      this.#log("", "CRITICAL: Non-idle resources will affect resource takeback!");
      this.#log("", "CRITICAL: Non-idle resources may affect data integrity!");
    }
    return { active, stderr };
  }
}
