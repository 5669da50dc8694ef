/**
 * The demo (`heartbeat demo`, cli/demo.ts) as a user runs it: `deno run -A main.ts demo` must
 * exit 0 in under 60 s, show the service IP failing over (the client's HTTP outage) and failing
 * back. Needs root and the testbed packages (plus socat or python3 for the demo's HTTP server);
 * fails loudly when something is missing.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "./assert.ts";

Deno.test("demo: `main.ts demo` exits 0 in under 60 s and shows the HTTP failover", async () => {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "demo"],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGINT"); // the demo cleans up on SIGINT
    } catch {
      // gone
    }
  }, 60_000);
  const out = await child.output();
  clearTimeout(timer);
  const ms = performance.now() - t0;
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  console.log(stdout);
  if (stderr.trim()) console.log(stderr);
  console.log(`demo took ${(ms / 1000).toFixed(1)} s`);
  assertEquals(out.code, 0, `demo exit status (stderr: ${stderr})`);
  assert(ms < 60_000, `demo took ${ms.toFixed(0)} ms (limit 60 s)`);
  assertMatch(stdout, /answered by node1/);
  assertMatch(stdout, /node2 declared node1 dead \d+ ms after the kill/);
  const m = stdout.match(/first HTTP reply from node2 (\d+) ms after node1 was killed/);
  assert(m, "the demo prints the failover time measured by the client");
  assert(Number(m[1]) < 10_000, `failover took ${m[1]} ms`);
  assertMatch(stdout, /node1 is back and serves again/);
  assertMatch(stdout, /demo complete/);
});
