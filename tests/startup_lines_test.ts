/**
 * Start-up log lines: hb against the real Heartbeat 3.0.6 on the same ha.cf.
 *
 * Both daemons start on node1 of a testbed (node2 configured but absent, so
 * the start runs through initdead to Comm_now_up). Every line of both logs
 * must have Heartbeat's file format, and the real daemon's start-up lines must
 * appear in hb's log with the same text (numbers aside), except the few listed
 * in {@link NOT_REPRODUCED} with the reason: the master's lines in the same
 * order, the lines of the core child processes (each logs its own
 * `Request to set pid N to realtime ignored.`, at a moment that races with the
 * master's lines in the real daemon too) as the same multiset.
 */

import { assert, assertMatch, fail } from "./assert.ts";
import { authkeys, REAL_HEARTBEAT, type TestNode } from "./testbed/mod.ts";
import { pairTestbed, testHaCf, writeNodeFiles } from "./support/cluster.ts";

/** `Nov 21 21:44:31 node1 heartbeat: [3310]: WARN: text` (config-and-cli.md §6.2). */
const LINE =
  /^[A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} node1 heartbeat: \[(\d+)\]: (EMERG|ALERT|CRIT|ERROR|WARN|notice|info|debug): (.*)$/;

/** Real-daemon lines hb does not write, and why. */
const NOT_REPRODUCED: { re: RegExp; why: string }[] = [
  {
    re: /^WARN: (Core dumps could be lost|Consider setting)/,
    why: "host core-dump advice; hb has no core-dump set-up (environment artefact, spec §0)",
  },
];

/** The message part with numbers replaced, for order comparison. */
function norm(prio: string, text: string): string {
  return `${prio}: ${text.replace(/\d+/g, "N")}`;
}

async function startupLog(impl: "hb" | "heartbeat"): Promise<string[]> {
  // a fresh testbed each: first-start lines (no generation, no uuid, no FIFO) are compared too
  await using tb = await pairTestbed("startup");
  const n: TestNode = tb.node("node1");
  await writeNodeFiles([n], {
    // logging to syslog too (no `logfacility none`): its start-up lines are compared as well
    haCf: testHaCf({ logfacility: undefined, node: ["node1", "node2"] }),
    authkeys: authkeys("sha1", "startup"),
    haresources: "",
  });
  const from = await n.logOffset();
  await n.start({ impl });
  await n.waitForLog("Local status now set to: 'active'", { from, timeoutMs: 15000 });
  await tb.killHard("node1");
  const text = (await n.readLog()).slice(from);
  const lines = text.split("\n").filter((l) => l !== "");
  const end = lines.findIndex((l) => l.includes("Local status now set to: 'active'"));
  return lines.slice(0, end + 1);
}

Deno.test("start-up log lines match Heartbeat 3.0.6's, in format and order", async () => {
  const st = await Deno.stat(REAL_HEARTBEAT).catch(() => undefined);
  if (!st) fail(`${REAL_HEARTBEAT} missing: install the Debian heartbeat package`);
  const real = await startupLog("heartbeat");
  const hb = await startupLog("hb");
  for (const l of [...real, ...hb]) assertMatch(l, LINE, `not in Heartbeat's format: ${l}`);

  const parse = (l: string) => {
    const m = LINE.exec(l)!;
    return { pid: m[1], prio: m[2], text: m[3] };
  };
  // the master writes the first line of the start-up
  const masterOf = (lines: string[]) => parse(lines[0]).pid;
  const [realMaster, hbMaster] = [masterOf(real), masterOf(hb)];
  const hbParsed = hb.map((l) => parse(l));
  const hbNorm = hbParsed.filter((p) => p.pid === hbMaster).map((p) => norm(p.prio, p.text));
  const hbChildren = hbParsed.filter((p) => p.pid !== hbMaster).map((p) => norm(p.prio, p.text));
  let at = 0;
  const missing: string[] = [];
  for (const l of real) {
    const p = parse(l);
    const whole = `${p.prio}: ${p.text}`;
    if (NOT_REPRODUCED.some((x) => x.re.test(whole))) continue;
    const want = norm(p.prio, p.text);
    if (p.pid !== realMaster) {
      // a core child's line: hb's children must have written it too (any order)
      const i = hbChildren.indexOf(want);
      if (i < 0) missing.push(`[child] ${whole}`);
      else hbChildren.splice(i, 1);
      continue;
    }
    const i = hbNorm.indexOf(want, at);
    if (i < 0) missing.push(whole);
    else at = i + 1;
  }
  assert(
    missing.length === 0,
    `real Heartbeat lines missing from hb's start-up (or out of order):\n${
      missing.join("\n")
    }\n\nhb:\n${hb.join("\n")}\n\nreal:\n${real.join("\n")}`,
  );
});
