/**
 * Shared vocabulary of the STONITH layer (config-and-cli.md §7.10, §6.6.16): the
 * outcome words of Heartbeat's `t=stonith` message, log callbacks, the request a
 * master hands to its reset/status helper process, and the plugin return codes.
 *
 * @module
 */

import type { Priority } from "../core/types.ts";

export type { Priority };

/**
 * Logging as the master does it (structurally the same as the runtime's log function):
 * `pid` logs the line as another process (a helper), `glib` adds the `glib: ` prefix
 * that Heartbeat puts in front of plugin messages.
 */
export type StonithLog = (
  prio: Priority,
  text: string,
  opts?: { pid?: number; glib?: boolean },
) => void;

/**
 * The `result` field of Heartbeat's `t=stonith node=<node> result=<r>` message:
 * `n_stnth` (no device configured), `unneeded` (the dead node held nothing), `OK`
 * (reset), `badhost` (the device does not control that host), `bad` (reset failed).
 */
export type StonithResult = "n_stnth" | "unneeded" | "OK" | "badhost" | "bad";

/** How a configured device is driven. */
export type StonithBackend = "cluster-glue" | "builtin";

/**
 * The device as the helper needs it: the ha.cf fields of `StonithConfig`
 * (config/types.ts) that matter for running it.
 */
export interface StonithDeviceSpec {
  /** Plugin type (`null`, `ssh`, `meatware`, `external/<name>`, any cluster-glue type). */
  type: string;
  /** Plugin parameters, in order (`stonith_host` fields, or the first line of the file). */
  params: string[];
  /** For the `stonith <type> <file>` form: the parameter file (passed as `-F`). */
  configFile?: string;
}

/** What one helper process must do (JSON on its command line). */
export interface HelperRequest {
  /** `reset` a node, or check the device `status`. */
  op: "reset" | "status";
  /** Node to reset (lower-case); `?` for a status check, as in Heartbeat. */
  node: string;
  /** The device. */
  device: StonithDeviceSpec;
  /** Which implementation drives it. */
  backend: StonithBackend;
  /** cluster-glue's `stonith` program (backend `cluster-glue`). */
  stonithCommand: string;
  /** Directory of `external/<name>` scripts for the built-in `external` device. */
  externalDir: string;
  /** Run directory holding the meatware FIFOs (`<runDir>/meatware.<node>`). */
  runDir: string;
  /** Seconds the built-in meatware device waits for the operator (600, as cluster-glue). */
  meatwareTimeoutSec?: number;
  /** Ping attempts of the built-in ssh device after the reboot command (15, as cluster-glue). */
  sshPingAttempts?: number;
}

/** One line a helper asks the master to log (JSON, one per stdout line). */
export interface HelperLogRecord {
  /** Priority word. */
  prio: Priority;
  /** Text without prefix. */
  text: string;
  /** Plugin message (`glib: ` prefix). */
  glib?: boolean;
}

/** Plugin return code: machine reset. */
export const S_OK = 0;
/** Plugin return code: bad configuration. */
export const S_BADCONFIG = 1;
/** Plugin return code: device not accessible. */
export const S_ACCESS = 2;
/** Plugin return code: invalid argument. */
export const S_INVAL = 3;
/** Plugin return code: the device does not control this host. */
export const S_BADHOST = 4;
/** Plugin return code: reset failed. */
export const S_RESETFAIL = 5;
/** Plugin return code: timed out. */
export const S_TIMEOUT = 6;
/** Plugin return code: something strange happened. */
export const S_OOPS = 8;

/** Helper exit code when the device cannot reset that host (Heartbeat's 100). */
export const EXIT_BADHOST = 100;
/** Helper exit code when the reset or status check failed otherwise. */
export const EXIT_FAILED = 1;
