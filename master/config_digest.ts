/**
 * The configuration digests hb nodes exchange in their heartbeats to find configuration drift
 * (core/drift.ts): haresources (the normalised group lines, comments and spacing left out),
 * authkeys (a SHA-256 of the key material: the keys never leave the node, and 48 bits of a
 * hash say nothing usable about them) and the timing directives (keepalive, deadtime,
 * warntime, initdead, deadping, in ms). Each digest is the first 12 hex characters of a
 * SHA-256.
 *
 * @module
 */

import type { ConfigDigest } from "../core/drift.ts";
import type { AuthKeys } from "../wire/auth.ts";
import { sha256Hex } from "../wire/digest.ts";
import type { CoreConfig } from "../core/types.ts";

const LEN = 12;

/** Digest of the authkeys key material. */
export function authkeysDigest(keys: AuthKeys): string {
  const lines = [`auth ${keys.active}`];
  for (const [i, k] of [...keys.keys].sort((a, b) => a[0] - b[0])) {
    lines.push(`${i} ${k.method} ${k.secret}`);
  }
  return sha256Hex(lines.join("\n")).slice(0, LEN);
}

/** What the digests are made of (master/plan.ts's StartConfig fits). */
export interface DigestInput {
  /** The loaded configuration (haresources groups; absent or undefined: none). */
  readonly loaded?: { readonly haresources?: { readonly groups: readonly { text: string }[] } };
  /** The core's timing. */
  readonly core: Pick<
    CoreConfig,
    "keepaliveMs" | "deadtimeMs" | "warntimeMs" | "initdeadMs" | "deadpingMs"
  >;
  /** The keys. */
  readonly keys: AuthKeys;
}

/** The digests of a loaded configuration. */
export function configDigest(cfg: DigestInput): ConfigDigest {
  const groups = cfg.loaded?.haresources?.groups ?? [];
  const c = cfg.core;
  const timing = [
    `keepalive ${c.keepaliveMs}`,
    `deadtime ${c.deadtimeMs}`,
    `warntime ${c.warntimeMs}`,
    `initdead ${c.initdeadMs}`,
    `deadping ${c.deadpingMs}`,
  ];
  return {
    haresources: sha256Hex(groups.map((g) => g.text).join("\n")).slice(0, LEN),
    authkeys: authkeysDigest(cfg.keys),
    timing: sha256Hex(timing.join("\n")).slice(0, LEN),
  };
}
