/**
 * Heartbeat's log priority words, the one priority type of the core, the configuration
 * diagnostics, STONITH and the master (a module of its own, importing nothing, so every layer
 * can use it).
 *
 * @module
 */

/** Heartbeat's log priority words. */
export type Priority = "EMERG" | "ALERT" | "CRIT" | "ERROR" | "WARN" | "notice" | "info" | "debug";
