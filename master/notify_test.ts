import { assert, assertEquals } from "../tests/assert.ts";
import { notifyEnv, NotifyRunner } from "./notify.ts";
import type { Priority } from "../core/types.ts";

async function script(dir: string, name: string, body: string): Promise<string> {
  const p = `${dir}/${name}`;
  await Deno.writeTextFile(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  await Deno.chmod(p, 0o755);
  return p;
}

Deno.test("notify: hooks run in order per event with the HB_* variables; failures are logged", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hb-notify-" });
  try {
    const out = `${dir}/out`;
    const rec = await script(
      dir,
      "rec.sh",
      `echo "$HB_EVENT $HB_NODE $HB_GROUP $HB_RESOURCE $HB_ELAPSED_MS $HB_TIMESTAMP" >>${out}`,
    );
    const fail = await script(dir, "fail.sh", `echo nope >&2; exit 4`);
    const slow = await script(dir, "slow.sh", `sleep 30`);
    const logs: string[] = [];
    const n = new NotifyRunner({
      paths: [rec, fail, slow, `${dir}/missing`],
      env: { PATH: "/usr/bin:/bin" },
      log: (p: Priority, t: string) => logs.push(`${p}: ${t}`),
      timeoutMs: 300,
    });
    n.emit(
      { event: "monitor-fail", node: "node1", group: "g", resource: "svc", elapsedMs: 12.4 },
      0,
    );
    n.emit({ event: "restart", node: "node1", group: "g", resource: "svc", elapsedMs: 30 }, 1000);
    // emit returns at once (void): the hooks run in the background
    await n.idle();
    const lines = (await Deno.readTextFile(out)).trim().split("\n");
    assertEquals(lines, [
      "monitor-fail node1 g svc 12 1970-01-01T00:00:00.000Z",
      "restart node1 g svc 30 1970-01-01T00:00:01.000Z",
    ]);
    assertEquals(logs.filter((l) => l.includes("fail.sh")), [
      `ERROR: notify ${fail} (monitor-fail): exit 4: nope`,
      `ERROR: notify ${fail} (restart): exit 4: nope`,
    ]);
    assertEquals(logs.filter((l) => l.includes("slow.sh")).length, 2);
    assert(
      logs.some((l) => l.includes(`notify ${slow} (restart): killed after 300 ms`)),
      logs.join("\n"),
    );
    assert(
      logs.some((l) => l.includes(`notify ${dir}/missing (restart): cannot run`)),
      logs.join("\n"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("notify: environment of an event with unset fields", () => {
  assertEquals(notifyEnv({ event: "node-dead", node: "node2", from: "active", to: "dead" }, 0), {
    HB_EVENT: "node-dead",
    HB_NODE: "node2",
    HB_GROUP: "",
    HB_RESOURCE: "",
    HB_FROM: "active",
    HB_TO: "dead",
    HB_REASON: "",
    HB_ELAPSED_MS: "",
    HB_TIMESTAMP: "1970-01-01T00:00:00.000Z",
  });
});
