/**
 * The resource manager: hb's equivalent of Heartbeat's ResourceManager script (group
 * acquisition/release, status, key listings), its serialising queue, and the registry of
 * built-in agents.
 *
 * @module
 */
export * from "./types.ts";
export * from "./spec.ts";
export * from "./script_exec.ts";
export * from "./manager.ts";
export * from "./queue.ts";
export * from "./builtin.ts";
