/**
 * The process model with real processes: daemon start (fork-like re-exec),
 * pid file, worker titles, a SIGKILLed worker's pair respawned at once (the
 * kernel started the new workers within 1 s of the kill) and logged, and
 * `heartbeat -k` leaving no process behind.
 *
 * Runs one hb node in a throw-away network namespace (root required; the
 * test fails loudly otherwise).
 */

import { eventually } from "./support/mod.ts";
import { assert, assertEquals, assertMatch, fail } from "./assert.ts";
import {
  alive,
  heartbeatIn,
  STANDALONE_BASE,
  standaloneNode,
  title,
} from "./support/standalone.ts";
import { childPids, run } from "./testbed/sys.ts";

const sh = (cmd: string[]) => run(cmd, { check: false });
const must = (cmd: string[]) => run(cmd);

const NS = `hbpm${Deno.pid}`;

/** Kernel clock ticks per second (`getconf CLK_TCK`; 100 on Linux x86-64). */
const CLOCK_TICKS = 100;

/** Now, in clock ticks since boot (the unit of a process's start time). */
function uptimeTicks(): number {
  return Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]) * CLOCK_TICKS;
}

/** When the kernel started `pid`, in clock ticks since boot (field 22 of /proc/PID/stat). */
function startTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[22 - 3]);
}

Deno.test("process model: start, worker respawn, -k stops everything", async () => {
  if (Deno.uid() !== 0) fail("this test needs root (network namespaces)");
  const { dir, env, log } = await standaloneNode(
    "hb-pm-",
    [...STANDALONE_BASE, "bcast eth0", "node node1"],
    "pm-secret",
  );
  await must(["ip", "netns", "add", NS]);
  let master: number | undefined;
  try {
    // this kernel has no dummy driver: a veth pair inside the namespace gives eth0 a carrier
    await must(["ip", "-n", NS, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"]);
    await must(["ip", "-n", NS, "link", "set", "eth0p", "up"]);
    await must(["ip", "-n", NS, "addr", "add", "198.18.90.1/24", "brd", "+", "dev", "eth0"]);
    await must(["ip", "-n", NS, "link", "set", "eth0", "up"]);
    await must(["ip", "-n", NS, "link", "set", "lo", "up"]);
    const hb = heartbeatIn(NS, env);

    const started = await hb([]);
    assertEquals(started.code, 0, started.stderr);
    assertMatch(started.stderr, /info: Configuration validated\. Starting heartbeat 3\.0\.6/);
    master = Number((await Deno.readTextFile(`${env.HB_RUNDIR}/heartbeat.pid`)).trim());
    assert(alive(master), "master runs");
    assertEquals(title(master), "heartbeat: master control process");

    let kids: number[] = [];
    assert(await eventually(() => (kids = childPids(master!)).length === 3, 5000), "3 workers");
    const titles = kids.map(title).sort();
    assertEquals(titles, [
      "heartbeat: FIFO reader",
      "heartbeat: read: bcast eth0",
      "heartbeat: write: bcast eth0",
    ]);

    const status = await hb(["-s"]);
    assertEquals(status.code, 0);
    assertMatch(status.stdout, new RegExp(`heartbeat OK \\[pid ${master} et al\\] is running`));

    // SIGKILL the reader: the pair is restarted at once (no back-off for a first restart) and
    // it is logged. How long the new Deno workers take to come up depends on the machine's
    // load: the log line is waited for with a generous bound, and "at once" is judged by when
    // the kernel started the new workers (their start time in /proc), not by the log.
    const reader = kids.find((p) => title(p) === "heartbeat: read: bcast eth0")!;
    const killedAt = uptimeTicks();
    Deno.kill(reader, "SIGKILL");
    assert(
      await eventually(() => log().includes("Communications restart succeeded."), 60_000),
      `respawn not logged:\n${log()}`,
    );
    assertMatch(
      log(),
      new RegExp(
        `WARN: Managed HBREAD process ${reader} killed by signal 9 \\[SIGKILL - Kill, unblockable\\]\\.`,
      ),
    );
    assert(await eventually(() => childPids(master!).length === 3, 60_000), "3 workers again");
    const after = childPids(master);
    const respawned = after.filter((p) => !kids.includes(p));
    assertEquals(respawned.map(title).sort(), [
      "heartbeat: read: bcast eth0",
      "heartbeat: write: bcast eth0",
    ]);
    for (const p of respawned) {
      const ms = (startTicks(p) - killedAt) * 1000 / CLOCK_TICKS;
      assert(ms <= 1000, `worker ${p} (${title(p)}) started ${ms} ms after the kill`);
    }

    // logrotate: move the log away, SIGHUP; the daemon reopens the path and writes there
    await Deno.rename(`${dir}/ha-log`, `${dir}/ha-log.1`);
    Deno.kill(master, "SIGHUP");
    assert(
      await eventually(() => log().includes("info: Configuration unchanged."), 2000),
      "no line in the reopened log after SIGHUP",
    );

    const stop = await hb(["-k"]);
    assertEquals(stop.code, 0, stop.stderr);
    assert(!alive(master), "master gone after -k");
    for (const p of after) assert(!alive(p), `worker ${p} (${title(p)}) left behind`);
    const text = log();
    assertMatch(text, /info: Heartbeat shutdown in progress\./);
    assertMatch(text, /info: killing HBREAD process \d+ with signal 15/);
    assertMatch(text, /info: Core process \d+ exited\. 1 remaining/);
    assertMatch(text, /info: node1 Heartbeat shutdown complete\./);
    master = undefined;

    const again = await hb(["-k"]);
    assertEquals(again.code, 0);
    assertMatch(again.stderr, /Heartbeat already stopped\./);
    const st = await hb(["-s"]);
    assertEquals(st.code, 1, "pid file left in place, process gone: exit 1");
  } finally {
    // whatever failed, nothing we started may survive: kill every process in the namespace
    const left = await sh(["ip", "netns", "pids", NS]);
    for (const p of left.stdout.split(/\s+/).filter(Boolean)) {
      try {
        Deno.kill(Number(p), "SIGKILL");
      } catch {
        // already gone
      }
    }
    if (master !== undefined && alive(master)) Deno.kill(master, "SIGKILL");
    await sh(["ip", "netns", "del", NS]);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
