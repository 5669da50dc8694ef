/**
 * The API protocol engine of the daemon side (spec api.md §4–§5), independent of sockets:
 * connections are numbers, frames come in through {@link ApiProtocol.input}, and everything the
 * server must do (send a frame, close a connection, probe a pid) goes through an
 * {@link ApiTransport}. `server.ts` binds it to the real unix socket; tests drive it directly.
 *
 * @module
 */

import { decodeMessage, encodeIpc } from "../wire/codec.ts";
import { Message } from "../wire/message.ts";
import { authorize, type KernelCred } from "./apiauth.ts";
import type { ApiBackend, ApiIdentity, ApiNodeInfo } from "./backend.ts";
import { atoi, scanHex, scanLong, scanUnsigned } from "./c_parse.ts";
import { encodeFrame } from "./ipc_frame.ts";

/** hb's request type: monitor failure counts and states (`heartbeat resource failures`). */
export const HB_RSC_FAILURES = "hb-rscfailures";
/** hb's request type: clear monitor failures (`heartbeat resource cleanup [RESOURCE]`). */
export const HB_RSC_CLEANUP = "hb-rsccleanup";
/** Message treatment KEEPIT: normal traffic (the default filter). */
export const TREAT_KEEPIT = 0x01;
/** NOCHANGE: heartbeats that changed nothing. */
export const TREAT_NOCHANGE = 0x02;
/** DROPIT. */
export const TREAT_DROPIT = 0x04;
/** DUPLICATE. */
export const TREAT_DUPLICATE = 0x08;
/** APICALL: every API request of every client. */
export const TREAT_APICALL = 0x10;
/** PROTOCOL. */
export const TREAT_PROTOCOL = 0x20;
/** Every treatment bit. */
export const TREAT_ALL = 0x3f;
/** The debug treatments (need root or the daemon's uid). */
export const TREAT_DEBUG = 0x3e;

/** Default per-client send queue (cluster-glue `DEFAULT_MAX_QLEN`). */
export const DEFAULT_SEND_QLEN = 64;

/** What the protocol engine needs from the socket layer. */
export interface ApiTransport {
  /**
   * Queues one encoded frame for connection `conn`. Returns false when the connection's queue
   * is full (or the connection is gone); the engine then drops the client.
   */
  send(conn: number, frame: Uint8Array<ArrayBuffer>): boolean;
  /** Closes connection `conn` after flushing what is queued (best effort, never blocks). */
  close(conn: number): void;
  /** Changes the send-queue limit of `conn` (`set_sendqlen`). */
  setSendQueueLimit(conn: number, messages: number): void;
  /**
   * `kill(pid, sig)`: true when the process exists (EPERM counts as existing), false on ESRCH.
   */
  kill(pid: number, sig: number): boolean;
}

/** Optional observer of protocol events (the master logs them like Heartbeat). */
export interface ApiLog {
  /** One log line at the given priority. */
  (prio: "error" | "warn" | "info" | "debug", text: string): void;
}

/** A connection's state. */
interface Conn {
  readonly id: number;
  readonly cred: KernelCred;
  /** Registered (signed on). */
  registered: boolean;
  /** Being removed: ignore further input. */
  removed: boolean;
  clientId: string;
  casual: boolean;
  pid: number;
  uid: number;
  gid: number;
  filter: number;
  signal: number;
  gen: number;
  /** Order of registration (newest first lookup like Heartbeat's list). */
  seq: number;
  /** An unparsable message was already logged for this connection. */
  junkLogged: boolean;
}

/** A registered client as reported by {@link ApiProtocol.clients}. */
export interface ApiClientInfo {
  /** Connection number. */
  readonly conn: number;
  /** Client id (`ipfail`, or the pid for casual clients). */
  readonly clientId: string;
  /** Casual client. */
  readonly casual: boolean;
  /** pid. */
  readonly pid: number;
  /** Message filter. */
  readonly filter: number;
}

const MAX_CLIENT_ID = 31;

/** Lower-case hex without prefix, as `%lx`. */
function hex(n: number): string {
  return Math.max(0, Math.trunc(n)).toString(16);
}

/** The daemon side of the API protocol. */
export class ApiProtocol {
  readonly #backend: ApiBackend;
  readonly #transport: ApiTransport;
  readonly #log: ApiLog;
  readonly #conns = new Map<number, Conn>();
  #generation = 0;
  #seq = 0;
  #debugClients = 0;

  /** Creates the engine over a backend and a transport. */
  constructor(backend: ApiBackend, transport: ApiTransport, log?: ApiLog) {
    this.#backend = backend;
    this.#transport = transport;
    this.#log = log ?? (() => {});
  }

  /** A new connection with the kernel's credentials of the peer. */
  connect(conn: number, cred: KernelCred): void {
    this.#conns.set(conn, {
      id: conn,
      cred,
      registered: false,
      removed: false,
      clientId: "",
      casual: false,
      pid: 0,
      uid: -1,
      gid: -1,
      filter: TREAT_KEEPIT,
      signal: 0,
      gen: 0,
      seq: 0,
      junkLogged: false,
    });
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.#conns.size;
  }

  /** True when connection `conn` has signed on. */
  isRegistered(conn: number): boolean {
    const c = this.#conns.get(conn);
    return c !== undefined && c.registered && !c.removed;
  }

  /** The registered clients. */
  clients(): ApiClientInfo[] {
    const out: ApiClientInfo[] = [];
    for (const c of this.#conns.values()) {
      if (c.registered && !c.removed) {
        out.push({
          conn: c.id,
          clientId: c.clientId,
          casual: c.casual,
          pid: c.pid,
          filter: c.filter,
        });
      }
    }
    return out;
  }

  /** True when a client with this id is signed on here (`cs=online`). */
  clientOnline(clientId: string): boolean {
    return this.#findClient(clientId, undefined) !== undefined;
  }

  /**
   * The answer of this node to a `t=query-cstatus` message received from node `fromNode`
   * (Heartbeat's HBDoMsg_T_QCSTATUS): the caller sends it into the cluster. `undefined` when
   * the query lacks `cn` or `from_id`.
   */
  answerStatusQuery(query: Message, fromNode: string): Message | undefined {
    const cn = query.get("cn");
    const from = query.get("from_id");
    if (cn === undefined || from === undefined) return undefined;
    return Message.fromStrings([
      ["t", "respond-cstatus"],
      ["dest", fromNode],
      ["result", "OK"],
      ["cn", cn],
      ["to_id", from],
      ["cs", this.clientOnline(cn) ? "online" : "offline"],
    ]);
  }

  /**
   * Offers a message to the local clients (Heartbeat's api_heartbeat_monitor): with a `to_id`
   * only to the first client with that id, else to every client whose filter has a bit of
   * `treatment`.
   */
  deliver(msg: Message, treatment: number = TREAT_KEEPIT): void {
    if ((treatment & TREAT_DEBUG) !== 0 && this.#debugClients <= 0) return;
    if ((treatment & TREAT_ALL) !== treatment || treatment === 0) return;
    const toId = msg.get("to_id");
    let frame: Uint8Array<ArrayBuffer> | undefined;
    for (const c of this.#newestFirst()) {
      if (toId !== undefined && toId !== c.clientId) continue;
      if ((treatment & c.filter) !== 0) {
        frame ??= this.#encode(msg);
        this.#sendTo(c, frame);
      }
      if (toId !== undefined) break;
    }
  }

  /** The peer closed the connection (or it failed): remove the client. */
  disconnected(conn: number, reason = "EOF"): void {
    const c = this.#conns.get(conn);
    if (c === undefined) return;
    this.#remove(c, reason, false);
  }

  /**
   * Checks every client's pid (Heartbeat audits every 9 s); removes the dead ones with reason
   * `died-audit`.
   */
  audit(): void {
    for (const c of [...this.#conns.values()]) {
      if (c.registered && !c.removed && !this.#transport.kill(c.pid, 0)) {
        this.#remove(c, "died-audit", true);
      }
    }
  }

  /** Drops every connection (server shutdown); no leave messages are sent. */
  closeAll(): void {
    for (const c of [...this.#conns.values()]) {
      c.removed = true;
      this.#conns.delete(c.id);
      this.#transport.close(c.id);
    }
    this.#debugClients = 0;
  }

  /** One complete frame body received on `conn`. */
  input(conn: number, body: Uint8Array): void {
    const c = this.#conns.get(conn);
    if (c === undefined || c.removed) return;
    const r = decodeMessage(body);
    if (!r.ok) {
      // Dropped without a reply, as Heartbeat does; logged once per connection so that a
      // client sending garbage cannot flood the log (or stall the master writing it).
      if (!c.junkLogged) {
        c.junkLogged = true;
        this.#log("debug", `API client ${conn}: unparsable message(s) dropped (${r.reason})`);
      }
      return;
    }
    const msg = r.msg;
    this.deliver(msg, TREAT_APICALL);
    if (c.removed) return;
    if (!c.registered) this.#registration(c, msg);
    else this.#request(c, msg);
    if (!c.removed && c.registered && !this.#transport.kill(c.pid, 0)) {
      this.#remove(c, "died", true);
    }
  }

  // ---- sign-on ------------------------------------------------------------------------

  #registration(c: Conn, msg: Message): void {
    c.gen = this.#generation++;
    if (msg.get("t") !== "hbapi-req" || msg.get("reqtype") !== "signon") {
      this.#log("error", "api_process_registration_msg: bad message");
      return;
    }
    const fromId = msg.get("from_id");
    const pidStr = msg.get("pid");
    if (fromId === undefined && pidStr === undefined) {
      this.#log("error", "api_process_registration_msg: no fromid in msg");
      return;
    }
    const id = this.#identity();
    const resp = Message.fromStrings([["t", "hbapi-resp"], ["reqtype", "signon"]]);
    const failure = this.#addClient(c, msg, fromId, pidStr);
    if (failure !== undefined) resp.add("info", failure);
    resp.add("result", failure === undefined ? "OK" : "badreq");
    resp.add("deadtime", hex(id.deadtimeMs));
    resp.add("keepalive", hex(id.keepaliveMs));
    resp.add("node", id.nodeName);
    resp.add("hbversion", id.hbversion);
    resp.add("pacemaker", id.pacemaker);
    resp.add("logfacility", String(id.logFacility));
    if (failure !== undefined) {
      this.#log("error", `api_process_registration_msg: cannot add client(${c.clientId})`);
    }
    this.#sendTo(c, this.#encode(resp));
    if (failure !== undefined) this.#remove(c, failure, true);
  }

  /** Heartbeat's api_add_client; returns the refusal reason or undefined. */
  #addClient(
    c: Conn,
    msg: Message,
    fromId: string | undefined,
    pidStr: string | undefined,
  ): string | undefined {
    // A sign-on without pid crashes the real daemon; here it is a bad pid.
    const pid = pidStr === undefined ? 0 : atoi(pidStr);
    c.pid = pid;
    if (pid <= 0 || !this.#transport.kill(pid, 0)) {
      this.#log("warn", `api_add_client: bad pid [${pid}]`);
      return "bad pid";
    }
    if (fromId !== undefined && this.#findClient(fromId, undefined) !== undefined) {
      this.#log(
        "warn",
        `duplicate client add request [${fromId}] [${pidStr ?? "(nullcpid)"}]`,
      );
      return "duplicate add request";
    }
    const clientId = (fromId ?? String(pid)).slice(0, MAX_CLIENT_ID);
    c.clientId = clientId;
    c.casual = fromId === undefined || atoi(clientId) === pid;
    const cuid = msg.get("uid");
    const cgid = msg.get("gid");
    const luid = cuid === undefined ? undefined : scanLong(cuid);
    const lgid = cgid === undefined ? undefined : scanLong(cgid);
    if (luid === undefined || lgid === undefined) {
      this.#log(
        "error",
        `Client user/group id is incorrect [${cuid ?? "<null>"}] => ${luid ?? -1} [${
          cgid ?? "<null>"
        }] => ${lgid ?? -1}`,
      );
      return "invalid id info";
    }
    // The claimed ids are only compared with the kernel's; they are never trusted.
    if ((luid >>> 0) !== c.cred.uid || (lgid >>> 0) !== c.cred.gid) {
      return "incorrect/false credentials";
    }
    c.uid = c.cred.uid;
    c.gid = c.cred.gid;
    let denied = authorize(this.#identity().apiauth, clientId, c.casual, c.cred);
    if (denied === undefined && c.cred.pid > 0 && c.cred.pid !== pid) {
      this.#log("info", `PID mismatch: ${pid} vs farside_pid: ${c.cred.pid}`);
      denied = "pid mismatch";
    }
    if (denied !== undefined) {
      this.#log("warn", `Client [${clientId}] pid ${pid} failed authorization [${denied}]`);
      return denied;
    }
    c.registered = true;
    c.seq = ++this.#seq;
    if (!c.casual) this.#clientStatus(c, "join", "signon");
    return undefined;
  }

  // ---- requests -----------------------------------------------------------------------

  #request(c: Conn, msg: Message): void {
    const t = msg.get("t");
    if (t === undefined) return;
    if (t !== "hbapi-req") {
      if (c.casual) {
        this.#log("info", "api_process_request: general message from casual client!");
        this.#remove(c, "badclient", true);
        return;
      }
      msg.set("from_id", c.clientId);
      msg.set("to_id", c.clientId);
      msg.set("client_gen", String(c.gen));
      this.#backend.sendCluster(msg, msg.get("dest"));
      return;
    }
    const fromId = msg.get("from_id");
    const pid = msg.get("pid");
    const reqtype = msg.get("reqtype");
    if ((fromId === undefined && pid === undefined) || reqtype === undefined) return;
    const owner = this.#findClient(fromId, pid);
    if (owner !== c) {
      if (owner !== undefined) this.#log("error", "Client mismatch! (impersonation?)");
      return;
    }
    const resp = Message.fromStrings([["t", "hbapi-resp"], ["reqtype", reqtype]]);
    const r = this.#handle(c, msg, reqtype, resp);
    if (r === "ignore" || c.removed) return;
    if (r === "ok") {
      resp.set("result", "OK");
    } else {
      resp.add("result", "badreq");
      if (r.fail !== undefined) resp.add("info", r.fail);
    }
    this.#sendTo(c, this.#encode(resp));
  }

  #handle(
    c: Conn,
    msg: Message,
    reqtype: string,
    resp: Message,
  ): "ok" | "ignore" | { fail?: string } {
    const EINVAL = { fail: "EINVAL" };
    switch (reqtype) {
      case "signoff":
        this.#remove(c, "signoff", true);
        return "ignore";
      case "setfilter": {
        const s = msg.get("fmask");
        const mask = s === undefined ? undefined : scanHex(s);
        if (mask === undefined || (mask & TREAT_ALL) === 0) return EINVAL;
        const had = (c.filter & TREAT_DEBUG) !== 0;
        const wants = (mask & TREAT_DEBUG) !== 0;
        if (!had && wants) {
          if (c.uid !== 0 && c.uid !== this.#identity().daemonUid) return { fail: "EPERM" };
          this.#debugClients++;
        } else if (had && !wants) {
          this.#debugClients--;
        }
        c.filter = mask;
        return "ok";
      }
      case "setsignal": {
        const s = msg.get("signal");
        const sig = s === undefined ? undefined : scanUnsigned(s);
        if (sig === undefined) return {};
        if (sig === 9 || sig === 19 || sig >= 32) return EINVAL;
        c.signal = sig;
        return "ok";
      }
      case "nodelist": {
        const nodes = this.#backend.nodes();
        for (let j = 0; j < nodes.length; j++) {
          const n = nodes[j];
          resp.set("node", n.name);
          resp.set("nodetype", n.type);
          resp.set("st", n.status);
          resp.set("result", j === nodes.length - 1 ? "OK" : "ok/more");
          this.#sendTo(c, this.#encode(resp));
          if (c.removed) break;
        }
        return "ignore";
      }
      case "nodestatus":
        return this.#answerNodeField(msg, resp, "st", (n) => n.status);
      case "nodeweight":
        return this.#answerNodeField(msg, resp, "weight", (n) => String(n.weight));
      case "nodesite":
        return this.#answerNodeField(msg, resp, "site", (n) => n.site);
      case "nodetype":
        return this.#answerNodeField(msg, resp, "nodetype", (n) => n.type);
      case "numnodes": {
        const count = this.#backend.nodes().filter((n) => n.type === "normal").length;
        resp.add("numnodes", String(count));
        return "ok";
      }
      case "iflist": {
        const n = this.#lookupNode(msg.get("node"));
        if (n === undefined) return EINVAL;
        const links = this.#backend.links(n.name) ?? [];
        if (n.type === "ping") {
          const l = links.find((x) => x.name === n.name);
          if (l === undefined) return { fail: "UhOh" };
          resp.set("ifname", l.name);
          resp.set("st", l.status);
          return "ok";
        }
        for (let j = 0; j < links.length; j++) {
          resp.set("ifname", links[j].name);
          resp.set("st", links[j].status);
          resp.set("result", j === links.length - 1 ? "OK" : "ok/more");
          this.#sendTo(c, this.#encode(resp));
          if (c.removed) break;
        }
        return "ignore";
      }
      case "ifstatus": {
        const n = this.#lookupNode(msg.get("node"));
        const ifname = msg.get("ifname");
        if (n === undefined || ifname === undefined) return EINVAL;
        const l = (this.#backend.links(n.name) ?? []).find((x) => x.name === ifname);
        if (l === undefined) return EINVAL;
        resp.set("st", l.status);
        return "ok";
      }
      case "clientstatus": {
        const node = msg.get("node");
        const cn = msg.get("cn");
        const asker = msg.get("from_id");
        const n = this.#lookupNode(node);
        if (node === undefined || cn === undefined || asker === undefined || n === undefined) {
          return EINVAL;
        }
        resp.add("subt", "respond-cstatus");
        if (node === this.#identity().nodeName) {
          resp.add("cs", this.clientOnline(cn) ? "online" : "offline");
          return "ok";
        }
        if (n.status !== "active") {
          resp.add("cs", "offline");
          return "ok";
        }
        const q = Message.fromStrings([
          ["t", "query-cstatus"],
          ["dest", node],
          ["cn", cn],
          ["from_id", asker],
        ]);
        this.#backend.sendCluster(q, node);
        return "ignore";
      }
      case "getparm": {
        let pname = msg.get("pname");
        if (pname === undefined) return EINVAL;
        if (pname === "crm") pname = "pacemaker";
        const v = this.#backend.parameter(pname);
        if (v !== undefined) resp.set("pvalue", v);
        return "ok";
      }
      case "getrsc": {
        const r = this.#backend.resources();
        if (!r.ok) return { fail: r.info };
        resp.set("rsc_hold", r.rscHold);
        return "ok";
      }
      case "getuuid": {
        const q = msg.get("queryname");
        if (q === undefined) return { fail: "no query node name found" };
        const u = this.#backend.uuidOf(q);
        if (u !== undefined) resp.setBinary("queryuuid", u);
        return "ok";
      }
      case "getnodename": {
        const u = msg.getBinary("queryuuid");
        if (u === undefined || u.length !== 16) return { fail: "no query node name found" };
        const name = this.#backend.nodeOfUuid(u);
        if (name !== undefined) resp.set("queryname", name);
        return "ok";
      }
      case "hbstatus": {
        // hb only (`heartbeat status`): the status document as one JSON field
        if (this.#backend.hbStatus === undefined) return {};
        resp.set("status", this.#backend.hbStatus());
        return "ok";
      }
      case HB_RSC_FAILURES: {
        // hb's own request (Heartbeat answers badreq): the monitors' states as JSON
        if (this.#backend.monitorFailures === undefined) return { fail: "no monitors" };
        resp.set("failures", this.#backend.monitorFailures());
        return "ok";
      }
      case HB_RSC_CLEANUP: {
        if (this.#backend.monitorCleanup === undefined) return { fail: "no monitors" };
        const r = this.#backend.monitorCleanup(msg.get("resource"));
        if (!r.ok) return { fail: r.info };
        resp.set("cleared", JSON.stringify(r.cleared));
        return "ok";
      }
      case "set_sendqlen": {
        const s = msg.get("sendqlen");
        const n = s === undefined ? undefined : scanLong(s);
        if (n !== undefined && n > 0) this.#transport.setSendQueueLimit(c.id, n);
        return "ignore";
      }
      default:
        return {};
    }
  }

  // ---- helpers ------------------------------------------------------------------------

  #identity(): ApiIdentity {
    return this.#backend.identity();
  }

  /** Answers a query about the request's `node` with one field of it; EINVAL for no such node. */
  #answerNodeField(
    msg: Message,
    resp: Message,
    field: string,
    value: (n: ApiNodeInfo) => string,
  ): "ok" | { fail: string } {
    const n = this.#lookupNode(msg.get("node"));
    if (n === undefined) return { fail: "EINVAL" };
    resp.set(field, value(n));
    return "ok";
  }

  #lookupNode(name: string | undefined): ApiNodeInfo | undefined {
    if (name === undefined) return undefined;
    const low = name.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
    return this.#backend.nodes().find((n) => n.name === low);
  }

  *#newestFirst(): Generator<Conn> {
    const regs = [...this.#conns.values()].filter((c) => c.registered && !c.removed);
    regs.sort((a, b) => b.seq - a.seq);
    yield* regs;
  }

  /** Heartbeat's find_client: first (newest) client whose pid or id matches. */
  #findClient(fromId: string | undefined, pid: string | undefined): Conn | undefined {
    const p = pid === undefined ? undefined : atoi(pid);
    for (const c of this.#newestFirst()) {
      if (p !== undefined && c.pid === p) return c;
      if (fromId !== undefined && fromId === c.clientId) return c;
    }
    return undefined;
  }

  #encode(msg: Message): Uint8Array<ArrayBuffer> {
    return encodeFrame(encodeIpc(msg, this.#identity().msgfmt));
  }

  #sendTo(c: Conn, frame: Uint8Array<ArrayBuffer>): void {
    if (c.removed) return;
    if (!this.#transport.send(c.id, frame)) {
      this.#log("warn", `API client ${c.clientId || c.id}: send failed, dropping it`);
      this.#remove(c, "sendfail", true);
      return;
    }
    if (c.registered && !this.#transport.kill(c.pid, c.signal)) {
      this.#remove(c, "died", true);
    }
  }

  /** Hbapi-clstat join/leave of a named client (api_send_client_status). */
  #clientStatus(c: Conn, st: "join" | "leave", reason: string): void {
    const msg = Message.fromStrings([
      ["t", "hbapi-clstat"],
      ["st", st],
      ["from_id", c.clientId],
      ["to_id", c.clientId],
      ["src", this.#identity().nodeName],
      ["info", reason],
      ["client_gen", String(c.gen)],
    ]);
    if (st === "leave" && !c.removed) {
      this.#transport.send(c.id, this.#encode(msg));
    }
    this.#backend.sendCluster(msg);
  }

  /** Removes a client: leave for named ones (sent to it when `tellClient`), then close. */
  #remove(c: Conn, reason: string, tellClient: boolean): void {
    if (c.removed) return;
    const wasDebug = c.registered && (c.filter & TREAT_DEBUG) !== 0;
    if (wasDebug) this.#debugClients--;
    const named = !c.casual;
    if (!tellClient) c.removed = true;
    if (named) {
      // Casual clients never announce; refused clients not yet classified are named.
      const cc = { ...c };
      c.registered = false;
      this.#clientStatus(cc as Conn, "leave", reason);
    }
    c.removed = true;
    c.registered = false;
    this.#conns.delete(c.id);
    this.#transport.close(c.id);
  }
}
