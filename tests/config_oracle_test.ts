/**
 * Oracle test: runs the real Heartbeat 3.0.6 on fixture configurations inside
 * throw-away namespaces and checks that hb accepts/refuses them the same way
 * (exit 0 vs 6) with Heartbeat's key lines in both outputs.
 *
 * Needs root, `unshare` and /usr/libexec/heartbeat/heartbeat: it fails (never
 * skips) when they are missing. Only 198.18.0.0/15 addresses are used, inside
 * a private network namespace.
 */
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { ISOLATION_FLAGS } from "./testbed/mod.ts";
import { heartbeatLines } from "../config/diagnostics.ts";
import { loadConfig } from "../config/load.ts";
import { createRealSystemView, type SystemView } from "../config/system_view.ts";

const HEARTBEAT = "/usr/libexec/heartbeat/heartbeat";
const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

const BAD = [
  "illegal",
  "ka10s",
  "kabs",
  "dt",
  "initd",
  "nonode",
  "nomedia",
  "mode644",
  "authorder",
  "crccomment",
  "sha1upper",
  "authbadline",
  "hrbad",
  "hrcont",
  "mcast9",
  "mcastttl",
  "serial9",
  "ucastbad",
  "apibad",
  "autojoin",
  "warn0",
  "udp0",
  "baud2",
  "logdoffnolog",
  "noauth",
  "nohr",
];
const GOOD = ["udp53", "udpalias", "crlf", "hashval", "sthok", "pinggroupbad", "nicefb"];

interface Expect {
  exitCode: 0 | 6;
  authkeysMode: string;
  heartbeat: string[];
}

/** The namespace's network as hb sees it: lo, eth0 198.18.5.1/24 brd, eth1 without IPv4. */
function namespaceSystem(): SystemView {
  const real = createRealSystemView();
  return {
    ...real,
    hostname: () => "node1",
    interfaces: () => [
      { name: "lo", ipv4: [{ address: "127.0.0.1", prefixLen: 8, label: "lo" }] },
      {
        name: "eth0",
        ipv4: [{ address: "198.18.5.1", prefixLen: 24, broadcast: "198.18.5.255", label: "eth0" }],
      },
      { name: "eth1", ipv4: [] },
    ],
  };
}

function requireTools(): void {
  for (const p of [HEARTBEAT, "/usr/bin/unshare"]) {
    try {
      Deno.statSync(p);
    } catch {
      throw new Error(`oracle test cannot run: ${p} is missing (this test never skips)`);
    }
  }
  if (Deno.uid() !== 0) {
    throw new Error("oracle test cannot run: needs root (this test never skips)");
  }
}

const STRIP = /^[A-Z][a-z]{2} [0-9]{2} [0-9:]{8} \S+ heartbeat: \[[0-9]+\]: /gm;

/** Runs the real daemon on a copy of `caseDir`; returns exit code and de-prefixed stderr. */
async function runReal(caseDir: string, mode: number): Promise<{ code: number; stderr: string }> {
  const tmp = await Deno.makeTempDir({ prefix: "hb-oracle-" });
  try {
    const etc = `${tmp}/etc`;
    const lib = `${tmp}/lib`;
    await Deno.mkdir(etc);
    await Deno.mkdir(lib);
    for (const f of ["ha.cf", "authkeys", "haresources"]) {
      try {
        await Deno.copyFile(`${caseDir}/${f}`, `${etc}/${f}`);
      } catch { /* case without this file */ }
    }
    try {
      await Deno.chmod(`${etc}/authkeys`, mode);
    } catch { /* no authkeys */ }
    const script = [
      "set -e",
      "ip link set lo up",
      "ip link add eth0 type veth peer name eth1",
      "ip addr add 198.18.5.1/24 brd + dev eth0",
      "ip link set eth0 up",
      "ip link set eth1 up",
      "hostname node1",
      `mount --bind ${etc} /etc/ha.d`,
      `mount --bind ${lib} /var/lib/heartbeat`,
      "mount -t tmpfs tmpfs /run",
      "set +e",
      `timeout 30 ${HEARTBEAT} 2>${tmp}/stderr`,
      "rc=$?",
      // An accepted start leaves the daemon in this pid namespace: sh is its
      // pid 1, so the kernel kills the daemon and its children when sh exits.
      "exit $rc",
    ].join("\n");
    const out = await new Deno.Command("unshare", {
      args: [
        ...ISOLATION_FLAGS,
        "--net",
        "sh",
        "-c",
        script,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    let stderr = "";
    try {
      stderr = await Deno.readTextFile(`${tmp}/stderr`);
    } catch {
      throw new Error(`namespace set-up failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    return { code: out.code, stderr: stderr.replace(STRIP, "") };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

async function compare(kind: string, name: string): Promise<void> {
  const dir = `${FIXTURES}${kind}/${name}`;
  const exp = JSON.parse(await Deno.readTextFile(`${dir}/expect.json`)) as Expect;
  const mode = parseInt(exp.authkeysMode, 8);
  try {
    Deno.chmodSync(`${dir}/authkeys`, mode);
  } catch { /* no authkeys */ }
  const real = await runReal(dir, mode);
  const ours = loadConfig({ dir, displayDir: "/etc/ha.d/", system: namespaceSystem() });
  const oursText = ours.diagnostics.flatMap(heartbeatLines).join("\n");
  assertEquals(real.code, exp.exitCode, `real heartbeat on ${name}:\n${real.stderr}`);
  assertEquals(ours.exitCode, real.code, `hb on ${name}:\n${oursText}\nreal:\n${real.stderr}`);
  for (const line of exp.heartbeat) {
    assertStringIncludes(real.stderr, line, `real heartbeat on ${name}`);
    assertStringIncludes(oursText, line, `hb on ${name}`);
  }
  if (exp.exitCode === 6) {
    assertStringIncludes(real.stderr, "Configuration error, heartbeat not started.");
    assertStringIncludes(oursText, "Configuration error, heartbeat not started.");
  } else {
    assertStringIncludes(real.stderr, "Configuration validated. Starting heartbeat 3.0.6");
    assertStringIncludes(oursText, "Configuration validated. Starting heartbeat 3.0.6");
  }
}

Deno.test("oracle: tools are present", () => requireTools());

for (const name of BAD) {
  Deno.test(`oracle: bad_configs/${name} refused like heartbeat 3.0.6`, async () => {
    requireTools();
    await compare("bad_configs", name);
  });
}
for (const name of GOOD) {
  Deno.test(`oracle: good_configs/${name} accepted like heartbeat 3.0.6`, async () => {
    requireTools();
    await compare("good_configs", name);
  });
}
