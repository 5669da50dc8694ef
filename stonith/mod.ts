/**
 * STONITH for the master: the {@link Fencer} (reset before takeover, retries, status
 * checks), the helper process entry, the built-in devices, and the meatware client.
 * See stonith/README.md for the device rules.
 *
 * @module
 */

export {
  type FenceOutcome,
  Fencer,
  type FencerDeviceConfig,
  type FencerOptions,
} from "./fencer.ts";
export { runHelperRequest, stonithHelperMain } from "./helper.ts";
export { type MeatclientIo, meatclientMain } from "./meatclient.ts";
export {
  availableStonithTypes,
  BUILTIN_DEVICE_IDS,
  BUILTIN_STONITH_TYPES,
  chooseBackend,
  findStonithCommand,
  isBuiltinType,
} from "./devices.ts";
export type {
  HelperLogRecord,
  HelperRequest,
  Priority,
  StonithBackend,
  StonithDeviceSpec,
  StonithLog,
  StonithResult,
} from "./types.ts";
