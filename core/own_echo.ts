/**
 * How often the master needs to hear its own status back from a medium. Our own status is
 * processed when it is sent; its echo (bcast, mcast with loop) only keeps the local end of the
 * link `up`, and a link is declared dead after a dead interval without any packet on it. So
 * the read workers may pass the master one own-status echo per {@link ownEchoSpacingMs} and
 * drop the rest, which saves the master a wake-up per echo (issue 17: the master's wake-ups
 * are most of a node's idle CPU).
 *
 * The spacing keeps a forwarded echo at least every half dead interval while the medium
 * works: echoes come once per keepalive, so two forwarded ones are at most `spacing +
 * keepalive` = `deadtime / 2` apart (plus scheduling delay). With a dead interval under two
 * keepalives, every echo is passed.
 *
 * @module
 */

/**
 * The least time, ms, between two own-status echoes a read worker passes to the master:
 * `deadtime / 2 - keepalive`, or 0 (pass every echo).
 *
 * @example ownEchoSpacingMs(1000, 5000) // 1500: one echo of two at keepalive 1s
 */
export function ownEchoSpacingMs(keepaliveMs: number, deadtimeMs: number): number {
  return Math.max(0, Math.floor(deadtimeMs / 2) - keepaliveMs);
}
