/**
 * `heartbeat -f` refuses to start when its uuid or generation file exists but cannot be read (a
 * directory in its place gives EISDIR, also as root): exit 1, an ERROR line naming the path and
 * the OS error, then `Heartbeat not started`, and the path left as it was. Replacing the file
 * would silently give the node a new identity (uuid) or a generation it may have used.
 *
 * The daemon runs in a network namespace of its own (`unshare -n`, gone with the process) whose
 * only interface is `lo`; it stops before opening any medium.
 */

import { assert, assertEquals, assertStringIncludes, fail } from "./assert.ts";
import { standaloneNode } from "./support/standalone.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Runs `heartbeat -f` on a one-node configuration whose state file `name` is a directory. */
async function startWithDirectoryAt(name: "hb_uuid" | "hb_generation"): Promise<void> {
  if (Deno.uid() !== 0) fail("this test needs root (unshare -n)");
  const { dir, env } = await standaloneNode("hb-state-", [
    "keepalive 100ms",
    "deadtime 500ms",
    "warntime 300ms",
    "initdead 1",
    "realtime off",
    "coredumps false",
    "ucast lo 198.18.91.2",
    "node node1",
  ], "state-secret");
  try {
    const state = env.HB_STATEDIR;
    await Deno.mkdir(`${state}/${name}`);
    const out = await new Deno.Command("unshare", {
      args: ["-n", Deno.execPath(), "run", "-A", "--quiet", MAIN, "heartbeat", "-f"],
      env: { ...env, NO_COLOR: "1" },
      stdin: "null",
      // A daemon that (wrongly) started would run until stopped: bound the wait generously.
      signal: AbortSignal.timeout(120_000),
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.signal, null, `the daemon did not stop by itself:\n${stderr}`);
    assertEquals(out.code, 1, stderr);
    const what = name === "hb_uuid" ? "uuid" : "generation";
    const line = `ERROR: Cannot read ${what} file [${state}/${name}]: Is a directory (os error 21)`;
    assertStringIncludes(stderr, line);
    assertStringIncludes(stderr, "ERROR: Heartbeat not started: state file error.");
    const log = await Deno.readTextFile(`${dir}/ha-log`);
    assertStringIncludes(log, line);
    // nothing took the directory's place, and no new identity was announced
    assert((await Deno.stat(`${state}/${name}`)).isDirectory, `${name} was replaced`);
    assert(!log.includes("generating a new uuid"), log);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("heartbeat -f refuses to start when hb_uuid cannot be read", async () => {
  await startWithDirectoryAt("hb_uuid");
});

Deno.test("heartbeat -f refuses to start when hb_generation cannot be read", async () => {
  await startWithDirectoryAt("hb_generation");
});
