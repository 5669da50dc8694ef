/**
 * Tests of the network-namespace testbed (`lab/`, imported as `tests/testbed/mod.ts`), against the real Heartbeat 3.0.6.
 *
 * Needs root, iproute2, util-linux, nftables, iputils-ping and the Debian `heartbeat` package.
 * When any of it is missing the tests fail with the reason; they never skip.
 *
 * @module
 */

import { requireRealHeartbeat } from "./support/mod.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import {
  authkeys,
  cleanupStale,
  processesInPidNamespace,
  REAL_CL_STATUS,
  REAL_HEARTBEAT,
  run,
  Testbed,
  type TestNode,
  waitFor,
} from "./testbed/mod.ts";
import { pairTestbed, testHaCf, writeNodeFiles } from "./support/cluster.ts";

/**
 * What `cl_status nodestatus <peer>` prints on `node`. Exit 0 for active/up/ping, 1 for dead
 * or init (spec config-and-cli §5.7); anything else (cannot sign on, …) comes back as
 * `exit N: <stderr>`.
 */
async function nodeStatus(node: TestNode, peer: string): Promise<string> {
  const r = await node.exec([REAL_CL_STATUS, "nodestatus", peer], { timeoutMs: 8000 });
  const out = r.stdout.trim();
  if (r.code === 0 && ["active", "up", "ping"].includes(out)) return out;
  if (r.code === 1 && ["dead", "init"].includes(out)) return out;
  return `exit ${r.code}: ${out} ${r.stderr.trim()}`;
}

/** Names of the network namespaces that currently exist. */
async function netnsList(): Promise<string[]> {
  const out = (await run(["ip", "netns", "list"])).stdout;
  return out.split("\n").map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
}

/** Returns a function that prints the time since this call with a note. */
function stopwatch(): (what: string) => void {
  const t0 = performance.now();
  return (what) => console.log(`  ${((performance.now() - t0) / 1000).toFixed(3)} s  ${what}`);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("testbed: two real Heartbeat 3.0.6 nodes see each other; a hard kill is detected", async () => {
  await requireRealHeartbeat();
  const lap = stopwatch();
  let id = "";
  let baseDir = "";
  let netnses: readonly string[] = [];
  const pidNamespaces: string[] = [];
  {
    await using tb = await pairTestbed("real2");
    ({ id, baseDir } = tb);
    netnses = tb.netnsNames;
    lap(`testbed ${id} created`);
    const [node1, node2] = tb.nodes;
    // Accepted by 3.0.6: deadtime must exceed 2 x keepalive; initdead < 10 s only warns.
    const conf = testHaCf({ udpport: 694, crm: "off", node: ["node1", "node2"] });
    await writeNodeFiles(tb.nodes, { haCf: conf, authkeys: authkeys("crc"), haresources: "" });
    for (const n of tb.nodes) {
      assertEquals((await Deno.stat(`${n.confDir}/authkeys`)).mode! & 0o777, 0o600);
      assert(await exists(`${n.confDir}/harc`), "installed harc copied into the config dir");
    }
    await Promise.all(tb.nodes.map((n) => n.start({ impl: "heartbeat" })));
    lap("both daemons started");
    for (const n of tb.nodes) pidNamespaces.push(n.pidNamespace!);

    // Both see each other active, as reported by the real cl_status inside each node.
    await waitFor(
      "node1 and node2 active on both sides",
      async () =>
        (await nodeStatus(node1, "node2")) === "active" &&
        (await nodeStatus(node2, "node1")) === "active",
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    lap("both active (cl_status nodestatus)");

    // The node's view: its own host name, the daemon is not pid 1, config mounted.
    assertEquals((await node1.exec(["uname", "-n"], { check: true })).stdout.trim(), "node1");
    const ps = (await node1.exec(["ps", "-eo", "pid=,args="], { check: true })).stdout;
    assertMatch(ps, /^\s*1\s+bash /m);
    assertMatch(ps, /heartbeat: master control process/);
    assertEquals(
      (await node1.exec(["cat", "/etc/ha.d/ha.cf"], { check: true })).stdout,
      conf,
    );
    assertEquals(
      (await node1.exec(["ip", "-4", "-o", "addr", "show", "eth0"])).stdout.includes(
        "198.18.0.1/24 brd 198.18.0.255",
      ),
      true,
    );

    const from = await node1.logOffset();
    await tb.killHard("node2");
    lap("node2 killed hard");
    assertEquals(node2.running, false);
    assertEquals(processesInPidNamespace(pidNamespaces[1]), []);
    assertEquals(node2.linkIsUp(0), false);
    const dead = await node1.waitForLog("WARN: node node2: is dead", { from, timeoutMs: 10_000 });
    lap(`node1 logged: ${dead}`);
    assertEquals(await nodeStatus(node1, "node2"), "dead");
    lap("cl_status on node1 says node2 dead");
    // The real daemon's log line format (spec config-and-cli §6.2).
    assertMatch(
      dead,
      /^\w{3} [ \d]\d \d\d:\d\d:\d\d node1 heartbeat: \[\d+\]: WARN: node node2: is dead$/,
    );
    assertEquals(node1.running, true);
  }
  lap("testbed destroyed");
  const left = (await netnsList()).filter((n) => n.startsWith(id));
  assertEquals(left, [], "no namespace left behind");
  for (const ns of netnses) assert(!left.includes(ns));
  for (const ns of pidNamespaces) {
    assertEquals(processesInPidNamespace(ns), [], `processes in ${ns}`);
  }
  assertEquals(await exists(baseDir), false, `${baseDir} removed`);
});

Deno.test("testbed: real Heartbeat graceful stop with heartbeat -k, restart keeps /run", async () => {
  await requireRealHeartbeat();
  const lap = stopwatch();
  await using tb = await pairTestbed("stop");
  const [node1, node2] = tb.nodes;
  await writeNodeFiles(tb.nodes, {
    haCf: testHaCf({ node: ["node1", "node2"] }),
    authkeys: authkeys("sha1", "stop-test"),
    haresources: "",
  });
  for (const n of tb.nodes) await n.start({ impl: "heartbeat" });
  const bothActive = async () =>
    (await nodeStatus(node1, "node2")) === "active" &&
    (await nodeStatus(node2, "node1")) === "active";
  await waitFor("both active", bothActive, { timeoutMs: 15_000, intervalMs: 100 });
  lap("both active");
  const from = await node1.logOffset();
  const status = await tb.stopSoft("node2", { via: "command", timeoutMs: 20_000 });
  assertEquals(status.code, 0, "heartbeat -f exits 0 after a graceful stop");
  lap(`node2 stopped by heartbeat -k`);
  await node1.waitForLog("Received shutdown notice from 'node2'.", { from });
  // The peer stays "active" until deadtime after the leaver's last heartbeat (spec behavior §6.11).
  await node1.waitForLog("WARN: node node2: is dead", { from });
  assertEquals(await nodeStatus(node1, "node2"), "dead");
  lap("node1 sees node2 dead");
  // Not a reboot: the pid file stays, so `heartbeat -s` says "stopped" with exit 1 (spec §5.1).
  const s = await node2.exec([REAL_HEARTBEAT, "-s"]);
  assertEquals([s.code, s.stdout.trim()], [1, "heartbeat is stopped. No process"]);
  await node2.start({ impl: "heartbeat" });
  await waitFor("both active again", bothActive, { timeoutMs: 15_000, intervalMs: 100 });
  lap("node2 restarted, both active");
});

Deno.test("testbed: link cut, loss, client, freeze, stops and reboot without a cluster daemon", async () => {
  await using tb = await Testbed.create({
    nodes: ["a", "b"],
    links: 2,
    client: true,
    name: "faults",
  });
  const [a, b] = tb.nodes;
  const client = tb.client!;
  // Expected successes may take long (loaded machine); expected failures wait 0.3 s only.
  const ping = async (from: TestNode | typeof client, to: string, expectReply = true) =>
    (await from.exec(["ping", "-n", "-q", "-c", "1", "-W", expectReply ? "3" : "0.3", to])).success;
  const noPing = async (from: TestNode | typeof client, to: string) =>
    !(await ping(from, to, false));

  // Addressing and reachability on both links; nothing runs yet (exec makes a transient node).
  assertEquals(a.address(0), "198.18.0.1");
  assertEquals(b.address(1), "198.18.1.2");
  assertEquals(client.address, "198.18.0.250");
  assert(await ping(client, b.address(0)), "client reaches b on link 0");
  assert(await ping(a, b.address(1)), "a reaches b on link 1");
  assertEquals((await a.exec(["uname", "-n"])).stdout.trim(), "a");

  // Link cut and restore (bridge side).
  await tb.cutLink("b", 0);
  assert(await noPing(client, b.address(0)), "cut link 0 of b");
  assert(await ping(a, b.address(1)), "link 1 unaffected");
  await tb.restoreLink("b", 0);
  assert(await ping(client, b.address(0)), "restored");

  // Loss with nftables: 100 % drops all, clearLoss restores; 50 % drops some of 200.
  await tb.addLoss("b", 0, 100);
  assert(await noPing(client, b.address(0)), "100% loss");
  await tb.clearLoss("b", 0);
  assert(await ping(client, b.address(0)), "loss cleared");
  await tb.addLoss("b", 0, 50, "in");
  const stats =
    (await client.exec(["ping", "-n", "-q", "-c", "200", "-i", "0.002", "-W", "1", b.address(0)]))
      .stdout;
  const received = Number(/(\d+) received/.exec(stats)?.[1]);
  assert(received > 40 && received < 160, `about half of 200 pings answered, got ${received}`);
  await tb.clearLoss("b", 0);

  // A long-running "daemon": freeze/thaw, soft stop (SIGTERM), hard kill and reboot.
  await b.start({ impl: "heartbeat", cmd: ["sleep", "600"] });
  const state = (pid: number) => Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1][0];
  await tb.freeze("b");
  for (const p of b.pids()) assertEquals(state(p), "T", `pid ${p} stopped`);
  await tb.thaw("b");
  for (const p of b.pids()) assert(state(p) !== "T", `pid ${p} resumed`);
  const soft = await tb.stopSoft("b");
  assertEquals(soft.signal, null); // bash (pid 1) exits with the daemon's 128+15
  assertEquals(soft.code, 143);
  assertEquals(b.running, false);

  // killHard: processes gone and links down at once; the next start is a boot: links up again,
  // addresses reset (an address "left by a resource agent" disappears).
  await b.start({ impl: "heartbeat", cmd: ["sleep", "600"] });
  await b.exec(["ip", "addr", "add", "198.18.0.150/24", "dev", "eth0"], { check: true });
  const ns = b.pidNamespace!;
  await tb.killHard(b);
  assertEquals(processesInPidNamespace(ns), []);
  assert(!b.linkIsUp(0) && !b.linkIsUp(1));
  assert(await noPing(a, b.address(1)), "links of a killed node are down");
  await b.start({ impl: "heartbeat", cmd: ["sleep", "600"] });
  assert(b.linkIsUp(0) && b.linkIsUp(1));
  assert(await ping(a, b.address(1)), "links back after the reboot");
  const addrs = (await b.exec(["ip", "-4", "-o", "addr", "show", "eth0"])).stdout;
  assert(!addrs.includes("198.18.0.150"), `extra address gone after reboot: ${addrs}`);
});

Deno.test("testbed: a killed test process leaves nothing that cleanupStale cannot remove", async () => {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  const mod = new URL("./testbed/mod.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { Testbed } from "${mod}";
const tb = await Testbed.create({ nodes: ["x"], name: "victim" });
await tb.nodes[0].start({ impl: "heartbeat", cmd: ["sleep", "600"] });
console.log(JSON.stringify({ id: tb.id, dir: tb.baseDir, ns: tb.nodes[0].pidNamespace }));
await new Promise(() => {});
`,
  );
  try {
    for (const sig of ["SIGINT", "SIGKILL"] as const) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", script],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let line = "";
      while (!line.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        line += value;
      }
      const info = JSON.parse(line) as { id: string; dir: string; ns: string };
      assert((await netnsList()).some((n) => n.startsWith(info.id)));
      child.kill(sig);
      const status = await child.status;
      reader.cancel();
      if (sig === "SIGINT") {
        // The testbed's signal handler destroyed everything, then exited 130.
        assertEquals(status.code, 130);
      } else {
        // pdeathsig + --kill-child: the node dies with its owner; namespaces stay until cleanup.
        await waitFor("node processes gone", () => processesInPidNamespace(info.ns).length === 0, {
          timeoutMs: 5000,
        });
        // The namespaces are left over now, unless a concurrent testbed run has already called
        // cleanupStale itself (it removes leftovers of every dead owner).
        await cleanupStale();
      }
      assertEquals((await netnsList()).filter((n) => n.startsWith(info.id)), [], sig);
      assertEquals(await exists(info.dir), false, `${sig}: ${info.dir} removed`);
    }
  } finally {
    await Deno.remove(script);
  }
});
