/**
 * Fixed paths of a Heartbeat node, overridable through the environment so
 * tests and the unprivileged demo can run several nodes on one machine.
 *
 * | variable | default | holds |
 * |---|---|---|
 * | `HB_CONFDIR` | `/etc/ha.d` | ha.cf, haresources, authkeys, rc.d, resource.d |
 * | `HB_STATEDIR` | `/var/lib/heartbeat` | fifo, hb_uuid, hb_generation, hostcache |
 * | `HB_RUNDIR` | `/run` | heartbeat.pid, heartbeat/register |
 *
 * @module
 */

/** The paths one node uses. */
export interface NodePaths {
  /** Configuration directory, without trailing slash. */
  confDir: string;
  /** State directory. */
  stateDir: string;
  /** Run directory. */
  runDir: string;
  /** Pid file of the master. */
  pidFile: string;
  /** FIFO read by the HBFIFO worker. */
  fifo: string;
  /** Persistent uuid (16 raw bytes). */
  uuidFile: string;
  /** Persistent generation counter. */
  generationFile: string;
  /** Directory of the API socket. */
  apiDir: string;
  /** The API registration socket. */
  apiSocket: string;
  /** Scratch directory for resource scripts (recreated at start). */
  rscTmp: string;
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/** Paths from the environment (or Heartbeat's defaults). `confDir` overrides HB_CONFDIR. */
export function nodePaths(confDir?: string): NodePaths {
  const conf = (confDir ?? env("HB_CONFDIR") ?? "/etc/ha.d").replace(/\/+$/, "") || "/";
  const state = env("HB_STATEDIR") ?? "/var/lib/heartbeat";
  const run = env("HB_RUNDIR") ?? "/run";
  return {
    confDir: conf,
    stateDir: state,
    runDir: run,
    pidFile: `${run}/heartbeat.pid`,
    fifo: `${state}/fifo`,
    uuidFile: `${state}/hb_uuid`,
    generationFile: `${state}/hb_generation`,
    apiDir: `${run}/heartbeat`,
    apiSocket: `${run}/heartbeat/register`,
    rscTmp: `${run}/heartbeat/rsctmp`,
  };
}
