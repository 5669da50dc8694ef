/**
 * `heartbeat export pacemaker [DIR]`: prints a Pacemaker CIB equivalent to
 * the haresources groups of a configuration directory (default /etc/ha.d,
 * or `HB_CONFDIR`), for a user who moves on to Pacemaker. Notes on what did
 * not map one to one go to stderr. Exit 0 when the CIB was printed, 1 when
 * Heartbeat 3.0.6 would refuse the configuration (nothing printed), 2 on a
 * usage error. Heartbeat itself has no such command: this one is ours.
 *
 * @module
 */
import { checkConfigDir } from "../config/check.ts";
import { HB_CF, parseHbCf } from "../config/hb_cf.ts";
import { loadConfig } from "../config/load.ts";
import { pacemakerCib, type ScriptLocation, type StonithLine } from "../config/pacemaker_export.ts";
import { createRealSystemView, type SystemView } from "../config/system_view.ts";

const HELP = `Usage: heartbeat export pacemaker [-n NODE] [DIR]

Prints a Pacemaker CIB (XML) that runs the haresources groups of DIR (default
/etc/ha.d, or $HB_CONFDIR): one group per haresources line with a location
constraint preferring its node, ocf:heartbeat agents for Heartbeat's resource.d
scripts (IPaddr/IPaddr2 become IPaddr2), lsb: for init scripts, a monitor per
resource (DIR/hb.cf "monitor RESOURCE interval=30s timeout=20s" lines override
it), stickiness from auto_failback. Notes on what needs a hand go to stderr.
Check the result with: crm_verify -V -x FILE

Options:
  -n NODE       read the configuration as node NODE (default: this host when it
                is an ha.cf node, else the first ha.cf node)
  --help        this text

Exit status: 0 printed, 1 Heartbeat 3.0.6 would refuse DIR (see heartbeat check),
2 usage error.`;

/** Options of {@link exportPacemakerDir}. */
export interface ExportOptions {
  /** Node to read the configuration as (default: this host if it is a node, else the first). */
  nodeName?: string;
  /** Environment (default: real). */
  system?: SystemView;
  /** Heartbeat's script directory (default `HA_RESOURCEDIR`, else `/etc/ha.d/resource.d`, as hb). */
  resourceDir?: string;
  /** The init script directory (default `/etc/init.d`). */
  initDir?: string;
}

/** Result of {@link exportPacemakerDir}. */
export interface ExportResult {
  /** 0 = exported, 1 = the configuration is refused. */
  exitCode: 0 | 1;
  /** The CIB (when exported). */
  xml?: string;
  /** Lines for stderr: notes, or the problems that stopped the export. */
  lines: string[];
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/** ha.cf `stonith` and `stonith_host` lines as written (comments removed, blanks squeezed). */
export function stonithLines(haCf: string): StonithLine[] {
  const out: StonithLine[] = [];
  haCf.split("\n").forEach((raw, i) => {
    const l = raw.replace(/#.*/s, "").trim();
    if (/^stonith(_host)?[ \t]/i.test(l)) {
      out.push({ text: l.replace(/[ \t]+/g, " "), line: i + 1 });
    }
  });
  return out;
}

/** Loads DIR like `heartbeat check` and builds the CIB. */
export function exportPacemakerDir(dir: string, opts: ExportOptions = {}): ExportResult {
  const system = opts.system ?? createRealSystemView();
  const load = (nodeName?: string) => loadConfig({ dir, nodeName, system, exhaustive: true });
  let nodeName = opts.nodeName;
  let res = load(nodeName);
  // exporting on a machine outside the cluster: read it as its first node
  const names = res.config?.ha.nodeNames ?? [];
  if (nodeName === undefined && res.config && !names.includes(res.config.ha.nodeName) && names[0]) {
    nodeName = names[0];
    res = load(nodeName);
  }
  const hrPath = joinPath(dir, "haresources");
  if (!res.ok || !res.config) {
    const c = checkConfigDir(dir, { nodeName, system, showHeartbeatText: false });
    return {
      exitCode: 1,
      lines: [
        ...c.lines,
        `heartbeat export: ${dir}: not exported: Heartbeat 3.0.6 would refuse this ` +
        "configuration; fix the errors above (heartbeat check DIR) and export again",
      ],
    };
  }
  const { ha, haresources } = res.config;
  if (!ha.manageResources) {
    return {
      exitCode: 1,
      lines: [
        `heartbeat export: ${joinPath(dir, "ha.cf")}: pacemaker: '${ha.pacemaker}': this ` +
        "cluster's resources are managed by Pacemaker already (its CIB is the export); " +
        "allowed: a configuration with haresources (no pacemaker/crm directive)",
      ],
    };
  }
  if (!haresources) {
    return {
      exitCode: 1,
      lines: [`heartbeat export: ${hrPath}: missing; allowed: an haresources file`],
    };
  }
  const lines: string[] = [];
  const hbCfPath = joinPath(dir, HB_CF);
  const hbCfText = system.readTextFile(hbCfPath);
  const hbCf = hbCfText === undefined ? undefined : parseHbCf(hbCfText, hbCfPath);
  if (hbCf) lines.push(...hbCf.errors.map((e) => e.explain));
  const regularExecutable = (p: string) => {
    const st = system.stat(p);
    return st !== undefined && st.isFile && (st.mode & 0o111) !== 0;
  };
  const initDir = opts.initDir ?? "/etc/init.d";
  const resourceDir = opts.resourceDir ?? Deno.env.get("HA_RESOURCEDIR") ??
    "/etc/ha.d/resource.d";
  const locate = (script: string): ScriptLocation =>
    regularExecutable(joinPath(resourceDir, script))
      ? "resource.d"
      : regularExecutable(`${initDir}/${script}`)
      ? "init.d"
      : "missing";
  const cib = pacemakerCib({
    nodes: ha.nodeNames,
    autoFailback: ha.autoFailback,
    groups: haresources.groups,
    stonith: stonithLines(system.readTextFile(joinPath(dir, "ha.cf")) ?? ""),
    haCfPath: joinPath(dir, "ha.cf"),
    pingNodes: ha.nodes.filter((n) => n.type === "ping").map((n) => n.name),
    deadtimeMs: ha.deadtimeMs,
    clusterName: ha.cluster,
    monitors: hbCf?.settings.monitors,
    hbCfPath,
    haresourcesPath: hrPath,
    locate,
  });
  lines.push(...cib.notes);
  return { exitCode: 0, xml: cib.xml, lines };
}

/** Entry of the `export` personality. */
export async function exportMain(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  if (args[0] !== "pacemaker") {
    console.error(
      `heartbeat export: ${
        args[0] === undefined ? "no target given" : `unknown target '${args[0]}'`
      }; allowed: pacemaker\n\n${HELP}`,
    );
    return 2;
  }
  let dir = Deno.env.get("HB_CONFDIR") ?? "/etc/ha.d";
  let nodeName: string | undefined;
  const rest = args.slice(1);
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "-n") {
      if (rest[i + 1] === undefined) {
        console.error(`heartbeat export: option -n needs a node name; allowed: -n NODE`);
        return 2;
      }
      nodeName = rest[++i];
    } else if (a.startsWith("-")) {
      console.error(`heartbeat export: unknown option ${a}; allowed: -n NODE, --help\n\n${HELP}`);
      return 2;
    } else dir = a;
  }
  const r = exportPacemakerDir(dir, { nodeName });
  for (const l of r.lines) console.error(l);
  if (r.xml !== undefined) {
    await Deno.stdout.write(new TextEncoder().encode(r.xml));
  }
  return r.exitCode;
}
