/**
 * An append-only log file that is written unbuffered, kept open, reopened on demand and
 * checked for rotation (the path now names another inode) — the file half of Heartbeat's
 * logging (spec §6.1).
 *
 * Durability choice: every line is handed to the kernel with `write(2)` on an O_APPEND
 * descriptor before the logging call returns (no user-space buffer). A line therefore
 * survives a crash or kill of the process the moment the call returns; it is not fsync'ed,
 * so an OS crash can still lose the page cache, exactly as with Heartbeat's unbuffered
 * stdio. Each line is one `write(2)` on an O_APPEND descriptor, so lines of concurrent
 * writers (master, children, helpers sharing the file) do not interleave.
 *
 * @module
 */

/** Returns true for paths Heartbeat treats as "no file" (`/dev/null`, any case). */
export function isNullPath(path: string): boolean {
  return path.toLowerCase() === "/dev/null";
}

/** One log file; never throws after construction. */
export class LogFile {
  /** Path as configured. */
  readonly path: string;
  #file: Deno.FsFile | null = null;
  #dev = -1;
  #ino = -1;
  #lastFailedOpen = -Infinity;
  /** Text of the last open/write failure (empty if none). */
  lastError = "";

  /** Creates the object and opens the file (create if missing, append). */
  constructor(path: string) {
    this.path = path;
    this.open();
  }

  /** True while a descriptor is held. */
  get isOpen(): boolean {
    return this.#file !== null;
  }

  /** Opens (or reopens) the file in append mode; returns false (and remembers why) on failure. */
  open(): boolean {
    this.close();
    try {
      const f = Deno.openSync(this.path, { append: true, create: true, mode: 0o644 });
      const st = f.statSync();
      this.#file = f;
      this.#dev = st.dev;
      this.#ino = st.ino ?? -1;
      this.lastError = "";
      return true;
    } catch (e) {
      this.#lastFailedOpen = Date.now();
      this.lastError = e instanceof Error ? e.message : String(e);
      return false;
    }
  }

  /** Closes the descriptor (if any). */
  close(): void {
    if (this.#file === null) return;
    try {
      this.#file.close();
    } catch {
      // closed already; writes are synchronous, so no buffered line is lost either way
    }
    this.#file = null;
  }

  /**
   * Writes all of `bytes` before returning. If the file could not be opened earlier, one
   * new open is attempted per `retryMs`. Returns false when nothing could be written.
   */
  write(bytes: Uint8Array, retryMs = 60_000): boolean {
    if (this.#file === null) {
      if (Date.now() - this.#lastFailedOpen < retryMs || !this.open()) return false;
    }
    const f = this.#file!;
    try {
      let off = 0;
      while (off < bytes.length) off += f.writeSync(bytes.subarray(off));
      return true;
    } catch (e) {
      this.lastError = e instanceof Error ? e.message : String(e);
      return false;
    }
  }

  /**
   * True when the path no longer names the open file (renamed/removed by logrotate, or
   * replaced). Does not reopen; see {@link LogFile.open}.
   */
  rotated(): boolean {
    if (this.#file === null) return false;
    try {
      const st = Deno.statSync(this.path);
      return st.dev !== this.#dev || (st.ino ?? -1) !== this.#ino;
    } catch {
      return true; // the path is gone
    }
  }
}
