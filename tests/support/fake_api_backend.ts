/**
 * An in-memory {@link ApiBackend} for tests and tools: by default it reproduces node `wa1` of
 * the capture cluster of `testdata/vectors/api/` (nodes `wa1`, `wa2`, ping node `198.18.20.3`,
 * `ucast wa1e0`, keepalive 1 s, deadtime 8 s, `crm off`, `rsc_hold=local`).
 *
 * Messages sent into the "cluster" are recorded in {@link FakeBackend.sent}; those addressed to
 * this node (or to everyone) are looped back through {@link FakeBackend.loopback} synchronously,
 * with `src` added, as the real master does; `query-cstatus` to a remote node is answered after
 * {@link FakeBackend.remoteAnswerMs} from {@link FakeBackend.remoteClients}.
 *
 * @module
 */

import type { ApiAuthEntry } from "../../config/types.ts";
import { createRealSystemView } from "../../config/system_view.ts";
import type { WireFormat } from "../../wire/codec.ts";
import { Message } from "../../wire/message.ts";
import type {
  ApiBackend,
  ApiIdentity,
  ApiLinkInfo,
  ApiNodeInfo,
  ApiResourceStatus,
} from "../../api/backend.ts";

/** hbversion string of the Debian build. */
export const DEBIAN_HBVERSION = "3.0.6 (node: 958e11be8686759f1b99204c17812f2c2633b169)";

/** The ids Heartbeat's built-in apiauth entries name: uid of `hacluster`, gid of `haclient`. */
export interface HaIds {
  /** uid of the `hacluster` user. */
  hacluster: number;
  /** gid of the `haclient` group. */
  haclient: number;
}

/**
 * The ids of the machine the API captures were recorded on (`testdata/vectors/api/index.md`):
 * the captured sign-ons carry them, so replaying a capture needs these, not this machine's.
 */
export const CAPTURE_HA_IDS: Readonly<HaIds> = Object.freeze({ hacluster: 102, haclient: 105 });

/**
 * This machine's `hacluster` uid and `haclient` gid, looked up by name (`/etc/passwd`,
 * `/etc/group`): Debian gives them whatever ids were free when the packages were installed.
 *
 * @throws {Error} naming the file when the user or group is missing (install Debian's
 * `heartbeat` package, which creates both).
 */
export function machineHaIds(): HaIds {
  const sys = createRealSystemView();
  const user = sys.userByName("hacluster");
  if (user === undefined || !Number.isInteger(user.uid)) {
    throw new Error("user hacluster not found in /etc/passwd: install Debian's heartbeat package");
  }
  const gid = sys.groupByName("haclient");
  if (gid === undefined || !Number.isInteger(gid)) {
    throw new Error("group haclient not found in /etc/group: install Debian's heartbeat package");
  }
  return { hacluster: user.uid, haclient: gid };
}

/** Heartbeat's built-in apiauth entries for these ids, after the `extra` (ha.cf) entries. */
export function builtinApiAuth(
  ids: Readonly<HaIds>,
  extra: ApiAuthEntry[] = [],
): Map<string, ApiAuthEntry> {
  const m = new Map<string, ApiAuthEntry>();
  for (const e of extra) m.set(e.client, e);
  const add = (client: string, uids?: number[], gids?: number[]) => {
    if (!m.has(client)) m.set(client, { client, uids, gids, builtin: true });
  };
  add("ipfail", [ids.hacluster]);
  add("ccm", [ids.hacluster]);
  add("ping", undefined, [ids.haclient]);
  add("lha-snmpagent", [0]);
  add("anon", [0], [ids.haclient]);
  return m;
}

/** Mutable state of the fake daemon. */
export class FakeBackend implements ApiBackend {
  /** Local node name. */
  nodeName = "wa1";
  /** deadtime ms. */
  deadtimeMs = 8000;
  /** keepalive ms. */
  keepaliveMs = 1000;
  /** Version string. */
  hbversion = DEBIAN_HBVERSION;
  /** pacemaker value. */
  pacemaker = "off";
  /** log facility number. */
  logFacility = 0;
  /** msgfmt. */
  msgfmt: WireFormat = "classic";
  /** The ids the built-in apiauth entries name. */
  readonly haIds: Readonly<HaIds>;
  /** apiauth table. */
  apiauth: Map<string, ApiAuthEntry>;
  /** Daemon uid. */
  daemonUid = 0;
  /** Nodes in daemon order. */
  nodeList: ApiNodeInfo[] = [
    { name: "wa1", type: "normal", status: "active", weight: 100, site: "" },
    { name: "wa2", type: "normal", status: "active", weight: 100, site: "" },
    { name: "198.18.20.3", type: "ping", status: "ping", weight: 100, site: "" },
  ];
  /** Links per node. */
  linkMap: Map<string, ApiLinkInfo[]> = new Map([
    ["wa1", [{ name: "wa1e0", status: "dead" }]],
    ["wa2", [{ name: "wa1e0", status: "up" }]],
    ["198.18.20.3", [{ name: "198.18.20.3", status: "up" }]],
  ]);
  /** Parameters (`getparm`). */
  params: Map<string, string> = new Map([
    ["keepalive", "1"],
    ["deadtime", "8"],
    ["warntime", "4"],
    ["initdead", "10"],
    ["udpport", "6940"],
    ["auto_failback", "off"],
    ["pacemaker", "off"],
    ["logfacility", "none"],
    ["logfile", "/var/lib/heartbeat/ha-log"],
    ["debugfile", "/var/lib/heartbeat/ha-debug"],
    ["debug", "0"],
    ["msgfmt", "classic"],
    ["baud", "19200"],
    ["hopfudge", "1"],
    ["deadping", "8000ms"],
    ["cluster", "linux-ha"],
    ["realtime", "true"],
    ["hbgenmethod", "file"],
    ["compression", "zlib"],
    ["coredumps", "true"],
    ["memreserve", "6500"],
    ["autojoin", "none"],
    ["uuidfrom", "file"],
    ["hbversion", "3.0.6"],
  ]);
  /** getrsc answer. */
  rsc: ApiResourceStatus = { ok: true, rscHold: "local" };
  /** uuids per node. */
  uuids: Map<string, Uint8Array> = new Map([
    ["wa1", Uint8Array.from(atob("q+B/nVp5TUS3200RUuEGZA=="), (c) => c.charCodeAt(0))],
    ["wa2", Uint8Array.from(atob("DK6dn754RiOqyPCbC33BQQ=="), (c) => c.charCodeAt(0))],
  ]);
  /** Every message given to {@link FakeBackend.sendCluster}, with its dest. */
  sent: { msg: Message; dest?: string }[] = [];
  /** Where local copies go (set to `server.deliver`). */
  loopback: ((msg: Message) => void) | undefined;
  /** Client ids signed on at each remote node (for `query-cstatus`). */
  remoteClients: Map<string, Set<string>> = new Map([["wa2", new Set(["ipfail"])]]);
  /** Delay of remote `respond-cstatus` answers (ms). */
  remoteAnswerMs = 50;
  #timers = new Set<ReturnType<typeof setTimeout>>();

  /**
   * @param haIds the ids of the built-in apiauth entries: {@link machineHaIds} when real
   *   processes connect, {@link CAPTURE_HA_IDS} when captures are replayed
   */
  constructor(haIds: Readonly<HaIds>) {
    this.haIds = haIds;
    this.apiauth = builtinApiAuth(haIds);
  }

  /** {@inheritDoc ApiBackend.identity} */
  identity(): ApiIdentity {
    return {
      nodeName: this.nodeName,
      deadtimeMs: this.deadtimeMs,
      keepaliveMs: this.keepaliveMs,
      hbversion: this.hbversion,
      pacemaker: this.pacemaker,
      logFacility: this.logFacility,
      msgfmt: this.msgfmt,
      apiauth: this.apiauth,
      daemonUid: this.daemonUid,
    };
  }

  /** {@inheritDoc ApiBackend.nodes} */
  nodes(): readonly ApiNodeInfo[] {
    return this.nodeList;
  }

  /** {@inheritDoc ApiBackend.links} */
  links(node: string): readonly ApiLinkInfo[] | undefined {
    return this.linkMap.get(node);
  }

  /** {@inheritDoc ApiBackend.parameter} */
  parameter(name: string): string | undefined {
    return this.params.get(name);
  }

  /** {@inheritDoc ApiBackend.resources} */
  resources(): ApiResourceStatus {
    return this.rsc;
  }

  /** {@inheritDoc ApiBackend.uuidOf} */
  uuidOf(node: string): Uint8Array | undefined {
    return this.uuids.get(node);
  }

  /** {@inheritDoc ApiBackend.nodeOfUuid} */
  nodeOfUuid(uuid: Uint8Array): string | undefined {
    for (const [n, u] of this.uuids) {
      if (u.length === uuid.length && u.every((b, i) => b === uuid[i])) return n;
    }
    return undefined;
  }

  /** {@inheritDoc ApiBackend.sendCluster} */
  sendCluster(msg: Message, dest?: string): void {
    this.sent.push({ msg, dest });
    const t = msg.get("t");
    if (dest === undefined || dest === this.nodeName) {
      const local = msg.clone();
      if (!local.has("src")) local.add("src", this.nodeName);
      this.loopback?.(local);
    }
    if (t === "query-cstatus" && dest !== undefined && dest !== this.nodeName) {
      const cn = msg.get("cn") ?? "";
      const online = this.remoteClients.get(dest)?.has(cn) ?? false;
      const answer = Message.fromStrings([
        ["t", "respond-cstatus"],
        ["dest", this.nodeName],
        ["result", "OK"],
        ["cn", cn],
        ["to_id", msg.get("from_id") ?? ""],
        ["cs", online ? "online" : "offline"],
        ["src", dest],
      ]);
      const id = setTimeout(() => {
        this.#timers.delete(id);
        this.loopback?.(answer);
      }, this.remoteAnswerMs);
      this.#timers.add(id);
    }
  }

  /** Cancels pending simulated remote answers. */
  dispose(): void {
    for (const id of this.#timers) clearTimeout(id);
    this.#timers.clear();
  }
}
