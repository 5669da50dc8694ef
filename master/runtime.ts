/**
 * The master control process: the I/O shell around the deterministic core.
 *
 * It owns the real clock and timers, feeds the core events (start, ticks,
 * verified messages from the media and the FIFO, shutdown), and carries out
 * the core's actions (sign and send on every medium, log, status changes).
 * Workers are supervised by {@link Supervisor}.
 *
 * @module
 */

import { HbCore } from "../core/core.ts";
import type { CoreAction, CoreConfig, CoreEvent, Origin, Priority } from "../core/types.ts";
import type { MediumSpec } from "../workers/media_spec.ts";
import { mediumStartLine } from "../workers/media_spec.ts";
import { Supervisor } from "./supervisor.ts";
import { ApiServer } from "../api/server.ts";
import type { ApiResourceStatus } from "../api/backend.ts";
import { apiEvents, type ApiBackendConfig, MasterApiBackend } from "./api_backend.ts";
import type { CoreMessage } from "../core/message.ts";
import { type RespawnClient, RespawnSupervisor } from "./respawn.ts";
import { PacketCodec } from "./wire_bridge.ts";
import type { AuthKeys, MsgFmt } from "../wire/auth.ts";
import { decodeMessage } from "../wire/codec.ts";
import { toCore, toWire } from "./wire_bridge.ts";
import { isPingSpec, pingStatusMessage } from "../workers/ping.ts";

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
}

/** Sent messages kept for retransmission (the core's history holds 500). */
const HISTORY_KEEP = 500;

/** Minimum interval between two "bad packet" log lines. */
const BAD_PACKET_LOG_INTERVAL_MS = 10_000;

/** The running master. */
export class MasterRuntime {
  readonly #plan: RuntimePlan;
  readonly #log: RuntimeLog;
  readonly #core: HbCore;
  readonly #codec: PacketCodec;
  readonly #supervisor: Supervisor;
  readonly #respawn: RespawnSupervisor;
  readonly #api: ApiServer | undefined;
  /** Channels (ha.cf order) that are serial lines. */
  readonly #serialChannels: number[];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #history = new Map<number, { bytes?: Uint8Array; frame?: Uint8Array }>();
  #stopping = false;
  #lastBadLog = -Infinity;
  #badSinceLog = 0;
  #done: Promise<number>;
  #resolveDone!: (code: number) => void;

  /** Prepares the runtime (nothing starts until {@link start}). */
  constructor(plan: RuntimePlan, log: RuntimeLog) {
    this.#plan = plan;
    this.#log = log;
    this.#core = new HbCore(plan.core);
    this.#codec = new PacketCodec(plan.keys, plan.msgfmt);
    this.#serialChannels = plan.media.flatMap((m, ch) => m.type === "serial" ? [ch] : []);
    this.#supervisor = new Supervisor(plan.media, plan.fifo, {
      log: (prio, text, opts) => log(prio as Priority, text, opts),
      onPacket: (ch, bytes) => this.#onPacket(ch, bytes),
      onFifo: (bytes) => this.#onFifo(bytes),
      env: plan.env,
    });
    this.#respawn = new RespawnSupervisor(plan.clients ?? [], {
      log: (prio, text, opts) => log(prio, text, opts),
      env: plan.env,
    });
    if (plan.api) {
      const backend = new MasterApiBackend(
        plan.api.backend,
        () => this.#core,
        (msg) => this.originate(msg),
        () => this.resourceStatus(),
      );
      this.#api = new ApiServer({
        path: plan.api.socket,
        backend,
        log: (prio, text) => log(prio as Priority, text),
      });
    }
    this.#done = new Promise((r) => this.#resolveDone = r);
  }

  /** Sends a message from this node to the cluster (API clients, resource layer). */
  originate(msg: CoreMessage): void {
    if (this.#stopping) return;
    this.#feed({ type: "originate", now: performance.now(), wallClock: Date.now(), msg });
  }

  /** The `rscstatus` answer (the resource layer refines it). */
  resourceStatus(): ApiResourceStatus {
    return { ok: true, rscHold: "none" };
  }

  /** The core (read-only use: status queries). */
  get core(): HbCore {
    return this.#core;
  }

  /** The worker supervisor. */
  get supervisor(): Supervisor {
    return this.#supervisor;
  }

  /** Bad packets dropped so far, by reason. */
  get dropped(): Record<string, number> {
    return { ...this.#codec.dropped };
  }

  /** Resolves with the exit code when the runtime has stopped. */
  get done(): Promise<number> {
    return this.#done;
  }

  /** Starts workers, then the core. Returns false if a medium could not be opened. */
  async start(): Promise<boolean> {
    for (const m of this.#plan.media) {
      this.#log("info", mediumStartLine(m), { glib: true });
      if (m.type === "bcast") {
        this.#log(
          "info",
          `UDP Broadcast heartbeat closed on port ${m.port} interface ${m.ifname} - Status: 1`,
          { glib: true },
        );
      }
    }
    const ok = await this.#supervisor.start();
    if (!ok) {
      this.#log("ERROR", "make_io_childpair: cannot open all media");
      return false;
    }
    this.#feed({
      type: "start",
      now: performance.now(),
      wallClock: Date.now(),
      loadavg: loadavg(),
    });
    return true;
  }

  /** Graceful stop: stops the workers (Heartbeat's lines) and resolves {@link done}. */
  async shutdown(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    // clients first (reverse declaration order), then the core children (config-and-cli §7.6)
    await this.#respawn.stop();
    await this.#api?.stop();
    await this.#supervisor.stop();
    this.#resolveDone(0);
  }

  #onPacket(channel: number, bytes: Uint8Array): void {
    if (this.#stopping) return;
    const r = this.#codec.decode(bytes);
    if (!r.ok) {
      this.#badPacket(r.reason, r.detail);
      return;
    }
    this.#deliver({ kind: "medium", channel }, r.msg);
  }

  #onFifo(bytes: Uint8Array): void {
    if (this.#stopping) return;
    const r = decodeMessage(bytes);
    if (!r.ok) {
      this.#badPacket("fifo", r.detail);
      return;
    }
    this.#deliver({ kind: "fifo" }, toCore(r.msg));
  }

  #badPacket(reason: string, detail: string): void {
    this.#badSinceLog++;
    const now = performance.now();
    if (now - this.#lastBadLog >= BAD_PACKET_LOG_INTERVAL_MS) {
      this.#log(
        "ERROR",
        `Dropped ${this.#badSinceLog} bad packet(s) (last: ${reason}: ${detail}); total dropped ${this.#codec.droppedTotal}`,
      );
      this.#lastBadLog = now;
      this.#badSinceLog = 0;
    }
  }

  #deliver(origin: Origin, msg: ReturnType<typeof toCore>): void {
    this.#feed({
      type: "message",
      now: performance.now(),
      wallClock: Date.now(),
      origin,
      msg,
    });
  }

  #feed(ev: CoreEvent): void {
    let actions: CoreAction[];
    try {
      actions = this.#core.handle(ev);
    } catch (e) {
      this.#log("ERROR", `core failure on ${ev.type}: ${e instanceof Error ? e.stack : e}`);
      return;
    }
    for (const a of actions) this.#act(a);
    if (this.#api?.running) this.#toClients(actions);
    this.#arm();
  }

  #act(a: CoreAction): void {
    switch (a.type) {
      case "log":
        this.#log(a.prio, a.text);
        break;
      case "send": {
        // packet media get one netstring packet, serial lines one classic frame (wire.md §2.3)
        let bytes: Uint8Array | undefined;
        let frame: Uint8Array | undefined;
        try {
          if (this.#serialChannels.length < this.#plan.media.length) {
            bytes = this.#codec.encode(a.msg);
          }
          if (this.#serialChannels.length > 0) frame = this.#codec.encodeSerial(a.msg);
        } catch (e) {
          this.#log("ERROR", `cannot encode message ${a.msg.type}: ${e}`);
          return;
        }
        this.#transmit(bytes, frame);
        if (a.seq !== undefined) {
          // keep the exact bytes for byte-identical retransmission (wire.md §6.3)
          this.#history.set(a.seq, { bytes, frame });
          this.#history.delete(a.seq - HISTORY_KEEP);
        }
        if (a.msg.type === "status") this.#sendPings(a.msg.get("ts") ?? "");
        break;
      }
      case "rexmit": {
        const stored = this.#history.get(a.seq);
        if (stored) this.#transmit(stored.bytes, stored.frame);
        break;
      }
      case "comm-up":
        this.#startApi();
        this.#respawn.start();
        break;
      case "exit":
        void this.shutdown();
        break;
      default:
        break;
    }
  }

  /** Sends encoded bytes on every medium (serial media get the classic frame). */
  #transmit(bytes: Uint8Array | undefined, frame: Uint8Array | undefined): void {
    if (frame === undefined) {
      this.#supervisor.broadcast(bytes!);
    } else {
      this.#plan.media.forEach((m, ch) =>
        this.#supervisor.send(ch, m.type === "serial" ? frame : bytes!)
      );
    }
  }

  /**
   * With every status message, each ping medium gets its signed `NS_st`
   * payload, which its writer sends as ICMP echo requests (wire.md §7.6;
   * the split between master and worker is explained in workers/ping.ts).
   */
  #sendPings(ts: string): void {
    this.#plan.media.forEach((m, ch) => {
      if (!isPingSpec(m)) return;
      try {
        this.#supervisor.send(ch, this.#codec.encode(pingStatusMessage(m, ts)));
      } catch (e) {
        this.#log("ERROR", `cannot encode NS_st for ${m.type}: ${e}`);
      }
    });
  }

  #startApi(): void {
    if (!this.#api) return;
    try {
      this.#api.start();
    } catch (e) {
      this.#log("ERROR", `cannot open the API socket ${this.#plan.api?.socket}: ${e}`);
    }
  }

  /** Delivers what a batch of core actions means to API clients (api.md §5). */
  #toClients(actions: CoreAction[]): void {
    const api = this.#api!;
    for (const m of apiEvents(actions, Date.now())) api.deliver(m);
    for (const a of actions) {
      if (a.type !== "deliver" || a.msg.type !== "query-cstatus") continue;
      const reply = api.answerStatusQuery(toWire(a.msg), a.from);
      if (reply) this.originate(toCore(reply));
    }
  }

  #arm(): void {
    if (this.#stopping) return;
    const at = this.#core.nextDeadline();
    if (at === this.#timerAt && this.#timer !== undefined) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (!Number.isFinite(at)) return;
    const delay = Math.max(0, at - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#feed({
        type: "tick",
        now: performance.now(),
        wallClock: Date.now(),
        loadavg: loadavg(),
      });
    }, delay);
  }
}

/** First line of /proc/loadavg without the newline, or "n/a". */
function loadavg(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").trim();
  } catch {
    return "n/a";
  }
}
