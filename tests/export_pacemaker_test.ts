/**
 * `heartbeat export pacemaker`: every haresources layout under
 * `tests/fixtures/export_pacemaker/` (plus two of the good configuration
 * fixtures) is exported and the CIB is checked by Pacemaker's own
 * `crm_verify -V -x` (Debian `pacemaker-cli-utils`, installed by
 * `.ci/packages.sh`): any error or warning fails the test; every
 * `ocf:heartbeat` parameter written must be one the installed agent's
 * meta-data lists. Pacemaker's scheduler (`crm_simulate`, offline) then runs
 * Heartbeat's scenarios on an export — start, failover, the failed node's
 * return — and the groups must land where Heartbeat put them for each
 * `auto_failback` mode. The command is also run as a user runs it
 * (`main.ts export pacemaker DIR`, and with `HB_CONFDIR`). Fails loudly when
 * the Pacemaker tools are missing.
 *
 * @module
 */
import { assert, assertEquals, assertStringIncludes, fail } from "./assert.ts";
import { exportPacemakerDir } from "../cli/export.ts";
import { parseHaresources } from "../config/haresources.ts";
import { OCF_WRAPPED_SCRIPTS, pacemakerCib } from "../config/pacemaker_export.ts";
import type { FileInfo, SystemView } from "../config/system_view.ts";
import { corpusSystem } from "./support/config_corpus.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
const MAIN = new URL("../main.ts", import.meta.url).pathname;

interface Expect {
  authkeysMode: string;
  /** Substrings the CIB must contain. */
  contains?: string[];
  /** Substrings it must not contain. */
  absent?: string[];
  /** Number of groups. */
  groups?: number;
  /** Primitive ids in this order. */
  order?: string[];
  /** One substring per expected note (exactly that many notes). */
  notes: string[];
}

/** Heartbeat's resource.d wrappers and a few init scripts, as on a Heartbeat node. */
const SCRIPTS: Record<string, true> = {
  ...Object.fromEntries(OCF_WRAPPED_SCRIPTS.map((s) => [`/etc/ha.d/resource.d/${s}`, true])),
  "/etc/ha.d/resource.d/myservice": true,
  "/etc/init.d/httpd": true,
  "/etc/init.d/mysql": true,
  "/etc/init.d/nfs-kernel-server": true,
};

function exportSystem(dir: string): SystemView {
  const base = corpusSystem(dir);
  const script: FileInfo = { isFile: true, isDirectory: false, isCharDevice: false, mode: 0o755 };
  return { ...base, stat: (p) => (SCRIPTS[p] ? script : base.stat(p)) };
}

/** Runs `crm_verify -V -x` on the CIB; returns its complaints (empty when clean). */
async function crmVerify(xml: string): Promise<string[]> {
  const file = await Deno.makeTempFile({ prefix: "hb-cib-", suffix: ".xml" });
  try {
    await Deno.writeTextFile(file, xml);
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("crm_verify", {
        args: ["-V", "-x", file],
        stdout: "piped",
        stderr: "piped",
        stdin: "null",
      }).output();
    } catch (e) {
      fail(
        `crm_verify cannot run (${e}): install Debian's pacemaker-cli-utils (.ci/packages.sh)`,
      );
    }
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    const bad = text.split("\n").filter((l) => /error|warning/i.test(l));
    if (out.code !== 0) bad.unshift(`crm_verify exit status ${out.code}`);
    return bad;
  } finally {
    await Deno.remove(file);
  }
}

const OCF_ROOT = "/usr/lib/ocf";
const agentCache = new Map<string, Set<string>>();

/** Parameter names of an ocf:heartbeat agent from its meta-data (Debian's resource-agents). */
async function agentParams(type: string): Promise<Set<string>> {
  const hit = agentCache.get(type);
  if (hit) return hit;
  const path = `${OCF_ROOT}/resource.d/heartbeat/${type}`;
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(path, {
      args: ["meta-data"],
      env: { OCF_ROOT },
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).output();
  } catch (e) {
    fail(`${path} cannot run (${e}): install Debian's resource-agents (.ci/packages.sh)`);
  }
  const names = new Set(
    [...new TextDecoder().decode(out.stdout).matchAll(/<parameter name="([^"]+)"/g)].map((m) =>
      m[1]
    ),
  );
  assert(names.size > 0, `${path} meta-data lists no parameter`);
  agentCache.set(type, names);
  return names;
}

/** Every ocf:heartbeat primitive of the CIB names an installed agent and only its parameters. */
async function checkAgents(xml: string): Promise<void> {
  const prims = xml.matchAll(
    /<primitive id="([^"]+)" class="ocf" provider="heartbeat" type="([^"]+)">(.*?)<\/primitive>/gs,
  );
  for (const [, id, type, body] of prims) {
    const known = await agentParams(type);
    for (const [, name] of body.matchAll(/<nvpair id="[^"]*" name="([^"]+)"/g)) {
      assert(known.has(name), `${id}: ocf:heartbeat:${type} has no parameter ${name}`);
    }
  }
}

function prepare(dir: string, mode: string): void {
  // git does not keep 0600: Heartbeat refuses an authkeys readable by others
  Deno.chmodSync(`${dir}/authkeys`, parseInt(mode, 8));
}

const layouts = [...Deno.readDirSync(FIXTURES + "export_pacemaker")]
  .filter((e) => e.isDirectory).map((e) => e.name).sort();

Deno.test("export pacemaker: at least 5 haresources layouts", () => {
  assert(layouts.length >= 5, `${layouts.length} layouts`);
});

for (const name of layouts) {
  Deno.test(`export pacemaker: ${name} passes crm_verify`, async () => {
    const dir = `${FIXTURES}export_pacemaker/${name}`;
    const exp = JSON.parse(Deno.readTextFileSync(`${dir}/expect.json`)) as Expect;
    prepare(dir, exp.authkeysMode);
    const r = exportPacemakerDir(dir, { system: exportSystem(dir) });
    assertEquals(r.exitCode, 0, r.lines.join("\n"));
    const xml = r.xml!;
    assertEquals(await crmVerify(xml), [], xml);
    await checkAgents(xml);
    for (const s of exp.contains ?? []) assertStringIncludes(xml, s, name);
    for (const s of exp.absent ?? []) assert(!xml.includes(s), `${name}: unexpected ${s}`);
    if (exp.groups !== undefined) {
      assertEquals(xml.match(/<group /g)?.length ?? 0, exp.groups, name);
    }
    if (exp.order) {
      const at = exp.order.map((id) => xml.indexOf(`<primitive id="${id}"`));
      assert(at.every((p, i) => p >= 0 && (i === 0 || p > at[i - 1])), `${name}: order ${at}`);
    }
    assertEquals(r.lines.length, exp.notes.length, r.lines.join("\n"));
    exp.notes.forEach((n, i) => assertStringIncludes(r.lines[i], n, name));
    for (const l of r.lines) assert(/^\/.*:\d+: /.test(l), `not file:line: ${l}`);
  });
}

Deno.test("export pacemaker: every resource.d wrapper maps to an installed agent", async () => {
  const line = [
    "node1 198.18.5.10 IPaddr::198.18.5.11/24/eth0/198.18.5.255",
    "IPaddr2::198.18.5.12/24/eth0:web/198.18.5.255 Filesystem::/dev/sdb1::/data::ext4::noatime",
    "apache::/etc/apache2/apache2.conf MailTo::root@example.com::failover Delay::5::3",
    "Xinetd::tftp portblock::tcp::80::block SendArp::198.18.5.13/eth0",
    "IPv6addr::2001:db8:0:0:0:0:0:10/64/eth0 WAS::9080 WAS::/etc/was.conf",
    "AudibleAlarm::node1::node2 LVM::vg0 Raid1::/etc/raidtab::/dev/md0 db2::db2inst1",
    "IPsrcaddr::198.18.5.10 ICP::1::/dev/sdc ServeRAID::1::2 WinPopup::/etc/hosts.win",
    "LinuxSCSI::0:0:1 ids::/opt/informix::srv::onconfig",
  ].join(" ");
  const r = pacemakerCib({
    nodes: ["node1", "node2"],
    autoFailback: "on",
    groups: parseHaresources(line + "\n").groups,
  });
  assertEquals(r.notes, []);
  for (const w of OCF_WRAPPED_SCRIPTS) {
    if (w === "OCF" || w === "IPaddr") continue;
    assertStringIncludes(r.xml, `type="${w}"`, w);
  }
  assertEquals(await crmVerify(r.xml), [], r.xml);
  await checkAgents(r.xml);
});

/**
 * Exports the good config `name` (tests/fixtures/good_configs), which must succeed with a CIB
 * that crm_verify accepts; returns its directory, the CIB and the notes.
 */
async function exportGood(name: string): Promise<{ dir: string; xml: string; notes: string }> {
  const dir = `${FIXTURES}good_configs/${name}`;
  prepare(dir, "600");
  const r = exportPacemakerDir(dir, { system: exportSystem(dir) });
  assertEquals(r.exitCode, 0, r.lines.join("\n"));
  assertEquals(await crmVerify(r.xml!), [], r.xml);
  return { dir, xml: r.xml!, notes: r.lines.join("\n") };
}

Deno.test("export pacemaker: good config sthok (stonith_host) passes, fencing noted", async () => {
  const { dir, xml, notes } = await exportGood("sthok");
  assertStringIncludes(xml, "ha.cf configures fencing (stonith_host * null node1 node2)");
  assertStringIncludes(
    notes,
    `${dir}/ha.cf:7: stonith_host: 'stonith_host * null node1 node2' not exported`,
  );
});

Deno.test("export pacemaker: good config nicefb (legacy, no groups) passes", async () => {
  const { xml } = await exportGood("nicefb");
  assertStringIncludes(xml, 'name="resource-stickiness" value="0"');
  assert(!xml.includes("<group "));
});

Deno.test("export pacemaker: a refused configuration is not exported", () => {
  const dir = `${FIXTURES}export_pacemaker/ip_only`;
  prepare(dir, "644");
  try {
    const r = exportPacemakerDir(dir, { system: exportSystem(dir) });
    assertEquals(r.exitCode, 1);
    assertEquals(r.xml, undefined);
    assertStringIncludes(r.lines.join("\n"), "authkeys");
    assertStringIncludes(r.lines.at(-1)!, "not exported");
  } finally {
    prepare(dir, "600");
  }
});

/** A configuration directory the real machine accepts (loopback medium). */
async function realDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "hb-export-" });
  await Deno.writeTextFile(
    `${dir}/ha.cf`,
    "keepalive 1\ndeadtime 10\nnode alpha beta\nlogfile /dev/null\nucast lo 127.0.0.1\n" +
      "auto_failback off\n",
  );
  await Deno.writeTextFile(`${dir}/authkeys`, "auth 1\n1 sha1 secret\n", { mode: 0o600 });
  await Deno.chmod(`${dir}/authkeys`, 0o600);
  await Deno.writeTextFile(
    `${dir}/haresources`,
    "alpha 198.18.9.10/24 Filesystem::/dev/sdb1::/data::xfs\nbeta 198.18.9.11\n",
  );
  return dir;
}

async function runMain(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

Deno.test("export pacemaker: `main.ts export pacemaker DIR` and HB_CONFDIR", async () => {
  const dir = await realDir();
  try {
    const a = await runMain(["export", "pacemaker", "-n", "alpha", dir]);
    assertEquals(a.code, 0, a.stderr);
    assertStringIncludes(a.stdout, '<node id="2" uname="beta"/>');
    assertStringIncludes(a.stdout, 'name="fstype" value="xfs"');
    assertEquals(await crmVerify(a.stdout), [], a.stdout);
    // this host is no ha.cf node: the export reads the configuration as the first node
    const b = await runMain(["export", "pacemaker"], { HB_CONFDIR: dir });
    assertEquals(b.code, 0, b.stderr);
    assertEquals(b.stdout, a.stdout);
    const usage = await runMain(["export", "crm"]);
    assertEquals(usage.code, 2);
    assertStringIncludes(usage.stderr, "unknown target 'crm'; allowed: pacemaker");
    const missing = await runMain(["export", "pacemaker", `${dir}/nowhere`]);
    assertEquals(missing.code, 1);
    assertStringIncludes(missing.stderr, "not exported");
    assertEquals(missing.stdout, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs one `crm_simulate` transition from state `from`, saving the result as `to`. */
async function simulate(from: string, to: string, events: string[]): Promise<void> {
  const out = await new Deno.Command("crm_simulate", {
    args: ["-x", from, ...events, "-S", "-O", to],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, `crm_simulate ${events.join(" ")}: ${err}`);
}

/** Where each resource runs in a saved state (`crm_mon` reading the file). */
async function placement(file: string): Promise<Record<string, string>> {
  const out = await new Deno.Command("crm_mon", {
    args: ["-1", "--output-as=xml"],
    env: { CIB_file: file },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const xml = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const where: Record<string, string> = {};
  for (const [, id, node] of xml.matchAll(/<resource id="([^"]+)"[^>]*>\s*<node name="([^"]+)"/g)) {
    where[id] = node;
  }
  return where;
}

for (const af of ["on", "off", "legacy"] as const) {
  Deno.test(`export pacemaker: Pacemaker places the groups as Heartbeat did (auto_failback ${af})`, async () => {
    const tmp = await Deno.makeTempDir({ prefix: "hb-sim-" });
    try {
      const cib = pacemakerCib({
        nodes: ["node1", "node2"],
        autoFailback: af,
        groups: parseHaresources("node1 198.18.5.10 mysql\nnode2 198.18.5.11\n").groups,
      });
      await Deno.writeTextFile(`${tmp}/0.xml`, cib.xml);
      // both nodes start: every group on its haresources node
      await simulate(`${tmp}/0.xml`, `${tmp}/1.xml`, ["-u", "node1", "-u", "node2"]);
      assertEquals(await placement(`${tmp}/1.xml`), {
        "ip-198.18.5.10": "node1",
        mysql: "node1",
        "ip-198.18.5.11": "node2",
      });
      // node1 dies: its group fails over
      await simulate(`${tmp}/1.xml`, `${tmp}/2.xml`, ["-d", "node1"]);
      assertEquals(await placement(`${tmp}/2.xml`), {
        "ip-198.18.5.10": "node2",
        mysql: "node2",
        "ip-198.18.5.11": "node2",
      });
      // node1 returns: on and legacy fail back, off stays
      await simulate(`${tmp}/2.xml`, `${tmp}/3.xml`, ["-u", "node1"]);
      const home = af === "off" ? "node2" : "node1";
      assertEquals(await placement(`${tmp}/3.xml`), {
        "ip-198.18.5.10": home,
        mysql: home,
        "ip-198.18.5.11": "node2",
      });
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  });
}
