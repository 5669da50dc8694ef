/**
 * STONITH end to end in the testbed (config-and-cli.md §7.10, §6.6.16; stonith/README.md).
 *
 * 1. Two hb nodes, `stonith_host * null node1 node2`: node1 is killed hard; node2 resets it
 *    (`Resetting node node1 with [NULL STONITH device]`, `node node1 now reset.`) before it
 *    starts any resource — checked in node2's log and against the call log of a recording
 *    resource script.
 * 2. Two hb nodes, an `external/flaky` script device whose reset fails twice, then works
 *    (cluster-glue's `stonith` drives it, as on any node with cluster-glue installed): the
 *    takeover waits, `STONITH of node1 failed.  Retrying...` twice, resets 5 s apart, and the
 *    script is called as stonith/README.md documents (`getconfignames`, `getinfo-devid`,
 *    `status` at comm-up, `reset <node>` with the parameters exported under the names
 *    `getconfignames` printed, `HA_LOGTAG=external/<name>`).
 * 3. The same device driven by hb's built-in `external/<name>` implementation (cluster-glue's
 *    `stonith` hidden inside the node): same calls, same retries.
 * 4. Heartbeat 3.0.6's own sanity check set-up (`BasicSanityCheck`: one node up, the other
 *    configured but dead, a null device): the STONITH lines of the real daemon and of hb are
 *    the same (text after the priority, pids and numbers masked).
 *
 * The script device lives in a directory bind-mounted over
 * `/usr/lib/stonith/plugins/external` inside the node (a private mount namespace), so the
 * host's plugin directory is never touched.
 *
 * Needs root, the testbed's packages, cluster-glue and the Debian `heartbeat` package; fails
 * loudly (never skips) without them.
 *
 * @module
 */

import { assert, assertEquals, fail } from "./assert.ts";
import {
  authkeys,
  hbCommand,
  REAL_HEARTBEAT,
  type Testbed,
  type TestNode,
  waitFor,
} from "./testbed/mod.ts";
import { pairTestbed, RECORDER_SCRIPT, testHaCf, writeNodeFiles } from "./support/cluster.ts";

const PLUGIN_DIR = "/usr/lib/stonith/plugins/external";
const STONITH_CMD = "/usr/sbin/stonith";

/**
 * An external STONITH script whose reset fails twice, then succeeds. Every call is logged to
 * /var/log/flaky.log with its arguments and the environment the plugin protocol defines.
 */
const FLAKY_SCRIPT = `#!/bin/sh
echo "$(date +%s%3N) args=[$*] hostlist=[$hostlist] pass=[$pass] logtag=[$HA_LOGTAG]" >>/var/log/flaky.log
case "$1" in
getconfignames) echo "hostlist pass";;
getinfo-devid) echo "Flaky test device";;
getinfo-devname) echo "flaky";;
getinfo-devdescr) echo "a device that fails twice";;
getinfo-devurl) echo "http://example.invalid/";;
getinfo-xml) echo "<parameters/>";;
gethosts) for h in $hostlist; do echo "$h"; done;;
status) ;;
reset)
  n=$(cat /var/log/flaky.count 2>/dev/null || echo 0); n=$((n + 1)); echo $n >/var/log/flaky.count
  if [ $n -le 2 ]; then echo "reset attempt $n failed"; exit 1; fi
  echo "reset of $2 done";;
*) exit 1;;
esac
exit 0
`;

async function requireTools(): Promise<void> {
  for (
    const [p, what] of [
      [REAL_HEARTBEAT, "the Debian package heartbeat (3.0.6)"],
      [STONITH_CMD, "the Debian package cluster-glue"],
    ]
  ) {
    const st = await Deno.stat(p).catch(() => undefined);
    if (!st?.isFile) fail(`${p} missing: install ${what}`);
  }
}

/** ha.cf of these tests. */
function conf(nodes: string[], stonithHost: string): string {
  return testHaCf({ stonith_host: stonithHost, node: nodes });
}

/** Writes the configuration and the scripts of a node (the flaky device in its plugin dir). */
async function prepare(n: TestNode, haCfText: string, haresources: string): Promise<string> {
  await writeNodeFiles([n], { haCf: haCfText, authkeys: authkeys("sha1", "stonith"), haresources });
  await n.writeResourceScript("rec", RECORDER_SCRIPT);
  const plugins = `${n.confDir}/../stonith-external`;
  await Deno.mkdir(plugins, { recursive: true });
  await Deno.writeTextFile(`${plugins}/flaky`, FLAKY_SCRIPT, { mode: 0o755 });
  await Deno.chmod(`${plugins}/flaky`, 0o755); // cluster-glue refuses group/other-writable
  return plugins;
}

/**
 * Starts the daemon with the node's script directory mounted over the plugin directory
 * (and, for `builtin`, cluster-glue's `stonith` hidden so that hb uses its own device code).
 */
async function start(
  n: TestNode,
  impl: "hb" | "heartbeat",
  plugins: string,
  opts: { hideClusterGlue?: boolean } = {},
): Promise<void> {
  const daemon = impl === "hb" ? [...hbCommand(), "heartbeat", "-f"] : [REAL_HEARTBEAT, "-f"];
  const mounts = [`mount --bind ${plugins} ${PLUGIN_DIR}`];
  if (opts.hideClusterGlue) mounts.push(`mount --bind /dev/null ${STONITH_CMD}`);
  await n.start({
    impl,
    cmd: ["bash", "-c", `${mounts.join(" && ")} && exec "$@"`, "stonith-test", ...daemon],
  });
}

/** Log lines from character offset `from`. */
async function logLines(n: TestNode, from = 0): Promise<string[]> {
  return (await n.readLog()).slice(from).split("\n").filter((l) => l !== "");
}

/** Index of the first line matching `re` (-1 when none). */
function indexOf(lines: string[], re: RegExp): number {
  return lines.findIndex((l) => re.test(l));
}

/** Seconds of day of a syslog-format line (`Nov 22 00:12:20 …`). */
function secondsOf(line: string): number {
  const m = / (\d\d):(\d\d):(\d\d) /.exec(line);
  if (!m) throw new Error(`no time in ${line}`);
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

/** Calls recorded by the flaky device. */
interface FlakyCall {
  at: number;
  args: string;
  hostlist: string;
  pass: string;
  logtag: string;
}

async function flakyCalls(n: TestNode): Promise<FlakyCall[]> {
  const re = /^(\d+) args=\[(.*)\] hostlist=\[(.*)\] pass=\[(.*)\] logtag=\[(.*)\]$/;
  return (await n.readLog("flaky.log")).split("\n").filter((l) => l !== "").map((l) => {
    const m = re.exec(l);
    if (!m) throw new Error(`bad flaky.log line ${l}`);
    return { at: Number(m[1]), args: m[2], hostlist: m[3], pass: m[4], logtag: m[5] };
  });
}

/** `start` calls of the recording resource on `n` as [ms, resource]. */
async function recStarts(n: TestNode): Promise<{ at: number; name: string }[]> {
  return (await n.readLog("rec.log")).split("\n").map((l) => l.split(" ")).filter((f) =>
    f[3] === "start"
  ).map((f) => ({ at: Number(f[0]), name: f[2] }));
}

/** Two hb nodes running their own `rec` group each, ready for node1's death. */
async function twoNodes(
  tb: Testbed,
  stonithHost: string,
): Promise<{ node1: TestNode; node2: TestNode }> {
  const [node1, node2] = tb.nodes;
  for (const n of tb.nodes) {
    const plugins = await prepare(
      n,
      conf(["node1", "node2"], stonithHost),
      "node1 rec::a\nnode2 rec::b\n",
    );
    await start(n, "hb", plugins);
  }
  await waitFor(
    "node1 runs rec::a and node2 rec::b",
    async () =>
      (await recStarts(node1)).some((s) => s.name === "a") &&
      (await recStarts(node2)).some((s) => s.name === "b"),
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  return { node1, node2 };
}

/**
 * {@link twoNodes} with `stonithHost`, then node1 is killed hard: node2's log lines from the kill
 * until its takeover is complete (waited for at most `timeoutMs`), and when node1 was killed.
 */
async function killNode1(
  tb: Testbed,
  stonithHost: string,
  timeoutMs: number,
): Promise<{ node2: TestNode; killedAt: number; lines: string[] }> {
  const { node2 } = await twoNodes(tb, stonithHost);
  const from = await node2.logOffset();
  const killedAt = Date.now();
  await tb.killHard("node1");
  await node2.waitForLog(/info: mach_down takeover complete\./, { from, timeoutMs });
  return { node2, killedAt, lines: await logLines(node2, from) };
}

/** Checks the common order: dead, reset, takeover, and no resource start before the reset. */
function checkFenceBeforeTakeover(lines: string[], device: string): number {
  const dead = indexOf(lines, /WARN: node node1: is dead/);
  const resetting = indexOf(lines, new RegExp(`info: Resetting node node1 with \\[${device}\\]`));
  const reset = indexOf(lines, /info: node node1 now reset\./);
  const acquiring = indexOf(lines, /info: Resources being acquired from node1\./);
  const firstStart = indexOf(lines, /Running \S*resource\.d\/rec \S+ start/);
  const order = { dead, resetting, reset, acquiring, firstStart };
  assert(
    dead >= 0 && dead < resetting && resetting < reset && reset < acquiring &&
      acquiring < firstStart,
    `order dead < Resetting < now reset < acquiring < first start: ${JSON.stringify(order)}\n${
      lines.join("\n")
    }`,
  );
  return reset;
}

Deno.test("null device: a hard-killed node is reset before the survivor starts anything", async () => {
  await requireTools();
  await using tb = await pairTestbed("sthnull");
  const { node2, killedAt, lines } = await killNode1(tb, "* null node1 node2", 20_000);
  const reset = checkFenceBeforeTakeover(lines, "NULL STONITH device");
  assert(lines.some((l) => l.endsWith("info: glib: Host null-reset: node1")), "plugin line");
  // the resource script's own clock: rec::a starts on node2 after the kill, and not before
  // the second the reset was logged in (the null device leaves no finer trace)
  const starts = (await recStarts(node2)).filter((s) => s.at >= killedAt);
  assertEquals(starts.map((s) => s.name), ["a"], "node2 starts node1's group, once");
  const started = new Date(starts[0].at);
  const startSecond = started.getHours() * 3600 + started.getMinutes() * 60 +
    started.getSeconds();
  assert(
    startSecond >= secondsOf(lines[reset]),
    `rec::a started at ${started.toTimeString()}, before the reset line: ${lines[reset]}`,
  );
});

Deno.test("a device that fails twice: takeover waits, retries 5 s apart, documented calls", async () => {
  await requireTools();
  await using tb = await pairTestbed("sthflaky");
  const { node2, killedAt, lines } = await killNode1(
    tb,
    "* external/flaky node1 node2 secretword",
    40_000,
  );
  checkFenceBeforeTakeover(lines, "Flaky test device");
  const calls = await flakyCalls(node2);
  checkFlakyRun(lines, calls, killedAt, await recStarts(node2), {
    dead: "node1",
    hostlist: "node1",
    pass: "node2 secretword",
  });
  // comm-up: the device status check (Heartbeat's "Checking status of STONITH device")
  const before = calls.filter((c) => c.at < killedAt);
  assert(
    before.some((c) => c.args === "status"),
    `status check at comm-up: ${JSON.stringify(before)}`,
  );
  const all = await logLines(node2);
  assert(
    all.some((l) => l.endsWith("info: Checking status of STONITH device [Flaky test device]")),
    "status check logged",
  );
});

Deno.test("built-in external device (no cluster-glue stonith): same calls, same retries", async () => {
  await requireTools();
  await using tb = await pairTestbed("sthbuiltin");
  const node1 = tb.node("node1");
  const plugins = await prepare(
    node1,
    conf(["node1", "node2"], "* external/flaky node2 secretword"),
    "node2 rec::b\n",
  );
  const startedAt = Date.now();
  await start(node1, "hb", plugins, { hideClusterGlue: true });
  // node2 never comes: dead after initdead, reset after comm-up, then its group is taken
  await node1.waitForLog(/info: mach_down takeover complete\./, { timeoutMs: 40_000 });
  const lines = await logLines(node1);
  const calls = await flakyCalls(node1);
  // cluster-glue's `stonith -m` asks for getinfo-devdescr/-xml; the built-in device does not
  assert(
    !calls.some((c) => c.args.startsWith("getinfo-xml")),
    `driven by the built-in device: ${JSON.stringify(calls)}`,
  );
  checkFlakyRun(lines, calls, startedAt, await recStarts(node1), {
    dead: "node2",
    hostlist: "node2",
    pass: "secretword",
  });
});

/**
 * The retries of the flaky device: three resets 5 s apart (+ the attempt's own time), two
 * `Retrying...` lines, the documented arguments and environment, and no takeover before the
 * third reset succeeded.
 */
function checkFlakyRun(
  lines: string[],
  calls: FlakyCall[],
  since: number,
  starts: { at: number; name: string }[],
  expect: { dead: string; hostlist: string; pass: string },
): void {
  const { dead, pass } = expect;
  const resets = calls.filter((c) => c.args.startsWith("reset"));
  assertEquals(resets.map((c) => c.args), [`reset ${dead}`, `reset ${dead}`, `reset ${dead}`]);
  for (const c of resets) {
    // parameters exported under the names getconfignames printed, the last takes the rest
    assertEquals([c.hostlist, c.pass, c.logtag], [expect.hostlist, pass, "external/flaky"]);
  }
  for (let i = 1; i < resets.length; i++) {
    const gap = resets[i].at - resets[i - 1].at;
    assert(gap >= 5000 && gap <= 7500, `reset ${i + 1} ${gap} ms after reset ${i}`);
  }
  assert(calls.some((c) => c.args === "getconfignames"), "getconfignames called");
  const devid = calls.filter((c) => c.args === "getinfo-devid");
  assert(devid.length > 0, "getinfo-devid called");
  assert(
    devid.some((c) => c.pass === pass),
    `getinfo-devid runs with the device configured: ${JSON.stringify(devid)}`,
  );
  const retrying = lines.filter((l) =>
    l.endsWith(`ERROR: STONITH of ${dead} failed.  Retrying...`)
  );
  assertEquals(retrying.length, 2, lines.join("\n"));
  const gap = secondsOf(retrying[1]) - secondsOf(retrying[0]);
  assert(gap >= 5 && gap <= 7, `Retrying lines ${gap} s apart`);
  assertEquals(
    lines.filter((l) => l.endsWith(`ERROR: Host ${dead} not reset!`)).length,
    2,
    "two failed attempts",
  );
  const reset = indexOf(lines, new RegExp(`info: node ${dead} now reset\\.`));
  const acquiring = indexOf(lines, new RegExp(`info: Resources being acquired from ${dead}\\.`));
  assert(reset >= 0 && reset < acquiring, "takeover only after the successful reset");
  // the resource script's clock against the device's: nothing started before the last reset
  const after = starts.filter((s) => s.at >= since);
  assert(after.length > 0, "the dead node's group was taken over");
  for (const s of after) {
    assert(
      s.at > resets[2].at,
      `rec::${s.name} started ${resets[2].at - s.at} ms before the reset`,
    );
  }
}

/** Masks pids and numbers: `[pid]` prefixes go, digits become N. */
function mask(line: string): string {
  return line.replace(/^.* heartbeat: \[\d+\]: /, "").replace(/\d+/g, "N");
}

/** The STONITH-related lines of a log. */
function stonithLines(lines: string[]): string[] {
  return lines.filter((l) => / heartbeat: \[\d+\]: /.test(l)).filter((l) =>
    /STONITH|Resetting node|null-reset|now reset|Resources being acquired|No STONITH|not protected/
      .test(l)
  ).map(mask);
}

/** BasicSanityCheck's set-up on one implementation: node1 up, node2 dead, a null device. */
async function sanityRun(impl: "hb" | "heartbeat"): Promise<string[]> {
  await using tb = await pairTestbed(`bsc${impl}`);
  const n = tb.node("node1");
  await writeNodeFiles([n], {
    haCf: conf(["node1", "node2"], "* null node2"),
    authkeys: authkeys("sha1", "sanity"),
    haresources: "",
  });
  await n.start({ impl });
  await n.waitForLog(/Managed STONITH node2 process \d+ exited/, { timeoutMs: 20_000 });
  await n.waitForLog(/Managed STONITH-stat process \d+ exited/, { timeoutMs: 10_000 });
  await n.waitForLog(/Resources being acquired from node2\./, { timeoutMs: 10_000 });
  const lines = await logLines(n);
  await tb.killHard("node1");
  return lines;
}

Deno.test("BasicSanityCheck set-up: hb's STONITH lines are the real Heartbeat's", async () => {
  await requireTools();
  const real = await sanityRun("heartbeat");
  const hb = await sanityRun("hb");
  const [r, h] = [stonithLines(real), stonithLines(hb)];
  console.log(`  real:\n    ${r.join("\n    ")}\n  hb:\n    ${h.join("\n    ")}`);
  // The reset and the status-check helpers run concurrently (in both daemons): the lines
  // are compared as multisets, the order that matters is checked below.
  assertEquals([...h].sort(), [...r].sort());
  for (const [who, lines] of [["real", real], ["hb", hb]] as const) {
    const reset = indexOf(lines, /info: node node2 now reset\./);
    const acquiring = indexOf(lines, /info: Resources being acquired from node2\./);
    // the safety order: nothing is acquired before the dead node is reset. (Whether the
    // reset's line comes before or after "Local status now set to: 'active'" is a race in the
    // real daemon too: its reset runs in a child, seen both ways on a loaded machine.)
    assert(reset >= 0 && reset < acquiring, `${who}: now reset < acquiring: ${reset} ${acquiring}`);
  }
});
