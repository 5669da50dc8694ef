/**
 * `packaging/heartbeat.service` under a real systemd (Debian's systemd 252 as pid 1 of its own
 * pid, mount, UTS, network and cgroup namespaces, in a cgroup of its own; the host's systemd is
 * not involved, no host unit is touched): the unit file as shipped, with only the program path
 * (hb from this checkout), `WatchdogSec=8s` and systemd's default dependencies changed.
 *
 * - `systemctl start`: active once the daemon sent `READY=1`, `StatusText` is our summary;
 * - the watchdog timestamp advances (our `WATCHDOG=1`);
 * - `systemctl reload` (`heartbeat -r`) with ha.cf unchanged, and with ha.cf touched (the daemon
 *   re-executes itself: same main pid, still running, still pinging);
 * - `systemctl stop` (`heartbeat -k`): result success, exit 0;
 * - the master SIGSTOPped: systemd's watchdog fires (`Result=watchdog`);
 * - the shutdown-and-restart procedure ("No local heartbeat", forced with the test hook
 *   `HB_TEST_STOP_STATUS`): no ping for longer than `WatchdogSec`, yet systemd keeps the service
 *   (the daemon stretched the timeout with `WATCHDOG_USEC=` and restores it at `READY=1`);
 * - a bad hb.cf: the start fails with exit 6 and is not retried (`RestartPreventExitStatus=6`).
 *
 * The cgroup views systemd gets are mounted afresh inside its cgroup namespace, rooted in a
 * cgroup the test makes and removes (hybrid v1/v2 layout, as in our containers, or pure v2).
 * Needs root and the Debian packages systemd and util-linux; fails loudly (never skips).
 *
 * @module
 */

import { assert, assertEquals, assertMatch, fail } from "./assert.ts";
import { hbCommand, run, waitFor } from "./testbed/mod.ts";
import { STOP_STATUS_ENV } from "../master/runtime.ts";

const SYSTEMD = "/lib/systemd/systemd";
const UNIT = new URL("../packaging/heartbeat.service", import.meta.url).pathname;
const NODE = "hbsd1";

Deno.test("systemd runs packaging/heartbeat.service: notify, watchdog, reload, stop", async () => {
  for (const p of [SYSTEMD, "/usr/bin/systemctl", "/usr/bin/unshare", "/usr/bin/nsenter"]) {
    if (!(await Deno.stat(p).catch(() => undefined))?.isFile) fail(`${p} is missing`);
  }
  const dir = await Deno.makeTempDir({ prefix: "hbsd-" });
  // hybrid layout (v1 name=systemd + v2 "unified", as in our containers) or pure cgroup v2
  const hybrid = (await Deno.stat("/sys/fs/cgroup/unified").catch(() => undefined))?.isDirectory;
  const cgroups = hybrid
    ? [`/sys/fs/cgroup/systemd/hbsd${Deno.pid}`, `/sys/fs/cgroup/unified/hbsd${Deno.pid}`]
    : [`/sys/fs/cgroup/hbsd${Deno.pid}`];
  await writeFiles(dir, hybrid === true);
  for (const c of cgroups) await Deno.mkdir(c);
  const outer = new Deno.Command("sh", {
    args: [
      "-c",
      cgroups.map((c) => `echo $$ > ${c}/cgroup.procs`).join("; ") +
      `; exec unshare --cgroup --pid --fork --mount --uts --net --mount-proc --kill-child ${dir}/inner.sh`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let systemd: number | undefined;
  try {
    systemd = await waitFor("systemd as pid 1 of its namespace", () => {
      const kids = Deno.readTextFileSync(`/proc/${outer.pid}/task/${outer.pid}/children`).trim();
      return kids === "" ? undefined : Number(kids.split(" ")[0]);
    }, { timeoutMs: 10_000 });
    const ns = ["nsenter", "-t", String(systemd), "-m", "-p", "-u", "-n"];
    const ctl = async (...args: string[]) =>
      await run([...ns, "systemctl", ...args], { timeoutMs: 60_000, check: false });
    const show = async (...props: string[]) => {
      const r = await ctl("show", "heartbeat", ...props.map((p) => `-p${p}`));
      return new Map(
        r.stdout.trim().split("\n").map((l) => {
          const i = l.indexOf("=");
          return [l.slice(0, i), l.slice(i + 1)] as [string, string];
        }),
      );
    };
    const log = () => Deno.readTextFile(`${dir}/ha-log`).catch(() => "");
    /** Waits for a watchdog ping after the one systemd recorded at `since`. */
    const pingAfter = (what: string, since: number) =>
      waitFor(
        what,
        async () =>
          Number((await show("WatchdogTimestampMonotonic")).get("WatchdogTimestampMonotonic")) >
            since,
        { timeoutMs: 10_000 },
      );
    await waitFor(
      "systemd manager up",
      async () => (await ctl("show", "-pVersion")).code === 0,
      { timeoutMs: 20_000 },
    );

    // start: READY=1 makes it active; STATUS= is our summary
    const started = await ctl("start", "heartbeat");
    assertEquals(started.code, 0, `systemctl start: ${started.stderr}`);
    let s = await show(
      "ActiveState",
      "SubState",
      "MainPID",
      "StatusText",
      "WatchdogTimestampMonotonic",
    );
    assertEquals([s.get("ActiveState"), s.get("SubState")], ["active", "running"]);
    assertMatch(s.get("StatusText")!, new RegExp(`^${NODE} \\S+; peers: none; holding: `));
    const pid = s.get("MainPID")!;
    // the watchdog timestamp moves (our pings every WatchdogSec/2)
    await pingAfter("a watchdog ping", Number(s.get("WatchdogTimestampMonotonic")));

    // reload, configuration unchanged
    assertEquals((await ctl("reload", "heartbeat")).code, 0);
    await waitFor(
      "Configuration unchanged.",
      async () => (await log()).includes("Configuration unchanged."),
    );
    // reload after ha.cf changed: the daemon re-executes itself with the same pid
    const now = new Date();
    await Deno.utime(`${dir}/etc/ha.cf`, now, now);
    assertEquals((await ctl("reload", "heartbeat")).code, 0);
    await waitFor(
      "the restart exec",
      async () => (await log()).includes("Performing heartbeat restart exec."),
    );
    await new Promise((r) => setTimeout(r, 3000));
    s = await show("SubState", "MainPID", "WatchdogTimestampMonotonic");
    assertEquals(
      [s.get("SubState"), s.get("MainPID")],
      ["running", pid],
      "after the quick restart",
    );
    await pingAfter("pings after the restart", Number(s.get("WatchdogTimestampMonotonic")));

    // stop: heartbeat -k, a clean exit
    assertEquals((await ctl("stop", "heartbeat")).code, 0);
    s = await show("Result", "SubState", "ExecMainStatus");
    assertEquals([s.get("Result"), s.get("SubState"), s.get("ExecMainStatus")], [
      "success",
      "dead",
      "0",
    ]);
    assert((await log()).includes(`${NODE} Heartbeat shutdown complete.`));

    // a stopped master starves the watchdog
    assertEquals((await ctl("start", "heartbeat")).code, 0);
    const master = (await show("MainPID")).get("MainPID")!;
    assertEquals((await run([...ns, "kill", "-STOP", master])).code, 0);
    await waitFor(
      "Result=watchdog",
      async () => (await show("Result")).get("Result") === "watchdog",
      { timeoutMs: 20_000 },
    );
    await ctl("stop", "heartbeat");
    await ctl("reset-failed", "heartbeat");

    // the shutdown-and-restart procedure ("No local heartbeat", forced by the test hook that
    // stops our status): no ping from the moment our status stops until the new image is up,
    // longer than WatchdogSec here; the stretched timeout (WATCHDOG_USEC=) keeps systemd calm
    // a shorter watchdog than the gap (deadtime 2 s + release + 1 s + deadtime + 1 s + start)
    const unitPath = `${dir}/units/heartbeat.service`;
    await Deno.writeTextFile(
      unitPath,
      (await Deno.readTextFile(unitPath)).replace("WatchdogSec=8s", "WatchdogSec=4s"),
    );
    assertEquals((await ctl("daemon-reload")).code, 0);
    assertEquals((await ctl("start", "heartbeat")).code, 0);
    const before = (await show("MainPID")).get("MainPID")!;
    const from = (await log()).length;
    await Deno.writeTextFile(`${dir}/state/fifo`, ">>>\nt=hbsd-stop-status\n<<<\n");
    await waitFor(
      "the restart exec after No local heartbeat",
      async () => (await log()).slice(from).includes("Performing heartbeat restart exec."),
      { timeoutMs: 20_000 },
    );
    await waitFor(
      "the new image's first ping",
      async () => {
        const t = (await log()).slice(from);
        return t.lastIndexOf("Local status now set to: 'active'") >
            t.indexOf("Performing heartbeat restart exec.") &&
          (await show("SubState")).get("SubState") === "running";
      },
      { timeoutMs: 30_000 },
    );
    assert((await log()).slice(from).includes("No local heartbeat. Forcing restart."));
    s = await show("SubState", "MainPID", "Result");
    assertEquals(
      [s.get("SubState"), s.get("MainPID"), s.get("Result")],
      ["running", before, "success"],
      "the restart survived systemd's watchdog",
    );
    // pings again, at the configured rate
    const wd2 = Number(
      (await show("WatchdogTimestampMonotonic")).get("WatchdogTimestampMonotonic"),
    );
    await waitFor(
      "pings after the shutdown-and-restart",
      async () =>
        Number((await show("WatchdogTimestampMonotonic")).get("WatchdogTimestampMonotonic")) > wd2,
      { timeoutMs: 10_000 },
    );
    assertEquals((await ctl("stop", "heartbeat")).code, 0);

    // hb.cf refused: exit 6, not restarted
    await Deno.writeTextFile(`${dir}/etc/hb.cf`, "no_such_directive 1\n");
    const bad = await ctl("start", "heartbeat");
    assert(bad.code !== 0, "start with a bad hb.cf fails");
    s = await show("ExecMainStatus", "SubState", "NRestarts");
    assertEquals([s.get("ExecMainStatus"), s.get("SubState"), s.get("NRestarts")], [
      "6",
      "failed",
      "0",
    ]);
  } finally {
    if (systemd !== undefined) {
      // poweroff: systemd in a container exits (Deno.kill has no real-time signals)
      const off = await run(["kill", "-s", "RTMIN+4", String(systemd)], { check: false });
      if (off.code !== 0) console.error(`poweroff of systemd ${systemd}: ${off.stderr}`);
    }
    const gone = await Promise.race([
      outer.status,
      new Promise((r) => setTimeout(() => r(null), 10_000)),
    ]);
    if (gone === null) {
      outer.kill("SIGKILL");
      await outer.status;
    }
    for (const c of cgroups) await removeCgroup(c);
    await Deno.remove(dir, { recursive: true });
  }
});

/** Removes a cgroup directory tree, deepest first (its last processes may still be exiting). */
async function removeCgroup(path: string): Promise<void> {
  for await (const e of Deno.readDir(path)) {
    if (e.isDirectory) await removeCgroup(`${path}/${e.name}`);
  }
  await waitFor(`rmdir ${path}`, async () => {
    await Deno.remove(path);
    return true;
  }, { timeoutMs: 10_000, intervalMs: 100 });
}

async function writeFiles(dir: string, hybrid: boolean): Promise<void> {
  await Deno.mkdir(`${dir}/etc`);
  await Deno.mkdir(`${dir}/state`);
  await Deno.mkdir(`${dir}/units`);
  await Deno.writeTextFile(`${dir}/hostname`, `${NODE}\n`);
  await Deno.writeTextFile(
    `${dir}/etc/ha.cf`,
    `keepalive 200ms\ndeadtime 2\ninitdead 10\nnode ${NODE}\nbcast lo\nlogfile ${dir}/ha-log\n` +
      "logfacility none\nrealtime off\nauto_failback on\n",
  );
  await Deno.writeTextFile(`${dir}/etc/authkeys`, "auth 1\n1 sha1 systemd\n", { mode: 0o600 });
  await Deno.writeTextFile(`${dir}/etc/haresources`, "");
  const cmd = [...hbCommand(), "heartbeat"].map((a) => `'${a}'`).join(" ");
  await Deno.writeTextFile(
    `${dir}/hb.sh`,
    `#!/bin/sh\nexport HB_CONFDIR=${dir}/etc HB_STATEDIR=${dir}/state HB_RUNDIR=/run\n` +
      // test hook: a FIFO message of this type stops our status (master/runtime.ts)
      `export ${STOP_STATUS_ENV}=hbsd-stop-status\nexec ${cmd} "$@"\n`,
    { mode: 0o755 },
  );
  // the shipped unit: our program, a short watchdog, no default dependencies (none exist here)
  const unit = (await Deno.readTextFile(UNIT))
    .replaceAll("/usr/libexec/heartbeat/heartbeat", `${dir}/hb.sh`)
    .replace(/^ConditionPathExists=.*$/m, "DefaultDependencies=no")
    .replace(/^(Wants|After)=network-online.target.*\n/gm, "")
    .replace(/^#WatchdogSec=.*$/m, "WatchdogSec=8s");
  assert(unit.includes("WatchdogSec=8s") && unit.includes("Type=notify"));
  await Deno.writeTextFile(`${dir}/units/heartbeat.service`, unit);
  await Deno.writeTextFile(
    `${dir}/units/hbtest.target`,
    "[Unit]\nDescription=hb systemd test\nDefaultDependencies=no\n",
  );
  await Deno.writeTextFile(
    `${dir}/inner.sh`,
    `#!/bin/sh
set -e
ip link set lo up
mount --make-rprivate /
mount -t tmpfs tmpfs /run
${
      hybrid
        ? `umount /sys/fs/cgroup/systemd
mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
umount /sys/fs/cgroup/unified
mount -t cgroup2 none /sys/fs/cgroup/unified`
        : `umount /sys/fs/cgroup
mount -t cgroup2 none /sys/fs/cgroup`
    }
mount --bind ${dir}/units /etc/systemd/system
mount --bind ${dir}/hostname /etc/hostname
exec env container=hbtest ${SYSTEMD} --system --unit=hbtest.target --show-status=0
`,
    { mode: 0o755 },
  );
}
