/**
 * The master's side of the client API: answers the API server's questions
 * from the core's live state and the loaded configuration, and turns core
 * actions into the asynchronous messages Heartbeat delivers to clients
 * (api.md §5.2).
 *
 * @module
 */

import type { ApiAuthEntry } from "../config/types.ts";
import type { HbCore } from "../core/core.ts";
import { CoreMessage } from "../core/message.ts";
import type { CoreAction } from "../core/types.ts";
import type {
  ApiBackend,
  ApiIdentity,
  ApiLinkInfo,
  ApiNodeInfo,
  ApiResourceStatus,
} from "../api/backend.ts";
import type { Message } from "../wire/message.ts";
import { toCore, toWire } from "./message_convert.ts";
import { HEARTBEAT_VERSION_LINE } from "./version.ts";
import { HB_STATUS_PARAM, STATUS_SCHEMA_VERSION } from "./status.ts";

/** What the backend needs besides the core. */
export interface ApiBackendConfig {
  /** Our node name. */
  nodeName: string;
  /** Our deadtime. */
  deadtimeMs: number;
  /** Our keepalive. */
  keepaliveMs: number;
  /** `pacemaker` directive value. */
  pacemaker: string;
  /** Log facility number (-1 when none). */
  logFacility: number;
  /** `msgfmt`. */
  msgfmt: "classic" | "netstring";
  /** apiauth entries (built-ins included). */
  apiauth: ReadonlyMap<string, ApiAuthEntry>;
  /** Recorded parameters (`HA_<name>` values). */
  params: ReadonlyMap<string, string>;
  /** Link names of our heartbeat media (ping media excluded), ha.cf order. */
  links: readonly string[];
  /** Link index per link name in the core's link list. */
  coreLinks: readonly string[];
  /** Ping node names. */
  pingNodes: readonly string[];
  /**
   * Every node (normal and ping) in the order of the `node`/`ping`/`ping_group` directives of
   * ha.cf, the order in which Heartbeat reports them (`nodelist`). Default: the core's order.
   */
  nodeOrder?: readonly string[];
}

/** Parses a libuuid-style text uuid into its 16 bytes. */
function uuidBytes(text: string | undefined): Uint8Array | undefined {
  if (!text) return undefined;
  const hex = text.replaceAll("-", "");
  if (!/^[0-9a-f]{32}$/i.test(hex)) return undefined;
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** An {@link ApiBackend} over the running core. */
export class MasterApiBackend implements ApiBackend {
  readonly #cfg: ApiBackendConfig;
  readonly #core: () => HbCore;
  readonly #send: (msg: CoreMessage) => void;
  readonly #rsc: () => ApiResourceStatus;
  readonly #status: (() => string) | undefined;

  /**
   * Creates the backend. `send` originates a message from this node (the
   * runtime feeds it to the core); `resources` answers `rscstatus`; `status` answers hb's
   * `hbstatus` (master/status.ts).
   */
  constructor(
    cfg: ApiBackendConfig,
    core: () => HbCore,
    send: (msg: CoreMessage) => void,
    resources: () => ApiResourceStatus,
    status?: () => string,
    monitors?: {
      failures: () => string;
      cleanup: (resource?: string) => { ok: true; cleared: string[] } | { ok: false; info: string };
    },
  ) {
    this.#cfg = cfg;
    this.#core = core;
    this.#send = send;
    this.#rsc = resources;
    if (monitors) {
      this.monitorFailures = monitors.failures;
      this.monitorCleanup = monitors.cleanup;
    }
    this.#status = status;
  }

  /** {@inheritDoc ApiBackend.hbStatus} */
  hbStatus(): string {
    return this.#status?.() ?? "{}";
  }

  /** {@inheritDoc ApiBackend.monitorFailures} */
  monitorFailures?: () => string;
  /** {@inheritDoc ApiBackend.monitorCleanup} */
  monitorCleanup?: (
    resource?: string,
  ) => { ok: true; cleared: string[] } | { ok: false; info: string };

  /** {@inheritDoc ApiBackend.identity} */
  identity(): ApiIdentity {
    const c = this.#cfg;
    return {
      nodeName: c.nodeName,
      deadtimeMs: c.deadtimeMs,
      keepaliveMs: c.keepaliveMs,
      hbversion: HEARTBEAT_VERSION_LINE,
      pacemaker: c.pacemaker,
      logFacility: c.logFacility,
      msgfmt: c.msgfmt,
      apiauth: c.apiauth,
      daemonUid: Deno.uid() ?? 0,
    };
  }

  /** {@inheritDoc ApiBackend.nodes} */
  nodes(): readonly ApiNodeInfo[] {
    const core = this.#core();
    const order = this.#cfg.nodeOrder ?? [];
    const rank = (n: string) => {
      const i = order.indexOf(n);
      return i < 0 ? order.length : i;
    };
    const names = core.nodeNames().map((n, i) => ({ n, i }))
      .sort((a, b) => rank(a.n) - rank(b.n) || a.i - b.i).map((x) => x.n);
    return names.map((name) => ({
      name,
      type: this.#cfg.pingNodes.includes(name) ? "ping" : "normal",
      status: core.nodeStatus(name) ?? "init",
      weight: 100,
      site: "",
    }));
  }

  /** {@inheritDoc ApiBackend.links} */
  links(node: string): readonly ApiLinkInfo[] | undefined {
    const core = this.#core();
    if (!core.nodeNames().includes(node)) return undefined;
    if (this.#cfg.pingNodes.includes(node)) {
      const st = core.nodeStatus(node);
      return [{ name: node, status: st === "ping" ? "up" : "dead" }];
    }
    return this.#cfg.links.map((name) => ({
      name,
      status: core.linkStatus(node, name) ?? "dead",
    }));
  }

  /**
   * {@inheritDoc ApiBackend.parameter}
   *
   * hb adds one parameter no ha.cf directive has, `hb_status` (the schema version of
   * `hbstatus`): `heartbeat status` asks it first, so it never sends the real Heartbeat a request
   * that daemon logs as an error (the real one answers no value).
   */
  parameter(name: string): string | undefined {
    if (name === HB_STATUS_PARAM && this.#status !== undefined) {
      return String(STATUS_SCHEMA_VERSION);
    }
    return this.#cfg.params.get(name);
  }

  /** {@inheritDoc ApiBackend.resources} */
  resources(): ApiResourceStatus {
    return this.#rsc();
  }

  /** {@inheritDoc ApiBackend.uuidOf} */
  uuidOf(node: string): Uint8Array | undefined {
    return uuidBytes(this.#core().nodeUuid(node));
  }

  /** {@inheritDoc ApiBackend.nodeOfUuid} */
  nodeOfUuid(uuid: Uint8Array): string | undefined {
    const core = this.#core();
    return core.nodeNames().find((n) => {
      const u = uuidBytes(core.nodeUuid(n));
      return u !== undefined && u.every((b, i) => b === uuid[i]);
    });
  }

  /** {@inheritDoc ApiBackend.sendCluster} */
  sendCluster(msg: Message, dest?: string): void {
    const m = toCore(msg);
    if (dest !== undefined) m.set("dest", dest);
    this.#send(m);
  }
}

const CORE_ACTION_TYPES = new Set(["node-status", "link-status", "deliver"]);

/**
 * Translates one batch of core actions into the messages API clients get
 * (api.md §5.2): a status message only when it changed a node's status, a
 * local `status st=dead` for a death, `NS_st` for ping nodes, `ifstat` for
 * links, and every other delivered cluster message as it is.
 */
export function apiEvents(
  actions: readonly (CoreAction | { type: string })[],
  wallClockMs: number,
): Message[] {
  const core = actions.filter((a): a is CoreAction => CORE_ACTION_TYPES.has(a.type));
  const changed = new Set<string>();
  for (const a of core) {
    if (a.type === "node-status" && a.status !== "dead") changed.add(a.node);
  }
  const ts = Math.floor(wallClockMs / 1000).toString(16);
  const out: Message[] = [];
  for (const a of core) {
    switch (a.type) {
      case "node-status":
        if (a.status === "dead") {
          const m = CoreMessage.of({ t: "status", seq: "1", ts, src: a.node, st: "dead" });
          if (a.kind === "ping") m.set("info", "ping");
          out.push(toWire(m));
        } else if (a.kind === "ping") {
          out.push(
            toWire(CoreMessage.of({ t: "NS_st", st: a.status, info: "ping", src: a.node, ts })),
          );
        }
        break;
      case "link-status":
        out.push(
          toWire(CoreMessage.of({ t: "ifstat", node: a.node, ifname: a.link, st: a.status })),
        );
        break;
      case "deliver": {
        const t = a.msg.type;
        if (t === "status") {
          const src = a.msg.get("src") ?? "";
          if (changed.has(src)) out.push(toWire(a.msg));
        } else {
          out.push(toWire(a.msg));
        }
        break;
      }
      default:
        break;
    }
  }
  return out;
}
