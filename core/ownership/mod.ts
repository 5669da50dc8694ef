/**
 * Resource ownership (haresources mode): the {@link Ownership} state machine,
 * its event/action types, pure rules and the test harness.
 *
 * @module
 */
export * from "./types.ts";
export * from "./rules.ts";
export * from "./ownership.ts";
