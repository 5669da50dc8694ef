/**
 * `ping` and `ping_group` media end to end: one hb node in a network
 * namespace, and a second namespace that only carries the ping targets'
 * addresses (its kernel answers the echo requests). The core must see the
 * ping nodes go `ping`, `dead` after deadping when their replies stop, and
 * `ping` again when they come back; a group stays up while any member
 * answers.
 *
 * Needs root (namespaces, raw ICMP sockets); fails loudly otherwise.
 */

import { eventually, sleep } from "./support/mod.ts";
import { assert, assertEquals, assertMatch, fail } from "./assert.ts";
import { alive, heartbeatIn, standaloneNode, title } from "./support/standalone.ts";
import { childPids, run } from "./testbed/sys.ts";

const sh = (cmd: string[]) => run(cmd, { check: false });
const must = (cmd: string[]) => run(cmd);

const NS = `hbpg${Deno.pid}`;
const NSP = `hbpt${Deno.pid}`;
const NODE_ADDR = "198.18.92.1";
const PING_ADDR = "198.18.92.2";
const MEMBER_A = "198.18.92.3";
const MEMBER_B = "198.18.92.4";

Deno.test("ping and ping_group media: ping, dead after deadping, ping again", async () => {
  if (Deno.uid() !== 0) fail("this test needs root (network namespaces, raw ICMP sockets)");
  const { dir, env, log } = await standaloneNode("hb-ping-", [
    "keepalive 100ms",
    "deadtime 1",
    "deadping 1",
    "warntime 500ms",
    "initdead 2",
    "auto_failback on",
    "realtime off",
    "coredumps false",
    "bcast eth0",
    `ping ${PING_ADDR}`,
    `ping_group pg ${MEMBER_A} ${MEMBER_B}`,
    "node node1",
  ], "ping-secret");
  const count = (text: string) => log().split("\n").filter((l) => l.includes(text)).length;
  const waitCount = async (text: string, n: number, ms: number) =>
    assert(await eventually(() => count(text) >= n, ms), `waited for ${n}× "${text}":\n${log()}`);
  const up = (node: string) => `info: Status update for node ${node}: status ping`;
  const dead = (node: string) => `WARN: node ${node}: is dead`;

  await must(["ip", "netns", "add", NS]);
  let master: number | undefined;
  try {
    await must(["ip", "netns", "add", NSP]);
    await must([
      "ip",
      "-n",
      NS,
      "link",
      "add",
      "eth0",
      "type",
      "veth",
      "peer",
      "name",
      "pt0",
      "netns",
      NSP,
    ]);
    await must(["ip", "-n", NS, "addr", "add", `${NODE_ADDR}/24`, "brd", "+", "dev", "eth0"]);
    for (const a of [PING_ADDR, MEMBER_A, MEMBER_B]) {
      await must(["ip", "-n", NSP, "addr", "add", `${a}/24`, "dev", "pt0"]);
    }
    for (const [ns, dev] of [[NS, "eth0"], [NS, "lo"], [NSP, "pt0"], [NSP, "lo"]]) {
      await must(["ip", "-n", ns, "link", "set", dev, "up"]);
    }
    const hb = heartbeatIn(NS, env);

    const started = await hb([]);
    assertEquals(started.code, 0, started.stderr);
    master = Number((await Deno.readTextFile(`${env.HB_RUNDIR}/heartbeat.pid`)).trim());
    let kids: number[] = [];
    assert(await eventually(() => (kids = childPids(master!)).length === 7, 5000), "7 workers");
    assertEquals(kids.map(title).sort(), [
      "heartbeat: FIFO reader",
      "heartbeat: read: bcast eth0",
      `heartbeat: read: ping ${PING_ADDR}`,
      "heartbeat: read: ping_group pg",
      "heartbeat: write: bcast eth0",
      `heartbeat: write: ping ${PING_ADDR}`,
      "heartbeat: write: ping_group pg",
    ]);

    // both answer: status ping, the link is up
    await waitCount(up(PING_ADDR), 1, 5000);
    await waitCount(up("pg"), 1, 5000);
    assertMatch(log(), new RegExp(`info: Link ${PING_ADDR}:${PING_ADDR} up\\.`));
    assertMatch(log(), /info: Link pg:pg up\./);
    assertMatch(log(), /info: glib: ping heartbeat started\./);
    assertMatch(log(), /info: glib: ping group heartbeat started\./);
    assertEquals(count("is dead"), 0, log());

    // one group member gone: the group stays up
    await must(["ip", "-n", NSP, "addr", "del", `${MEMBER_A}/24`, "dev", "pt0"]);
    await sleep(2500);
    assertEquals(count(dead("pg")), 0, `one member still answers:\n${log()}`);

    // both members gone: the group is dead after deadping, the ping node is not
    await must(["ip", "-n", NSP, "addr", "del", `${MEMBER_B}/24`, "dev", "pt0"]);
    const goneAt = Date.now();
    await waitCount(dead("pg"), 1, 5000);
    const took = Date.now() - goneAt;
    assert(took >= 900, `pg declared dead after ${took} ms, before deadping`);
    assertMatch(log(), /info: Link pg:pg dead\./);
    assertEquals(count(dead(PING_ADDR)), 0, log());

    // one member back: the group is up again
    await must(["ip", "-n", NSP, "addr", "add", `${MEMBER_A}/24`, "dev", "pt0"]);
    await waitCount(up("pg"), 2, 5000);

    // the ping namespace's link cut: everything dead, then back
    await must(["ip", "-n", NSP, "link", "set", "pt0", "down"]);
    await waitCount(dead(PING_ADDR), 1, 5000);
    await waitCount(dead("pg"), 2, 5000);
    await must(["ip", "-n", NSP, "link", "set", "pt0", "up"]);
    await waitCount(up(PING_ADDR), 2, 8000);
    await waitCount(up("pg"), 3, 8000);

    if (Deno.env.get("HB_TEST_SHOW_LOG")) console.log(log());
    const after = childPids(master);
    const stop = await hb(["-k"]);
    assertEquals(stop.code, 0, stop.stderr);
    assert(!alive(master), "master gone after -k");
    for (const p of after) assert(!alive(p), `worker ${p} (${title(p)}) left behind`);
    master = undefined;
  } finally {
    if (master !== undefined && alive(master)) {
      for (const p of childPids(master)) Deno.kill(p, "SIGKILL");
      Deno.kill(master, "SIGKILL");
    }
    await sh(["ip", "netns", "del", NS]);
    await sh(["ip", "netns", "del", NSP]);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
