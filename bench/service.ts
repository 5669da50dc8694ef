/**
 * Service-failure suite: the time from a service's death to the first successful client
 * request, for hb's health checks (hb.cf `monitor svc interval=1s timeout=2s fall=2
 * on-fail=restart max-restarts=1`) and for a keepalived pair with a `vrrp_script` at the same
 * interval and fall (the common "VIP follows a health check" set-up: the service runs on both
 * nodes, the address moves). Two nodes and the client namespace, which connects to the service
 * address every 10 ms (lab/tcp_probe.ts).
 *
 * - hb, `restart`: the service process on the holder is killed (SIGKILL); hb restarts it there;
 * - hb, `escalation`: killed again within the window; hb gives the group (address and service)
 *   to the peer with the standby exchange; both nodes' failure counts are then cleared
 *   (`heartbeat resource cleanup`) so that the next trial starts alike;
 * - keepalived, `failover`: the service on the MASTER is killed; its vrrp_script fails, the
 *   instance goes to FAULT and the BACKUP takes the address; the service is started again on
 *   the old master (now BACKUP, `nopreempt`). keepalived has no local restart.
 *
 * @module
 */

import {
  AddressWatch,
  fmt,
  HB_MONITOR,
  hbCommand,
  killService,
  ServiceProbe,
  summarize,
  SVC_IP,
  SVC_PORT,
  SVC_SERVER,
  svcScript,
  table,
  Testbed,
  trackTestbed,
  waitFor,
  writeServicePair,
} from "../lab/mod.ts";
import type { Recorder } from "./results.ts";
import { vrrpInstanceHead } from "./peers.ts";

/** keepalived.conf of node `i` (0-based) of `addrs`, same check interval and fall as hb. */
export function keepalivedConf(i: number, addrs: readonly string[]): string {
  return `global_defs {
  router_id node${i + 1}
  script_user root
  enable_script_security
}
vrrp_script chk_svc {
  script "/etc/ha.d/chk_svc.sh"
  interval 1
  timeout 2
  fall 2
  rise 1
}
${vrrpInstanceHead(i, 1)}
  unicast_src_ip ${addrs[i]}
  unicast_peer {
    ${addrs[1 - i]}
  }
  virtual_ipaddress {
    ${SVC_IP}/24 dev eth0
  }
  track_script {
    chk_svc
  }
}
`;
}

const CHK_SVC = `#!/bin/sh
/etc/ha.d/resource.d/svc status | grep -q running
`;

/** Options of {@link runService}. */
export interface ServiceOptions {
  /** Trials per implementation (each hb trial is one restart and one escalation). */
  trials: number;
  /** Implementations: `hb` and/or `keepalived`. */
  impls: ("hb" | "keepalived")[];
  /** Raw results. */
  rec: Recorder;
  /** Progress lines. */
  log: (line: string) => void;
}

/** In-flight answers right after a kill are not the recovery. */
const STALE_MS = 20;

async function hbTrials(o: ServiceOptions): Promise<{ restart: number[]; escalation: number[] }> {
  await using tb = await Testbed.create({
    nodes: ["node1", "node2"],
    links: 1,
    client: true,
    name: "bench-svc-hb",
    prefix: "hbbsvc",
  });
  trackTestbed(tb);
  await writeServicePair(tb, "hb-bench-svc");
  for (const n of tb.nodes) await n.writeConfig("hb.cf", HB_MONITOR);
  await Promise.all(tb.nodes.map((n) => n.start({ impl: "hb", timeoutMs: 30_000 })));
  const watch = await AddressWatch.start(tb.nodes, SVC_IP);
  const probe = ServiceProbe.start(tb.client!, SVC_IP, SVC_PORT, 10);
  const restart: number[] = [];
  const escalation: number[] = [];
  try {
    await waitFor("a holder of the service address", () => watch.holders().length === 1, {
      timeoutMs: 60_000,
    });
    await probe.replyAfter(Date.now());
    for (let i = 0; i < o.trials; i++) {
      const holder = tb.node(watch.holders()[0]);
      const other = tb.nodes.find((n) => n !== holder)!;
      // the holder's monitor has checked since the last move
      await waitFor(`${holder.name}'s monitor`, async () => {
        const j = await holder.exec([...hbCommand(), "resource", "failures", "--json"]);
        const st = j.code === 0 ? JSON.parse(j.stdout).states[0] : undefined;
        return st?.state === "ok" && st.checks > 0;
      }, { timeoutMs: 30_000 });
      const k1 = await killService(holder);
      const a1 = await probe.replyAfter(k1 + STALE_MS);
      restart.push(a1 - k1);
      await waitFor("the restart to finish and the next check", async () => {
        const j = await holder.exec([...hbCommand(), "resource", "failures", "--json"]);
        const st = j.code === 0 ? JSON.parse(j.stdout).states[0] : undefined;
        return st?.state === "ok" && st.restarts === 1;
      }, { timeoutMs: 30_000 });
      const k2 = await killService(holder);
      await waitFor(
        `${other.name} to hold the address`,
        () => watch.holders().join() === other.name,
        {
          timeoutMs: 60_000,
        },
      );
      const a2 = await probe.replyAfter(k2 + STALE_MS);
      escalation.push(a2 - k2);
      o.log(`service hb trial ${i + 1}: restart ${a1 - k1} ms, escalation ${a2 - k2} ms`);
      for (const n of tb.nodes) await n.exec([...hbCommand(), "resource", "cleanup"]);
      await o.rec.write({
        suite: "service",
        kind: "trial",
        impl: "hb",
        restart_ms: a1 - k1,
        escalation_ms: a2 - k2,
      });
    }
  } finally {
    await probe.stop();
    await watch.stop();
  }
  return { restart, escalation };
}

async function keepalivedTrials(o: ServiceOptions): Promise<number[]> {
  await using tb = await Testbed.create({
    nodes: ["node1", "node2"],
    links: 1,
    client: true,
    name: "bench-svc-ka",
    prefix: "hbbska",
  });
  trackTestbed(tb);
  const addrs = tb.nodes.map((n) => n.address(0));
  for (const [i, n] of tb.nodes.entries()) {
    await n.writeResourceScript("svc", svcScript("0.0.0.0"));
    await n.writeConfig("svc_server.py", SVC_SERVER);
    await n.writeConfig("chk_svc.sh", CHK_SVC, 0o755);
    await n.writeConfig("keepalived.conf", keepalivedConf(i, addrs));
  }
  for (const n of tb.nodes) {
    await n.start({
      impl: "hb", // a label only: the command is keepalived
      cmd: [
        "/bin/sh",
        "-c",
        "/etc/ha.d/resource.d/svc start && exec keepalived -n -l -D -f /etc/ha.d/keepalived.conf " +
        "-p /run/keepalived.pid -r /run/vrrp.pid",
      ],
      timeoutMs: 30_000,
    });
  }
  const watch = await AddressWatch.start(tb.nodes, SVC_IP);
  const probe = ServiceProbe.start(tb.client!, SVC_IP, SVC_PORT, 10);
  const out: number[] = [];
  try {
    await waitFor("a keepalived MASTER", () => watch.holders().length === 1, { timeoutMs: 60_000 });
    await probe.replyAfter(Date.now());
    for (let i = 0; i < o.trials; i++) {
      const holder = tb.node(watch.holders()[0]);
      const other = tb.nodes.find((n) => n !== holder)!;
      const k = await killService(holder);
      await waitFor(
        `${other.name} to hold the address`,
        () => watch.holders().join() === other.name,
        {
          timeoutMs: 60_000,
        },
      );
      const a = await probe.replyAfter(k + STALE_MS);
      out.push(a - k);
      o.log(`service keepalived trial ${i + 1}: failover ${a - k} ms`);
      await o.rec.write({
        suite: "service",
        kind: "trial",
        impl: "keepalived",
        failover_ms: a - k,
      });
      // the old master's service back (it stays BACKUP: nopreempt), its check healthy again
      await holder.exec(["/etc/ha.d/resource.d/svc", "start"], { check: true });
      await new Promise((r) => setTimeout(r, 3000));
    }
  } finally {
    await probe.stop();
    await watch.stop();
  }
  return out;
}

/** Runs the suite; returns the report. */
export async function runService(o: ServiceOptions): Promise<string> {
  const rows: string[][] = [];
  if (o.impls.includes("hb")) {
    const r = await hbTrials(o);
    const sr = summarize(r.restart);
    const se = summarize(r.escalation);
    rows.push(["hb", "local restart", String(sr.n), fmt(sr.median), fmt(sr.p95), fmt(sr.max)]);
    rows.push([
      "hb",
      "escalation to the peer",
      String(se.n),
      fmt(se.median),
      fmt(se.p95),
      fmt(se.max),
    ]);
  }
  if (o.impls.includes("keepalived")) {
    const k = summarize(await keepalivedTrials(o));
    rows.push([
      "keepalived",
      "vrrp_script → BACKUP",
      String(k.n),
      fmt(k.median),
      fmt(k.p95),
      fmt(k.max),
    ]);
    rows.push(["keepalived", "local restart", "-", "(none)", "", ""]);
  }
  return [
    "Service death (SIGKILL) → first answered client request (TCP every 10 ms), ms;",
    "check every 1 s, fall 2 (hb: monitor … on-fail=restart max-restarts=1; keepalived: vrrp_script)",
    table(["impl", "recovery", "n", "median", "p95", "max"], rows),
  ].join("\n");
}
