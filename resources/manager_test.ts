import { assert, assertEquals } from "../tests/assert.ts";
import { formatScriptLogfileLine } from "../logging/format.ts";
import { ResourceManager, type ResourceManagerOptions, stopRetryMax } from "./manager.ts";
import { baseEnv, group, RecordingLogger, ScriptDirs } from "../tests/support/resources.ts";
import type { BuiltinAgent } from "./types.ts";

const TAG = "ResourceManager(default)[4242]";

/** True when `pid` exists and is not a zombie. */
function isAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function setup(opts: Partial<ResourceManagerOptions> = {}) {
  const d = new ScriptDirs();
  const log = new RecordingLogger();
  const rm = new ResourceManager({
    logger: log,
    env: baseEnv(),
    resourceDir: d.rd,
    initDir: d.init,
    pid: 4242,
    stopRetryDelayMs: 10,
    builtins: {},
    ...opts,
  });
  return { d, log, rm, lines: () => log.of(TAG) };
}

Deno.test("takegroup: lookup order, :: args, two spaces without args, skip when running", async () => {
  const { d, log, rm, lines } = setup();
  try {
    d.recorder("rd", "rec");
    d.recorder("rd", "both");
    d.recorder("init", "both");
    d.recorder("init", "initonly");
    const g = group("node1 rec::alpha::b2 both initonly::x");
    const r = await rm.takeGroup(g);
    assertEquals(r.ok, true);
    assertEquals(r.exitCode, 0);
    assertEquals(r.alreadyRunning, []);
    assertEquals(lines(), [
      "info: Acquiring resource group: node1 rec::alpha::b2 both initonly::x",
      `info: Running ${d.rd}/rec alpha b2 start`,
      `info: Running ${d.rd}/both  start`,
      `info: Running ${d.init}/initonly x start`,
    ]);
    assertEquals(d.calls(), [
      "rd/rec alpha b2 status",
      "rd/rec alpha b2 start",
      "rd/both status",
      "rd/both start",
      "init/initonly x status",
      "init/initonly x start",
    ]);
    assertEquals(log.debugs, ["started rec_alpha_b2\n", "started both\n", "started initonly_x\n"]);
    assertEquals(r.calls.map((c) => `${c.resource} ${c.action} ${c.code}`), [
      "rec::alpha::b2 status 0",
      "rec::alpha::b2 start 0",
      "both status 0",
      "both start 0",
      "initonly::x status 0",
      "initonly::x start 0",
    ]);

    // Second acquisition: every resource says running, nothing is started.
    log.lines = [];
    d.resetCalls();
    const again = await rm.takeGroup(g);
    assertEquals(again.alreadyRunning, ["rec::alpha::b2", "both", "initonly::x"]);
    assertEquals(lines(), [
      "info: Acquiring resource group: node1 rec::alpha::b2 both initonly::x",
    ]);
    assertEquals(d.calls(), ["rd/rec alpha b2 status", "rd/both status", "init/initonly x status"]);

    // Release: right to left, stderr reaches the debug log.
    log.lines = [];
    log.debugs = [];
    d.resetCalls();
    const give = await rm.giveGroup(g);
    assertEquals(give.ok, true);
    assertEquals(give.exitCode, 0);
    assertEquals(lines(), [
      "info: Releasing resource group: node1 rec::alpha::b2 both initonly::x",
      `info: Running ${d.init}/initonly x stop`,
      `info: Running ${d.rd}/both  stop`,
      `info: Running ${d.rd}/rec alpha b2 stop`,
    ]);
    assertEquals(d.calls(), ["init/initonly x stop", "rd/both stop", "rd/rec alpha b2 stop"]);
    assertEquals(log.debugs, ["stopped initonly_x\n", "stopped both\n", "stopped rec_alpha_b2\n"]);
    assertEquals(await rm.statGroup(g), "NONE");
  } finally {
    d.remove();
  }
});

Deno.test("log lines have the ResourceManager(default)[pid] tag of the §6.4 logfile format", async () => {
  const { d, log, rm } = setup();
  try {
    d.recorder("rd", "rec");
    await rm.takeGroup(group("node1 rec::a"));
    assertEquals(rm.tag, TAG);
    assertEquals(log.lines[1], `${TAG}:    info: Running ${d.rd}/rec a start`);
    const when = new Date(2026, 10, 21, 21, 44, 31);
    assertEquals(
      formatScriptLogfileLine(when, rm.tag, `info: Running ${d.rd}/rec a start`),
      `2026/11/21_21:44:31  ${TAG}:    info: Running ${d.rd}/rec a start`,
    );
    // Our own pid by default.
    const own = new ResourceManager({ logger: log });
    assertEquals(own.tag, `ResourceManager(default)[${Deno.pid}]`);
  } finally {
    d.remove();
  }
});

Deno.test("takegroup: failed start gives up the whole group right to left, asks for hb_standby", async () => {
  const { d, rm, lines } = setup();
  try {
    d.recorder("rd", "rec");
    d.write(
      "rd",
      "failstart",
      `case $2 in start) echo "cannot start" >&2; exit 1;; status) echo stopped;; esac; exit 0`,
    );
    const g = group("node1 rec::alpha::b2 failstart::f1 rec::c");
    const r = await rm.takeGroup(g);
    assertEquals(r.ok, false);
    assertEquals(r.exitCode, 0); // ResourceManager's release overwrote the error
    assertEquals(r.failedResource, "failstart::f1");
    assertEquals(r.standby, "foreign");
    assertEquals(r.standbyDelayMs, 30_000);
    assertEquals(r.release?.ok, true);
    assertEquals(lines(), [
      "info: Acquiring resource group: node1 rec::alpha::b2 failstart::f1 rec::c",
      `info: Running ${d.rd}/rec alpha b2 start`,
      `info: Running ${d.rd}/failstart f1 start`,
      `ERROR: Return code 1 from ${d.rd}/failstart`,
      "CRIT: Giving up resources due to failure of failstart::f1",
      "info: Releasing resource group: node1 rec::alpha::b2 failstart::f1 rec::c",
      `info: Running ${d.rd}/rec c stop`,
      `info: Running ${d.rd}/failstart f1 stop`,
      `info: Running ${d.rd}/rec alpha b2 stop`,
    ]);
    assertEquals(d.calls(), [
      "rd/rec alpha b2 status",
      "rd/rec alpha b2 start",
      "rd/failstart f1 status",
      "rd/failstart f1 start",
      "rd/rec c stop",
      "rd/failstart f1 stop",
      "rd/rec alpha b2 stop",
    ]);
  } finally {
    d.remove();
  }
});

Deno.test("givegroup: missing script, retries, 'not LSB-compliant' path", async () => {
  const { d, rm, lines } = setup();
  try {
    const r = await rm.giveGroup(group("node1 missing::y"), { HA_STOPRETRYMAX: "2" });
    assertEquals(r.ok, false);
    assertEquals(r.rebootRequired, false);
    assertEquals(r.exitCode, 0);
    assertEquals(r.stopFailedNotRunning, ["missing::y"]);
    assertEquals(lines(), [
      "info: Releasing resource group: node1 missing::y",
      "ERROR: Cannot locate resource script missing",
      "ERROR: Cannot locate resource script missing",
      "info: Retrying failed stop operation [missing::y]",
      "ERROR: Cannot locate resource script missing",
      "ERROR: Cannot locate resource script missing",
      "info: Retrying failed stop operation [missing::y]",
      "ERROR: Cannot locate resource script missing",
      "ERROR: Cannot locate resource script missing",
      "ERROR: Cannot locate resource script missing",
      "ERROR: Resource script for missing::y probably not LSB-compliant.",
      "WARN: it (missing::y) MUST succeed on a stop when already stopped",
      "WARN: Machine reboot narrowly avoided!",
    ]);
  } finally {
    d.remove();
  }
});

Deno.test("givegroup: stop fails while still running → reboot required reported, rest still stopped", async () => {
  const { d, rm, lines } = setup({ stopRetryDelayMs: 50 });
  try {
    d.recorder("rd", "rec");
    d.write("rd", "failstop", `case $1 in stop) exit 1;; status) echo "failstop running";; esac`);
    const t0 = performance.now();
    const r = await rm.giveGroup(group("node1 rec::a failstop"), { HA_STOPRETRYMAX: "1" });
    assert(performance.now() - t0 >= 45, "one retry pause");
    assertEquals(r.ok, false);
    assertEquals(r.rebootRequired, true);
    assertEquals(r.exitCode, 1);
    assertEquals(r.stopFailedRunning, ["failstop"]);
    assertEquals(lines(), [
      "info: Releasing resource group: node1 rec::a failstop",
      `info: Running ${d.rd}/failstop  stop`,
      `ERROR: Return code 1 from ${d.rd}/failstop`,
      "info: Retrying failed stop operation [failstop]",
      `info: Running ${d.rd}/failstop  stop`,
      `ERROR: Return code 1 from ${d.rd}/failstop`,
      "CRIT: Resource STOP failure. Reboot required!",
      `info: Running ${d.rd}/rec a stop`,
    ]);
    assertEquals(d.calls(), [
      "rd/failstop stop",
      "rd/failstop stop",
      "rd/failstop status",
      "rd/rec a stop",
    ]);
  } finally {
    d.remove();
  }
});

Deno.test("givegroup: HA_STOPRETRYMAX default 10, non-numeric = no retry", async () => {
  assertEquals(stopRetryMax(undefined), 10);
  assertEquals(stopRetryMax("3"), 3);
  assertEquals(stopRetryMax("0"), 0);
  assertEquals(stopRetryMax("-1"), -1);
  assertEquals(stopRetryMax(""), null);
  assertEquals(stopRetryMax("x"), null);
  const { d, rm, lines } = setup({ stopRetryDelayMs: 1 });
  try {
    d.write("rd", "failstop", `case $1 in stop) exit 4;; status) echo "stopped";; esac`);
    await rm.giveGroup(group("node1 failstop"));
    assertEquals(lines().filter((l) => l.startsWith("info: Retrying")).length, 10);
    assertEquals(d.calls().length, 11 + 1);
    d.resetCalls();
    await rm.giveGroup(group("node1 failstop"), { HA_STOPRETRYMAX: "never" });
    assertEquals(d.calls(), ["rd/failstop stop", "rd/failstop status"]);
  } finally {
    d.remove();
  }
});

Deno.test("status interpretation through scripts: 'not running' is not owned, exit code ignored", async () => {
  const { d, rm, lines } = setup();
  try {
    d.write("rd", "notrun", `case $1 in status) echo "notrun is not running"; exit 0;; esac`);
    d.write("rd", "okexit3", `case $1 in status) echo "OK"; exit 3;; esac`);
    d.write("rd", "silent", `exit 0`);
    d.write("init", "lsb", `case $1 in status) echo "lsb is running";; esac`);
    const spec = (s: string) => group(`node1 ${s}`).resources[0];
    assertEquals(await rm.status(spec("notrun")), false);
    assertEquals(await rm.status(spec("okexit3")), true);
    assertEquals(await rm.status(spec("silent")), false);
    assertEquals(await rm.status(spec("lsb")), true);
    assertEquals(await rm.status(spec("nosuch::a")), false);
    assertEquals(lines(), ["ERROR: Cannot locate resource script nosuch"]);
    // takegroup starts a resource whose status says "not running".
    const r = await rm.takeGroup(group("node1 notrun"));
    assertEquals(r.alreadyRunning, []);
    assertEquals(d.calls().slice(-2), ["rd/notrun status", "rd/notrun start"]);
  } finally {
    d.remove();
  }
});

Deno.test("statgroup ALL / SOME / NONE, written to the debug log", async () => {
  const { d, log, rm } = setup();
  try {
    d.recorder("rd", "rec");
    const g = group("node1 rec::a rec::b");
    assertEquals(await rm.statGroup(g), "NONE");
    await rm.takeGroup(group("node1 rec::a"));
    assertEquals(await rm.statGroup(g), "SOME");
    await rm.takeGroup(group("node1 rec::b"));
    assertEquals(await rm.statGroup(g), "ALL");
    assertEquals(await rm.statGroup(group("node1")), "NONE");
    assertEquals(log.debugs.filter((t) => /^[A-Z]+\n$/.test(t)), [
      "NONE\n",
      "SOME\n",
      "ALL\n",
      "NONE\n",
    ]);
  } finally {
    d.remove();
  }
});

Deno.test("verifyallidle checks only key resources and logs the CRITICAL lines", async () => {
  const { d, rm, lines } = setup();
  try {
    d.recorder("rd", "rec");
    await rm.takeGroup(group("node1 rec::a"));
    await rm.takeGroup(group("node1 rec::c"));
    const groups = [group("node1 rec::a rec::b"), group("node2 rec::b rec::c")];
    const before = lines().length;
    const r = await rm.verifyAllIdle(groups);
    assertEquals(r.active, ["rec::a"]);
    assertEquals(lines().slice(before), [
      "CRITICAL: Resource rec::a is active, and should not be!",
      "CRITICAL: Non-idle resources can affect data integrity!",
      "info: If you don't know what this means, then get help!",
      "info: Read the docs and/or source to /usr/share/heartbeat/ResourceManager for more details.",
      "CRITICAL: Non-idle resources will affect resource takeback!",
      "CRITICAL: Non-idle resources may affect data integrity!",
    ]);
    assertEquals(
      r.stderr.split("\n")[3],
      "info: Read the docs and/or the source to /usr/share/heartbeat/ResourceManager for more details.",
    );
  } finally {
    d.remove();
  }
});

Deno.test("environment: caller's HA_*, HA_RSCTMP, LC_ALL dropped, OCF_RESKEY_* for IPaddr; disk wins over built-in", async () => {
  let builtinCalls = 0;
  const fake: BuiltinAgent = () => {
    builtinCalls++;
    return Promise.resolve({ code: 0, stdout: "running\n" });
  };
  const { d, rm, lines } = setup({
    env: baseEnv({ LC_ALL: "fr_FR.UTF-8", HA_deadtime: "5" }),
    builtins: { IPaddr: fake },
  });
  try {
    const dump =
      `env | grep -E '^(HA_|OCF_|LC_ALL)' | sort > "$T/env-$(basename "$0")"; case $2 in status) echo stopped;; esac`;
    d.write("rd", "IPaddr", dump);
    await rm.takeGroup(group("node1 198.18.77.10/25/eth9/198.18.77.127"), { HA_DONTASK: "yes" });
    const env = Deno.readTextFileSync(`${d.dir}/env-IPaddr`).trim().split("\n");
    assertEquals(env, [
      "HA_CURHOST=node1",
      "HA_DIR=/etc/ha.d",
      "HA_DONTASK=yes",
      "HA_FUNCS=/etc/ha.d/shellfuncs",
      "HA_RSCTMP=/run/resource-agents",
      "HA_deadtime=5",
      "OCF_RESKEY_broadcast=198.18.77.127",
      "OCF_RESKEY_cidr_netmask=25",
      "OCF_RESKEY_ip=198.18.77.10",
      "OCF_RESKEY_nic=eth9",
      "OCF_ROOT=/usr/lib/ocf",
    ]);
    assertEquals(builtinCalls, 0);
    assertEquals(
      lines()[1],
      `info: Running ${d.rd}/IPaddr 198.18.77.10/25/eth9/198.18.77.127 start`,
    );
    // Without a file the built-in runs, shown as builtin:IPaddr.
    Deno.removeSync(`${d.rd}/IPaddr`);
    const r = await rm.takeGroup(group("node1 IPaddr::198.18.77.11"));
    assertEquals(builtinCalls, 1); // status said running: not started
    assertEquals(r.alreadyRunning, ["IPaddr::198.18.77.11"]);
    await rm.giveGroup(group("node1 IPaddr::198.18.77.11"));
    assertEquals(lines().at(-1), "info: Running builtin:IPaddr 198.18.77.11 stop");
  } finally {
    d.remove();
  }
});

Deno.test("non-executable and non-regular files are not scripts", async () => {
  const { d, rm, lines } = setup();
  try {
    d.write("rd", "noexec", "exit 0", 0o644);
    d.recorder("init", "noexec");
    Deno.mkdirSync(`${d.rd}/adir`);
    await rm.takeGroup(group("node1 noexec adir"), { HA_STOPRETRYMAX: "1" });
    assertEquals(lines(), [
      "info: Acquiring resource group: node1 noexec adir",
      `info: Running ${d.init}/noexec  start`,
      "ERROR: Cannot locate resource script adir",
      "ERROR: Cannot locate resource script adir",
      "ERROR: Cannot locate resource script adir",
      "CRIT: Giving up resources due to failure of adir",
      "info: Releasing resource group: node1 noexec adir",
      "ERROR: Cannot locate resource script adir",
      "ERROR: Cannot locate resource script adir",
      "info: Retrying failed stop operation [adir]",
      "ERROR: Cannot locate resource script adir",
      "ERROR: Cannot locate resource script adir",
      "ERROR: Cannot locate resource script adir",
      "ERROR: Resource script for adir probably not LSB-compliant.",
      "WARN: it (adir) MUST succeed on a stop when already stopped",
      "WARN: Machine reboot narrowly avoided!",
      `info: Running ${d.init}/noexec  stop`,
    ]);
  } finally {
    d.remove();
  }
});

Deno.test("timeout kills the script's whole process group", async () => {
  const { d, rm, lines } = setup({ timeoutMs: 300 });
  try {
    d.write(
      "rd",
      "hang",
      `case $1 in start) sleep 30 & echo $! > "$T/child"; sleep 30;; status) echo stopped;; esac`,
    );
    // It did not wait for the script: its `sleep 30` was killed (137, timed out), not finished.
    const r = await rm.takeGroup(group("node1 hang"));
    assertEquals(r.ok, false);
    assertEquals(r.calls[1], { resource: "hang", action: "start", code: 137, timedOut: true });
    assertEquals(lines().slice(1, 4), [
      `info: Running ${d.rd}/hang  start`,
      `ERROR: Timed out after 300 ms: ${d.rd}/hang  start (process group killed)`,
      `ERROR: Return code 137 from ${d.rd}/hang`,
    ]);
    const child = Number(Deno.readTextFileSync(`${d.dir}/child`).trim());
    assertEquals(isAlive(child), false, "background child of the script was killed too");
  } finally {
    d.remove();
  }
});

Deno.test("a daemon keeping stdout open does not hold the start up", async () => {
  const { d, rm } = setup();
  let child = 0;
  try {
    d.write(
      "rd",
      "daemon",
      `case $1 in start) sleep 30 & echo $! > "$T/child"; echo started;; status) echo stopped;; esac`,
    );
    const r = await rm.takeGroup(group("node1 daemon"));
    assertEquals(r.ok, true);
    child = Number(Deno.readTextFileSync(`${d.dir}/child`).trim());
    // the start returned while the daemon (its `sleep 30`) still holds the script's stdout
    assert(isAlive(child), "the start waited for the daemon to exit");
  } finally {
    if (child > 0) {
      try {
        Deno.kill(child, "SIGKILL");
      } catch {
        // gone
      }
    }
    d.remove();
  }
});

Deno.test("ha_debug lines only with HA_debug set", async () => {
  const { d, rm, lines } = setup({ env: baseEnv({ HA_debug: "1" }) });
  try {
    d.recorder("rd", "rec");
    await rm.takeGroup(group("node1 rec::a"));
    assertEquals(lines().slice(1), [
      `info: Running ${d.rd}/rec a start`,
      `debug: Starting ${d.rd}/rec a start`,
      `debug: ${d.rd}/rec a start done. RC=0`,
    ]);
  } finally {
    d.remove();
  }
});

Deno.test("restartFrom: stops the resource and those after it right to left, starts them in order", async () => {
  const { d, rm, lines } = setup();
  try {
    for (const n of ["a", "b", "c"]) d.recorder("rd", n);
    const g = group("node1 a b::x c");
    assertEquals((await rm.takeGroup(g)).ok, true);
    d.resetCalls();
    const before = lines().length;
    assertEquals(await rm.restartFrom(g, 1), { ok: true, detail: "started" });
    assertEquals(d.calls(), ["rd/c stop", "rd/b x stop", "rd/b x start", "rd/c start"]);
    assertEquals(lines().slice(before), [
      "info: Restarting resources of group a: b::x c",
      `info: Running ${d.rd}/c  stop`,
      `info: Running ${d.rd}/b x stop`,
      `info: Running ${d.rd}/b x start`,
      `info: Running ${d.rd}/c  start`,
    ]);
    d.write("rd", "c", `case $1 in start) exit 1;; *) exit 0;; esac`);
    const bad = await rm.restartFrom(g, 2);
    assertEquals(bad, { ok: false, detail: "start of c failed (exit 1)" });
  } finally {
    d.remove();
  }
});

Deno.test("check: the status meaning, a time limit that kills the process group, a missing script", async () => {
  const { d, rm } = setup();
  try {
    d.recorder("rd", "svc");
    const r = group("node1 svc").resources[0];
    const down = await rm.check(r, 5000);
    assertEquals([down.ok, down.timedOut, down.detail], [false, false, "exit 0 (svc is stopped)"]);
    await rm.takeGroup(group("node1 svc"));
    assertEquals((await rm.check(r, 5000)).ok, true);
    d.write("rd", "hang", `sleep 30 & echo $! >"$T/child"; wait`);
    // long enough for the script to have started its child on a loaded machine
    const h = await rm.check(group("node1 hang").resources[0], 1500);
    assertEquals([h.ok, h.timedOut, h.detail], [false, true, "timed out after 1500 ms"]);
    const child = Number(Deno.readTextFileSync(`${d.dir}/child`));
    for (let i = 0; i < 100 && isAlive(child); i++) await new Promise((r) => setTimeout(r, 20));
    assert(!isAlive(child), "the check's child survived its time limit");
    const none = await rm.check(group("node1 nosuch").resources[0], 300);
    assertEquals([none.ok, none.detail], [false, "cannot locate resource script nosuch"]);
  } finally {
    d.remove();
  }
});
