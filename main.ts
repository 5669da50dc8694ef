/**
 * hb: one entry point, several personalities, as Heartbeat ships several
 * programs. The personality comes from the name we were started as
 * (argv[0] basename, so a compiled binary can be linked as `cl_status`), or
 * else from the first argument (`deno run -A main.ts cl_status listnodes`),
 * or else it is the `heartbeat` daemon itself (`deno run -A main.ts -k`).
 *
 * @module
 */

import { heartbeatMain } from "./cli/heartbeat.ts";
import { checkMain } from "./cli/check.ts";
import { demoMain } from "./cli/demo.ts";
import { workerMain } from "./workers/mod.ts";
import { execAsMain } from "./workers/exec_as.ts";
import { clStatusMain } from "./agents/cl_status.ts";
import { hbStandbyMain } from "./agents/hb_standby.ts";
import { stonithHelperMain } from "./stonith/helper.ts";

/** A personality: its main function and one line of help. */
interface Personality {
  main: (args: string[]) => Promise<number>;
  help: string;
}

/** Every personality by name. */
export const PERSONALITIES: Readonly<Record<string, Personality>> = {
  heartbeat: { main: heartbeatMain, help: "the cluster daemon (Heartbeat 3.0.6 options)" },
  check: { main: checkMain, help: "validate a configuration directory (default /etc/ha.d)" },
  demo: { main: demoMain, help: "run a local two-node cluster and show a failover" },
  cl_status: { main: clStatusMain, help: "query the local daemon (as Heartbeat's cl_status)" },
  hb_standby: { main: (a) => hbStandbyMain("hb_standby", a), help: "give resources away" },
  hb_takeover: { main: (a) => hbStandbyMain("hb_takeover", a), help: "take resources over" },
  __worker: { main: workerMain, help: "internal: a core worker process" },
  __stonith: { main: stonithHelperMain, help: "internal: a STONITH reset or status helper" },
  __exec_as: { main: execAsMain, help: "internal: launcher of a respawn/failfast client" },
};

/** argv[0] as the kernel saw it (Deno.execPath() resolves symlinks). */
function argv0(): string {
  try {
    const cmdline = Deno.readTextFileSync("/proc/self/cmdline");
    return cmdline.split("\0")[0] ?? "";
  } catch {
    return Deno.execPath();
  }
}

/** Chooses the personality and the arguments it gets. */
export function choosePersonality(
  invokedAs: string,
  args: string[],
): { name: string; args: string[] } {
  const base = invokedAs.slice(invokedAs.lastIndexOf("/") + 1);
  if (base in PERSONALITIES && base !== "heartbeat") return { name: base, args };
  if (args.length > 0 && args[0] in PERSONALITIES) return { name: args[0], args: args.slice(1) };
  return { name: "heartbeat", args };
}

if (import.meta.main) {
  const { name, args } = choosePersonality(argv0(), Deno.args);
  const code = await PERSONALITIES[name].main(args);
  Deno.exit(code);
}
