/**
 * Who holds the service address, seen from outside the daemons: one `ip -o monitor address`
 * per node namespace (no process spawned per sample), seeded with `ip -o addr show`.
 *
 * @module
 */

import { trackChild } from "./guard.ts";
import type { TestNode } from "./node.ts";
import { run, tied } from "./sys.ts";

/** A change of one node's holding of the address, with the time it was seen. */
export interface AddressEvent {
  /** Wall-clock ms. */
  at: number;
  /** Node name. */
  node: string;
  /** True when the address appeared, false when it went. */
  present: boolean;
}

/** Follows the service address on every node. */
export class AddressWatch {
  /** Every change seen, in order. */
  readonly events: AddressEvent[] = [];
  readonly #holding = new Map<string, boolean>();
  readonly #children: Deno.ChildProcess[] = [];
  readonly #address: string;

  private constructor(address: string) {
    this.#address = address;
  }

  /** Starts watching `address` on `nodes`. */
  static async start(nodes: readonly TestNode[], address: string): Promise<AddressWatch> {
    const w = new AddressWatch(address);
    for (const n of nodes) await w.#follow(n);
    return w;
  }

  /** Nodes that hold the address now. */
  holders(): string[] {
    return [...this.#holding].filter(([, v]) => v).map(([k]) => k).sort();
  }

  async #follow(n: TestNode): Promise<void> {
    const [cmd, ...args] = tied(["ip", "-n", n.netns, "-o", "monitor", "address"]);
    const child = new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    trackChild(child);
    this.#children.push(child);
    const now = await run(["ip", "-n", n.netns, "-4", "-o", "addr", "show"], { check: false });
    this.#set(n.name, now.stdout.includes(` ${this.#address}/`));
    (async () => {
      const decoder = new TextDecoder();
      let partial = "";
      for await (const chunk of child.stdout) {
        const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n");
        partial = lines.pop() ?? "";
        for (const l of lines) {
          if (!l.includes(` ${this.#address}/`)) continue;
          this.#set(n.name, !l.startsWith("Deleted"));
        }
      }
    })().catch((e) => console.error(`chaos: ip monitor of ${n.name} failed: ${e}`));
  }

  #set(node: string, present: boolean): void {
    if ((this.#holding.get(node) ?? false) === present) return;
    this.#holding.set(node, present);
    this.events.push({ at: Date.now(), node, present });
  }

  /** Stops every monitor. */
  async stop(): Promise<void> {
    for (const c of this.#children) {
      try {
        c.kill("SIGKILL");
      } catch {
        // exited already (its namespace went away)
      }
      await c.status;
    }
  }
}
