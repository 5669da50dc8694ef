import { assertEquals } from "../tests/assert.ts";
import type { AddrEntry } from "../agents/ip_agent.ts";
import { runIpaddr } from "../agents/ipaddr.ts";
import { NetNs } from "../tests/support/ip_netns.ts";
import { ResourceManager } from "./manager.ts";
import { group, RecordingLogger } from "../tests/support/resources.ts";

function pick(addrs: AddrEntry[], ip: string): AddrEntry[] {
  return addrs.filter((a) => a.local === ip);
}

Deno.test("ResourceManager with the built-in IPaddr in a namespace (no script on disk)", async () => {
  const ns = await NetNs.create();
  const dir = Deno.makeTempDirSync({ prefix: "hb-rm-ip-" });
  try {
    const inNs = (argv: string[]) =>
      new Deno.Command("ip", {
        args: ["netns", "exec", ns.name, ...argv],
        stdout: "piped",
        stderr: "piped",
      })
        .output().then((o) => ({
          code: o.code,
          stdout: new TextDecoder().decode(o.stdout),
          stderr: new TextDecoder().decode(o.stderr),
        }));
    const log = new RecordingLogger();
    const rm = new ResourceManager({
      logger: log,
      env: {
        PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
        OCF_RESKEY_ARP_BACKGROUND: "no",
        OCF_RESKEY_ARP_REPEAT: "1",
      },
      resourceDir: dir,
      initDir: dir,
      pid: 99,
      builtins: {
        IPaddr: (args, action, env, opts) => runIpaddr(args, action, env, { ...opts, run: inNs }),
      },
    });
    const g = group("node1 198.18.77.30/24/v0");
    const r = await rm.takeGroup(g);
    assertEquals(r.ok, true);
    assertEquals(log.lines, [
      "ResourceManager(default)[99]:    info: Acquiring resource group: node1 198.18.77.30/24/v0",
      "IPaddr(IPaddr_198.18.77.30)[99]:    INFO:  Resource is stopped",
      "ResourceManager(default)[99]:    info: Running builtin:IPaddr 198.18.77.30/24/v0 start",
      "IPaddr(IPaddr_198.18.77.30)[99]:    INFO: ip addr add 198.18.77.30/24 brd 198.18.77.255 dev v0 label v0:0",
      "IPaddr(IPaddr_198.18.77.30)[99]:    INFO:  Success",
    ]);
    assertEquals(log.debugs, ["INFO:  Success\n"]);
    assertEquals(await rm.statGroup(g), "ALL");
    const give = await rm.giveGroup(g);
    assertEquals(give.ok, true);
    assertEquals(pick(await ns.addrs(), "198.18.77.30"), []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
    await ns.destroy();
  }
});
