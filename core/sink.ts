/**
 * The action buffer shared by the core's modules while one event is handled.
 *
 * @module
 */

import type { CoreAction, Priority } from "./types.ts";

/** Collects the actions produced while one event is handled. */
export class ActionSink {
  /** The actions so far, in order. */
  actions: CoreAction[] = [];

  /** Appends a log line. */
  log(prio: Priority, text: string): void {
    this.actions.push({ type: "log", prio, text });
  }

  /** Appends an action. */
  push(action: CoreAction): void {
    this.actions.push(action);
  }

  /** Returns the collected actions and starts a new, empty list. */
  take(): CoreAction[] {
    const out = this.actions;
    this.actions = [];
    return out;
  }
}
