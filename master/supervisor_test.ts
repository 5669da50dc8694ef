/**
 * The core workers' supervisor on real worker processes (HBFIFO and a ucast pair on the
 * loopback): start in Heartbeat's order, packets relayed both ways, a dead FIFO reader
 * restarted, and the stop with Heartbeat's lines.
 */

import { assert, assertEquals } from "../tests/assert.ts";
import { waitFor } from "../lab/sys.ts";
import { ensureFifo } from "./state_files.ts";
import { Supervisor } from "./supervisor.ts";

Deno.test("supervisor: starts, relays packets, restarts a dead FIFO reader, stops", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "hb_supervisor_test_" });
  const logs: string[] = [];
  const packets: { ch: number; text: string }[] = [];
  // a port of the dynamic range, different for every run (two runs at once do not collide)
  const port = 40_000 + (Deno.pid % 20_000);
  const sup = new Supervisor(
    [{ type: "ucast", ifname: "lo", port, peer: "127.0.0.1" }],
    `${dir}/fifo`,
    {
      log: (prio, text) => void logs.push(`${prio}: ${text}`),
      onPacket: (ch, bytes) => void packets.push({ ch, text: new TextDecoder().decode(bytes) }),
      onFifo: () => {},
    },
  );
  try {
    for (const n of ensureFifo(`${dir}/fifo`)) assertEquals(n.prio, "info", n.text);
    assert(await sup.start(), `the workers did not start: ${logs.join("\n")}`);
    assertEquals(sup.describe().map((p) => `${p.kind} ${p.channel}`), [
      "HBFIFO -1",
      "HBWRITE 0",
      "HBREAD 0",
    ]);

    // what the master broadcasts comes back through the read worker of the same medium
    const payload = "t=hb-supervisor-test";
    await waitFor("the packet to come back", () => {
      sup.broadcast(new TextEncoder().encode(payload));
      return packets.some((p) => p.ch === 0 && p.text === payload);
    }, { timeoutMs: 60_000, intervalMs: 200 });

    // a FIFO reader that dies is restarted at once
    const fifo = sup.describe().find((p) => p.kind === "HBFIFO")!;
    Deno.kill(fifo.pid, "SIGKILL");
    await waitFor("a new FIFO reader", () => {
      const now = sup.describe().find((p) => p.kind === "HBFIFO");
      return now !== undefined && now.pid !== fifo.pid;
    }, { timeoutMs: 60_000 });
    assert(logs.includes("WARN: Restarting HBFIFO process."), logs.join("\n"));
  } finally {
    const pids = sup.describe();
    await sup.stop();
    Deno.removeSync(dir, { recursive: true });
    // Heartbeat's order: the first channel's reader and writer, then the FIFO reader
    const killed = logs.filter((l) => l.includes("with signal 15"));
    assertEquals(
      killed.map((l) => l.split(" ")[2]),
      ["HBREAD", "HBWRITE", "HBFIFO"],
      logs.join("\n"),
    );
    assertEquals(killed.length, pids.length);
    assert(logs.some((l) => /Core process \d+ exited\. 1 remaining$/.test(l)), logs.join("\n"));
  }
});
