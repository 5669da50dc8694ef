// agents/ip_agent.ts through both flavors: IPaddr (agents/ipaddr.ts, alias labels) and IPaddr2
// (agents/ipaddr2.ts); the spec parser, the address table, the agents in a network namespace.
import { assert, assertEquals } from "../tests/assert.ts";
import { bitsToMask, broadcastOf, netmaskBits, parseIpSpec } from "../config/ip_spec.ts";
import {
  type AddrEntry,
  announceForHolder,
  type CommandRunner,
  parseAddrJson,
  pickRoute,
  reannounceIp,
  resultLine,
  runIpAgent,
} from "./ip_agent.ts";
import { runIpaddr } from "./ipaddr.ts";
import { NetNs } from "../tests/support/ip_netns.ts";
import { RecordingLogger } from "../tests/support/resources.ts";

Deno.test("parseIpSpec: the five forms of §3.3", () => {
  assertEquals(parseIpSpec("198.18.77.10"), { ip: "198.18.77.10" });
  assertEquals(parseIpSpec("198.18.77.10/24"), { ip: "198.18.77.10", netmask: "24" });
  assertEquals(parseIpSpec("198.18.77.10/24/eth0"), {
    ip: "198.18.77.10",
    netmask: "24",
    nic: "eth0",
  });
  assertEquals(parseIpSpec("198.18.77.10/24/eth0/198.18.77.255"), {
    ip: "198.18.77.10",
    netmask: "24",
    nic: "eth0",
    broadcast: "198.18.77.255",
  });
  assertEquals(parseIpSpec("198.18.77.10/24/198.18.77.255"), {
    ip: "198.18.77.10",
    netmask: "24",
    broadcast: "198.18.77.255",
  });
  assertEquals(parseIpSpec("198.18.77.10/24/eth0:web"), {
    ip: "198.18.77.10",
    netmask: "24",
    nic: "eth0",
    label: "eth0:web",
  });
  assertEquals(parseIpSpec("198.18.77"), null);
  assertEquals(parseIpSpec("198.18.77.300"), null);
  assertEquals(netmaskBits("26"), 26);
  assertEquals(netmaskBits("255.255.255.192"), 26);
  assertEquals(netmaskBits("255.0.255.0"), null);
  assertEquals(netmaskBits("33"), null);
  assertEquals(bitsToMask(26), "255.255.255.192");
  assertEquals(broadcastOf("198.18.30.10", 26), "198.18.30.63");
});

Deno.test("findif helpers: most specific link route, addresses with labels", () => {
  const routes = JSON.stringify([
    { dst: "default", dev: "eth0" },
    { dst: "198.18.0.0/15", dev: "eth1" },
    { dst: "198.18.77.0/24", dev: "eth0" },
  ]);
  assertEquals(pickRoute(routes), { dev: "eth0", bits: 24 });
  assertEquals(pickRoute(routes, "eth1"), { dev: "eth1", bits: 15 });
  assertEquals(pickRoute(routes, "eth9"), null);
  const addrs = parseAddrJson(JSON.stringify([{
    ifname: "v0",
    flags: ["UP"],
    addr_info: [
      {
        family: "inet",
        local: "198.18.77.1",
        prefixlen: 24,
        broadcast: "198.18.77.255",
        label: "v0",
      },
      { family: "inet6", local: "fe80::1", prefixlen: 64 },
    ],
  }]));
  assertEquals(addrs, [{
    dev: "v0",
    local: "198.18.77.1",
    prefixlen: 24,
    broadcast: "198.18.77.255",
    label: "v0",
    up: true,
  }]);
  assertEquals(resultLine("status", 0), "INFO:  Running OK");
  assertEquals(resultLine("start", 0), "INFO:  Success");
  assertEquals(resultLine("status", 7), "INFO:  Resource is stopped");
});

Deno.test("IPaddr usage and bad specs", async () => {
  const log = new RecordingLogger();
  assertEquals((await runIpaddr([], "start", {})).code, 1);
  assertEquals((await runIpaddr(["a", "b"], "start", {})).code, 1);
  const bad = await runIpaddr(["198.18.77"], "status", {}, { logger: log, pid: 7 });
  assertEquals(bad, { code: 6, stdout: "ERROR:  Program is not configured\n" });
  assertEquals(log.lines, [
    "IPaddr(IPaddr_198.18.77)[7]:    ERROR: Parameter OCF_RESKEY_ip [198.18.77] not an IP address",
    "IPaddr(IPaddr_198.18.77)[7]:    ERROR:  Program is not configured",
  ]);
  const unknown = await runIpAgent("IPaddr", ["198.18.77.5"], "reload", {});
  assertEquals(unknown.code, 1);
});

function pick(addrs: AddrEntry[], ip: string): AddrEntry[] {
  return addrs.filter((a) => a.local === ip);
}

/** A command runner into `ns` that records each command line it runs in `calls`. */
function recordingRunner(ns: NetNs): { calls: string[]; inNs: CommandRunner } {
  const calls: string[] = [];
  const inNs = async (argv: string[]) => {
    calls.push(argv.join(" "));
    return await ns.exec(argv);
  };
  return { calls, inNs };
}

Deno.test("IPaddr in a network namespace: alias labels, calculated mask, broadcast forms", async () => {
  const ns = await NetNs.create();
  try {
    // status before
    let r = await ns.agent("ipaddr.ts", "198.18.77.10", "status");
    assertEquals([r.code, r.stdout], [7, "INFO:  Resource is stopped\n"]);

    // bare address: netmask, interface and broadcast from the route
    ns.clearLog();
    r = await ns.agent("ipaddr.ts", "198.18.77.10", "start");
    assertEquals([r.code, r.stdout, r.stderr], [0, "INFO:  Success\n", ""]);
    const pid = /\[(\d+)\]/.exec(ns.logLines()[0])![1];
    const tag = `IPaddr(IPaddr_198.18.77.10)[${pid}]`;
    assertEquals(ns.logLines(), [
      `${tag}:    INFO: Using calculated netmask for 198.18.77.10: 255.255.255.0`,
      `${tag}:    INFO: ip addr add 198.18.77.10/24 brd 198.18.77.255 dev v0 label v0:0`,
      `${tag}:    INFO:  Success`,
    ]);
    let a = pick(await ns.addrs(), "198.18.77.10");
    assertEquals(a.map((x) => [x.dev, x.prefixlen, x.broadcast, x.label]), [
      ["v0", 24, "198.18.77.255", "v0:0"],
    ]);
    r = await ns.agent("ipaddr.ts", "198.18.77.10", "status");
    assertEquals([r.code, r.stdout], [0, "INFO:  Running OK\n"]);
    // start again: already running, nothing added
    ns.clearLog();
    r = await ns.agent("ipaddr.ts", "198.18.77.10", "start");
    assertEquals(r.code, 0);
    assertEquals(ns.logLines().length, 1);

    // /bits/IF: next free alias
    r = await ns.agent("ipaddr.ts", "198.18.77.11/24/v0", "start");
    assertEquals(r.code, 0);
    a = pick(await ns.addrs(), "198.18.77.11");
    assertEquals(a.map((x) => [x.label, x.broadcast]), [["v0:1", "198.18.77.255"]]);

    // /bits/IF/BCAST
    r = await ns.agent("ipaddr.ts", "198.18.77.12/25/v0/198.18.77.127", "start");
    assertEquals(r.code, 0);
    a = pick(await ns.addrs(), "198.18.77.12");
    assertEquals(a.map((x) => [x.prefixlen, x.label, x.broadcast]), [[
      25,
      "v0:2",
      "198.18.77.127",
    ]]);

    // /bits/BCAST
    r = await ns.agent("ipaddr.ts", "198.18.77.13/24/198.18.77.255", "start");
    assertEquals(r.code, 0);
    a = pick(await ns.addrs(), "198.18.77.13");
    assertEquals(a.map((x) => [x.prefixlen, x.label, x.broadcast]), [[
      24,
      "v0:3",
      "198.18.77.255",
    ]]);

    // stop removes exactly its address; stop again succeeds
    ns.clearLog();
    r = await ns.agent("ipaddr.ts", "198.18.77.11/24/v0", "stop");
    assertEquals([r.code, r.stdout], [0, "INFO:  Success\n"]);
    assertEquals(
      ns.logLines()[0].replace(/^.*?: {4}/, ""),
      "INFO: ip addr del 198.18.77.11/24 dev v0",
    );
    assertEquals(pick(await ns.addrs(), "198.18.77.11"), []);
    assertEquals(pick(await ns.addrs(), "198.18.77.10").length, 1);
    r = await ns.agent("ipaddr.ts", "198.18.77.11/24/v0", "stop");
    assertEquals(r.code, 0);
    r = await ns.agent("ipaddr.ts", "198.18.77.11/24/v0", "status");
    assertEquals([r.code, r.stdout], [7, "INFO:  Resource is stopped\n"]);

    // the interface's own (unlabelled) address is not IPaddr's: status stopped, stop keeps it
    r = await ns.agent("ipaddr.ts", "198.18.77.1", "status");
    assertEquals(r.code, 7);
    r = await ns.agent("ipaddr.ts", "198.18.77.1", "stop");
    assertEquals(r.code, 0);
    assertEquals(pick(await ns.addrs(), "198.18.77.1").length, 1);

    // no route to the address: start fails
    ns.clearLog();
    r = await ns.agent("ipaddr.ts", "198.18.99.1", "start");
    assertEquals([r.code, r.stdout], [1, "ERROR:  Generic error\n"]);
    assert(ns.logLines()[0].includes("ERROR: Unable to find nic or netmask for 198.18.99.1"));
  } finally {
    await ns.destroy();
  }
});

Deno.test("gratuitous ARP: arping -U repeated, else send_arp, else a warning", async () => {
  const ns = await NetNs.create();
  try {
    const { calls, inNs } = recordingRunner(ns);
    const env = { OCF_RESKEY_ARP_BACKGROUND: "no", OCF_RESKEY_ARP_REPEAT: "3" };
    const log = new RecordingLogger();
    const t0 = performance.now();
    let r = await runIpaddr(["198.18.77.40/24/v0"], "start", env, { run: inNs, logger: log });
    assertEquals(r.code, 0);
    const arps = calls.filter((c) => c.includes("arping -U"));
    assertEquals(arps.length, 3);
    assert(arps[0].endsWith("arping -U -c 1 -w 1 -I v0 198.18.77.40"), arps[0]);
    assert(performance.now() - t0 >= 400, "200 ms apart");

    calls.length = 0;
    r = await runIpaddr(["198.18.77.41/24/v0"], "start", env, {
      run: inNs,
      arping: null,
      sendArp: "/usr/libexec/heartbeat/send_arp",
    });
    assertEquals(r.code, 0);
    assertEquals(calls.filter((c) => c.includes("send_arp")), [
      "/usr/libexec/heartbeat/send_arp -i 200 -r 3 -p /run/resource-agents/send_arp-198.18.77.41 v0 198.18.77.41 auto 198.18.77.41 ffffffffffff",
    ]);

    log.lines = [];
    r = await runIpaddr(["198.18.77.42/24/v0"], "start", env, {
      run: inNs,
      arping: null,
      sendArp: null,
      logger: log,
      pid: 5,
    });
    assertEquals(r.code, 0);
    assertEquals(
      log.lines[1],
      "IPaddr(IPaddr_198.18.77.42)[5]:    WARN: Could not send gratuitous arps for 198.18.77.42: neither iputils arping nor /usr/libexec/heartbeat/send_arp found",
    );
  } finally {
    await ns.destroy();
  }
});

Deno.test("reannounceIp: gratuitous ARPs for an address already served, nothing otherwise", async () => {
  const ns = await NetNs.create();
  try {
    const { calls, inNs } = recordingRunner(ns);
    const env = { OCF_RESKEY_ARP_BACKGROUND: "no", OCF_RESKEY_ARP_REPEAT: "2" };
    const log = new RecordingLogger();
    const r = await runIpaddr(["198.18.77.50/24/v0"], "start", env, { run: inNs });
    assertEquals(r.code, 0);
    calls.length = 0;
    assertEquals(
      await reannounceIp("IPaddr", "198.18.77.50/24/v0", env, { run: inNs, logger: log, pid: 7 }),
      true,
    );
    assertEquals(calls.filter((c) => c.includes("arping -U")).length, 2);
    assertEquals(calls.filter((c) => c.startsWith("ip addr")), [], "no address change");
    assertEquals(
      log.lines[0],
      "IPaddr(IPaddr_198.18.77.50)[7]:    INFO: re-announcing 198.18.77.50 on v0 (gratuitous ARP)",
    );
    calls.length = 0;
    assertEquals(await reannounceIp("IPaddr", "198.18.77.51/24/v0", env, { run: inNs }), false);
    assertEquals(calls.filter((c) => c.includes("arping")), []);
    assertEquals(await reannounceIp("IPaddr", "not-an-ip", env, { run: inNs }), false);
  } finally {
    await ns.destroy();
  }
});

Deno.test("announceForHolder: gratuitous ARPs with the hardware address of the node that answers for the address", async () => {
  const ns = await NetNs.create();
  // the holder: a peer namespace at the other end of v0's link (v1) with the address
  const peer = `${ns.name}-peer`;
  const ip = (...args: string[]) =>
    new Deno.Command("ip", { args, stdout: "piped", stderr: "inherit" }).output();
  try {
    for (
      const args of [
        ["netns", "add", peer],
        ["-n", ns.name, "link", "set", "v1", "netns", peer],
        ["-n", peer, "link", "set", "v1", "up"],
        ["-n", peer, "addr", "add", "198.18.77.50/24", "dev", "v1"],
      ]
    ) {
      assertEquals((await ip(...args)).code, 0, args.join(" "));
    }
    const link = JSON.parse(
      new TextDecoder().decode((await ip("-n", peer, "-j", "link", "show", "v1")).stdout),
    );
    const holderMac: string = link[0].address;
    const calls: string[] = [];
    const inNs = async (argv: string[]) => {
      calls.push(argv.join(" "));
      return await ns.exec(argv);
    };
    const log = new RecordingLogger();
    const env = { HA_RSCTMP: await Deno.makeTempDir() };
    assertEquals(
      await announceForHolder("IPaddr", "198.18.77.50/24/v0", env, {
        run: inNs,
        logger: log,
        pid: 7,
      }),
      true,
    );
    const sendArp = calls.filter((c) => c.includes("send_arp"));
    assertEquals(sendArp.length, 1);
    assert(
      sendArp[0].endsWith(
        `v0 198.18.77.50 ${holderMac.replaceAll(":", "")} 198.18.77.50 ffffffffffff`,
      ),
      sendArp[0],
    );
    assertEquals(
      log.lines[0],
      `IPaddr(IPaddr_198.18.77.50)[7]:    INFO: announcing 198.18.77.50 on v0 for its holder ${holderMac} (gratuitous ARP)`,
    );
    // an address served here is announced by its own start, never for someone else
    calls.length = 0;
    assertEquals(
      await runIpaddr(["198.18.77.60/24/v0"], "start", {}, { run: inNs }).then((r) => r.code),
      0,
    );
    assertEquals(
      await announceForHolder("IPaddr", "198.18.77.60/24/v0", env, { run: inNs }),
      false,
    );
    // nobody answers: said so, nothing sent
    calls.length = 0;
    const quiet = new RecordingLogger();
    assertEquals(
      await announceForHolder("IPaddr", "198.18.77.70/24/v0", env, { run: inNs, logger: quiet }),
      false,
    );
    assertEquals(calls.filter((c) => c.includes("send_arp")), []);
    assert(
      quiet.lines.some((l) => l.includes("no node answers ARP for it")),
      quiet.lines.join("\n"),
    );
    await Deno.remove(env.HA_RSCTMP, { recursive: true });
  } finally {
    await ip("netns", "del", peer);
    await ns.destroy();
  }
});

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
