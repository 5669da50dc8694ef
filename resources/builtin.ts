/**
 * Registry of the built-in resource agents, used by the resource manager when no script of
 * that name exists in `resource.d` or `/etc/init.d` (scripts on disk always win).
 *
 * @module
 */
import { runIpaddr } from "../agents/ipaddr.ts";
import { runIpaddr2 } from "../agents/ipaddr2.ts";
import type { AgentOptions, AgentResult, BuiltinAgent, Env } from "./types.ts";

/** How a built-in agent is shown where a script path would be: `builtin:IPaddr`. */
export const BUILTIN_PREFIX = "builtin:";

/** The built-in agents by script name. */
export const BUILTIN_AGENTS: Readonly<Record<string, BuiltinAgent>> = Object.freeze({
  IPaddr: runIpaddr,
  IPaddr2: runIpaddr2,
});

/** True when `name` is a built-in agent. */
export function hasBuiltinAgent(name: string): boolean {
  return Object.hasOwn(BUILTIN_AGENTS, name);
}

/**
 * Runs built-in agent `name` as `<name> <args…> <action>` with environment `env`.
 * An unknown name gives code 1 and no output (like a missing script).
 */
export async function runBuiltinAgent(
  name: string,
  args: string[],
  action: string,
  env: Env,
  opts?: AgentOptions,
): Promise<AgentResult> {
  if (!hasBuiltinAgent(name)) return { code: 1, stdout: "" };
  return await BUILTIN_AGENTS[name](args, action, env, opts);
}
