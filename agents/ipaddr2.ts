/**
 * Built-in `IPaddr2`: manages an IPv4 address with `ip` (no alias label unless the spec
 * gives `IF:label`) like Heartbeat's `resource.d/IPaddr2`; see `ip_agent.ts` for the details.
 * Run directly: `deno run -A agents/ipaddr2.ts 198.18.77.10/24/eth0 start`.
 *
 * @module
 */
import { ipAgentMain, type IpAgentOptions, runIpAgent } from "./ip_agent.ts";
import type { AgentResult, Env } from "./types.ts";

/** `IPaddr2 <spec> <action>` in-process. */
export function runIpaddr2(
  args: string[],
  action: string,
  env: Env,
  opts?: IpAgentOptions,
): Promise<AgentResult> {
  return runIpAgent("IPaddr2", args, action, env, opts);
}

if (import.meta.main) Deno.exit(await ipAgentMain("IPaddr2", Deno.args));
