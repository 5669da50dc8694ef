/**
 * Serial media end to end: nodes joined only by a `socat` pty pair (a
 * null-modem cable in software), each in its own network namespace with
 * nothing but `lo`, so no UDP can pass between them.
 *
 * 1. hb ↔ hb: both see each other active over the line, stay up 30 s
 *    without a "dead" line, then one is SIGKILLed (master and workers) and
 *    the other declares it dead within deadtime + keepalive + slack.
 * 2. hb ↔ real Heartbeat 3.0.6 over the same kind of line.
 *
 * Needs root (namespaces), socat and, for the second test, the real
 * heartbeat package; fails loudly when any is missing.
 */

import { eventually } from "./support/mod.ts";
import { assert, assertMatch, fail } from "./assert.ts";
import { openPtyPair, type PtyPair } from "./support/pty_pair.ts";
import {
  alive,
  heartbeatIn,
  STANDALONE_BASE,
  type StandaloneEnv,
  title,
  writeNodeConfig,
} from "./support/standalone.ts";
import { childPids, run } from "./testbed/sys.ts";

const sh = (cmd: string[]) => run(cmd, { check: false });
const must = (cmd: string[]) => run(cmd);

const REAL_HEARTBEAT = "/usr/libexec/heartbeat/heartbeat";

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** The ha.cf directives (after the logfile) of both kinds of node on the line `tty`. */
function serialHaCf(tty: string, nodes: string[], extra: string[] = []): string[] {
  return [
    ...STANDALONE_BASE,
    ...extra,
    `serial ${tty}`,
    ...nodes.map((n) => `node ${n}`),
  ];
}

/**
 * Waits (5 s at most) until the log past `mark` declares `node` dead and its link on `tty`
 * (the tty the observer reads) dead too.
 */
function declaredDead(
  log: () => string,
  mark: number,
  node: string,
  tty: string,
): Promise<boolean> {
  return eventually(() => {
    const since = log().slice(mark);
    return since.includes(`node ${node}: is dead`) && since.includes(`Link ${node}:${tty} dead.`);
  }, 5000);
}

const AUTHKEYS = "auth 1\n1 sha1 serial-secret\n";

/** One hb node in its own network namespace (only `lo`). */
class HbNode {
  readonly name: string;
  readonly dir: string;
  readonly ns: string;
  readonly env: StandaloneEnv;
  master: number | undefined;

  constructor(name: string, dir: string) {
    this.name = name;
    this.dir = dir;
    this.ns = `hbser${Deno.pid}${name}`;
    this.env = { HB_CONFDIR: `${dir}/conf`, HB_STATEDIR: `${dir}/state`, HB_RUNDIR: `${dir}/run` };
  }

  get logPath(): string {
    return `${this.dir}/ha-log`;
  }

  log(): string {
    return readText(this.logPath);
  }

  async setUp(tty: string, nodes: string[]): Promise<void> {
    await writeNodeConfig(this.dir, serialHaCf(tty, nodes), "serial-secret", this.name);
    await must(["ip", "netns", "add", this.ns]);
    await must(["ip", "-n", this.ns, "link", "set", "lo", "up"]);
  }

  async start(): Promise<void> {
    const r = await heartbeatIn(this.ns, this.env)([]);
    if (r.code !== 0) fail(`${this.name}: heartbeat exited ${r.code}: ${r.stderr}`);
    this.master = Number(readText(`${this.env.HB_RUNDIR}/heartbeat.pid`).trim());
    assert(this.master > 0 && alive(this.master), `${this.name}: master not running`);
  }

  /** SIGKILLs the master and every worker at once (a hard crash). */
  killHard(): void {
    if (this.master === undefined) return;
    const pids = [this.master, ...childPids(this.master)];
    for (const p of pids) {
      try {
        Deno.kill(p, "SIGKILL");
      } catch {
        // gone
      }
    }
    this.master = undefined;
  }

  async tearDown(): Promise<void> {
    this.killHard();
    await sh(["ip", "netns", "del", this.ns]);
  }
}

function requireRootAndSocat(): void {
  if (Deno.uid() !== 0) fail("serial tests need root (network namespaces)");
  try {
    new Deno.Command("socat", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync();
  } catch {
    fail("serial tests need socat (apt-get install socat)");
  }
}

/** After the checks: a temp dir (`prefix`) and a pty pair in it, `ttyA` and `ttyB` (the line). */
async function serialLine(prefix: string): Promise<{ dir: string; pair: PtyPair }> {
  requireRootAndSocat();
  const dir = await Deno.makeTempDir({ prefix });
  return { dir, pair: await openPtyPair(`${dir}/ttyA`, `${dir}/ttyB`) };
}

Deno.test("serial: two hb nodes over a pty pair only: up, 30 s stable, hard kill detected", async () => {
  const { dir, pair } = await serialLine("hb-serial-");
  const n1 = new HbNode("node1", `${dir}/node1`);
  const n2 = new HbNode("node2", `${dir}/node2`);
  try {
    await n1.setUp(pair.a, ["node1", "node2"]);
    await n2.setUp(pair.b, ["node1", "node2"]);
    await n1.start();
    await n2.start();

    // each node names the link by its own device path, as Heartbeat does
    const up = await eventually(
      () =>
        n1.log().includes("Status update for node node2: status active") &&
        n2.log().includes("Status update for node node1: status active") &&
        n1.log().includes(`Link node2:${pair.a} up.`) &&
        n2.log().includes(`Link node1:${pair.b} up.`),
      15_000,
    );
    assert(
      up,
      `nodes did not see each other active:\n--- node1\n${n1.log()}\n--- node2\n${n2.log()}`,
    );
    assertMatch(n1.log(), /info: glib: Starting serial heartbeat on tty \S+ \(19200 baud\)/);
    const titles = childPids(n1.master!).map(title).sort();
    assert(titles.includes(`heartbeat: read: serial ${pair.a}`), titles.join(", "));
    assert(titles.includes(`heartbeat: write: serial ${pair.a}`), titles.join(", "));

    // the acceptance point: 30 s on the line with no node or link declared dead
    const mark1 = n1.log().length;
    const mark2 = n2.log().length;
    await new Promise((r) => setTimeout(r, 30_000));
    for (const [n, mark] of [[n1, mark1], [n2, mark2]] as const) {
      const since = n.log().slice(mark);
      assert(!/dead/i.test(since), `${n.name} logged a death while stable:\n${since}`);
      assert(!/Late heartbeat/.test(since), `${n.name} saw late heartbeats:\n${since}`);
      assert(alive(n.master!), `${n.name} master died`);
    }

    // hard crash of node2: node1 must declare it dead within deadtime + keepalive + slack
    const mark = n1.log().length;
    const killedAt = Date.now();
    n2.killHard();
    const slackMs = 1000;
    const deadline = 500 + 100 + slackMs;
    const dead = await eventually(
      () => n1.log().slice(mark).includes("node node2: is dead"),
      deadline + 5000,
    );
    const took = Date.now() - killedAt;
    assert(dead, `node1 never declared node2 dead:\n${n1.log().slice(mark)}`);
    assert(took <= deadline, `node2 declared dead after ${took} ms (limit ${deadline} ms)`);
    console.log(`node1 declared node2 dead after ${took} ms`);
    assert(
      await eventually(() => n1.log().slice(mark).includes(`Link node2:${pair.a} dead.`), 2000),
      `no link-dead line:\n${n1.log().slice(mark)}`,
    );
  } finally {
    await n1.tearDown();
    await n2.tearDown();
    await pair.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

/** Shell script run as PID 1 of the real node's namespaces: private mounts, own config and state. */
const REAL_INNER = `#!/bin/bash
set -e
D=$1
mount --make-rprivate /
hostname "$2"
mount --bind "$D/ha.d" /etc/ha.d
mount -t tmpfs tmpfs /run
mkdir -p /run/lock /run/heartbeat/ccm /run/heartbeat/crm /run/heartbeat/dopd
chown -R hacluster:haclient /run/heartbeat
mount --bind "$D/varlib" /var/lib/heartbeat
ip link set lo up
${REAL_HEARTBEAT} -f >"$D/stdout" 2>&1 &
wait
`;

/** The real Heartbeat 3.0.6 in its own uts/mount/pid/net namespaces. */
class RealNode {
  readonly name: string;
  readonly dir: string;
  #child: Deno.ChildProcess | undefined;

  constructor(name: string, dir: string) {
    this.name = name;
    this.dir = dir;
  }

  log(): string {
    return readText(`${this.dir}/ha-log`);
  }

  async setUp(tty: string, nodes: string[]): Promise<void> {
    try {
      Deno.statSync(REAL_HEARTBEAT);
    } catch {
      fail(`the real Heartbeat is not installed (${REAL_HEARTBEAT}; apt-get install heartbeat)`);
    }
    const d = this.dir;
    await Deno.mkdir(`${d}/ha.d`, { recursive: true });
    await Deno.mkdir(`${d}/varlib`, { recursive: true });
    await must([
      "sh",
      "-c",
      `cp -a /etc/ha.d/harc /etc/ha.d/rc.d /etc/ha.d/resource.d \
/etc/ha.d/shellfuncs ${d}/ha.d/ && cp -a /var/lib/heartbeat/. ${d}/varlib/`,
    ]);
    await Deno.writeTextFile(
      `${d}/ha.d/ha.cf`,
      [`logfile ${d}/ha-log`, ...serialHaCf(tty, nodes, ["crm off"]), ""].join("\n"),
    );
    await Deno.writeTextFile(`${d}/ha.d/authkeys`, AUTHKEYS);
    await Deno.chmod(`${d}/ha.d/authkeys`, 0o600);
    await Deno.writeTextFile(`${d}/ha.d/haresources`, "");
    await Deno.writeTextFile(`${d}/inner.sh`, REAL_INNER);
    await Deno.chmod(`${d}/inner.sh`, 0o755);
  }

  start(): void {
    this.#child = new Deno.Command("unshare", {
      args: [
        "--uts",
        "--mount",
        "--pid",
        "--net",
        "--fork",
        "--kill-child",
        "--mount-proc",
        `${this.dir}/inner.sh`,
        this.dir,
        this.name,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
  }

  /** SIGKILLs unshare; --kill-child then SIGKILLs the namespace's init and with it everything. */
  async killHard(): Promise<void> {
    if (!this.#child) return;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // gone
    }
    await this.#child.status;
    this.#child = undefined;
  }
}

Deno.test("serial: hb and the real Heartbeat 3.0.6 over a pty pair", async () => {
  const { dir, pair } = await serialLine("hb-serial-real-");
  const hb = new HbNode("node1", `${dir}/node1`);
  const real = new RealNode("node2", `${dir}/node2`);
  const both = () => `--- hb node1\n${hb.log()}\n--- real node2\n${real.log()}`;
  try {
    await real.setUp(pair.b, ["node1", "node2"]);
    await hb.setUp(pair.a, ["node1", "node2"]);
    real.start();
    // the real one accepts a pty as its serial device, at the default 19200 baud
    assert(
      await eventually(
        () => /Starting serial heartbeat on tty \S+ \(19200 baud\)/.test(real.log()),
        15_000,
      ),
      `real Heartbeat did not open the pty:\n${both()}`,
    );
    await hb.start();
    const up = () =>
      hb.log().includes("Status update for node node2: status active") &&
      hb.log().includes(`Link node2:${pair.a} up.`) &&
      real.log().includes("Status update for node node1: status active") &&
      real.log().includes(`Link node1:${pair.b} up.`);
    assert(
      await eventually(up, 20_000),
      `hb and the real node did not come up together:\n${both()}`,
    );

    // 5 s on the line: no node or link death, no frame the other side rejected
    const hbMark = hb.log().length;
    const realMark = real.log().length;
    await new Promise((r) => setTimeout(r, 5000));
    const hbSince = hb.log().slice(hbMark);
    const realSince = real.log().slice(realMark);
    assert(!/dead|Dropped|bad packet/i.test(hbSince), `hb while stable:\n${hbSince}`);
    assert(
      !/dead|authentication|bad packet|ERROR|CRIT/i.test(realSince),
      `real node while stable:\n${realSince}`,
    );

    // hb crashes: the real node declares it dead
    let mark = real.log().length;
    let t0 = Date.now();
    hb.killHard();
    assert(
      await declaredDead(() => real.log(), mark, "node1", pair.b),
      `the real node did not declare hb dead:\n${real.log().slice(mark)}`,
    );
    console.log(`real node declared hb dead after ${Date.now() - t0} ms`);

    // hb restarts (new generation): the real node takes it back
    mark = real.log().length;
    const hbMark2 = hb.log().length;
    await hb.start();
    assert(
      await eventually(
        () =>
          real.log().slice(mark).includes("Status update for node node1: status active") &&
          hb.log().slice(hbMark2).includes("Status update for node node2: status active"),
        20_000,
      ),
      `restarted hb not taken back:\n${both()}`,
    );

    // the real node crashes: hb declares it dead
    mark = hb.log().length;
    t0 = Date.now();
    await real.killHard();
    assert(
      await declaredDead(() => hb.log(), mark, "node2", pair.a),
      `hb did not declare the real node dead:\n${hb.log().slice(mark)}`,
    );
    console.log(`hb declared the real node dead after ${Date.now() - t0} ms`);
  } finally {
    await real.killHard();
    await hb.tearDown();
    await pair.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
