import { assertEquals } from "../tests/assert.ts";
import { readTestOpts } from "./reload.ts";
import { onMasterControl } from "../workers/mod.ts";

Deno.test("readTestOpts: Heartbeat's ParseTestOpts at start and on reload", () => {
  const dir = Deno.makeTempDirSync();
  try {
    // absent, nothing in force: nothing logged, children not signalled
    assertEquals(readTestOpts(dir, false), {
      options: undefined,
      log: [],
      childLines: [],
      changed: false,
    });
    // present: enabled, read again on every reload even when unchanged
    Deno.writeTextFileSync(`${dir}/OnlyForTesting`, "xmitloss=1\nrcvloss=1\nallownodes=;\n");
    for (const before of [false, true]) {
      const r = readTestOpts(dir, before);
      assertEquals(r.options, { xmitloss: 1, rcvloss: 1, allownodes: ";" });
      assertEquals(r.changed, true);
      assertEquals(r.log.map((l) => l.text), [
        "WARNING: Enabling Test Code",
        "Xmit loss probability = 1.000",
        "Receive loss probability = 1.000",
        "Allow nodes = ;",
        "WARNING: Above Options Now Enabled.",
      ]);
      assertEquals(r.childLines, r.log);
    }
    // an unknown parameter: Heartbeat's path has the double slash; hb's note is for the master
    Deno.writeTextFileSync(`${dir}/OnlyForTesting`, "foo=1\n");
    const u = readTestOpts(`${dir}/`, true);
    assertEquals(
      u.childLines.map((l) => l.text)[1],
      `Cannot recognize test param [foo] in [${dir}//OnlyForTesting]`,
    );
    assertEquals(u.log.length, u.childLines.length + 1);
    assertEquals(u.log[2].prio, "WARN");
    // removed while in force: disabled, children signalled
    Deno.removeSync(`${dir}/OnlyForTesting`);
    const off = readTestOpts(dir, true);
    assertEquals(off.options, undefined);
    assertEquals(off.changed, true);
    assertEquals(off.log, [{ prio: "info", text: "Test Code Now disabled." }]);
    assertEquals(off.childLines, off.log);
    // a directory: fopen works, nothing is read
    Deno.mkdirSync(`${dir}/OnlyForTesting`);
    assertEquals(readTestOpts(dir, false).options, { allownodes: "" });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("worker: the reread notice logs Heartbeat's child line, then the hook's lines", () => {
  const logs: string[] = [];
  const port = {
    packet: () => {},
    control: () => {},
    log: (prio: string, msg: string) => void logs.push(`${prio}: ${msg}`),
  };
  onMasterControl({ t: "reread-keys" }, port);
  onMasterControl({
    t: "reread-keys",
    lines: [{ prio: "info", text: "Test Code Now disabled." }, { prio: "ERROR", text: "x" }],
  }, port);
  onMasterControl({ t: "other" }, port);
  assertEquals(logs, [
    "info: Child rereading authentication file.",
    "info: Child rereading authentication file.",
    "info: Test Code Now disabled.",
    "ERROR: x",
  ]);
});
