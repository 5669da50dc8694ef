/**
 * The API server: Heartbeat's registration socket (`/run/heartbeat/register`, spec api.md §1)
 * bound to the protocol engine (`protocol.ts`).
 *
 * Design: the listening socket and every client socket are real non-blocking descriptors owned
 * through libc FFI (`sys/unix_socket.ts`), so the kernel's SO_PEERCRED credentials of every client
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
} from "../sys/unix_socket.ts";
import { EAGAIN, EINTR } from "../sys/socket.ts";

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
  /**
   * The server's epoll descriptor once it runs (`undefined` after it stopped): a caller that
   * blocks its thread outside Deno's event loop (master/wait_loop.ts) watches it, since the
   * server's wait completes on another thread.
   */
  onPoller?: (fd: number | undefined) => void;
}

interface Client {
  fd: number;
  reader: FrameReader;
  queue: Uint8Array<ArrayBuffer>[];
  queuedBytes: number;
  limit: number;
  wantOut: boolean;
  signedOnBufferSet: boolean;
  /** Requests read but not yet processed (flow control paused the client between frames). */
  pending: Uint8Array[];
  /** Reading is paused (flow control): no EPOLLIN in the interest set. */
  paused: boolean;
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
  /** Flow control: client requests are not read (see {@link ApiServer.pauseClients}). */
  #clientsPaused = false;

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

  /** True while flow control keeps client requests unread. */
  get clientsPaused(): boolean {
    return this.#clientsPaused;
  }

  /**
   * Flow control engaged (the core's `clients-pause`: more than half of the 500-message send
   * history is unacknowledged): requests of signed-on clients are no longer read, so they
   * cannot add messages to the backlog; their sockets fill and they block or get EAGAIN.
   * Output to clients goes on. As in Heartbeat (`all_clients_pause`, and
   * `ProcessAnAPIRequest` pausing a client that signs on meanwhile), a new client still gets
   * its sign-on processed, then waits too. Connections are still accepted.
   */
  pauseClients(): void {
    if (this.#clientsPaused) return;
    this.#clientsPaused = true;
    for (const c of this.#clients.values()) {
      if (this.#protocol.isRegistered(c.fd)) this.#pauseClient(c);
    }
  }

  /**
   * Flow control released (the core's `clients-resume`): every client is read again,
   * requests held since the pause first.
   */
  resumeClients(): void {
    if (!this.#clientsPaused) return;
    this.#clientsPaused = false;
    for (const c of [...this.#clients.values()]) {
      // a held request may engage flow control again: the others stay paused then
      if (this.#clientsPaused) break;
      if (!c.paused) continue;
      c.paused = false;
      this.#poller?.modify(c.fd, this.#interest(c));
      this.#guard(() => this.#processPending(c));
    }
  }

  #pauseClient(c: Client): void {
    if (c.paused) return;
    c.paused = true;
    this.#poller?.modify(c.fd, this.#interest(c));
  }

  /** The epoll interest of a client: no input while paused (EPOLLHUP/ERR always come). */
  #interest(c: Client): number {
    return (c.paused ? 0 : EPOLLIN | EPOLLRDHUP) | (c.wantOut ? EPOLLOUT : 0);
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
    this.#opts.onPoller?.(poller.fd);
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
    if (this.#poller) this.#opts.onPoller?.(undefined);
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
        pending: [],
        paused: false,
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
    if (c.paused) {
      // flow control: input waits; a hang-up still ends the client
      if (events & (EPOLLHUP | EPOLLERR)) {
        this.#protocol.disconnected(fd, "EOF");
        this.#close(fd);
      }
      return;
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
        c.pending.push(...r.frames);
        if (!this.#processPending(c)) return;
        c = this.#clients.get(fd);
        if (c === undefined) return;
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
        if (c.paused || n < READ_CHUNK) return;
      }
    }
  }

  /**
   * Processes the client's requests read so far, until flow control pauses it. Returns false
   * when the client is gone.
   */
  #processPending(c: Client): boolean {
    const fd = c.fd;
    while (c.pending.length > 0 && !c.paused) {
      const body = c.pending.shift()!;
      this.#protocol.input(fd, body);
      if (this.#clients.get(fd) !== c) return false;
      if (!c.signedOnBufferSet && this.#protocol.isRegistered(fd)) {
        // Heartbeat shrinks the receive buffer of a signed-on client to 4096 bytes.
        c.signedOnBufferSet = true;
        setReceiveBuffer(fd, 4096);
      }
      // paused meanwhile (by this request or before it): a client gets one request, its
      // sign-on, then waits (Heartbeat's ProcessAnAPIRequest)
      if (this.#clientsPaused) this.#pauseClient(c);
    }
    return true;
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
      this.#poller?.modify(c.fd, this.#interest(c));
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
      this.#poller?.modify(fd, this.#interest(c));
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
