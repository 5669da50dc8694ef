/**
 * Injected randomness for the core. The core never calls `Math.random()`:
 * every random choice (ack trigger digits, retransmission-request delays)
 * comes from a {@link Random} given in the configuration, so simulations are
 * reproducible from a seed.
 *
 * @module
 */

/** A source of uniformly distributed numbers in [0, 1). */
export type Random = () => number;

/** A small deterministic PRNG (mulberry32) seeded with a 32-bit integer. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniformly chosen integer in [lo, hi] (both inclusive). */
export function randomInt(random: Random, lo: number, hi: number): number {
  if (hi <= lo) return lo;
  return lo + Math.floor(random() * (hi - lo + 1));
}

/** A 32-bit seed derived from a text and a number (FNV-1a), for default seeding. */
export function seedFrom(text: string, n: number): number {
  let h = 0x811c9dc5;
  const s = `${text}/${n}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
