/**
 * The master's persistent files: pid file, uuid, generation counter, FIFO.
 * Each function returns the log lines Heartbeat writes for what it did, so
 * the caller logs them in order.
 *
 * @module
 */

import type { Priority } from "../core/types.ts";

/** A log line to write. */
export interface Note {
  /** Priority word. */
  prio: Priority;
  /** Text. */
  text: string;
}

/**
 * A state file that exists but cannot be read (permissions, I/O error, a directory in its place).
 * Only a missing file is created afresh; anything else would silently change the node's identity
 * (uuid) or reuse a generation, so the daemon refuses to start with this error's message.
 */
export class StateFileError extends Error {
  /** The file's path. */
  readonly path: string;

  /**
   * @param what which file, as the log line names it (`uuid`, `generation`)
   * @param path the file's path
   * @param cause the error of the read
   */
  constructor(what: string, path: string, cause: unknown) {
    super(`Cannot read ${what} file [${path}]: ${osErrorText(cause)}`, { cause });
    this.name = "StateFileError";
    this.path = path;
  }
}

/**
 * The OS's words for an error: Deno's message without its trailing `: <op> '<path>'`
 * (the path is already in our line).
 */
function osErrorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  return e.message.replace(/: [a-z_]+ '.*'$/s, "");
}

/**
 * Reads a state file; undefined only when it does not exist
 * (`Deno.errors.NotFound`). Any other failure throws a {@link StateFileError}.
 */
function readStateFile(what: string, path: string): Uint8Array | undefined {
  try {
    return Deno.readFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new StateFileError(what, path, e);
  }
}

/** Reads the pid in a pid file; undefined when missing or garbage. */
export function readPidFile(path: string): number | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
  const pid = parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** True if a process with this pid exists. */
export function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // a zombie is not "running"
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** The pid of a running master, from the pid file. */
export function runningPid(pidFile: string): number | undefined {
  const pid = readPidFile(pidFile);
  return pid !== undefined && pid !== Deno.pid && processAlive(pid) ? pid : undefined;
}

/** Writes our pid (Heartbeat leaves the file in place at exit). */
export function writePidFile(path: string, pid = Deno.pid): void {
  Deno.writeTextFileSync(path, `${pid}\n`);
}

/**
 * Reads this node's uuid, creating one when the file is missing or does not hold 16 bytes
 * (`info: No uuid found for current node - generating a new uuid.`).
 *
 * @throws {StateFileError} when the file exists but cannot be read.
 */
export function loadOrCreateUuid(path: string): { uuid: Uint8Array; notes: Note[] } {
  const bytes = readStateFile("uuid", path);
  if (bytes?.length === 16) return { uuid: bytes, notes: [] };
  const uuid = crypto.getRandomValues(new Uint8Array(16));
  uuid[6] = (uuid[6] & 0x0f) | 0x40;
  uuid[8] = (uuid[8] & 0x3f) | 0x80;
  Deno.writeFileSync(path, uuid, { mode: 0o644 });
  return {
    uuid,
    notes: [{ prio: "info", text: "No uuid found for current node - generating a new uuid." }],
  };
}

/**
 * Increments and stores the generation counter (`hbgenmethod file`).
 * Missing file (or no number in it): starts at the current time
 * (`WARN: No Previous generation - starting at N`) and uses N, as the real binary does.
 *
 * @throws {StateFileError} when the file exists but cannot be read.
 */
export function nextGeneration(
  path: string,
  nowSeconds: number,
): { generation: number; notes: Note[] } {
  const notes: Note[] = [];
  let previous: number | undefined;
  let fresh = false;
  const bytes = readStateFile("generation", path);
  if (bytes !== undefined) {
    const n = parseInt(new TextDecoder().decode(bytes).trim(), 10);
    if (Number.isInteger(n) && n >= 0) previous = n;
  }
  if (previous === undefined) {
    // The real 3.0.6 binary uses the start value itself (the spec says N+1; the binary wins).
    previous = Math.floor(nowSeconds);
    fresh = true;
    notes.push({ prio: "WARN", text: `No Previous generation - starting at ${previous}` });
  }
  const generation = fresh ? previous : previous + 1;
  const file = Deno.openSync(path, { write: true, create: true, truncate: true });
  try {
    file.writeSync(new TextEncoder().encode(String(generation).padStart(15) + "\n"));
    file.syncSync();
  } finally {
    file.close();
  }
  return { generation, notes };
}

/** Creates the FIFO (mode 0600) if missing (`info: Creating FIFO <path>.`). */
export function ensureFifo(path: string): Note[] {
  try {
    const st = Deno.statSync(path);
    if (st.isFifo) return [];
    Deno.removeSync(path);
  } catch {
    // missing (the usual case); unreadable or not removable: mkfifo below fails and says why
  }
  const r = new Deno.Command("mkfifo", { args: ["-m", "600", path], stderr: "piped" })
    .outputSync();
  if (!r.success) {
    return [{
      prio: "ERROR",
      text: `Cannot create FIFO ${path}: ${new TextDecoder().decode(r.stderr).trim()}`,
    }];
  }
  return [{ prio: "info", text: `Creating FIFO ${path}.` }];
}
