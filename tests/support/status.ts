/**
 * Helpers of the `heartbeat status` acceptance tests (`tests/status_*_test.ts`): run
 * `heartbeat status` inside a testbed node, parse and validate its JSON against
 * `cli/status_schema.json`, wait for a condition on it; the failing resource script both status
 * tests give the node they kill, and the failover they watch.
 *
 * @module
 */

import { assert, assertEquals, fail } from "../assert.ts";
import { type Schema, statusSchema, validate } from "./json_schema.ts";
import { configure, REC_SCRIPT } from "./failover.ts";
import { hbCommand, type Testbed, type TestNode, waitFor } from "../testbed/mod.ts";
import type { StatusDocument } from "../../master/status.ts";

let schema: Schema | undefined;

/** `late::<name>` on the node that takes it over: the start sleeps 8 s, then fails. */
const LATE_FAILING = `#!/bin/sh
name=$1 op=$2
case "$op" in
  start) sleep 8; echo "late: cannot start $name" >&2; exit 1;;
  stop) exit 0;;
  status) echo stopped; exit 0;;
esac
exit 1
`;

/**
 * Configures the status tests' pair (the failover tests' set-up, auto_failback on, plus `extra`
 * ha.cf directives) with `haresources`, whose `late::g3` runs on `home` (the recording script)
 * and fails on the other node ({@link LATE_FAILING}).
 */
export async function configureLatePair(
  tb: Testbed,
  home: TestNode,
  haresources: string,
  extra?: Record<string, string>,
): Promise<void> {
  await configure(tb, { autoFailback: "on", haresources, extra });
  for (const n of tb.nodes) {
    await n.writeResourceScript("late", n === home ? REC_SCRIPT : LATE_FAILING);
  }
}

/**
 * Hard-kills `victim`, which holds `late::g3` (its takeover on `survivor` runs
 * {@link LATE_FAILING}), and follows the failover on `survivor`: `--nagios` 1 (peer dead) while
 * g3 still starts, then 2 once its start failed (nobody runs it). Returns the status document
 * that shows the completed failover (`what` names it in a timeout).
 */
export async function killAndWatchFailover(
  tb: Testbed,
  victim: TestNode,
  survivor: TestNode,
  what: string,
): Promise<StatusDocument> {
  await tb.killHard(victim.name);
  // the peer is dead, g3 still starting (its script sleeps): every group has a holder
  const w = await waitNagios(survivor, 1);
  console.log(`  ${w}`);
  assert(w.includes(`node ${victim.name} dead`), w);
  // the start of g3 failed: nobody runs it
  const c = await waitNagios(survivor, 2);
  console.log(`  ${c}`);
  assert(c.includes("group late::g3 failed"), c);
  return await waitStatus(
    survivor,
    what,
    (d) => d.failovers.length === 1 && d.failovers[0].completed_after_ms !== null,
  );
}

/** Runs `heartbeat status ARGS` inside `node`: exit code and output. */
export async function hbStatus(
  node: TestNode,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await node.exec([...hbCommand(), "status", ...args], { timeoutMs: 30_000 });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

/** `heartbeat status --json` of `node`, validated against the schema (fails otherwise). */
export async function statusJson(node: TestNode): Promise<StatusDocument> {
  const r = await hbStatus(node, ["--json"]);
  assertEquals(r.code, 0, `heartbeat status --json on ${node.name}: ${r.stderr}`);
  const doc = JSON.parse(r.stdout) as StatusDocument;
  schema ??= await statusSchema();
  const errors = validate(schema, doc);
  if (errors.length > 0) {
    fail(`status of ${node.name} does not match the schema:\n${errors.join("\n")}\n${r.stdout}`);
  }
  return doc;
}

/** Waits until `pred` holds on the status of `node`; returns that document. */
export async function waitStatus(
  node: TestNode,
  what: string,
  pred: (d: StatusDocument) => boolean,
  timeoutMs = 30_000,
): Promise<StatusDocument> {
  let last: StatusDocument | undefined;
  try {
    return await waitFor(what, async () => {
      last = await statusJson(node).catch(() => undefined);
      return last !== undefined && pred(last) ? last : undefined;
    }, { timeoutMs, intervalMs: 200 });
  } catch (e) {
    throw new Error(`${e}\nlast status of ${node.name}:\n${JSON.stringify(last, null, 2)}`);
  }
}

/** Waits until `heartbeat status --nagios` on `node` exits with `code`; returns its line. */
export async function waitNagios(
  node: TestNode,
  code: number,
  timeoutMs = 30_000,
): Promise<string> {
  let last = "";
  try {
    return await waitFor(`nagios ${code} on ${node.name}`, async () => {
      const r = await hbStatus(node, ["--nagios"]);
      last = `exit ${r.code}: ${r.stdout}${r.stderr}`;
      return r.code === code ? r.stdout.trim() : undefined;
    }, { timeoutMs, intervalMs: 200 });
  } catch (e) {
    throw new Error(`${e}\nlast: ${last}`);
  }
}

/** Owner of each group, as `group=owner` strings (`-` for none). */
export function owners(d: StatusDocument): string[] {
  return d.groups.map((g) => `${g.group}=${g.owner ?? "-"}/${g.state}`);
}

/** Name, status and implementation of each node. */
export function nodeSummary(d: StatusDocument): string[] {
  return d.nodes.map((n) => `${n.name}:${n.status}:${n.implementation}`);
}
