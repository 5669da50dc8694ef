import { assertEquals } from "../tests/assert.ts";
import { NetNs } from "../tests/support/ip_netns.ts";
import type { AddrEntry } from "./ip_agent.ts";

function pick(addrs: AddrEntry[], ip: string): AddrEntry[] {
  return addrs.filter((a) => a.local === ip);
}

Deno.test("IPaddr2 in a network namespace: no alias label, IF:label, status/stop", async () => {
  const ns = await NetNs.create();
  try {
    let r = await ns.agent("ipaddr2.ts", "198.18.77.20/24/v0", "status");
    assertEquals([r.code, r.stdout], [7, "INFO:  Resource is stopped\n"]);

    ns.clearLog();
    r = await ns.agent("ipaddr2.ts", "198.18.77.20/24/v0", "start");
    assertEquals([r.code, r.stdout, r.stderr], [0, "INFO:  Success\n", ""]);
    assertEquals(ns.logLines().map((l) => l.replace(/^.*?: {4}/, "")), [
      "INFO: ip addr add 198.18.77.20/24 brd 198.18.77.255 dev v0",
      "INFO:  Success",
    ]);
    assertEquals(ns.logLines()[0].replace(/\[\d+\].*/, ""), "IPaddr2(IPaddr2_198.18.77.20)");
    let a = pick(await ns.addrs(), "198.18.77.20");
    assertEquals(a.map((x) => [x.dev, x.prefixlen, x.broadcast, x.label]), [
      ["v0", 24, "198.18.77.255", "v0"],
    ]);
    r = await ns.agent("ipaddr2.ts", "198.18.77.20/24/v0", "status");
    assertEquals([r.code, r.stdout], [0, "INFO:  Running OK\n"]);

    // IF:label
    r = await ns.agent("ipaddr2.ts", "198.18.77.21/24/v0:web", "start");
    assertEquals(r.code, 0);
    a = pick(await ns.addrs(), "198.18.77.21");
    assertEquals(a.map((x) => x.label), ["v0:web"]);

    // bare address: everything calculated, still no label
    r = await ns.agent("ipaddr2.ts", "198.18.77.22", "start");
    assertEquals(r.code, 0);
    a = pick(await ns.addrs(), "198.18.77.22");
    assertEquals(a.map((x) => [x.prefixlen, x.broadcast, x.label]), [[24, "198.18.77.255", "v0"]]);

    // configured on another interface: not ours
    r = await ns.agent("ipaddr2.ts", "198.18.77.22/24/v1", "status");
    assertEquals(r.code, 7);

    // stop removes it, a second stop succeeds, status says stopped
    for (const spec of ["198.18.77.20/24/v0", "198.18.77.21/24/v0:web", "198.18.77.22"]) {
      r = await ns.agent("ipaddr2.ts", spec, "stop");
      assertEquals([r.code, r.stdout], [0, "INFO:  Success\n"]);
      r = await ns.agent("ipaddr2.ts", spec, "stop");
      assertEquals(r.code, 0);
      r = await ns.agent("ipaddr2.ts", spec, "status");
      assertEquals(r.code, 7);
    }
    const left = (await ns.addrs()).map((x) => x.local);
    assertEquals(left, ["198.18.77.1"]);
  } finally {
    await ns.destroy();
  }
});
