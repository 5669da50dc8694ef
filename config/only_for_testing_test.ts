import { assertEquals } from "../tests/assert.ts";
import { atof, parseOnlyForTesting } from "./only_for_testing.ts";
import { checkConfigDir } from "./check.ts";
import { BASE_HA_CF, fakeDir, OFT_BOGUS_FILE, OFT_BOGUS_LINES } from "../tests/support/config.ts";

const SHOWN = "/etc/ha.d//OnlyForTesting";
const PATH = "/etc/ha.d/OnlyForTesting";

function parse(text: string) {
  return parseOnlyForTesting(text, SHOWN, PATH);
}

function texts(lines: { prio: string; text: string }[]): string[] {
  return lines.map((l) => `${l.prio}: ${l.text}`);
}

Deno.test("OnlyForTesting: TestHeartbeatComm break-communication file", () => {
  const r = parse("xmitloss=1\nrcvloss=1\nallownodes=;\n");
  assertEquals(r.options, { xmitloss: 1, rcvloss: 1, allownodes: ";" });
  // the binary's lines (testbed, Heartbeat 3.0.6)
  assertEquals(texts(r.lines), [
    "info: WARNING: Enabling Test Code",
    "info: Xmit loss probability = 1.000",
    "info: Receive loss probability = 1.000",
    "info: Allow nodes = ;",
    "info: WARNING: Above Options Now Enabled.",
  ]);
  assertEquals(r.notes, []);
  assertEquals(r.merged, r.lines);
});

Deno.test("OnlyForTesting: unknown parameter, and reading stops at a comment", () => {
  // the file the real binary was run with in the testbed: rcvloss=1 after the comment is unread
  const r = parse(OFT_BOGUS_FILE);
  assertEquals(r.options, { xmitloss: 0, rcvloss: 0, allownodes: ";" });
  assertEquals(texts(r.lines), OFT_BOGUS_LINES);
  assertEquals(r.notes, [
    "/etc/ha.d/OnlyForTesting:3: bogus: unknown test parameter: ignored; allowed: " +
    "xmitloss=<probability 0..1>, rcvloss=<probability 0..1>, allownodes=<node>;<node>;… " +
    "(one name=value per line, no blanks around =, no comments)",
    '/etc/ha.d/OnlyForTesting:5: "# c" does not start with a parameter name: Heartbeat stops ' +
    "reading here and ignores the rest of the file (hb too); allowed: xmitloss=<probability " +
    "0..1>, rcvloss=<probability 0..1>, allownodes=<node>;<node>;… (one name=value per line, " +
    "no blanks around =, no comments)",
  ]);
  // each note follows the Heartbeat line it explains
  assertEquals(texts(r.merged).map((t) => t.slice(0, 22)), [
    "info: WARNING: Enablin",
    "info: Xmit loss probab",
    "info: Receive loss pro",
    "ERROR: Cannot recogniz",
    "WARN: /etc/ha.d/OnlyFo",
    "info: Allow nodes = ;",
    "WARN: /etc/ha.d/OnlyFo",
    "info: WARNING: Above O",
  ]);
  assertEquals(r.merged[4].text, r.notes[0]);
  assertEquals(r.merged[6].text, r.notes[1]);
});

Deno.test("OnlyForTesting: fscanf's whitespace rules", () => {
  // several on a line, blank lines, indented lines after the first
  let r = parse("xmitloss=0.25 rcvloss=0.5\n\n\n   allownodes=node1;node2;   \n");
  assertEquals(r.options, { xmitloss: 0.25, rcvloss: 0.5, allownodes: "node1;node2;" });
  assertEquals(r.notes, []);
  // a blank before "=": stops there
  r = parse("xmitloss = 1\nrcvloss=1\n");
  assertEquals(r.options, { allownodes: "" });
  assertEquals(r.notes.length, 1);
  assertEquals(r.notes[0].startsWith('/etc/ha.d/OnlyForTesting:1: "xmitloss = 1": no "="'), true);
  // leading blanks on the first line: nothing is read
  r = parse("  xmitloss=1\n");
  assertEquals(r.options, { allownodes: "" });
  assertEquals(texts(r.lines), [
    "info: WARNING: Enabling Test Code",
    "info: WARNING: Above Options Now Enabled.",
  ]);
  // a value on the next line belongs to the name before it
  r = parse("xmitloss=\n1\nrcvloss=1\n");
  assertEquals(r.options, { xmitloss: 1, rcvloss: 1, allownodes: "" });
  assertEquals(
    r.notes[0].startsWith(
      '/etc/ha.d/OnlyForTesting:1: xmitloss: no value on this line: Heartbeat takes "1" from line 2',
    ),
    true,
  );
  // only the first word of a value; the second word is read as a name and stops the loop
  r = parse("allownodes=node1 node2;\nrcvloss=1\n");
  assertEquals(r.options, { allownodes: "node1" });
  assertEquals(r.notes.length, 2);
  // a name at the end without value
  r = parse("rcvloss=");
  assertEquals(r.options, { allownodes: "" });
  assertEquals(r.notes[0].includes("no value before the end of the file"), true);
  // an empty file enables nothing, but is "test code"
  assertEquals(texts(parse("").lines).length, 2);
  // names with digits stop the loop
  assertEquals(parse("rcv2loss=1\nrcvloss=1").options, { allownodes: "" });
});

Deno.test("OnlyForTesting: values are C atof into a float", () => {
  const r = parse("xmitloss=0.1\nrcvloss=abc\n");
  assertEquals(r.options.xmitloss, Math.fround(0.1));
  assertEquals(r.options.rcvloss, 0);
  assertEquals(texts(r.lines).slice(1, 3), [
    "info: Xmit loss probability = 0.100",
    "info: Receive loss probability = 0.000",
  ]);
  assertEquals(r.notes[0].includes('rcvloss: "abc" is not a number: taken as 0'), true);
  const p = parse("xmitloss=0.5x\nrcvloss=7\n");
  assertEquals(p.options.xmitloss, 0.5);
  assertEquals(p.notes[0].includes('Heartbeat reads its start "0.5"'), true);
  assertEquals(p.notes[1].includes("7 is not a probability: acts as 1"), true);
  assertEquals(atof("1e-1"), 0.1);
  assertEquals(atof(".5"), 0.5);
  assertEquals(atof("5."), 5);
  assertEquals(atof("-0.25"), -0.25);
  assertEquals(atof("0x1.8"), 1.5);
  assertEquals(atof("1e"), 1);
  assertEquals(atof("inf"), Infinity);
  assertEquals(Number.isNaN(atof("nan")), true);
  assertEquals(atof("x1"), 0);
  assertEquals(texts(parse("rcvloss=inf").lines)[1], "info: Receive loss probability = inf");
});

Deno.test("OnlyForTesting: allownodes is kept as written", () => {
  let r = parse("rcvloss=1\nallownodes=node2\n");
  assertEquals(r.options.allownodes, "node2");
  assertEquals(
    r.notes[0],
    '/etc/ha.d/OnlyForTesting:2: allownodes: "node2" does not end with ";": packets from it ' +
      "are never let through; allowed: allownodes=<node>;<node>;…",
  );
  r = parse(`allownodes=${"n;".repeat(300)}\n`);
  assertEquals(r.options.allownodes.length, 511);
  assertEquals(r.notes[0].includes("cut to 511"), true);
});

Deno.test("heartbeat check: warns about an OnlyForTesting file, start still OK", () => {
  const haCf = BASE_HA_CF.join("\n") + "\n";
  const clean = checkConfigDir("/cfg", { system: fakeDir(haCf), nodeName: "node1" });
  assertEquals(clean.exitCode, 0);
  assertEquals(clean.lines.some((l) => l.includes("OnlyForTesting")), false);
  const sys = fakeDir(haCf, undefined, "", {
    "/cfg/OnlyForTesting": { content: "xmitloss=1\nrcvloss=1\nallownodes=node2\n" },
  });
  const r = checkConfigDir("/cfg", { system: sys, nodeName: "node1" });
  assertEquals(r.exitCode, 0);
  assertEquals(r.lines.filter((l) => l.includes("OnlyForTesting")), [
    "warning: /cfg/OnlyForTesting: present: Heartbeat's test hook will drop packets on purpose " +
    "(xmitloss=1 rcvloss=1 allownodes=node2); remove it on a production node",
    'warning: /cfg/OnlyForTesting:3: allownodes: "node2" does not end with ";": packets from ' +
    "it are never let through; allowed: allownodes=<node>;<node>;…",
  ]);
  const before = Number(/\((\d+) warning/.exec(clean.lines.at(-1)!)![1]);
  assertEquals(r.lines.at(-1), `/cfg: OK: Heartbeat 3.0.6 would start (${before + 2} warning(s)).`);
});
