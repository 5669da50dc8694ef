/**
 * Resource ownership (haresources mode): the {@link Ownership} state machine,
 * its event/action types and pure rules (whole clusters run in `core/sim/`).
 *
 * @module
 */
export * from "./types.ts";
export * from "./rules.ts";
export * from "./ownership.ts";
