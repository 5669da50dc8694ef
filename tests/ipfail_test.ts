/**
 * ipfail: the Debian binary `/usr/libexec/heartbeat/ipfail` and hb's own (`agents/ipfail.ts`),
 * each started by the daemon's `respawn hacluster …`, on two-node clusters.
 *
 * Topology (testbed, 2 links, client namespace): the heartbeat runs on link 1 only
 * (`bcast eth1`), the ping node is the client namespace 198.18.0.250, reachable through link 0
 * only. node1 holds the group `IPaddr::198.18.0.101/24/eth0 recorder::g1` (`recorder` logs
 * every call to /var/log/recorder.log). Cutting node1's link 0 loses its ping node while the
 * heartbeat survives: node1's ipfail asks node2's for its count, is told `you_are_dead`, and
 * after the delayed give-up (2 × keepalive) asks for standby; node2 takes the group over.
 * Restoring the link: node1 sees the ping node again, the counts are balanced and node2's
 * ipfail gives the foreign group back (auto_failback on).
 *
 * The same scenario runs with the real daemon and the real ipfail (the reference: it checks
 * the expected log lines against the binaries), then with hb's daemon and every combination
 * of ipfails: real/real, hb/hb, real/hb, hb/real. Each run checks the address (`ip addr`), the
 * recording script, and the exact ipfail log lines of both nodes (behavior.md §8,
 * config-and-cli.md §6.6.15).
 *
 * Unit tests drive hb's ipfail state machine with a fake API (exit codes of the start-up
 * checks, the delayed give-up, glib source ids, the pending standby).
 *
 * Set `HB_TEST_SHOW_TIMES=1` to print the failover/failback times.
 *
 * Needs root, the namespace testbed and the Debian heartbeat package; fails otherwise.
 *
 * @module
 */

import { assert, assertEquals } from "./assert.ts";
import {
  authkeys,
  hbCommand,
  REAL_CL_STATUS,
  type Testbed,
  type TestNode,
  waitFor,
} from "./testbed/mod.ts";
import { shellQuote, sleep } from "./testbed/sys.ts";
import { pairTestbed, testHaCf, writeNodeFiles } from "./support/cluster.ts";
import { Ipfail, type IpfailApi, strToBoolean } from "../agents/ipfail.ts";
import type { NodeEntry } from "../api/client.ts";
import { closeLogging, configureLogging } from "../logging/mod.ts";
import { Message } from "../wire/message.ts";

const REAL_IPFAIL = "/usr/libexec/heartbeat/ipfail";
const PING = "198.18.0.250";
const SERVICE = "198.18.0.101";

// ------------------------------------------------------------------------------ unit tests

/** A scripted API connection. */
class FakeApi implements IpfailApi {
  info = { node: "node1", keepaliveMs: 1000 };
  errmsg = "";
  closed = false;
  rsc: string | undefined = "local";
  params = new Map<string, string>([["auto_failback", "on"]]);
  nodes: NodeEntry[] = [
    { name: "ping1", status: "ping", type: "ping" },
    { name: "node2", status: "active", type: "normal" },
    { name: "node1", status: "active", type: "normal" },
  ];
  calls: string[] = [];
  sent: string[] = [];
  inbox: Message[] = [];
  signedOff = false;

  resources(): Promise<string | undefined> {
    this.calls.push("getrsc");
    return Promise.resolve(this.rsc);
  }
  parameter(name: string): Promise<string | undefined> {
    this.calls.push(`getparm ${name}`);
    return Promise.resolve(this.params.get(name));
  }
  nodeList(): Promise<NodeEntry[] | undefined> {
    this.calls.push("nodelist");
    return Promise.resolve(this.nodes.map((n) => ({ ...n })));
  }
  call(reqtype: string, extra: [string, string][] = []): Promise<Message | undefined> {
    this.calls.push([reqtype, ...extra.map(([k, v]) => `${k}=${v}`)].join(" "));
    return Promise.resolve(Message.fromStrings([["t", "hbapi-resp"], ["result", "OK"]]));
  }
  async nextMessage(timeoutMs?: number): Promise<Message | undefined> {
    const m = this.inbox.shift();
    if (m !== undefined) return m;
    await sleep(Math.min(timeoutMs ?? 20, 20));
    return this.inbox.shift();
  }
  sendMessage(msg: Message, node?: string): Promise<boolean> {
    const text = msg.fields.map((f) => `${f.name}=${f.value}`).join(" ");
    this.sent.push(node === undefined ? text : `${text} → ${node}`);
    return Promise.resolve(true);
  }
  signoff(): Promise<void> {
    this.signedOff = true;
    return Promise.resolve();
  }
}

const msg = (...pairs: [string, string][]) => Message.fromStrings(pairs);

/** Runs `body` with ipfail's log going to a temp file; returns the lines (prefix removed). */
async function withLog(body: () => Promise<void>): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "hb_ipfail_" });
  try {
    configureLogging({
      entity: "ipfail",
      logfile: `${dir}/log`,
      debugfile: `${dir}/debug`,
      stderr: false,
    });
    await body();
    closeLogging();
    const text = await Deno.readTextFile(`${dir}/debug`).catch(() => "");
    return text.split("\n").filter(Boolean).map((l) => l.replace(/^.*? ipfail: \[\d+\]: /, ""));
  } finally {
    closeLogging();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("ipfail unit: start-up checks and their exit codes", async () => {
  const cases: [string, (f: FakeApi) => void, number, string][] = [
    ["no resource management", (f) => f.rsc = undefined, 100, "ERROR: No managed resources"],
    [
      "auto_failback legacy",
      (f) => f.params.set("auto_failback", "legacy"),
      100,
      "ERROR: auto_failback set to incompatible legacy option.",
    ],
    [
      "auto_failback not a boolean",
      (f) => f.params.set("auto_failback", "maybe"),
      100,
      "ERROR:  invalid auto_faiback value(maybe)",
    ],
    [
      "auto_failback missing",
      (f) => f.params.delete("auto_failback"),
      0,
      "ERROR: Couldn't get auto_failback setting.",
    ],
  ];
  for (const [what, setup, code, line] of cases) {
    const f = new FakeApi();
    setup(f);
    let rc = -1;
    const lines = await withLog(async () => {
      rc = await new Ipfail(f).setup();
    });
    assertEquals(rc, code, what);
    assert(lines.includes(line), `${what}: ${lines.join("\n")}`);
  }
  const f = new FakeApi();
  const ipf = new Ipfail(f);
  const lines = await withLog(async () => assertEquals(await ipf.setup(), 0));
  assertEquals(f.calls, [
    "getrsc",
    "getparm auto_failback",
    "getparm coreroot",
    "setfilter fmask=1",
    "nodelist",
    "setsignal signal=0",
  ]);
  assertEquals(ipf.otherNode, "node2");
  assertEquals(lines, [
    "debug: [We are node1]",
    "debug: auto_failback -> 1 (on)",
    "debug: Setting message filter mode",
    "debug: Starting node walk",
    "debug: Cluster node: ping1: status: ping",
    "debug: Cluster node: node2: status: active",
    "debug: [They are node2]",
    "debug: Cluster node: node1: status: active",
    "debug: Setting message signal",
  ]);
  assertEquals([strToBoolean("Yes"), strToBoolean("0"), strToBoolean("x")], [
    true,
    false,
    undefined,
  ]);
});

Deno.test("ipfail unit: counts, delayed give-up, abort, glib source ids", async () => {
  const f = new FakeApi();
  const ipf = new Ipfail(f);
  const lines = await withLog(async () => {
    await ipf.setup();
    f.sent = [];
    // The partner sees 2 ping nodes, we see 1: give up everything after 2 × keepalive.
    await ipf.dispatch(msg(["t", "num_ping_nodes"], ["src", "node2"], ["num_ping", "2"]));
    await ipf.dispatch(msg(["t", "abort_giveup"], ["src", "node2"]));
    await ipf.dispatch(msg(["t", "abort_giveup"], ["src", "node2"]));
    await ipf.dispatch(msg(["t", "you_are_dead"]));
    await ipf.dispatch(msg(["t", "you_are_dead"]));
    // Balanced with a pending give-up: it is aborted (source 5: 3 and 4 were used before).
    await ipf.dispatch(msg(["t", "num_ping_nodes"], ["src", "node2"], ["num_ping", "1"]));
    // We see more: tell the partner.
    await ipf.dispatch(msg(["t", "num_ping_nodes"], ["src", "node2"], ["num_ping", "0"]));
    // The partner's ipfail joins: ask; our own join is ignored.
    await ipf.dispatch(msg(["t", "hbapi-clstat"], ["st", "join"], ["from_id", "ipfail"], [
      "src",
      "node2",
    ]));
    await ipf.dispatch(msg(["t", "hbapi-clstat"], ["st", "join"], ["from_id", "ipfail"], [
      "src",
      "node1",
    ]));
  });
  assertEquals(lines.filter((l) => l.startsWith("info: ")), [
    "info: Giving up because we have less visible ping nodes.",
    "info: Delayed giveup in 2 seconds.",
    "info: Aborted delayed giveup (3)",
    "info: No giveup timer to abort.",
    "info: Giving up because we were told that we have less ping nodes.",
    "info: Delayed giveup in 2 seconds.",
    "info: Giving up because we were told that we have less ping nodes.",
    "info: Delayed giveup in 2 seconds.",
    "info: Ping node count is balanced.",
    "info: Aborted delayed giveup (5)",
    "info: Telling other node that we have more visible ping nodes.",
    "info: Asking other side for ping node count.",
  ]);
  assert(lines.includes("debug: Detected existing delay timer, overriding"), lines.join("\n"));
  assertEquals(f.sent, [
    "t=abort_giveup src=node1 → node2",
    "t=you_are_dead → node2",
    "t=num_ping_nodes src=node1 num_ping=1 → node2",
  ]);
});

Deno.test("ipfail unit: node and link events, the give-up fires, pending standby, quit", async () => {
  const f = new FakeApi();
  f.info.keepaliveMs = 50;
  const ipf = new Ipfail(f, { standbyPauseMs: 50 });
  let rc = -1;
  const lines = await withLog(async () => {
    await ipf.setup();
    f.sent = [];
    const running = ipf.run();
    f.nodes[0].status = "dead";
    f.inbox.push(msg(["t", "status"], ["src", "ping1"], ["st", "dead"], ["info", "ping"]));
    f.inbox.push(msg(["t", "ifstat"], ["node", "ping1"], ["ifname", "ping1"], ["st", "dead"]));
    f.inbox.push(msg(["t", "you_are_dead"]));
    await waitFor("ask_resources all", () => f.sent.some((s) => s.includes("rsc_hold=all")), {
      timeoutMs: 3000,
      intervalMs: 10,
    });
    // Back up; the partner's count is balanced; we hold foreign resources, in transition.
    f.nodes[0].status = "ping";
    f.rsc = "transition";
    f.inbox.push(msg(["t", "NS_st"], ["src", "ping1"], ["st", "ping"], ["info", "ping"]));
    f.inbox.push(msg(["t", "ifstat"], ["node", "node2"], ["ifname", "eth1"], ["st", "dead"]));
    f.inbox.push(msg(["t", "you_are_dead"]));
    await waitFor(
      "giveup while unstable",
      () => f.calls.filter((c) => c === "getrsc").length >= 3,
      {
        timeoutMs: 3000,
        intervalMs: 10,
      },
    );
    await sleep(100);
    f.rsc = "all";
    // The partner's stable report releases the pending standby: count again, ask.
    f.inbox.push(msg(["t", "resource"], ["src", "node2"], ["rsc_hold", "all"], ["isstable", "1"]));
    await waitFor("asked again", () => f.sent.length >= 4, { timeoutMs: 3000, intervalMs: 10 });
    ipf.requestQuit();
    rc = await running;
  });
  assertEquals(rc, 0);
  assert(f.signedOff, "signoff at quit");
  assertEquals(lines.filter((l) => l.startsWith("info: ")), [
    "info: Status update: Node ping1 now has status dead",
    "info: NS: We are dead. :<",
    "info: Link Status update: Link ping1/ping1 now has status dead",
    "info: We are dead. :<",
    "info: Asking other side for ping node count.",
    "info: Giving up because we were told that we have less ping nodes.",
    "info: Delayed giveup in 0 seconds.",
    "info: giveup() called (timeout worked)",
    "info: Status update: Node ping1 now has status ping",
    "info: A ping node just came up.",
    "info: Asking other side for ping node count.",
    "info: Link Status update: Link node2/eth1 now has status dead",
    "info: Asking other side for ping node count.",
    "info: Checking remote count of ping nodes.",
    "info: Giving up because we were told that we have less ping nodes.",
    "info: Delayed giveup in 0 seconds.",
    "info: giveup() called (timeout worked)",
    "info: Asking other side for ping node count.",
  ]);
  assertEquals(f.sent, [
    "t=num_ping_nodes src=node1 num_ping=0 → node2",
    "t=ask_resources rsc_hold=all src=node1 info=me",
    "t=num_ping_nodes src=node1 num_ping=1 → node2",
    "t=num_ping_nodes src=node1 num_ping=1 → node2",
    "t=num_ping_nodes src=node1 num_ping=1 → node2",
  ]);
  assert(lines.includes("debug: Other side is now stable."), lines.join("\n"));
});

// ------------------------------------------------------------------------ cluster scenarios

/** Which ipfail a node runs. */
type Which = "real" | "hb";

/** Records every call, keeps a state file so that `status` answers like a resource script. */
const RECORDER = `#!/bin/sh
echo "$(uname -n) $1 $2" >> /var/log/recorder.log
case "$2" in
start) touch "/run/recorder.$1";;
stop) rm -f "/run/recorder.$1";;
status) if [ -e "/run/recorder.$1" ]; then echo running; else echo stopped; fi;;
esac
exit 0
`;

/**
 * The two moves of the group: the standby kind the losing node asks for, rscstatus on node1 and
 * node2 afterwards, and ipfail's info lines expected on node1 and on node2 (the reference run
 * checks them on the binaries).
 */
const MOVES = {
  failover: {
    kind: "all",
    rscAfter: ["none", "all"],
    node1: [
      `Status update: Node ${PING} now has status dead`,
      "NS: We are dead. :<",
      `Link Status update: Link ${PING}/${PING} now has status dead`,
      "We are dead. :<",
      "Asking other side for ping node count.",
      "Giving up because we were told that we have less ping nodes.",
      "Delayed giveup in 0 seconds.",
      "giveup() called (timeout worked)",
    ],
    node2: ["Telling other node that we have more visible ping nodes."],
  },
  failback: {
    kind: "foreign",
    rscAfter: ["local", "local"],
    node1: [
      `Link Status update: Link ${PING}/${PING} now has status up`,
      `Status update: Node ${PING} now has status dead`,
      "NS: We are still alive!",
      `Status update: Node ${PING} now has status ping`,
      "A ping node just came up.",
      "Asking other side for ping node count.",
      "No giveup timer to abort.",
    ],
    node2: [
      "Ping node count is balanced.",
      "Giving up foreign resources (auto_failback).",
      "Delayed giveup in 0 seconds.",
      "giveup() called (timeout worked)",
    ],
  },
};

/** The DENO_DIR that hacluster can read (hb's ipfail from source runs as hacluster). */
async function hackDenoDir(tb: Testbed): Promise<string | undefined> {
  if (Deno.env.get("HB_CMD")) return undefined;
  const src = Deno.env.get("DENO_DIR") || `${Deno.env.get("HOME") ?? "/root"}/.cache/deno`;
  const npm = `${src}/npm`;
  if (!(await Deno.stat(npm).catch(() => undefined))?.isDirectory) {
    throw new Error(`${npm} missing: hb's ipfail (run as hacluster) needs a readable npm cache`);
  }
  const dir = `${tb.baseDir}/deno-dir`;
  await Deno.mkdir(dir, { mode: 0o777 });
  const cp = await new Deno.Command("cp", { args: ["-a", npm, dir] }).output();
  assert(cp.success, "copy of the npm cache");
  const ch = await new Deno.Command("chmod", { args: ["-R", "a+rwX", dir] }).output();
  assert(ch.success, "chmod of the npm cache copy");
  return dir;
}

function ipfailLines(log: string): string[] {
  return log.split("\n").filter((l) => / ipfail: \[\d+\]: info: /.test(l)).map((l) =>
    l.replace(/^.* ipfail: \[\d+\]: info: /, "")
  );
}

async function hasAddress(node: TestNode): Promise<boolean> {
  return (await node.exec(["ip", "-4", "-o", "addr", "show"])).stdout.includes(` ${SERVICE}/`);
}

async function clStatus(node: TestNode, args: string[]): Promise<string> {
  const r = await node.exec([REAL_CL_STATUS, ...args], { timeoutMs: 10_000 });
  return r.stdout.trim();
}

/** Waits until neither node's log grew for `quietMs`. */
async function waitQuiet(nodes: readonly TestNode[], quietMs: number): Promise<void> {
  let sizes = "";
  let since = Date.now();
  await waitFor("logs quiet", async () => {
    const now = (await Promise.all(nodes.map((n) => n.logOffset()))).join(",");
    if (now !== sizes) {
      sizes = now;
      since = Date.now();
    }
    return Date.now() - since >= quietMs;
  }, { timeoutMs: 30_000, intervalMs: 100 });
}

interface ScenarioResult {
  failoverMs: number;
  failbackMs: number;
}

async function scenario(
  impl: "hb" | "heartbeat",
  ipfails: [Which, Which],
): Promise<ScenarioResult> {
  await using tb = await pairTestbed(`ipfail-${impl}-${ipfails.join("-")}`, {
    links: 2,
    client: true,
  });
  const denoDir = ipfails.includes("hb") ? await hackDenoDir(tb) : undefined;
  const wrapper = `#!/bin/sh\n${denoDir ? `DENO_DIR=${shellQuote(denoDir)} ` : ""}exec ${
    hbCommand().map(shellQuote).join(" ")
  } ipfail "$@"\n`;
  for (const [i, n] of tb.nodes.entries()) {
    await n.writeConfig("hb-ipfail", wrapper, 0o755);
    const program = ipfails[i] === "real" ? REAL_IPFAIL : "/etc/ha.d/hb-ipfail";
    await writeNodeFiles([n], {
      haCf: testHaCf({
        debugfile: "/var/log/ha-debug",
        udpport: 694,
        bcast: "eth1",
        ping: PING,
        crm: "off",
        respawn: `hacluster ${program}`,
        apiauth: "ipfail gid=haclient uid=hacluster",
        node: ["node1", "node2"],
      }),
      authkeys: authkeys("sha1", "ipfail-test"),
      haresources: `node1 IPaddr::${SERVICE}/24/eth0 recorder::g1\n`,
    });
    await n.writeResourceScript("recorder", RECORDER);
  }
  const [node1, node2] = tb.nodes;
  const label = `${impl} daemon, ipfail ${ipfails.join("/")}`;
  await Promise.all(tb.nodes.map((n) => n.start({ impl })));

  // Both ipfails signed on, the group on node1, nothing moving.
  await waitFor(
    `${label}: signed on, node1 holds the group`,
    async () =>
      (await clStatus(node1, ["clientstatus", "node1", "ipfail"])) === "online" &&
      (await clStatus(node2, ["clientstatus", "node2", "ipfail"])) === "online" &&
      ["local", "all"].includes(await clStatus(node1, ["rscstatus"])) && await hasAddress(node1),
    {
      timeoutMs: 40_000,
      intervalMs: 250,
    },
  );
  assertEquals(await clStatus(node1, ["clientstatus", "node2", "ipfail", "3000"]), "online");
  await waitQuiet(tb.nodes, 1500);
  const rsc =
    async () => [await clStatus(node1, ["rscstatus"]), await clStatus(node2, ["rscstatus"])];
  assertEquals(await rsc(), ["local", "local"], `${label}: rscstatus node1, node2`);
  for (const [i, n] of tb.nodes.entries()) {
    const debug = await n.readLog("ha-debug");
    const other = i === 0 ? "node2" : "node1";
    for (const line of [`[We are ${n.name}]`, `[They are ${other}]`, "Waiting for messages..."]) {
      assert(debug.includes(`ipfail: `) && debug.includes(`debug: ${line}`), `${label}: ${line}`);
    }
    const program = ipfails[i] === "real" ? REAL_IPFAIL : "/etc/ha.d/hb-ipfail";
    assert(
      (await n.readLog()).includes(`Starting child client "${program}" (`),
      `${label}: ${n.name} started ${program}`,
    );
  }

  /**
   * One move of the group ({@link MOVES}) after `act`: the address on `to` only (its time is
   * returned), `from` asked to go standby and saw the takeover complete, ipfail logged the
   * expected lines, `from` stopped g1 and `to` started it, and rscstatus is as expected.
   */
  const move = async (
    what: keyof typeof MOVES,
    from: TestNode,
    to: TestNode,
    act: () => Promise<void>,
  ): Promise<number> => {
    const { kind, rscAfter } = MOVES[what];
    const at = (n: TestNode) => n === node1 ? 0 : 1;
    const logs = [await node1.logOffset(), await node2.logOffset()];
    const recs = [
      (await node1.readLog("recorder.log")).length,
      (await node2.readLog("recorder.log")).length,
    ];
    const t0 = Date.now();
    await act();
    await waitFor(
      `${label}: ${what}: ${to.name} holds the address`,
      async () => await hasAddress(to) && !(await hasAddress(from)),
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    const ms = Date.now() - t0;
    await from.waitForLog(`Other node completed standby takeover of ${kind} resources.`, {
      from: logs[at(from)],
    });
    await waitQuiet(tb.nodes, 1500);
    assert(
      (await node1.readLog()).slice(logs[0]).includes(
        `info: ${from.name} wants to go standby [${kind}]`,
      ),
      `${label}: standby [${kind}] requested`,
    );
    assertEquals(ipfailLines((await node1.readLog()).slice(logs[0])), MOVES[what].node1, label);
    assertEquals(ipfailLines((await node2.readLog()).slice(logs[1])), MOVES[what].node2, label);
    assertEquals(
      (await from.readLog("recorder.log")).slice(recs[at(from)]),
      `${from.name} g1 stop\n`,
    );
    assertEquals(
      (await to.readLog("recorder.log")).slice(recs[at(to)]),
      `${to.name} g1 status\n${to.name} g1 start\n`,
    );
    assertEquals(await rsc(), rscAfter, `${label}: rscstatus after the ${what}`);
    return ms;
  };

  // node1 loses its ping node (link 0), the heartbeat goes on over link 1.
  const failoverMs = await move("failover", node1, node2, () => tb.cutLink(node1, 0));
  // The ping node comes back: balanced counts, node2 gives the foreign group back.
  const failbackMs = await move("failback", node2, node1, () => tb.restoreLink(node1, 0));

  // SIGTERM: ipfail signs off at its next tick and exits 0; the daemon starts it again.
  const program2 = ipfails[1] === "real" ? REAL_IPFAIL : "/etc/ha.d/hb-ipfail";
  const starts = (await node2.readLog()).split("\n").filter((l) =>
    l.includes(`Starting "${program2}" as uid`)
  );
  const pid = /\(pid (\d+)\)$/.exec(starts[starts.length - 1] ?? "")?.[1];
  assert(pid, `${label}: pid of node2's ipfail`);
  const term = await node2.logOffset();
  await node2.exec(["kill", "-TERM", pid]);
  await node2.waitForLog(`Managed ${program2} process ${pid} exited with return code 0.`, {
    from: term,
    timeoutMs: 5000,
  });
  await node2.waitForLog(`Respawning client "${program2}":`, { from: term });
  await waitFor(
    `${label}: node2's ipfail back`,
    async () => (await clStatus(node2, ["clientstatus", "node2", "ipfail"])) === "online",
    {
      timeoutMs: 15_000,
      intervalMs: 200,
    },
  );
  if (Deno.env.get("HB_TEST_SHOW_TIMES")) {
    console.log(`${label}: failover ${failoverMs} ms, failback ${failbackMs} ms`);
  }
  return { failoverMs, failbackMs };
}

async function requireReal(): Promise<void> {
  for (const p of [REAL_IPFAIL, REAL_CL_STATUS]) {
    if (!(await Deno.stat(p).catch(() => undefined))?.isFile) {
      throw new Error(`${p} is missing: install the Debian package heartbeat (3.0.6)`);
    }
  }
}

/** The scenario's runs: test name, the daemon on both nodes, whose ipfail node1 and node2 run. */
const RUNS: [string, "hb" | "heartbeat", [Which, Which]][] = [
  ["ipfail reference: real daemon, real ipfail on both nodes", "heartbeat", ["real", "real"]],
  ["ipfail: hb daemon, the real ipfail on both nodes", "hb", ["real", "real"]],
  ["ipfail: hb daemon, hb's ipfail on both nodes", "hb", ["hb", "hb"]],
  ["ipfail: hb daemon, real ipfail on node1, hb's on node2", "hb", ["real", "hb"]],
  ["ipfail: hb daemon, hb's ipfail on node1, real on node2", "hb", ["hb", "real"]],
];

for (const [name, impl, ipfails] of RUNS) {
  Deno.test(name, async () => {
    await requireReal();
    await scenario(impl, ipfails);
  });
}
