/**
 * systemd's notification protocol end to end (master/systemd.ts): a one-node hb cluster in the
 * testbed, started as systemd starts `packaging/heartbeat.service` (`heartbeat -f`) with
 * `NOTIFY_SOCKET` naming a socket this test owns and `WATCHDOG_USEC` set:
 *
 * - `READY=1` (with `STATUS=`) once the main loop runs;
 * - `WATCHDOG=1` about every `WATCHDOG_USEC/2`, and none while the master alone is SIGSTOPped
 *   (its workers still run: only our own heartbeats feed it);
 * - `RELOADING=1` then `READY=1` around `heartbeat -r`;
 * - `STOPPING=1` at `heartbeat -k`;
 *
 * in that order. Needs root and the testbed's packages; fails loudly (never skips) without them.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { NotifyListener } from "./support/notify_listener.ts";
import { authkeys, hbCommand, Testbed, waitFor } from "./testbed/mod.ts";
import { testHaCf, writeNodeFiles } from "./support/cluster.ts";

const WATCHDOG_USEC = 1_000_000;

Deno.test("systemd: READY, WATCHDOG, RELOADING/READY across heartbeat -r, STOPPING", async () => {
  await using tb = await Testbed.create({ nodes: ["node1"], links: 1, name: "sdnotify" });
  const n = tb.node("node1");
  await writeNodeFiles([n], {
    haCf: testHaCf({ deadtime: 2, initdead: 2, node: ["node1"] }),
    authkeys: authkeys("sha1", "sdnotify"),
    haresources: "",
  });
  // /var/log inside the node is n.logDir here
  using l = new NotifyListener(`${n.logDir}/notify`);
  const at = (text: string, from = 0) =>
    l.received.findIndex((r, i) => i >= from && r.text.split("\n").includes(text));
  await n.start({
    impl: "hb",
    env: { NOTIFY_SOCKET: "/var/log/notify", WATCHDOG_USEC: String(WATCHDOG_USEC) },
  });
  try {
    const ready = await l.waitFor((t) => t.startsWith("READY=1"), { timeoutMs: 20_000 });
    assertMatch(l.received[ready].text, /^READY=1\nSTATUS=node1 \S+; peers: none; holding: /);

    // the watchdog: pings at about WATCHDOG_USEC/2 while our heartbeats go out
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 2600));
    const pings = l.received.filter((r) => r.text === "WATCHDOG=1" && r.at >= t0);
    assert(pings.length >= 4 && pings.length <= 7, `${pings.length} WATCHDOG=1 in 2.6 s`);
    const gaps = pings.slice(1).map((p, i) => p.at - pings[i].at);
    assert(
      gaps.every((g) => g <= WATCHDOG_USEC / 2000 + 150),
      `gaps ${gaps.map((g) => g.toFixed(0)).join(", ")} ms; allowed: <= 650 ms`,
    );
    console.log(`  watchdog gaps: ${gaps.map((g) => g.toFixed(0)).join(", ")} ms`);

    // a stopped master sends nothing: the workers alone never feed systemd's watchdog
    const master = n.daemonPid!;
    Deno.kill(master, "SIGSTOP");
    const stoppedAt = performance.now();
    await new Promise((r) => setTimeout(r, 1500));
    l.drain();
    Deno.kill(master, "SIGCONT");
    const whileStopped = l.received.filter((r) =>
      r.text === "WATCHDOG=1" && r.at > stoppedAt + 50 && r.at < stoppedAt + 1500
    );
    assertEquals(whileStopped.length, 0, "no WATCHDOG=1 while the master is stopped");
    const contAt = performance.now();
    await waitFor(
      "WATCHDOG=1 again after SIGCONT",
      () => l.received.some((r) => r.text === "WATCHDOG=1" && r.at > contAt),
      { timeoutMs: 3000 },
    );

    // heartbeat -r: RELOADING=1 (with MONOTONIC_USEC), then READY=1
    const before = l.received.length;
    const r = await n.exec([...hbCommand(), "heartbeat", "-r"]);
    assertEquals(r.code, 0, `heartbeat -r: ${r.stderr}`);
    const reloading = await l.waitFor((t) => t.startsWith("RELOADING=1"), { from: before });
    assertMatch(l.received[reloading].text, /^RELOADING=1\nMONOTONIC_USEC=\d+$/);
    const ready2 = await l.waitFor((t) => t.startsWith("READY=1"), { from: reloading });
    assert(ready2 > reloading);

    // heartbeat -k: STOPPING=1
    const status = await tb.stopSoft("node1", { via: "command", timeoutMs: 20_000 });
    assertEquals(status.code, 0);
    const stopping = await l.waitFor((t) => t.startsWith("STOPPING=1"), { from: ready2 });

    // the order, over the whole run
    assertEquals(at("READY=1"), ready);
    assert(ready < at("WATCHDOG=1") && at("WATCHDOG=1") < reloading, "first ping after READY");
    assert(reloading < ready2 && ready2 < stopping, "RELOADING, READY, STOPPING in order");
    assertEquals(at("READY=1", stopping), -1, "nothing READY after STOPPING");
    assertEquals(l.received.filter((x) => x.text.startsWith("STOPPING=1")).length, 1);
  } finally {
    // never leave a stopped master behind a failed assertion
    if (n.daemonPid !== undefined) resume(n.daemonPid);
  }
});

/** SIGCONT to `pid`, if it still exists. */
function resume(pid: number): void {
  try {
    Deno.kill(pid, "SIGCONT");
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) console.error(`SIGCONT ${pid}: ${e}`);
  }
}
