/**
 * Paths of the real Heartbeat 3.0.6 installation, the command that runs hb on a lab node, and
 * helpers that render configuration files (`ha.cf`, `authkeys`).
 *
 * @module
 */

import { selfCommand } from "../sys/self_exec.ts";

/** The real daemon (Debian package `heartbeat`). */
export const REAL_HEARTBEAT = "/usr/libexec/heartbeat/heartbeat";
/** The real `cl_status` client. */
export const REAL_CL_STATUS = "/usr/bin/cl_status";
/** Directory of the real helper scripts (`ResourceManager`, `hb_standby`, …). */
export const REAL_SHARE_DIR = "/usr/share/heartbeat";
/** The installed configuration directory whose scripts (harc, rc.d, resource.d, shellfuncs)
 * are copied into every node's private config directory. */
export const SYSTEM_HA_DIR = "/etc/ha.d";
/** Files of {@link SYSTEM_HA_DIR} that are node configuration, never copied from the host. */
export const NODE_CONFIG_FILES = ["ha.cf", "authkeys", "haresources"];

/**
 * The command that runs hb (the program, before the personality and its arguments).
 *
 * Taken from the environment variable `HB_CMD` when set: either a JSON array of strings
 * (`["/usr/local/bin/hb"]`) or a whitespace-separated command line. Otherwise this same program,
 * as hb starts its own workers (`sys/self_exec.ts` `selfCommand`): from a checkout
 * `[<this deno>, "run", "-A", "--quiet", "--v8-flags=…", "<repo>/main.ts"]` (`--quiet`: Deno's
 * own diagnostics, such as a cold cache's downloads, stay out of the outputs tests compare); in a
 * binary built by `deno compile`, the binary itself; installed by the package, its launcher.
 */
export function hbCommand(): string[] {
  const env = Deno.env.get("HB_CMD");
  if (env && env.trim()) {
    const t = env.trim();
    if (t.startsWith("[")) {
      const parsed = JSON.parse(t);
      if (!Array.isArray(parsed) || parsed.some((x) => typeof x !== "string") || !parsed.length) {
        throw new Error(`HB_CMD: expected a JSON array of strings, got ${t}`);
      }
      return parsed;
    }
    return t.split(/\s+/);
  }
  // `heartbeat demo` of a compiled or installed hb runs its nodes with itself
  return selfCommand([]);
}

/** A value of an `ha.cf` directive: one line per array element. */
export type HaCfValue = string | number | Array<string | number>;

/**
 * Renders `ha.cf` text from directives in insertion order. An array value produces one line
 * per element (`{ node: ["node1", "node2"] }` → two `node` lines); `undefined` values are
 * skipped.
 *
 * @example haCf({ keepalive: "200ms", deadtime: 1, bcast: "eth0", node: ["node1", "node2"] })
 */
export function haCf(directives: Record<string, HaCfValue | undefined>): string {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(directives)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${key} ${v}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * Renders an `authkeys` file with a single key (index 1).
 *
 * @param method `crc` (no secret), `md5` or `sha1`
 * @param secret the key for md5/sha1 (default `testbed-secret`)
 */
export function authkeys(
  method: "crc" | "md5" | "sha1" = "crc",
  secret = "testbed-secret",
): string {
  return method === "crc" ? "auth 1\n1 crc\n" : `auth 1\n1 ${method} ${secret}\n`;
}

/** ha.cf of the failover tests (short timers, bcast on eth0). */
export function failoverHaCf(
  nodes: readonly string[],
  autoFailback: "on" | "off" | "legacy",
  extra: Record<string, string | number> = {},
): string {
  return haCf({
    logfile: "/var/log/ha-log",
    logfacility: "none",
    keepalive: "100ms",
    deadtime: "500ms",
    warntime: "300ms",
    initdead: 1,
    udpport: 694,
    bcast: "eth0",
    auto_failback: autoFailback === "legacy" ? undefined : autoFailback,
    realtime: "off",
    node: [...nodes],
    ...extra,
  });
}

/** The service's server (`/etc/ha.d/svc_server.py ADDRESS PORT`): answers `ok` and closes
 * (the service of the chaos campaign, the bench's service suite and the monitor tests). */
export const SVC_SERVER = `import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(128)
while True:
    c, _ = s.accept()
    try:
        c.sendall(b"ok\\n")
    except OSError:
        pass
    c.close()
`;

/** Heartbeat timers of one configuration. */
export interface Timing {
  /** `keepalive` in milliseconds. */
  keepaliveMs: number;
  /** `deadtime` in milliseconds. */
  deadtimeMs: number;
}

/** An `ha.cf` time value: whole seconds as a plain number, anything else with `ms`. */
function haTime(ms: number): string {
  return ms % 1000 === 0 ? String(ms / 1000) : `${ms}ms`;
}

/** Which IPaddr agent hb nodes use in the benchmark and the campaign (`HB_BENCH_IPADDR`, default builtin). */
export function hbIpaddr(): "builtin" | "script" {
  return Deno.env.get("HB_BENCH_IPADDR") === "script" ? "script" : "builtin";
}

/** The `ha.cf` of the benchmark and the chaos campaign (hb and Heartbeat 3.0.6 get the same). */
export function benchHaCf(
  nodes: string[],
  timing: Timing,
  media: number,
  realtime: boolean,
): string {
  const initdeadS = Math.max(1, Math.ceil((2 * timing.deadtimeMs) / 1000));
  return haCf({
    logfile: "/var/log/ha-log",
    logfacility: "none",
    keepalive: haTime(timing.keepaliveMs),
    deadtime: haTime(timing.deadtimeMs),
    initdead: initdeadS,
    udpport: 694,
    bcast: Array.from({ length: media }, (_, k) => `eth${k}`),
    auto_failback: "off",
    realtime: realtime ? "on" : "off",
    crm: "off",
    node: nodes,
  });
}
