import { requireRoot, waitFor } from "../tests/support/mod.ts";
import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { Fencer } from "./fencer.ts";
import { meatclientMain } from "./meatclient.ts";
import { recordingLog } from "../tests/support/stonith.ts";

requireRoot();

function io(runDir: string, answer: string | null) {
  const out: string[] = [];
  return {
    out,
    io: {
      runDir,
      readAnswer: () => Promise.resolve(answer),
      out: (t: string) => void out.push(t),
      err: (t: string) => void out.push(t),
      waitIntervalSec: 0.05,
    },
  };
}

Deno.test("built-in meatware: waits for the operator, confirmed by meatclient", async () => {
  const runDir = Deno.makeTempDirSync({ prefix: "hb_meat_" });
  const rec = recordingLog();
  const f = new Fencer({
    device: { type: "meatware", params: ["node1", "node2"] },
    backend: "builtin",
    runDir,
    retryIntervalMs: 200,
    log: rec.log,
  });
  let fenced = false;
  f.fence("node2", { mayHoldResources: true }, () => fenced = true);
  await waitFor("operator request", () => rec.lines.length >= 3, { timeoutMs: 10_000 });
  const st = Deno.statSync(`${runDir}/meatware.node2`);
  assert(st.isFifo, "FIFO created");
  assertEquals(st.mode! & 0o777, 0o600);

  // Wrong answer: cancelled. The client had opened the FIFO, so the device reads an empty
  // reply and that attempt fails (as cluster-glue's plugin does); it is retried.
  const no = io(runDir, "n");
  // -w: the device logs its request just before it opens the FIFO (as the plugin does).
  assertEquals(await meatclientMain(["-c", "node2", "-w"], no.io), 3);
  assertStringIncludes(no.out.join(""), "PROCEED? [yN] ");
  assertStringIncludes(no.out.join(""), "Meatware_client: operation canceled.");
  await waitFor("retry", () => rec.text().some((l) => l.includes("Retrying")), {
    timeoutMs: 10_000,
  });
  assert(!fenced);

  const yes = io(runDir, "y");
  assertEquals(await meatclientMain(["-c", "NODE2", "-w"], yes.io), 0);
  assertStringIncludes(yes.out.join(""), 'If node "node2" has not been manually power-cycled');
  assertStringIncludes(yes.out.join(""), "Meatware_client: reset confirmed.");
  await waitFor("reset", () => fenced, { timeoutMs: 10_000 });
  await f.stop();
  const pids = [...new Set(rec.lines.map((l) => l.pid).filter((p) => p !== undefined))];
  assertEquals(pids.length, 2);
  const request = [
    "info: Resetting node node2 with [Meatware STONITH device]",
    "ERROR: glib: OPERATOR INTERVENTION REQUIRED to reset node2.",
    'ERROR: glib: Run "meatclient -c node2" AFTER power-cycling the machine.',
  ];
  assertEquals(
    rec.text().map((l) => l.replace(` ${pids[0]} `, " <pid> ").replace(` ${pids[1]} `, " <pid> ")),
    [
      ...request,
      "ERROR: glib: Format error - failed to Meatware-reset node node2",
      "ERROR: Host node2 not reset!",
      "WARN: Managed STONITH node2 process <pid> exited with return code 1.",
      "ERROR: STONITH of node2 failed.  Retrying...",
      ...request,
      "info: glib: node Meatware-reset: node2",
      "info: node node2 now reset.",
      "info: Managed STONITH node2 process <pid> exited with return code 0.",
    ],
  );
  assert(!exists(`${runDir}/meatware.node2`), "FIFO removed after the reset");
  Deno.removeSync(runDir, { recursive: true });
});

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

Deno.test("meatclient: no waiting device, usage, -w waits for the FIFO", async () => {
  const runDir = Deno.makeTempDirSync({ prefix: "hb_meat_" });
  const none = io(runDir, "y");
  assertEquals(await meatclientMain(["-c", "nodex"], none.io), 4);
  assertEquals(
    none.out.join(""),
    `Meatware_IPC failed: ${runDir}/meatware.nodex: No such file or directory\n`,
  );
  const usage = io(runDir, "y");
  assertEquals(await meatclientMain([], usage.io), 3);
  assertEquals(usage.out.join(""), "usage: meatclient -c node [-w]\n");

  // -w: keeps trying (printing dots) until the device waits on its FIFO.
  const rec = recordingLog();
  const f = new Fencer({
    device: { type: "meatware", params: ["nodew"] },
    backend: "builtin",
    runDir,
    log: rec.log,
  });
  const w = io(runDir, "y");
  const client = meatclientMain(["-c", "nodew", "-w"], w.io);
  // the client has found no FIFO yet and waits (a dot per try) before the device creates it
  await waitFor("meatclient's dots", () => w.out.join("").includes(".."), { timeoutMs: 10_000 });
  let fenced = false;
  f.fence("nodew", { mayHoldResources: true }, () => fenced = true);
  assertEquals(await client, 0);
  assertStringIncludes(w.out.join(""), ".");
  await waitFor("reset", () => fenced, { timeoutMs: 10_000 });
  await f.stop();
  Deno.removeSync(runDir, { recursive: true });
});
