/**
 * `heartbeat resource failures [--json]` and `heartbeat resource cleanup [RESOURCE]`: the
 * monitors' failure counts and states of the running daemon, and their operator cleanup
 * (hb.cf `monitor`, core/monitor.ts). Talks to the daemon over its API socket as a casual
 * client (authorized by ha.cf's `apiauth anon`, by default root and group haclient) with
 * hb's own request types (`hb-rscfailures`, `hb-rsccleanup`), which Heartbeat 3.0.6 refuses.
 *
 * @module
 */

import { ApiClient } from "../api/client.ts";
import { HB_RSC_CLEANUP, HB_RSC_FAILURES } from "../api/protocol.ts";
import { getegid, geteuid } from "../sys/libc.ts";
import { nodePaths } from "../config/paths.ts";
import type { MonitorState } from "../core/monitor.ts";

const HELP = `Usage: heartbeat resource failures [--json]
       heartbeat resource cleanup [RESOURCE]

failures   the running daemon's monitors (hb.cf "monitor" lines): state, consecutive
           failures, failed checks, restarts within the window, the last failure
cleanup    forget the failure counts, restart history and failback hold of RESOURCE
           (as written in haresources; every monitor when omitted)

Talks to the daemon over its API socket (apiauth anon: root or group haclient).
Exit status: 0 done, 1 refused or unknown resource, 2 bad usage, 3 no daemon.`;

/**
 * One monitor's state as the daemon sends it: the core's {@link MonitorState}, with the hold-back
 * after an escalation as milliseconds from now.
 */
type Row = Omit<MonitorState, "heldBackUntil"> & { heldBackMs?: number };

/** Renders the failures table. */
export function failuresTable(node: string, rows: readonly Row[]): string {
  if (rows.length === 0) return `${node}: no monitor configured (hb.cf)`;
  const head = [
    "RESOURCE",
    "GROUP",
    "STATE",
    "FAIL-NOW",
    "FAILED",
    "CHECKS",
    "RESTARTS(WINDOW)",
    "LAST FAILURE",
  ];
  const body = rows.map((r) => [
    r.resource,
    r.group,
    r.state +
    (r.heldBackMs !== undefined ? ` (no failback ${Math.ceil(r.heldBackMs / 1000)} s)` : ""),
    String(r.consecutiveFailures),
    String(r.failures),
    String(r.checks),
    `${r.restarts} (${r.restartsInWindow})`,
    r.lastFailure ?? "-",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [`monitors of ${node}:`, line(head), ...body.map(line)].join("\n");
}

/** Entry of `heartbeat resource …`; returns the exit code. */
export async function resourceMain(args: string[], socketPath?: string): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    console.log(HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== "failures" && sub !== "cleanup") {
    console.error(`heartbeat resource: unknown command '${sub}'\n\n${HELP}`);
    return 2;
  }
  const json = sub === "failures" && rest[0] === "--json";
  if (
    (sub === "failures" && rest.length > (json ? 1 : 0)) || (sub === "cleanup" && rest.length > 1)
  ) {
    console.error(`heartbeat resource ${sub}: too many arguments\n\n${HELP}`);
    return 2;
  }
  const hb = new ApiClient({
    pid: Deno.pid,
    uid: geteuid(),
    gid: getegid(),
    node: Deno.hostname().toLowerCase(),
  });
  const path = socketPath ?? nodePaths().apiSocket;
  if (!(await hb.signon(path))) {
    console.error(`heartbeat resource: cannot sign on to the daemon at ${path}: ${hb.errmsg}`);
    hb.close();
    return 3;
  }
  try {
    const r = sub === "failures"
      ? await hb.call(HB_RSC_FAILURES)
      : await hb.call(HB_RSC_CLEANUP, rest[0] !== undefined ? [["resource", rest[0]]] : []);
    if (r === undefined) {
      console.error("heartbeat resource: the daemon closed the connection");
      return 3;
    }
    if (r.get("result") !== "OK") {
      const info = r.get("info") ?? "refused";
      console.error(
        `heartbeat resource ${sub}: ${
          info === "" ? "refused (a daemon without monitor support?)" : info
        }`,
      );
      return 1;
    }
    if (sub === "failures") {
      const text = r.get("failures") ?? "{}";
      if (json) console.log(text);
      else {
        const d = JSON.parse(text) as { node: string; states: Row[] };
        console.log(failuresTable(d.node, d.states));
      }
    } else {
      const cleared = JSON.parse(r.get("cleared") ?? "[]") as string[];
      console.log(`cleared: ${cleared.join(" ")}`);
    }
    return 0;
  } finally {
    await hb.signoff();
  }
}
