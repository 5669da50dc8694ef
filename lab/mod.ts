/**
 * The lab: clusters of real hb and/or Heartbeat 3.0.6 nodes on one machine, each node in its
 * own network, UTS, mount and pid namespaces, joined by bridges, with link faults, packet loss,
 * hard kills and freezes. `heartbeat demo`, `deno task bench`, `deno task chaos` and the
 * integration tests all build their clusters with it. See `README.md` beside this file.
 *
 * Needs root, or root of a user namespace: {@link userNamespaceCommand} runs a command there
 * where the kernel allows unprivileged user namespaces. {@link missingTools} and
 * {@link missingToolsMessage} say which programs (and Debian packages) are missing.
 *
 * @example
 * ```ts
 * await using tb = await Testbed.create({ nodes: ["node1", "node2"], links: 1 });
 * for (const n of tb.nodes) {
 *   await n.writeHaCf(haCf({ keepalive: "200ms", deadtime: 1, bcast: "eth0", node: ["node1", "node2"] }));
 *   await n.writeAuthkeys(authkeys("crc"));
 *   await n.writeHaresources("");
 *   await n.start({ impl: "heartbeat" });
 * }
 * ```
 *
 * @module
 */

export {
  type Capture,
  cleanupStale,
  processesInPidNamespace,
  Testbed,
  type TestbedOptions,
  TestClient,
} from "./cluster.ts";
export {
  type ExecOptions,
  type Impl,
  ISOLATION_FLAGS,
  type NodeLink,
  type StartOptions,
  TestNode,
} from "./node.ts";
export {
  authkeys,
  benchHaCf,
  failoverHaCf,
  haCf,
  type HaCfValue,
  hbCommand,
  hbIpaddr,
  REAL_CL_STATUS,
  REAL_HEARTBEAT,
  REAL_SHARE_DIR,
  SVC_SERVER,
  SYSTEM_HA_DIR,
  type Timing,
} from "./heartbeat_files.ts";
export { forgetTestbed, installGuard, killChildren, trackChild, trackTestbed } from "./guard.ts";
export { Pinger, type Reply, ReplyFeed, spawnInClient } from "./probe.ts";
export { fmt, ratio, summarize, table } from "./stats.ts";
export { ServiceProbe } from "./service_probe.ts";
export { AddressWatch } from "./address_watch.ts";
export {
  HB_MONITOR,
  killService,
  SVC_IP,
  SVC_PORT,
  svcScript,
  writeServicePair,
} from "./service.ts";
export { CommandError, inNetnsTied, run, type RunResult, sleep, tied, waitFor } from "./sys.ts";
export {
  assertHealthy,
  errorLines,
  EXPECTED_ERRORS,
  type HealthOptions,
  healthProblems,
  PACKET_LOSS,
  PROCESS_CRASH,
  WORKER_DEATH,
} from "./health.ts";
export {
  aptInstall,
  CAPTURE_TOOLS,
  installCommand,
  inUserNamespace,
  LAB_TOOLS,
  LOSS_TOOLS,
  type MissingTool,
  missingTools,
  missingToolsMessage,
  packagesOf,
  requireTools,
  type ToolTable,
  userNamespaceCommand,
  type UserNamespaceSupport,
  userNamespaceSupport,
} from "./prerequisites.ts";
