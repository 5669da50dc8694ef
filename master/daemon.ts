/**
 * Running the master control process: identity files, pid file, logging,
 * signals, the runtime, and the shutdown lines — the part of Heartbeat's
 * start-up that happens after validation (config-and-cli.md §5.2, §6.6.1,
 * §6.6.11, §7.1, §7.6), and the reload and quick restart (§5.4, §6.6.12, §7.7; the
 * decision is in master/reload.ts): on a quick restart the master stops its children
 * without releasing resources and re-executes itself (`execv`, same pid) as
 * `heartbeat -R [-C <held>] <flags>`. Heartbeat's test hook `OnlyForTesting` is read at start
 * and on every reload that does not restart (master/reload.ts `readTestOpts`).
 *
 * @module
 */

import {
  configureLogging,
  getDebugLevel,
  reopenLogs,
  setDebugLevel,
  setStderr,
} from "../logging/mod.ts";
import { logLine as hbLog } from "./log_bridge.ts";
import type { Priority } from "../core/types.ts";
import { setProcessTitle } from "../sys/proctitle.ts";
import { setsid } from "../sys/libc.ts";
import { trimHeap } from "../sys/memory.ts";
import type { NodePaths } from "../config/paths.ts";
import { MasterRuntime } from "./runtime.ts";
import { productionParts } from "./runtime_parts.ts";
import { WaitLoop } from "./wait_loop.ts";
import {
  ensureFifo,
  loadOrCreateUuid,
  nextGeneration,
  StateFileError,
  writePidFile,
} from "./state_files.ts";
import { HEARTBEAT_VERSION, type StartConfig, toRuntimePlan } from "./plan.ts";
import type { Diagnostic } from "../config/diagnostics.ts";
import { closeOnExecFrom3, execv, resetSignals } from "../sys/exec.ts";
import { selfCommand } from "../sys/self_exec.ts";
import {
  decideReload,
  readTestOpts,
  RESTART_HOLDING_ENV,
  restartArgs,
  START_REFUSAL_LINE,
} from "./reload.ts";
import { createRealSystemView } from "../config/system_view.ts";
import { isNullPath } from "../logging/log_file.ts";
import { RESTART_SLACK_MS, SystemdNotify } from "./systemd.ts";
import { MasterMetrics, serveMetrics } from "./metrics.ts";
import { HB_VERSION } from "./version.ts";
import { toRmGroups } from "./group_runner.ts";
import { HB_CF, type HbSettings, placeMonitors, readHbCf } from "../config/hb_cf.ts";
import type { ResourceGroup as HaresourcesGroup } from "../config/haresources.ts";
import type { MonitorConfig } from "../core/monitor.ts";

/** Options of {@link runDaemon}. */
export interface DaemonOptions {
  /** Node paths. */
  paths: NodePaths;
  /** Started with -f (keeps stderr until start-up is over). */
  foreground: boolean;
  /** Debug level from the command line. */
  debug: number;
  /** haresources management (false with `-M`; default true). */
  manageResources?: boolean;
  /**
   * Set when this image is a quick restart (`-R [-C <held>]`): what the previous image
   * held. The ownership layer starts as holding it and nothing is acquired again.
   */
  restart?: { held?: string; holding?: readonly string[] };
  /** Flags passed on to the image of a quick restart (see master/reload.ts `restartFlags`). */
  flags?: string[];
  /** hb's own settings (config/hb_cf.ts; default: read from the configuration directory). */
  settings?: HbSettings;
}

/** Tells the invoking parent (see cli/heartbeat.ts) that the daemon runs. */
function reportReady(): void {
  if (Deno.env.get("HB_DAEMON_CHILD") !== "1") return;
  try {
    Deno.stdout.writeSync(new TextEncoder().encode("READY\n"));
  } catch {
    // parent gone: nothing to tell
  }
}

/** Runs the master until it stops; returns the exit code. */
export async function runDaemon(cfg: StartConfig, opts: DaemonOptions): Promise<number> {
  const { paths } = opts;
  // The master waits on its own thread (master/wait_loop.ts): made before anything opens an
  // epoll set of its own (the API server), and every timer of the process is one of its own.
  const loop = new WaitLoop({ block: true });
  loop.installGlobalTimers();
  loop.start();
  // Heartbeat's -R image logs to its log targets only
  configureLogging({
    ...cfg.logging,
    entity: "heartbeat",
    stderr: opts.foreground && !opts.restart,
  });
  setDebugLevel(cfg.logging.debugLevel ?? opts.debug);
  if (!opts.foreground) setsid();
  setProcessTitle("heartbeat: master control process");
  // observers of every log line (metrics: process restarts)
  const logTaps: ((prio: Priority, text: string) => void)[] = [];
  const log = (prio: Priority, text: string, o?: { pid?: number; glib?: boolean }) => {
    for (const tap of logTaps) tap(prio, text);
    hbLog(prio, text, o);
  };
  changeLogfileOwnership(cfg.logging, log);

  try {
    writePidFile(paths.pidFile);
  } catch (e) {
    log("ERROR", `heartbeat: could not create pidfile [${paths.pidFile}]: ${e}`);
    return 4;
  }
  // Heartbeat's ParseTestOpts comes between make_daemon (the pid file) and the version line
  const testOpts = readTestOpts(paths.confDir, false);
  for (const l of testOpts.log) log(l.prio, l.text);
  let testEnabled = testOpts.options !== undefined;
  log("info", `heartbeat: version ${HEARTBEAT_VERSION}`);
  const settings = opts.settings ?? hbSettings(paths.confDir, log);
  let uuid: Uint8Array;
  let generation: number;
  try {
    Deno.mkdirSync(paths.stateDir, { recursive: true });
    // Heartbeat's order: generation, then uuid, then the FIFO.
    const g = nextGeneration(paths.generationFile, Date.now() / 1000);
    for (const n of g.notes) log(n.prio, n.text);
    generation = g.generation;
    log("info", `Heartbeat generation: ${generation}`);
    const u = loadOrCreateUuid(paths.uuidFile);
    for (const n of u.notes) log(n.prio, n.text);
    uuid = u.uuid;
    for (const n of ensureFifo(paths.fifo)) log(n.prio, n.text);
    Deno.mkdirSync(paths.apiDir, { recursive: true });
    try {
      Deno.removeSync(paths.rscTmp, { recursive: true });
    } catch (e) {
      // not there is the usual case; anything else leaves stale resource state: say so
      if (!(e instanceof Deno.errors.NotFound)) log("WARN", `cannot remove ${paths.rscTmp}: ${e}`);
    }
    // root:root 1755 as the real daemon leaves it (api.md; config-and-cli.md says 1777, the
    // binary wins)
    Deno.mkdirSync(paths.rscTmp, { recursive: true, mode: 0o1755 });
    Deno.chmodSync(paths.rscTmp, 0o1755);
  } catch (e) {
    // An unreadable uuid or generation file is never replaced: that would change the node's
    // identity or reuse a generation. Refuse, naming the file and the OS error.
    if (e instanceof StateFileError) log("ERROR", e.message);
    else log("ERROR", `cannot prepare state files: ${e instanceof Error ? e.message : e}`);
    log("ERROR", "Heartbeat not started: state file error.");
    return 1;
  }

  const plan = toRuntimePlan(cfg, {
    uuid,
    generation,
    fifo: paths.fifo,
    apiSocket: paths.apiSocket,
    confDir: paths.confDir,
    ...(opts.restart ? { restart: opts.restart } : {}),
  });
  plan.notify = settings.notify;
  if (plan.resources) {
    plan.resources.monitors = monitorConfigs(
      settings,
      cfg.loaded?.haresources?.groups ?? [],
      plan.core.nodeName,
      `${paths.confDir}/${HB_CF}`,
      log,
    );
  }
  const runtime = new MasterRuntime(plan, log, {
    parts: (p, host) => productionParts(p, host, loop),
  });
  if (testOpts.options) runtime.setTestLoss(testOpts.options);
  // systemd (Type=notify): READY, RELOADING, STOPPING, STATUS, WATCHDOG (master/systemd.ts)
  const systemd = new SystemdNotify({
    keepaliveMs: cfg.core.keepaliveMs,
    nodeName: cfg.core.nodeName,
    links: cfg.core.links,
    log,
  });
  if (systemd.enabled) runtime.observe(systemd);
  // Prometheus metrics (hb.cf metrics_listen; master/metrics.ts)
  const metrics = settings.metricsListen === undefined ? undefined : new MasterMetrics({
    nodeName: cfg.core.nodeName,
    links: cfg.core.links,
    groups: toRmGroups(cfg.loaded?.haresources?.groups ?? []).map((g) => g.key),
    version: HB_VERSION,
    heartbeatVersion: HEARTBEAT_VERSION,
  });
  if (metrics !== undefined) {
    metrics.attach(runtime);
    runtime.observe(metrics);
    logTaps.push((prio, text) => metrics.logLine(prio, text));
  }

  // reload state: what the running configuration was read from
  const mtimes = { ...cfg.mtimes };
  let started = false;
  let hupPending = false;
  let stopping = false;
  // set by a reload that decided on a quick restart (held: undefined with -M)
  const restart: { requested: boolean; held?: { held: string; holding: string[] } } = {
    requested: false,
  };

  const reload = () => {
    if (stopping) return;
    if (!started) {
      hupPending = true;
      return;
    }
    systemd.reloading();
    const d = decideReload({
      confDir: paths.confDir,
      mtimes,
      manageResources: opts.manageResources ?? true,
      debug: opts.debug,
    });
    // Heartbeat SIGHUPs its core children once when authkeys or OnlyForTesting was reread
    let signalChildren = false;
    switch (d.kind) {
      case "unchanged":
        log("info", "Configuration unchanged.");
        break;
      case "invalid":
        // hb: validated before the restart; Heartbeat's new image would log this and exit
        logDiagnostics(d.diagnostics, log);
        log("info", "Config errors: Heartbeat NOT restarted");
        log(
          "WARN",
          `Keeping the running configuration (pid ${Deno.pid}): fix ${paths.confDir}/ha.cf and reload again.`,
        );
        systemd.reloaded();
        // Heartbeat's handler returns (restarts) before reading OnlyForTesting
        return;
      case "authkeys":
        log("info", "Rereading authentication file.");
        runtime.setKeys(d.keys);
        mtimes.authkeys = d.mtime;
        signalChildren = true;
        break;
      case "authkeys-invalid":
        log("info", "Rereading authentication file.");
        logDiagnostics(d.diagnostics, log);
        log("ERROR", "Authentication reparsing error, keeping the current keys.");
        break;
      case "restart":
        // children stop (1 s), exec, the new image starts: no systemd ping meanwhile
        systemd.restarting(RESTART_SLACK_MS);
        stopping = true;
        restart.requested = true;
        restart.held = runtime.heldState();
        void runtime.stopForRestart();
        return; // the new image reads OnlyForTesting
    }
    // ParseTestOpts: the file is read again on every reload that does not restart
    const t = readTestOpts(paths.confDir, testEnabled);
    for (const l of t.log) log(l.prio, l.text);
    testEnabled = t.options !== undefined;
    runtime.setTestLoss(t.options);
    if (t.changed) signalChildren = true;
    // Heartbeat's children log `Child rereading authentication file.` and their own
    // ParseTestOpts lines; ours get the notice in band on their channel (workers/mod.ts)
    if (signalChildren) runtime.workers.notifyAll({ t: "reread-keys", lines: t.childLines });
    systemd.reloaded();
  };

  // hb: SIGTERM during a shutdown-and-restart cancels the re-exec (Heartbeat ignores SIGTERM
  // then and restarts anyway, so `heartbeat -k` could not stop it)
  let termRequested = false;
  let cancelRestartWait: (() => void) | undefined;
  const shutdown = () => {
    if (!stopping) systemd.stopping();
    stopping = true; // no reload any more (a restart under way goes on: Heartbeat ignores it too)
    termRequested = true;
    cancelRestartWait?.();
    runtime.requestShutdown();
  };
  Deno.addSignalListener("SIGTERM", shutdown);
  Deno.addSignalListener("SIGINT", () => {}); // Heartbeat blocks SIGINT
  Deno.addSignalListener("SIGHUP", () => {
    reopenLogs();
    reload();
  });
  const changeDebug = (delta: number) => {
    const before = getDebugLevel();
    setDebugLevel(before + delta);
    const now = getDebugLevel();
    log("debug", `debug now set to ${now} [pid ${Deno.pid}]`);
    if (before === 0 && now === 1) log("info", `heartbeat: version ${HEARTBEAT_VERSION}`);
  };
  Deno.addSignalListener("SIGUSR1", () => changeDebug(1));
  Deno.addSignalListener("SIGUSR2", () => changeDebug(-1));

  // A broken invariant anywhere in the master (an exception nobody caught, a rejected promise
  // nobody awaited) is not swallowed and does not kill the process with the resources still
  // running: it takes the fail-safe path (MasterRuntime.failSafe).
  globalThis.addEventListener("error", (ev) => {
    ev.preventDefault();
    runtime.failSafe("uncaught exception in the master", ev.error ?? ev.message);
  });
  globalThis.addEventListener("unhandledrejection", (ev) => {
    ev.preventDefault();
    runtime.failSafe("unhandled promise rejection in the master", ev.reason);
  });

  const ok = await runtime.start();
  if (!ok) {
    log("CRIT", "Emergency Shutdown: Master Control process died.");
    await runtime.shutdown();
    return 1;
  }
  if (!opts.restart) reportReady();
  systemd.ready(runtime);
  const metricsServer = metrics === undefined
    ? undefined
    : serveMetrics({ listen: settings.metricsListen!, metrics, log });
  setStderr(false);
  started = true;
  // start-up's garbage (module loading, config parsing) goes back to the kernel (sys/memory.ts)
  trimHeap("started", (t) => log("debug", t));
  if (hupPending) reload();
  const code = await runtime.done;
  await metricsServer?.shutdown();
  if (runtime.failed) {
    // the fail-safe path (MasterRuntime.failSafe): resources released, workers stopped
    log("CRIT", `Emergency Shutdown: ${cfg.core.nodeName} heartbeat exits with status ${code}.`);
    return code;
  }
  log("info", `${cfg.core.nodeName} Heartbeat shutdown complete.`);
  if (runtime.restartAfterShutdown) {
    // the shutdown-and-restart procedure (behavior.md §4.3): everything was released; a fresh
    // start follows: no -R, a new generation, the full start-up negotiation
    log("info", "Heartbeat restart triggered.");
    log("info", "Restarting heartbeat.");
    log("info", "Performing heartbeat restart exec.");
    // Heartbeat sleeps (deadtime rounded up to seconds) + 1 s before its exec
    const waitMs = (Math.ceil(cfg.core.deadtimeMs / 1000) + 1) * 1000;
    systemd.restarting(waitMs + RESTART_SLACK_MS);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      cancelRestartWait = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    if (termRequested) {
      log("info", "Heartbeat restart cancelled: shutdown requested.");
      return code;
    }
    Deno.env.delete(RESTART_HOLDING_ENV);
    // hb: the daemon flags (-d, -M, -f, -l) are kept; Heartbeat execs a bare `heartbeat`
    return reexec(selfCommand(["heartbeat", ...(opts.flags ?? [])]), log);
  }
  if (!restart.requested) return code;
  log("info", "Heartbeat restart triggered.");
  log("info", "Restarting heartbeat.");
  log("info", "Performing heartbeat restart exec.");
  const nice = (cfg.loaded?.ha.autoFailback ?? "legacy") !== "legacy";
  const passed = restartArgs(restart.held, nice);
  const argv = selfCommand(["heartbeat", "-R", ...passed.args, ...(opts.flags ?? [])]);
  if (passed.holdingEnv !== undefined) Deno.env.set(RESTART_HOLDING_ENV, passed.holdingEnv);
  else Deno.env.delete(RESTART_HOLDING_ENV);
  return reexec(argv, log);
}

/** Replaces this process by `argv` (same pid); returns 1 only when the exec failed. */
function reexec(argv: string[], log: (prio: Priority, text: string) => void): number {
  // the new image starts with clean signal dispositions and only stdin, stdout and stderr
  resetSignals();
  closeOnExecFrom3();
  const err = execv(argv[0], argv);
  log("ERROR", `Could not exec ${argv[0]}: ${err.text}`);
  log("ERROR", "Shutting down...");
  return 1;
}

/** Logs configuration diagnostics (not the console-only ones) as a reload does. */
function logDiagnostics(
  diagnostics: Diagnostic[],
  log: (prio: Priority, text: string) => void,
): void {
  for (const d of diagnostics) {
    if (d.stderrOnly) continue;
    for (const t of d.text) if (t !== START_REFUSAL_LINE) log(d.level, t);
  }
}

/**
 * Heartbeat gives its log files to `hacluster` (and that user's group) at start, so that API
 * clients running as `hacluster` (ipfail) can append to them.
 */
function changeLogfileOwnership(
  logging: { logfile?: string; debugfile?: string },
  log: (prio: Priority, text: string) => void,
): void {
  if (Deno.uid() !== 0) return; // Heartbeat always runs as root; a private test run cannot chown
  const user = createRealSystemView().userByName("hacluster");
  if (user === undefined) {
    log("ERROR", "change_logfile_ownership: entry for user hacluster not found");
    return;
  }
  for (const [what, path] of [["logfile", logging.logfile], ["dbgfile", logging.debugfile]]) {
    if (path === undefined || path === "" || isNullPath(path)) continue;
    try {
      Deno.chownSync(path, user.uid, user.gid);
    } catch (e) {
      const text = e instanceof Error ? e.message.replace(/ \(os error \d+\).*$/s, "") : e;
      log("WARN", `change_logfile_ownership: failed to chown ${what}: ${text}`);
    }
  }
}

/**
 * hb.cf read by a restarted image (its start was checked by the command line): an error
 * there is logged and the extras it names stay off.
 */
function hbSettings(confDir: string, log: (prio: Priority, text: string) => void): HbSettings {
  const r = readHbCf(confDir);
  for (const e of r.errors) log("ERROR", `${e.explain} (ignored: hb.cf extras off)`);
  return r.errors.length > 0 ? { monitors: [], notify: [] } : r.settings;
}

/** hb.cf `monitor` lines placed in their groups (a line naming no resource is logged, skipped). */
function monitorConfigs(
  settings: HbSettings,
  groups: readonly HaresourcesGroup[],
  self: string,
  file: string,
  log: (prio: Priority, text: string) => void,
): MonitorConfig[] {
  const r = placeMonitors(settings.monitors, groups, file);
  for (const e of r.unmatched) log("WARN", e.explain);
  return r.placed.map((p) => ({
    resource: p.setting.resource,
    key: p.key,
    index: p.index,
    groupSize: p.groupSize,
    cls: p.node === self ? "local" : "foreign",
    intervalMs: p.setting.intervalMs,
    timeoutMs: p.setting.timeoutMs,
    fall: p.setting.fall,
    rise: p.setting.rise,
    startDelayMs: p.setting.startDelayMs,
    onFail: p.setting.onFail,
    maxRestarts: p.setting.maxRestarts,
    restartWindowMs: p.setting.restartWindowMs,
  }));
}
