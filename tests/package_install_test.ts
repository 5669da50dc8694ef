/**
 * The Debian package, installed for real (issue 15, part 2): `./run package`'s .deb goes into a
 * throwaway root, never the machine's own `/`: an overlayfs whose lower layer is `/` (read
 * only, through the overlay) and whose upper layer is a temp dir, mounted in a private mount
 * namespace and entered with chroot ({@link ROOT_SCRIPT}). Every step (dpkg -i, the daemon,
 * dpkg --purge) mounts the same upper layer again, so the root keeps its state between steps.
 *
 * 1. build the .deb, `dpkg -i` it: Heartbeat's programs are diverted aside and link to the
 *    launcher;
 * 2. a testbed pair runs the real Heartbeat 3.0.6 on both nodes; node1 stops, and the installed
 *    hb starts on node1 with node1's `/etc/ha.d` and `/var/lib/heartbeat` as Heartbeat left
 *    them (`/usr/libexec/heartbeat/heartbeat -f` inside the root, in node1's network
 *    namespace): node2 (real Heartbeat) sees node1 active again, node1's workers run (process
 *    titles), the installed `cl_status` answers; a changed ha.cf and the installed
 *    `heartbeat -r` make the daemon re-execute itself through the launcher (same pid, shipped
 *    runtime, node2 sees it active again); Heartbeat's `/etc/init.d/heartbeat status` and `stop`
 *    drive it (the daemon exits 0);
 * 3. `dpkg --purge hb`: the diversions are gone, Heartbeat's files are back, and the upper layer
 *    holds nothing but dpkg's own bookkeeping: no file of hb, no host file removed or changed.
 *    (The hacluster user and haclient group exist on the host already.)
 *
 * A second test starts from a root without Debian's heartbeat package and without the hacluster
 * user and haclient group: the package makes both, installs its logrotate policy (Debian's
 * heartbeat is not there with its own; logrotate rotates ha-log with it), `heartbeat check` and
 * `cl_status` (as nobody) run, and
 * after the purge the root is as before the install, except the user and group, which stay
 * (Debian policy: files may still belong to them).
 *
 * Needs root, the testbed's packages and the real Heartbeat 3.0.6; fails loudly otherwise.
 *
 * @module
 */

import { requireRealHeartbeat } from "./support/mod.ts";
import { buildDeb, diversions, LAUNCHER } from "../packaging/build_deb.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { authkeys, REAL_CL_STATUS, run, waitFor } from "./testbed/mod.ts";
import { pairTestbed, testHaCf, writeNodeFiles } from "./support/cluster.ts";

/**
 * Mounts the throwaway root and runs a command in it (chroot). Arguments: mode (`admin`: a fresh
 * /run; `node`: the node's /etc/ha.d, /var/lib/heartbeat, /var/log and /run are bound in), the
 * upper, work and merged dirs, the dir bound on /mnt (the .deb), then the command. Runs in a
 * private mount namespace (unshare for admin steps, the node's own for the daemon).
 */
const ROOT_SCRIPT = `
set -eu
mode=$1 upper=$2 work=$3 merged=$4 share=$5
shift 5
mount --make-rprivate /
mount -t overlay hbpkgroot -o "lowerdir=/,upperdir=$upper,workdir=$work" "$merged"
mount -t proc proc "$merged/proc"
mount --rbind /dev "$merged/dev"
mount --rbind /sys "$merged/sys"
mount -t tmpfs tmpfs "$merged/tmp"
mount --bind "$share" "$merged/mnt"
if [ "$mode" = node ]; then
  for d in /etc/ha.d /var/lib/heartbeat /var/log /run; do mount --bind "$d" "$merged$d"; done
else
  # never the host's /run: no systemd, no pid files of the machine
  mount -t tmpfs tmpfs "$merged/run"
fi
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
exec chroot "$merged" "$@"
`;

/** The overlay's directories. */
interface Root {
  upper: string;
  work: string;
  merged: string;
  share: string;
}

function rootArgs(mode: "admin" | "node", r: Root): string[] {
  return ["bash", "-c", ROOT_SCRIPT, "hbpkg-root", mode, r.upper, r.work, r.merged, r.share];
}

/** The command line that runs `cmd` in the throwaway root, outside any node. */
function inRootCmd(r: Root, cmd: string[]): string[] {
  return ["unshare", "--mount", "--propagation", "private", "--", ...rootArgs("admin", r), ...cmd];
}

/** Runs `cmd` in the throwaway root, outside any node (dpkg); fails the test unless it exits 0. */
async function inRoot(r: Root, cmd: string[]): Promise<string> {
  const res = await run(inRootCmd(r, cmd), { check: false, timeoutMs: 300_000 });
  assertEquals(res.code, 0, `${cmd.join(" ")} in the root: ${res.stdout}${res.stderr}`);
  return res.stdout;
}

/** dpkg's own files, which install and purge rewrite: everything else must be as on the host. */
const DPKG_BOOKKEEPING = [
  /^var\/lib\/dpkg(\/|$)/,
  /^var\/log\/dpkg\.log$/,
  /^var\/cache\/ldconfig(\/|$)/,
];

/** What the upper layer holds that is not the host's own: paths that differ, with why. */
async function leftovers(upper: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${upper}/${rel}`)) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (DPKG_BOOKKEEPING.some((re) => re.test(p))) continue;
    const st = await Deno.lstat(`${upper}/${p}`);
    const host = await Deno.lstat(`/${p}`).catch(() => undefined);
    if (st.isCharDevice && st.rdev === 0) {
      out.push(`${p}: removed from the host (whiteout)`);
    } else if (!host) {
      out.push(`${p}: not on the host (left behind)`);
    } else if (st.isDirectory) {
      if (!host.isDirectory) out.push(`${p}: a directory, on the host not`);
      else out.push(...await leftovers(upper, p));
    } else if (st.isSymlink) {
      const [a, b] = [
        await Deno.readLink(`${upper}/${p}`),
        await Deno.readLink(`/${p}`)
          .catch(() => ""),
      ];
      if (a !== b) out.push(`${p}: symlink to ${a}, on the host ${b || "no symlink"}`);
    } else if (st.isFile) {
      const same = host.isFile && st.mode === host.mode && st.uid === host.uid &&
        await run(["cmp", "-s", `${upper}/${p}`, `/${p}`], { check: false }).then((r) =>
          r.code === 0
        );
      if (!same) out.push(`${p}: differs from the host's file`);
    } else {
      out.push(`${p}: unexpected file type`);
    }
  }
  return out;
}

/** Builds the package into `tmp/share` (bound on /mnt) and makes an empty root under `tmp`. */
async function freshRoot(tmp: string): Promise<{ r: Root; deb: string }> {
  const share = `${tmp}/share`;
  await Deno.mkdir(share);
  const b = await buildDeb(share);
  const r: Root = { upper: `${tmp}/upper`, work: `${tmp}/work`, merged: `${tmp}/merged`, share };
  for (const d of [r.upper, r.work, r.merged]) await Deno.mkdir(d);
  return { r, deb: `/mnt/${b.path.slice(b.path.lastIndexOf("/") + 1)}` };
}

Deno.test("Debian package: install into a throwaway root, join a Heartbeat peer, stop, purge clean", async () => {
  await requireRealHeartbeat();
  const tmp = await Deno.makeTempDir({ prefix: "hbpkg-" });
  try {
    // 1. build and install
    const { r, deb } = await freshRoot(tmp);
    const hostDiversions = (await run(["dpkg-divert", "--list"])).stdout.split("\n").sort();
    await inRoot(r, ["dpkg", "-i", deb]);
    const diverted = await diversions();
    const listed = await inRoot(r, ["dpkg-divert", "--list", "--package", "hb"]);
    for (const p of diverted) assertStringIncludes(listed, `diversion of ${p} to ${p}.distrib`);
    assertEquals(
      await Deno.readLink(`${r.upper}/usr/libexec/heartbeat/heartbeat`),
      LAUNCHER,
      "the daemon path links to the launcher",
    );
    assert(
      await Deno.stat(`${r.upper}/usr/libexec/heartbeat/heartbeat.distrib`).catch(() => null),
      "Heartbeat's daemon is diverted aside",
    );
    assertStringIncludes(await inRoot(r, ["dpkg", "-s", "hb"]), "Status: install ok installed");
    // Debian's heartbeat brings its own rotation policy for ha-log: hb adds none, and logrotate
    // finds no duplicate entry
    assertEquals(await exists(`${r.merged}/etc/logrotate.d/hb`, r), false);
    await inRoot(r, ["logrotate", "-d", "/etc/logrotate.conf"]);
    // the launcher runs the shipped program from the package's files alone
    const version = await inRoot(r, ["/usr/libexec/heartbeat/heartbeat", "-V"]);
    assertStringIncludes(version, "3.0.6");

    // 2. a Heartbeat pair; node1 goes over to the installed hb with its own /etc/ha.d
    await using tb = await pairTestbed("pkg");
    await writeNodeFiles(tb.nodes, {
      haCf: testHaCf({ deadtime: "1", warntime: "500ms", initdead: 2, node: ["node1", "node2"] }),
      authkeys: authkeys("sha1", "package"),
      haresources: "",
    });
    const [node1, node2] = tb.nodes;
    await node1.start({ impl: "heartbeat" });
    await node2.start({ impl: "heartbeat" });
    const nodeStatus = async (of: string) =>
      (await node2.exec([REAL_CL_STATUS, "nodestatus", of])).stdout.trim();
    await waitFor(
      "node2 sees node1 (real) active",
      async () => await nodeStatus("node1") === "active",
      {
        timeoutMs: 30_000,
      },
    );
    const uuidBefore = await Deno.readFile(`${node1.stateDir}/hb_uuid`);
    assertEquals((await node1.stopSoft({ timeoutMs: 60_000 })).code, 0);
    await waitFor("node2 sees node1 gone", async () => await nodeStatus("node1") === "dead", {
      timeoutMs: 30_000,
    });
    const from = await node2.logOffset();
    await node1.start({
      impl: "hb",
      cmd: [...rootArgs("node", r), "/usr/libexec/heartbeat/heartbeat", "-f"],
      timeoutMs: 30_000,
    });
    await node2.waitForLog(/Status update for node node1: status (init|up|active)/, {
      from,
      timeoutMs: 60_000,
    });
    await waitFor(
      "node2 sees node1 (installed hb) active",
      async () => await nodeStatus("node1") === "active",
      {
        timeoutMs: 60_000,
      },
    );
    // the same node to its peer: the uuid Heartbeat wrote is kept
    assertEquals(await Deno.readFile(`${node1.stateDir}/hb_uuid`), uuidBefore);
    // the workers were started through the launcher (process titles set by hb's workers)
    const titles = await waitFor("node1's workers", async () => {
      const ps = (await node1.exec(["ps", "-e", "-o", "args="])).stdout;
      return ps.includes("heartbeat: write: bcast eth0") &&
          ps.includes("heartbeat: read: bcast eth0")
        ? ps
        : undefined;
    }, { timeoutMs: 30_000 });
    assertStringIncludes(titles, "heartbeat: master control process");
    const exes = await Promise.all(
      node1.pids().map((p) => Deno.readLink(`/proc/${p}/exe`).catch(() => "")),
    );
    assert(
      exes.some((e) => e.endsWith("/usr/lib/hb/deno")),
      `hb runs on the shipped runtime: ${exes.join(" ")}`,
    );
    // the installed client tool, inside the root on node1
    const cl = await node1.exec(["chroot", r.merged, "/usr/bin/cl_status", "nodestatus", "node2"]);
    assertEquals(cl.stdout.trim(), "active", `installed cl_status: ${cl.stdout}${cl.stderr}`);

    // a changed ha.cf and the installed `heartbeat -r`: the daemon re-executes itself (same pid)
    // through the launcher, and comes back as hb on the shipped runtime
    const master = node1.daemonPid!;
    const fromRestart = await node1.logOffset();
    const haCfText = await Deno.readTextFile(`${node1.confDir}/ha.cf`);
    await node1.writeHaCf(haCfText.replace("warntime 500ms", "warntime 600ms"));
    const rr = await node1.exec(["chroot", r.merged, "/usr/libexec/heartbeat/heartbeat", "-r"]);
    assertEquals(rr.code, 0, `installed heartbeat -r: ${rr.stdout}${rr.stderr}`);
    await node1.waitForLog("Performing heartbeat restart exec.", {
      from: fromRestart,
      timeoutMs: 30_000,
    });
    const execAt = (await node1.readLog()).indexOf(
      "Performing heartbeat restart exec.",
      fromRestart,
    );
    await node1.waitForLog("Configuration validated. Starting heartbeat", {
      from: execAt,
      timeoutMs: 30_000,
    });
    await waitFor(
      "node2 sees node1 active after the restart",
      async () => await nodeStatus("node1") === "active",
      { timeoutMs: 60_000 },
    );
    assertEquals(node1.daemonPid, master, "the same process after the restart exec");
    assert((await Deno.readLink(`/proc/${master}/exe`)).endsWith("/usr/lib/hb/deno"));
    await waitFor(
      "the new image's title",
      async () =>
        (await Deno.readTextFile(`/proc/${master}/cmdline`)).startsWith(
          "heartbeat: master control process",
        ),
      { timeoutMs: 30_000 },
    );

    // Heartbeat's own init script drives the installed daemon (`heartbeat -s`, `heartbeat -k`)
    const initd = (action: string) =>
      node1.exec(["chroot", r.merged, "/etc/init.d/heartbeat", action], { timeoutMs: 60_000 });
    const hbStatus = await initd("status");
    assertEquals(hbStatus.code, 0, `init.d status: ${hbStatus.stdout}${hbStatus.stderr}`);
    // not awaited: the command dies with the node once the daemon is gone
    initd("stop").catch(() => {});
    const end = await node1.wait();
    assertEquals(
      end.code,
      0,
      `exit after /etc/init.d/heartbeat stop\n${await node1.readConsole()}`,
    );
    await node2.stopSoft({ timeoutMs: 60_000 });

    // 3. purge: nothing of hb is left, nothing of the host changed
    await inRoot(r, ["dpkg", "--purge", "hb"]);
    assertEquals(
      (await inRoot(r, ["dpkg-divert", "--list"])).split("\n").sort(),
      hostDiversions,
      "diversions after purge",
    );
    const st = await inRoot(r, ["sh", "-c", "dpkg-query -W -f '${Status}' hb 2>&1 || true"]);
    assert(!st.includes(" installed"), `hb still known to dpkg: ${st}`);
    assertEquals(await leftovers(r.upper), [], "the upper layer after purge");
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});

Deno.test("Debian package: on a machine without Debian's heartbeat, nor its user and group", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "hbpkg-" });
  try {
    const { r, deb } = await freshRoot(tmp);
    // the root as a machine that never had Heartbeat (nor Pacemaker's hacluster user)
    await inRoot(r, ["sh", "-c", "dpkg --purge heartbeat >/dev/null 2>&1 || true"]);
    await inRoot(r, [
      "sh",
      "-c",
      // (Pacemaker's stat overrides name them too: dpkg refuses to run with unknown ones)
      'dpkg-statoverride --list | awk \'$1 == "hacluster" || $2 == "haclient" { print $4 }\' |' +
      " xargs -r -n1 dpkg-statoverride --remove; userdel -f hacluster; groupdel haclient",
    ]);
    const before = await snapshot(r);
    assert(before.includes("usr/libexec/heartbeat/heartbeat whiteout"), "Heartbeat is gone");
    assertEquals(await inRoot(r, ["sh", "-c", "getent passwd hacluster || echo none"]), "none\n");

    await inRoot(r, ["dpkg", "-i", deb]);
    // user and group made, rotation policy installed, the programs are hb's
    const ids = await inRoot(r, ["sh", "-c", "getent passwd hacluster; getent group haclient"]);
    assertStringIncludes(ids, "hacluster:");
    assertStringIncludes(ids, "haclient:");
    assertStringIncludes(await inRoot(r, ["cat", "/etc/logrotate.d/hb"]), "/var/log/ha-log");
    // the policy rotates: ha-log renamed to ha-log.1 (kept uncompressed), a new one created
    const rotated = await inRoot(r, [
      "sh",
      "-c",
      "echo line >/var/log/ha-log && logrotate -f -s /tmp/lr.state /etc/logrotate.d/hb && " +
      "cat /var/log/ha-log.1 && stat -c '%s %a' /var/log/ha-log",
    ]);
    assertEquals(rotated, "line\n0 644\n");
    for (const d of ["/etc/ha.d/resource.d", "/var/lib/heartbeat", "/var/cache/hb"]) {
      await inRoot(r, ["test", "-d", d]);
    }
    const check = await run(
      inRootCmd(r, ["/usr/libexec/heartbeat/heartbeat", "check", "/nonexistent"]),
      { check: false },
    );
    assertEquals(check.code, 1, `heartbeat check of a missing dir: ${check.stdout}${check.stderr}`);
    assertStringIncludes(check.stdout + check.stderr, "/nonexistent/ha.cf");
    const cl = await run(
      inRootCmd(r, [
        "setpriv",
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "/usr/bin/cl_status",
        "hbstatus",
      ]),
      { check: false },
    );
    assertStringIncludes(
      cl.stdout,
      "Heartbeat is stopped on this machine.",
      `cl_status as nobody: ${cl.stdout}${cl.stderr}`,
    );

    await inRoot(r, ["dpkg", "--purge", "hb"]);
    // everything is as before, except the user and group, which stay (Debian policy)
    const after = await snapshot(r);
    const accounts = /^etc\/(passwd|group|shadow|gshadow)-? /;
    assertEquals(
      after.filter((l) => !accounts.test(l)),
      before.filter((l) => !accounts.test(l)),
      "the root after purge, compared with before install",
    );
    const kept = await inRoot(r, ["sh", "-c", "getent passwd hacluster; getent group haclient"]);
    assertStringIncludes(kept, "hacluster:");
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});

/** True when `path` (a path under the merged dir) exists in the root. */
async function exists(path: string, r: Root): Promise<boolean> {
  const inside = path.slice(r.merged.length);
  const res = await run(inRootCmd(r, ["test", "-e", inside]), { check: false });
  return res.code === 0;
}

/**
 * The upper layer as lines `path type mode size md5`, sorted, without dpkg's bookkeeping: what
 * the root changed compared with the host.
 */
async function snapshot(r: Root): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(`${r.upper}/${rel}`)) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (DPKG_BOOKKEEPING.some((re) => re.test(p))) continue;
      const st = await Deno.lstat(`${r.upper}/${p}`);
      if (st.isDirectory) {
        // a directory of the host is copied up whenever something below it changes: only new
        // directories count
        const host = await Deno.lstat(`/${p}`).catch(() => undefined);
        if (!host?.isDirectory) out.push(`${p} d ${(st.mode ?? 0).toString(8)}`);
        await walk(p);
      } else if (st.isSymlink) {
        out.push(`${p} l ${await Deno.readLink(`${r.upper}/${p}`)}`);
      } else if (st.isFile) {
        // a file of the host is copied up when touched (renamed aside and back): same is same
        const host = await Deno.lstat(`/${p}`).catch(() => undefined);
        if (
          host?.isFile && host.mode === st.mode &&
          (await run(["cmp", "-s", `${r.upper}/${p}`, `/${p}`], { check: false })).code === 0
        ) continue;
        const sum = (await run(["md5sum", `${r.upper}/${p}`])).stdout.split(" ")[0];
        out.push(`${p} f ${(st.mode ?? 0).toString(8)} ${st.size} ${sum}`);
      } else {
        out.push(`${p} ${st.isCharDevice && st.rdev === 0 ? "whiteout" : "other"}`);
      }
    }
  };
  await walk("");
  return out.sort();
}
