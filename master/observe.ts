/**
 * Read-only observers of the master runtime (systemd notifications, metrics): they see every
 * core step after its actions were carried out and never change what the master does.
 *
 * @module
 */

import type { NodeCoreAction, NodeCoreEvent } from "../core/node_core.ts";

/** Something that watches the master's core steps. */
export interface RuntimeObserver {
  /** One core step: the event fed and the actions it produced (already carried out). */
  step(ev: NodeCoreEvent, actions: readonly NodeCoreAction[]): void;
}
