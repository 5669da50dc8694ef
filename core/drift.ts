/**
 * hb peers and configuration drift (deterministic, no I/O).
 *
 * Every hb node adds two fields to its own status messages (heartbeats):
 *
 * - `hbver=<hb version>`: the node runs hb (the real Heartbeat 3.0.6 never sends it, and
 *   ignores it: its status handler reads `st`, `dt` and `protocol` only);
 * - `hbcfg=r:<digest>,a:<digest>,t:<digest>`: digests of the node's haresources, of its
 *   authkeys key material (a hash of the keys, never the keys) and of its timing directives
 *   (master/config_digest.ts computes them).
 *
 * {@link PeerTracker} reads those fields from every peer's status: which implementation a peer
 * runs, and which of the three digests differ from ours. A difference is logged at WARN once
 * per change (a new set of differing parts, or a peer's new digest), naming the parts and the
 * node; its end is logged at info. A peer whose status carries no `hbver` runs Heartbeat: it
 * is never compared.
 *
 * @module
 */

import type { Priority } from "./types.ts";

/** Field of a status message carrying hb's version. */
export const HB_VERSION_FIELD = "hbver";
/** Field of a status message carrying the configuration digests. */
export const HB_CONFIG_FIELD = "hbcfg";

/** The parts of the configuration that are compared, with their names in logs and status. */
export const DRIFT_PARTS = {
  r: "haresources",
  a: "authkeys",
  t: "timing",
} as const;

/** A part name: `haresources`, `authkeys` or `timing`. */
export type DriftPart = (typeof DRIFT_PARTS)[keyof typeof DRIFT_PARTS];

/** Digests of one node's configuration (short lowercase hex). */
export interface ConfigDigest {
  /** haresources (normalised groups, comments and spacing left out). */
  readonly haresources: string;
  /** authkeys key material (methods and keys, hashed). */
  readonly authkeys: string;
  /** Timing directives (keepalive, deadtime, warntime, initdead, deadping). */
  readonly timing: string;
}

/** Encodes digests as the `hbcfg` value. */
export function encodeDigest(d: ConfigDigest): string {
  return `r:${d.haresources},a:${d.authkeys},t:${d.timing}`;
}

/** Decodes an `hbcfg` value (undefined when it is not one). */
export function decodeDigest(text: string): ConfigDigest | undefined {
  const parts = new Map<string, string>();
  for (const item of text.split(",")) {
    const m = /^([rat]):([0-9a-f]{1,64})$/.exec(item);
    if (!m) return undefined;
    parts.set(m[1], m[2]);
  }
  const r = parts.get("r"), a = parts.get("a"), t = parts.get("t");
  if (r === undefined || a === undefined || t === undefined) return undefined;
  return { haresources: r, authkeys: a, timing: t };
}

/** The parts in which two digests differ, in {@link DRIFT_PARTS} order. */
export function differingParts(a: ConfigDigest, b: ConfigDigest): DriftPart[] {
  const out: DriftPart[] = [];
  for (const part of Object.values(DRIFT_PARTS)) if (a[part] !== b[part]) out.push(part);
  return out;
}

/** What is known of a peer's implementation and configuration. */
export interface PeerInfo {
  /** `hb`, `heartbeat` (a status without `hbver`), or `unknown` (no status seen yet). */
  readonly implementation: "hb" | "heartbeat" | "unknown";
  /** hb's version for an hb peer. */
  readonly version?: string;
  /** The peer's digests (hb peers that sent them). */
  readonly digest?: ConfigDigest;
  /** Parts that differ from ours (empty: none, or not comparable). */
  readonly drift: readonly DriftPart[];
}

/** A log line of the tracker. */
export interface PeerLog {
  /** Priority. */
  readonly prio: Priority;
  /** Text. */
  readonly text: string;
}

/** Follows the implementation and configuration digests of every peer. */
export class PeerTracker {
  #own: ConfigDigest | undefined;
  readonly #peers = new Map<string, PeerInfo>();
  /** Last logged drift per peer: `parts|peer digest`. */
  readonly #logged = new Map<string, string>();

  /** `own`: our digests (undefined: we do not compare). */
  constructor(own: ConfigDigest | undefined) {
    this.#own = own;
  }

  /** Our digests. */
  get own(): ConfigDigest | undefined {
    return this.#own;
  }

  /** What is known of `node` (undefined before its first status). */
  peer(node: string): PeerInfo | undefined {
    return this.#peers.get(node);
  }

  /** Every peer heard so far. */
  peers(): ReadonlyMap<string, PeerInfo> {
    return this.#peers;
  }

  /** Our digests changed (authkeys reread): every hb peer is compared again. */
  setOwn(own: ConfigDigest | undefined): PeerLog[] {
    this.#own = own;
    const out: PeerLog[] = [];
    for (const [node, p] of this.#peers) {
      if (p.implementation === "hb") this.#compare(node, p.version, p.digest, out);
    }
    return out;
  }

  /**
   * A status message from peer `node`: its `hbver` and `hbcfg` fields (undefined when absent).
   * Returns the log lines (a drift found, changed or gone).
   */
  status(node: string, version: string | undefined, config: string | undefined): PeerLog[] {
    const out: PeerLog[] = [];
    if (version === undefined) {
      const before = this.#peers.get(node);
      if (before?.implementation !== "heartbeat") {
        this.#peers.set(node, { implementation: "heartbeat", drift: [] });
        this.#logged.delete(node);
      }
      return out;
    }
    const prev = this.#peers.get(node);
    if (
      prev !== undefined && prev.implementation === "hb" && prev.version === version &&
      (config === undefined ? prev.digest === undefined : prev.digest !== undefined &&
        encodeDigest(prev.digest) === config)
    ) return out;
    const digest = config === undefined ? undefined : decodeDigest(config);
    if (config !== undefined && digest === undefined && prev?.digest !== undefined) {
      out.push({
        prio: "WARN",
        text: `Node ${node} sent an unreadable ${HB_CONFIG_FIELD}: ${config}`,
      });
    }
    this.#compare(node, version, digest, out);
    return out;
  }

  #compare(
    node: string,
    version: string | undefined,
    digest: ConfigDigest | undefined,
    out: PeerLog[],
  ): void {
    const own = this.#own;
    const drift = own !== undefined && digest !== undefined ? differingParts(own, digest) : [];
    this.#peers.set(node, {
      implementation: "hb",
      ...(version !== undefined ? { version } : {}),
      ...(digest !== undefined ? { digest } : {}),
      drift,
    });
    const key = drift.length === 0 ? "" : `${drift.join(",")}|${encodeDigest(digest!)}`;
    const before = this.#logged.get(node) ?? "";
    if (key === before) return;
    this.#logged.set(node, key);
    if (drift.length > 0) {
      const what = drift.map((p) => `${p} (ours ${own![p]}, theirs ${digest![p]})`).join(", ");
      out.push({
        prio: "WARN",
        text: `Configuration drift: node ${node} differs in ${what}`,
      });
    } else {
      out.push({ prio: "info", text: `Configuration drift: node ${node} matches again` });
    }
  }
}
