import { assert, assertEquals } from "../tests/assert.ts";
import { bundleApp, externalImports } from "./bundle.ts";

Deno.test("bundle: externalImports lists what is neither a chunk nor a Node built-in", () => {
  const js = [
    'import { a } from "./chunk-AB12.js";',
    'import "./chunk-CD34.js";',
    'import util from "node:util";',
    'export { b } from "npm:@logtape/logtape@2.4.2";',
    'const m = await import("./cli-EF56.js");',
    'const n = await import( "jsr:@std/log" );',
    'import "https://example.invalid/x.js";',
    'const s = "text that says from \\" and import(";',
  ].join("\n");
  assertEquals(externalImports(js), [
    "https://example.invalid/x.js",
    "jsr:@std/log",
    "npm:@logtape/logtape@2.4.2",
  ]);
});

Deno.test("bundle: the bundled program runs from its chunks alone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hb-bundle-" });
  try {
    const entry = await bundleApp(`${dir}/app`);
    // no config, no lock, no network, not even Deno's cache of this checkout: the package's way
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", "--cached-only", "--no-config", "--no-lock", entry, "-V"],
      cwd: dir,
      env: { DENO_DIR: `${dir}/deno_dir` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert(out.success, text);
    assert(/^3\.0\.6 \(node: /.test(text), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
