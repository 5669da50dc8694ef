/**
 * The configuration's result types shared with the rest of hb: what `ha.cf` declares
 * (nodes, API authorisations, client children, the STONITH device, the parsed state), the
 * `OnlyForTesting` loss options and a monitor's policy. Importers take them from here, not
 * from the parser files; this module imports only other types of `config/`.
 *
 * @module
 */
import type { Medium } from "./media.ts";

/** The wire format of `msgfmt`. */
export type MsgFmt = "classic" | "netstring";

/** A declared cluster member or ping pseudo-node. */
export interface NodeDecl {
  /** Lower-cased node name. */
  name: string;
  /** `normal` for `node`, `ping` for ping / ping_group pseudo-nodes. */
  type: "normal" | "ping";
}

/** One `apiauth` entry. */
export interface ApiAuthEntry {
  /** API client name. */
  client: string;
  /** Allowed uids (resolved), or undefined when no uid list. */
  uids?: number[];
  /** Allowed gids (resolved), or undefined when no gid list. */
  gids?: number[];
  /** True for Heartbeat's built-in entries added after the file. */
  builtin: boolean;
}

/** A `respawn` / `failfast` client. */
export interface ClientChild {
  /** User to run as. */
  user: string;
  /** Its uid. */
  uid: number;
  /** Its primary gid. */
  gid: number;
  /** Whole command (run as `/bin/sh -c "exec <command>"`). */
  command: string;
  /** First word of the command (must be executable). */
  path: string;
  /** `failfast` (reboot if it dies) rather than `respawn`. */
  failfast: boolean;
}

/** The STONITH device applicable to this node (the last applicable line wins). */
export interface StonithConfig {
  /** Which directive declared it. */
  directive: "stonith" | "stonith_host";
  /** Plugin type (`null`, `ssh`, `external/ipmi`, …). */
  type: string;
  /** For `stonith`: the config file. */
  configFile?: string;
  /** For `stonith_host`: the plugin parameters, white-space separated. */
  params?: string[];
  /** For `stonith_host`: the host field (`*` or a node name, lower-cased). */
  host?: string;
}

/** Pacemaker directive value, decoded. */
export type PacemakerMode = "off" | "on" | "minimal" | "respawn" | "valgrind" | "ccm-only";

/** Everything heartbeat's `sys_config` holds after ha.cf (before or after defaults). */
export interface HaCfState {
  /** Recorded parameters in recording order: exactly the strings `HA_<name>` gets. */
  params: Map<string, string>;
  /** Keepalive in ms. */
  keepaliveMs: number;
  /** Deadtime in ms. */
  deadtimeMs: number;
  /** Warntime in ms (0 = not set). */
  warntimeMs: number;
  /** Initdead in ms (-1 = not set). */
  initdeadMs: number;
  /** Deadping in ms (-1 = not set). */
  deadpingMs: number;
  /** Hop fudge. */
  hopfudge: number;
  /** Nodes and ping nodes, in declaration order (duplicates kept). */
  nodes: NodeDecl[];
  /** Media in declaration order. */
  media: Medium[];
  /** Log facility value (-1 = not given; 0 = none/kern = no syslog). */
  logFacility: number;
  /** Log facility name as given. */
  logFacilityName?: string;
  /** Log file ("" = not given). */
  logfile: string;
  /** Debug file ("" = not given). */
  debugfile: string;
  /** Nice-failback mode (auto_failback on/off). */
  niceFailback: boolean;
  /** auto_failback value when in nice-failback mode. */
  autoFailbackOn: boolean;
  /** Watchdog device. */
  watchdog?: string;
  /** Debug level. */
  debugLevel: number;
  /** Realtime priority, if given. */
  rtprio?: number;
  /** Generation method. */
  hbgenmethod: "file" | "time";
  /** Realtime on/off. */
  realtime: boolean;
  /** Wire format. */
  msgfmt: MsgFmt;
  /** use_logd as given (undefined = not given). */
  useLogd?: boolean;
  /** conn_logd_time in ms. */
  connLogdTimeMs: number;
  /** log_badpack. */
  logBadpack: boolean;
  /** syslogmsgfmt. */
  syslogmsgfmt: boolean;
  /** coredumps. */
  coredumps: boolean;
  /** use_apphbd. */
  useApphbd: boolean;
  /** autojoin. */
  autojoin: "none" | "other" | "any";
  /** uuidfrom. */
  uuidfrom: "file" | "nodename";
  /** Compression module. */
  compression: string;
  /** Compression threshold (KB). */
  compressionThresholdKb: number;
  /** traditional_compression. */
  traditionalCompression: boolean;
  /** max_rexmit_delay (ms). */
  maxRexmitDelayMs: number;
  /** memreserve (KB). */
  memreserveKb: number;
  /** Cluster name. */
  cluster: string;
  /** Environment set by `env` directives (`HA_` prefixed names). */
  env: Record<string, string>;
  /** API authorisations by client name, in insertion order. */
  apiauth: Map<string, ApiAuthEntry>;
  /** respawn / failfast clients in file order. */
  clients: ClientChild[];
  /** Applicable STONITH device. */
  stonith?: StonithConfig;
  /** Pacemaker mode. */
  pacemaker: PacemakerMode;
  /** Resource management (haresources) enabled. */
  manageResources: boolean;
  /** Line of the last occurrence of each directive (for explanations of later checks). */
  directiveLines: Map<string, number>;
  /** Number of errors counted by the parser. */
  errors: number;
  /** A whole-line medium was accepted without a medium: the real daemon segfaults. */
  crashes: boolean;
}

/** What a monitor does after `fall` consecutive failures. */
export type OnFail = "restart" | "standby" | "ignore";

/** A monitor's timing and failure policy (the keys of a `monitor` line; core/monitor.ts too). */
export interface MonitorPolicy {
  /** Interval between the end of a check and the next one, ms (default 5000). */
  intervalMs: number;
  /** Time limit of one check, ms (default 20000); past it the check fails and is killed. */
  timeoutMs: number;
  /** Consecutive failures that make the resource failed (default 3). */
  fall: number;
  /** Consecutive successes that clear a failed state (default 1). */
  rise: number;
  /** Delay of the first check after the group started, ms (default 0). */
  startDelayMs: number;
  /** What to do once failed (default restart). */
  onFail: OnFail;
  /** Restarts allowed within {@link restartWindowMs}; one more escalates to standby (default 3). */
  maxRestarts: number;
  /** Window of the restart count, ms (default 10 min). */
  restartWindowMs: number;
}

/** The options in force (Heartbeat's `struct TestParms`). */
export interface TestLossOptions {
  /** `xmitloss=` (absent: no loss on sending). The C `float` value. */
  xmitloss?: number;
  /** `rcvloss=` (absent: no loss on receiving). The C `float` value. */
  rcvloss?: number;
  /** `allownodes=` as written (`""` when absent), at most 511 characters. */
  allownodes: string;
}
