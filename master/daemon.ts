/**
 * Running the master control process: identity files, pid file, logging,
 * signals, the runtime, and the shutdown lines — the part of Heartbeat's
 * start-up that happens after validation (config-and-cli.md §5.2, §6.6.1,
 * §6.6.11, §7.1, §7.6).
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
import type { NodePaths } from "./paths.ts";
import { MasterRuntime } from "./runtime.ts";
import { ensureFifo, loadOrCreateUuid, nextGeneration, writePidFile } from "./state_files.ts";
import { HEARTBEAT_VERSION, type StartConfig, toRuntimePlan } from "./plan.ts";

/** Options of {@link runDaemon}. */
export interface DaemonOptions {
  /** Node paths. */
  paths: NodePaths;
  /** Started with -f (keeps stderr until start-up is over). */
  foreground: boolean;
  /** Debug level from the command line. */
  debug: number;
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
  configureLogging({ ...cfg.logging, entity: "heartbeat", stderr: opts.foreground });
  setDebugLevel(cfg.logging.debugLevel ?? opts.debug);
  if (!opts.foreground) setsid();
  setProcessTitle("heartbeat: master control process");
  const log = (prio: Priority, text: string, o?: { pid?: number; glib?: boolean }) =>
    hbLog(prio, text, o);

  try {
    writePidFile(paths.pidFile);
  } catch (e) {
    log("ERROR", `heartbeat: could not create pidfile [${paths.pidFile}]: ${e}`);
    return 4;
  }
  log("info", `heartbeat: version ${HEARTBEAT_VERSION}`);
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
    } catch {
      // not there
    }
    Deno.mkdirSync(paths.rscTmp, { recursive: true, mode: 0o1777 });
    Deno.chmodSync(paths.rscTmp, 0o1777);
  } catch (e) {
    log("ERROR", `cannot prepare state files: ${e instanceof Error ? e.message : e}`);
    return 1;
  }

  const runtime = new MasterRuntime(
    toRuntimePlan(cfg, {
      uuid,
      generation,
      fifo: paths.fifo,
      apiSocket: paths.apiSocket,
      confDir: paths.confDir,
    }),
    log,
  );

  const shutdown = () => runtime.requestShutdown();
  Deno.addSignalListener("SIGTERM", shutdown);
  Deno.addSignalListener("SIGINT", () => {}); // Heartbeat blocks SIGINT
  Deno.addSignalListener("SIGHUP", () => {
    reopenLogs();
    log("info", "Configuration unchanged.");
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

  const ok = await runtime.start();
  if (!ok) {
    log("CRIT", "Emergency Shutdown: Master Control process died.");
    await runtime.shutdown();
    return 1;
  }
  reportReady();
  setStderr(false);
  const code = await runtime.done;
  log("info", `${cfg.core.nodeName} Heartbeat shutdown complete.`);
  return code;
}
