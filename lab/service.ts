/**
 * The service that hb's health checks watch in the bench's service suite (`bench/service.ts`)
 * and the monitor tests (`tests/monitor_test.ts`): a one-process TCP server ({@link SVC_SERVER})
 * started by the `svc` resource script, the two-node configuration that puts it on node1 with
 * the service address, and its hard kill.
 *
 * @module
 */

import type { Testbed } from "./cluster.ts";
import { authkeys, failoverHaCf, SVC_SERVER } from "./heartbeat_files.ts";
import type { TestNode } from "./node.ts";

/** The service address. */
export const SVC_IP = "198.18.0.100";
/** The service's TCP port. */
export const SVC_PORT = 8080;

/** What the `svc` script does beyond start, stop and status (see {@link svcScript}). */
export interface SvcScriptOptions {
  /** A start fails (once) while /var/log/svc.failnext exists (the chaos campaign). */
  failNext?: boolean;
  /**
   * `status` is recorded in /var/log/svc.calls too and hangs (sleep 31) while /var/log/svc.hang
   * holds a positive count, decremented at each call (health checks; default true).
   */
  checks?: boolean;
}

/**
 * The `svc` resource script: starts a one-process TCP server (no fork per connection: the
 * client connects every 10 ms) bound to `bind` on {@link SVC_PORT} (the service address for hb;
 * 0.0.0.0 for keepalived, where the service runs on both nodes); records its starts and stops
 * in /var/log/svc.calls; see {@link SvcScriptOptions} for the rest.
 */
export function svcScript(bind: string, opts: SvcScriptOptions = {}): string {
  const failNext = opts.failNext
    ? `    if [ -f /var/log/svc.failnext ]; then
      rm -f /var/log/svc.failnext
      echo "$(now) start failed" >>/var/log/svc.calls
      echo "svc: cannot start" >&2
      exit 1
    fi
`
    : "";
  const checks = (opts.checks ?? true)
    ? `    echo "$(now) status" >>/var/log/svc.calls
    if [ -f /var/log/svc.hang ]; then
      n=$(cat /var/log/svc.hang)
      if [ "$n" -gt 0 ]; then echo $((n - 1)) >/var/log/svc.hang; sleep 31; fi
    fi
`
    : "";
  return `#!/bin/sh
pidfile=/run/svc.pid
now() { date +%s%3N; }
running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
case "$1" in
  start)
${failNext}    if ! running; then
      setsid python3 /etc/ha.d/svc_server.py ${bind} ${SVC_PORT} </dev/null >/dev/null 2>&1 &
      echo $! >"$pidfile"
    fi
    echo "$(now) start" >>/var/log/svc.calls
    exit 0;;
  stop)
    if running; then kill "$(cat "$pidfile")"; fi
    rm -f "$pidfile"
    echo "$(now) stop" >>/var/log/svc.calls
    exit 0;;
  status)
${checks}    if running; then echo running; else echo stopped; fi
    exit 0;;
esac
exit 1
`;
}

/** hb.cf of the service suite (tests/monitor_test.ts adds its notify lines). */
export const HB_MONITOR =
  "monitor svc interval=1s timeout=2s fall=2 on-fail=restart max-restarts=1\n";

/**
 * Writes the two-node configuration of the service on every node of `tb`: ha.cf (auto_failback
 * on, keepalive 200 ms, deadtime 3 s, warntime 2 s, initdead 6 s), authkeys (sha1 `secret`),
 * haresources `node1 <SVC_IP>/24/eth0 svc`, the `svc` script and its server. The caller adds
 * hb.cf (e.g. {@link HB_MONITOR}) and anything else.
 */
export async function writeServicePair(tb: Testbed, secret: string): Promise<void> {
  const names = tb.nodes.map((n) => n.name);
  for (const n of tb.nodes) {
    await n.writeHaCf(
      failoverHaCf(names, "on", { keepalive: "200ms", deadtime: 3, warntime: 2, initdead: 6 }),
    );
    await n.writeAuthkeys(authkeys("sha1", secret));
    await n.writeHaresources(`node1 ${SVC_IP}/24/eth0 svc\n`);
    await n.writeResourceScript("svc", svcScript(SVC_IP));
    await n.writeConfig("svc_server.py", SVC_SERVER);
  }
}

/** Kills the service process on `n` (SIGKILL); returns the time (ms since the epoch). */
export async function killService(n: TestNode): Promise<number> {
  const r = await n.exec(["sh", "-c", "kill -9 $(cat /run/svc.pid)"]);
  if (r.code !== 0) throw new Error(`kill of the service on ${n.name} failed: ${r.stderr}`);
  return Date.now();
}
