/**
 * `heartbeat export pacemaker`: turns an haresources configuration into a
 * Pacemaker CIB (XML) that runs the same groups, for a user who moves from
 * hb (or Heartbeat 3.0.6) to Pacemaker 2 on corosync.
 *
 * The mapping:
 * - each haresources line becomes a `<group>` whose members keep the line's
 *   order (Pacemaker starts a group left to right and stops it right to
 *   left, as Heartbeat did), plus a location constraint preferring the
 *   line's node with score {@link LOCATION_SCORE};
 * - `IPaddr`/`IPaddr2` (and the bare-address shorthand) become
 *   `ocf:heartbeat:IPaddr2` with `ip`, `cidr_netmask`, `nic`, `iflabel`,
 *   `broadcast` from the `/` fields;
 * - the other scripts Heartbeat 3.0.6 ships in `resource.d` are wrappers
 *   around an OCF agent of the same name: they become that
 *   `ocf:heartbeat:` agent, with the wrapper's positional arguments turned
 *   into the parameter names the wrapper exports (read from Heartbeat's
 *   `resource.d` scripts; the agents are in Debian's `resource-agents`);
 * - any other script becomes `lsb:NAME`, with XML comments (and notes) on
 *   what Pacemaker's lsb class needs that Heartbeat did not;
 * - every primitive gets a recurring monitor (Heartbeat never monitored
 *   resources), overridable by hb.cf `monitor` lines;
 * - `auto_failback on` (and `legacy`, whose returning node reclaims its
 *   groups too) gives resource stickiness 0: groups move back to their
 *   preferred node; `off` gives {@link STICKINESS_OFF}, above the location
 *   score: groups stay where they run;
 * - no fencing is configured in ha.cf: `stonith-enabled=false` with a
 *   comment; two nodes (or one): `no-quorum-policy=ignore`.
 *
 * Pure: no I/O; {@link PacemakerExportInput.locate} is the injected view of
 * the script directories.
 *
 * @module
 */
import { netmaskBits, parseIpSpec } from "./ip_spec.ts";
import type { Resource, ResourceGroup } from "./haresources.ts";
import type { MonitorSetting } from "./hb_cf.ts";
import type { AutoFailback } from "./load.ts";

/** Score of the location constraint that sends a group to its haresources node. */
export const LOCATION_SCORE = 100;
/** `resource-stickiness` for `auto_failback off`: above {@link LOCATION_SCORE}. */
export const STICKINESS_OFF = 200;
/** The CIB schema written: supported by every Pacemaker 2.x. */
export const CIB_SCHEMA = "pacemaker-3.0";

/** Where Heartbeat would find a resource's script. */
export type ScriptLocation = "resource.d" | "init.d" | "missing";

/** One operation's timing. */
export interface OperationTiming {
  /** Interval (a Pacemaker duration, `0s` for start/stop). */
  interval: string;
  /** Timeout (a Pacemaker duration). */
  timeout: string;
}

/** A resource mapped to a Pacemaker primitive (before ids are made unique). */
export interface PrimitiveSpec {
  /** Wanted id (made unique within the CIB by {@link pacemakerCib}). */
  id: string;
  /** Resource class. */
  class: "ocf" | "lsb";
  /** OCF provider (`heartbeat`), for class ocf. */
  provider?: string;
  /** Agent or script name. */
  type: string;
  /** Instance attributes in order. */
  params: [string, string][];
  /** Recurring monitor. */
  monitor: OperationTiming;
  /** Start timeout. */
  startTimeout: string;
  /** Stop timeout. */
  stopTimeout: string;
  /** Remarks written as XML comments before the primitive. */
  comments: string[];
  /** Problems to tell the operator (without the file:line prefix). */
  notes: string[];
}

/** One ha.cf `stonith` or `stonith_host` line. */
export interface StonithLine {
  /** The line as written (comment removed, blanks squeezed). */
  text: string;
  /** 1-based line number, when known. */
  line?: number;
}

/** Everything {@link pacemakerCib} needs. */
export interface PacemakerExportInput {
  /** ha.cf normal nodes (lower-cased), in declaration order. */
  nodes: string[];
  /** ha.cf `auto_failback`. */
  autoFailback: AutoFailback;
  /** haresources groups in file order. */
  groups: ResourceGroup[];
  /** ha.cf `stonith`/`stonith_host` lines (empty: no fencing configured). */
  stonith?: StonithLine[];
  /** ha.cf path as named in notes. */
  haCfPath?: string;
  /** ha.cf `ping`/`ping_group` nodes (for a comment). */
  pingNodes?: string[];
  /** ha.cf deadtime in ms (for the corosync comment). */
  deadtimeMs?: number;
  /** ha.cf `cluster` name (for the corosync comment). */
  clusterName?: string;
  /** hb.cf `monitor` lines. */
  monitors?: MonitorSetting[];
  /** hb.cf path as named in notes. */
  hbCfPath?: string;
  /** haresources path as named in notes and comments. */
  haresourcesPath?: string;
  /** Where a script is (default: every script is where Heartbeat ships it). */
  locate?: (script: string) => ScriptLocation;
}

/** Result of {@link pacemakerCib}. */
export interface PacemakerExport {
  /** The CIB, ending with a newline. */
  xml: string;
  /** Problems for the operator, each `file:line: resource: what is wrong; allowed: …`. */
  notes: string[];
}

const IP_MONITOR: OperationTiming = { interval: "10s", timeout: "20s" };
const OCF_MONITOR: OperationTiming = { interval: "20s", timeout: "20s" };
const FS_MONITOR: OperationTiming = { interval: "20s", timeout: "40s" };
const LSB_MONITOR: OperationTiming = { interval: "30s", timeout: "30s" };

/** How one Heartbeat `resource.d` wrapper passes its arguments to its OCF agent. */
interface WrapperMap {
  /** The wrapper's usage, as Heartbeat prints it (without the action). */
  usage: string;
  /** Parameters from the arguments; `problem` when the wrapper would refuse them. */
  params: (args: string[]) => { params: [string, string][]; problem?: string };
  /** Monitor timing (default {@link OCF_MONITOR}). */
  monitor?: OperationTiming;
  /** Start and stop timeout (default 60s). */
  startStopTimeout?: string;
}

/** Positional arguments to named parameters; at least `min` of `names.length` arguments. */
function positional(names: string[], min: number): WrapperMap["params"] {
  return (args) => {
    const params: [string, string][] = [];
    names.forEach((n, i) => {
      if (args[i] !== undefined) params.push([n, args[i]]);
    });
    const problem = args.length < min
      ? `${min} argument(s) needed, ${args.length} given`
      : args.length > names.length
      ? `at most ${names.length} argument(s) taken, ${args.length} given (the rest is dropped)`
      : undefined;
    return { params, problem };
  };
}

/**
 * Heartbeat 3.0.6's `resource.d` wrappers of OCF agents (facts read from the
 * scripts: argument order and the `OCF_RESKEY_` names they export). IPaddr,
 * IPaddr2 and OCF are handled apart.
 */
const WRAPPERS: Readonly<Record<string, WrapperMap>> = {
  AudibleAlarm: {
    usage: "[node1 node2 ...]",
    params: (args) => ({ params: args.length > 0 ? [["nodelist", args.join(" ")]] : [] }),
  },
  Delay: {
    usage: "[delay [stopdelay]]",
    params: (args) => {
      const r = positional(["startdelay", "stopdelay"], 0)(args);
      // the wrapper starts with 10 seconds when no delay is given
      if (args.length === 0) r.params.push(["startdelay", "10"]);
      return r;
    },
  },
  Filesystem: {
    usage: "<device> <directory> [<fstype> [<options>]]",
    params: (args) => {
      const r = positional(["device", "directory", "fstype", "options"], 2)(args);
      if (r.problem === undefined && args.length === 2) {
        r.problem = "no fstype: mount guesses it, but Pacemaker's Filesystem agent declares " +
          "it required (pcs and crm refuse the resource without it): add it as the third " +
          "argument, e.g. ::ext4";
      }
      return r;
    },
    monitor: FS_MONITOR,
  },
  ICP: { usage: "<ICP cluster drive ID> <device>", params: positional(["driveid", "device"], 2) },
  IPsrcaddr: { usage: "<ip-address>", params: positional(["ipaddress"], 1) },
  IPv6addr: {
    usage: "<ip-address>[/<prefix>[/<nic>]]",
    params: (args) => {
      const [addr, prefix, nic] = (args[0] ?? "").split("/");
      const params: [string, string][] = [["ipv6addr", addr]];
      if (prefix) params.push(["cidr_netmask", prefix]);
      if (nic) params.push(["nic", nic]);
      return {
        params,
        problem: args.length === 1 ? undefined : `1 argument needed, ${args.length} given`,
      };
    },
    monitor: IP_MONITOR,
  },
  LVM: { usage: "<volume group>", params: positional(["volgrpname"], 1) },
  LinuxSCSI: {
    usage: "<host>:<channel>:<target>[:<lun>]",
    params: positional(["scsi"], 1),
  },
  MailTo: { usage: "<email> [<subject>]", params: positional(["email", "subject"], 1) },
  Raid1: {
    usage: "<raidtab_config_file> <md_dev_name>",
    params: positional(["raidconf", "raiddev"], 2),
  },
  SendArp: {
    usage: "ip-address/interface",
    params: (args) => {
      const s = args[0] ?? "";
      const slash = s.indexOf("/");
      return {
        params: slash < 0 ? [["ip", s]] : [["ip", s.slice(0, slash)], ["nic", s.slice(slash + 1)]],
        problem: args.length !== 1 || slash < 0
          ? "one argument ip-address/interface needed"
          : undefined,
      };
    },
  },
  ServeRAID: {
    usage: "<serveraid#> <sharedmergegroup#>",
    params: positional(["serveraid", "mergegroup"], 2),
  },
  WAS: {
    usage: "[<WAS-configuration file> | <WAS-(snoop)-port-number>]",
    params: (args) => ({
      params: args.length === 0 ? [] : [[/^[0-9]+$/.test(args[0]) ? "port" : "config", args[0]]],
      problem: args.length > 1 ? `at most 1 argument taken, ${args.length} given` : undefined,
    }),
  },
  WinPopup: { usage: "[workstationfile]", params: positional(["hostfile"], 0) },
  Xinetd: { usage: "<xinetd-service-name>", params: positional(["service"], 1) },
  apache: { usage: "[config-file-pathname]", params: positional(["configfile"], 0) },
  db2: { usage: "db2-database-owner-id", params: positional(["instance"], 1) },
  ids: {
    usage: "[<INFORMIXDIR> <INFORMIXSERVER> <ONCONFIG>]",
    params: (args) => {
      const r = positional(["informixdir", "informixserver", "onconfig"], 0)(args);
      if (args.length !== 0 && args.length !== 3) {
        r.problem = `0 or 3 arguments taken, ${args.length} given`;
      }
      return r;
    },
  },
  portblock: {
    usage: "{udp|tcp} portno,portno {block|unblock}",
    params: positional(["protocol", "portno", "action"], 3),
  },
};

/** Names of the `resource.d` scripts mapped to an `ocf:heartbeat:` agent of the same name. */
export const OCF_WRAPPED_SCRIPTS: readonly string[] = [
  "IPaddr",
  "IPaddr2",
  "OCF",
  ...Object.keys(WRAPPERS),
];

/** Characters allowed in a CIB id after the first one. */
function idPart(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[_.-]+|[_.-]+$/g, "");
}

/** Maps an IPaddr/IPaddr2 resource (or the bare-address shorthand) to `ocf:heartbeat:IPaddr2`. */
function mapIp(r: Resource): PrimitiveSpec {
  const arg = r.args[0] ?? "";
  const notes: string[] = [];
  const comments: string[] = [];
  const params: [string, string][] = [];
  const spec = parseIpSpec(arg);
  if (r.args.length !== 1) {
    notes.push(
      `${r.args.length} arguments given; allowed: one ip-address[/netmaskbits[/interface[:label][/broadcast]]]`,
    );
  }
  if (spec === null) {
    params.push(["ip", arg.split("/")[0]]);
    notes.push(
      `'${arg}' is not an IPv4 address; allowed: a.b.c.d[/netmaskbits[/interface[:label][/broadcast]]]`,
    );
  } else {
    params.push(["ip", spec.ip]);
    if (spec.netmask !== undefined) {
      const bits = netmaskBits(spec.netmask);
      if (bits === null) {
        notes.push(
          `netmask '${spec.netmask}' is neither a prefix length nor a contiguous mask; ` +
            "allowed: 0-32 or a dotted mask like 255.255.255.0",
        );
        params.push(["cidr_netmask", spec.netmask]);
      } else {
        params.push(["cidr_netmask", String(bits)]);
        if (String(bits) !== spec.netmask) {
          comments.push(`netmask ${spec.netmask} written as prefix length ${bits}`);
        }
      }
    }
    if (spec.nic !== undefined) params.push(["nic", spec.nic]);
    if (spec.label !== undefined) {
      params.push(["iflabel", spec.label.slice(spec.label.indexOf(":") + 1)]);
    }
    if (spec.broadcast !== undefined) params.push(["broadcast", spec.broadcast]);
  }
  if (r.script === "IPaddr") {
    comments.push(
      `${r.spec}: IPaddr put the address on an alias label (IF:N); IPaddr2 adds it without ` +
        "a label unless iflabel is set",
    );
  }
  return {
    id: `ip-${idPart(params[0][1]) || "address"}`,
    class: "ocf",
    provider: "heartbeat",
    type: "IPaddr2",
    params,
    monitor: IP_MONITOR,
    startTimeout: "20s",
    stopTimeout: "20s",
    comments,
    notes,
  };
}

/** Maps Heartbeat's `OCF::AGENT::INSTANCE` wrapper. */
function mapOcfWrapper(r: Resource): PrimitiveSpec {
  const [agent = "", instance = ""] = r.args;
  const notes: string[] = [];
  if (r.args.length !== 2) {
    notes.push(`${r.args.length} arguments given; allowed: OCF::AGENT::INSTANCE`);
  }
  notes.push(
    `the parameters are in /etc/ha.d/conf/OCF/${agent}/${instance}: add them as instance ` +
      "attributes (OCF_RESKEY_name=value becomes name=value)",
  );
  return {
    id: `${idPart(agent).toLowerCase() || "ocf"}-${idPart(instance) || "instance"}`,
    class: "ocf",
    provider: "heartbeat",
    type: agent || "Dummy",
    params: [],
    monitor: OCF_MONITOR,
    startTimeout: "60s",
    stopTimeout: "60s",
    comments: [
      `${r.spec}: Heartbeat ran the first agent named ${agent} under /usr/lib/ocf/resource.d/*/ ` +
      `with the variables of /etc/ha.d/conf/OCF/${agent}/${instance}; check the provider ` +
      "(heartbeat here) and copy those variables into instance_attributes",
    ],
    notes,
  };
}

/** Maps a script Pacemaker will run as an LSB init script. */
function mapLsb(r: Resource, where: ScriptLocation | undefined): PrimitiveSpec {
  const comments: string[] = [];
  const notes: string[] = [];
  if (where === "resource.d") {
    comments.push(
      `${r.spec}: Heartbeat ran /etc/ha.d/resource.d/${r.script}; Pacemaker's lsb class runs ` +
        `/etc/init.d/${r.script} only: install the script there (or write an OCF agent), and make ` +
        "its status action exit 0 when running and 3 when stopped (Heartbeat read the words " +
        "running/OK instead)",
    );
    notes.push(
      `Heartbeat's script is /etc/ha.d/resource.d/${r.script}; Pacemaker's lsb class needs ` +
        `/etc/init.d/${r.script} with LSB status exit codes (0 running, 3 stopped)`,
    );
  } else if (where === "missing") {
    comments.push(`${r.spec}: no script ${r.script} in resource.d or /etc/init.d on this node`);
    notes.push(
      `no script ${r.script} in resource.d or /etc/init.d on this node; ` +
        `Pacemaker needs /etc/init.d/${r.script}`,
    );
  } else {
    comments.push(
      `${r.spec}: Pacemaker runs /etc/init.d/${r.script}; its status action must exit 0 when ` +
        "running and 3 when stopped (Heartbeat read the words running/OK instead)",
    );
  }
  if (r.args.length > 0) {
    comments.push(
      `${r.spec}: Heartbeat passed '${r.args.join(" ")}' before the action; an lsb script gets ` +
        "no arguments: put them into the script or write an OCF agent",
    );
    notes.push(
      `arguments '${r.args.join(" ")}' dropped: an lsb script takes none; allowed: a script ` +
        "without arguments, or an OCF agent with parameters",
    );
  }
  const id = idPart(r.script) || "service";
  return {
    id: /^[A-Za-z_]/.test(id) ? id : `lsb-${id}`,
    class: "lsb",
    type: r.script,
    params: [],
    monitor: LSB_MONITOR,
    startTimeout: "120s",
    stopTimeout: "120s",
    comments,
    notes,
  };
}

/**
 * Maps one haresources resource to a Pacemaker primitive. `where` is where
 * Heartbeat would find its script (undefined: unknown; a script Heartbeat
 * ships is then taken as its resource.d wrapper, any other as an init
 * script). A wrapper's name found only in /etc/init.d is an init script.
 */
export function mapResource(r: Resource, where?: ScriptLocation): PrimitiveSpec {
  if (r.ipShorthand || r.script === "IPaddr" || r.script === "IPaddr2") return mapIp(r);
  // an init.d script of a wrapper's name is what Heartbeat ran when resource.d lacked it
  if (where === "init.d") return mapLsb(r, where);
  const missing = where === "missing"
    ? [
      `no script ${r.script} in resource.d or /etc/init.d on this node (Heartbeat could not ` +
      `have run it); exported as the OCF agent ${r.script}`,
    ]
    : [];
  if (r.script === "OCF") {
    const p = mapOcfWrapper(r);
    p.notes.unshift(...missing);
    return p;
  }
  const w = WRAPPERS[r.script];
  if (w === undefined) return mapLsb(r, where);
  const { params, problem } = w.params(r.args);
  const notes = [...missing];
  if (problem !== undefined) {
    notes.push(`${problem}; allowed: ${r.script}::${w.usage.replace(/ /g, "::")}`);
  }
  let id: string;
  if (r.script === "Filesystem") {
    id = `fs-${idPart(r.args[1] ?? "") || idPart(r.args[0] ?? "") || "filesystem"}`;
  } else {
    const first = idPart(r.args[0] ?? "");
    id = r.script.toLowerCase() + (first ? `-${first}` : "");
  }
  return {
    id,
    class: "ocf",
    provider: "heartbeat",
    type: r.script,
    params,
    monitor: w.monitor ?? OCF_MONITOR,
    startTimeout: w.startStopTimeout ?? "60s",
    stopTimeout: w.startStopTimeout ?? "60s",
    comments: [],
    notes,
  };
}

/** Escapes text for an XML attribute value. */
export function xmlAttr(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  ).replace(/[\t\n\r]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Text safe inside an XML comment (no `--`, no trailing `-`). */
export function xmlCommentText(s: string): string {
  return s.replace(/-(?=-)/g, "- ").replace(/-$/, "- ");
}

/** Finds the hb.cf monitor line for a resource: exact spec, then primitive id, then script. */
function monitorFor(
  monitors: MonitorSetting[],
  r: Resource,
  id: string,
): MonitorSetting | undefined {
  for (const key of [r.spec, id, r.script]) {
    const hit = monitors.findLast((m) => m.resource === key);
    if (hit) return hit;
  }
  return undefined;
}

/** Builds the CIB for an haresources configuration. */
export function pacemakerCib(input: PacemakerExportInput): PacemakerExport {
  const notes: string[] = [];
  const hrPath = input.haresourcesPath ?? "haresources";
  const monitors = input.monitors ?? [];
  const usedMonitors = new Set<MonitorSetting>();
  const ids = new Set<string>(["cib-bootstrap-options", "rsc-options"]);
  // CIB ids are XML IDs: unique in the document, starting with a letter or '_'
  const unique = (base: string): string => {
    const stem = /^[A-Za-z_]/.test(base) ? base : `rsc-${base}`;
    let id = stem;
    for (let n = 2; ids.has(id); n++) id = `${stem}-${n}`;
    ids.add(id);
    return id;
  };
  const out: string[] = [];
  const line = (depth: number, text: string) => out.push("  ".repeat(depth) + text);
  const comment = (depth: number, text: string) => line(depth, `<!-- ${xmlCommentText(text)} -->`);
  const nvpair = (depth: number, prefix: string, name: string, value: string) =>
    line(
      depth,
      `<nvpair id="${xmlAttr(unique(`${prefix}-${idPart(name)}`))}" name="${
        xmlAttr(name)
      }" value="${xmlAttr(value)}"/>`,
    );

  const twoNodes = input.nodes.length <= 2;
  const stonith = input.stonith ?? [];
  line(0, `<cib validate-with="${CIB_SCHEMA}" admin_epoch="0" epoch="1" num_updates="0">`);
  comment(
    1,
    `Exported by hb (heartbeat export pacemaker) from ${hrPath}. Load it into a new cluster ` +
      "with: cibadmin -R -x FILE",
  );
  const coro = [
    `corosync.conf: nodelist with ${
      input.nodes.map((n, i) => `ring0_addr ${n} nodeid ${i + 1}`).join(", ")
    }`,
  ];
  if (input.clusterName) coro.push(`totem cluster_name ${input.clusterName}`);
  if (input.deadtimeMs !== undefined) {
    coro.push(`totem token ${input.deadtimeMs} (ha.cf deadtime)`);
  }
  if (input.nodes.length === 2) coro.push("quorum provider corosync_votequorum with two_node: 1");
  comment(1, coro.join("; "));
  line(1, "<configuration>");
  line(2, "<crm_config>");
  line(3, '<cluster_property_set id="cib-bootstrap-options">');
  if (stonith.length === 0) {
    comment(
      4,
      "ha.cf configures no STONITH device, so fencing is off as it was under Heartbeat. " +
        "Configure a fencing device (stonith_admin -I lists the agents) and set " +
        "stonith-enabled=true before relying on this cluster: Pacemaker needs fencing to " +
        "recover safely from a split brain",
    );
  } else {
    comment(
      4,
      `ha.cf configures fencing (${
        stonith.map((l) => l.text).join("; ")
      }). Pacemaker 2 does not run ` +
        "cluster-glue STONITH plugins: create the equivalent fence agent resource " +
        "(e.g. fence_ipmilan for external/ipmi) and set stonith-enabled=true; fencing is off " +
        "until you do",
    );
    for (const l of stonith) {
      notes.push(
        `${input.haCfPath ?? "ha.cf"}${l.line === undefined ? "" : `:${l.line}`}: ` +
          `${l.text.split(" ")[0]}: '${l.text}' not exported: Pacemaker 2 does not run ` +
          "cluster-glue STONITH plugins, so stonith-enabled=false; allowed: a Pacemaker fence " +
          "agent resource, then stonith-enabled=true",
      );
    }
  }
  nvpair(4, "cib-bootstrap-options", "stonith-enabled", "false");
  if (twoNodes) {
    comment(
      4,
      `${input.nodes.length} node(s): a survivor must keep running the groups, as with ` +
        "Heartbeat. Pacemaker 2 does this with two_node: 1 in corosync.conf's quorum section " +
        "(votequorum); no-quorum-policy=ignore below does it for any stack",
    );
    nvpair(4, "cib-bootstrap-options", "no-quorum-policy", "ignore");
  }
  line(3, "</cluster_property_set>");
  line(2, "</crm_config>");

  line(2, "<nodes>");
  comment(
    3,
    "ids are corosync node ids: keep them equal to corosync.conf's nodeid. Names are " +
      "lower-cased as Heartbeat compares them; Pacemaker compares uname -n exactly",
  );
  input.nodes.forEach((n, i) => {
    line(3, `<node id="${i + 1}" uname="${xmlAttr(n)}"/>`);
  });
  line(2, "</nodes>");

  const constraints: string[] = [];
  line(2, "<resources>");
  for (const g of input.groups) {
    const where = `${hrPath}:${g.line}`;
    if (g.resources.length === 0) {
      comment(3, `${where}: node ${g.node} has no resources: nothing exported`);
      continue;
    }
    const prims = g.resources.map((r) => {
      const p = mapResource(r, r.ipShorthand ? undefined : input.locate?.(r.script));
      for (const n of p.notes) notes.push(`${where}: ${r.spec}: ${n}`);
      return { r, p, id: unique(p.id) };
    });
    const groupId = unique(`group-${prims[0].id}`);
    comment(3, `${where}: ${g.text}`);
    line(3, `<group id="${xmlAttr(groupId)}">`);
    for (const { r, p, id } of prims) {
      for (const c of p.comments) comment(4, c);
      const mon = monitorFor(monitors, r, id);
      const monitor = { ...p.monitor };
      if (mon) {
        usedMonitors.add(mon);
        if (mon.interval !== undefined) monitor.interval = mon.interval;
        if (mon.timeout !== undefined) monitor.timeout = mon.timeout;
      }
      const cls = p.provider ? `class="${p.class}" provider="${p.provider}"` : `class="${p.class}"`;
      line(4, `<primitive id="${xmlAttr(id)}" ${cls} type="${xmlAttr(p.type)}">`);
      if (p.params.length > 0) {
        line(5, `<instance_attributes id="${xmlAttr(unique(`${id}-instance_attributes`))}">`);
        for (const [k, v] of p.params) nvpair(6, `${id}-instance_attributes`, k, v);
        line(5, "</instance_attributes>");
      }
      line(5, "<operations>");
      if (mon) comment(6, `monitor from ${input.hbCfPath ?? "hb.cf"}:${mon.line}`);
      const op = (name: string, t: OperationTiming) =>
        line(
          6,
          `<op id="${
            xmlAttr(unique(`${id}-${name}-interval-${idPart(t.interval)}`))
          }" name="${name}" ` +
            `interval="${xmlAttr(t.interval)}" timeout="${xmlAttr(t.timeout)}"/>`,
        );
      op("monitor", monitor);
      op("start", { interval: "0s", timeout: p.startTimeout });
      op("stop", { interval: "0s", timeout: p.stopTimeout });
      line(5, "</operations>");
      line(4, "</primitive>");
    }
    line(3, "</group>");
    const locId = unique(`location-${groupId}-${idPart(g.node) || "node"}`);
    constraints.push(
      `<rsc_location id="${xmlAttr(locId)}" rsc="${xmlAttr(groupId)}" node="${
        xmlAttr(g.node)
      }" score="${LOCATION_SCORE}"/>`,
    );
  }
  line(2, "</resources>");

  line(2, "<constraints>");
  comment(3, `each group prefers its haresources node with score ${LOCATION_SCORE}`);
  for (const c of constraints) line(3, c);
  line(2, "</constraints>");

  line(2, "<rsc_defaults>");
  line(3, '<meta_attributes id="rsc-options">');
  if (input.autoFailback === "off") {
    comment(
      4,
      `auto_failback off: a group stays where it runs (stickiness ${STICKINESS_OFF} per ` +
        `member, above the location score ${LOCATION_SCORE}) until moved (crm_resource -M)`,
    );
    nvpair(4, "rsc-options", "resource-stickiness", String(STICKINESS_OFF));
  } else {
    comment(
      4,
      `auto_failback ${input.autoFailback}: a group moves back to its preferred node when ` +
        `that node returns${
          input.autoFailback === "legacy"
            ? " (legacy: the returning node reclaimed its groups)"
            : ""
        }`,
    );
    nvpair(4, "rsc-options", "resource-stickiness", "0");
  }
  line(3, "</meta_attributes>");
  line(2, "</rsc_defaults>");
  if ((input.pingNodes ?? []).length > 0) {
    comment(
      2,
      `ha.cf pings ${input.pingNodes!.join(", ")}: for ipfail's behaviour clone ` +
        "ocf:pacemaker:ping with host_list and add location rules on the pingd attribute",
    );
  }
  line(1, "</configuration>");
  line(1, "<status/>");
  line(0, "</cib>");

  for (const m of monitors) {
    if (!usedMonitors.has(m)) {
      notes.push(
        `${input.hbCfPath ?? "hb.cf"}:${m.line}: monitor: '${m.resource}' matches no resource; ` +
          "allowed: a haresources resource as written, a primitive id or a script name",
      );
    }
  }
  return { xml: out.join("\n") + "\n", notes };
}
