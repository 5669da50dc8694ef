/**
 * Built-in `IPaddr2`: manages an IPv4 address with `ip` (no alias label unless the spec
 * gives `IF:label`) like Heartbeat's `resource.d/IPaddr2`; see `ip_agent.ts` for the details.
 * Run directly: `deno run -A agents/ipaddr2.ts 198.18.77.10/24/eth0 start`.
 *
 * @module
 */
import { ipAgentMain, type IpAgentOptions, ipAgentRunner } from "./ip_agent.ts";
import type { BuiltinAgent } from "./types.ts";

/** `IPaddr2 <spec> <action>` in-process. */
export const runIpaddr2: BuiltinAgent<IpAgentOptions> = ipAgentRunner("IPaddr2");

if (import.meta.main) Deno.exit(await ipAgentMain("IPaddr2", Deno.args));
