/**
 * The master runtime's test hooks (environment variables, unset in production) and small
 * helpers without state: event descriptions for log lines, resource-manager priorities.
 *
 * @module
 */

import type { NodeCoreEvent } from "../core/node_core.ts";

/**
 * Test hook: `HB_TEST_CORE_FAULT=[uncaught:]<event type>[:<message type>]` (e.g.
 * `message:hb-test-fault`, `tick`) makes the core "throw" on the first matching event, to
 * exercise the fail-safe path (`MasterRuntime.failSafe`) in a real node. With `uncaught:`
 * the event is handled normally and the error is thrown from a timer instead, where nothing
 * catches it: the daemon's global handler (master/daemon.ts) must. Unset in production.
 */
export const FAULT_ENV = "HB_TEST_CORE_FAULT";

/**
 * Test hook: `HB_TEST_STOP_STATUS=<message type>`: a message of that type written to the FIFO
 * makes the core stop sending its periodic status (`HbCore.stopOwnStatus`), which is how
 * a test drives `No local heartbeat`. Unset in production.
 */
export const STOP_STATUS_ENV = "HB_TEST_STOP_STATUS";

/** A parsed {@link FAULT_ENV} value. */
export interface FaultHook {
  uncaught: boolean;
  event: string;
  msgType?: string;
}

/** Parses a {@link FAULT_ENV} value (undefined: unset). */
export function parseFaultHook(text: string | undefined): FaultHook | undefined {
  if (text === undefined || text === "") return undefined;
  const uncaught = text.startsWith("uncaught:");
  const [event, msgType] = (uncaught ? text.slice("uncaught:".length) : text).split(":", 2);
  return msgType === undefined || msgType === ""
    ? { uncaught, event }
    : { uncaught, event, msgType };
}

/** True when `ev` is the event a {@link FaultHook} names. */
export function matchesFault(hook: FaultHook, ev: NodeCoreEvent): boolean {
  if (ev.type !== hook.event) return false;
  if (hook.msgType === undefined) return true;
  return (ev.type === "message" || ev.type === "originate") && ev.msg.type === hook.msgType;
}

/** An event's type, and its message type for messages (log text). */
export function describeEvent(ev: NodeCoreEvent): string {
  return ev.type === "message" || ev.type === "originate" ? `${ev.type} ${ev.msg.type}` : ev.type;
}

/** Logging priority of a resource-manager line (its priority words are Heartbeat's). */
export function scriptPrio(
  word: string,
): "emerg" | "alert" | "crit" | "error" | "warn" | "notice" | "info" | "debug" {
  switch (word) {
    case "EMERG":
    case "emerg":
      return "emerg";
    case "ALERT":
    case "alert":
      return "alert";
    case "CRIT":
    case "crit":
      return "crit";
    case "ERROR":
    case "error":
      return "error";
    case "WARN":
    case "warn":
      return "warn";
    case "notice":
      return "notice";
    case "debug":
      return "debug";
    default:
      return "info";
  }
}

/** Heartbeat's limit of a graceful shutdown before its EmergencyShutdown: 60 minutes. */
export const SHUTDOWN_LIMIT_MS = 60 * 60 * 1000;

/**
 * Test hook: `HB_TEST_SHUTDOWN_LIMIT_MS=<ms>` shortens {@link SHUTDOWN_LIMIT_MS}. Unset in
 * production.
 */
export const SHUTDOWN_LIMIT_ENV = "HB_TEST_SHUTDOWN_LIMIT_MS";

/** The limit of a graceful shutdown: {@link SHUTDOWN_LIMIT_ENV} when set, else the default. */
export function shutdownLimitMs(text: string | undefined): number {
  const v = Number(text);
  return Number.isFinite(v) && v > 0 ? v : SHUTDOWN_LIMIT_MS;
}
