/**
 * Runs one resource script: `<path> [args…] <action>` in a new session (its own process
 * group), with captured output and an optional time limit after which the whole process
 * group is killed.
 *
 * Output is not read to end-of-file: Heartbeat writes script output to the debug file, so a
 * daemon started by a script that keeps stdout open does not hold ResourceManager up. We wait
 * for the script itself to exit, then take what its pipes deliver within `drainMs`.
 *
 * @module
 */

import { SIGNAL_NUMBERS } from "../sys/signals.ts";
import type { Env } from "./types.ts";

/** Options of {@link runScript}. */
export interface RunOptions {
  /** The complete environment of the script (nothing else is inherited). */
  env: Env;
  /** Time limit in ms; 0 or absent = none. On expiry the process group gets SIGKILL. */
  timeoutMs?: number;
  /** How long to keep reading output after the script exited (default 200 ms). */
  drainMs?: number;
}

/** What a script run produced. */
export interface RunResult {
  /** Exit code as a shell sees it: the status, or 128 + signal number when killed. */
  code: number;
  /** Captured standard output. */
  stdout: string;
  /** Captured standard error. */
  stderr: string;
  /** True when the time limit expired and the process group was killed. */
  timedOut: boolean;
  /** Set when the script could not be started at all (exec error text). */
  spawnError?: string;
}

async function collect(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  sink: Uint8Array[],
): Promise<void> {
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      sink.push(value);
    }
  } catch {
    // cancelled or broken pipe: keep what we have
  } finally {
    reader.releaseLock();
  }
}

function text(chunks: Uint8Array[]): string {
  const len = chunks.reduce((n, c) => n + c.length, 0);
  const all = new Uint8Array(len);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return new TextDecoder().decode(all);
}

/** Resolves true when `p` settles within `ms`, false otherwise; leaves no timer behind. */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** Kills a process group; errors (already gone) are ignored. */
export function killGroup(pid: number, signal: Deno.Signal = "SIGKILL"): void {
  try {
    Deno.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

/**
 * Runs `path args…` (the action is the caller's last argument) and resolves when it exited.
 * Never throws: an exec failure gives code 126/127 with `spawnError` set.
 */
export async function runScript(
  path: string,
  args: string[],
  opts: RunOptions,
): Promise<RunResult> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(path, {
      args,
      env: opts.env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true, // setsid(): the script and its children form one process group
    }).spawn();
  } catch (e) {
    const notFound = e instanceof Deno.errors.NotFound;
    return {
      code: notFound ? 127 : 126,
      stdout: "",
      stderr: "",
      timedOut: false,
      spawnError: (e as Error).message,
    };
  }
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const outReader = child.stdout.getReader();
  const errReader = child.stderr.getReader();
  const readers = Promise.all([collect(outReader, out), collect(errReader, err)]);
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) {
    timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, "SIGKILL");
    }, opts.timeoutMs);
  }
  const status = await child.status;
  if (timer !== undefined) clearTimeout(timer);
  // Children left behind by a killed script would keep the pipes open: they die with it.
  if (timedOut) killGroup(child.pid, "SIGKILL");
  if (!(await within(readers, opts.drainMs ?? 200))) {
    await Promise.allSettled([outReader.cancel(), errReader.cancel()]);
    await readers;
  }
  const code = status.signal !== null ? 128 + (SIGNAL_NUMBERS[status.signal] ?? 0) : status.code;
  return { code, stdout: text(out), stderr: text(err), timedOut };
}
