/**
 * Built-in `IPaddr`: manages an IPv4 alias (`eth0:0` style label) like Heartbeat's
 * `resource.d/IPaddr`; see `ip_agent.ts` for the details. Run directly:
 * `deno run -A agents/ipaddr.ts 198.18.77.10/24 start`.
 *
 * @module
 */
import { ipAgentMain, type IpAgentOptions, ipAgentRunner } from "./ip_agent.ts";
import type { BuiltinAgent } from "./types.ts";

/** `IPaddr <spec> <action>` in-process. */
export const runIpaddr: BuiltinAgent<IpAgentOptions> = ipAgentRunner("IPaddr");

if (import.meta.main) Deno.exit(await ipAgentMain("IPaddr", Deno.args));
