/**
 * The basic helpers every test shares: waiting on a condition, sleeping (only for "nothing
 * happens" windows and pacing), and the preconditions that make a test fail loudly instead of
 * skipping (root, the real Heartbeat 3.0.6). Helpers of one area sit beside this file in
 * `tests/support/` (`failover.ts`, `interop.ts`, `api.ts`, the fakes, …).
 *
 * @module
 */

import { assert } from "../assert.ts";
import { REAL_CL_STATUS, REAL_HEARTBEAT, REAL_SHARE_DIR } from "../../lab/mod.ts";

export { sleep, waitFor } from "../../lab/mod.ts";

/**
 * Polls `pred` every 20 ms until it holds (true) or `timeoutMs` passed (false, after a last
 * look). For tests that report a miss with their own message, computed after the wait (a log
 * tail); {@link waitFor} throws with a fixed one.
 */
export async function eventually(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return pred();
}

/** Fails (never skips) when the real Heartbeat 3.0.6, its cl_status or hb_standby is missing. */
export async function requireRealHeartbeat(): Promise<void> {
  for (const p of [REAL_HEARTBEAT, REAL_CL_STATUS, `${REAL_SHARE_DIR}/hb_standby`]) {
    const st = await Deno.stat(p).catch(() => undefined);
    assert(st?.isFile, `${p} is missing: install the Debian package heartbeat (3.0.6)`);
  }
}

/** Throws unless running as root (these tests never skip). */
export function requireRoot(): void {
  if (Deno.uid() !== 0) {
    throw new Error("this test must run as root (it is never skipped)");
  }
}

/** Writes an executable script (mode 0755). */
export function writeScript(path: string, body: string): void {
  Deno.writeTextFileSync(path, body);
  Deno.chmodSync(path, 0o755);
}
