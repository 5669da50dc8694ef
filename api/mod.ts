/**
 * hb's local client API (Heartbeat's `/run/heartbeat/register`): the server the master runs
 * (`ApiServer` over an `ApiBackend`), the protocol engine, IPC framing, apiauth, and the client
 * side used by `cl_status`.
 *
 * @module
 */

export * from "./apiauth.ts";
export * from "./backend.ts";
export * from "./client.ts";
export * from "./ipc_frame.ts";
export * from "./protocol.ts";
export * from "./server.ts";
