/**
 * Driving a device through cluster-glue's `stonith` program (run inside the helper process).
 *
 * Heartbeat loads the plugin into its helper and logs the plugin's messages through glib
 * (`info: glib: Host null-reset: node2`). We run
 * `stonith -d -t <type> {-p "<params>" | -F <file>} -T reset <node>` (or `-S` for the status
 * check) and relay what the plugin logs:
 *
 * - with stdin not a terminal `stonith` logs through cl_log; `-d` turns on its stderr copy
 *   (`Nov 21 23:50:40 host stonith: [31124]: info: Host null-reset: node2`), and
 *   `HA_LOGFACILITY=none` (and no `HA_LOGFILE`/`HA_DEBUGLOG`/`HA_use_logd`) keeps those lines
 *   out of syslog and the log files, where Heartbeat would not have them;
 * - each line becomes a `glib: ` line of the helper; plugin CRIT becomes ERROR (as glib's
 *   critical level does in Heartbeat: `ERROR: glib: SSH STONITH device doesn't control host
 *   [node2]`); the program's own summary lines (`null device OK.`, `… device not
 *   accessible.`) are dropped because the helper logs Heartbeat's own verdict.
 * - exit status = the plugin's return code (`S_OK` 0, `S_BADHOST` 4, …; configuration errors
 *   give 1 or 8).
 *
 * The device id (`NULL STONITH device`) is the first `shortdesc` of `stonith -t <type> -m`.
 *
 * @module
 */

import { trackChild } from "./procs.ts";
import type { HelperLogRecord, Priority, StonithDeviceSpec } from "./types.ts";

const LINE_RE =
  / stonith: \[\d+\]: (EMERG|ALERT|CRIT|ERROR|ERR|WARN|WARNING|notice|info|debug): ?(.*)$/;

const PRIO_MAP: Readonly<Record<string, Priority>> = {
  EMERG: "EMERG",
  ALERT: "ERROR",
  CRIT: "ERROR",
  ERROR: "ERROR",
  ERR: "ERROR",
  WARN: "WARN",
  WARNING: "WARN",
  notice: "notice",
  info: "info",
  debug: "debug",
};

/**
 * Turns one stderr line of `stonith -d` into a log record (null: drop it). Lines that are not
 * in cl_log's format (e.g. an external script's own stderr) are relayed at info.
 */
export function parseClusterGlueLine(line: string): HelperLogRecord | null {
  const trimmed = line.replace(/\r$/, "");
  if (trimmed.trim() === "") return null;
  const m = LINE_RE.exec(trimmed);
  if (!m) return { prio: "info", text: trimmed, glib: true };
  const text = m[2];
  if (/ device (OK|not accessible)\.$/.test(text)) return null;
  return { prio: PRIO_MAP[m[1]] ?? "info", text, glib: true };
}

/** Environment for `stonith`: no syslog, no log files, no logd. */
function stonithEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.HA_LOGFILE;
  delete env.HA_DEBUGLOG;
  delete env.HA_use_logd;
  delete env.HA_LOGD;
  env.HA_LOGFACILITY = "none";
  return env;
}

/** The device id (`ST_DEVICEID`) of a cluster-glue type, or null if it cannot be read. */
export async function clusterGlueDeviceId(
  stonithCommand: string,
  type: string,
): Promise<string | null> {
  try {
    const out = await new Deno.Command(stonithCommand, {
      args: ["-t", type, "-m"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      env: stonithEnv(),
      clearEnv: true,
    }).output();
    const xml = new TextDecoder().decode(out.stdout);
    const m = /<shortdesc[^>]*>([^<]*)<\/shortdesc>/.exec(xml);
    const id = m?.[1].trim();
    return id ? id : null;
  } catch {
    return null;
  }
}

/** The `stonith` arguments that configure the device. */
export function deviceArgs(device: StonithDeviceSpec): string[] {
  if (device.configFile !== undefined) return ["-t", device.type, "-F", device.configFile];
  return ["-t", device.type, "-p", device.params.join(" ")];
}

/**
 * Runs `stonith` for a reset of `node` (or a status check when `node` is null), relaying its
 * messages through `emit`; resolves with the plugin's return code (-1 if it could not run or
 * was killed).
 */
export async function clusterGlueRun(
  stonithCommand: string,
  device: StonithDeviceSpec,
  node: string | null,
  emit: (r: HelperLogRecord) => void,
): Promise<number> {
  const args = ["-d", ...deviceArgs(device), ...(node === null ? ["-S"] : ["-T", "reset", node])];
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(stonithCommand, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: stonithEnv(),
      clearEnv: true,
    }).spawn();
  } catch (e) {
    emit({
      prio: "ERROR",
      text: `Cannot run ${stonithCommand}: ${e instanceof Error ? e.message : e}`,
      glib: true,
    });
    return -1;
  }
  trackChild(child);
  const relay = async (stream: ReadableStream<Uint8Array>) => {
    let buf = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const r = parseClusterGlueLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (r) emit(r);
      }
    }
    const r = parseClusterGlueLine(buf);
    if (r) emit(r);
  };
  const [status] = await Promise.all([child.status, relay(child.stderr), relay(child.stdout)]);
  if (status.signal !== null) return -1;
  return status.code;
}
