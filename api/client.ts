/**
 * Client side of the API (what libhbclient does for `cl_status` and `ipfail`, spec api.md §4
 * and §6): sign on as a casual client (or a named one with `clientId`), strictly sequential
 * requests whose answer is the next `hbapi-resp` (other messages are queued and handed out
 * later by `nextMessage`), node and interface walks with their caches, `clientstatus` waiting
 * for a `respond-cstatus`, messages of named clients to the cluster or a node (`sendMessage`),
 * and the library's error text (`errmsg`).
 *
 * @module
 */

import { decodeMessage, encodeIpc } from "../wire/codec.ts";
import { Message } from "../wire/message.ts";
import { encodeFrame, FrameReader } from "./ipc_frame.ts";

/** Fields of a successful or refused sign-on reply. */
export interface SignonInfo {
  /** deadtime in ms (0 when no usable reply came). */
  deadtimeMs: number;
  /** keepalive in ms. */
  keepaliveMs: number;
  /** Local node name. */
  node: string;
  /** `hbversion` from the reply, if any. */
  hbversion?: string;
  /** `pacemaker` from the reply, if any. */
  pacemaker?: string;
}

/** One `nodelist` entry. */
export interface NodeEntry {
  /** Name. */
  name: string;
  /** `st`. */
  status?: string;
  /** `nodetype`. */
  type?: string;
}

/** One `iflist` entry. */
export interface IfEntry {
  /** Interface name. */
  name: string;
  /** `st`. */
  status?: string;
}

/** Identity a client claims at sign-on. */
export interface ClientIdentity {
  /** pid (also the client id of a casual client). */
  pid: number;
  /** Effective uid. */
  uid: number;
  /** Effective gid. */
  gid: number;
  /** `dest` of requests: the lower-cased local host name. */
  node: string;
  /** Client id (default: the pid, i.e. casual). */
  clientId?: string;
}

/** A connection to the daemon's API socket. */
export class ApiClient {
  /** The library's error text of the last call (`hb->llc_ops->errmsg`). */
  errmsg = "";
  /** Sign-on data (deadtime stays 0 unless a reply carried one). */
  info: SignonInfo = { deadtimeMs: 0, keepaliveMs: 0, node: "" };
  #conn: Deno.UnixConn | undefined;
  #reader = new FrameReader();
  #inbox: Message[] = [];
  #waiters: (() => void)[] = [];
  #closed = false;
  #id: ClientIdentity;
  #clientId: string;
  #node: string;
  #signedOn = false;

  /** Creates an unconnected client. */
  constructor(id: ClientIdentity) {
    this.#id = id;
    this.#clientId = id.clientId ?? String(id.pid);
    this.#node = id.node;
  }

  /** True after a successful sign-on. */
  get signedOn(): boolean {
    return this.#signedOn;
  }

  #log(text: string): void {
    if (this.errmsg !== "" && !this.errmsg.endsWith("\n")) this.errmsg += "\n";
    this.errmsg += text;
  }

  /** Clears the error text (every library call starts so). */
  clearLog(): void {
    this.errmsg = "";
  }

  async #pump(): Promise<void> {
    const buf = new Uint8Array(65536);
    try {
      while (true) {
        const n = await this.#conn!.read(buf);
        if (n === null) break;
        const r = this.#reader.push(buf.subarray(0, n));
        for (const body of r.frames) {
          const d = decodeMessage(body);
          if (d.ok) this.#inbox.push(d.msg);
        }
        this.#wake();
        if (r.error) break;
      }
    } catch {
      // the daemon reset the connection: the same as its end (#closed below wakes the reader)
    }
    this.#closed = true;
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Next received message (any type), or undefined on EOF / timeout. */
  async #next(timeoutMs?: number): Promise<Message | undefined> {
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    while (this.#inbox.length === 0) {
      if (this.#closed) return undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const left = deadline === undefined ? undefined : deadline - Date.now();
      if (left !== undefined && left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        if (left !== undefined) timer = setTimeout(resolve, left);
      });
      if (timer !== undefined) clearTimeout(timer);
    }
    return this.#inbox.shift();
  }

  /** Messages received that were not answers (async messages), in order. */
  readonly queued: Message[] = [];

  /** read_api_msg: the next `hbapi-resp`; anything else is queued. undefined on EOF. */
  async #readResp(): Promise<Message | undefined> {
    while (true) {
      const m = await this.#next();
      if (m === undefined) return undefined;
      if (m.get("t") === "hbapi-resp") return m;
      this.queued.push(m);
    }
  }

  async #write(msg: Message): Promise<boolean> {
    if (this.#conn === undefined || this.#closed) return false;
    const frame = encodeFrame(encodeIpc(msg, "classic"));
    try {
      let off = 0;
      while (off < frame.length) off += await this.#conn.write(frame.subarray(off));
      return true;
    } catch {
      return false;
    }
  }

  #request(reqtype: string, extra: [string, string][] = []): Message {
    return Message.fromStrings([
      ["t", "hbapi-req"],
      ["reqtype", reqtype],
      ["dest", this.#node],
      ["pid", String(this.#id.pid)],
      ["from_id", this.#clientId],
      ...extra,
    ]);
  }

  /** hb_api_signon. Returns true on success; `errmsg` and `info` tell the rest. */
  async signon(path: string): Promise<boolean> {
    this.clearLog();
    try {
      this.#conn = await Deno.connect({ transport: "unix", path });
    } catch {
      this.#log("hb_api_signon: Can't initiate connection to heartbeat");
      return false;
    }
    this.#pump();
    const req = Message.fromStrings([
      ["t", "hbapi-req"],
      ["reqtype", "signon"],
      ["dest", this.#node],
      ["pid", String(this.#id.pid)],
      ["from_id", this.#clientId],
      ["uid", String(this.#id.uid)],
      ["gid", String(this.#id.gid)],
    ]);
    if (!(await this.#write(req))) {
      this.#log("can't send message to IPC: Broken pipe");
      return false;
    }
    const reply = await this.#readResp();
    if (reply === undefined) return false;
    const result = reply.get("result");
    if (result === undefined) return false;
    let ok = false;
    if (result === "OK") ok = true;
    else {
      const why = reply.get("info");
      if (why !== undefined) this.#log(why);
    }
    const dt = parseHex(reply.get("deadtime"));
    if (dt === undefined) {
      this.#log("hb_api_signon: Can't get deadtime ");
      return false;
    }
    this.info.deadtimeMs = dt;
    const ka = parseHex(reply.get("keepalive"));
    if (ka === undefined) {
      this.#log("hb_api_signon: Can't get keepalive time ");
      return false;
    }
    this.info.keepaliveMs = ka;
    const node = reply.get("node");
    if (node === undefined || node.length >= 65) {
      this.#log("hb_api_signon: Can't get local node name");
      return false;
    }
    this.info.node = node;
    this.#node = node;
    this.info.hbversion = reply.get("hbversion");
    this.info.pacemaker = reply.get("pacemaker");
    this.#signedOn = ok && !this.#closed;
    return this.#signedOn;
  }

  /** True once the connection is closed (EOF from the daemon, or {@link ApiClient.close}). */
  get closed(): boolean {
    return this.#closed || this.#conn === undefined;
  }

  /**
   * The next asynchronous message (read_hb_msg): first those queued while a call waited for
   * its answer, then new ones; `undefined` after `timeoutMs` (wait forever when absent) or at
   * EOF.
   */
  async nextMessage(timeoutMs?: number): Promise<Message | undefined> {
    const q = this.queued.shift();
    if (q !== undefined) return q;
    return await this.#next(timeoutMs);
  }

  /**
   * sendclustermsg / sendnodemsg of a named client: sends a non-API message (the daemon adds
   * `from_id`, `to_id` and `client_gen`); with `node`, `dest` is set to it first. False when
   * the message could not be written.
   */
  async sendMessage(msg: Message, node?: string): Promise<boolean> {
    this.clearLog();
    if (!this.#signedOn) {
      this.#log("not signed on");
      return false;
    }
    if (node !== undefined) {
      if (node === "") {
        this.#log("sendnodemsg: bad nodename");
        return false;
      }
      msg.set("dest", node);
    }
    return await this.#write(msg);
  }

  /** hb_api_signoff: sends `signoff` and closes. */
  async signoff(): Promise<void> {
    this.clearLog();
    if (this.#signedOn) await this.#write(this.#request("signoff"));
    this.#signedOn = false;
    this.close();
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#conn?.close();
    } catch {
      // closed already (by the daemon or an earlier close): it is closed either way
    }
    this.#conn = undefined;
  }

  /** One request with one answer (undefined on EOF). */
  async call(reqtype: string, extra: [string, string][] = []): Promise<Message | undefined> {
    if (!(await this.#write(this.#request(reqtype, extra)))) {
      this.#log("Can't send message to IPC Channel: Broken pipe");
      return undefined;
    }
    return await this.#readResp();
  }

  /** get_nodelist: entries in the order the library keeps them (reversed). */
  async nodeList(): Promise<NodeEntry[] | undefined> {
    this.clearLog();
    if (!(await this.#write(this.#request("nodelist")))) {
      this.#log("can't send message to IPC Channel: Broken pipe");
      return undefined;
    }
    const list: NodeEntry[] = [];
    while (true) {
      const r = await this.#readResp();
      if (r === undefined) {
        this.#log("General read_api_msg() failure");
        return undefined;
      }
      const result = r.get("result");
      if (result === undefined) {
        this.#log("API reply missing result field.");
        return undefined;
      }
      if (result !== "ok/more" && result !== "OK") {
        this.#log(`Unexpected API result value: [${result}]`);
        return undefined;
      }
      const name = r.get("node");
      if (name === undefined) {
        this.#log("No nodename in API reply");
        return undefined;
      }
      list.unshift({ name, status: r.get("st"), type: r.get("nodetype") });
      if (result === "OK") return list;
    }
  }

  /** get_iflist: entries in library order (reversed); errmsg = the server's info. */
  async ifList(host: string): Promise<IfEntry[] | undefined> {
    this.clearLog();
    if (!(await this.#write(this.#request("iflist", [["node", host]])))) {
      this.#log("Can't send message to IPC Channel: Broken pipe");
      return undefined;
    }
    const list: IfEntry[] = [];
    while (true) {
      const r = await this.#readResp();
      if (r === undefined) return undefined;
      const result = r.get("result");
      const name = r.get("ifname");
      if ((result === "ok/more" || result === "OK") && name !== undefined) {
        list.unshift({ name, status: r.get("st") });
        if (result === "OK") return list;
        continue;
      }
      const why = r.get("info");
      if (why !== undefined) this.#log(why);
      return undefined;
    }
  }

  /** A request whose OK answer carries `field`; undefined otherwise. */
  async simple(
    reqtype: string,
    extra: [string, string][],
    field: string,
  ): Promise<string | undefined> {
    this.clearLog();
    const r = await this.call(reqtype, extra);
    if (r === undefined || r.get("result") !== "OK") return undefined;
    return r.get(field);
  }

  /** get_parameter (hbversion/pacemaker from the sign-on cache). */
  async parameter(name: string): Promise<string | undefined> {
    this.clearLog();
    if (name === "hbversion" && this.info.hbversion !== undefined) return this.info.hbversion;
    if (name === "pacemaker" && this.info.pacemaker !== undefined) return this.info.pacemaker;
    return await this.simple("getparm", [["pname", name]], "pvalue");
  }

  /** get_resources; errmsg = the server's info on refusal. */
  async resources(): Promise<string | undefined> {
    this.clearLog();
    const r = await this.call("getrsc");
    if (r === undefined) return undefined;
    const v = r.get("rsc_hold");
    if (r.get("result") === "OK" && v !== undefined) return v.slice(0, 63);
    const why = r.get("info");
    if (why !== undefined) this.#log(why);
    return undefined;
  }

  /** get_clientstatus: waits up to `timeoutMs` (restarted by every message) for the answer. */
  async clientStatus(host: string, client: string, timeoutMs: number): Promise<string | undefined> {
    this.clearLog();
    if (host === "") {
      this.#log("client status : bad nodename");
      return undefined;
    }
    if (!(await this.#write(this.#request("clientstatus", [["node", host], ["cn", client]])))) {
      this.#log("Can't send message to IPC Channel: Broken pipe");
      return undefined;
    }
    while (true) {
      const m = await this.#next(Math.max(0, timeoutMs));
      if (m === undefined) {
        this.#log("No timely response.");
        return undefined;
      }
      if (m.get("t") === "respond-cstatus" || m.get("subt") === "respond-cstatus") {
        const cs = m.get("cs");
        if (m.get("result") === "OK" && cs !== undefined) return cs.slice(0, 127);
        this.#log("received wrong type of msg: Success");
        return undefined;
      }
      this.queued.push(m);
    }
  }
}

function parseHex(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const m = /^\s*(?:0[xX])?([0-9a-fA-F]+)/.exec(s);
  return m ? parseInt(m[1], 16) : undefined;
}
