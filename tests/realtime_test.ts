/**
 * `realtime on` + `rtprio 5` end to end (config-and-cli.md §7.8), hb against the real
 * Heartbeat 3.0.6: the master runs SCHED_RR at 5, every core child (FIFO reader, medium
 * read and write processes) SCHED_RR at 4, a resource script normal time (SCHED_OTHER); the
 * realtime log lines are the same. (`realtime off` — `Request to set pid N to realtime
 * ignored.` from every core process — is compared by tests/startup_lines_test.ts.)
 *
 * Needs root, the testbed's packages and the Debian `heartbeat` package; fails loudly.
 *
 * @module
 */

import { assert, assertEquals, fail } from "./assert.ts";
import { authkeys, REAL_HEARTBEAT, type TestNode } from "./testbed/mod.ts";
import { pairTestbed, testHaCf, writeNodeFiles } from "./support/cluster.ts";

const SCHED_OTHER = 0;
const SCHED_RR = 2;

/** Records the policy and rt priority of each call (fields 41 and 40 of /proc/self/stat). */
const REC_SCRIPT = `#!/bin/sh
echo "$1 $2 $(cut -d' ' -f41 /proc/$$/stat) $(cut -d' ' -f40 /proc/$$/stat)" >>/var/log/rec.log
[ "$2" = status ] && echo stopped
exit 0
`;

interface Sched {
  title: string;
  policy: number;
  rtprio: number;
}

/** Policy and priority of the main thread of each heartbeat process, by process title. */
function schedOf(pids: number[]): Sched[] {
  const out: Sched[] = [];
  for (const pid of pids) {
    try {
      const title = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ").trim();
      if (!title.startsWith("heartbeat: ")) continue;
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // field 3 is index 0
      out.push({ title, policy: Number(f[41 - 3]), rtprio: Number(f[40 - 3]) });
    } catch {
      // gone
    }
  }
  return out.sort((a, b) => a.title.localeCompare(b.title));
}

/** Titles of the core processes of a node with one bcast medium, sorted as {@link schedOf}. */
const CORE_TITLES = [
  "heartbeat: FIFO reader",
  "heartbeat: master control process",
  "heartbeat: read: bcast eth0",
  "heartbeat: write: bcast eth0",
];

/** The bound of each wait of {@link untilWhileRunning}: generous, for a loaded machine. */
const STEP_BOUND_MS = 180_000;

/**
 * Waits until `probe` holds, polling every 100 ms; throws with the node's log tail as soon as
 * the node's daemon has exited (the condition will never hold), or after {@link STEP_BOUND_MS}.
 */
async function untilWhileRunning(
  n: TestNode,
  impl: string,
  what: string,
  probe: () => Promise<boolean> | boolean,
): Promise<void> {
  const end = Date.now() + STEP_BOUND_MS;
  while (!(await probe())) {
    const why = !n.running
      ? `the daemon exited (${JSON.stringify(n.lastStatus)})`
      : Date.now() > end
      ? `not within ${STEP_BOUND_MS} ms`
      : undefined;
    if (why !== undefined) {
      const tail = (await n.readLog()).split("\n").slice(-20).join("\n");
      throw new Error(`${impl}: ${what}: ${why}; log tail:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function run(
  impl: "hb" | "heartbeat",
): Promise<{ sched: Sched[]; lines: string[]; rec: string[] }> {
  await using tb = await pairTestbed(`rt${impl}`);
  const n = tb.node("node1");
  await writeNodeFiles([n], {
    haCf: testHaCf({ realtime: "on", rtprio: 5, node: ["node1", "node2"] }),
    authkeys: authkeys("sha1", "realtime"),
    haresources: "node1 rec::a\n",
  });
  await n.writeResourceScript("rec", REC_SCRIPT);
  await n.start({ impl, timeoutMs: STEP_BOUND_MS });
  // What is measured is the scheduling of the processes, not how fast they get there: on a
  // loaded machine (other test suites, two cores) the start-up and the first acquisition can
  // take long, so each step waits on its condition with a generous bound, and fails at once,
  // with the log, if the daemon died meanwhile.
  await untilWhileRunning(
    n,
    impl,
    "local status active",
    async () => (await n.readLog()).includes("Local status now set to: 'active'"),
  );
  // node2 never comes: node1 takes its own group
  await untilWhileRunning(
    n,
    impl,
    "rec::a started",
    async () => (await n.readLog("rec.log")).includes("a start"),
  );
  // the resource acquisition's own processes (a forked master before its exec, in the real
  // daemon) come and go: sample once only the core processes are left
  await untilWhileRunning(n, impl, "only the core processes left", () => {
    const titles = schedOf(n.pids()).map((p) => p.title);
    return JSON.stringify(titles) === JSON.stringify(CORE_TITLES);
  });
  const sched = schedOf(n.pids());
  const lines = (await n.readLog()).split("\n").filter((l) => /realtime|lock|sched|memory/i.test(l))
    .map((l) => l.replace(/^.* heartbeat: \[\d+\]: /, "").replace(/\d+/g, "N"));
  const rec = (await n.readLog("rec.log")).split("\n").filter((l) => l !== "");
  await tb.killHard("node1");
  return { sched, lines, rec };
}

Deno.test("realtime on, rtprio 5: SCHED_RR 5 / 4 as the real Heartbeat, scripts at normal time", async () => {
  const st = await Deno.stat(REAL_HEARTBEAT).catch(() => undefined);
  if (!st?.isFile) fail(`${REAL_HEARTBEAT} missing: install the Debian package heartbeat (3.0.6)`);
  const real = await run("heartbeat");
  const hb = await run("hb");
  console.log(`  real: ${JSON.stringify(real.sched)}\n  hb:   ${JSON.stringify(hb.sched)}`);
  const expected = [
    { title: "heartbeat: FIFO reader", policy: SCHED_RR, rtprio: 4 },
    { title: "heartbeat: master control process", policy: SCHED_RR, rtprio: 5 },
    { title: "heartbeat: read: bcast eth0", policy: SCHED_RR, rtprio: 4 },
    { title: "heartbeat: write: bcast eth0", policy: SCHED_RR, rtprio: 4 },
  ];
  assertEquals(real.sched, expected, "the real Heartbeat (the oracle)");
  assertEquals(hb.sched, expected);
  // e.g. "Cannot lock ourselves into memory" where RLIMIT_MEMLOCK is too small: same lines
  assertEquals(hb.lines, real.lines);
  for (const [who, r] of [["real", real], ["hb", hb]] as const) {
    assert(r.rec.some((l) => l.startsWith("a start")), `${who}: rec::a started`);
    for (const l of r.rec) {
      const [, , policy, rtprio] = l.split(" ");
      assertEquals([Number(policy), Number(rtprio)], [SCHED_OTHER, 0], `${who}: ${l}`);
    }
  }
});
