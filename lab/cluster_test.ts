import { assert, assertEquals, assertMatch } from "../tests/assert.ts";
import { userNamespaceCommand } from "./prerequisites.ts";
import { run } from "./sys.ts";

Deno.test("lab: in a user namespace, an hb-only lab is built and Heartbeat's files are refused in one line", async () => {
  const probe = new URL("./testdata/userns_probe.ts", import.meta.url).pathname;
  // as root here, the namespace still maps only uid 0: the same code path as for a user
  const r = await run(
    userNamespaceCommand([Deno.execPath(), "run", "-A", "--quiet", probe]),
    { check: false, timeoutMs: 60_000 },
  );
  assertEquals(r.code, 0, `probe failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assertEquals(
    out.heartbeatFiles,
    "testbed: Heartbeat's files (owned by hacluster) cannot be made in a user namespace " +
      "(only uid 0 is mapped): run as real root, or create with heartbeatFiles: false (hb only)",
  );
  assertEquals(out.uname, "a");
  assertMatch(out.addr, /inet 198\.18\.0\.2\/24 brd 198\.18\.0\.255/);
  assertEquals(out.ping, 0, "the client reaches node b over the bridge");
  const left = await Deno.stat(out.baseDir).then(() => true, () => false);
  assert(!left, `${out.baseDir} left behind`);
});
