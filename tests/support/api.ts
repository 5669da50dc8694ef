/**
 * Shared helpers of the API tests: an {@link ApiServer} over a {@link FakeBackend} in a temp run
 * directory, the real `/usr/bin/cl_status` run in a private mount namespace whose
 * `/run/heartbeat` is that directory, hb's own cl_status, and raw IPC clients.
 *
 * Everything that cannot run (not root, no unshare, no real cl_status) throws: tests fail
 * loudly instead of skipping.
 *
 * @module
 */

import { FakeBackend, machineHaIds } from "./fake_api_backend.ts";
import { encodeFrame, FrameReader } from "../../api/ipc_frame.ts";
import { ApiServer } from "../../api/server.ts";
import { decodeMessage, encodeIpc } from "../../wire/codec.ts";
import { Message } from "../../wire/message.ts";

/** The real client. */
export const REAL_CL_STATUS = "/usr/bin/cl_status";

/** Fails unless we can run the real cl_status in a private mount namespace. */
export function requireRealClient(): void {
  if (Deno.uid() !== 0) throw new Error("API tests need root (mount namespaces, setpriv)");
  try {
    Deno.statSync(REAL_CL_STATUS);
  } catch {
    throw new Error(`${REAL_CL_STATUS} missing: install Debian's heartbeat package`);
  }
}

/** A running server over a fake backend (`await using rig = startRig()` disposes of it). */
export interface Rig extends AsyncDisposable {
  /** Run directory (HB_RUNDIR); the socket is `${runDir}/heartbeat/register`. */
  runDir: string;
  /** Socket path. */
  path: string;
  /** The fake daemon state. */
  backend: FakeBackend;
  /** The server. */
  server: ApiServer;
  /** Stops the server and removes the directory. */
  dispose(): Promise<void>;
}

/**
 * Starts a server in a fresh temp run directory (world-traversable, for setpriv'd clients). The
 * backend's built-in apiauth names this machine's `hacluster`/`haclient` ids (real processes
 * connect).
 */
export function startRig(setup?: (b: FakeBackend) => void): Rig {
  const runDir = Deno.makeTempDirSync({ prefix: "hb_api_" });
  Deno.chmodSync(runDir, 0o755);
  Deno.mkdirSync(`${runDir}/heartbeat`, { mode: 0o755 });
  Deno.chmodSync(`${runDir}/heartbeat`, 0o755);
  const path = `${runDir}/heartbeat/register`;
  const backend = new FakeBackend(machineHaIds());
  setup?.(backend);
  const server = new ApiServer({ path, backend });
  backend.loopback = (m) => server.deliver(m);
  server.start();
  return {
    runDir,
    path,
    backend,
    server,
    async dispose() {
      await server.stop();
      backend.dispose();
      Deno.removeSync(runDir, { recursive: true });
    },
    [Symbol.asyncDispose]() {
      return this.dispose();
    },
  };
}

/** Output of one cl_status run, with log stamps/pids masked. */
export interface RunResult {
  /** Exit code. */
  code: number;
  /** stdout. */
  stdout: string;
  /** stderr with `<Mon dd HH:MM:SS> <host> cl_status: [<pid>]: ` replaced by `<LOG> `. */
  stderr: string;
}

const dec = new TextDecoder();

function mask(b: Uint8Array): string {
  return dec.decode(b).replace(
    /^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \S+ cl_status: \[\d+\]: /gm,
    "<LOG> ",
  );
}

/**
 * Runs the real cl_status with `runDir/heartbeat` bound on `/run/heartbeat` (= the client's
 * hard-coded `/var/run/heartbeat/register`, /var/run being a symlink to /run) in a private
 * mount namespace; `runAs` wraps it in `setpriv` (e.g. `["--reuid=nobody", …]`).
 */
export async function runReal(
  runDir: string,
  args: string[],
  runAs?: string[],
): Promise<RunResult> {
  const exec = runAs
    ? `exec setpriv ${runAs.join(" ")} ${REAL_CL_STATUS}`
    : `exec ${REAL_CL_STATUS}`;
  const varRun = (() => {
    try {
      return Deno.lstatSync("/var/run").isSymlink;
    } catch {
      return true;
    }
  })();
  const sh = [
    "set -e",
    "mount -t tmpfs hbapitest /run",
    "mkdir -p /run/heartbeat",
    `mount --bind "$1" /run/heartbeat`,
    varRun
      ? ""
      : `mount -t tmpfs hbapitest /var/run && mkdir -p /var/run/heartbeat && mount --bind "$1" /var/run/heartbeat`,
    "shift",
    `${exec} "$@"`,
  ].filter((l) => l !== "").join("\n");
  const out = await new Deno.Command("unshare", {
    args: [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      sh,
      "sh",
      `${runDir}/heartbeat`,
      ...args,
    ],
    stdin: "null",
  }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: mask(out.stderr) };
}

/** Runs hb's cl_status (`deno run -A main.ts cl_status …`) with HB_RUNDIR = `runDir`. */
export async function runOurs(runDir: string, args: string[]): Promise<RunResult> {
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    // --quiet: Deno's own diagnostics (a "Download …" of a cold cache) stay out of stderr
    args: ["run", "-A", "--quiet", main, "cl_status", ...args],
    env: { HB_RUNDIR: runDir },
    stdin: "null",
  }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: mask(out.stderr) };
}

/** A raw IPC client over Deno's unix socket support. */
export class RawClient {
  /** The connection. */
  readonly conn: Deno.UnixConn;
  readonly #reader = new FrameReader();
  readonly #inbox: Message[] = [];
  #eof = false;
  #pending: Promise<Uint8Array | null> | undefined;

  private constructor(conn: Deno.UnixConn) {
    this.conn = conn;
  }

  /** Connects. */
  static async connect(path: string): Promise<RawClient> {
    // Deno's unix connect is non-blocking: with the listen backlog full it fails with EAGAIN
    // where a C client's blocking connect() waits; wait the same way.
    for (let attempt = 0;; attempt++) {
      try {
        return new RawClient(await Deno.connect({ transport: "unix", path }));
      } catch (e) {
        if (!(e instanceof Deno.errors.WouldBlock) || attempt >= 500) throw e;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }

  /** Sends raw bytes (resolves false when the peer is gone). */
  async sendBytes(bytes: Uint8Array): Promise<boolean> {
    try {
      let off = 0;
      while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
      return true;
    } catch {
      return false;
    }
  }

  /** Sends one classic message in a frame. */
  send(fields: [string, string][] | Message): Promise<boolean> {
    const msg = fields instanceof Message ? fields : Message.fromStrings(fields);
    return this.sendBytes(encodeFrame(encodeIpc(msg)));
  }

  /** Next message, or undefined on EOF or after `timeoutMs`. */
  async next(timeoutMs = 3000): Promise<Message | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.#inbox.length === 0 && !this.#eof) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      // One read stays pending across timeouts so that no bytes are lost.
      this.#pending ??= (async () => {
        const buf = new Uint8Array(65536);
        const n = await this.conn.read(buf).catch(() => null);
        return n === null ? null : buf.slice(0, n);
      })();
      const r = await Promise.race([
        this.#pending,
        new Promise<"t">((res) => timer = setTimeout(() => res("t"), left)),
      ]);
      clearTimeout(timer);
      if (r === "t") return undefined;
      this.#pending = undefined;
      if (r === null) {
        this.#eof = true;
        break;
      }
      const p = this.#reader.push(r);
      for (const body of p.frames) {
        const d = decodeMessage(body);
        if (d.ok) this.#inbox.push(d.msg);
      }
    }
    return this.#inbox.shift();
  }

  /** True once EOF was seen (call {@link RawClient.next} first). */
  get eof(): boolean {
    return this.#eof && this.#inbox.length === 0;
  }

  /** Waits for EOF (true) or a timeout (false), discarding messages. */
  async waitEof(timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = await this.next(deadline - Date.now());
      if (m === undefined) return this.#eof;
    }
    return false;
  }

  /** Closes. */
  close(): void {
    try {
      this.conn.close();
    } catch {
      // closed
    }
  }
}

/** Sign-on fields of a casual client with our own pid/uid/gid. */
export function casualSignon(): [string, string][] {
  const pid = String(Deno.pid);
  return [
    ["t", "hbapi-req"],
    ["reqtype", "signon"],
    ["dest", "wa1"],
    ["pid", pid],
    ["from_id", pid],
    ["uid", String(Deno.uid())],
    ["gid", String(Deno.gid())],
  ];
}

/** Number of open descriptors of this process. */
export function openFds(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}
