/**
 * `apiauth` evaluation (spec api.md §10) on kernel credentials: a client is authorized when its
 * SO_PEERCRED uid is in the entry's uid list or its SO_PEERCRED gid is in the gid list (only the
 * effective gid; supplementary groups do not count). Casual clients use the `anon` entry; named
 * clients their own id, else `default`.
 *
 * @module
 */

import type { ApiAuthEntry } from "../config/types.ts";

/** Kernel credentials of a connected client. */
export interface KernelCred {
  /** Peer pid. */
  readonly pid: number;
  /** Peer effective uid. */
  readonly uid: number;
  /** Peer effective gid. */
  readonly gid: number;
}

/** cluster-glue `verify_auth`: no lists → OK; else uid ∈ uids or gid ∈ gids. */
export function verifyAuth(
  entry: { uids?: readonly number[]; gids?: readonly number[] },
  cred: KernelCred,
): boolean {
  if (entry.uids === undefined && entry.gids === undefined) return true;
  if (entry.uids?.includes(cred.uid)) return true;
  if (entry.gids?.includes(cred.gid)) return true;
  return false;
}

/**
 * Checks a client's authorization; returns `undefined` when allowed, else Heartbeat's refusal
 * text (`apiauth anon missing`, `no default client auth`, `client failed authorization`).
 */
export function authorize(
  table: ReadonlyMap<string, ApiAuthEntry>,
  clientId: string,
  casual: boolean,
  cred: KernelCred,
): string | undefined {
  let entry: ApiAuthEntry | undefined;
  if (casual) {
    entry = table.get("anon");
    if (entry === undefined) return "apiauth anon missing";
  } else {
    entry = table.get(clientId) ?? table.get("default");
    if (entry === undefined) return "no default client auth";
  }
  return verifyAuth(entry, cred) ? undefined : "client failed authorization";
}
