/**
 * The built-in IP address agents (IPaddr, IPaddr2) used when no script of that name exists on
 * disk. They behave like Heartbeat's `resource.d/IPaddr` and `resource.d/IPaddr2` wrappers
 * around the OCF agents (spec config-and-cli §3.3, §3.4, §6.4), but with iproute2:
 *
 * - the netmask, interface and broadcast missing from the spec are derived from the routing
 *   table as findif does (the most specific link-scope route that covers the address:
 *   `ip -j -4 route list match <ip> scope link`), the broadcast from address and prefix;
 * - start runs `ip addr add A/bits brd B dev IF [label L]`; IPaddr always uses an alias label
 *   `IF:n` (the lowest free n), IPaddr2 only the label written as `IF:label` in the spec;
 *   the `eval ifconfig …` line of the real agent is replaced by the `ip` command we ran;
 * - after a start, gratuitous ARPs are sent (default 5, 200 ms apart; `OCF_RESKEY_ARP_REPEAT`,
 *   `OCF_RESKEY_ARP_INTERVAL_MS`; in the background unless `OCF_RESKEY_ARP_BACKGROUND=no`)
 *   with iputils `arping -U`, else `/usr/libexec/heartbeat/send_arp`, else a warning;
 * - status prints and logs `INFO:  Running OK` (exit 0) or `INFO:  Resource is stopped`
 *   (exit 7); start/stop print `INFO:  Success`; failures `ERROR:  Generic error` (exit 1) —
 *   the wrapper's words, with its double blank (its resource-type variable is empty).
 *
 * IPaddr counts an address as its own only when it carries an alias label (`IF:…`), like
 * the real agent, which finds its addresses through `ifconfig` aliases; so a stop never
 * removes an interface's primary address. IPaddr2 counts the address on the configured
 * interface (any interface when none is configured).
 *
 * @module
 */
import { formatScriptLogfileLine, formatScriptStderrLine, scriptTag } from "../logging/format.ts";
import { isExecutableFile } from "../sys/files.ts";
import type { AgentOptions, AgentResult, BuiltinAgent, Env, ScriptLogger } from "./types.ts";
import {
  bitsToMask,
  broadcastOf,
  type IpSpec,
  isIpv4,
  netmaskBits,
  parseIpSpec,
} from "../config/ip_spec.ts";

/** Which agent. */
export type IpFlavor = "IPaddr" | "IPaddr2";

/** Output of one external command. */
export interface CommandOutput {
  /** Exit code (127 when the program is missing). */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Runs `argv[0] argv[1…]` and collects its output. */
export type CommandRunner = (argv: string[], signal?: AbortSignal) => Promise<CommandOutput>;

/** Options of the IP agents. */
export interface IpAgentOptions extends AgentOptions {
  /** Runs `ip`, `arping`, `send_arp`. Default: {@link runCommand}. */
  run?: CommandRunner;
  /** Path of iputils `arping`; null = do not use; absent = look in the usual places. */
  arping?: string | null;
  /** Path of Heartbeat's `send_arp`; null = do not use; absent = the installed one if any. */
  sendArp?: string | null;
}

/** Default {@link CommandRunner}: `Deno.Command`, output piped, never throws. */
export async function runCommand(argv: string[], signal?: AbortSignal): Promise<CommandOutput> {
  try {
    const out = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal,
    }).output();
    const dec = new TextDecoder();
    return {
      code: out.signal !== null ? 128 + 9 : out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  } catch (e) {
    return { code: 127, stdout: "", stderr: `${argv[0]}: ${(e as Error).message}` };
  }
}

/** OCF exit codes used here. */
const OCF_SUCCESS = 0;
const OCF_ERR_GENERIC = 1;
const OCF_ERR_ARGS = 2;
const OCF_ERR_UNIMPLEMENTED = 3;
const OCF_ERR_CONFIGURED = 6;
const OCF_NOT_RUNNING = 7;

/** Heartbeat's send_arp. */
export const SEND_ARP = "/usr/libexec/heartbeat/send_arp";
const ARPING_PLACES = ["/usr/sbin/arping", "/usr/bin/arping", "/sbin/arping", "/bin/arping"];
const IFNAMSIZ_MAX = 15;

let iputilsArping: Promise<string | null> | undefined;

/** Finds iputils' arping (other arpings take other options); the answer is cached. */
function findArping(run: CommandRunner): Promise<string | null> {
  iputilsArping ??= (async () => {
    for (const p of ARPING_PLACES) {
      if (!isExecutableFile(p)) continue;
      try {
        const v = await run([p, "-V"]);
        return `${v.stdout}${v.stderr}`.includes("iputils") ? p : null;
      } catch {
        return null;
      }
    }
    return null;
  })();
  return iputilsArping;
}

/** One IPv4 address as `ip -j addr` shows it. */
export interface AddrEntry {
  /** Interface name. */
  dev: string;
  /** Address. */
  local: string;
  /** Prefix length. */
  prefixlen: number;
  /** Broadcast, if any. */
  broadcast?: string;
  /** Label (`eth0`, `eth0:0`). */
  label: string;
  /** The interface is administratively up. */
  up: boolean;
}

interface IpLink {
  ifname: string;
  flags?: string[];
  addr_info?: {
    family?: string;
    local?: string;
    prefixlen?: number;
    broadcast?: string;
    label?: string;
  }[];
}

/** The IPv4 addresses in `ip -j addr show` output. */
export function parseAddrJson(json: string): AddrEntry[] {
  return addrEntries(JSON.parse(json) as IpLink[]);
}

/** The IPv4 addresses of parsed `ip -j addr show` links. */
function addrEntries(links: IpLink[]): AddrEntry[] {
  const out: AddrEntry[] = [];
  for (const l of links) {
    for (const a of l.addr_info ?? []) {
      if (a.family !== "inet" || a.local === undefined) continue;
      out.push({
        dev: l.ifname,
        local: a.local,
        prefixlen: a.prefixlen ?? 32,
        broadcast: a.broadcast,
        label: a.label ?? l.ifname,
        up: (l.flags ?? []).includes("UP"),
      });
    }
  }
  return out;
}

/** A route as `ip -j route list` shows it. */
interface RouteEntry {
  dst: string;
  dev?: string;
}

/**
 * findif's choice among `ip -j -4 route list match <ip> scope link` entries: the most
 * specific route through `nic` (any interface when absent) that is not the default route.
 */
export function pickRoute(
  json: string,
  nic?: string,
): { dev: string; bits: number } | null {
  const routes = JSON.parse(json) as RouteEntry[];
  let best: { dev: string; bits: number } | null = null;
  for (const r of routes) {
    if (r.dst === "default" || r.dev === undefined) continue;
    if (nic !== undefined && r.dev !== nic) continue;
    const bits = r.dst.includes("/") ? Number(r.dst.split("/")[1]) : 32;
    if (best === null || bits > best.bits) best = { dev: r.dev, bits };
  }
  return best;
}

/** Everything needed to add the address. */
interface Target {
  nic: string;
  bits: number;
  broadcast?: string;
  calculatedMask: boolean;
}

class Agent {
  readonly flavor: IpFlavor;
  readonly spec: IpSpec;
  readonly env: Env;
  readonly tag: string;
  readonly run: CommandRunner;
  readonly logger?: ScriptLogger;
  readonly opts: IpAgentOptions;

  constructor(flavor: IpFlavor, spec: IpSpec, env: Env, opts: IpAgentOptions) {
    this.flavor = flavor;
    this.spec = spec;
    this.env = env;
    this.opts = opts;
    this.logger = opts.logger;
    this.tag = scriptTag(flavor, opts.pid ?? Deno.pid, `${flavor}_${spec.ip}`);
    this.run = (argv) => (opts.run ?? runCommand)(argv, opts.signal);
  }

  log(text: string): void {
    this.logger?.script(this.tag, "", text);
  }

  async addrs(): Promise<AddrEntry[]> {
    return parseAddrJson(await this.addrShow());
  }

  /** `ip -j addr show` (every link with its flags, whatever addresses it has). */
  async addrShow(): Promise<string> {
    const r = await this.run(["ip", "-j", "addr", "show"]);
    if (r.code !== 0) {
      throw new Error(`ip -j addr show failed (rc=${r.code}): ${r.stderr.trim()}`);
    }
    return r.stdout;
  }

  /** The addresses this agent counts as its own. */
  mine(all: AddrEntry[]): AddrEntry[] {
    const { ip, nic } = this.spec;
    return all.filter((a) => {
      if (a.local !== ip) return false;
      if (this.flavor === "IPaddr") return a.label.includes(":");
      return nic === undefined || a.dev === nic;
    });
  }

  /** OCF status code. */
  async status(): Promise<number> {
    return this.statusOf(await this.addrs());
  }

  /** OCF status code from the addresses on this node. */
  statusOf(all: AddrEntry[]): number {
    const found = this.mine(all);
    if (found.length === 0) return OCF_NOT_RUNNING;
    const nic = this.spec.nic;
    if (this.flavor === "IPaddr" && nic !== undefined && found[0].dev !== nic) {
      this.log(
        `ERROR: ${this.spec.ip} is running an interface (${
          found[0].dev
        }) instead of the configured one (${nic})`,
      );
      return OCF_ERR_GENERIC;
    }
    return OCF_SUCCESS;
  }

  /** findif: interface, prefix and broadcast; null after logging when impossible. */
  async target(): Promise<Target | null> {
    const { ip, netmask, nic, broadcast } = this.spec;
    let bits: number | null = null;
    if (netmask !== undefined) {
      bits = netmaskBits(netmask);
      if (bits === null) {
        this.log(`ERROR: Invalid netmask [${netmask}] for ${ip}`);
        return null;
      }
    }
    if (broadcast !== undefined && !isIpv4(broadcast)) {
      this.log(`ERROR: Invalid broadcast address [${broadcast}] for ${ip}`);
      return null;
    }
    let dev = nic;
    if (dev === undefined || bits === null) {
      const r = await this.run(["ip", "-j", "-4", "route", "list", "match", ip, "scope", "link"]);
      const route = r.code === 0 ? pickRoute(r.stdout, nic) : null;
      if (route === null) {
        this.log(
          `ERROR: Unable to find nic or netmask for ${ip}: no link-scope route covers it${
            nic === undefined ? "" : ` on ${nic}`
          }`,
        );
        return null;
      }
      dev ??= route.dev;
      bits ??= route.bits;
    }
    const brd = broadcast ?? (bits <= 30 ? broadcastOf(ip, bits) : undefined);
    return { nic: dev, bits, broadcast: brd, calculatedMask: netmask === undefined };
  }

  async start(): Promise<number> {
    // the failover time is spent here: one `ip addr show` (status, labels in use, link flags)
    // and the route lookup run side by side, then `ip addr add` and the ARPs at once
    if (this.opts.arping === undefined) void findArping(this.opts.run ?? runCommand);
    const [shown, t] = await Promise.all([this.addrShow(), this.target()]);
    const links = JSON.parse(shown) as IpLink[];
    const all = addrEntries(links);
    if (this.statusOf(all) === OCF_SUCCESS) return OCF_SUCCESS;
    if (t === null) return OCF_ERR_GENERIC;
    const { ip } = this.spec;
    if (t.calculatedMask) {
      this.log(`INFO: Using calculated netmask for ${ip}: ${bitsToMask(t.bits)}`);
    }
    let label = this.spec.label;
    if (this.flavor === "IPaddr" && label === undefined) {
      const used = new Set(all.filter((a) => a.dev === t.nic).map((a) => a.label));
      let j = 0;
      while (used.has(`${t.nic}:${j}`)) j++;
      label = `${t.nic}:${j}`;
    }
    if (label !== undefined && label.length > IFNAMSIZ_MAX) {
      this.log(`ERROR: Interface label [${label}] exceeds maximum character limit of 15`);
      return OCF_ERR_CONFIGURED;
    }
    const link = links.find((l) => l.ifname === t.nic);
    if (link === undefined) {
      this.log(`ERROR: No such interface ${t.nic} for ${ip}: Device "${t.nic}" does not exist.`);
      return OCF_ERR_GENERIC;
    }
    if (!(link.flags ?? []).includes("UP")) {
      const up = ["ip", "link", "set", "dev", t.nic, "up"];
      this.log(`INFO: ${up.join(" ")}`);
      const r = await this.run(up);
      if (r.code !== 0) {
        this.log(`ERROR: ${up.join(" ")} failed (rc=${r.code}): ${r.stderr.trim()}`);
        return OCF_ERR_GENERIC;
      }
    }
    const add = ["ip", "addr", "add", `${ip}/${t.bits}`];
    if (t.broadcast !== undefined) add.push("brd", t.broadcast);
    add.push("dev", t.nic);
    if (label !== undefined) add.push("label", label);
    this.log(`INFO: ${add.join(" ")}`);
    const r = await this.run(add);
    if (r.code !== 0) {
      this.log(`ERROR: ${add.join(" ")} failed (rc=${r.code}): ${r.stderr.trim()}`);
      this.log(`ERROR: Could not add ${ip} to ${t.nic}: rc=${r.code}`);
      return OCF_ERR_GENERIC;
    }
    const arp = this.sendArps(t.nic);
    if ((this.env.OCF_RESKEY_ARP_BACKGROUND ?? "yes").toLowerCase() === "no") await arp;
    return OCF_SUCCESS;
  }

  /** Gratuitous ARPs for the address on `nic`; never rejects. */
  async sendArps(nic: string): Promise<void> {
    const { ip } = this.spec;
    const repeat = positiveInt(this.env.OCF_RESKEY_ARP_REPEAT) ?? 5;
    const interval = positiveInt(this.env.OCF_RESKEY_ARP_INTERVAL_MS) ?? 200;
    try {
      const arping = this.opts.arping !== undefined
        ? this.opts.arping
        : await findArping(this.opts.run ?? runCommand);
      if (arping !== null) {
        // iputils arping cannot space packets by less than a second: one per process.
        const runs: Promise<CommandOutput>[] = [];
        for (let i = 0; i < repeat; i++) {
          if (i > 0) await new Promise((r) => setTimeout(r, interval));
          runs.push(this.run([arping, "-U", "-c", "1", "-w", "1", "-I", nic, ip]));
        }
        const bad = (await Promise.all(runs)).find((o) => o.code !== 0);
        if (bad !== undefined) {
          this.log(`ERROR: Could not send gratuitous arps. rc=${bad.code}`);
        }
        return;
      }
      const sendArp = this.sendArpPath();
      if (sendArp !== null) {
        await this.sendArp(sendArp, nic, "auto", { interval, repeat, pidName: "send_arp" });
        return;
      }
      this.log(
        `WARN: Could not send gratuitous arps for ${ip}: neither iputils arping nor ${SEND_ARP} found`,
      );
    } catch (e) {
      this.log(`ERROR: Could not send gratuitous arps: ${(e as Error).message}`);
    }
  }

  /** Heartbeat's `send_arp` if installed (or as the options say), else null. */
  sendArpPath(): string | null {
    if (this.opts.sendArp !== undefined) return this.opts.sendArp;
    return isExecutableFile(SEND_ARP) ? SEND_ARP : null;
  }

  /**
   * Gratuitous ARPs for the address on `nic` by `send_arp`, with hardware address `mac`
   * (`auto`: the interface's own); true when it succeeded, else logged.
   */
  async sendArp(
    sendArp: string,
    nic: string,
    mac: string,
    o: { interval: number; repeat: number; pidName: string },
  ): Promise<boolean> {
    const { ip } = this.spec;
    const dir = this.env.HA_RSCTMP ?? "/run/resource-agents";
    // a directory that cannot be made shows as send_arp failing on its pid file below
    await Deno.mkdir(dir, { recursive: true }).catch(() => undefined);
    const r = await this.run([
      sendArp,
      "-i",
      String(o.interval),
      "-r",
      String(o.repeat),
      "-p",
      `${dir}/${o.pidName}-${ip}`,
      nic,
      ip,
      mac,
      ip,
      "ffffffffffff",
    ]);
    if (r.code !== 0) this.log(`ERROR: Could not send gratuitous arps. rc=${r.code}`);
    return r.code === 0;
  }

  async stop(): Promise<number> {
    const { ip } = this.spec;
    for (const a of this.mine(await this.addrs())) {
      const del = ["ip", "addr", "del", `${ip}/${a.prefixlen}`, "dev", a.dev];
      this.log(`INFO: ${del.join(" ")}`);
      const r = await this.run(del);
      if (r.code !== 0) {
        this.log(`ERROR: ${del.join(" ")} failed (rc=${r.code}): ${r.stderr.trim()}`);
        this.log(`WARN: IP Address ${ip} NOT released: rc=${r.code}`);
        return OCF_ERR_GENERIC;
      }
    }
    return OCF_SUCCESS;
  }
}

function positiveInt(v: string | undefined): number | null {
  if (v === undefined || !/^[0-9]+$/.test(v.trim())) return null;
  const n = parseInt(v, 10);
  return n > 0 ? n : null;
}

/** The wrapper's closing line for an OCF code (its resource type is empty: two blanks). */
export function resultLine(action: string, code: number): string {
  switch (code) {
    case OCF_SUCCESS:
      return action === "status" || action === "monitor" ? "INFO:  Running OK" : "INFO:  Success";
    case OCF_ERR_GENERIC:
      return "ERROR:  Generic error";
    case OCF_ERR_ARGS:
      return "ERROR:  Illegal argument";
    case OCF_ERR_UNIMPLEMENTED:
      return "ERROR:  Function unimplemented";
    case OCF_ERR_CONFIGURED:
      return "ERROR:  Program is not configured";
    case OCF_NOT_RUNNING:
      return "INFO:  Resource is stopped";
    default:
      return `ERROR:  Unknown error: ${code}`;
  }
}

function usage(flavor: IpFlavor): string {
  return flavor === "IPaddr"
    ? "usage: IPaddr <ip-address> (start|stop|status|usage|meta-data)\n"
    : "usage: IPaddr2 ip-address[/netmaskbits[/interface[:label][/broadcast]]] (start|stop|status|usage|meta-data)\n";
}

/**
 * Runs `<flavor> <spec> <action>`: `args` must be exactly the IP spec, `action` one of
 * `start`, `stop`, `status` (`monitor` is the same), `usage`. Never throws.
 */
export async function runIpAgent(
  flavor: IpFlavor,
  args: string[],
  action: string,
  env: Env,
  opts: IpAgentOptions = {},
): Promise<AgentResult> {
  if (args.length !== 1) return { code: 1, stdout: usage(flavor) };
  if (action === "usage" || action === "help") return { code: 0, stdout: usage(flavor) };
  const spec = parseIpSpec(args[0]);
  const tag = scriptTag(flavor, opts.pid ?? Deno.pid, `${flavor}_${args[0].replace(/\/.*/s, "")}`);
  const finish = (code: number): AgentResult => {
    const line = resultLine(action, code);
    opts.logger?.script(tag, "", line);
    return { code, stdout: `${line}\n` };
  };
  if (!["start", "stop", "status", "monitor"].includes(action)) {
    const line = `ERROR: Unknown operation: ${action}`;
    opts.logger?.script(tag, "", line);
    return { code: 1, stdout: `${line}\n${usage(flavor)}` };
  }
  if (spec === null) {
    opts.logger?.script(tag, "", `ERROR: Parameter OCF_RESKEY_ip [${args[0]}] not an IP address`);
    return finish(OCF_ERR_CONFIGURED);
  }
  const agent = new Agent(flavor, spec, env, opts);
  try {
    switch (action) {
      case "start":
        return finish(await agent.start());
      case "stop":
        return finish(await agent.stop());
      default:
        return finish(await agent.status());
    }
  } catch (e) {
    agent.log(`ERROR: ${(e as Error).message}`);
    return finish(OCF_ERR_GENERIC);
  }
}

/** `arping`'s answer line: `Unicast reply from 198.18.0.100 [02:AA:BB:CC:DD:EE]  0.5ms`. */
const ARPING_REPLY = /reply from \S+ \[([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})\]/;

/**
 * The hardware address that answers ARP for `ip` on `nic` (iputils arping, two probes within
 * two seconds), or null when nobody answers or arping is missing.
 */
export async function arpHolder(
  arping: string,
  nic: string,
  ip: string,
  run: CommandRunner,
): Promise<string | null> {
  const o = await run([arping, "-c", "2", "-w", "2", "-f", "-I", nic, ip]);
  const m = ARPING_REPLY.exec(o.stdout);
  return m === null ? null : m[1].toLowerCase();
}

/**
 * hb: after this host released an IPv4 service address to a node that keeps running it without
 * announcing it (a real Heartbeat 3.0.6 peer, which resolves no duplicate and sends no ARP for an
 * address it already has), announces the address for that node: asks who has it (iputils
 * arping) and sends Heartbeat's `send_arp` gratuitous ARPs carrying the answer's hardware address,
 * so clients whose neighbour entry still names this host move to the holder at once instead of
 * when the entry expires (~20 s). Returns whether it announced; logs why not. Never throws.
 */
export function announceForHolder(
  flavor: IpFlavor,
  specText: string,
  env: Env,
  opts: IpAgentOptions = {},
): Promise<boolean> {
  return withAgent(flavor, specText, env, opts, "announce for its holder", async (agent) => {
    const { ip } = agent.spec;
    if (agent.mine(await agent.addrs()).length > 0) return false;
    const t = await agent.target();
    if (t === null) return false;
    const arping = opts.arping !== undefined
      ? opts.arping
      : await findArping(opts.run ?? runCommand);
    const sendArp = agent.sendArpPath();
    if (arping === null || sendArp === null) {
      agent.log(`WARN: cannot announce ${ip} for its holder: needs iputils arping and ${SEND_ARP}`);
      return false;
    }
    const mac = await arpHolder(arping, t.nic, ip, agent.run);
    if (mac === null) {
      agent.log(`WARN: cannot announce ${ip} for its holder: no node answers ARP for it`);
      return false;
    }
    agent.log(`INFO: announcing ${ip} on ${t.nic} for its holder ${mac} (gratuitous ARP)`);
    return await agent.sendArp(sendArp, t.nic, mac.replaceAll(":", ""), {
      interval: REANNOUNCE_ARP_INTERVAL_MS,
      repeat: REANNOUNCE_ARP_REPEAT,
      pidName: "send_arp-holder",
    });
  });
}

/**
 * As many gratuitous ARPs, and as far apart, as the installed IPaddr's send_arp sends (10 x
 * 500 ms) when an address is announced again outside a start: the side that released it may
 * still be announcing itself for a few seconds, and a neighbour entry changes at most once a
 * second (locktime).
 */
const REANNOUNCE_ARP_REPEAT = 10;
/** See {@link REANNOUNCE_ARP_REPEAT}. */
const REANNOUNCE_ARP_INTERVAL_MS = 500;

/**
 * Runs `fn` with an agent for `specText` (false when it is no IP spec); an error is logged as
 * "cannot `what` ADDRESS" and gives false.
 */
async function withAgent(
  flavor: IpFlavor,
  specText: string,
  env: Env,
  opts: IpAgentOptions,
  what: string,
  fn: (agent: Agent) => Promise<boolean>,
): Promise<boolean> {
  const spec = parseIpSpec(specText);
  if (spec === null) return false;
  const agent = new Agent(flavor, spec, env, opts);
  try {
    return await fn(agent);
  } catch (e) {
    agent.log(`ERROR: cannot ${what} ${spec.ip}: ${(e as Error).message}`);
    return false;
  }
}

/**
 * hb: sends gratuitous ARPs for an IPv4 address this host already serves (any label, any
 * interface), the way a start announces it. Used by the node that keeps a service address after
 * a healed split brain: the other side released it without a restart, so no start announced
 * the address again and clients would keep the released side's hardware address until their
 * neighbour entry expired. Returns false (and sends nothing) when the address is not configured
 * here or `specText` is no IP spec. Never throws.
 */
export function reannounceIp(
  flavor: IpFlavor,
  specText: string,
  env: Env,
  opts: IpAgentOptions = {},
): Promise<boolean> {
  const arpEnv: Env = {
    OCF_RESKEY_ARP_REPEAT: String(REANNOUNCE_ARP_REPEAT),
    OCF_RESKEY_ARP_INTERVAL_MS: String(REANNOUNCE_ARP_INTERVAL_MS),
    ...env,
  };
  return withAgent(flavor, specText, arpEnv, opts, "re-announce", async (agent) => {
    const mine = agent.mine(await agent.addrs());
    if (mine.length === 0) return false;
    agent.log(`INFO: re-announcing ${agent.spec.ip} on ${mine[0].dev} (gratuitous ARP)`);
    const arp = agent.sendArps(mine[0].dev);
    if ((arpEnv.OCF_RESKEY_ARP_BACKGROUND ?? "yes").toLowerCase() === "no") await arp;
    return true;
  });
}

/** A logger for running an agent from the command line: `HA_LOGFILE` if set, else stderr. */
export function commandLineLogger(env: Env): ScriptLogger {
  const haDate = env.HA_DATEFMT !== undefined;
  return {
    script(tag, prio, text) {
      const t = prio === "" ? text : `${prio}: ${text}`;
      const file = env.HA_LOGFILE;
      if (file !== undefined && file !== "") {
        Deno.writeTextFileSync(file, `${formatScriptLogfileLine(new Date(), tag, t, haDate)}\n`, {
          append: true,
        });
      } else {
        console.error(formatScriptStderrLine(new Date(), t, haDate));
      }
    },
    debug() {},
  };
}

/** The in-process runner of `flavor` (`agents/ipaddr.ts`, `agents/ipaddr2.ts`). */
export function ipAgentRunner(flavor: IpFlavor): BuiltinAgent<IpAgentOptions> {
  return (args, action, env, opts) => runIpAgent(flavor, args, action, env, opts);
}

/**
 * Command-line entry of both agents: `<agent> <spec> <action>`. Prints the agent's standard
 * output and returns its exit code.
 */
export async function ipAgentMain(flavor: IpFlavor, argv: string[]): Promise<number> {
  const env = Deno.env.toObject();
  const action = argv.length > 0 ? argv[argv.length - 1] : "";
  const res = await runIpAgent(flavor, argv.slice(0, -1), action, env, {
    logger: commandLineLogger(env),
  });
  await Deno.stdout.write(new TextEncoder().encode(res.stdout));
  return res.code;
}
