/**
 * The API server: Heartbeat's registration socket (`/run/heartbeat/register`, spec api.md §1)
 * bound to the protocol engine (`protocol.ts`).
 *
 * Design: the listening socket and every client socket are real non-blocking descriptors owned
 * through libc FFI (`unix_socket.ts`), so the kernel's SO_PEERCRED credentials of every client
 * are read at accept time and checked against what the client claims. One epoll set watches
 * them; `epoll_wait` runs on Deno's FFI thread pool (`nonblocking: true`), everything else runs
 * on the JS thread without ever blocking: reads drain what is there, writes go straight to the
 * kernel and the rest waits in a bounded per-client queue (64 messages by default, like
 * cluster-glue; a client that does not read is dropped, never waited for).
 *
 * Use from the master:
 * ```ts
 * const api = new ApiServer({ path: paths.apiSocket, backend });
 * api.start();                 // when communication comes up
 * api.deliver(msg);            // every message the core delivers locally
 * await api.stop();            // at shutdown (the socket file is left behind, as Heartbeat does)
 * ```
 *
 * @module
 */

import type { Message } from "../wire/message.ts";
import type { ApiBackend } from "./backend.ts";
import { FrameReader } from "./ipc_frame.ts";
import {
  type ApiClientInfo,
  type ApiLog,
  ApiProtocol,
  type ApiTransport,
  DEFAULT_SEND_QLEN,
  TREAT_KEEPIT,
} from "./protocol.ts";
import {
  acceptNonBlocking,
  closeFd,
  EAGAIN,
  EINTR,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  listenUnix,
  peerCred,
  Poller,
  processAlive,
  recvSome,
  sendSome,
  setReceiveBuffer,
} from "./unix_socket.ts";

/** Options of {@link ApiServer}. */
export interface ApiServerOptions {
  /** Socket path (normally `nodePaths().apiSocket`). */
  path: string;
  /** The daemon side. */
  backend: ApiBackend;
  /** Log sink (default: silent). */
  log?: ApiLog;
  /** Mode of the socket file (Heartbeat: 0777). */
  mode?: number;
  /** Create the socket's directory (mode 0750) when missing, owned by this uid/gid if given. */
  dirOwner?: { uid: number; gid: number };
  /** Most simultaneous connections; more are accepted and closed at once (default 1024). */
  maxClients?: number;
  /** Cap on bytes queued per client besides the message count (default 4 MiB). */
  maxQueuedBytes?: number;
  /** Interval of the client pid audit in ms (Heartbeat: 9000; 0 = off). */
  auditMs?: number;
}

interface Client {
  fd: number;
  reader: FrameReader;
  queue: Uint8Array<ArrayBuffer>[];
  queuedBytes: number;
  limit: number;
  wantOut: boolean;
  signedOnBufferSet: boolean;
}

const READ_CHUNK = 65536;
const READS_PER_EVENT = 8;
/**
 * Longest stretch of client work done before the master's event loop gets control back (its
 * timers send the heartbeats). epoll is level-triggered: descriptors left unserved in a batch
 * are reported again by the next wait.
 */
const BATCH_BUDGET_MS = 10;

/** The registration socket server. */
export class ApiServer {
  readonly #opts: ApiServerOptions;
  readonly #protocol: ApiProtocol;
  readonly #clients = new Map<number, Client>();
  readonly #readBuf = new Uint8Array(READ_CHUNK);
  #poller: Poller | undefined;
  #listenFd = -1;
  #loop: Promise<void> | undefined;
  #stopping = false;
  #audit: ReturnType<typeof setInterval> | undefined;

  /** Creates the server (nothing is opened until {@link ApiServer.start}). */
  constructor(opts: ApiServerOptions) {
    this.#opts = opts;
    const transport: ApiTransport = {
      send: (conn, frame) => this.#send(conn, frame),
      close: (conn) => this.#close(conn),
      setSendQueueLimit: (conn, n) => {
        const c = this.#clients.get(conn);
        if (c) c.limit = n;
      },
      kill: (pid, sig) => processAlive(pid, sig),
    };
    this.#protocol = new ApiProtocol(opts.backend, transport, opts.log);
  }

  /** True between {@link ApiServer.start} and {@link ApiServer.stop}. */
  get running(): boolean {
    return this.#loop !== undefined;
  }

  /** Number of open client connections. */
  get connectionCount(): number {
    return this.#clients.size;
  }

  /** The signed-on clients. */
  clients(): ApiClientInfo[] {
    return this.#protocol.clients();
  }

  /** True when a client with this id is signed on here. */
  clientOnline(clientId: string): boolean {
    return this.#protocol.clientOnline(clientId);
  }

  /** Builds this node's `respond-cstatus` answer to a `query-cstatus` from `fromNode`. */
  answerStatusQuery(query: Message, fromNode: string): Message | undefined {
    return this.#protocol.answerStatusQuery(query, fromNode);
  }

  /**
   * Offers a message to the local clients (to `to_id` only, else to every client whose filter
   * matches `treatment`, default KEEPIT). Call for node status changes (`t=status`, `NS_st`),
   * link changes (`t=ifstat`), client join/leave, `respond-cstatus`, and every cluster message
   * processed locally. Never blocks.
   */
  deliver(msg: Message, treatment: number = TREAT_KEEPIT): void {
    if (this.#loop === undefined) return;
    this.#protocol.deliver(msg, treatment);
  }

  /**
   * Binds and listens (Heartbeat does this when communication is first up). Throws when the
   * socket cannot be created.
   */
  start(): void {
    if (this.#loop !== undefined) return;
    const path = this.#opts.path;
    const dir = path.slice(0, path.lastIndexOf("/")) || "/";
    try {
      Deno.statSync(dir);
    } catch {
      Deno.mkdirSync(dir, { recursive: true, mode: 0o750 });
      if (this.#opts.dirOwner) {
        Deno.chownSync(dir, this.#opts.dirOwner.uid, this.#opts.dirOwner.gid);
      }
    }
    const poller = new Poller();
    let fd: number;
    try {
      fd = listenUnix(path, 128);
    } catch (e) {
      poller.close();
      throw e;
    }
    Deno.chmodSync(path, this.#opts.mode ?? 0o777);
    this.#poller = poller;
    this.#listenFd = fd;
    poller.add(fd, EPOLLIN);
    this.#stopping = false;
    const auditMs = this.#opts.auditMs ?? 9000;
    if (auditMs > 0) {
      this.#audit = setInterval(() => this.#protocol.audit(), auditMs);
    }
    this.#loop = this.#run();
  }

  /**
   * Stops: closes every client connection and the listening socket. The socket file stays, as
   * Heartbeat leaves it (clients then get ECONNREFUSED).
   */
  async stop(): Promise<void> {
    if (this.#loop === undefined) return;
    this.#stopping = true;
    if (this.#audit !== undefined) clearInterval(this.#audit);
    this.#audit = undefined;
    this.#poller?.wake();
    await this.#loop;
    this.#protocol.closeAll();
    for (const fd of [...this.#clients.keys()]) this.#close(fd);
    closeFd(this.#listenFd);
    this.#listenFd = -1;
    this.#poller?.close();
    this.#poller = undefined;
    this.#loop = undefined;
  }

  async #run(): Promise<void> {
    const poller = this.#poller!;
    while (!this.#stopping) {
      const events = await poller.wait(-1);
      if (this.#stopping) break;
      const start = performance.now();
      // New connections first: accepting is cheap and keeps the listen backlog free.
      if (events.some((ev) => ev.fd === this.#listenFd)) this.#guard(() => this.#acceptAll());
      for (const ev of events) {
        if (ev.fd === this.#listenFd) continue;
        this.#guard(() => this.#clientEvent(ev.fd, ev.events));
        if (performance.now() - start > BATCH_BUDGET_MS) break;
      }
    }
  }

  #guard(work: () => void): void {
    try {
      work();
    } catch (e) {
      this.#opts.log?.("error", `API server: ${e instanceof Error ? e.message : e}`);
    }
  }

  #acceptAll(): void {
    const max = this.#opts.maxClients ?? 1024;
    for (let i = 0; i < 256; i++) {
      const fd = acceptNonBlocking(this.#listenFd);
      if (fd < 0) return;
      const cred = peerCred(fd);
      if (cred === undefined || this.#clients.size >= max) {
        this.#opts.log?.("warn", "API server: connection refused (no credentials or too many)");
        closeFd(fd);
        continue;
      }
      this.#clients.set(fd, {
        fd,
        reader: new FrameReader(),
        queue: [],
        queuedBytes: 0,
        limit: DEFAULT_SEND_QLEN,
        wantOut: false,
        signedOnBufferSet: false,
      });
      this.#poller!.add(fd, EPOLLIN | EPOLLRDHUP);
      this.#protocol.connect(fd, cred);
    }
  }

  #clientEvent(fd: number, events: number): void {
    let c = this.#clients.get(fd);
    if (c === undefined) return;
    if (events & EPOLLOUT) {
      if (!this.#flush(c)) return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      for (let i = 0; i < READS_PER_EVENT; i++) {
        const n = recvSome(fd, this.#readBuf);
        if (n === -EAGAIN || n === -EINTR) return;
        if (n <= 0) {
          this.#protocol.disconnected(fd, "EOF");
          this.#close(fd);
          return;
        }
        const r = c.reader.push(this.#readBuf.subarray(0, n));
        for (const body of r.frames) {
          this.#protocol.input(fd, body);
          c = this.#clients.get(fd);
          if (c === undefined) return;
          if (!c.signedOnBufferSet && this.#protocol.isRegistered(fd)) {
            // Heartbeat shrinks the receive buffer of a signed-on client to 4096 bytes.
            c.signedOnBufferSet = true;
            setReceiveBuffer(fd, 4096);
          }
        }
        if (r.error !== undefined) {
          this.#opts.log?.(
            "warn",
            r.error === "bad-magic"
              ? "API client sent a bad magic number: disconnecting"
              : `API client announced a ${r.detail}-byte message (limit 262144): disconnecting`,
          );
          this.#protocol.disconnected(fd, "EOF");
          this.#close(fd);
          return;
        }
        if (n < READ_CHUNK) return;
      }
    }
  }

  /** Writes queued frames; false when the client was closed. */
  #flush(c: Client): boolean {
    while (c.queue.length > 0) {
      const head = c.queue[0];
      const n = sendSome(c.fd, head);
      if (n === -EAGAIN || n === -EINTR) break;
      if (n < 0) {
        this.#protocol.disconnected(c.fd, "EOF");
        this.#close(c.fd);
        return false;
      }
      c.queuedBytes -= n;
      if (n === head.length) c.queue.shift();
      else c.queue[0] = head.subarray(n);
    }
    const want = c.queue.length > 0;
    if (want !== c.wantOut) {
      c.wantOut = want;
      this.#poller?.modify(c.fd, EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0));
    }
    return true;
  }

  #send(fd: number, frame: Uint8Array<ArrayBuffer>): boolean {
    const c = this.#clients.get(fd);
    if (c === undefined) return false;
    if (c.queue.length === 0) {
      const n = sendSome(fd, frame);
      if (n === frame.length) return true;
      // The peer is gone (EPIPE, ECONNRESET): the frame is dropped; its EOF, reported by
      // epoll, removes the client as any disconnection (this is not a full queue).
      if (n < 0 && n !== -EAGAIN && n !== -EINTR) return true;
      c.queue.push(n > 0 ? frame.subarray(n) : frame);
      c.queuedBytes += frame.length - Math.max(0, n);
      c.wantOut = true;
      this.#poller?.modify(fd, EPOLLIN | EPOLLRDHUP | EPOLLOUT);
      return true;
    }
    if (c.queue.length >= c.limit || c.queuedBytes > (this.#opts.maxQueuedBytes ?? 4 << 20)) {
      return false;
    }
    c.queue.push(frame);
    c.queuedBytes += frame.length;
    return true;
  }

  #close(fd: number): void {
    const c = this.#clients.get(fd);
    if (c === undefined) return;
    this.#clients.delete(fd);
    if (c.queue.length > 0) {
      // One last non-blocking attempt (e.g. a refusal reply), then give up.
      for (const q of c.queue) if (sendSome(fd, q) !== q.length) break;
    }
    this.#poller?.remove(fd);
    closeFd(fd);
  }
}
