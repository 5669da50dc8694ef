import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { checkConfigDir } from "./check.ts";
import { heartbeatLines } from "./diagnostics.ts";
import { loadConfig } from "./load.ts";
import { corpusSystem } from "../tests/support/config_corpus.ts";

const ROOT = new URL("../tests/fixtures/", import.meta.url).pathname;

interface Expect {
  exitCode: 0 | 6;
  realExitCode: number;
  authkeysMode: string;
  heartbeat: string[];
  explain?: string;
  note?: string;
}

function cases(kind: string): string[] {
  return [...Deno.readDirSync(ROOT + kind)].filter((e) => e.isDirectory).map((e) => e.name).sort();
}

function prepare(dir: string): Expect {
  const exp = JSON.parse(Deno.readTextFileSync(`${dir}/expect.json`)) as Expect;
  // git does not keep 0644 vs 0600 reliably: set the mode the case expects.
  try {
    Deno.chmodSync(`${dir}/authkeys`, parseInt(exp.authkeysMode, 8));
  } catch { /* case without authkeys */ }
  return exp;
}

Deno.test("corpus has at least 45 bad and 3 good cases", () => {
  assert(cases("bad_configs").length >= 45);
  assert(cases("good_configs").length >= 3);
});

for (const kind of ["bad_configs", "good_configs"]) {
  for (const name of cases(kind)) {
    Deno.test(`${kind}/${name}`, () => {
      const dir = ROOT + kind + "/" + name;
      const exp = prepare(dir);
      const r = loadConfig({ dir, displayDir: "/etc/ha.d/", system: corpusSystem(dir) });
      const out = r.diagnostics.flatMap(heartbeatLines).join("\n");
      assertEquals(r.exitCode, exp.exitCode, `${name}\n${out}`);
      for (const l of exp.heartbeat) assertStringIncludes(out, l, name);
      if (exp.exitCode === 6) {
        const fatal = r.diagnostics.find((d) => d.fatal);
        assert(fatal, `${name}: no fatal diagnostic`);
        if (exp.explain) assertStringIncludes(fatal.explain, `${exp.explain}`, name);
        if (exp.explain) assertStringIncludes(fatal.explain, `/${name}/`, name);
      } else {
        assert(r.config !== undefined);
      }
      const c = checkConfigDir(dir, { system: corpusSystem(dir) });
      assertEquals(c.exitCode, exp.exitCode === 0 ? 0 : 1, c.lines.join("\n"));
    });
  }
}
