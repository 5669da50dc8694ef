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
 *    titles), the installed `cl_status` answers, then a graceful stop exits 0;
 * 3. `dpkg --purge hb`: the diversions are gone, Heartbeat's files are back, and the upper layer
 *    holds nothing but dpkg's own bookkeeping: no file of hb, no host file removed or changed.
 *    (The hacluster user and haclient group would stay if the package had created them: Debian
 *    policy; here they exist on the host already.)
 *
 * Needs root, the testbed's packages and the real Heartbeat 3.0.6; fails loudly otherwise.
 *
 * @module
 */

import { buildDeb, diversions, LAUNCHER } from "../packaging/build_deb.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { requireRealHeartbeat } from "./failover_harness.ts";
import { authkeys, haCf, REAL_CL_STATUS, run, Testbed, waitFor } from "./testbed/mod.ts";

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

/** Runs `cmd` in the throwaway root, outside any node (dpkg). */
async function inRoot(r: Root, cmd: string[]): Promise<string> {
  const res = await run(
    ["unshare", "--mount", "--propagation", "private", "--", ...rootArgs("admin", r), ...cmd],
    { check: false, timeoutMs: 300_000 },
  );
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

Deno.test("Debian package: install into a throwaway root, join a Heartbeat peer, stop, purge clean", async () => {
  await requireRealHeartbeat();
  const tmp = await Deno.makeTempDir({ prefix: "hbpkg-" });
  try {
    // 1. build and install
    const share = `${tmp}/share`;
    await Deno.mkdir(share);
    const built = await buildDeb(share);
    const deb = `/mnt/${built.path.slice(built.path.lastIndexOf("/") + 1)}`;
    const r: Root = { upper: `${tmp}/upper`, work: `${tmp}/work`, merged: `${tmp}/merged`, share };
    for (const d of [r.upper, r.work, r.merged]) await Deno.mkdir(d);
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
    // the launcher runs the shipped program from the package's files alone
    const version = await inRoot(r, ["/usr/libexec/heartbeat/heartbeat", "-V"]);
    assertStringIncludes(version, "3.0.6");

    // 2. a Heartbeat pair; node1 goes over to the installed hb with its own /etc/ha.d
    await using tb = await Testbed.create({ nodes: ["node1", "node2"], links: 1, name: "pkg" });
    for (const n of tb.nodes) {
      await n.writeHaCf(haCf({
        logfile: "/var/log/ha-log",
        logfacility: "none",
        keepalive: "100ms",
        deadtime: "1",
        warntime: "500ms",
        initdead: 2,
        bcast: "eth0",
        auto_failback: "on",
        realtime: "off",
        node: ["node1", "node2"],
      }));
      await n.writeAuthkeys(authkeys("sha1", "package"));
      await n.writeHaresources("");
    }
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
    assertEquals((await node1.stopSoft({ timeoutMs: 60_000 })).code, 0, await node1.readConsole());
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
