import { assert, assertEquals } from "../tests/assert.ts";
import { startRig } from "../tests/support/api.ts";
import { resourceMain } from "./resource.ts";

/** Runs `heartbeat resource ARGS` against `path`, capturing its output. */
async function run(args: string[], path: string) {
  const out: string[] = [];
  const err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const code = await resourceMain(args, path);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

const STATES = {
  node: "wa1",
  states: [{
    resource: "svc",
    group: "198.18.0.100/24/eth0",
    state: "failed",
    consecutiveFailures: 2,
    failures: 3,
    checks: 40,
    restartsInWindow: 1,
    restarts: 2,
    lastFailure: "exit 0 (stopped)",
    heldBackMs: 12_345,
  }],
};

Deno.test("heartbeat resource: failures and cleanup over the API socket (hb's request types)", async () => {
  const rig = startRig();
  try {
    // a daemon without monitor support (or Heartbeat) refuses the request types
    const none = await run(["failures"], rig.path);
    assertEquals(none.code, 1);
    assert(none.err.includes("no monitors"), none.err);

    const cleared: (string | undefined)[] = [];
    Object.assign(rig.backend, {
      monitorFailures: () => JSON.stringify(STATES),
      monitorCleanup: (r?: string) => {
        cleared.push(r);
        return r === "nosuch"
          ? { ok: false, info: "no monitor for nosuch; monitored: svc" }
          : { ok: true, cleared: ["svc"] };
      },
    });
    const f = await run(["failures"], rig.path);
    assertEquals(f.code, 0, f.err);
    assertEquals(f.out.split("\n"), [
      "monitors of wa1:",
      "RESOURCE  GROUP                 STATE                      FAIL-NOW  FAILED  CHECKS  RESTARTS(WINDOW)  LAST FAILURE",
      "svc       198.18.0.100/24/eth0  failed (no failback 13 s)  2         3       40      2 (1)             exit 0 (stopped)",
    ]);
    const j = await run(["failures", "--json"], rig.path);
    assertEquals(JSON.parse(j.out), STATES);
    assertEquals(await run(["cleanup", "svc"], rig.path), {
      code: 0,
      out: "cleared: svc",
      err: "",
    });
    assertEquals((await run(["cleanup"], rig.path)).code, 0);
    const bad = await run(["cleanup", "nosuch"], rig.path);
    assertEquals([bad.code, bad.err], [
      1,
      "heartbeat resource cleanup: no monitor for nosuch; monitored: svc",
    ]);
    assertEquals(cleared, ["svc", undefined, "nosuch"]);
  } finally {
    await rig.dispose();
  }
});

Deno.test("heartbeat resource: usage errors and no daemon", async () => {
  assertEquals((await run(["frobnicate"], "/nonexistent/register")).code, 2);
  assertEquals((await run(["cleanup", "a", "b"], "/nonexistent/register")).code, 2);
  assertEquals((await run(["failures", "--xml"], "/nonexistent/register")).code, 2);
  const gone = await run(["failures"], "/nonexistent/register");
  assertEquals(gone.code, 3);
  assert(gone.err.includes("cannot sign on to the daemon at /nonexistent/register"), gone.err);
});
