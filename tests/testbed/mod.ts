/**
 * Network-namespace testbed: runs clusters of real Heartbeat 3.0.6 and/or hb nodes on one
 * machine, with link faults, packet loss, hard kills and freezes. See `README.md` beside this
 * file.
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
} from "./testbed.ts";
export { type ExecOptions, type Impl, type NodeLink, type StartOptions, TestNode } from "./node.ts";
export {
  authkeys,
  haCf,
  type HaCfValue,
  hbCommand,
  REAL_CL_STATUS,
  REAL_HEARTBEAT,
  REAL_SHARE_DIR,
  SYSTEM_HA_DIR,
} from "./heartbeat_files.ts";
export { CommandError, run, type RunResult, waitFor } from "./sys.ts";
export {
  assertHealthy,
  errorLines,
  EXPECTED_ERRORS,
  type HealthOptions,
  healthProblems,
  PACKET_LOSS,
  WORKER_DEATH,
} from "./health.ts";
