/**
 * Heartbeat's test hook `OnlyForTesting` driven by Heartbeat's own tool
 * `/usr/share/heartbeat/TestHeartbeatComm`, on a pair of hb nodes and on a pair of real
 * Heartbeat 3.0.6 nodes, in the testbed (config/only_for_testing.ts has the facts).
 *
 * Per implementation:
 *
 * 1. node2 starts with an `OnlyForTesting` holding harmless options, an unknown parameter
 *    and a comment: its start-up lines (between the banner and `heartbeat: version`) are
 *    Heartbeat's;
 * 2. `TestHeartbeatComm break-communication node2` inside node1 (`allownodes=node2;`):
 *    nothing happens — with a node list nothing is dropped on the way out, and node2's
 *    packets are let in;
 * 3. `TestHeartbeatComm reduce-communication 0.2 0.2`: packets are lost both ways
 *    (`lost packet(s)` on both nodes) and retransmitted, nobody is declared dead;
 * 4. `TestHeartbeatComm break-communication` inside node1 (it writes
 *    `/etc/ha.d/OnlyForTesting` and runs `/etc/init.d/heartbeat reload`, i.e.
 *    `/usr/libexec/heartbeat/heartbeat -r`; on an hb node that path is hb, bind-mounted
 *    there as an installation would put it): node1 logs the options, each core child
 *    `Child rereading authentication file.` and the same lines, and both nodes declare the
 *    other dead (`cl_status nodestatus` says `dead`), while node1 keeps feeding its watchdog
 *    (a plain file here) at the keepalive rate, as Heartbeat does;
 * 5. `TestHeartbeatComm fix-communication` inside node1: `Test Code Now disabled.`, the
 *    partition heals (`Cluster node … returning after partition.`) and both see the other
 *    `active` again.
 *
 * The hook's lines of each step (pids masked) must be the same multiset for both
 * implementations; the master's lines also in the same order.
 *
 * Needs root, the testbed's packages and the Debian `heartbeat` package; fails loudly.
 *
 * @module
 */

import { assert, assertEquals } from "./assert.ts";
import { authkeys, hbCommand, REAL_CL_STATUS, type TestNode, waitFor } from "./testbed/mod.ts";
import { pairTestbed, testHaCf, writeNodeFiles } from "./support/cluster.ts";
import { OFT_BOGUS_LINES } from "./support/config.ts";

type Impl = "hb" | "heartbeat";

const TOOL = "/usr/share/heartbeat/TestHeartbeatComm";
const INSTALLED = "/usr/libexec/heartbeat/heartbeat";

/** node2's file at start: no loss (p = 0), one unknown parameter, reading stops at `#`. */
const START_FILE = "xmitloss=0\nrcvloss=0\nbogus=1\nallownodes=;\n# rcvloss=1 is never read\n";

/** Lines of the hook (and of the reload and dead/alive verdicts around it). */
const HOOK =
  /Test Code|loss probability|Allow nodes|Above Options|Cannot recognize|Child rereading|Configuration unchanged/;

interface Run {
  start: string[];
  allow: string[];
  reduce: string[];
  break: { master: string[]; all: string[] };
  fix: { master: string[]; all: string[] };
  /** When each node declared the other dead, ms after break-communication returned. */
  deadAfterMs: number[];
  /** When both saw the other active again, ms after fix-communication returned. */
  healedAfterMs: number;
  /** Watchdog feeds of node1 in one second of broken communication. */
  wdFeeds: number;
}

/** `[pid, "prio: text"]` of the `heartbeat:` lines of a log slice. */
function parse(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const l of text.split("\n")) {
    const m = / heartbeat: \[(\d+)\]: (.*)$/.exec(l);
    if (m) out.push([m[1], m[2]]);
  }
  return out;
}

/**
 * The hook's lines of the master (the process that logged `Configuration unchanged.`) in
 * order, and of every process (sorted).
 */
function hookLines(text: string): { master: string[]; all: string[] } {
  const lines = parse(text).filter(([, t]) => HOOK.test(t));
  const pid = lines.find(([, t]) => t === "info: Configuration unchanged.")?.[0];
  return {
    master: lines.filter(([p]) => p === pid).map(([, t]) => t),
    all: lines.map(([, t]) => t).sort(),
  };
}

function conf(): string {
  return testHaCf({
    debugfile: "/var/log/ha-debug",
    deadtime: 1,
    warntime: "500ms",
    initdead: 2,
    watchdog: "/var/log/wd", // a plain file: the feeds are counted
    node: ["node1", "node2"],
  });
}

async function nodeStatus(from: TestNode, of: string): Promise<string> {
  const r = await from.exec([REAL_CL_STATUS, "nodestatus", of]);
  return r.stdout.trim();
}

/** Makes `/usr/libexec/heartbeat/heartbeat` inside `node` run hb (what installing hb does). */
async function installHb(node: TestNode): Promise<void> {
  const wrapper = `${node.infoDir}/heartbeat-wrapper`;
  const cmd = [...hbCommand(), "heartbeat"].map((w) => `'${w.replaceAll("'", `'\\''`)}'`);
  await Deno.writeTextFile(wrapper, `#!/bin/sh\nexec ${cmd.join(" ")} "$@"\n`, { mode: 0o755 });
  await node.exec(["mount", "--bind", wrapper, INSTALLED], { check: true });
}

async function scenario(impl: Impl): Promise<Run> {
  await using tb = await pairTestbed(`oft${impl}`);
  const [n1, n2] = [tb.node("node1"), tb.node("node2")];
  await writeNodeFiles(tb.nodes, { haCf: conf(), authkeys: authkeys("crc"), haresources: "" });
  for (const n of tb.nodes) {
    await Deno.writeFile(`${n.logDir}/wd`, new Uint8Array());
  }
  await n2.writeConfig("OnlyForTesting", START_FILE);
  for (const n of tb.nodes) await n.start({ impl });
  for (const [a, b] of [[n1, "node2"], [n2, "node1"]] as const) {
    await waitFor(`${impl}: ${a.name} sees ${b} active`, async () => {
      return (await nodeStatus(a, b)) === "active" || undefined;
    }, { timeoutMs: 20_000, intervalMs: 100 });
  }
  // past the start-up window (dt + 2 s for 5 s), so that deadtime alone counts
  await new Promise((r) => setTimeout(r, 5000));
  if (impl === "hb") await installHb(n1);
  const startLog = parse(await n2.readLog()).map(([, t]) => t);
  const from = startLog.indexOf("info: Configuration validated. Starting heartbeat 3.0.6");
  const to = startLog.indexOf("info: heartbeat: version 3.0.6");
  assert(from >= 0 && to > from, `${impl}: node2 start-up lines:\n${startLog.join("\n")}`);
  const start = startLog.slice(from + 1, to);

  // a node list: node1 still sends (xmitloss never drops with a list) and accepts node2
  const a1 = await n1.logOffset();
  const a2 = await n2.logOffset();
  const allow = await n1.exec([TOOL, "break-communication", "node2"]);
  assertEquals(allow.code, 0, `${impl}: break-communication node2: ${allow.stdout}${allow.stderr}`);
  await n1.waitForLog("Allow nodes = node2;", { from: a1 });
  // nothing may happen: three deadtimes of quiet
  await new Promise((r) => setTimeout(r, 3000));
  const allowLines = hookLines((await n1.readLog()).slice(a1)).master;
  for (const [n, o] of [[n1, a1], [n2, a2]] as const) {
    const t = (await n.readLog()).slice(o);
    assert(!/is dead|lost packet/.test(t), `${impl}: ${n.name} with allownodes=node2;:\n${t}`);
  }

  // 20 % loss both ways on node1: packets are lost and asked for again, nobody dies
  const r1 = await n1.logOffset();
  const r2 = await n2.logOffset();
  const reduce = await n1.exec([TOOL, "reduce-communication", "0.2", "0.2"]);
  assertEquals(reduce.code, 0, `${impl}: reduce-communication: ${reduce.stdout}${reduce.stderr}`);
  await n2.waitForLog("lost packet(s) for [node1]", { from: r2, timeoutMs: 10_000 });
  await n1.waitForLog("lost packet(s) for [node2]", { from: r1, timeoutMs: 10_000 });
  await new Promise((r) => setTimeout(r, 2000));
  const reduceLines = hookLines((await n1.readLog()).slice(r1)).master;
  for (const [n, o] of [[n1, r1], [n2, r2]] as const) {
    const t = (await n.readLog()).slice(o);
    assert(!/is dead/.test(t), `${impl}: ${n.name} with 20 % loss:\n${t}`);
  }

  // break
  const o1 = await n1.logOffset();
  const o2 = await n2.logOffset();
  const br = await n1.exec([TOOL, "break-communication"]);
  assertEquals(br.code, 0, `${impl}: break-communication: ${br.stdout}${br.stderr}`);
  const t0 = performance.now();
  const deadAfterMs: number[] = [];
  for (const [n, other, o] of [[n1, "node2", o1], [n2, "node1", o2]] as const) {
    await n.waitForLog(`node ${other}: is dead`, { from: o, timeoutMs: 15_000 });
    deadAfterMs.push(Math.round(performance.now() - t0));
    assertEquals(await nodeStatus(n, other), "dead", `${impl}: ${n.name} on ${other}`);
  }
  // the watchdog is still fed: Heartbeat feeds it with each status it sends, sent or lost
  const wdSize = async () => (await Deno.stat(`${n1.logDir}/wd`)).size;
  const wd0 = await wdSize();
  await new Promise((r) => setTimeout(r, 1000));
  const wdFeeds = (await wdSize()) - wd0;
  // the children's lines come a little after the master's
  await waitFor(`${impl}: the children's lines`, async () => {
    const t = (await n1.readLog()).slice(o1);
    return (t.match(/Above Options Now Enabled/g) ?? []).length >= 4 || undefined;
  }, { timeoutMs: 5000, intervalMs: 100 });
  const breakLines = hookLines((await n1.readLog()).slice(o1));

  // fix
  const f1 = await n1.logOffset();
  const fix = await n1.exec([TOOL, "fix-communication"]);
  assertEquals(fix.code, 0, `${impl}: fix-communication: ${fix.stdout}${fix.stderr}`);
  assert(fix.stdout.includes("DeleteTestFileOK"), fix.stdout);
  const t1 = performance.now();
  await waitFor(`${impl}: both active again`, async () => {
    return ((await nodeStatus(n1, "node2")) === "active" &&
      (await nodeStatus(n2, "node1")) === "active") || undefined;
  }, { timeoutMs: 15_000, intervalMs: 50 });
  const healedAfterMs = Math.round(performance.now() - t1);
  await n1.waitForLog("Cluster node node2 returning after partition.", { from: f1 });
  await waitFor(`${impl}: the children's lines`, async () => {
    const t = (await n1.readLog()).slice(f1);
    return (t.match(/Test Code Now disabled/g) ?? []).length >= 4 || undefined;
  }, { timeoutMs: 5000, intervalMs: 100 });
  const fixLines = hookLines((await n1.readLog()).slice(f1));
  // still one cluster a while later
  await new Promise((r) => setTimeout(r, 2000));
  assertEquals(await nodeStatus(n1, "node2"), "active");
  assertEquals(await nodeStatus(n2, "node1"), "active");
  return {
    start,
    allow: allowLines,
    reduce: reduceLines,
    break: breakLines,
    fix: fixLines,
    deadAfterMs,
    healedAfterMs,
    wdFeeds,
  };
}

Deno.test({
  name: "OnlyForTesting: TestHeartbeatComm splits and heals an hb pair as a Heartbeat pair",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const real = await scenario("heartbeat");
    const hb = await scenario("hb");
    console.log(
      `dead after break (node1, node2): heartbeat ${real.deadAfterMs.join(", ")} ms, ` +
        `hb ${hb.deadAfterMs.join(", ")} ms; both active after fix: heartbeat ` +
        `${real.healedAfterMs} ms, hb ${hb.healedAfterMs} ms`,
    );
    console.log(
      `node1's watchdog feeds in 1 s of break: heartbeat ${real.wdFeeds}, hb ${hb.wdFeeds}`,
    );
    for (const r of [real, hb]) assert(r.wdFeeds >= 5, `${r.wdFeeds} feeds in 1 s`);
    // start-up: Heartbeat's lines, then hb's explanations (WARN, with file and line)
    const explained = hb.start.filter((l) => l.startsWith("WARN: /etc/ha.d/OnlyForTesting:"));
    assertEquals(hb.start.filter((l) => !explained.includes(l)), real.start);
    assertEquals(real.start, OFT_BOGUS_LINES);
    assertEquals(explained.length, 2, hb.start.join("\n"));
    assertEquals(real.allow, [
      "info: Configuration unchanged.",
      "info: WARNING: Enabling Test Code",
      "info: Xmit loss probability = 1.000",
      "info: Receive loss probability = 1.000",
      "info: Allow nodes = node2;",
      "info: WARNING: Above Options Now Enabled.",
    ]);
    assertEquals(hb.allow, real.allow);
    assertEquals(real.reduce, [
      "info: Configuration unchanged.",
      "info: WARNING: Enabling Test Code",
      "info: Xmit loss probability = 0.200",
      "info: Receive loss probability = 0.200",
      "info: Allow nodes = ;",
      "info: WARNING: Above Options Now Enabled.",
    ]);
    assertEquals(hb.reduce, real.reduce);
    // break: the master's lines in order, everybody's as a multiset
    assertEquals(real.break.master, [
      "info: Configuration unchanged.",
      "info: WARNING: Enabling Test Code",
      "info: Xmit loss probability = 1.000",
      "info: Receive loss probability = 1.000",
      "info: Allow nodes = ;",
      "info: WARNING: Above Options Now Enabled.",
    ]);
    assertEquals(hb.break.master, real.break.master);
    assertEquals(hb.break.all, real.break.all);
    assertEquals(real.fix.master, [
      "info: Configuration unchanged.",
      "info: Test Code Now disabled.",
    ]);
    assertEquals(hb.fix.master, real.fix.master);
    assertEquals(hb.fix.all, real.fix.all);
  },
});
