/**
 * The program as it ships: `main.ts` and everything it can load, bundled into plain JavaScript
 * chunks by `deno bundle --code-splitting` (`./run package` puts them under `/usr/lib/hb/app`,
 * `deno task compile` compiles them). One chunk per personality and worker kind, shared code in
 * common chunks, the npm dependency (LogTape) inside: no TypeScript to transpile, no
 * `node_modules`, no `deno.json` at run time.
 *
 * Why not the sources as they are: a Deno process holds the source text of every module it
 * loads, and from TypeScript that is the emitted JavaScript plus an inline source map carrying the
 * TypeScript again (about three times the file). Bundled, an idle node's processes hold 3-11 MB
 * less private memory, about 1.5 MB per worker (bench/README.md, "The shipped form"). No source maps are written: Deno would
 * load them, with every source inside, the first time anything reads an error's stack. Stack
 * traces name the bundle's chunks and lines; function names are kept (no minifying), and each
 * module's code starts with a `// path/file.ts` comment.
 *
 * Usage: `deno run -A packaging/bundle.ts [--out DIR]` (default `dist/app`); prints the path of
 * the entry (`DIR/main.js`).
 *
 * @module
 */

import { sh } from "./command.ts";

/** The repository root. */
const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/**
 * The specifiers in `js` (a bundle chunk) that are neither relative (another chunk) nor a Node
 * built-in: a bundle that still needs them would fetch at run time.
 */
export function externalImports(js: string): string[] {
  const found = new Set<string>();
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s*)"([^"\s]+)"/gm;
  for (const m of js.matchAll(re)) {
    const spec = m[1];
    if (spec.startsWith("./") || spec.startsWith("node:")) continue;
    found.add(spec);
  }
  return [...found].sort();
}

/**
 * Bundles `main.ts` into `outDir` (emptied first) with the Deno at `deno`; returns the path of
 * the entry chunk. Throws when a chunk still imports anything but another chunk or a Node
 * built-in.
 */
export async function bundleApp(outDir: string, deno = Deno.execPath()): Promise<string> {
  await Deno.remove(outDir, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  const args = ["bundle", "--quiet", "--code-splitting", "--platform", "deno", "--outdir", outDir];
  await sh("bundle", [deno, ...args, "main.ts"], { cwd: ROOT });

  const entry = `${outDir}/main.js`;
  const problems: string[] = [];
  for await (const e of Deno.readDir(outDir)) {
    if (!e.isFile || !e.name.endsWith(".js")) continue;
    const ext = externalImports(await Deno.readTextFile(`${outDir}/${e.name}`));
    if (ext.length) problems.push(`${e.name}: ${ext.join(", ")}`);
  }
  if (problems.length) {
    throw new Error(`bundle: chunks import what the bundle does not hold: ${problems.join("; ")}`);
  }
  await Deno.stat(entry); // throws NotFound if deno bundle named the entry otherwise
  return entry;
}

if (import.meta.main) {
  const [flag, dir, ...rest] = Deno.args;
  if ((flag !== undefined && (flag !== "--out" || dir === undefined)) || rest.length > 0) {
    console.error("usage: bundle.ts [--out DIR]");
    Deno.exit(2);
  }
  console.log(await bundleApp(dir ?? `${ROOT}/dist/app`));
}
