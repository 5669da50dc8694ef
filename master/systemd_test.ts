import { assertEquals } from "../tests/assert.ts";
import { NotifyListener } from "../tests/support/notify_listener.ts";
import { SdNotifier } from "../sys/sd_notify.ts";
import { statusSummary, type SummarySource, SystemdNotify } from "./systemd.ts";
import type { HbCore } from "../core/core.ts";
import type { NodeCoreAction } from "../core/node_core.ts";
import { CoreMessage } from "../core/message.ts";

/** A core stand-in with two nodes and two links. */
function source(peer: "active" | "dead", held = "all"): SummarySource {
  const core = {
    localStatus: "active",
    nodeNames: () => ["node1", "node2", "gw"],
    nodeStatus: (n: string) => n === "gw" ? "ping" : n === "node1" ? "active" : peer,
    linkStatus: (_n: string, l: string) => peer === "active" && l === "eth0" ? "up" : "dead",
  } as unknown as HbCore;
  return {
    core,
    heldState: () => ({ held, holding: held === "none" ? [] : ["IPaddr::10.0.0.1"] }),
  };
}

const STATUS_SENT: NodeCoreAction[] = [{ type: "send", msg: CoreMessage.of({ t: "status" }) }];
const TICK = { type: "tick", now: 0, wallClock: 0 } as const;

Deno.test("systemd: status summary", () => {
  assertEquals(
    statusSummary(source("active"), "node1", ["eth0", "eth1"]),
    "node1 active; peers: node2 active (1/2 links up); holding: all [IPaddr::10.0.0.1]",
  );
  assertEquals(
    statusSummary(source("dead", "none"), "node1", ["eth0"]),
    "node1 active; peers: node2 dead (0/1 links up); holding: none",
  );
});

Deno.test("systemd: pings follow our status after READY, at most every WATCHDOG_USEC/2", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    using l = new NotifyListener(`${dir}/notify`);
    let now = 0;
    const logs: string[] = [];
    const sd = new SystemdNotify({
      notifier: new SdNotifier(l.name),
      watchdogMs: 1000,
      keepaliveMs: 100,
      nodeName: "node1",
      links: ["eth0"],
      log: (p, t) => logs.push(`${p}: ${t}`),
      now: () => now,
    });
    sd.step(TICK, STATUS_SENT); // before READY: nothing
    let src = source("active");
    sd.ready({
      get core() {
        return src.core;
      },
      heldState: () => src.heldState(),
    });
    for (now = 0; now <= 2000; now += 100) sd.step(TICK, STATUS_SENT); // 100 ms keepalive
    now = 2100;
    sd.step(TICK, []); // no status sent: no ping
    src = source("dead");
    now = 3200;
    sd.step(TICK, []); // summary changed: STATUS=
    // a unix datagram queue holds 10 by default (net.unix.max_dgram_qlen); sends never wait
    l.drain();
    sd.reloading();
    sd.reloaded();
    sd.restarting(30_000);
    sd.stopping();
    sd.close();
    await l.waitFor((t) => t.startsWith("STOPPING=1"));
    const texts = l.received.map((r) => r.text.replace(/MONOTONIC_USEC=\d+/, "MONOTONIC_USEC=N"));
    assertEquals(texts, [
      "READY=1\nSTATUS=node1 active; peers: node2 active (1/1 links up); holding: all [IPaddr::10.0.0.1]\nWATCHDOG_USEC=1000000",
      "WATCHDOG=1", // 0
      "WATCHDOG=1", // 400 (>= 500 - keepalive)
      "WATCHDOG=1", // 800
      "WATCHDOG=1", // 1200
      "WATCHDOG=1", // 1600
      "WATCHDOG=1", // 2000
      "STATUS=node1 active; peers: node2 dead (0/1 links up); holding: all [IPaddr::10.0.0.1]",
      "RELOADING=1\nMONOTONIC_USEC=N",
      "READY=1\nSTATUS=node1 active; peers: node2 dead (0/1 links up); holding: all [IPaddr::10.0.0.1]",
      "WATCHDOG_USEC=31000000\nSTATUS=restarting",
      "STOPPING=1\nSTATUS=stopping: releasing resources",
    ]);
    assertEquals(logs, []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("systemd: without NOTIFY_SOCKET nothing happens; a failed send is logged once", () => {
  const off = new SystemdNotify({
    notifier: null,
    keepaliveMs: 1000,
    nodeName: "node1",
    links: [],
    log: () => {
      throw new Error("no log expected");
    },
  });
  assertEquals(off.enabled, false);
  off.ready(source("active"));
  const logs: string[] = [];
  const broken = new SystemdNotify({
    notifier: new SdNotifier("/nonexistent/notify"),
    keepaliveMs: 1000,
    nodeName: "node1",
    links: [],
    log: (p, t) => logs.push(`${p}: ${t.slice(0, 43)}`),
  });
  broken.ready(source("active"));
  broken.stopping();
  broken.close();
  assertEquals(logs, [
    "WARN: systemd notification to /nonexistent/notify",
    "debug: systemd notification to /nonexistent/notify",
  ]);
});
