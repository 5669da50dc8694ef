/**
 * `heartbeat check [DIR]`: validates a configuration directory (default
 * /etc/ha.d) without starting anything. Exit 0 when Heartbeat 3.0.6 would
 * start on it, 1 when it would refuse; every problem is printed.
 * Heartbeat itself has no validate-only mode: this one is ours.
 *
 * @module
 */

import { checkConfigDir } from "../config/check.ts";

const HELP = `Usage: heartbeat check [DIR]

Validates ha.cf, authkeys and haresources in DIR (default /etc/ha.d) exactly as
Heartbeat 3.0.6 would at start-up, and hb's own hb.cf, without starting anything.
Prints every problem as "file:line: directive: what is wrong; allowed: ...".
Exit status: 0 if Heartbeat would start on this configuration and hb.cf is valid,
1 otherwise.

Options:
  -M            resource management off (haresources is not read), as heartbeat -M
  -n NODE       check as node NODE instead of this host's name
  --help        this text`;

/** Entry of the `check` personality. */
export function checkMain(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(HELP);
    return Promise.resolve(0);
  }
  let dir = Deno.env.get("HB_CONFDIR") ?? "/etc/ha.d";
  let nodeName: string | undefined;
  let resourceManagement = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "-M") resourceManagement = false;
    else if (a === "-n") nodeName = args[++i];
    else if (a.startsWith("-")) {
      console.error(`heartbeat check: unknown option ${a}\n\n${HELP}`);
      return Promise.resolve(2);
    } else dir = a;
  }
  const r = checkConfigDir(dir, { nodeName, resourceManagement });
  for (const line of r.lines) console.log(line);
  return Promise.resolve(r.exitCode);
}
