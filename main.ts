/**
 * hb: one entry point, several personalities, as Heartbeat ships several
 * programs. The personality comes from the name we were started as
 * (argv[0] basename, so a compiled binary can be linked as `cl_status`), or
 * else from the first argument (`deno run -A main.ts cl_status listnodes`),
 * or else it is the `heartbeat` daemon itself (`deno run -A main.ts -k`).
 *
 * @module
 */

/** A personality: how to load its main function, and one line of help. */
interface Personality {
  /**
   * Loads the personality's module. Imports are dynamic (but static strings,
   * so `deno compile` still bundles them) so that a worker process or a
   * client tool loads only its own code: less memory, faster start.
   */
  load: () => Promise<(args: string[]) => Promise<number>>;
  help: string;
}

/** Every personality by name. */
export const PERSONALITIES: Readonly<Record<string, Personality>> = {
  heartbeat: {
    load: () => import("./cli/heartbeat.ts").then((m) => m.heartbeatMain),
    help: "the cluster daemon (Heartbeat 3.0.6 options)",
  },
  check: {
    load: () => import("./cli/check.ts").then((m) => m.checkMain),
    help: "validate a configuration directory (default /etc/ha.d)",
  },
  status: {
    load: () => import("./cli/status.ts").then((m) => m.statusMain),
    help: "the running daemon's state: summary, --json, --watch, --nagios",
  },
  export: {
    load: () => import("./cli/export.ts").then((m) => m.exportMain),
    help: "print a Pacemaker CIB for the haresources groups (export pacemaker [DIR])",
  },
  resource: {
    load: () => import("./cli/resource.ts").then((m) => (a: string[]) => m.resourceMain(a)),
    help:
      "monitor failures of the running daemon, and their cleanup (failures | cleanup [RESOURCE])",
  },
  demo: {
    load: () => import("./cli/demo.ts").then((m) => m.demoMain),
    help: "run a local two-node cluster and show a failover",
  },
  cl_status: {
    load: () => import("./agents/cl_status.ts").then((m) => m.clStatusMain),
    help: "query the local daemon (as Heartbeat's cl_status)",
  },
  hb_standby: {
    load: () =>
      import("./agents/hb_standby.ts").then((m) => (a: string[]) =>
        m.hbStandbyMain("hb_standby", a)
      ),
    help: "give resources away",
  },
  hb_takeover: {
    load: () =>
      import("./agents/hb_standby.ts").then((m) => (a: string[]) =>
        m.hbStandbyMain("hb_takeover", a)
      ),
    help: "take resources over",
  },
  ipfail: {
    load: () => import("./agents/ipfail.ts").then((m) => m.ipfailMain),
    help: "fail over on ping node loss (as Heartbeat's ipfail)",
  },
  meatclient: {
    load: () => import("./stonith/meatclient.ts").then((m) => m.meatclientMain),
    help: "confirm a meatware STONITH reset (meatclient -c NODE)",
  },
  __worker: {
    load: () => import("./workers/mod.ts").then((m) => m.workerMain),
    help: "internal: a core worker process",
  },
  __stonith: {
    load: () => import("./stonith/helper.ts").then((m) => m.stonithHelperMain),
    help: "internal: a STONITH reset or status helper",
  },
  __exec_as: {
    load: () => import("./workers/exec_as.ts").then((m) => m.execAsMain),
    help: "internal: launcher of a respawn/failfast client",
  },
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
  const main = await PERSONALITIES[name].load();
  const code = await main(args);
  Deno.exit(code);
}
