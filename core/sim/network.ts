/**
 * The simulated network of a {@link SimCluster}: every link is a broadcast segment; each
 * delivery can be dropped, duplicated, delayed (with jitter, hence reordered) per directed pair
 * of nodes ({@link SimNetwork.setPath}), a node's attachment to a link can be cut
 * ({@link SimNetwork.setLinkCut}), a receiver can lose a share of what it gets
 * ({@link SimNetwork.setLoss}), and a filter can drop chosen deliveries. It decides the fate of
 * each delivery (with the cluster's seeded randomness) and records when a path last lost or held
 * back a packet ({@link SimNetwork.lastDisturbed}); the cluster schedules what arrives.
 *
 * @module
 */

import type { CoreMessage } from "../message.ts";
import type { Random } from "../random.ts";

/** Decides whether to drop one delivery (`from` → `to` on `link`). */
export type DropFilter = (from: string, to: string, link: string, msg: CoreMessage) => boolean;

/** Faults of one directed path `from` → `to` (every link). */
export interface PathFaults {
  /** Every packet is lost (a partition in this direction). */
  cut?: boolean;
  /** Percentage of packets lost. */
  dropPct?: number;
  /** Percentage of packets delivered twice. */
  dupPct?: number;
  /** Extra one-way delay, ms. */
  delayMs?: number;
  /** Random extra delay in [0, jitterMs] per packet (reorders packets). */
  jitterMs?: number;
}

/** How one delivery arrives. */
export interface Delivery {
  /** Delay from sending (ms). */
  delayMs: number;
  /** How many copies arrive (1 ms apart). */
  copies: number;
}

/** The network faults of a simulated cluster and the fate of each delivery. */
export class SimNetwork {
  /**
   * Last virtual time a packet `from` → `to` was lost or held back (key
   * `from>to`): the explorer's notion of two nodes "hearing each other".
   */
  readonly lastDisturbed = new Map<string, number>();
  /** Link cuts: "node/link" → true when that node's attachment to the link is down. */
  readonly #cut = new Set<string>();
  /** Loss percentage per "node/link" (applied to packets that node receives). */
  readonly #loss = new Map<string, number>();
  /** Faults per directed path "from>to". */
  readonly #paths = new Map<string, PathFaults>();
  #dropFilter: DropFilter | undefined;
  readonly #random: Random;
  readonly #now: () => number;
  readonly #latencyMs: number;
  readonly #keepaliveMs: number;

  /**
   * A network with no faults: every delivery takes `latencyMs`; a packet held back longer than
   * `keepaliveMs` counts as a disturbance.
   */
  constructor(opts: {
    random: Random;
    now: () => number;
    latencyMs: number;
    keepaliveMs: number;
  }) {
    this.#random = opts.random;
    this.#now = opts.now;
    this.#latencyMs = opts.latencyMs;
    this.#keepaliveMs = opts.keepaliveMs;
  }

  /** Cuts (or restores) one node's attachment to a link. */
  setLinkCut(name: string, link: string, cut: boolean): void {
    const key = `${name}/${link}`;
    if (cut) this.#cut.add(key);
    else this.#cut.delete(key);
  }

  /** Whether `name`'s attachment to `link` is cut. */
  isCut(name: string, link: string): boolean {
    return this.#cut.has(`${name}/${link}`);
  }

  /** Sets random loss (percent) of packets a node receives on a link (seeded PRNG). */
  setLoss(name: string, link: string, percent: number): void {
    this.#loss.set(`${name}/${link}`, percent);
  }

  /** Sets (replaces) the faults of the directed path `from` → `to`; `{}` clears them. */
  setPath(from: string, to: string, faults: PathFaults): void {
    const key = `${from}>${to}`;
    if (Object.values(faults).some((v) => v)) this.#paths.set(key, { ...faults });
    else this.#paths.delete(key);
    if (faults.cut) this.lastDisturbed.set(key, this.#now());
  }

  /** The faults of the directed path `from` → `to`. */
  path(from: string, to: string): PathFaults {
    return this.#paths.get(`${from}>${to}`) ?? {};
  }

  /** Cuts both directions between every node of `a` and every node of `b`. */
  partition(a: readonly string[], b: readonly string[]): void {
    for (const x of a) {
      for (const y of b) {
        this.setPath(x, y, { ...this.path(x, y), cut: true });
        this.setPath(y, x, { ...this.path(y, x), cut: true });
      }
    }
  }

  /** Removes every path fault. */
  healAll(): void {
    this.#paths.clear();
  }

  /** Installs (or removes) a filter dropping chosen deliveries. */
  setDropFilter(filter: DropFilter | undefined): void {
    this.#dropFilter = filter;
  }

  /** Records that a packet `from` → `to` was lost or held back now. */
  disturb(from: string, to: string): void {
    if (from !== to) this.lastDisturbed.set(`${from}>${to}`, this.#now());
  }

  /**
   * The fate of `msg` sent by `from` on `link` to `to` (whose attachment is not cut): null when
   * it is lost (recorded as a disturbance), else when and how often it arrives.
   */
  delivery(from: string, to: string, link: string, msg: CoreMessage): Delivery | null {
    if (this.isCut(to, link)) {
      this.disturb(from, to);
      return null;
    }
    const loss = this.#loss.get(`${to}/${link}`) ?? 0;
    if (loss > 0 && this.#random() * 100 < loss) {
      this.disturb(from, to);
      return null;
    }
    if (this.#dropFilter && this.#dropFilter(from, to, link, msg)) {
      this.disturb(from, to);
      return null;
    }
    let delayMs = this.#latencyMs;
    let copies = 1;
    const path = to === from ? undefined : this.#paths.get(`${from}>${to}`);
    if (path) {
      if (path.cut || (path.dropPct && this.#random() * 100 < path.dropPct)) {
        this.disturb(from, to);
        return null;
      }
      if (path.dupPct && this.#random() * 100 < path.dupPct) copies = 2;
      delayMs += path.delayMs ?? 0;
      if (path.jitterMs) delayMs += Math.floor(this.#random() * (path.jitterMs + 1));
      // a packet held back longer than a keepalive is as good as lost for liveness
      if (delayMs - this.#latencyMs > this.#keepaliveMs) this.disturb(from, to);
    }
    return { delayMs, copies };
  }
}
