/**
 * The `watchdog <device>` directive (config-and-cli.md §7.9, §6.6.18).
 *
 * The master opens the device write-only and close-on-exec when it enters its main loop,
 * sets the timeout with `WDIOC_SETTIMEOUT` to `ceil((deadtime_ms + 10) / 1000)` seconds,
 * writes one NUL byte at open and then each time its **own** status goes through local
 * processing, and at shutdown (start of resource release), before an exec and at exit writes
 * the magic character `V` and closes it, which disarms a `nowayout=0` driver.
 *
 * Heartbeat feeds it from the local (loopback) processing of each status it sends, not from
 * the copy that comes back on a medium (the spec's §7.9 says "only while the node hears
 * itself on some medium"; the binary wins): with `OnlyForTesting`'s `xmitloss=1` nothing is
 * sent, the peers declare the node dead, and the real Heartbeat still writes a NUL every
 * keepalive (testbed: 30 bytes in 3 s at keepalive 100 ms). So only a stuck master starves
 * it, not a dead medium.
 *
 * Feeding is a plain synchronous `write(2)` called from the master's event loop (the code
 * that carries out the core's `send` of our status). There is deliberately no timer and no thread of
 * its own: when the master is stuck (or stopped), nobody feeds and the machine reboots.
 *
 * Deno can neither give the descriptor of a `Deno.FsFile` nor call `ioctl`, so the device is
 * opened, written and closed through libc (Deno FFI); `O_CLOEXEC` keeps it out of every
 * process we start.
 *
 * @module
 */

import {
  errnoText,
  O_CLOEXEC,
  O_WRONLY,
  watchdogLibc as libc,
  WDIOC_SETTIMEOUT,
} from "../sys/watchdog_device.ts";

/** Heartbeat's priority words used here. */
export type WatchdogPriority = "notice" | "ERROR" | "info" | "debug";

/** Logging callback (the master's log function fits). */
export type WatchdogLog = (prio: WatchdogPriority, text: string) => void;

const NUL = new Uint8Array(new ArrayBuffer(1));
const MAGIC = new Uint8Array(new ArrayBuffer(1));
MAGIC[0] = 0x56; // 'V'

/** The timeout Heartbeat programs: `ceil((deadtimeMs + 10) / 1000)` seconds. */
export function watchdogTimeoutSeconds(deadtimeMs: number): number {
  return Math.ceil((deadtimeMs + 10) / 1000);
}

/** An open watchdog device. */
export class Watchdog {
  readonly #device: string;
  readonly #log: WatchdogLog;
  readonly #timeoutSeconds: number;
  readonly #debugging: () => boolean;
  #fd: number;
  #feeds = 0;
  readonly #onUnload = () => this.close();

  private constructor(
    device: string,
    fd: number,
    timeoutSeconds: number,
    log: WatchdogLog,
    debugging: () => boolean,
  ) {
    this.#device = device;
    this.#fd = fd;
    this.#timeoutSeconds = timeoutSeconds;
    this.#log = log;
    this.#debugging = debugging;
  }

  /**
   * Opens `device` (call when the master enters its main loop). Logs
   * `notice: Using watchdog device: <device>`, programs the timeout (failure:
   * `ERROR: WDIOC_SETTIMEOUT: Failed to set watchdog timer to N seconds.: <errno text>`, the
   * device stays in use) and feeds it once. Returns null after
   * `ERROR: Cannot open watchdog device: <device>` (the master runs without).
   *
   * As a safety net the device is also closed (with `V`) by the `unload` event of a normal
   * exit; the master should still call {@link close} itself at shutdown and before exec.
   * `debugging` tells whether the debug level is above 0 (Heartbeat then logs the close).
   */
  static open(
    device: string,
    deadtimeMs: number,
    log: WatchdogLog,
    debugging: () => boolean = () => false,
  ): Watchdog | null {
    const path = new TextEncoder().encode(`${device}\0`);
    const fd = libc().open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      log("ERROR", `Cannot open watchdog device: ${device}`);
      return null;
    }
    log("notice", `Using watchdog device: ${device}`);
    const secs = watchdogTimeoutSeconds(deadtimeMs);
    const arg = new Int32Array(new ArrayBuffer(4));
    arg[0] = secs;
    if (libc().ioctl(fd, WDIOC_SETTIMEOUT, new Uint8Array(arg.buffer)) < 0) {
      log(
        "ERROR",
        `WDIOC_SETTIMEOUT: Failed to set watchdog timer to ${secs} seconds.: ${errnoText()}`,
      );
    }
    const wd = new Watchdog(device, fd, secs, log, debugging);
    globalThis.addEventListener("unload", wd.#onUnload);
    wd.feed();
    return wd;
  }

  /** The device path. */
  get device(): string {
    return this.#device;
  }

  /** True until closed (or closed after a write failure). */
  get isOpen(): boolean {
    return this.#fd >= 0;
  }

  /** The timeout programmed (or attempted), seconds. */
  get timeoutSeconds(): number {
    return this.#timeoutSeconds;
  }

  /** NUL bytes written so far. */
  get feeds(): number {
    return this.#feeds;
  }

  /**
   * Writes one NUL byte. The master calls it each time it sends its own status.
   * On a write failure logs `ERROR: Watchdog write failure: closing <dev>!: <errno text>` and
   * closes the device. Returns false when nothing was written.
   */
  feed(): boolean {
    if (this.#fd < 0) return false;
    if (Number(libc().write(this.#fd, NUL, 1n)) !== 1) {
      this.#log("ERROR", `Watchdog write failure: closing ${this.#device}!: ${errnoText()}`);
      this.close();
      return false;
    }
    this.#feeds++;
    return true;
  }

  /**
   * Magic close: writes `V` and closes (`ERROR: Watchdog write magic character failure:
   * closing <dev>!: <errno text>` if the write fails). Idempotent.
   */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    globalThis.removeEventListener("unload", this.#onUnload);
    if (Number(libc().write(fd, MAGIC, 1n)) !== 1) {
      this.#log(
        "ERROR",
        `Watchdog write magic character failure: closing ${this.#device}!: ${errnoText()}`,
      );
    } else if (this.#debugging()) {
      // Heartbeat logs these two at info, only when debugging
      this.#log("info", "Successful watchdog 'V' write");
    }
    if (libc().close(fd) < 0) this.#log("ERROR", `Watchdog close(2) failed.: ${errnoText()}`);
    else if (this.#debugging()) this.#log("info", "Successful watchdog close");
  }
}
