/**
 * `cl_status`: Heartbeat 3.0.6's status tool (spec api.md §7, config-and-cli.md §5.7) over
 * the API socket (`$HB_RUNDIR/heartbeat/register`, default `/run/heartbeat/register`).
 *
 * Same sub-commands, options (GNU getopt with argument permutation, the sub-command being
 * getopt's argv[0]), stdout texts, stderr lines (`<Mon dd HH:MM:SS> <host> cl_status: [<pid>]:
 * ERROR: <text>` through the logging module) and exit codes as the C tool; a global 5 s alarm
 * ends it with exit 12 (stdout written so far is still printed, as C's exit() flushes it).
 *
 * @module
 */

import { ApiClient, type NodeEntry } from "../api/client.ts";
import { configureLogging, log } from "../logging/mod.ts";
import { nodePaths } from "../config/paths.ts";
import { getegid, geteuid } from "../sys/libc.ts";

const OK = 0;
const NORMAL_FAIL = 1;
const PARAMETER_ERROR = 11;
const TIMEOUT = 12;
const UNKNOWN_ERROR = 13;

const HELP = `Usage: cl_status <sub-command> [<options>] [<parameters>]

Sub-commands:
clientstatus <node-name> <client-id> [<timeout>]
\tShow the status of heartbeat clients.
hblinkstatus <node-name> <link-name>
\tShow the status of a heartbeat link
hbstatus
\tIndicate if heartbeat is running on the local system.
\tOptions:
\t\t-v\tverbose: also add "listnodes -v" output
listnodes [<option>]
\tList the nodes in the cluster.
\tOptions:
\t\t-p\tlist only 'ping' type nodes
\t\t-n\tlist only 'normal' type nodes
\t\t-v\tverbose: also list type and status,
\t\t\tthen add "listhblinks -v" output
listhblinks <node-name>
\tList the network interfaces used as hearbeat links.
\tOptions:
\t\t-v\tverbose: list link status as well
nodestatus <node-name>
\tList the node status.
nodeweight <node-name>
\tList the node weight.
nodesite <node-name>
\tList the node site.
nodetype <node-name>
\tList the nodes of a given type.
rscstatus
\tShow the status of cluster resources.
hbparameter -p <parameter-name>
\tRetrieve the value of a cluster parameter.
\tAs for the valid parameter names, please refer to the man page.
`;

/**
 * GNU getopt over `argv` (argv[0] = the program name used in messages), permuting operands
 * behind options. Each call of {@link Getopt.next} returns an option character, `?` for an
 * error (message already printed), or undefined at the end; then {@link Getopt.operands} holds
 * the non-option arguments in order.
 */
export class Getopt {
  readonly #argv: string[];
  readonly #opts: string;
  readonly #err: (line: string) => void;
  #i = 1;
  #sub = 0;
  /** Argument of the last option that takes one. */
  optarg: string | undefined;
  /** Non-option arguments, in order. */
  readonly operands: string[] = [];

  /** Parser over `argv` with option string `optstring`; errors go to `err`. */
  constructor(argv: string[], optstring: string, err: (line: string) => void) {
    this.#argv = argv;
    this.#opts = optstring;
    this.#err = err;
  }

  /** The next option, `?`, or undefined when done. */
  next(): string | undefined {
    const argv = this.#argv;
    this.optarg = undefined;
    while (this.#sub === 0) {
      if (this.#i >= argv.length) return undefined;
      const a = argv[this.#i];
      if (a === "--") {
        this.operands.push(...argv.slice(this.#i + 1));
        this.#i = argv.length;
        return undefined;
      }
      if (a.length < 2 || a[0] !== "-") {
        this.operands.push(a);
        this.#i++;
        continue;
      }
      this.#sub = 1;
    }
    const a = argv[this.#i];
    const c = a[this.#sub++];
    const at = c === ":" ? -1 : this.#opts.indexOf(c);
    const endOfWord = () => {
      if (this.#sub >= a.length) {
        this.#sub = 0;
        this.#i++;
      }
    };
    if (at < 0) {
      this.#err(`${argv[0]}: invalid option -- '${c}'`);
      endOfWord();
      return "?";
    }
    if (this.#opts[at + 1] === ":") {
      if (this.#sub < a.length) {
        this.optarg = a.slice(this.#sub);
        this.#sub = 0;
        this.#i++;
      } else if (this.#i + 1 < argv.length) {
        this.optarg = argv[this.#i + 1];
        this.#sub = 0;
        this.#i += 2;
      } else {
        this.#err(`${argv[0]}: option requires an argument -- '${c}'`);
        this.#sub = 0;
        this.#i++;
        return "?";
      }
      return c;
    }
    endOfWord();
    return c;
  }

  /** Runs to the end and returns the operands (after all options were consumed). */
  rest(): string[] {
    while (this.next() !== undefined) { /* drain */ }
    return this.operands;
  }
}

interface Ctx {
  hb: ApiClient;
  signedOn: boolean;
  human: boolean;
  out: string[];
  /** argv without the program name: [sub-command, ...]. */
  argv: string[];
  optstr: string;
}

function stderrLine(line: string): void {
  const bytes = new TextEncoder().encode(line + "\n");
  try {
    let off = 0;
    while (off < bytes.length) off += Deno.stderr.writeSync(bytes.subarray(off));
  } catch {
    // stderr is closed (whoever ran us is gone): there is no one left to tell
  }
}

function print(ctx: Ctx, text: string): void {
  ctx.out.push(text);
}

/** general_simple_opt_deal: only -m; returns operands or undefined on an option error. */
function simpleOpts(ctx: Ctx): string[] | undefined {
  const g = new Getopt(ctx.argv, ctx.optstr, stderrLine);
  for (let c = g.next(); c !== undefined; c = g.next()) {
    if (c === "m") ctx.human = true;
    else {
      log.error(`Error: getopt returnedcharacter ${c}.`);
      return undefined;
    }
  }
  return g.operands;
}

/**
 * The operands of a sub-command that only takes -m and needs `min` operands, or the exit code
 * after the error line (`notEnough` when there are fewer).
 */
function operands(ctx: Ctx, min: number, notEnough: string): string[] | number {
  const ops = simpleOpts(ctx);
  if (ops === undefined) return PARAMETER_ERROR;
  if (ops.length < min) {
    stderrLine(notEnough);
    return PARAMETER_ERROR;
  }
  return ops;
}

/** Logs `what` could not be had from the daemon, and the daemon's reason; returns `code`. */
function noAnswer(hb: ApiClient, what: string, code = UNKNOWN_ERROR): number {
  log.error(what);
  log.error(`REASON: ${hb.errmsg}`);
  return code;
}

async function hbstatus(ctx: Ctx): Promise<number> {
  const g = new Getopt(ctx.argv, ctx.optstr, stderrLine);
  let verbose = false;
  for (let c = g.next(); c !== undefined; c = g.next()) {
    if (c === "m") ctx.human = true;
    else if (c === "v") verbose = true;
  }
  const hb = ctx.hb;
  if (!ctx.signedOn) {
    const reason = hb.errmsg;
    let rc: number;
    if (hb.info.deadtimeMs === 0) {
      print(ctx, "Heartbeat is stopped on this machine.\n");
      rc = 1;
    } else {
      print(ctx, "Heartbeat is apparently running on this machine, but refuses my connection\n");
      rc = 0;
    }
    if (verbose && reason !== "") print(ctx, `(${reason})\n`);
    return rc;
  }
  if (!verbose) {
    print(ctx, "Heartbeat is running on this machine.\n");
    return 0;
  }
  const hbversion = await hb.parameter("hbversion");
  let pacemaker = await hb.parameter("pacemaker");
  if (pacemaker === undefined) pacemaker = await hb.parameter("crm");
  const enabled = pacemakerEnabled(pacemaker);
  if (ctx.human) {
    print(
      ctx,
      hbversion !== undefined
        ? `Heartbeat version ${hbversion}\n`
        : "Heartbeat is running on this machine.\n",
    );
    print(
      ctx,
      enabled ? "Resources controlled by Pacemaker.\n" : 'Resources controlled by "haresources"\n',
    );
  } else {
    print(ctx, `version:\t${hbversion ?? "unknown"}\n`);
    print(
      ctx,
      enabled ? `managed by:\tpacemaker\t(${pacemaker})\n` : 'managed by:\t"haresources"\n',
    );
  }
  // No CCM in hb: the membership block is skipped, as when /run/heartbeat/ccm/ccm is absent.
  await listNodes(ctx, false, false, true);
  return 0;
}

/** cl_str_to_boolean: false words → disabled; anything else (or nothing) → enabled. */
function pacemakerEnabled(v: string | undefined): boolean {
  if (v === undefined) return true;
  const s = v.toLowerCase();
  if (["false", "off", "no", "n", "0"].includes(s)) return false;
  return true;
}

async function listNodes(
  ctx: Ctx,
  normalOnly: boolean,
  pingOnly: boolean,
  verbose: boolean,
): Promise<number> {
  const hb = ctx.hb;
  const nodes = await hb.nodeList();
  if (nodes === undefined) return noAnswer(hb, "Cannot start node walk.");
  if (normalOnly && pingOnly) normalOnly = pingOnly = false;
  if (ctx.human) print(ctx, "The nodes are as follow:\n");
  for (const n of nodes) {
    if (normalOnly || pingOnly) {
      const type = await cachedType(ctx, n);
      if (normalOnly && type !== "normal") continue;
      if (pingOnly && type !== "ping") continue;
    }
    if (verbose) {
      const st = n.status ?? await hb.simple("nodestatus", [["node", n.name]], "st");
      const ty = await cachedType(ctx, n);
      print(ctx, `\n${n.name}\t${st ?? "(null)"}\t(nodetype: ${ty ?? "(null)"})\n`);
      await listLinks(ctx, n.name, true);
    } else {
      print(ctx, `${n.name}\n`);
    }
  }
  return 0;
}

async function cachedType(ctx: Ctx, n: NodeEntry): Promise<string | undefined> {
  return n.type ?? await ctx.hb.simple("nodetype", [["node", n.name]], "nodetype");
}

async function listLinks(ctx: Ctx, host: string, verbose: boolean): Promise<number> {
  const hb = ctx.hb;
  const ifs = await hb.ifList(host);
  if (ifs === undefined) return noAnswer(hb, "Cannot start heartbeat link interface walk.");
  if (ctx.human) print(ctx, "\tthis node has the following heartbeat links:\n");
  for (const i of ifs) {
    if (verbose) {
      const st = i.status ??
        await hb.simple("ifstatus", [["node", host], ["ifname", i.name]], "st");
      print(ctx, `\t${i.name}\t${st ?? "(null)"}\n`);
    } else {
      print(ctx, `\t${i.name}\n`);
    }
  }
  return 0;
}

/**
 * Reads options without arguments: -m, and the `letters` it returns the set of; undefined after
 * any other option (logged).
 */
function flagOpts(ctx: Ctx, g: Getopt, letters: string): Set<string> | undefined {
  const flags = new Set<string>();
  for (let c = g.next(); c !== undefined; c = g.next()) {
    if (c === "m") ctx.human = true;
    else if (letters.includes(c)) flags.add(c);
    else {
      log.error(`Error: getopt returnedcharacter code ${c}.`);
      return undefined;
    }
  }
  return flags;
}

async function listnodesCmd(ctx: Ctx): Promise<number> {
  const flags = flagOpts(ctx, new Getopt(ctx.argv, ctx.optstr, stderrLine), "vpn");
  if (flags === undefined) return PARAMETER_ERROR;
  return await listNodes(ctx, flags.has("n"), flags.has("p"), flags.has("v"));
}

/** What cl_status says when the daemon has no answer about a node (most sub-commands). */
const NO_SUCH_NODE = "Error. May be due to incorrect node name";

/**
 * Asks the daemon for `field` of the node named by the first operand: the node and the
 * answer, or the exit code after the error line (`notEnough` without an operand, `unknownNode`
 * when the daemon has none).
 */
async function nodeQuery(
  ctx: Ctx,
  reqtype: string,
  field: string,
  notEnough: string,
  unknownNode = NO_SUCH_NODE,
): Promise<{ node: string; value: string } | number> {
  const ops = operands(ctx, 1, notEnough);
  if (typeof ops === "number") return ops;
  const node = ops[0];
  const value = await ctx.hb.simple(reqtype, [["node", node]], field);
  if (value === undefined) {
    stderrLine(unknownNode);
    return PARAMETER_ERROR;
  }
  return { node, value };
}

async function nodestatus(ctx: Ctx): Promise<number> {
  const r = await nodeQuery(ctx, "nodestatus", "st", "Not enough parameters.");
  if (typeof r === "number") return r;
  print(ctx, ctx.human ? `The cluster node ${r.node} is ${r.value}\n` : `${r.value}\n`);
  return ["active", "up", "ping"].some((w) => r.value.startsWith(w)) ? OK : NORMAL_FAIL;
}

async function nodeweight(ctx: Ctx): Promise<number> {
  const r = await nodeQuery(
    ctx,
    "nodeweight",
    "weight",
    "Not enough parameters.",
    "Error. Maybe due to incorrect node name.",
  );
  if (typeof r === "number") return r;
  const w = atoiC(r.value);
  print(ctx, ctx.human ? `The weight of the cluster node ${r.node} is ${w}\n` : `${w}\n`);
  return OK;
}

function atoiC(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number(m[1]) | 0 : 0;
}

async function nodesite(ctx: Ctx): Promise<number> {
  const r = await nodeQuery(ctx, "nodesite", "site", "Not enough parameters.");
  if (typeof r === "number") return r;
  print(ctx, ctx.human ? `The site of the cluster node ${r.node} is ${r.value}\n` : `${r.value}\n`);
  return OK;
}

async function nodetype(ctx: Ctx): Promise<number> {
  const r = await nodeQuery(ctx, "nodetype", "nodetype", "No enough parameter.");
  if (typeof r === "number") return r;
  print(ctx, ctx.human ? `The node ${r.node}'s type: ${r.value}\n` : `${r.value}\n`);
  return OK;
}

async function listhblinks(ctx: Ctx): Promise<number> {
  const g = new Getopt(ctx.argv, ctx.optstr, stderrLine);
  const flags = flagOpts(ctx, g, "v");
  if (flags === undefined) return PARAMETER_ERROR;
  if (g.operands.length < 1) {
    stderrLine("No enough parameter.");
    return PARAMETER_ERROR;
  }
  return await listLinks(ctx, g.operands[0], flags.has("v"));
}

async function hblinkstatus(ctx: Ctx): Promise<number> {
  const ops = operands(ctx, 2, "No enough parameter.");
  if (typeof ops === "number") return ops;
  const st = await ctx.hb.simple("ifstatus", [["node", ops[0]], ["ifname", ops[1]]], "st");
  if (st === undefined) return noAnswer(ctx.hb, "Cannot get heartbeat link status");
  print(
    ctx,
    ctx.human ? `The node ${ops[0]}'s heartbeat link ${ops[1]} is ${st}\n` : `${st}\n`,
  );
  return st.startsWith("up") ? OK : NORMAL_FAIL;
}

async function clientstatus(ctx: Ctx): Promise<number> {
  const ops = operands(ctx, 2, "No enough parameter.");
  if (typeof ops === "number") return ops;
  const timeout = ops.length > 2 ? atoiC(ops[2]) : 500;
  const cs = await ctx.hb.clientStatus(ops[0], ops[1], timeout);
  if (cs === undefined) return noAnswer(ctx.hb, `Cannot get heartbeat client ${ops[1]}'s status`);
  print(ctx, `${cs}\n`);
  if (cs.startsWith("online")) return OK;
  if (cs.startsWith("offline")) return NORMAL_FAIL;
  if (cs.startsWith("join")) return 2;
  if (cs.startsWith("leave")) return 3;
  return UNKNOWN_ERROR;
}

async function rscstatus(ctx: Ctx): Promise<number> {
  const ops = simpleOpts(ctx);
  if (ops === undefined) return PARAMETER_ERROR;
  let pacemaker = await ctx.hb.parameter("pacemaker");
  if (pacemaker === undefined) pacemaker = await ctx.hb.parameter("crm");
  if (pacemakerEnabled(pacemaker)) {
    log.error("Cannot get cluster resource status of a pacemaker cluster; try crm_mon");
    return NORMAL_FAIL;
  }
  const r = await ctx.hb.resources();
  if (r === undefined) return noAnswer(ctx.hb, "Cannot get cluster resource status");
  print(ctx, ctx.human ? `This node is holding ${r} resources.\n` : `${r}\n`);
  return OK;
}

async function hbparameter(ctx: Ctx): Promise<number> {
  const g = new Getopt(ctx.argv, ctx.optstr, stderrLine);
  let name: string | undefined;
  for (let c = g.next(); c !== undefined; c = g.next()) {
    if (c === "m") ctx.human = true;
    else if (c === "p") name = g.optarg ?? name;
    else {
      log.error(`Error: getopt returnedcharacter code ${c}.`);
      return PARAMETER_ERROR;
    }
  }
  if (name === undefined) {
    log.error("parameter name required");
    return PARAMETER_ERROR;
  }
  const v = await ctx.hb.parameter(name);
  if (v === undefined) return noAnswer(ctx.hb, `Cannot get parameter ${name}'s value`, NORMAL_FAIL);
  print(ctx, ctx.human ? `Heartbeat parameter ${name}'s value: ${v}\n` : `${v}\n`);
  return 0;
}

async function test(ctx: Ctx): Promise<number> {
  const rsc = await ctx.hb.resources();
  print(
    ctx,
    `Dead time: ${ctx.hb.info.deadtimeMs | 0}\n keeplive time: ${
      ctx.hb.info.keepaliveMs | 0
    }\n mynodeid: ${ctx.hb.info.node}\n rsc: ${rsc ?? "(null)"}\n`,
  );
  return 0;
}

interface Cmd {
  run: (ctx: Ctx) => Promise<number>;
  optstr: string;
  needSignon: boolean;
}

const CMDS: Record<string, Cmd> = {
  hbstatus: { run: hbstatus, optstr: "mv", needSignon: false },
  listnodes: { run: listnodesCmd, optstr: "mpnv", needSignon: true },
  nodestatus: { run: nodestatus, optstr: "m", needSignon: true },
  nodeweight: { run: nodeweight, optstr: "m", needSignon: true },
  nodesite: { run: nodesite, optstr: "m", needSignon: true },
  nodetype: { run: nodetype, optstr: "m", needSignon: true },
  listhblinks: { run: listhblinks, optstr: "mv", needSignon: true },
  hblinkstatus: { run: hblinkstatus, optstr: "m", needSignon: true },
  clientstatus: { run: clientstatus, optstr: "m", needSignon: true },
  rscstatus: { run: rscstatus, optstr: "m", needSignon: true },
  hbparameter: { run: hbparameter, optstr: "mp:", needSignon: true },
  test: { run: test, optstr: "", needSignon: true },
};

function writeStdout(parts: string[]): void {
  const bytes = new TextEncoder().encode(parts.join(""));
  parts.length = 0;
  try {
    let off = 0;
    while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
  } catch {
    // stdout is closed (a pipe reader quit early, as `| head`): the answer has no reader
  }
}

/** Options of {@link clStatusMain} (tests). */
export interface ClStatusOptions {
  /** Socket path (default `nodePaths().apiSocket`). */
  socketPath?: string;
  /** Overall alarm in ms (default 5000). */
  alarmMs?: number;
}

/** Entry of `cl_status`: returns the exit code (the alarm exits the process with 12). */
export async function clStatusMain(args: string[], opts: ClStatusOptions = {}): Promise<number> {
  if (args.length === 0 || (args.length === 1 && args[0] === "-h")) {
    writeStdout([HELP]);
    return 0;
  }
  const env = (n: string) => {
    try {
      return Deno.env.get(n);
    } catch {
      return undefined;
    }
  };
  const facility = env("HA_logfacility") ?? env("HA_LOGFACILITY") ?? "none";
  try {
    configureLogging({
      entity: "cl_status",
      stderr: true,
      facility,
      logfile: env("HA_logfile"),
      debugfile: env("HA_debugfile"),
    });
  } catch {
    configureLogging({ entity: "cl_status", stderr: true });
  }
  const sub = args[0];
  const cmd = Object.hasOwn(CMDS, sub) ? CMDS[sub] : undefined;
  if (cmd === undefined) {
    log.error(`${sub}: invalid sub-command.`);
    return PARAMETER_ERROR;
  }
  const out: string[] = [];
  const alarm = setTimeout(() => {
    writeStdout(out);
    Deno.exit(TIMEOUT);
  }, opts.alarmMs ?? 5000);
  const hb = new ApiClient({
    pid: Deno.pid,
    uid: geteuid(),
    gid: getegid(),
    node: Deno.hostname().toLowerCase(),
  });
  try {
    let rc: number;
    const signedOn = await hb.signon(opts.socketPath ?? nodePaths().apiSocket);
    const ctx: Ctx = { hb, signedOn, human: false, out, argv: args, optstr: cmd.optstr };
    if (!signedOn && cmd.needSignon) {
      log.error("Cannot signon with heartbeat");
      log.error(`REASON: ${hb.errmsg}`);
      rc = 1;
    } else {
      rc = await cmd.run(ctx);
    }
    if (signedOn) await hb.signoff();
    else hb.close();
    writeStdout(out);
    return rc;
  } finally {
    clearTimeout(alarm);
  }
}
