/**
 * The repository's layout rule: the test harness stays in `tests/`. No module outside `tests/`
 * imports anything from `tests/` (test files beside modules, `*_test.ts`, may use the small
 * assertion helpers there, never the testbed), and the module graph of every program the
 * repository runs (main.ts and each `deno task` entry: bench, chaos, sim, demo) holds no file of
 * `tests/`; dependencies between top-level folders go one way (no two folders import each other). Clusters are built by the product module `lab/`. Inside `tests/`, a file that is not a
 * test is a helper in `tests/support/`, the lab's re-export in `tests/testbed/`, or `assert.ts`.
 *
 * @module
 */

import { assert, assertEquals } from "./assert.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const TESTS = `${ROOT}/tests/`;
/** Folders that are not the project's source. */
const SKIP = new Set([".git", ".tools", "dist", "node_modules", "tests"]);

/** Every `.ts` file below `dir`, outside the skipped folders. */
async function tsFiles(dir: string, out: string[] = []): Promise<string[]> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory && !(dir === ROOT && SKIP.has(e.name))) await tsFiles(p, out);
    else if (e.isFile && e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/**
 * The relative module specifiers of a source text: static imports and re-exports, side-effect
 * imports, dynamic imports with a string literal, and `new URL("…", import.meta.url)`.
 */
export function relativeSpecifiers(text: string): string[] {
  const out: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
    /\bnew URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g,
  ];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) if (m[1].startsWith(".")) out.push(m[1]);
  }
  return out;
}

Deno.test("layout: the specifier scanner finds imports, re-exports, dynamic imports and URLs", () => {
  const text = `import { a } from "../tests/testbed/mod.ts";
import type {
  B,
} from "./b.ts";
export * from "../../lab/mod.ts";
import "./side.ts";
const m = await import("./dyn.ts");
const u = new URL("../tests/fixtures/", import.meta.url);
import { x } from "npm:y";`;
  assertEquals(relativeSpecifiers(text).sort(), [
    "../../lab/mod.ts",
    "../tests/fixtures/",
    "../tests/testbed/mod.ts",
    "./b.ts",
    "./dyn.ts",
    "./side.ts",
  ]);
});

Deno.test("layout: no module outside tests/ imports tests/ (test files: never tests/testbed/)", async () => {
  const bad: string[] = [];
  const files = await tsFiles(ROOT);
  assert(files.length > 100, `found only ${files.length} .ts files under ${ROOT}`);
  for (const f of files) {
    const isTest = f.endsWith("_test.ts");
    for (const spec of relativeSpecifiers(await Deno.readTextFile(f))) {
      const target = new URL(spec, `file://${f}`).pathname;
      if (!target.startsWith(TESTS)) continue;
      if (isTest && !target.startsWith(`${TESTS}testbed/`)) continue;
      bad.push(`${f.slice(ROOT.length + 1)}: ${spec} (use lab/mod.ts)`);
    }
  }
  assertEquals(bad, [], `imports of tests/ from outside tests/:\n${bad.join("\n")}`);
});

Deno.test("layout: no two top-level folders import each other (modules, not their tests)", async () => {
  // folder → the folders its modules import (files at the top, main.ts, count as `(top)`)
  const folderOf = (path: string) => {
    const rel = path.slice(ROOT.length + 1);
    return rel.includes("/") ? rel.slice(0, rel.indexOf("/")) : "(top)";
  };
  const uses = new Map<string, Map<string, string>>();
  for (const f of await tsFiles(ROOT)) {
    if (f.endsWith("_test.ts")) continue;
    const from = folderOf(f);
    for (const spec of relativeSpecifiers(await Deno.readTextFile(f))) {
      const to = folderOf(new URL(spec, `file://${f}`).pathname);
      if (to === from) continue;
      if (!uses.has(from)) uses.set(from, new Map());
      // one example import per pair of folders, for the message
      if (!uses.get(from)!.has(to)) uses.get(from)!.set(to, `${f.slice(ROOT.length + 1)}: ${spec}`);
    }
  }
  const bad: string[] = [];
  for (const [a, targets] of uses) {
    for (const [b, example] of targets) {
      const back = uses.get(b)?.get(a);
      if (back !== undefined && a < b) bad.push(`${a} <-> ${b} (${example}; ${back})`);
    }
  }
  assertEquals(bad, [], `folders that import each other:\n${bad.join("\n")}`);
});

Deno.test("layout: the module graphs of main.ts and the deno tasks hold no file of tests/", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)).tasks as Record<
    string,
    string
  >;
  const entries = new Set(["main.ts"]);
  for (const cmd of Object.values(tasks)) {
    const m = cmd.match(/^deno run (?:-\S+ )*(\S+\.ts)\b/);
    if (m) entries.add(m[1]);
  }
  for (const e of ["bench/mod.ts", "chaos/mod.ts"]) {
    assert(entries.has(e), `deno.json has no task running ${e} (tasks: ${JSON.stringify(tasks)})`);
  }
  const bad: string[] = [];
  for (const entry of entries) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", `${ROOT}/${entry}`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert(out.success, `deno info ${entry} failed: ${err}`);
    const info = JSON.parse(new TextDecoder().decode(out.stdout));
    const modules: Array<{ specifier: string }> = info.modules;
    assert(modules.length > 0, `deno info ${entry}: no modules`);
    for (const m of modules) {
      if (m.specifier.startsWith(`file://${TESTS}`)) bad.push(`${entry} -> ${m.specifier}`);
    }
  }
  assertEquals(bad, [], `files of tests/ in a program's module graph:\n${bad.join("\n")}`);
});

Deno.test("layout: tests/ holds tests, assert.ts, fixtures, the testbed and support/ only", async () => {
  const bad: string[] = [];
  for await (const e of Deno.readDir(TESTS)) {
    if (e.isDirectory && ["fixtures", "support", "testbed"].includes(e.name)) continue;
    if (e.isFile && (e.name.endsWith("_test.ts") || e.name === "assert.ts")) continue;
    bad.push(e.name);
  }
  assertEquals(bad.sort(), [], `helpers belong in tests/support/: ${bad.join(", ")}`);
});
