import { assert, assertEquals } from "../tests/assert.ts";
import { realtimePriority, reserveKb } from "./realtime_setup.ts";

if (Deno.uid() !== 0) throw new Error("this test must run as root (it is never skipped)");

const DENO = Deno.execPath();
const SETUP_URL = new URL("./realtime_setup.ts", import.meta.url).href;

/** Scheduling policy and rt priority of one task (fields 41 and 40 of /proc/.../stat). */
function schedOf(statPath: string): { policy: number; rtprio: number } {
  const stat = Deno.readTextFileSync(statPath);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // field 3 is index 0
  return { policy: Number(fields[41 - 3]), rtprio: Number(fields[40 - 3]) };
}

function statusKb(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(
    Deno.readTextFileSync(`/proc/${pid}/status`),
  );
  return m ? Number(m[1]) : -1;
}

interface Probe {
  pid: number;
  lines: string[];
  report: Record<string, unknown>;
  policy: number;
  rtprio: number;
  threads: { policy: number; rtprio: number }[];
  vmLckKb: number;
  vmRssKb: number;
}

/** Runs applyRealtime in a child process (optionally under a wrapper), then inspects it. */
async function probe(cfg: string, role: string, wrapper: string[] = []): Promise<Probe> {
  const dir = Deno.makeTempDirSync({ prefix: "hb_rt_" });
  const script = `${dir}/probe.ts`;
  Deno.writeTextFileSync(
    script,
    `import { applyRealtime } from ${JSON.stringify(SETUP_URL)};
const lines: string[] = [];
const report = applyRealtime(${cfg}, ${JSON.stringify(role)}, (p, t) => lines.push(p + ": " + t));
console.log(JSON.stringify({ pid: Deno.pid, lines, report: { ...report, memlockLimit: String(report.memlockLimit) } }));
setInterval(() => {}, 1000);
`,
  );
  const argv = [...wrapper, DENO, "run", "-A", "--quiet", script];
  const child = new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped" }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const r = await reader.read();
    if (r.done) break;
    out += r.value;
  }
  const info = JSON.parse(out) as { pid: number; lines: string[]; report: Record<string, unknown> };
  info.lines = info.lines.filter((l) => !l.startsWith("debug: "));
  const pid = info.pid;
  const threads = [...Deno.readDirSync(`/proc/${pid}/task`)].map((t) =>
    schedOf(`/proc/${pid}/task/${t.name}/stat`)
  );
  const result: Probe = {
    ...info,
    ...schedOf(`/proc/${pid}/stat`),
    threads,
    vmLckKb: statusKb(pid, "VmLck"),
    vmRssKb: statusKb(pid, "VmRSS"),
  };
  child.kill("SIGKILL");
  await child.status;
  await reader.cancel();
  Deno.removeSync(dir, { recursive: true });
  return result;
}

const SCHED_OTHER = 0;
const SCHED_RR = 2;

Deno.test("priorities and reservations per role", () => {
  assertEquals(realtimePriority(undefined, "master"), 1);
  assertEquals(realtimePriority(undefined, "child"), 1);
  assertEquals(realtimePriority(5, "master"), 5);
  assertEquals(realtimePriority(5, "child"), 4);
  assertEquals(realtimePriority(5, "fifo"), 4);
  assertEquals(realtimePriority(1, "child"), 1);
  assertEquals(reserveKb("master", 6500), 6532);
  assertEquals(reserveKb("child", 6500), 80);
  assertEquals(reserveKb("fifo", 6500), 24);
});

Deno.test("master, rtprio 5: SCHED_RR 5 on every thread, locked in memory, no line", async () => {
  // memreserve 1000: 1032 KB stays under half of an 8 MB RLIMIT_MEMLOCK too (containers
  // without CAP_SYS_RESOURCE cannot lift the limit; with the default 6500 KB the real
  // Heartbeat logs "Cannot lock ourselves into memory" there, see the next tests).
  const p = await probe(`{ realtime: true, rtprio: 5, memreserveKb: 1000 }`, "master");
  assertEquals(p.lines, []);
  assertEquals([p.policy, p.rtprio], [SCHED_RR, 5]);
  assert(p.threads.length > 1);
  assert(
    p.threads.every((t) => t.policy === SCHED_RR && t.rtprio === 5),
    JSON.stringify(p.threads),
  );
  assert(p.vmLckKb > 0, `VmLck ${p.vmLckKb} kB`);
  assertEquals(p.report.locked, true);
});

Deno.test("child, rtprio 5: SCHED_RR 4; default rtprio: SCHED_RR 1", async () => {
  const c = await probe(`{ realtime: true, rtprio: 5, memreserveKb: 6500 }`, "child");
  assertEquals([c.policy, c.rtprio], [SCHED_RR, 4]);
  assert(c.vmLckKb > 0);
  const d = await probe(`{ realtime: true, memreserveKb: 6500 }`, "fifo");
  assertEquals([d.policy, d.rtprio], [SCHED_RR, 1]);
});

Deno.test("realtime off: Heartbeat's line with the process's pid, SCHED_OTHER, unlocked", async () => {
  const p = await probe(`{ realtime: false, rtprio: 5, memreserveKb: 6500 }`, "master");
  assertEquals(p.lines, [`info: Request to set pid ${p.pid} to realtime ignored.`]);
  assertEquals([p.policy, p.rtprio], [SCHED_OTHER, 0]);
  assertEquals(p.vmLckKb, 0);
});

Deno.test("locked-memory limit too small for memreserve: the exact ERROR line, stays unlocked", async () => {
  // 1 MB hard limit, and no CAP_SYS_RESOURCE to lift it: 6532 KB >= 1024 KB / 2.
  const wrapper = [
    "prlimit",
    "--memlock=1048576:1048576",
    "setpriv",
    "--bounding-set=-sys_resource",
    "--inh-caps=-sys_resource",
  ];
  const p = await probe(`{ realtime: true, memreserveKb: 6500 }`, "master", wrapper);
  assertEquals(p.lines, [
    "ERROR: Cannot lock ourselves into memory:  System limits on locked-in memory are too small.",
  ]);
  assertEquals(p.report.memlockLimit, "1048576");
  assertEquals([p.policy, p.rtprio], [SCHED_RR, 1]); // scheduling still switched
  assertEquals(p.vmLckKb, 0);
  // A FIFO reader's 24 KB fits under the same limit: it locks.
  const f = await probe(`{ realtime: true, memreserveKb: 6500 }`, "fifo", wrapper);
  assertEquals(f.lines, []);
  assert(f.vmLckKb > 0);
});

Deno.test("ON_FAULT locks what is used; populate faults every locked page in", async () => {
  const onFault = await probe(`{ realtime: true, memreserveKb: 1000 }`, "master");
  const populate = await probe(`{ realtime: true, memreserveKb: 1000, populate: true }`, "master");
  console.log(
    `VmLck/VmRSS kB: ON_FAULT ${onFault.vmLckKb}/${onFault.vmRssKb}, ` +
      `populate ${populate.vmLckKb}/${populate.vmRssKb}`,
  );
  // VmLck counts the size of locked mappings (the whole executable), so the cost shows in
  // VmRSS: with populate every page of the executable and libraries is faulted in.
  assert(onFault.vmLckKb > 0 && populate.vmLckKb > 0);
  assert(populate.vmRssKb > 2 * onFault.vmRssKb, "populate faults in far more memory");
  assert(populate.vmRssKb >= populate.vmLckKb, "every locked page is resident");
});

Deno.test("a locked process survives V8 giving heap pages back (the 45 s worker death)", async () => {
  // mlockall(MCL_FUTURE) made every hb worker die at its first memory-reducing GC: V8's
  // madvise(MADV_DONTNEED) on a locked page fails and V8 aborts. Force those GCs at once.
  const dir = Deno.makeTempDirSync({ prefix: "hb_rt_gc_" });
  try {
    const script = `${dir}/churn.ts`;
    Deno.writeTextFileSync(
      script,
      `import { applyRealtime } from ${JSON.stringify(SETUP_URL)};
const r = applyRealtime({ realtime: true, memreserveKb: 1000 }, "child", () => {});
if (!r.locked) throw new Error("not locked");
let keep: unknown[] = [];
for (let round = 0; round < 20; round++) {
  for (let i = 0; i < 100000; i++) keep.push({ i, s: "x" + i });
  keep = [];
  (globalThis as unknown as { gc(): void }).gc();
  await new Promise((r) => setTimeout(r, 10));
}
console.log("survived");
`,
    );
    const out = await new Deno.Command(DENO, {
      args: ["run", "-A", "--quiet", "--v8-flags=--expose-gc,--max-semi-space-size=1", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    assertEquals(new TextDecoder().decode(out.stdout).trim(), "survived");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
