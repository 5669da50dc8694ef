/**
 * Entry of a worker process (`main.ts __worker ROLE SPEC`).
 *
 * Roles: `read` and `write` for a medium (SPEC is its JSON {@link MediumSpec}),
 * `fifo` for the FIFO reader (SPEC is `{"path": ...}`). The worker talks to the
 * master over framed stdin/stdout ({@link SyncFrameWriter}); when its stdin ends
 * (the master is gone) it exits at once.
 *
 * Like Heartbeat's core children, a worker applies the `realtime` settings the master hands
 * it ({@link realtimeFromEnv}) before it reports ready, and answers SIGHUP (sent by the
 * master when authkeys changed) with `Child rereading authentication file.`: workers carry
 * no keys (the master signs and verifies), the line is kept for the log's sake. SIGUSR1/2
 * (debug level) change nothing in a worker but must not kill it.
 *
 * Each kind of worker loads only its own module (`fifo.ts`, `media.ts` for UDP, `serial.ts`,
 * `ping.ts`) with an `import()` of a literal path, so the module stays in the static graph
 * (`deno compile` bundles it) while a process does not pay memory for the other kinds' code
 * (about 0.3-1.2 MB private each; bench/README.md "cost").
 *
 * @module
 */

import { CHANNEL_ENV, readFramesFrom, SyncFrameWriter } from "./channel.ts";
import { adoptChannel } from "../sys/pipe.ts";
import type { WorkerPort } from "./media.ts";
import { mediumLabel, type MediumSpec } from "./media_spec.ts";
import { setProcessTitle } from "../sys/proctitle.ts";
import { applyRealtime, realtimeFromEnv } from "../sys/realtime_setup.ts";
import { releaseFreedMemory } from "../sys/memory.ts";

/**
 * Control message from the master when it reread authkeys (Heartbeat SIGHUPs its children
 * instead); a worker answers with Heartbeat's child line.
 */
export const REREAD_KEYS = "reread-keys";

/**
 * Acts on a control message from the master. {@link REREAD_KEYS} may carry `lines`: what
 * Heartbeat's child logs next, reading `OnlyForTesting` itself (master/reload.ts
 * `readTestOpts`).
 */
export function onMasterControl(value: unknown, port: WorkerPort): void {
  const v = value as { t?: unknown; lines?: unknown } | null;
  if (v?.t !== REREAD_KEYS) return;
  port.log("info", "Child rereading authentication file.");
  if (!Array.isArray(v.lines)) return;
  for (const l of v.lines as { prio?: unknown; text?: unknown }[]) {
    if (typeof l?.text !== "string") continue;
    port.log(l.prio === "ERROR" ? "ERROR" : l.prio === "WARN" ? "WARN" : "info", l.text);
  }
}

/** Worker roles, as named on the command line. */
export type WorkerRole = "read" | "write" | "fifo";

/** The process title Heartbeat gives each kind of child. */
export function workerTitle(role: WorkerRole, spec: unknown): string {
  if (role === "fifo") return "heartbeat: FIFO reader";
  return `heartbeat: ${role}: ${mediumLabel(spec as MediumSpec)}`;
}

/**
 * A worker's kind module, just loaded: what loading it and the runtime's start-up allocated and
 * freed goes back to the kernel first (sys/memory.ts), for the worker's whole life.
 */
function loaded<T>(mod: T, port: WorkerPort): T {
  const r = releaseFreedMemory();
  if (!r.ok) port.log("debug", `freed heap memory kept: ${r.error.message}`);
  return mod;
}

/** Runs a worker; returns the process exit code. */
export async function workerMain(args: string[]): Promise<number> {
  const [role, specText] = args;
  if (role !== "read" && role !== "write" && role !== "fifo") {
    console.error(`heartbeat: unknown worker role ${role}`);
    return 2;
  }
  let spec: unknown;
  try {
    spec = JSON.parse(specText ?? "");
  } catch {
    console.error(`heartbeat: bad worker spec ${specText}`);
    return 2;
  }
  const channel = Deno.env.get(CHANNEL_ENV);
  if (channel !== undefined) {
    // the master's pipes become our stdin and stdout (sys/pipe.ts); nothing we start inherits
    // the paths
    Deno.env.delete(CHANNEL_ENV);
    try {
      const [inPath, outPath] = channel.split(" ");
      adoptChannel(inPath, outPath);
    } catch (e) {
      console.error(`heartbeat: cannot open the channel to the master: ${e}`);
      return 2;
    }
  }
  setProcessTitle(workerTitle(role, spec));
  Deno.addSignalListener("SIGINT", () => {}); // the master handles interrupts
  const out = new SyncFrameWriter(Deno.stdout, () => Deno.exit(0));
  const port: WorkerPort = {
    packet: (b) => void out.packet(b),
    control: (v) => void out.control(v),
    log: (prio, msg, glib) => void out.control({ t: "log", prio, msg, glib: glib ?? false }),
  };
  Deno.addSignalListener("SIGHUP", () => port.log("info", "Child rereading authentication file."));
  Deno.addSignalListener("SIGUSR1", () => {});
  Deno.addSignalListener("SIGUSR2", () => {});
  const rt = realtimeFromEnv();
  if (rt) {
    applyRealtime(rt, role === "fifo" ? "fifo" : "child", (prio, text) => port.log(prio, text));
  }
  try {
    if (role === "read") {
      // stdin carries nothing for a reader; its end means the master died (the UDP reader
      // watches it in its own wait loop).
      const m = spec as MediumSpec;
      if (m.type === "serial") {
        watchMaster(port);
        await loaded(await import("./serial.ts"), port).runSerialReader(m, port);
      } else if (m.type === "ping" || m.type === "ping_group") {
        watchMaster(port);
        await loaded(await import("./ping.ts"), port).runPingReader(m, port);
      } else {
        await loaded(await import("./media.ts"), port).runReader(
          m,
          port,
          (v) => onMasterControl(v, port),
        );
      }
      await out.close(); // deliver the reader's last log line before exiting
      return 1;
    }
    if (role === "fifo") {
      watchMaster(port);
      await loaded(await import("./fifo.ts"), port).runFifoReader(
        (spec as { path: string }).path,
        port,
      );
      return 1;
    }
    const m = spec as MediumSpec;
    if (m.type !== "serial" && m.type !== "ping" && m.type !== "ping_group") {
      // UDP: wait on the JS thread (workers/fd_loop.ts); the serial and ping writers keep the
      // event loop free for their timers
      const { runWriterLoop, Writer } = loaded(await import("./media.ts"), port);
      const udp = new Writer(m, port);
      port.control({ t: "ready" });
      await runWriterLoop(udp, (v) => onMasterControl(v, port));
      udp.close();
      return 0;
    }
    const writer = m.type === "serial"
      ? new (loaded(await import("./serial.ts"), port)).SerialWriter(m, port)
      : new (loaded(await import("./ping.ts"), port)).PingWriter(m, port);
    port.control({ t: "ready" });
    for await (const f of readFramesFrom(Deno.stdin)) {
      if (f.kind === "packet") writer.send(f.bytes);
      else onMasterControl(f.value, port);
    }
    writer.close();
    return 0;
  } catch (e) {
    port.log("ERROR", `${workerTitle(role, spec)}: ${e instanceof Error ? e.message : e}`);
    await out.close();
    return 1;
  }
}

/** Exits the process when the master's end of our stdin goes away; acts on its notices. */
function watchMaster(port: WorkerPort): void {
  (async () => {
    try {
      for await (const f of readFramesFrom(Deno.stdin)) {
        if (f.kind === "control") onMasterControl(f.value, port);
      }
    } catch {
      // corrupt channel: same as a dead master
    }
    Deno.exit(0);
  })();
}
