/**
 * The contract between the built-in resource agents (`agents/ipaddr.ts`, `agents/ipaddr2.ts`)
 * and whoever runs them (the resource manager, `resources/`): their logger, environment, options
 * and result. `agents/` is the lower layer: it imports nothing from `resources/`.
 *
 * @module
 */

/**
 * Where the resource manager and the agents write their lines.
 *
 * - `script(tag, prio, text)`: one ha_log line of a shell script (spec config-and-cli §6.4),
 *   e.g. tag `ResourceManager(default)[4489]`, prio `info`, text `Running … start`. `prio` is a
 *   priority name of `logging/format.ts` (`info`, `warn`, `error`, `crit`, `debug`) printed as
 *   `<WORD>: <text>`, or `""` when `text` is to be printed exactly as given (lines such as
 *   `CRITICAL: Resource … is active, and should not be!` or `INFO:  Running OK`). `debug` lines
 *   are only produced when `HA_debug` is set and not `0` (ha_debug).
 * - `debug(text)`: raw output of a resource script (its stdout and stderr), which Heartbeat
 *   appends to the debug file (`HA_DEBUGLOG`) unchanged. `text` may hold several lines.
 */
export interface ScriptLogger {
  /** Writes one script log line (§6.4 format is the logger's business). */
  script(tag: string, prio: string, text: string): void;
  /** Appends raw script output to the debug log. */
  debug(text: string): void;
}

/** Environment handed to scripts. */
export type Env = Record<string, string>;

/** Outcome of a built-in agent call: like a script's exit code and standard output. */
export interface AgentResult {
  /** Exit code (0 success, 7 not running for status, 1 generic error, 2 bad arguments). */
  code: number;
  /** What the agent prints on standard output. */
  stdout: string;
}

/** Options every built-in agent accepts. */
export interface AgentOptions {
  /** Where the agent's own log lines go; silent when absent. */
  logger?: ScriptLogger;
  /** Pid shown in the agent's tag (default: our own pid). */
  pid?: number;
  /** Aborts the agent (timeout): child processes are killed, the call fails. */
  signal?: AbortSignal;
}

/**
 * A built-in agent: `<agent> <args…> <action>` done in-process. `O` is the options it takes
 * (an agent may accept more than {@link AgentOptions}, e.g. the IP agents' command runner).
 */
export type BuiltinAgent<O extends AgentOptions = AgentOptions> = (
  args: string[],
  action: string,
  env: Env,
  opts?: O,
) => Promise<AgentResult>;
