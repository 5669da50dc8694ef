/**
 * Registry of the built-in resource agents, used by the resource manager when no script of
 * that name exists in `resource.d` or `/etc/init.d` (scripts on disk always win).
 *
 * @module
 */
import { runIpaddr } from "../agents/ipaddr.ts";
import { runIpaddr2 } from "../agents/ipaddr2.ts";
import type { BuiltinAgent } from "./types.ts";

/** How a built-in agent is shown where a script path would be: `builtin:IPaddr`. */
export const BUILTIN_PREFIX = "builtin:";

/** The built-in agents by script name. */
export const BUILTIN_AGENTS: Readonly<Record<string, BuiltinAgent>> = Object.freeze({
  IPaddr: runIpaddr,
  IPaddr2: runIpaddr2,
});
