/**
 * Serial lines (ttys) through libc (Deno FFI): open, line set-up with termios,
 * reads and writes with errno, flush and break.
 *
 * Why not `Deno.open` or `npm:serialport`: `Deno.open` can pass neither
 * `O_NOCTTY` nor `O_NONBLOCK` and a `Deno.FsFile` exposes no file descriptor,
 * so termios (`tcsetattr`, the baud rate) would need a second descriptor
 * anyway; `npm:serialport` opens the port in its native addon and then writes
 * with `node:fs` `write(fd)`, which under Deno only accepts descriptors Deno
 * opened itself, so every write fails with EBADF (see the README).
 *
 * The descriptor is opened `O_NONBLOCK`: waiting happens in `poll(2)` run on
 * FFI's thread pool, and the read or write itself runs on the JavaScript
 * thread, so `errno` is read on the thread that made the failing call.
 *
 * Linux x86_64/aarch64 glibc only (struct layout and constants).
 *
 * @module
 */

import {
  ERRNO_LOCATION,
  errnoOf,
  LibcError,
  libcGroup,
  O_CLOEXEC,
  O_NOCTTY,
  O_NONBLOCK,
  O_RDWR,
  strerror,
} from "./libc.ts";
import { EAGAIN, EINTR, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT } from "./socket.ts";

/** c_iflag: ignore break. */
export const IGNBRK = 0o1;
/** c_iflag: break flushes the queues (and signals a controlling process). */
export const BRKINT = 0o2;
/** c_iflag: mark parity errors. */
export const PARMRK = 0o10;
/** c_iflag: input parity check. */
export const INPCK = 0o20;
/** c_iflag: strip bit 7. */
export const ISTRIP = 0o40;
/** c_iflag: NL to CR on input. */
export const INLCR = 0o100;
/** c_iflag: ignore CR on input. */
export const IGNCR = 0o200;
/** c_iflag: CR to NL on input. */
export const ICRNL = 0o400;
/** c_iflag: XON/XOFF on output. */
export const IXON = 0o2000;
/** c_iflag: any character restarts output. */
export const IXANY = 0o4000;
/** c_iflag: XON/XOFF on input. */
export const IXOFF = 0o10000;
/** c_oflag: output processing. */
export const OPOST = 0o1;
/** c_cflag: the speed bits. */
export const CBAUD = 0o10017;
/** c_cflag: character size mask. */
export const CSIZE = 0o60;
/** c_cflag: 8 data bits. */
export const CS8 = 0o60;
/** c_cflag: two stop bits. */
export const CSTOPB = 0o100;
/** c_cflag: enable the receiver. */
export const CREAD = 0o200;
/** c_cflag: parity. */
export const PARENB = 0o400;
/** c_cflag: ignore modem control lines. */
export const CLOCAL = 0o4000;
/** c_cflag: RTS/CTS hardware flow control. */
export const CRTSCTS = 0o20000000000;
/** c_lflag: signals from INTR/QUIT/SUSP. */
export const ISIG = 0o1;
/** c_lflag: canonical (line) mode. */
export const ICANON = 0o2;
/** c_lflag: echo. */
export const ECHO = 0o10;
/** c_lflag: extended input processing. */
export const IEXTEN = 0o100000;

/** Index of VTIME in c_cc. */
const VTIME = 5;
/** Index of VMIN in c_cc. */
const VMIN = 6;

/** tcflush: the input queue. */
export const TCIFLUSH = 0;
/** tcflush: the output queue. */
export const TCOFLUSH = 1;
/** tcflush: both queues. */
export const TCIOFLUSH = 2;
const TCSANOW = 0;

/** Baud rates Heartbeat's `baud` directive allows, with their termios speed codes. */
export const BAUD_RATES: ReadonlyMap<number, number> = new Map([
  [9600, 0o15],
  [19200, 0o16],
  [38400, 0o17],
  [57600, 0o10001],
  [115200, 0o10002],
  [230400, 0o10003],
  [460800, 0o10004],
]);

/** Size of glibc's `struct termios` (60 bytes) rounded up. */
const TERMIOS_SIZE = 64;
const OFF_IFLAG = 0;
const OFF_OFLAG = 4;
const OFF_CFLAG = 8;
const OFF_LFLAG = 12;
const OFF_CC = 17;

const symbols = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  tcgetattr: { parameters: ["i32", "buffer"], result: "i32" },
  tcsetattr: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  cfmakeraw: { parameters: ["buffer"], result: "void" },
  cfsetispeed: { parameters: ["buffer", "u32"], result: "i32" },
  cfsetospeed: { parameters: ["buffer", "u32"], result: "i32" },
  cfgetospeed: { parameters: ["buffer"], result: "u32" },
  tcflush: { parameters: ["i32", "i32"], result: "i32" },
  tcsendbreak: { parameters: ["i32", "i32"], result: "i32" },
  isatty: { parameters: ["i32"], result: "i32" },
  ...ERRNO_LOCATION,
} as const;

const libc = libcGroup(symbols);

function errno(): number {
  return errnoOf(libc());
}

function lastError(call: string, known?: number): LibcError {
  const e = known ?? errno();
  return new LibcError(call, e, strerror(e));
}

/** Line settings of {@link TtyPort.open}. */
export interface TtyOptions {
  /** Speed in baud; one of {@link BAUD_RATES}. */
  baud: number;
  /** RTS/CTS hardware flow control (Heartbeat sets it; hb's default is off). */
  flowControl?: boolean;
  /** Send a break after set-up, as Heartbeat does to make the far side flush (default true). */
  sendBreak?: boolean;
}

/** The termios fields a test or a log line may want to look at. */
export interface TtyAttributes {
  /** c_iflag. */
  iflag: number;
  /** c_oflag. */
  oflag: number;
  /** c_cflag. */
  cflag: number;
  /** c_lflag. */
  lflag: number;
  /** Output speed in baud (0 if the code is not one of {@link BAUD_RATES}). */
  baud: number;
  /** c_cc[VMIN]. */
  vmin: number;
  /** c_cc[VTIME]. */
  vtime: number;
}

/** Result of {@link TtyPort.write}. */
export type TtyWriteResult =
  | { ok: true }
  | { ok: false; timeout: true; written: number }
  | { ok: false; timeout: false; error: LibcError };

/**
 * One open tty, set up raw, 8N1, CREAD|CLOCAL, at a fixed speed. Reads and
 * writes never block the JavaScript thread.
 */
export class TtyPort {
  /** The file descriptor. */
  readonly fd: number;
  /** The device path it was opened with. */
  readonly path: string;
  #closed = false;

  private constructor(fd: number, path: string) {
    this.fd = fd;
    this.path = path;
  }

  /**
   * Opens `path` read-write (`O_NOCTTY`, so it never becomes our controlling
   * terminal) and sets the line up. Throws {@link LibcError} naming the failed
   * call; an unsupported baud rate throws a RangeError.
   */
  static open(path: string, opts: TtyOptions): TtyPort {
    const code = BAUD_RATES.get(opts.baud);
    if (code === undefined) {
      throw new RangeError(
        `unsupported baud rate ${opts.baud}; allowed: ${[...BAUD_RATES.keys()].join(" ")}`,
      );
    }
    const c = libc();
    const fd = c.open(
      new TextEncoder().encode(path + "\0"),
      O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC,
    );
    if (fd < 0) throw lastError(`open ${path}`);
    const port = new TtyPort(fd, path);
    try {
      if (c.isatty(fd) !== 1) throw lastError(`isatty ${path}`);
      const t = new Uint8Array(TERMIOS_SIZE);
      if (c.tcgetattr(fd, t) < 0) throw lastError("tcgetattr");
      c.cfmakeraw(t);
      const v = new DataView(t.buffer);
      const get = (off: number) => v.getUint32(off, true);
      const set = (off: number, x: number) => v.setUint32(off, x >>> 0, true);
      // Heartbeat's input flags: parity check, strip bit 7, drop CRs, a break flushes.
      set(
        OFF_IFLAG,
        (get(OFF_IFLAG) & ~(IGNBRK | IXANY | IXOFF | IXON | ICRNL | PARMRK)) |
          INPCK | ISTRIP | IGNCR | BRKINT,
      );
      set(OFF_OFLAG, get(OFF_OFLAG) & ~OPOST);
      let cflag = (get(OFF_CFLAG) & ~(CSIZE | PARENB | CSTOPB | CRTSCTS)) | CS8 | CREAD | CLOCAL;
      if (opts.flowControl) cflag |= CRTSCTS;
      set(OFF_CFLAG, cflag);
      set(OFF_LFLAG, get(OFF_LFLAG) & ~(ICANON | ECHO | ISIG | IEXTEN));
      t[OFF_CC + VMIN] = 1;
      t[OFF_CC + VTIME] = 1;
      if (c.cfsetispeed(t, code) < 0) throw lastError("cfsetispeed");
      if (c.cfsetospeed(t, code) < 0) throw lastError("cfsetospeed");
      if (c.tcsetattr(fd, TCSANOW, t) < 0) throw lastError("tcsetattr");
      c.tcflush(fd, TCIOFLUSH);
      if (opts.sendBreak ?? true) c.tcsendbreak(fd, 0);
    } catch (e) {
      port.close();
      throw e;
    }
    return port;
  }

  /** The line's current settings. Throws {@link LibcError}. */
  attributes(): TtyAttributes {
    const c = libc();
    const t = new Uint8Array(TERMIOS_SIZE);
    if (c.tcgetattr(this.fd, t) < 0) throw lastError("tcgetattr");
    const v = new DataView(t.buffer);
    const code = c.cfgetospeed(t);
    let baud = 0;
    for (const [b, k] of BAUD_RATES) if (k === code) baud = b;
    return {
      iflag: v.getUint32(OFF_IFLAG, true),
      oflag: v.getUint32(OFF_OFLAG, true),
      cflag: v.getUint32(OFF_CFLAG, true),
      lflag: v.getUint32(OFF_LFLAG, true),
      baud,
      vmin: t[OFF_CC + VMIN],
      vtime: t[OFF_CC + VTIME],
    };
  }

  /** Waits (on a helper thread) up to `timeoutMs` for `events`; returns revents, 0 on timeout. */
  async #poll(events: number, timeoutMs: number): Promise<number> {
    // one pollfd per call: a read and a write may wait at the same time
    const pfd = new Uint8Array(8);
    const v = new DataView(pfd.buffer);
    v.setInt32(0, this.fd, true);
    v.setInt16(4, events, true);
    const n = await libc().poll(pfd, 1n, timeoutMs);
    if (n <= 0) return 0;
    return v.getInt16(6, true);
  }

  /**
   * Waits for bytes and returns what is there (at most `max`). Resolves
   * `null` when the port was closed; throws {@link LibcError} when the line
   * fails (`read` error, or end of file: errno 0, e.g. a hung-up pty).
   */
  async read(max = 4096): Promise<Uint8Array | null> {
    const buf = new Uint8Array(max);
    while (true) {
      if (this.#closed) return null;
      const rev = await this.#poll(POLLIN, 1000);
      if (this.#closed) return null;
      if (rev === 0) continue;
      if (rev & POLLNVAL) throw new LibcError("poll", 9, "Bad file descriptor");
      const n = Number(libc().read(this.fd, buf, BigInt(max)));
      if (n > 0) return buf.slice(0, n);
      if (n === 0) throw new LibcError("read", 0, "end of file");
      const e = errno();
      if (e === EAGAIN || e === EINTR) {
        if (rev & (POLLHUP | POLLERR)) {
          // hung up with nothing to read: do not spin
          await new Promise((r) => setTimeout(r, 100));
        }
        continue;
      }
      throw lastError("read", e);
    }
  }

  /**
   * Writes all of `bytes`, waiting at most `timeoutMs` in total for room in
   * the output queue (Heartbeat gives each write 500 ms). Never throws.
   */
  async write(bytes: Uint8Array, timeoutMs = 500): Promise<TtyWriteResult> {
    const data = bytes.buffer instanceof ArrayBuffer
      ? bytes as Uint8Array<ArrayBuffer>
      : new Uint8Array(bytes);
    const deadline = performance.now() + timeoutMs;
    let off = 0;
    while (off < data.length) {
      if (this.#closed) {
        return { ok: false, timeout: false, error: new LibcError("write", 9, "port closed") };
      }
      const n = Number(libc().write(this.fd, data.subarray(off), BigInt(data.length - off)));
      if (n > 0) {
        off += n;
        continue;
      }
      const e = n < 0 ? errno() : EAGAIN;
      if (e !== EAGAIN && e !== EINTR) {
        return { ok: false, timeout: false, error: lastError("write", e) };
      }
      const left = Math.ceil(deadline - performance.now());
      if (left <= 0) return { ok: false, timeout: true, written: off };
      await this.#poll(POLLOUT, left);
    }
    return { ok: true };
  }

  /** Discards queued data (`TCIFLUSH`, `TCOFLUSH` or `TCIOFLUSH`). */
  flush(queue: number = TCIOFLUSH): void {
    if (!this.#closed) libc().tcflush(this.fd, queue);
  }

  /** Closes the descriptor (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    libc().close(this.fd);
  }
}
