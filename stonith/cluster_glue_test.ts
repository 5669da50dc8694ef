import { requireRoot, waitFor } from "../tests/support/mod.ts";
import { assert, assertEquals } from "../tests/assert.ts";
import { parseClusterGlueLine } from "./cluster_glue.ts";
import { findStonithCommand } from "./devices.ts";
import { Fencer } from "./fencer.ts";
import { meatclientMain } from "./meatclient.ts";
import type { StonithResult } from "./types.ts";
import { recordingLog } from "../tests/support/stonith.ts";

requireRoot();
const STONITH = findStonithCommand();
if (STONITH === null) {
  throw new Error("cluster-glue's stonith command is not installed (these tests never skip)");
}

function normalise(lines: string[], pids: (number | undefined)[]): string[] {
  return lines.map((l) => {
    let out = l;
    for (const p of pids) if (p !== undefined) out = out.replaceAll(` ${p} `, " <pid> ");
    return out;
  });
}

Deno.test("parseClusterGlueLine: cl_log stderr format, CRIT to ERROR, summaries dropped", () => {
  assertEquals(
    parseClusterGlueLine("Nov 21 23:50:40 vm stonith: [31124]: info: Host null-reset: node2"),
    { prio: "info", text: "Host null-reset: node2", glib: true },
  );
  assertEquals(
    parseClusterGlueLine(
      "Nov 21 23:50:40 vm stonith: [31126]: CRIT: SSH STONITH device doesn't control host [node2]",
    ),
    { prio: "ERROR", text: "SSH STONITH device doesn't control host [node2]", glib: true },
  );
  assertEquals(
    parseClusterGlueLine("Nov 21 23:50:40 vm stonith: [1]: debug: null device OK."),
    null,
  );
  assertEquals(parseClusterGlueLine(""), null);
  assertEquals(parseClusterGlueLine("raw script noise"), {
    prio: "info",
    text: "raw script noise",
    glib: true,
  });
});

Deno.test("cluster-glue null through the real stonith command: the lines of spec §6.6.16", async () => {
  const rec = recordingLog();
  const results: StonithResult[] = [];
  const f = new Fencer({
    device: { type: "null", params: ["node1", "node2"] },
    log: rec.log,
    onResult: (_n, r) => results.push(r),
  });
  assertEquals(f.backend, "cluster-glue"); // plugin installed: auto picks cluster-glue
  f.startStatusChecks();
  await waitFor("status check", () => rec.lines.length >= 2, { timeoutMs: 10_000 });
  let fenced = false;
  f.fence("node2", { mayHoldResources: true }, () => fenced = true);
  await waitFor("reset", () => fenced, { timeoutMs: 10_000 });
  await f.stop();
  const pids = [...new Set(rec.lines.map((l) => l.pid))];
  // Spec §6.6.16 (real Heartbeat 3.0.6, stonith_host * null node1 node2):
  //   info: Checking status of STONITH device [NULL STONITH device]
  //   info: Managed STONITH-stat process 30907 exited with return code 0.
  //   info: Resetting node node2 with [NULL STONITH device]
  //   info: glib: Host null-reset: node2
  //   info: node node2 now reset.
  //   info: Managed STONITH node2 process 472 exited with return code 0.
  assertEquals(normalise(rec.text(), pids), [
    "info: Checking status of STONITH device [NULL STONITH device]",
    "info: Managed STONITH-stat process <pid> exited with return code 0.",
    "info: Resetting node node2 with [NULL STONITH device]",
    "info: glib: Host null-reset: node2",
    "info: node node2 now reset.",
    "info: Managed STONITH node2 process <pid> exited with return code 0.",
  ]);
  assertEquals(results, ["OK"]);
});

Deno.test("cluster-glue ssh that does not control the host: spec §6.6.16 failure lines, retried", async () => {
  const rec = recordingLog();
  const f = new Fencer({
    device: { type: "ssh", params: ["node1"] },
    backend: "cluster-glue",
    retryIntervalMs: 200,
    log: rec.log,
  });
  let fenced = false;
  f.fence("node2", { mayHoldResources: true }, () => fenced = true);
  await waitFor("two attempts", () => rec.lines.length >= 10, { timeoutMs: 10_000 });
  await f.stop();
  assert(!fenced, "takeover never happens until a reset succeeds");
  const pids = [...new Set(rec.lines.map((l) => l.pid))];
  // Spec §6.6.16:
  //   info: Resetting node node2 with [SSH STONITH device]
  //   ERROR: glib: SSH STONITH device doesn't control host [node2]
  //   ERROR: Device SSH STONITH device cannot reset host node2.
  //   WARN: Managed STONITH node2 process 9530 exited with return code 100.
  //   ERROR: STONITH of node2 failed.  Retrying...
  const once = [
    "info: Resetting node node2 with [SSH STONITH device]",
    "ERROR: glib: SSH STONITH device doesn't control host [node2]",
    "ERROR: Device SSH STONITH device cannot reset host node2.",
    "WARN: Managed STONITH node2 process <pid> exited with return code 100.",
    "ERROR: STONITH of node2 failed.  Retrying...",
  ];
  assertEquals(normalise(rec.text(), pids).slice(0, 10), [...once, ...once]);
});

Deno.test("cluster-glue `stonith <type> <file>` form uses -F", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "hb_stonith_cfg_" });
  Deno.writeTextFileSync(`${dir}/null.cfg`, "# hosts\nnode1 node2\n");
  const rec = recordingLog();
  const f = new Fencer({
    device: { type: "null", configFile: `${dir}/null.cfg`, params: ["node1", "node2"] },
    backend: "cluster-glue",
    log: rec.log,
  });
  let fenced = false;
  f.fence("node1", { mayHoldResources: true }, () => fenced = true);
  await waitFor("reset", () => fenced, { timeoutMs: 10_000 });
  await f.stop();
  assertEquals(rec.text().slice(0, 3), [
    "info: Resetting node node1 with [NULL STONITH device]",
    "info: glib: Host null-reset: node1",
    "info: node node1 now reset.",
  ]);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("cluster-glue meatware confirmed by our meatclient (same FIFO protocol)", async () => {
  const node = "hbtestmeat";
  const rec = recordingLog();
  const f = new Fencer({
    device: { type: "meatware", params: [node] },
    backend: "cluster-glue",
    log: rec.log,
  });
  let fenced = false;
  f.fence(node, { mayHoldResources: true }, () => fenced = true);
  await waitFor(
    "operator request",
    () => rec.text().some((l) => l.includes("AFTER power-cycling")),
    { timeoutMs: 10_000 },
  );
  const out: string[] = [];
  // -w: the plugin opens its FIFO just after logging the request.
  const rc = await meatclientMain(["-c", node, "-w"], {
    readAnswer: () => Promise.resolve("y"),
    out: (t) => out.push(t),
    err: (t) => out.push(t),
  });
  assertEquals(rc, 0, out.join(""));
  await waitFor("reset", () => fenced, { timeoutMs: 10_000 });
  await f.stop();
  const pids = [...new Set(rec.lines.map((l) => l.pid))];
  assertEquals(normalise(rec.text(), pids), [
    `info: Resetting node ${node} with [Meatware STONITH device]`,
    // The plugin logs this whenever it is configured; Heartbeat configures it once at start.
    `info: glib: parse config info info=${node}`,
    `ERROR: glib: OPERATOR INTERVENTION REQUIRED to reset ${node}.`,
    `ERROR: glib: Run "meatclient -c ${node}" AFTER power-cycling the machine.`,
    `info: glib: node Meatware-reset: ${node}`,
    `info: node ${node} now reset.`,
    `info: Managed STONITH ${node} process <pid> exited with return code 0.`,
  ]);
});
