/**
 * The demo (`heartbeat demo`, cli/demo.ts) as a newcomer runs it: as root, `deno run -A main.ts
 * demo` must exit 0 in under 60 s, show the service IP failing over (the client's HTTP outage)
 * and failing back; a throw-away user without root runs `./run demo` from its own copy of the
 * repository to completion (the demo re-runs itself in a user namespace); a missing program is
 * named, with its package and the install command, in one line. Needs root (to make the user and
 * hide programs) and the lab's packages (plus socat or python3 for the demo's HTTP server);
 * fails loudly when something is missing.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { run } from "./testbed/mod.ts";
import { lookupUser, shellQuote, which } from "./testbed/sys.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
/** `deno run -A --quiet main.ts demo` of this checkout. */
const DEMO = [Deno.execPath(), "run", "-A", "--quiet", MAIN, "demo"];

/**
 * Runs the demo `cmd` to completion (SIGINT after `limitMs`: the demo cleans up on it, also in a
 * user namespace), prints its output and how long it took (`who` names the runner); returns the
 * exit code, the output and the milliseconds.
 */
async function runDemo(
  cmd: string[],
  opts: { cwd?: string; env?: Record<string, string> },
  limitMs: number,
  who = "",
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: opts.cwd,
    env: opts.env,
    clearEnv: opts.env !== undefined,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGINT");
    } catch {
      // gone
    }
  }, limitMs);
  const out = await child.output();
  clearTimeout(timer);
  const ms = performance.now() - t0;
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  console.log(stdout);
  if (stderr.trim()) console.log(stderr);
  console.log(`demo${who} took ${(ms / 1000).toFixed(1)} s`);
  return { code: out.code, stdout, stderr, ms };
}

/**
 * `cmd` as root in a private mount namespace, after the shell `script` (which sees `arg0` as
 * `$0` and ends with `exec "$@"`).
 */
function inPrivateMounts(script: string, arg0: string, cmd: string[]): string[] {
  return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, arg0, ...cmd];
}

/** `cmd` as the user `user` (its uid and gid, no supplementary groups). */
function asUser(user: { uid: number; gid: number }, cmd: string[]): string[] {
  return ["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--", ...cmd];
}

Deno.test("demo: `main.ts demo` exits 0 in under 60 s and shows the HTTP failover", async () => {
  const { code, stdout, stderr, ms } = await runDemo(
    [Deno.execPath(), "run", "-A", MAIN, "demo"],
    {},
    60_000,
  );
  assertEquals(code, 0, `demo exit status (stderr: ${stderr})`);
  assert(ms < 60_000, `demo took ${ms.toFixed(0)} ms (limit 60 s)`);
  assertMatch(stdout, /answered by node1/);
  assertMatch(stdout, /node2 declared node1 dead \d+ ms after the kill/);
  const m = stdout.match(/first HTTP reply from node2 (\d+) ms after node1 was killed/);
  assert(m, "the demo prints the failover time measured by the client");
  assert(Number(m[1]) < 10_000, `failover took ${m[1]} ms`);
  assertMatch(stdout, /node1 is back and serves again/);
  assertMatch(stdout, /demo complete/);
});

/** Runs `cmd` as root in a private mount namespace where `programs` are hidden (bind-mounted /dev/null over them). */
function withoutPrograms(programs: string[], cmd: string[]): string[] {
  const hide = programs.map((p) => {
    const path = which(p);
    assert(path, `${p} must be installed for this test (it hides it)`);
    return `mount --bind /dev/null ${shellQuote(Deno.realPathSync(path))}`;
  });
  return inPrivateMounts(`${hide.join(" && ")} && exec "$@"`, "hide", cmd);
}

/** Runs `cmd` to completion; `env` replaces the environment when `clearEnv`, else adds to it. */
async function output(cmd: string[], env?: Record<string, string>, clearEnv = true) {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env,
    clearEnv: env !== undefined && clearEnv,
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("demo: a missing program (root, --no-install) is named with its package and the install command, in one line", async () => {
  const r = await output(withoutPrograms(["ip", "nft"], [...DEMO, "--no-install"]));
  console.log(r.stderr);
  assertEquals(r.code, 1, `exit status (stdout: ${r.stdout})`);
  // nft is not something the demo uses: only ip is named
  assertEquals(
    r.stderr,
    "hb demo: missing programs: ip (iproute2); install them with: apt-get install -y iproute2\n",
  );
  assertEquals(r.stdout, "");
});

/**
 * A throw-away system user (looked up by name afterwards: ids differ between machines) and a
 * copy of the repository it owns: the source tree, the pinned deno, a DENO_DIR holding the npm
 * packages the program imports (copied from this user's, so no download is needed).
 */
async function throwawayUser(dir: string) {
  const name = `hbdemo${
    crypto.getRandomValues(new Uint8Array(3)).reduce((s, b) =>
      s + b.toString(16).padStart(2, "0"), "")
  }`;
  await run([
    "useradd",
    "--system",
    "--no-create-home",
    "--home-dir",
    `${dir}/home`,
    "--shell",
    "/usr/sbin/nologin",
    name,
  ]);
  const user = lookupUser(name);
  assert(user, `useradd made no /etc/passwd entry for ${name}`);
  const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const clone = `${dir}/hb`;
  await Deno.mkdir(clone, { recursive: true });
  for await (const e of Deno.readDir(repo)) {
    if ([".git", ".tools", "dist", "node_modules"].includes(e.name)) continue;
    await run(["cp", "-a", "--", `${repo}/${e.name}`, `${clone}/`]);
  }
  await Deno.mkdir(`${clone}/.tools/node_modules/.bin`, { recursive: true });
  await run(["cp", "--", Deno.execPath(), `${clone}/.tools/node_modules/.bin/deno`]);
  const info = JSON.parse((await run([Deno.execPath(), "info", "--json"])).stdout);
  await Deno.mkdir(`${dir}/home/deno`, { recursive: true });
  await run(["cp", "-a", "--", `${info.denoDir}/npm`, `${dir}/home/deno/`]);
  await run(["chown", "-R", `${user.uid}:${user.gid}`, dir]);
  await Deno.chmod(dir, 0o755);
  return {
    name,
    ...user,
    clone,
    /** `deno run -A --quiet main.ts demo` of the user's copy, with its own deno. */
    demo: [
      `${clone}/.tools/node_modules/.bin/deno`,
      "run",
      "-A",
      "--quiet",
      `${clone}/main.ts`,
      "demo",
    ],
    env: {
      PATH: "/usr/local/bin:/usr/bin:/bin", // a user's PATH: no sbin directories
      HOME: `${dir}/home`,
      DENO_DIR: `${dir}/home/deno`,
      LANG: "C.UTF-8",
    },
    async [Symbol.asyncDispose]() {
      await run(["userdel", name], { check: false });
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

Deno.test("demo: a user without root runs `./run demo` from a fresh copy to completion (user namespace)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hb-demo-user-" });
  await using user = await throwawayUser(dir);
  // SIGINT on the time limit is passed on to the demo in the user namespace, which cleans up
  const { code, stdout, stderr } = await runDemo(
    asUser(user, [`${user.clone}/run`, "demo"]),
    { cwd: user.clone, env: user.env },
    90_000,
    ` as ${user.name} (uid ${user.uid})`,
  );
  assertEquals(code, 0, `demo exit status (stderr: ${stderr})`);
  assertMatch(stdout, /not root: running in a user namespace/);
  assertMatch(stdout, /answered by node1/);
  assertMatch(stdout, /first HTTP reply from node2 \d+ ms after node1 was killed/);
  assertMatch(stdout, /node1 is back and serves again/);
  assertMatch(stdout, /demo complete/);
  assertEquals(stderr.includes("Uncaught"), false, stderr);
  // the user's processes are all gone
  const left = (await run(["pgrep", "-u", String(user.uid)], { check: false })).stdout.trim();
  assertEquals(left, "", `processes of ${user.name} left after the demo`);
});

Deno.test("demo: without root, a missing program is named with `sudo apt-get install` in one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hb-demo-user-" });
  await using user = await throwawayUser(dir);
  const r = await output(withoutPrograms(["sysctl"], asUser(user, user.demo)), user.env);
  console.log(r.stderr);
  assertEquals(r.code, 1, `exit status (stdout: ${r.stdout})`);
  assertEquals(
    r.stderr,
    "hb demo: missing programs: sysctl (procps); install them with: sudo apt-get install -y procps\n",
  );
});

Deno.test("demo: as root, a missing program is installed with apt-get (a stand-in apt-get here), then named if still missing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hb-demo-apt-" });
  try {
    const log = `${dir}/apt-get.log`;
    // apt-get that only records its calls: the machine's packages are not touched
    await Deno.writeTextFile(`${dir}/apt-get`, `#!/bin/sh\necho "$DEBIAN_FRONTEND $*" >>${log}\n`, {
      mode: 0o755,
    });
    const r = await output(
      withoutPrograms(["ip"], DEMO),
      { PATH: `${dir}:${Deno.env.get("PATH")}` },
      false,
    );
    console.log(r.stdout + r.stderr);
    assertEquals(r.code, 1);
    assertEquals(
      r.stdout,
      "hb demo: installing iproute2 (apt-get; --no-install only names them)\n",
    );
    assertEquals(
      await Deno.readTextFile(log),
      "noninteractive update -q\nnoninteractive install -y -q --no-install-recommends iproute2\n",
    );
    assertEquals(
      r.stderr,
      "hb demo: missing programs: ip (iproute2); install them with: apt-get install -y iproute2\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("demo: without root where user namespaces are not allowed (a chroot), it says so in one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hb-demo-user-" });
  await using user = await throwawayUser(dir);
  const jail = `${dir}/chroot`;
  await Deno.mkdir(jail);
  // the kernel refuses new user namespaces to a chrooted process: the same tree, chrooted
  const r = await output(
    inPrivateMounts('mount --rbind / "$0" && exec "$@"', jail, [
      which("chroot") ?? "chroot",
      jail,
      ...asUser(user, user.demo),
    ]),
    user.env,
  );
  console.log(r.stderr);
  assertEquals(r.code, 1, `exit status (stdout: ${r.stdout})`);
  assertEquals(r.stdout, "");
  assertMatch(
    r.stderr,
    /^hb demo: needs root, or unprivileged user namespaces, which this machine does not allow \(.*Operation not permitted.*\); run it as root\n$/,
  );
});

Deno.test("demo: as root on a machine without the heartbeat and nftables packages, it completes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hb-demo-fresh-" });
  try {
    const nft = which("nft");
    assert(nft, "nft must be installed for this test (it hides it)");
    // In a private mount namespace: overlays over /etc and /var/lib whose upper layers hide
    // /etc/ha.d and /var/lib/heartbeat (whiteouts) and the hacluster/haclient entries; nft
    // hidden under /dev/null. The machine itself is not touched.
    const script = `set -e
d="$0"
for p in etc var_lib; do mkdir -p "$d/$p/upper" "$d/$p/work"; done
mknod "$d/etc/upper/ha.d" c 0 0
mknod "$d/var_lib/upper/heartbeat" c 0 0
grep -v '^hacluster:' /etc/passwd >"$d/etc/upper/passwd"
grep -v '^haclient:' /etc/group >"$d/etc/upper/group"
mount -t overlay hide -o "lowerdir=/etc,upperdir=$d/etc/upper,workdir=$d/etc/work" /etc
mount -t overlay hide -o "lowerdir=/var/lib,upperdir=$d/var_lib/upper,workdir=$d/var_lib/work" /var/lib
mount --bind /dev/null ${shellQuote(Deno.realPathSync(nft))}
if [ -e /etc/ha.d ] || [ -e /var/lib/heartbeat ] || grep -q '^hacluster:' /etc/passwd; then
  echo "heartbeat's files still visible" >&2; exit 99
fi
exec "$@"`;
    const r = await output(inPrivateMounts(script, dir, [...DEMO, "--no-install"]));
    console.log(r.stdout);
    if (r.stderr.trim()) console.log(r.stderr);
    assertEquals(r.code, 0, `demo exit status (stderr: ${r.stderr})`);
    assertMatch(r.stdout, /Running builtin:IPaddr 198\.18\.0\.100\/24\/eth0 start/);
    assertMatch(r.stdout, /first HTTP reply from node2 \d+ ms after node1 was killed/);
    assertMatch(r.stdout, /node1 is back and serves again/);
    assertMatch(r.stdout, /demo complete/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
