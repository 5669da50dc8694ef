/**
 * `heartbeat status`: the running daemon's state over the API socket (as a casual client,
 * under apiauth, like `cl_status`), asked with hb's own request `hbstatus` (master/status.ts
 * builds the answer; real Heartbeat clients never send it, and the real daemon refuses it).
 *
 * - default: a human summary (this node, nodes with their implementation, links, groups,
 *   monitors, the last failovers with their timelines, configuration drift);
 * - `--json`: the document itself, schema `cli/status_schema.json` (`schema_version`);
 * - `--watch [INTERVAL]`: the summary redrawn in place every INTERVAL seconds (default 2),
 *   lines that changed since the last frame highlighted;
 * - `--nagios`: one line and the plugin exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
 *
 * @module
 */

import { ApiClient } from "../api/client.ts";
import { nodePaths } from "../config/paths.ts";
import { HB_STATUS_PARAM, type StatusDocument } from "../master/status.ts";
import { getegid, geteuid } from "../sys/libc.ts";

/** Exit codes of `heartbeat status` (documented in --help and the README). */
export const STATUS_EXIT = {
  /** Printed (default, --json); Nagios OK. */
  OK: 0,
  /** Nagios WARNING: a link, a peer or a ping node down, a monitor failing, configuration drift. */
  WARNING: 1,
  /** Nagios CRITICAL: a group unowned or failed, or this node not active. Usage error otherwise. */
  CRITICAL: 2,
  /** No daemon answered (not running, API not up yet, refused). Nagios UNKNOWN. */
  UNKNOWN: 3,
} as const;

const HELP = `Usage: heartbeat status [--json | --nagios | --watch [INTERVAL]] [--timeout MS]

Shows the state of the running daemon (over its API socket, like cl_status).

  (default)          a summary: this node, nodes (hb or Heartbeat, version), links (age
                     of the last packet, late/lost/retransmission counts), groups (owner,
                     state), monitors, the last failovers with their timelines, config drift
  --json             the same as one JSON document (schema cli/status_schema.json,
                     schema_version 1; times in ms)
  --watch [INTERVAL] redraw the summary every INTERVAL seconds (default 2); changed lines
                     are highlighted; stop with Ctrl-C
  --nagios           one line for Nagios/Icinga and the plugin's exit code
  --timeout MS       how long to wait for the daemon (default 5000)

Exit codes:
  0  printed (--nagios: OK)
  1  --nagios: WARNING (a link, peer or ping node down, a monitor failing, config drift)
  2  --nagios: CRITICAL (a group unowned or failed, or this node not active);
     otherwise: bad usage
  3  no daemon answered (--nagios: UNKNOWN)`;

/** Result of one query. */
export type StatusAnswer =
  | { ok: true; doc: StatusDocument }
  | { ok: false; reason: string };

/** Asks the daemon at `socket` for its status document. */
export async function queryStatus(socket: string, timeoutMs: number): Promise<StatusAnswer> {
  const hb = new ApiClient({
    pid: Deno.pid,
    uid: geteuid(),
    gid: getegid(),
    node: Deno.hostname().toLowerCase(),
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<StatusAnswer>((r) => {
    timer = setTimeout(
      () => r({ ok: false, reason: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  const ask = (async (): Promise<StatusAnswer> => {
    if (!(await hb.signon(socket))) {
      return { ok: false, reason: `cannot sign on at ${socket}: ${hb.errmsg || "refused"}` };
    }
    // the real Heartbeat logs an unknown request as an error: ask first whether it is hb
    const schema = await hb.parameter(HB_STATUS_PARAM);
    if (schema === undefined) {
      await hb.signoff();
      return { ok: false, reason: "the daemon does not answer hbstatus (the real Heartbeat?)" };
    }
    const resp = await hb.call("hbstatus");
    await hb.signoff();
    if (resp === undefined) return { ok: false, reason: "the daemon closed the connection" };
    const text = resp.get("status");
    if (resp.get("result") !== "OK" || text === undefined) {
      return { ok: false, reason: "the daemon refused hbstatus" };
    }
    try {
      return { ok: true, doc: JSON.parse(text) as StatusDocument };
    } catch (e) {
      return { ok: false, reason: `unreadable answer: ${e instanceof Error ? e.message : e}` };
    }
  })();
  try {
    return await Promise.race([ask, timeout]);
  } finally {
    clearTimeout(timer);
    hb.close();
  }
}

/** A duration in ms as `850 ms`, `12.3 s`, `4m 05s`, `2h 03m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) {
    return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
  }
  return `${Math.floor(s / 86400)}d ${String(Math.floor(s / 3600) % 24).padStart(2, "0")}h`;
}

function table(rows: string[][]): string[] {
  const w: number[] = [];
  for (const r of rows) r.forEach((c, i) => w[i] = Math.max(w[i] ?? 0, c.length));
  return rows.map((r) =>
    "  " + r.map((c, i) => i === r.length - 1 ? c : c.padEnd(w[i])).join("  ")
  );
}

/** The human summary, one string per line. */
export function formatText(doc: StatusDocument): string[] {
  const out: string[] = [];
  const me = doc.node;
  out.push(
    `${me.name}: ${me.status}, resources ${me.resources}, up ${formatDuration(me.uptime_ms)} ` +
      `(hb ${doc.implementation.version}, Heartbeat ${doc.implementation.heartbeat_version} protocol)`,
  );
  out.push("Nodes:");
  out.push(...table(doc.nodes.map((n) => [
    n.name,
    n.type,
    n.status,
    n.implementation === "hb"
      ? `hb ${n.version ?? "?"}${n.name === me.name ? " (this node)" : ""}`
      : n.implementation === "heartbeat"
      ? "Heartbeat"
      : n.implementation === "ping"
      ? "ping node"
      : "not heard yet",
  ])));
  out.push("Links:");
  if (doc.links.length === 0) out.push("  (none)");
  const byNode = new Map(doc.nodes.map((n) => [n.name, n]));
  out.push(...table(doc.links.map((l) => {
    const n = byNode.get(l.node);
    const counts = n === undefined || n.type === "ping"
      ? ""
      : `late ${n.late_heartbeats}, lost ${n.lost_packets}, rexmit asked ${n.retransmits_requested}`;
    return [
      `${l.node} ${l.link}`,
      l.status,
      l.last_packet_age_ms === null
        ? "no packet yet"
        : `last ${formatDuration(l.last_packet_age_ms)} ago`,
      counts,
    ];
  })));
  out.push("Groups:");
  if (doc.groups.length === 0) out.push("  (none)");
  out.push(...table(doc.groups.map((g) => [
    g.group,
    g.state,
    g.owner === null ? "no owner" : `on ${g.owner}`,
    `(preferred ${g.preferred_node})`,
  ])));
  out.push("Monitors:");
  if (doc.monitors.length === 0) out.push("  (none configured)");
  out.push(...table(doc.monitors.map((m) => [
    m.name,
    m.state,
    m.group ?? "",
    `failures ${m.failures}`,
  ])));
  out.push("Last failovers:");
  if (doc.failovers.length === 0) out.push("  (none)");
  for (const f of doc.failovers) {
    const parts = [`${f.node} declared dead ${new Date(f.dead_at_ms).toISOString()}`];
    if (f.silence_ms !== null) parts.push(`after ${f.silence_ms} ms of silence`);
    out.push(`  ${parts.join(" ")}`);
    if (f.fence_done_after_ms !== null) {
      out.push(`    +${f.fence_done_after_ms} ms  fenced (${f.fence_result})`);
    }
    for (const g of f.groups) {
      const total = f.silence_ms !== null && g.done_after_ms !== null
        ? `, ${f.silence_ms + g.done_after_ms} ms since its last heartbeat`
        : "";
      out.push(
        g.done_after_ms === null
          ? `    +${g.take_started_after_ms} ms  ${g.group} starting`
          : `    +${g.done_after_ms} ms  ${g.group} ${g.result} (take began +${g.take_started_after_ms} ms${total})`,
      );
    }
    if (f.completed_after_ms !== null) out.push(`    failover took ${f.completed_after_ms} ms`);
    if (f.heard_again_after_ms !== null) {
      out.push(`    +${f.heard_again_after_ms} ms  ${f.node} heard again`);
    }
  }
  if (doc.drift.length > 0) {
    out.push("Config drift:");
    for (const d of doc.drift) {
      const what = d.parts.map((p) => {
        const k = p as keyof typeof d.ours;
        return `${p} (ours ${d.ours[k]}, theirs ${d.theirs[k]})`;
      });
      out.push(`  WARNING: ${d.node} differs in ${what.join(", ")}`);
    }
  }
  return out;
}

/** The Nagios verdict: exit code and the one line. */
export function nagios(doc: StatusDocument): { code: number; line: string } {
  const crit: string[] = [];
  const warn: string[] = [];
  if (doc.node.status !== "active") crit.push(`this node is ${doc.node.status}`);
  for (const g of doc.groups) {
    if (g.state === "unowned" || g.state === "failed") crit.push(`group ${g.group} ${g.state}`);
  }
  for (const n of doc.nodes) {
    if (n.name === doc.node.name) continue;
    if (n.status === "dead" || n.status === "init") warn.push(`node ${n.name} ${n.status}`);
  }
  const deadNodes = new Set(doc.nodes.filter((n) => n.status === "dead").map((n) => n.name));
  for (const l of doc.links) {
    if (l.status !== "up" && !deadNodes.has(l.node)) warn.push(`link ${l.node} ${l.link} down`);
  }
  for (const m of doc.monitors) if (m.state === "failing") warn.push(`monitor ${m.name} failing`);
  for (const d of doc.drift) warn.push(`config drift with ${d.node} (${d.parts.join(",")})`);
  const normal = doc.nodes.filter((n) => n.type === "normal");
  const upNodes = normal.filter((n) => n.status === "up" || n.status === "active").length;
  const upLinks = doc.links.filter((l) => l.status === "up").length;
  const owned = doc.groups.filter((g) => g.owner !== null).length;
  const summary = `${doc.node.name} ${doc.node.status}, ${upNodes}/${normal.length} nodes up, ` +
    `${upLinks}/${doc.links.length} links up, ${owned}/${doc.groups.length} groups owned`;
  const perf =
    `| nodes_up=${upNodes};;;0;${normal.length} links_up=${upLinks};;;0;${doc.links.length} ` +
    `groups_owned=${owned};;;0;${doc.groups.length}`;
  if (crit.length > 0) {
    return {
      code: STATUS_EXIT.CRITICAL,
      line: `HB CRITICAL - ${[...crit, ...warn].join("; ")}; ${summary} ${perf}`,
    };
  }
  if (warn.length > 0) {
    return {
      code: STATUS_EXIT.WARNING,
      line: `HB WARNING - ${warn.join("; ")}; ${summary} ${perf}`,
    };
  }
  return { code: STATUS_EXIT.OK, line: `HB OK - ${summary} ${perf}` };
}

function write(text: string): void {
  const b = new TextEncoder().encode(text);
  let off = 0;
  while (off < b.length) off += Deno.stdout.writeSync(b.subarray(off));
}

/** Options (tests). */
export interface StatusOptions {
  /** API socket (default `nodePaths().apiSocket`). */
  socketPath?: string;
}

/** Entry of `heartbeat status`; returns the exit code. */
export async function statusMain(args: string[], opts: StatusOptions = {}): Promise<number> {
  let mode: "text" | "json" | "nagios" | "watch" = "text";
  let intervalS = 2;
  let timeoutMs = 5000;
  const usage = (why: string) => {
    console.error(`heartbeat status: ${why}\n\n${HELP}`);
    return mode === "nagios" ? STATUS_EXIT.UNKNOWN : STATUS_EXIT.CRITICAL;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--help" || a === "-h") {
      console.log(HELP);
      return STATUS_EXIT.OK;
    } else if (a === "--json" && mode === "text") mode = "json";
    else if (a === "--nagios" && mode === "text") mode = "nagios";
    else if (a === "--watch" && mode === "text") {
      mode = "watch";
      const next = args[i + 1];
      if (next !== undefined && /^\d+(\.\d+)?$/.test(next)) {
        intervalS = Number(next);
        i++;
        if (intervalS < 0.1) return usage(`--watch ${next}: the interval must be at least 0.1 s`);
      }
    } else if (a === "--timeout") {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v <= 0) {
        return usage(`--timeout ${args[i] ?? ""}: expected a positive number of ms`);
      }
      timeoutMs = v;
    } else if (a === "--json" || a === "--nagios" || a === "--watch") {
      return usage(`${a}: only one of --json, --nagios, --watch`);
    } else return usage(`unknown argument ${a}`);
  }
  const socket = opts.socketPath ?? nodePaths().apiSocket;
  if (mode === "watch") return await watch(socket, intervalS, timeoutMs);
  const r = await queryStatus(socket, timeoutMs);
  if (!r.ok) {
    if (mode === "nagios") write(`HB UNKNOWN - ${r.reason}\n`);
    else console.error(`heartbeat status: ${r.reason}`);
    return STATUS_EXIT.UNKNOWN;
  }
  switch (mode) {
    case "json":
      write(JSON.stringify(r.doc, null, 2) + "\n");
      return STATUS_EXIT.OK;
    case "nagios": {
      const v = nagios(r.doc);
      write(v.line + "\n");
      return v.code;
    }
    default:
      write(formatText(r.doc).join("\n") + "\n");
      return STATUS_EXIT.OK;
  }
}

/** `--watch`: redraws in place until interrupted; changed lines in reverse video. */
async function watch(socket: string, intervalS: number, timeoutMs: number): Promise<number> {
  let stop = false;
  let wake: (() => void) | undefined;
  const onInt = () => {
    stop = true;
    wake?.();
  };
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onInt);
  let previous: string[] = [];
  write("\x1b[2J");
  try {
    while (!stop) {
      const r = await queryStatus(socket, timeoutMs);
      const head = `heartbeat status --watch ${intervalS} s — ${new Date().toISOString()}`;
      const lines = r.ok ? formatText(r.doc) : [`no daemon: ${r.reason}`];
      const shown = lines.map((l, i) =>
        previous.length > 0 && previous[i] !== l ? `\x1b[7m${l}\x1b[0m` : l
      );
      // home, draw, clear what is left of the last frame (no flicker)
      write(`\x1b[H${head}\x1b[K\n${shown.map((l) => l + "\x1b[K").join("\n")}\n\x1b[J`);
      previous = lines;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((res) => {
        wake = res;
        timer = setTimeout(res, intervalS * 1000);
      });
      clearTimeout(timer);
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onInt);
  }
  write("\n");
  return STATUS_EXIT.OK;
}
