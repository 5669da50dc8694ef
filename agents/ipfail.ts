/**
 * `ipfail`: Heartbeat 3.0.6's IP-failover client (spec api.md §8, behavior.md §8,
 * config-and-cli.md §6.6.15), a named API client (`from_id=ipfail`) started by the daemon from
 * `respawn hacluster <path to ipfail>`.
 *
 * It compares how many ping nodes each side of a two-node cluster can see. When this node sees
 * fewer, it gives its resources away with a standby request (`ask_resources rsc_hold=all
 * info=me`); when the counts are balanced again and `auto_failback` is on, the node holding
 * foreign resources gives those back (`rsc_hold=foreign`).
 *
 * Same protocol as the C client, so either may run on either node:
 *
 * - start-up: `signon` as `ipfail`, `getrsc` (no resource management → exit 100),
 *   `getparm auto_failback` (`legacy` or not a boolean → exit 100), `getparm coreroot`,
 *   `setfilter fmask=1`, `nodelist` (the partner is the other `normal` node), `setsignal 0`;
 * - messages to the partner `num_ping_nodes` (`src`, `num_ping`), `you_are_dead`,
 *   `abort_giveup` (`src`), and to the cluster `ask_resources` (`rsc_hold`, `src`, `info=me`);
 * - reactions: node status (`status`/`NS_st`), link status (`ifstat`), the partner ipfail's
 *   `hbapi-clstat join`, `num_ping_nodes`, `you_are_dead`, `abort_giveup`, the partner's
 *   `resource` stability reports;
 * - the delayed give-up: one timer of 2 × keepalive, restarted by each new give-up; when it
 *   fires, `getrsc`, and unless the answer is `transition` the standby request; otherwise the
 *   standby waits for the partner's next stable report, then (after the C client's blocking
 *   10 s pause) the ping counts are compared again;
 * - the log lines (entity `ipfail`, info unless noted), and the C client's glib source ids in
 *   `Aborted delayed giveup (<id>)` (the first give-up timer is source 3);
 * - SIGTERM/SIGINT: `signoff` at the next 1 s tick, exit 0; if the daemon goes away the
 *   client stays idle (the C client does not notice).
 *
 * Logging is inherited from the daemon's environment as cluster-glue's
 * `cl_inherit_logging_environment` does (`HA_logfile`, `HA_debugfile`, `HA_logfacility`,
 * `HA_debug`, `HA_syslogmsgfmt`); debug lines go to the debug file only.
 *
 * @module
 */

import { ApiClient, type NodeEntry } from "../api/client.ts";
import { atoi } from "../api/c_parse.ts";
import { configureLogging, log, setStderr } from "../logging/mod.ts";
import { nodePaths } from "../config/paths.ts";
import { getegid, geteuid } from "../sys/libc.ts";
import { Message } from "../wire/message.ts";

/** Exit code that tells the daemon not to respawn the client. */
export const EXIT_NO_RESPAWN = 100;

/** glib id of the first source ipfail creates after its API and 1 s tick sources. */
const FIRST_TIMER_SOURCE = 3;

/** cluster-glue's cl_str_to_boolean: true/false words, or undefined when not a boolean. */
export function strToBoolean(s: string): boolean | undefined {
  const v = s.toLowerCase();
  if (["true", "on", "yes", "y", "1"].includes(v)) return true;
  if (["false", "off", "no", "n", "0"].includes(v)) return false;
  return undefined;
}

/** What {@link Ipfail} needs from the API connection (an {@link ApiClient} in production). */
export interface IpfailApi {
  /** Sign-on data (node name, keepalive). */
  readonly info: { node: string; keepaliveMs: number };
  /** Error text of the last call. */
  readonly errmsg: string;
  /** True once the daemon closed the connection. */
  readonly closed: boolean;
  /** `getrsc`: rsc_hold or undefined. */
  resources(): Promise<string | undefined>;
  /** `getparm`. */
  parameter(name: string): Promise<string | undefined>;
  /** `nodelist` in library order. */
  nodeList(): Promise<NodeEntry[] | undefined>;
  /** One request with its answer. */
  call(reqtype: string, extra?: [string, string][]): Promise<Message | undefined>;
  /** Next asynchronous message, undefined on timeout/EOF. */
  nextMessage(timeoutMs?: number): Promise<Message | undefined>;
  /** sendclustermsg / sendnodemsg. */
  sendMessage(msg: Message, node?: string): Promise<boolean>;
  /** `signoff` and close. */
  signoff(): Promise<void>;
}

/** A pending delayed give-up. */
interface Giveup {
  /** glib source id (as the C client would get it). */
  readonly tag: number;
  /** Resource class to give up: `all` or `foreign`. */
  readonly resType: string;
  /** When it fires (performance.now() ms). */
  readonly at: number;
}

/** Thrown to end the process with an exit code (the C client's `exit(n)`). */
class IpfailExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** The ipfail state machine over a signed-on API connection. */
export class Ipfail {
  readonly #hb: IpfailApi;
  #nodeName = "";
  #otherNode = "";
  #autoFailback = false;
  #nodeStable = 0;
  #needStandby = false;
  #quit = false;
  #giveup: Giveup | undefined;
  #nextSource = FIRST_TIMER_SOURCE;
  #wake: (() => void) | undefined;

  readonly #standbyPauseMs: number;

  /**
   * Wraps a connection that has already signed on as `ipfail`. `standbyPauseMs` is the C
   * client's blocking pause before a pending standby is reconsidered (10 s; tests shorten it).
   */
  constructor(hb: IpfailApi, opts: { standbyPauseMs?: number } = {}) {
    this.#hb = hb;
    this.#standbyPauseMs = opts.standbyPauseMs ?? 10_000;
  }

  /** The partner node (empty until the node walk found one). */
  get otherNode(): string {
    return this.#otherNode;
  }

  /** Asks the event loop to end at its next 1 s tick (SIGTERM/SIGINT). */
  requestQuit(): void {
    this.#quit = true;
    this.#wake?.();
  }

  #fail(code: number, ...lines: string[]): never {
    for (const l of lines) log.error(l);
    throw new IpfailExit(code);
  }

  /**
   * The start-up sequence after sign-on (`getrsc`, `auto_failback`, `coreroot`, filter, node
   * walk, signal). Returns 0, or the exit code of the step that failed.
   */
  async setup(): Promise<number> {
    try {
      const hb = this.#hb;
      this.#nodeStable = await this.#isStable();
      if (this.#nodeStable === -1) this.#fail(EXIT_NO_RESPAWN, "No managed resources");
      this.#nodeName = hb.info.node;
      log.debug(`[We are ${this.#nodeName}]`);
      const afb = await hb.parameter("auto_failback");
      if (afb !== undefined) {
        if (afb === "legacy") {
          this.#fail(EXIT_NO_RESPAWN, "auto_failback set to incompatible legacy option.");
        }
        const b = strToBoolean(afb);
        if (b === undefined) this.#fail(EXIT_NO_RESPAWN, ` invalid auto_faiback value(${afb})`);
        this.#autoFailback = b;
        log.debug(`auto_failback -> ${b ? 1 : 0} (${afb})`);
      } else {
        log.error("Couldn't get auto_failback setting.");
      }
      changeToCoreDir(await hb.parameter("coreroot"));
      log.debug("Setting message filter mode");
      const f = await hb.call("setfilter", [["fmask", "1"]]);
      if (f?.get("result") !== "OK") {
        this.#fail(8, "Cannot set filter mode", `REASON: ${hb.errmsg}`);
      }
      await this.#nodeWalk();
      log.debug("Setting message signal");
      const s = await hb.call("setsignal", [["signal", "0"]]);
      if (s?.get("result") !== "OK") {
        this.#fail(13, "Cannot set message signal", `REASON: ${hb.errmsg}`);
      }
      return 0;
    } catch (e) {
      if (e instanceof IpfailExit) return e.code;
      throw e;
    }
  }

  /**
   * The main loop: messages as they arrive (they come first, as the C client's API source has
   * the higher glib priority), the give-up timer, and a 1 s tick that ends the loop after
   * {@link Ipfail.requestQuit}. Returns the exit code.
   */
  async run(): Promise<number> {
    const hb = this.#hb;
    log.debug("Waiting for messages...");
    let nextTick = performance.now() + 1000;
    try {
      while (true) {
        const now = performance.now();
        const until = Math.min(nextTick, this.#giveup?.at ?? Infinity);
        if (!hb.closed) {
          const m = await hb.nextMessage(Math.max(0, until - now));
          if (m !== undefined) {
            await this.dispatch(m);
            continue;
          }
        }
        if (hb.closed) await this.#sleep(until - performance.now());
        const t = performance.now();
        const g = this.#giveup;
        if (g !== undefined && t >= g.at) {
          await this.#giveupFired(g);
        }
        if (t >= nextTick) {
          nextTick += 1000;
          if (nextTick <= t) nextTick = t + 1000;
          if (this.#quit) break;
        }
      }
      await hb.signoff();
      return 0;
    } catch (e) {
      if (e instanceof IpfailExit) return e.code;
      throw e;
    }
  }

  /** Sleeps `ms` unless a quit request comes first. */
  #sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }

  /** Handles one asynchronous message as the client library's callbacks would. */
  async dispatch(msg: Message): Promise<void> {
    const type = msg.get("t");
    if (type === undefined) return;
    const t = type.toLowerCase();
    if (t === "status" || t === "ns_st") {
      await this.#nodeStatus(msg.get("src") ?? "(null)", msg.get("st") ?? "(null)");
    } else if (t === "ifstat") {
      await this.#linkStatus(
        msg.get("node") ?? "(null)",
        msg.get("ifname") ?? "(null)",
        msg.get("st") ?? "(null)",
      );
    } else if (type === "hbapi-clstat") {
      await this.#ipfailJoin(msg);
    } else if (type === "resource") {
      await this.#resources(msg);
    } else if (type === "num_ping_nodes") {
      await this.#pingNodes(msg);
    } else if (type === "abort_giveup") {
      this.#abortGiveup();
    } else if (type === "you_are_dead") {
      log.info("Giving up because we were told that we have less ping nodes.");
      this.#delayGiveup("all");
    }
  }

  // ---------------------------------------------------------------- callbacks

  async #nodeStatus(node: string, status: string): Promise<void> {
    log.info(`Status update: Node ${node} now has status ${status}`);
    if (status === "dead") {
      if (await this.#pingNodeCount()) log.info("NS: We are still alive!");
      else log.info("NS: We are dead. :<");
    } else if (status === "ping") {
      log.info("A ping node just came up.");
      await this.#askPingNodes(await this.#pingNodeCount());
    }
  }

  async #linkStatus(node: string, link: string, status: string): Promise<void> {
    log.info(`Link Status update: Link ${node}/${link} now has status ${status}`);
    if (status !== "dead") return;
    const n = await this.#pingNodeCount();
    if (n) {
      await this.#askPingNodes(n);
      log.info("Checking remote count of ping nodes.");
    } else {
      log.info("We are dead. :<");
      await this.#askPingNodes(n);
    }
  }

  async #ipfailJoin(msg: Message): Promise<void> {
    const src = msg.get("src");
    if (
      msg.get("st") === "join" && msg.get("from_id") === "ipfail" && src !== undefined &&
      src !== this.#nodeName
    ) {
      log.debug(`Got join message from another ipfail client. (${src})`);
      await this.#askPingNodes(await this.#pingNodeCount());
    }
  }

  async #resources(msg: Message): Promise<void> {
    const orig = msg.get("src");
    const isstable = msg.get("isstable");
    if (orig === undefined || isstable === undefined) return;
    if (orig === this.#otherNode && msg.get("info") === undefined && isstable === "1") {
      log.debug("Other side is now stable.");
      this.#nodeStable = 1;
      if (this.#needStandby) {
        // The C client sleeps here, blocking everything, to let the other side's
        // gratuitous ARPs finish; then it compares the counts again.
        await this.#sleep(this.#standbyPauseMs);
        await this.#askPingNodes(await this.#pingNodeCount());
        this.#needStandby = false;
      }
    } else if (orig === this.#otherNode && isstable === "0") {
      log.debug("Other side is unstable.");
      this.#nodeStable = 0;
    }
  }

  async #pingNodes(msg: Message): Promise<void> {
    log.debug("Got asked for num_ping.");
    const mine = await this.#pingNodeCount();
    const theirs = atoi(msg.get("num_ping") ?? "");
    if (mine > theirs) {
      log.info("Telling other node that we have more visible ping nodes.");
      log.debug("Sending you_are_dead.");
      await this.#hb.sendMessage(Message.fromStrings([["t", "you_are_dead"]]), this.#otherNode);
      log.debug("Message [you_are_dead] sent.");
    } else if (mine < theirs) {
      log.info("Giving up because we have less visible ping nodes.");
      this.#delayGiveup("all");
    } else {
      log.info("Ping node count is balanced.");
      await this.#hb.sendMessage(
        Message.fromStrings([["t", "abort_giveup"], ["src", this.#nodeName]]),
        this.#otherNode,
      );
      log.debug("Abort message sent.");
      if (this.#giveup !== undefined) {
        this.#abortGiveup();
      } else if (this.#autoFailback && await this.#isStable()) {
        log.info("Giving up foreign resources (auto_failback).");
        this.#delayGiveup("foreign");
      }
    }
  }

  // ---------------------------------------------------------------- give-up

  #delayGiveup(resType: string): void {
    const ms = this.#hb.info.keepaliveMs * 2;
    log.info(`Delayed giveup in ${Math.trunc(ms / 1000)} seconds.`);
    if (this.#giveup !== undefined) {
      log.debug("Detected existing delay timer, overriding");
      this.#destroyGiveup();
    }
    this.#giveup = { tag: this.#nextSource++, resType, at: performance.now() + ms };
  }

  #destroyGiveup(): void {
    this.#giveup = undefined;
    log.debug("giveup timeout has been destroyed.");
  }

  #abortGiveup(): void {
    const g = this.#giveup;
    if (g !== undefined) {
      log.info(`Aborted delayed giveup (${g.tag})`);
      this.#destroyGiveup();
    } else {
      log.info("No giveup timer to abort.");
    }
  }

  async #giveupFired(g: Giveup): Promise<void> {
    log.info("giveup() called (timeout worked)");
    if (await this.#isStable()) {
      const msg = Message.fromStrings([
        ["t", "ask_resources"],
        ["rsc_hold", g.resType],
        ["src", this.#nodeName],
        ["info", "me"],
      ]);
      await this.#hb.sendMessage(msg);
      log.debug("Message [ask_resources] sent.");
      this.#needStandby = false;
    } else {
      this.#needStandby = true;
    }
    if (this.#giveup === g) this.#destroyGiveup();
  }

  // ---------------------------------------------------------------- queries

  /** 1 when stable, 0 during a transition, -1 without resource management. */
  async #isStable(): Promise<number> {
    const r = await this.#hb.resources();
    if (r === undefined) return -1;
    return r === "transition" ? 0 : 1;
  }

  async #askPingNodes(count: number): Promise<void> {
    log.info("Asking other side for ping node count.");
    const msg = Message.fromStrings([
      ["t", "num_ping_nodes"],
      ["src", this.#nodeName],
      ["num_ping", String(count).slice(0, 4)],
    ]);
    await this.#hb.sendMessage(msg, this.#otherNode);
    log.debug("Message [num_ping] sent.");
  }

  /** Number of nodes whose status is `ping` (a fresh node walk). */
  async #pingNodeCount(): Promise<number> {
    const nodes = await this.#hb.nodeList();
    if (nodes === undefined) {
      this.#fail(16, "Cannot start node walk", `REASON: ${this.#hb.errmsg}`);
    }
    let found = 0;
    for (const n of nodes) {
      if (n.status === "ping") {
        log.debug(`Found ping node ${n.name}!`);
        found++;
      }
    }
    return found;
  }

  async #nodeWalk(): Promise<void> {
    log.debug("Starting node walk");
    const nodes = await this.#hb.nodeList();
    if (nodes === undefined) this.#fail(9, "Cannot start node walk", `REASON: ${this.#hb.errmsg}`);
    for (const n of nodes) {
      log.debug(`Cluster node: ${n.name}: status: ${n.status ?? "(null)"}`);
      if (n.type === "normal" && n.name !== this.#nodeName) {
        this.#otherNode = n.name;
        log.debug(`[They are ${n.name}]`);
      }
    }
  }
}

/** cl_cdtocoredir: work in `<coreroot>/<user>` (best effort, as the C client). */
function changeToCoreDir(coreroot: string | undefined): void {
  const root = coreroot ?? "/var/lib/heartbeat/cores";
  let user = String(geteuid());
  try {
    const uid = geteuid();
    const line = Deno.readTextFileSync("/etc/passwd").split("\n").find((l) =>
      l.split(":")[2] === String(uid)
    );
    if (line) user = line.split(":")[0];
  } catch {
    // /etc/passwd unreadable: `user` stays the numeric uid, used only to pick the directory below
  }
  try {
    Deno.chdir(`${root}/${user}`);
  } catch {
    // no such directory: the working directory only decides where a core dump lands
  }
}

function env(name: string): string | undefined {
  try {
    const v = Deno.env.get(name);
    return v === "" ? undefined : v;
  } catch {
    return undefined;
  }
}

/** Logging as cluster-glue's cl_inherit_logging_environment sets it up. */
function inheritLogging(): void {
  const facility = env("HA_logfacility") ?? "daemon";
  const syslogmsgfmt = env("HA_syslogmsgfmt");
  const debug = atoi(env("HA_debug") ?? "0");
  const opts = {
    entity: "ipfail",
    stderr: true,
    logfile: env("HA_logfile"),
    debugfile: env("HA_debugfile"),
    syslogmsgfmt: syslogmsgfmt === undefined ? undefined : strToBoolean(syslogmsgfmt),
    debugLevel: debug > 0 ? debug : undefined,
  };
  try {
    configureLogging({ ...opts, facility });
  } catch {
    configureLogging(opts); // an unknown facility name is ignored, as cl_syslogfac_str2int < 0
  }
}

/** Entry of `ipfail`: returns the exit code. */
export async function ipfailMain(_args: string[]): Promise<number> {
  inheritLogging();
  log.debug(`PID=${Deno.pid}`);
  const hb = new ApiClient({
    pid: Deno.pid,
    uid: geteuid(),
    gid: getegid(),
    node: Deno.hostname().toLowerCase(),
    clientId: "ipfail",
  });
  log.debug("Signing in with heartbeat");
  if (!(await hb.signon(nodePaths().apiSocket))) {
    log.error("Cannot sign on with heartbeat");
    log.error(`REASON: ${hb.errmsg}`);
    hb.close();
    return 1;
  }
  const ipfail = new Ipfail(hb);
  const code = await ipfail.setup();
  if (code !== 0) {
    hb.close();
    return code;
  }
  const quit = () => ipfail.requestQuit();
  Deno.addSignalListener("SIGTERM", quit);
  Deno.addSignalListener("SIGINT", quit);
  setStderr(false);
  try {
    return await ipfail.run();
  } finally {
    Deno.removeSignalListener("SIGTERM", quit);
    Deno.removeSignalListener("SIGINT", quit);
  }
}
