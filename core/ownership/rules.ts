/**
 * Pure helpers of the ownership protocol: held-set classes and the choice of
 * one owner per group (hb's fixes for 3+ nodes and healed partitions).
 *
 * @module
 */

import { type OwnedGroup, RSC_ALL, RSC_FOREIGN, RSC_LOCAL, RSC_NAMES, RSC_NONE } from "./types.ts";

/** Heartbeat's HB_UPD_RSC: a full report replaces, a partial one ORs in, except `none` clears. */
export function updateHeld(full: boolean, current: number, update: number): number {
  if (full) return update;
  return update === RSC_NONE ? RSC_NONE : (update | current);
}

/** The class number of a wire name, or -1 when unknown. */
export function encodeClass(name: string): number {
  return (RSC_NAMES as readonly string[]).indexOf(name);
}

/** The wire name of a class number. */
export function className(cls: number): string {
  return RSC_NAMES[cls] ?? "(undefined)";
}

/**
 * The class acted on by the node answering a standby request of `requested`
 * (go_standby's "actresources" for OTHER): the requester's local groups are
 * our foreign ones and vice versa; all stays all.
 */
export function complementClass(requested: number): number {
  if (requested === RSC_LOCAL) return RSC_FOREIGN;
  if (requested === RSC_FOREIGN) return RSC_LOCAL;
  return RSC_ALL;
}

/** Keys of the groups of class `cls` seen from `me` (ourkeys / otherkeys / allkeys), file order. */
export function keysOfClass(groups: readonly OwnedGroup[], me: string, cls: number): string[] {
  return groups.filter((g) => g.node === me ? (cls & RSC_LOCAL) !== 0 : (cls & RSC_FOREIGN) !== 0)
    .map((g) => g.key);
}

/** Keys of the groups whose preferred node is `node` (ResourceManager listkeys). */
export function keysOf(groups: readonly OwnedGroup[], node: string): string[] {
  return groups.filter((g) => g.node === node).map((g) => g.key);
}

/**
 * hb's deterministic choice of one node among `alive` (in ha.cf order
 * `nodes`) for a group preferred by `owner`: the owner itself when alive and
 * not excluded, else the first alive, not excluded node in ha.cf order;
 * undefined when nobody qualifies.
 */
export function designatedNode(
  nodes: readonly string[],
  alive: (n: string) => boolean,
  owner: string,
  exclude: ReadonlySet<string> = new Set(),
): string | undefined {
  if (alive(owner) && !exclude.has(owner) && nodes.includes(owner)) return owner;
  return nodes.find((n) => alive(n) && !exclude.has(n));
}

/** True when the class `peerCls` reported by `peer` covers group `g` (seen from the peer). */
export function peerClassCovers(peerCls: number, peer: string, g: OwnedGroup): boolean {
  return g.node === peer ? (peerCls & RSC_LOCAL) !== 0 : (peerCls & RSC_FOREIGN) !== 0;
}

/**
 * hb's choice of the one node that keeps a group both `a` and `b` run (duplicate resolution
 * after a healed partition): the group's preferred node `owner` when it is one of them, else
 * the one of them that comes first in ha.cf order. Both sides compute the same answer.
 */
export function pairKeeper(nodes: readonly string[], owner: string, a: string, b: string): string {
  if (owner === a || owner === b) return owner;
  const ia = nodes.indexOf(a), ib = nodes.indexOf(b);
  if (ia < 0) return b;
  if (ib < 0) return a;
  return ia <= ib ? a : b;
}
