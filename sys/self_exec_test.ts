import { assert, assertEquals } from "../tests/assert.ts";
import { V8_FLAGS } from "./self_exec.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("self_exec: the compile task and the package launcher carry the same V8 flags", async () => {
  // the compiled binary bakes its flags in at build time, the package's launcher passes its own:
  // all hb processes must run with the same heap and GC settings however hb was installed
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  assert(
    String(config.tasks.compile).includes(`--v8-flags=${V8_FLAGS} `),
    `deno.json compile task: ${config.tasks.compile}`,
  );
  const launcher = await Deno.readTextFile(`${ROOT}packaging/deb/heartbeat`);
  const line = launcher.split("\n").find((l) => l.startsWith("v8="));
  assertEquals(line, `v8=${V8_FLAGS}`);
});
