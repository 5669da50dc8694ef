/**
 * The core workers' supervisor on real worker processes (HBFIFO and a ucast pair on the
 * loopback): start in Heartbeat's order, packets relayed both ways, a dead FIFO reader
 * restarted, and the stop with Heartbeat's lines.
 */

import { assert, assertEquals } from "../tests/assert.ts";
import { waitFor } from "../lab/sys.ts";
import { ensureFifo } from "./state_files.ts";
import { Supervisor } from "./supervisor.ts";
import { ECHO_FILTER } from "../workers/echo_filter.ts";
import { WIRE_VECTOR_DIR } from "../tests/support/vectors.ts";

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

Deno.test("supervisor: read workers get the own-echo filter and pass one own status per spacing", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "hb_supervisor_test_" });
  const logs: string[] = [];
  const received: string[] = [];
  const port = 40_000 + ((Deno.pid + 7) % 20_000);
  // a real 3.0.6 node's status (src=n1): what we would hear back from a bcast medium
  const status = Deno.readFileSync(new URL("crc-bcast-status-1.bin", WIRE_VECTOR_DIR));
  const sup = new Supervisor(
    [{ type: "ucast", ifname: "lo", port, peer: "127.0.0.1" }],
    `${dir}/fifo`,
    {
      log: (prio, text) => void logs.push(`${prio}: ${text}`),
      onPacket: (_ch, bytes) => void received.push(new TextDecoder().decode(bytes)),
      onFifo: () => {},
      readerControl: { t: ECHO_FILTER, src: "n1", spacingMs: 3_600_000 },
    },
  );
  const statuses = () => received.filter((t) => t.startsWith("###")).length;
  try {
    for (const n of ensureFifo(`${dir}/fifo`)) assertEquals(n.prio, "info", n.text);
    assert(await sup.start(), `the workers did not start: ${logs.join("\n")}`);
    await waitFor("an own status to come back", () => {
      sup.broadcast(status);
      return statuses() > 0;
    }, { timeoutMs: 60_000, intervalMs: 200 });
    const before = statuses();
    for (let i = 0; i < 10; i++) sup.broadcast(status);
    const marker = "t=hb-supervisor-marker";
    await waitFor("the marker to come back", () => {
      sup.broadcast(new TextEncoder().encode(marker));
      return received.includes(marker);
    }, { timeoutMs: 60_000, intervalMs: 200 });
    // the first status may have come back before the filter reached the reader: then the
    // filter passes one more, and none after it
    assert(statuses() - before <= 1, `${statuses() - before} of 10 own statuses passed`);
  } finally {
    await sup.stop();
    Deno.removeSync(dir, { recursive: true });
  }
});
