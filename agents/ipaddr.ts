/**
 * Built-in `IPaddr`: manages an IPv4 alias (`eth0:0` style label) like Heartbeat's
 * `resource.d/IPaddr`; see `ip_agent.ts` for the details. Run directly:
 * `deno run -A agents/ipaddr.ts 198.18.77.10/24 start`.
 *
 * @module
 */
import { ipAgentMain, type IpAgentOptions, runIpAgent } from "./ip_agent.ts";
import type { AgentResult, Env } from "./types.ts";

/** `IPaddr <spec> <action>` in-process. */
export function runIpaddr(
  args: string[],
  action: string,
  env: Env,
  opts?: IpAgentOptions,
): Promise<AgentResult> {
  return runIpAgent("IPaddr", args, action, env, opts);
}

if (import.meta.main) Deno.exit(await ipAgentMain("IPaddr", Deno.args));
