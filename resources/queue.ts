/**
 * Serialises resource actions: one runs at a time, the others wait in arrival order, as
 * Heartbeat does for its resource children (spec behavior §6.5). Each request produces a
 * `script-started` and then a `script-result` event, meant to feed the deterministic core.
 *
 * @module
 */
import type {
  GiveGroupResult,
  GroupStatus,
  ResourceManager,
  TakeGroupResult,
  VerifyIdleResult,
} from "./manager.ts";
import type { Env, ResourceGroup, ResourceSpec } from "./types.ts";

/** A resource action to run. `tag` is free text for the caller to recognise the answer. */
export type ResourceRequest =
  | { op: "takegroup"; group: ResourceGroup; env?: Env; tag?: string }
  | { op: "givegroup"; group: ResourceGroup; env?: Env; tag?: string }
  | { op: "statgroup"; group: ResourceGroup; env?: Env; tag?: string }
  | { op: "status"; resource: ResourceSpec; env?: Env; tag?: string }
  | { op: "verifyallidle"; groups: readonly ResourceGroup[]; env?: Env; tag?: string };

/** What a request produced, by operation. */
export type ResourceOutcome =
  | { op: "takegroup"; result: TakeGroupResult }
  | { op: "givegroup"; result: GiveGroupResult }
  | { op: "statgroup"; result: GroupStatus }
  | { op: "status"; result: boolean }
  | { op: "verifyallidle"; result: VerifyIdleResult };

/** Emitted when a queued request starts running. */
export interface ScriptStartedEvent {
  /** Discriminator. */
  kind: "script-started";
  /** Id returned by {@link ResourceQueue.enqueue}. */
  id: number;
  /** The request. */
  request: ResourceRequest;
}

/** Emitted when a request has finished (`outcome`) or failed unexpectedly (`error`). */
export interface ScriptResultEvent {
  /** Discriminator. */
  kind: "script-result";
  /** Id returned by {@link ResourceQueue.enqueue}. */
  id: number;
  /** The request. */
  request: ResourceRequest;
  /** The result, absent when the manager threw. */
  outcome?: ResourceOutcome;
  /** The exception text when the manager threw (a bug, not a script failure). */
  error?: string;
}

/** Events of the queue. */
export type ResourceEvent = ScriptStartedEvent | ScriptResultEvent;

/** The part of {@link ResourceManager} the queue drives (a fake in tests). */
export type ResourceActions = Pick<
  ResourceManager,
  "takeGroup" | "giveGroup" | "statGroup" | "status" | "verifyAllIdle"
>;

interface Job {
  id: number;
  request: ResourceRequest;
  resolve: (ev: ScriptResultEvent) => void;
}

/** One-at-a-time executor of resource requests. */
export class ResourceQueue {
  readonly #rm: ResourceActions;
  readonly #listeners: ((ev: ResourceEvent) => void)[] = [];
  readonly #jobs: Job[] = [];
  #running: Job | null = null;
  #nextId = 1;
  #idleWaiters: (() => void)[] = [];

  /** `onEvent`, if given, receives every event (listeners may also be added later). */
  constructor(rm: ResourceActions, onEvent?: (ev: ResourceEvent) => void) {
    this.#rm = rm;
    if (onEvent !== undefined) this.#listeners.push(onEvent);
  }

  /** Adds an event listener. */
  onEvent(fn: (ev: ResourceEvent) => void): void {
    this.#listeners.push(fn);
  }

  /** True while a request runs. */
  get busy(): boolean {
    return this.#running !== null;
  }

  /** Number of requests waiting (not counting the running one). */
  get pending(): number {
    return this.#jobs.length;
  }

  /** The request running now, if any. */
  get current(): ResourceRequest | null {
    return this.#running?.request ?? null;
  }

  /**
   * Queues a request. Returns its id and a promise of its `script-result` event (the same
   * object the listeners receive).
   */
  enqueue(request: ResourceRequest): { id: number; done: Promise<ScriptResultEvent> } {
    const id = this.#nextId++;
    const done = new Promise<ScriptResultEvent>((resolve) => {
      this.#jobs.push({ id, request, resolve });
    });
    if (this.#running === null) void this.#pump();
    return { id, done };
  }

  /** Resolves when nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (this.#running === null && this.#jobs.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  #emit(ev: ResourceEvent): void {
    for (const l of this.#listeners) {
      try {
        l(ev);
      } catch {
        // a listener's failure must not stop the queue
      }
    }
  }

  async #pump(): Promise<void> {
    while (this.#running === null && this.#jobs.length > 0) {
      const job = this.#jobs.shift()!;
      this.#running = job;
      this.#emit({ kind: "script-started", id: job.id, request: job.request });
      let ev: ScriptResultEvent;
      try {
        ev = {
          kind: "script-result",
          id: job.id,
          request: job.request,
          outcome: await this.#run(job.request),
        };
      } catch (e) {
        ev = {
          kind: "script-result",
          id: job.id,
          request: job.request,
          error: e instanceof Error ? e.message : String(e),
        };
      }
      this.#running = null;
      this.#emit(ev);
      job.resolve(ev);
    }
    if (this.#running === null && this.#jobs.length === 0) {
      const w = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const r of w) r();
    }
  }

  async #run(req: ResourceRequest): Promise<ResourceOutcome> {
    switch (req.op) {
      case "takegroup":
        return { op: req.op, result: await this.#rm.takeGroup(req.group, req.env) };
      case "givegroup":
        return { op: req.op, result: await this.#rm.giveGroup(req.group, req.env) };
      case "statgroup":
        return { op: req.op, result: await this.#rm.statGroup(req.group, req.env) };
      case "status":
        return { op: req.op, result: await this.#rm.status(req.resource, req.env) };
      case "verifyallidle":
        return { op: req.op, result: await this.#rm.verifyAllIdle(req.groups, req.env) };
    }
  }
}
