/**
 * Runs every scenario file in `testdata/` (one test per file). A file fails when an `expect`
 * or an output block does not match, or when an invariant is violated. `REWRITE=1` rewrites
 * the output blocks with what the simulator produced instead of comparing them.
 */
import { runScenario } from "./scenario.ts";

const dir = new URL("./testdata/", import.meta.url);
const rewrite = Deno.env.get("REWRITE") === "1";

for (const entry of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
  if (!entry.isFile || !entry.name.endsWith(".txt")) continue;
  Deno.test(`scenario ${entry.name}`, () => {
    const file = new URL(entry.name, dir);
    const text = Deno.readTextFileSync(file);
    const result = runScenario(text);
    if (rewrite && result.rewritten !== text) Deno.writeTextFileSync(file, result.rewritten);
    const problems = [
      ...(rewrite
        ? result.mismatches.filter((m) => !m.includes("\n--- expected"))
        : result.mismatches),
      ...result.violations.map((v) => `invariant ${v.kind} at ${v.at} ms: ${v.detail}`),
    ];
    if (problems.length > 0) throw new Error(`${entry.name}:\n${problems.join("\n\n")}`);
  });
}
