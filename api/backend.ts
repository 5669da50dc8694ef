/**
 * What the API server needs from the daemon. The master implements {@link ApiBackend} over its
 * core state; `tests/support/fake_api_backend.ts` implements it for tests.
 *
 * Every method is called synchronously from the server's event handling and must not block.
 * Messages travel the other way through `ApiServer.deliver()` (node/link status changes, cluster
 * messages addressed to clients, answers to client-status queries).
 *
 * @module
 */

import type { ApiAuthEntry } from "../config/types.ts";
import type { WireFormat } from "../wire/codec.ts";
import type { Message } from "../wire/message.ts";

/** Kind of node as the API reports it (`nodetype=`). */
export type ApiNodeType = "normal" | "ping" | "unknown";

/** One configured node, as `nodelist` / `nodestatus` / … report it. */
export interface ApiNodeInfo {
  /** Node name (lower case), or the address / group name of a ping node. */
  readonly name: string;
  /** Node type. */
  readonly type: ApiNodeType;
  /** Status word: `init`, `up`, `active`, `dead` or `ping`. */
  readonly status: string;
  /** `weight` (default 100). */
  readonly weight: number;
  /** `site` (default empty). */
  readonly site: string;
}

/** One heartbeat link of a node (`iflist` / `ifstatus`). */
export interface ApiLinkInfo {
  /** Interface (medium) name; for a ping node its address. */
  readonly name: string;
  /** `up` or `dead`. */
  readonly status: string;
}

/** Fixed facts returned in every sign-on reply, and used by authorization. */
export interface ApiIdentity {
  /** Local node name as configured (`node=` of the sign-on reply). */
  readonly nodeName: string;
  /** deadtime in ms (sent as lower-case hex). */
  readonly deadtimeMs: number;
  /** keepalive in ms (sent as lower-case hex). */
  readonly keepaliveMs: number;
  /** Full version string: `3.0.6 (node: 958e11be…)`. */
  readonly hbversion: string;
  /** Value of the `pacemaker` directive as a string (`off`, `false`, `on`, `respawn`, …). */
  readonly pacemaker: string;
  /** Syslog facility number (`0` when `logfacility none`). */
  readonly logFacility: number;
  /** `msgfmt`: the encoding of messages sent to clients. */
  readonly msgfmt: WireFormat;
  /** `apiauth` table with Heartbeat's built-in entries already added (config/ha_cf.ts). */
  readonly apiauth: ReadonlyMap<string, ApiAuthEntry>;
  /** uid of the daemon (may enable debug filters besides root). */
  readonly daemonUid: number;
}

/** Answer of {@link ApiBackend.resources}. */
export type ApiResourceStatus =
  /** `rsc_hold` word: `none`, `local`, `foreign`, `all` or `transition`. */
  | { readonly ok: true; readonly rscHold: string }
  /** Refusal reason (`info=`), e.g. when Pacemaker manages resources. */
  | { readonly ok: false; readonly info: string };

/** The daemon as seen by the API server. */
export interface ApiBackend {
  /** Sign-on facts; read at each sign-on (so a reload is picked up). */
  identity(): ApiIdentity;
  /** Every configured node in daemon order (`node` then `ping` directives as in ha.cf). */
  nodes(): readonly ApiNodeInfo[];
  /**
   * Links of `node` in ha.cf medium order (ping media excluded); for a ping node its single
   * pseudo-link. `undefined` for an unknown node.
   */
  links(node: string): readonly ApiLinkInfo[] | undefined;
  /**
   * `getparm` value: the literal ha.cf string or built-in default, `hbversion` → `3.0.6`;
   * `undefined` when the parameter has no value. (`crm` is mapped to `pacemaker` by the server.)
   */
  parameter(name: string): string | undefined;
  /** `getrsc`. */
  resources(): ApiResourceStatus;
  /** uuid of a node (16 bytes), for `getuuid`; `undefined` if unknown. */
  uuidOf(node: string): Uint8Array | undefined;
  /** Node name of a uuid, for `getnodename`; `undefined` if unknown. */
  nodeOfUuid(uuid: Uint8Array): string | undefined;
  /**
   * Sends `msg` into the cluster as a message originated by this node: to `dest` only when
   * given, else to every node including this one. The backend completes the control fields
   * (`src`, `seq`, …), acts on message types Heartbeat knows (e.g. `ask_resources`), and hands
   * each copy delivered on this node back through `ApiServer.deliver()` — synchronously if it
   * can, so that a client's own `join` reaches it before its sign-on reply, as in Heartbeat.
   *
   * Used for client-originated messages (`from_id`/`to_id`/`client_gen` already set), client
   * join/leave announcements (`t=hbapi-clstat`) and remote client-status queries
   * (`t=query-cstatus`, `dest=<node>`, `cn`, `from_id`).
   */
  sendCluster(msg: Message, dest?: string): void;
  /**
   * hb's own request `hbstatus` (`heartbeat status`, cli/status.ts): the status document as
   * JSON (master/status.ts). Absent: the request is refused like any unknown one. Real
   * Heartbeat clients never send it.
   */
  hbStatus?(): string;
  /**
   * hb: the monitors' states for `heartbeat resource failures` (request `hb-rscfailures`), as
   * one line of JSON; absent when the daemon has none to offer.
   */
  monitorFailures?(): string;
  /**
   * hb: operator cleanup of monitor failures (request `hb-rsccleanup`, `resource` optional):
   * the resources cleared, or the refusal reason.
   */
  monitorCleanup?(resource?: string): { ok: true; cleared: string[] } | { ok: false; info: string };
}
