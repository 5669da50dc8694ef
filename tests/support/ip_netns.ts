/**
 * Test support for the IP agents: a throw-away network namespace `hbtest-<random>` with a
 * veth pair `v0`/`v1` (up), `198.18.77.1/24 brd +` on `v0`. Needs root; fails loudly
 * otherwise. Only 198.18.0.0/15 addresses, only inside the namespace.
 *
 * @module
 */
import type { AddrEntry, CommandOutput } from "../../agents/ip_agent.ts";
import { parseAddrJson } from "../../agents/ip_agent.ts";

const DENO = new URL("../../.tools/node_modules/.bin/deno", import.meta.url).pathname;

async function sh(argv: string[]): Promise<CommandOutput> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function must(argv: string[]): Promise<string> {
  const r = await sh(argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} failed (rc=${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** A network namespace made for one test. */
export class NetNs {
  /** Its name. */
  readonly name: string;
  /** Log file the command-line agent writes (HA_LOGFILE). */
  readonly logfile: string;

  private constructor(name: string) {
    this.name = name;
    this.logfile = Deno.makeTempFileSync({ prefix: "hb-ipagent-", suffix: ".log" });
  }

  /** Creates the namespace; throws (never skips) when not root. */
  static async create(): Promise<NetNs> {
    if (Deno.uid() !== 0) {
      throw new Error("IP agent tests need root (network namespaces); run them as root");
    }
    const name = `hbtest-${crypto.randomUUID().slice(0, 8)}`;
    await must(["ip", "netns", "add", name]);
    const ns = new NetNs(name);
    try {
      await must(["ip", "-n", name, "link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
      await must(["ip", "-n", name, "link", "set", "v0", "up"]);
      await must(["ip", "-n", name, "link", "set", "v1", "up"]);
      await must(["ip", "-n", name, "addr", "add", "198.18.77.1/24", "brd", "+", "dev", "v0"]);
    } catch (e) {
      await ns.destroy();
      throw e;
    }
    return ns;
  }

  /** Removes the namespace and the log file. */
  async destroy(): Promise<void> {
    await sh(["ip", "netns", "del", this.name]);
    try {
      Deno.removeSync(this.logfile);
    } catch {
      // the log file was never written or is removed already: nothing left to clean up
    }
  }

  /** Runs a command inside the namespace. */
  exec(argv: string[]): Promise<CommandOutput> {
    return sh(["ip", "netns", "exec", this.name, ...argv]);
  }

  /** Runs `agents/<file> <spec> <action>` inside the namespace with `ip netns exec`. */
  agent(file: "ipaddr.ts" | "ipaddr2.ts", spec: string, action: string): Promise<CommandOutput> {
    const script = new URL(`../../agents/${file}`, import.meta.url).pathname;
    return sh([
      "ip",
      "netns",
      "exec",
      this.name,
      "env",
      `HA_LOGFILE=${this.logfile}`,
      "HA_DATEFMT=%Y/%m/%d_%T\t",
      "OCF_RESKEY_ARP_BACKGROUND=no",
      "OCF_RESKEY_ARP_REPEAT=2",
      "OCF_RESKEY_ARP_INTERVAL_MS=50",
      DENO,
      "run",
      "-A",
      "--quiet",
      script,
      spec,
      action,
    ]);
  }

  /** The IPv4 addresses in the namespace. */
  async addrs(): Promise<AddrEntry[]> {
    return parseAddrJson(await must(["ip", "-n", this.name, "-j", "-4", "addr", "show"]));
  }

  /** The agent's log lines without their date. */
  logLines(): string[] {
    return Deno.readTextFileSync(this.logfile).split("\n").filter((l) => l !== "").map((l) =>
      l.replace(/^\S+ {2}/, "")
    );
  }

  /** Forgets the log lines so far. */
  clearLog(): void {
    Deno.writeTextFileSync(this.logfile, "");
  }
}
