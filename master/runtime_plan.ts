/**
 * What the master runtime (master/runtime.ts) is built from: the plan derived from the
 * configuration (master/plan.ts) and its log function.
 *
 * @module
 */

import type { CoreConfig, Priority } from "../core/types.ts";
import type { HbIdentity, ResourceConfig } from "../core/node_core.ts";
import type { ResourceGroup as RmGroup } from "../resources/types.ts";
import type { StonithConfig } from "../config/types.ts";
import type { AuthKeys, MsgFmt } from "../wire/auth.ts";
import type { MediumSpec } from "../workers/media_spec.ts";
import type { RealtimeSetupConfig } from "../sys/realtime_setup.ts";
import type { RespawnClient } from "./respawn.ts";
import type { ApiBackendConfig } from "./api_backend.ts";

/** Logging as the runtime needs it. */
export type RuntimeLog = (
  prio: Priority,
  text: string,
  opts?: { pid?: number; glib?: boolean },
) => void;

/** Everything the runtime needs, derived from the configuration. */
export interface RuntimePlan {
  /** Core configuration (node name, timers, nodes, links, generation, uuid). */
  core: CoreConfig;
  /** Media in ha.cf order. */
  media: MediumSpec[];
  /** Authentication keys. */
  keys: AuthKeys;
  /** `msgfmt`. */
  msgfmt: MsgFmt;
  /** Path of the FIFO. */
  fifo: string;
  /** Environment for workers. */
  env?: Record<string, string>;
  /** `respawn` / `failfast` clients, started at comm-up. */
  clients?: readonly RespawnClient[];
  /** The client API socket and what its backend needs (no API when absent). */
  api?: { socket: string; backend: ApiBackendConfig };
  /** hb's fields in our heartbeats and the peers' comparison (core/drift.ts). */
  identity?: HbIdentity;
  /** haresources management (absent with `-M`). */
  resources?: ResourceConfig & { rmGroups: RmGroup[]; resourceDir: string };
  /** The STONITH device, if one applies to this node. */
  stonith?: StonithConfig;
  /** `watchdog <device>`: opened when the main loop starts, fed with each status we send. */
  watchdog?: string;
  /** `realtime` / `rtprio` / `memreserve`, applied to the master and handed to the workers. */
  realtime?: RealtimeSetupConfig;
  /** hb.cf `notify` programs (master/notify.ts). */
  notify?: readonly string[];
}
