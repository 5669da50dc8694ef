/**
 * The `heartbeat` personality: Heartbeat 3.0.6's daemon command line
 * (`heartbeat [-dDkMrRsvWlVf] [-C state]`) with the same options, messages
 * and exit codes (config-and-cli.md §5.1-§5.3).
 *
 * @module
 */

import { getopt } from "./args.ts";
import { nodePaths } from "../config/paths.ts";
import { processAlive, readPidFile, runningPid } from "../master/state_files.ts";
import { formatDefaults, formatVerbose, HEARTBEAT_VERSION_LINE } from "../master/plan.ts";
import { emitDiagnostics, loadForStart } from "../master/plan.ts";
import { HB_CF, readHbCf } from "../config/hb_cf.ts";
import { runDaemon } from "../master/daemon.ts";
import { selfCommand } from "../sys/self_exec.ts";
import { configureLogging } from "../logging/mod.ts";
import { logLine as hbLog } from "../master/log_bridge.ts";
import {
  isStartBanner,
  isStartRefusal,
  restartFlags,
  takeRestartHolding,
} from "../master/reload.ts";

const OPTSTRING = "dDkMrRsvWlC:Vf";

const USAGE = [
  "Usage: heartbeat [-dDkMrRsvWlVf] [-C Current-resource-state]",
  "\t-C only valid with -R",
  "\t-r is mutually exclusive with -R",
].join("\n");

const HELP = `heartbeat (hb) — Linux-HA Heartbeat 3.0.6 compatible cluster daemon

Usage: heartbeat [-dDkMrRsvWlVf] [-C Current-resource-state]
       heartbeat check [DIR]      validate a configuration directory and exit
       heartbeat demo             run a local two-node demo cluster
       heartbeat status [--json | --nagios | --watch [S]]   the running daemon's state
                                  (exit codes: heartbeat status --help)
       heartbeat resource failures|cleanup [RESOURCE]
                                  monitor failures of the running daemon (hb.cf)

  -d   raise the debug level (repeatable)   -k   stop the running daemon
  -D   print the default directives          -r   reload the configuration
  -W   with -D: wiki markup                  -s   report whether the daemon runs
  -M   no haresources resource management    -v   print the configuration
  -l   accepted, no effect (as Heartbeat)    -V   print the version
  -f   stay in the foreground                -R, -C state   internal (restart)

Environment: HB_CONFDIR (default /etc/ha.d), HB_STATEDIR (/var/lib/heartbeat),
HB_RUNDIR (/run).`;

/** Entry of the `heartbeat` personality; returns the exit code. */
export async function heartbeatMain(args: string[]): Promise<number> {
  if (args.includes("--help")) {
    console.log(HELP);
    return 0;
  }
  const opt = getopt("heartbeat", args, OPTSTRING);
  if (opt.error) {
    console.error(opt.error);
    console.error("");
    console.error(USAGE);
    return 2;
  }
  const has = (c: string) => (opt.counts[c] ?? 0) > 0;
  if (opt.values.C !== undefined && !has("R")) {
    console.error(USAGE);
    return 2;
  }
  if (has("V")) {
    console.log(HEARTBEAT_VERSION_LINE);
    return 0;
  }
  if (has("D")) {
    console.log(formatDefaults(has("W")));
    return 0;
  }
  const paths = nodePaths();
  configureLogging({ entity: "heartbeat", stderr: true });
  if (has("k")) return await stopDaemon(paths.pidFile);
  if (has("s")) return statusDaemon(paths.pidFile);

  const debug = opt.counts.d ?? 0;
  const manageResources = !has("M");
  const daemonChild = Deno.env.get("HB_DAEMON_CHILD") === "1";
  // -R: the image a quick restart execs (master/daemon.ts), same pid as before
  const restarting = has("R");

  const loaded = loadForStart({ confDir: paths.confDir, manageResources, debug });
  // Start-up messages go to stderr and to the log targets ha.cf names, as Heartbeat's do
  // (its -R image logs to the targets only).
  configureLogging({ ...loaded.logging, entity: "heartbeat", stderr: !daemonChild && !restarting });
  const running = runningPid(paths.pidFile);
  // `heartbeat -r` of a running daemon: checked as Heartbeat's init_config checks it then
  const reloading = has("r") && !restarting && running !== undefined;
  if (!loaded.ok) {
    // A reload of a running daemon (`-r`) or a restarted image (`-R`) refuses without
    // Heartbeat's start-up refusal line, then says what it did not restart.
    if (restarting) {
      emitDiagnostics(loaded, { skip: isStartRefusal });
      hbLog("info", "Config errors: Heartbeat NOT restarted");
      return 1;
    }
    if (reloading) {
      emitDiagnostics(loaded, { skip: isStartRefusal });
      hbLog("info", `Config errors: Heartbeat pid ${running} NOT restarted`);
      return 1;
    }
    // the diagnostics end with Heartbeat's refusal line
    if (!daemonChild) emitDiagnostics(loaded);
    return 6;
  }
  // hb's own settings (hb.cf, never read by Heartbeat 3.0.6), read for a start: an error there
  // refuses it, after Heartbeat's diagnostics but before its start banner
  const starting = !reloading && !restarting && running === undefined;
  const hbCf = starting ? readHbCf(paths.confDir) : undefined;
  if (hbCf !== undefined && hbCf.errors.length > 0) {
    if (!daemonChild) {
      emitDiagnostics(loaded, { skip: isStartBanner });
      for (const e of hbCf.errors) hbLog("ERROR", e.explain);
      hbLog("ERROR", `${paths.confDir}/${HB_CF}: ${hbCf.errors.length} error(s): hb NOT started`);
    }
    return 6;
  }
  // The re-invoked daemon child validated nothing new: its parent already logged everything.
  // A restarted image logs its start-up lines again, as Heartbeat's does; `-r` has no banner.
  if (reloading) emitDiagnostics(loaded, { skip: isStartBanner });
  else if (!daemonChild || restarting) emitDiagnostics(loaded);
  if (has("v") && !daemonChild && !restarting) console.log(formatVerbose(loaded));

  if (restarting) {
    // runningPid() leaves our own pid out: the restarted image must find exactly itself
    const filePid = readPidFile(paths.pidFile);
    if (filePid === undefined || !processAlive(filePid)) {
      hbLog("ERROR", "heartbeat is not running.");
      return 6;
    }
    if (filePid !== Deno.pid) {
      hbLog("ERROR", `Heartbeat already running [pid ${filePid}].`);
      return 1;
    }
    const holding = takeRestartHolding();
    return await runDaemon(loaded, {
      paths,
      foreground: has("f"),
      debug,
      manageResources,
      restart: {
        ...(opt.values.C !== undefined ? { held: opt.values.C } : {}),
        ...(holding !== undefined ? { holding } : {}),
      },
      flags: restartFlags(opt.counts),
    });
  }
  if (has("r") && running !== undefined) {
    hbLog("info", `Signalling heartbeat pid ${running} to reread config files`);
    try {
      Deno.kill(running, "SIGHUP");
    } catch (e) {
      hbLog("ERROR", `Could not kill pid ${running}: ${e}`);
      return e instanceof Deno.errors.PermissionDenied ? 4 : 1;
    }
    return 0;
  }
  if (running !== undefined) {
    hbLog("info", `heartbeat: already running [pid ${running}].`);
    return 0;
  }
  if (has("f") || daemonChild) {
    return await runDaemon(loaded, {
      ...(hbCf !== undefined ? { settings: hbCf.settings } : {}),
      paths,
      foreground: !daemonChild,
      debug,
      manageResources,
      flags: restartFlags(opt.counts),
    });
  }
  return await spawnDaemon(args);
}

/**
 * Starts the daemon in the background: re-invokes ourselves as the daemon
 * child (it detaches with setsid) and returns once it reports it is running,
 * as Heartbeat's parent returns after fork.
 */
async function spawnDaemon(args: string[]): Promise<number> {
  const [cmd, ...rest] = selfCommand(["heartbeat", ...args]);
  const child = new Deno.Command(cmd, {
    args: rest,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    env: { HB_DAEMON_CHILD: "1" },
  }).spawn();
  const reader = child.stdout.getReader();
  const dec = new TextDecoder();
  let text = "";
  const deadline = setTimeout(() => reader.cancel(), 30_000);
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
  } catch {
    // cancelled by the deadline
  } finally {
    clearTimeout(deadline);
    reader.releaseLock();
  }
  child.unref();
  if (text.startsWith("READY")) return 0;
  const status = await Promise.race([
    child.status,
    new Promise<null>((r) => setTimeout(() => r(null), 100)),
  ]);
  hbLog(
    "ERROR",
    `heartbeat daemon did not start${status ? ` (exit code ${status.code})` : ""}; see the log`,
  );
  return 1;
}

/** `heartbeat -k`: SIGTERM to the master, wait until it is gone. */
async function stopDaemon(pidFile: string): Promise<number> {
  const pid = runningPid(pidFile);
  if (pid === undefined) {
    console.error("INFO: Heartbeat already stopped.");
    return 0;
  }
  try {
    Deno.kill(pid, "SIGTERM");
  } catch (e) {
    console.error(`ERROR: Could not kill pid ${pid}: ${e instanceof Error ? e.message : e}`);
    return e instanceof Deno.errors.PermissionDenied ? 4 : 1;
  }
  while (processAlive(pid)) await new Promise((r) => setTimeout(r, 100));
  return 0;
}

/** `heartbeat -s`. */
function statusDaemon(pidFile: string): number {
  const pid = readPidFile(pidFile);
  if (pid !== undefined && processAlive(pid)) {
    const host = Deno.hostname();
    console.log(
      `heartbeat OK [pid ${pid} et al] is running on ${host.toLowerCase()} [${host.toLowerCase()}]...`,
    );
    return 0;
  }
  console.log("heartbeat is stopped. No process");
  return pid === undefined ? 3 : 1;
}
