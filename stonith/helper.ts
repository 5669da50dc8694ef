/**
 * The STONITH helper process (`main.ts __stonith <request JSON>`), Heartbeat's forked
 * `Initiate_Reset()` child: one reset of one node, or one status check of the device.
 *
 * It logs Heartbeat's lines — `Resetting node <node> with [<id>]`, the plugin's `glib: `
 * lines, then `node <node> now reset.` (exit 0), `Device <id> cannot reset host <node>.`
 * (exit 100) or `Host <node> not reset!` (exit 1); for a status check `Checking status of
 * STONITH device [<id>]` and, on failure, `STONITH device <id> not operational!` (exit 1) —
 * by writing one JSON {@link HelperLogRecord} per line on stdout. The master logs them with
 * the helper's pid, so they read exactly as Heartbeat's child lines do, and it keeps the
 * single log configuration (files, syslog, debug level) in one process.
 *
 * @module
 */

import { dieOfSignal } from "../sys/libc.ts";
import { setProcessTitle } from "../sys/proctitle.ts";
import { builtinDevice } from "./builtin.ts";
import { clusterGlueDeviceId, clusterGlueRun } from "./cluster_glue.ts";
import { killTrackedChildren } from "./procs.ts";
import {
  EXIT_BADHOST,
  EXIT_FAILED,
  type HelperLogRecord,
  type HelperRequest,
  S_BADHOST,
  S_OK,
} from "./types.ts";

/** Signal number of SIGTERM (Linux). */
const SIGTERM = 15;

const encoder = new TextEncoder();

/** Writes one record for the master (synchronously, so order is kept). */
function emitToMaster(r: HelperLogRecord): void {
  const bytes = encoder.encode(`${JSON.stringify(r)}\n`);
  let off = 0;
  while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
}

/**
 * Carries out one request, logging through `emit`; resolves with the helper's exit code
 * (0 reset/operational, 100 device cannot reset that host, 1 failure).
 */
export async function runHelperRequest(
  req: HelperRequest,
  emit: (r: HelperLogRecord) => void,
): Promise<number> {
  const reset = req.op === "reset";
  let deviceId: string;
  let act: () => Promise<number>;
  if (req.backend === "builtin") {
    const dev = builtinDevice(req, emit);
    if (dev === null) {
      emit({ prio: "ERROR", text: `Invalid Stonith type [${req.device.type}]` });
      return EXIT_FAILED;
    }
    deviceId = await dev.deviceId();
    act = () => reset ? dev.reset(req.node) : dev.status();
  } else {
    // An external script answers getinfo-devid with its parameters set, as cluster-glue's
    // plugin asks it inside Heartbeat; `stonith -m` would ask an unconfigured device.
    const script = req.device.type.startsWith("external/") ? builtinDevice(req, emit) : null;
    deviceId = (script !== null ? await script.deviceId() : null) ??
      await clusterGlueDeviceId(req.stonithCommand, req.device.type) ?? req.device.type;
    act = () => clusterGlueRun(req.stonithCommand, req.device, reset ? req.node : null, emit);
  }
  emit({
    prio: "info",
    text: reset
      ? `Resetting node ${req.node} with [${deviceId}]`
      : `Checking status of STONITH device [${deviceId}]`,
  });
  const rc = await act();
  if (rc === S_OK) {
    if (reset) emit({ prio: "info", text: `node ${req.node} now reset.` });
    return 0;
  }
  if (rc === S_BADHOST) {
    emit({ prio: "ERROR", text: `Device ${deviceId} cannot reset host ${req.node}.` });
    return EXIT_BADHOST;
  }
  emit({
    prio: "ERROR",
    text: reset ? `Host ${req.node} not reset!` : `STONITH device ${deviceId} not operational!`,
  });
  return EXIT_FAILED;
}

/** Entry of the `__stonith` personality: `__stonith <request JSON>`. */
export async function stonithHelperMain(args: string[]): Promise<number> {
  let req: HelperRequest;
  try {
    req = JSON.parse(args[0] ?? "") as HelperRequest;
    if (req.op !== "reset" && req.op !== "status") throw new Error(`bad op ${req.op}`);
  } catch (e) {
    console.error(`heartbeat: bad STONITH helper request: ${e instanceof Error ? e.message : e}`);
    return 2;
  }
  setProcessTitle("heartbeat: Initiate_Reset()");
  // The master's interrupt handling applies.
  Deno.addSignalListener("SIGINT", () => {});
  // SIGTERM (the master stopping): stop the plugin program too, then die of the signal.
  const onTerm = () => {
    killTrackedChildren("SIGTERM");
    dieOfSignal(SIGTERM);
  };
  Deno.addSignalListener("SIGTERM", onTerm);
  return await runHelperRequest(req, emitToMaster);
}
