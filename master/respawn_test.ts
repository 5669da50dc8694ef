/**
 * Respawn supervisor with real processes: credentials (initgroups, gid,
 * uid), own process group, stdio on /dev/null, environment, Heartbeat's log
 * lines, exit 100, the "respawning too fast" limit with its 1 s pause,
 * failfast with a recording reboot action, and the shutdown order.
 *
 * Needs root (changing uid) and the `hacluster` user Heartbeat's package
 * creates; fails loudly otherwise.
 */

import { eventually } from "../tests/support/mod.ts";
import { assert, assertEquals, assertMatch, fail } from "../tests/assert.ts";
import { type RespawnClient, RespawnSupervisor } from "./respawn.ts";
import type { Priority } from "../core/types.ts";

interface Line {
  prio: Priority;
  text: string;
  pid?: number;
  at: number;
}

function recorder(): {
  lines: Line[];
  log: (p: Priority, t: string, o?: { pid?: number }) => void;
} {
  const lines: Line[] = [];
  return {
    lines,
    log: (prio, text, o) => lines.push({ prio, text, pid: o?.pid, at: performance.now() }),
  };
}

function alive(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

function needRoot(): void {
  if (Deno.uid() !== 0) fail("respawn tests need root (they run clients as other users)");
}

function userIds(name: string): { uid: number; gid: number } {
  const line = Deno.readTextFileSync("/etc/passwd").split("\n").find((l) =>
    l.startsWith(`${name}:`)
  );
  if (!line) fail(`user ${name} does not exist (is Heartbeat installed?)`);
  const f = line!.split(":");
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

async function script(dir: string, name: string, body: string): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

async function tempDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "hb-respawn-" });
  await Deno.chmod(dir, 0o777);
  return dir;
}

const texts = (lines: Line[]) => lines.map((l) => `${l.prio}: ${l.text}`);

Deno.test("respawn: credentials, process group, stdio, env, log lines, stop", async () => {
  needRoot();
  const { uid, gid } = userIds("hacluster");
  const dir = await tempDir();
  try {
    const out = `${dir}/out`;
    const path = await script(
      dir,
      "longrun.sh",
      [
        `{`,
        `  echo "args=$*"`,
        `  echo "pid=$$"`,
        `  echo "uid=$(id -u) gid=$(id -g) groups=$(id -G)"`,
        `  echo "pgid=$(cut -d' ' -f5 /proc/$$/stat) sid=$(cut -d' ' -f6 /proc/$$/stat)"`,
        `  echo "env=$HA_testvalue"`,
        `} > ${out}.tmp; mv ${out}.tmp ${out}`,
        `while true; do sleep 1; done`,
      ].join("\n"),
    );
    const command = `${path} arg1 arg2`;
    const r = recorder();
    const sup = new RespawnSupervisor(
      [{ user: "hacluster", uid, gid, command, failfast: false }],
      { log: r.log, env: { HA_testvalue: "hello world" } },
    );
    sup.start();
    const exists = () => {
      try {
        return Deno.statSync(out).isFile;
      } catch {
        return false;
      }
    };
    assert(await eventually(exists, 10_000), "the client wrote its report");
    const info = Deno.readTextFileSync(out);
    const pid = sup.pids[0];
    assertMatch(info, /^args=arg1 arg2$/m);
    assertMatch(info, new RegExp(`^pid=${pid}$`, "m"));
    assertMatch(info, new RegExp(`^uid=${uid} gid=${gid} groups=${gid}$`, "m"));
    assertMatch(info, new RegExp(`^pgid=${pid} sid=${pid}$`, "m"));
    // the client shell's descriptors, read while it idles: stdio on /dev/null, and
    // nothing but the script it reads (dash keeps it on fd 10)
    const fds = [...Deno.readDirSync(`/proc/${pid}/fd`)].map((e) =>
      `${e.name} -> ${Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`)}`
    );
    assertEquals(fds.sort(), [
      "0 -> /dev/null",
      "1 -> /dev/null",
      `10 -> ${path}`,
      "2 -> /dev/null",
    ]);
    assertMatch(info, /^env=hello world$/m);
    // no signal blocked or ignored behind the client's back (the Deno runtime ignores SIGPIPE)
    // read while the shell sleeps in its loop: dash blocks every signal for a moment while it
    // forks `sleep`, so a read in that instant (State R) says nothing about what it inherited
    let status = "";
    assert(
      await eventually(() => {
        status = Deno.readTextFileSync(`/proc/${pid}/status`);
        return /^State:\s+S/m.test(status);
      }, 10_000),
      "the client shell sleeps",
    );
    assertMatch(status, /^SigBlk:\s*0+$/m);
    assertMatch(status, /^SigIgn:\s*0+$/m);
    assertEquals(r.lines[0].text, `Starting child client "${command}" (${uid},${gid})`);
    assertEquals(r.lines[0].pid, undefined);
    assertEquals(r.lines[1].text, `Starting "${command}" as uid ${uid}  gid ${gid} (pid ${pid})`);
    assertEquals(r.lines[1].prio, "info");
    assertEquals(r.lines[1].pid, pid, "the child's line is logged with the child's pid");

    await sup.stop();
    assertEquals(texts(r.lines.slice(2)), [
      `info: killing ${command} process group ${pid} with signal 15`,
      `WARN: Managed ${command} process ${pid} killed by signal 15 [SIGTERM - Termination].`,
    ]);
    assert(!alive(pid));
    assert(
      await eventually(() =>
        !Deno.readDirSync("/proc").some((e) => {
          try {
            return /^\d+$/.test(e.name) &&
              Deno.readTextFileSync(`/proc/${e.name}/stat`).split(") ")[1].split(" ")[2] ===
                String(pid);
          } catch {
            return false;
          }
        }), 2000),
      "the whole process group is gone",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("respawn: exit 100 is final; exit 1 respawns 10 times 1 s apart, then gives up", async () => {
  needRoot();
  const dir = await tempDir();
  try {
    const ex100 = await script(dir, "exit100.sh", "exit 100");
    const ex1 = await script(dir, "exit1.sh", "exit 1");
    const r = recorder();
    const clients: RespawnClient[] = [
      { user: "root", uid: 0, gid: 0, command: ex100, failfast: false },
      { user: "root", uid: 0, gid: 0, command: ex1, failfast: false },
    ];
    const sup = new RespawnSupervisor(clients, { log: r.log });
    sup.start();
    assert(
      await eventually(() => r.lines.some((l) => l.text.includes("respawning too fast")), 20_000),
      texts(r.lines).join("\n"),
    );
    await new Promise((res) => setTimeout(res, 1500)); // observation window: nothing more happens
    const t = texts(r.lines);
    const n100 = t.filter((x) => x.startsWith(`info: Starting "${ex100}"`)).length;
    assertEquals(n100, 1, "exit 100 is never respawned");
    assert(
      t.some((x) =>
        new RegExp(`^WARN: Managed ${ex100} process \\d+ exited with return code 100\\.$`).test(x)
      ),
    );
    const starts = r.lines.filter((l) =>
      l.text.startsWith(`Starting "${ex1}" as uid 0  gid 0 (pid `)
    );
    assertEquals(starts.length, 11, "1 start + 10 respawns");
    const respawns = t.filter((x) => x === `ERROR: Respawning client "${ex1}":`);
    assertEquals(respawns.length, 10);
    assertEquals(t.filter((x) => x === `ERROR: Client ${ex1} "respawning too fast"`).length, 1);
    assertEquals(t[t.length - 1], `ERROR: Client ${ex1} "respawning too fast"`);
    for (let i = 1; i < starts.length; i++) {
      const gap = starts[i].at - starts[i - 1].at;
      assert(gap >= 950, `respawn ${i} came ${gap.toFixed(0)} ms after the previous start`);
    }
    // The order of one respawn, as in Heartbeat's log
    const i = t.indexOf(`ERROR: Respawning client "${ex1}":`);
    assertMatch(
      t[i - 1],
      new RegExp(`^WARN: Managed ${ex1} process \\d+ exited with return code 1\\.$`),
    );
    assertEquals(t[i + 1], `info: Starting child client "${ex1}" (0,0)`);
    assertEquals(sup.describe().map((c) => c.finished), [true, true]);

    const before = r.lines.length;
    await sup.stop();
    assertEquals(texts(r.lines.slice(before)), [
      `info: client [${ex1}] is not running.`,
      `info: client [${ex100}] is not running.`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("respawn: a run longer than the short-run limit resets the count and skips the pause", async () => {
  needRoot();
  const dir = await tempDir();
  try {
    const cmd = await script(dir, "ok.sh", "sleep 0.4; exit 0");
    const r = recorder();
    const sup = new RespawnSupervisor(
      [{ user: "root", uid: 0, gid: 0, command: cmd, failfast: false }],
      { log: r.log, shortRunMs: 300, maxShortRuns: 1 },
    );
    sup.start();
    const starts = () => r.lines.filter((l) => l.text.startsWith(`Starting "${cmd}"`));
    assert(await eventually(() => starts().length >= 4, 15_000), texts(r.lines).join("\n"));
    await sup.stop();
    const s = starts();
    for (let i = 1; i < s.length; i++) {
      assert(s[i].at - s[i - 1].at < 950, "no 1 s pause after a long run");
    }
    const t = texts(r.lines);
    assert(!t.some((x) => x.includes("respawning too fast")));
    assert(
      t.some((x) =>
        new RegExp(`^info: Managed ${cmd} process \\d+ exited with return code 0\\.$`).test(x)
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("failfast: death by a signal logs EMERG and calls the reboot action, no respawn", async () => {
  needRoot();
  const dir = await tempDir();
  try {
    const cmd = await script(dir, "dies.sh", "sleep 0.2; kill -9 $$");
    const r = recorder();
    const reboots: string[] = [];
    const sup = new RespawnSupervisor(
      [{ user: "root", uid: 0, gid: 0, command: cmd, failfast: true }],
      { log: r.log, reboot: (why) => void reboots.push(why) },
    );
    sup.start();
    assert(await eventually(() => reboots.length > 0, 10_000), texts(r.lines).join("\n"));
    await new Promise((res) => setTimeout(res, 1500)); // observation window: no respawn follows
    assertEquals(reboots, [cmd]);
    const t = texts(r.lines);
    assertMatch(
      t[t.length - 2],
      new RegExp(
        `^WARN: Managed ${cmd} process \\d+ killed by signal 9 \\[SIGKILL - Kill, unblockable\\]\\.$`,
      ),
    );
    assertEquals(t[t.length - 1], `EMERG: Rebooting system.  Reason: ${cmd}`);
    assert(!t.some((x) => x.startsWith("ERROR: Respawning")));
    await sup.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("respawn: stop goes in reverse declaration order and waits for each client", async () => {
  needRoot();
  const dir = await tempDir();
  try {
    // each client takes a moment to die after SIGTERM, so the order and the waiting show
    const body = (tag: string) =>
      `trap 'sleep 0.3; echo ${tag} >> ${dir}/order; exit 0' TERM\ntouch ${dir}/trap-${tag}\n` +
      "while true; do sleep 0.1; done";
    const a = await script(dir, "a.sh", body("a"));
    const b = await script(dir, "b.sh", body("b"));
    const c = await script(dir, "c.sh", "exit 100");
    const r = recorder();
    const sup = new RespawnSupervisor(
      [a, b, c].map((command) => ({ user: "root", uid: 0, gid: 0, command, failfast: false })),
      { log: r.log },
    );
    sup.start();
    assert(
      await eventually(
        () => sup.describe().filter((x) => x.finished).length === 1 && sup.pids.length === 2,
        10_000,
      ),
    );
    const trapped = (tag: string) => {
      try {
        return Deno.statSync(`${dir}/trap-${tag}`).isFile;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return false;
        throw e;
      }
    };
    assert(
      await eventually(() => trapped("a") && trapped("b"), 30_000),
      "the TERM traps were not set",
    );
    const [pa, pb] = sup.describe().map((x) => x.pid);
    const before = r.lines.length;
    await sup.stop();
    assertEquals(Deno.readTextFileSync(`${dir}/order`), "b\na\n");
    assertEquals(texts(r.lines.slice(before)), [
      `info: client [${c}] is not running.`,
      `info: killing ${b} process group ${pb} with signal 15`,
      `info: Managed ${b} process ${pb} exited with return code 0.`,
      `info: killing ${a} process group ${pa} with signal 15`,
      `info: Managed ${a} process ${pa} exited with return code 0.`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
