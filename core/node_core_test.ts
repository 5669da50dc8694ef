/**
 * NodeCore driven directly with events (no simulator): two nodes wired back to back hear each
 * other, start their own groups, and when one goes silent the other declares it dead, fences
 * it and takes its group over. Time is the events' `now`; nothing waits.
 */

import { assert, assertEquals } from "../tests/assert.ts";
import { NodeCore, type NodeCoreAction } from "./node_core.ts";
import type { CoreConfig } from "./types.ts";
import type { CoreMessage } from "./message.ts";

const KEEPALIVE_MS = 1000;
const DEADTIME_MS = 5000;

function config(nodeName: string, uuidByte: number): CoreConfig {
  return {
    nodeName,
    nodes: ["node1", "node2"],
    pingNodes: [],
    links: ["eth0"],
    keepaliveMs: KEEPALIVE_MS,
    deadtimeMs: DEADTIME_MS,
    warntimeMs: 3000,
    initdeadMs: 10_000,
    deadpingMs: DEADTIME_MS,
    hopfudge: 1,
    generation: 1,
    uuid: new Uint8Array(16).fill(uuidByte),
    random: () => 0.5,
  };
}

const MEDIUM = { kind: "medium", channel: 0 } as const;

const GROUPS = [{ node: "node1", key: "198.18.5.11" }, { node: "node2", key: "198.18.5.12" }];

/** Two NodeCores whose sent messages reach each other while `linked`; group runs succeed. */
class Pair {
  readonly cores: Record<string, NodeCore>;
  readonly actions: Record<string, NodeCoreAction[]> = { node1: [], node2: [] };
  now = 0;
  linked = true;

  constructor() {
    this.cores = {
      node1: new NodeCore(config("node1", 1), {
        groups: GROUPS,
        autoFailback: "on",
        stonith: true,
      }),
      node2: new NodeCore(config("node2", 2), {
        groups: GROUPS,
        autoFailback: "on",
        stonith: true,
      }),
    };
  }

  #handle(node: string, ev: Parameters<NodeCore["handle"]>[0]): void {
    const out = this.cores[node].handle(ev);
    this.actions[node].push(...out);
    const other = node === "node1" ? "node2" : "node1";
    for (const a of out) {
      if (a.type === "send" && !a.lost) {
        // looped back to ourselves (as Heartbeat's own status), and to the peer while linked
        this.#queue.push([node, a.msg]);
        if (this.linked) this.#queue.push([other, a.msg]);
      } else if (a.type === "run") {
        for (const key of a.keys) {
          this.#results.push([node, {
            id: a.id,
            key,
            result: a.op === "give" ? "released" : "started",
          }]);
        }
      } else if (a.type === "fence") {
        this.#fenced.push([node, a.node]);
      }
    }
  }

  #queue: [string, CoreMessage][] = [];
  #results: [string, { id: number; key: string; result: "started" | "released" }][] = [];
  #fenced: [string, string][] = [];

  #drain(): void {
    for (let guard = 0; guard < 10_000; guard++) {
      const t = { now: this.now, wallClock: this.now };
      const m = this.#queue.shift();
      const r = m ? undefined : this.#results.shift();
      const f = m || r ? undefined : this.#fenced.shift();
      if (m) this.#handle(m[0], { type: "message", ...t, origin: MEDIUM, msg: m[1] });
      else if (r) this.#handle(r[0], { type: "group-result", ...t, ...r[1] });
      else if (f) this.#handle(f[0], { type: "fenced", ...t, node: f[1], result: "OK" });
      else return;
    }
    throw new Error("the two cores never went quiet");
  }

  start(): void {
    for (const n of ["node1", "node2"]) {
      this.#handle(n, { type: "start", now: this.now, wallClock: this.now });
    }
    this.#drain();
  }

  /** Runs both cores for `ms` of virtual time, ticking each at its own deadlines. */
  run(ms: number, nodes = ["node1", "node2"]): void {
    const end = this.now + ms;
    for (;;) {
      const due = Math.min(...nodes.map((n) => this.cores[n].nextDeadline()));
      if (!(due <= end)) break;
      this.now = Math.max(this.now, due);
      for (const n of nodes) {
        if (this.cores[n].nextDeadline() <= this.now) {
          this.#handle(n, { type: "tick", now: this.now, wallClock: this.now });
        }
      }
      this.#drain();
    }
    this.now = end;
  }

  saw(node: string, pred: (a: NodeCoreAction) => boolean): boolean {
    return this.actions[node].some(pred);
  }
}

Deno.test("NodeCore: two nodes hear each other and each starts its own group", () => {
  const p = new Pair();
  p.start();
  assert(p.saw("node1", (a) => a.type === "send" && a.msg.type === "status"), "node1 sends status");
  p.run(30_000);
  for (const [me, peer] of [["node1", "node2"], ["node2", "node1"]]) {
    assert(
      p.saw(me, (a) => a.type === "node-status" && a.node === peer && a.status === "active"),
      `${me} sees ${peer} active`,
    );
    assert(p.saw(me, (a) => a.type === "comm-up"), `${me}: communication up`);
  }
  assertEquals(p.cores.node1.rscstatus(), "local");
  assertEquals(p.cores.node2.rscstatus(), "local");
  assertEquals(p.cores.node1.ownership?.holding, ["198.18.5.11"]);
  assertEquals(p.cores.node2.ownership?.holding, ["198.18.5.12"]);
  assertEquals(p.cores.node1.monitorStates(), [], "no hb.cf monitor");
});

Deno.test("NodeCore: a silent peer is declared dead, fenced, and its group taken over", () => {
  const p = new Pair();
  p.start();
  p.run(30_000);
  p.linked = false;
  p.actions.node1.length = 0;
  p.run(DEADTIME_MS * 3, ["node1"]);
  assert(
    p.saw("node1", (a) => a.type === "node-status" && a.node === "node2" && a.status === "dead"),
    "node2 declared dead",
  );
  assert(p.saw("node1", (a) => a.type === "fence" && a.node === "node2"), "node2 fenced");
  assert(
    p.saw("node1", (a) => a.type === "run" && a.op === "take" && a.keys.includes("198.18.5.12")),
    "node2's group taken",
  );
  assertEquals(p.cores.node1.rscstatus(), "all");
});

Deno.test("NodeCore: membership only (-M) has no ownership", () => {
  const core = new NodeCore(config("node1", 1));
  const out = core.handle({ type: "start", now: 0, wallClock: 0 });
  assert(out.some((a) => a.type === "send"));
  assertEquals(core.ownership, undefined);
  assertEquals(core.rscstatus(), "none");
  assert(Number.isFinite(core.nextDeadline()));
});
