import { assert, assertEquals } from "../tests/assert.ts";
import {
  installCommand,
  inUserNamespace,
  LAB_TOOLS,
  missingTools,
  missingToolsMessage,
  packagesOf,
  userNamespaceCommand,
  userNamespaceSupport,
} from "./prerequisites.ts";
import { run } from "./sys.ts";

Deno.test("prerequisites: missing programs with their packages, one line with the install command", () => {
  const have = new Set(["bash", "cp", "env", "hostname", "mount", "umount"]);
  const missing = missingTools(LAB_TOOLS, (p) => have.has(p) ? `/usr/bin/${p}` : undefined);
  assertEquals(missing.map((m) => m.tool), ["ip", "unshare", "nsenter", "setpriv", "sysctl"]);
  assertEquals(packagesOf(missing), ["iproute2", "util-linux", "procps"]);
  assertEquals(
    missingToolsMessage("hb demo", missing, false),
    "hb demo: missing programs: ip (iproute2), unshare (util-linux), nsenter (util-linux), " +
      "setpriv (util-linux), sysctl (procps); install them with: " +
      "sudo apt-get install -y iproute2 util-linux procps",
  );
  assertEquals(installCommand(["nftables"], true), "apt-get install -y nftables");
  assertEquals(missingTools(LAB_TOOLS, (p) => `/bin/${p}`), []);
  // nftables is not a lab prerequisite (only addLoss needs it)
  assert(!Object.keys(LAB_TOOLS).includes("nft"));
});

Deno.test("prerequisites: the user-namespace command runs as root of a namespace with its own /run", async () => {
  assertEquals(userNamespaceCommand(["id", "-u"]).slice(0, 6), [
    "unshare",
    "--user",
    "--map-root-user",
    "--net",
    "--mount",
    "--",
  ]);
  const support = await userNamespaceSupport();
  assert(support.ok, `user namespaces unavailable: ${!support.ok && support.reason}`);
  // as root outside: the namespace maps only this uid, /run is a fresh tmpfs, sbin in PATH
  const cmd = userNamespaceCommand([
    "sh",
    "-c",
    'id -u; cat /proc/self/uid_map; ls -A /run | wc -l; echo "$PATH"',
  ]);
  const r = await run(cmd);
  const [uid, map, runEntries, path] = r.stdout.trim().split("\n");
  assertEquals(uid, "0");
  assertEquals(map.trim().split(/\s+/), ["0", String(Deno.uid()), "1"]);
  assertEquals(runEntries.trim(), "0");
  assert(path.split(":").includes("/usr/sbin"), path);
  assertEquals(inUserNamespace(), false);
});
