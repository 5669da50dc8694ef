/**
 * What a lab needs from the machine: the programs it runs (each with the Debian package that
 * provides it), whether they are there, the one-line message that names what is missing with
 * the command that installs it, and the installation itself (as root, with apt-get).
 *
 * @module
 */

import { run, which } from "./sys.ts";

/** Programs by name, each with the Debian package that provides it. */
export type ToolTable = Readonly<Record<string, string>>;

/** Programs every lab runs to build its namespaces, links and nodes. */
export const LAB_TOOLS: ToolTable = Object.freeze({
  ip: "iproute2",
  unshare: "util-linux",
  nsenter: "util-linux",
  setpriv: "util-linux",
  mount: "mount",
  umount: "mount",
  bash: "bash",
  hostname: "hostname",
  cp: "coreutils",
  env: "coreutils",
  sysctl: "procps",
});

/** Programs of {@link Testbed.addLoss} / `clearLoss` (packet loss with nftables). */
export const LOSS_TOOLS: ToolTable = Object.freeze({ nft: "nftables" });

/** Programs of {@link Testbed.capture} (packet capture on a bridge). */
export const CAPTURE_TOOLS: ToolTable = Object.freeze({ tcpdump: "tcpdump" });

/** A program that is missing, with the package that provides it. */
export interface MissingTool {
  /** Program name. */
  tool: string;
  /** Debian package that provides it. */
  pkg: string;
}

/**
 * The programs of `tools` that cannot be found (`lookup` returns undefined for them; default:
 * PATH plus the sbin directories, see {@link which}).
 */
export function missingTools(
  tools: ToolTable,
  lookup: (program: string) => string | undefined = which,
): MissingTool[] {
  return Object.entries(tools).filter(([t]) => lookup(t) === undefined).map(([tool, pkg]) => ({
    tool,
    pkg,
  }));
}

/** The distinct packages of `missing`, in order of first appearance. */
export function packagesOf(missing: readonly MissingTool[]): string[] {
  return [...new Set(missing.map((m) => m.pkg))];
}

/** The command that installs `packages` (`sudo` in front unless `asRoot`). */
export function installCommand(packages: readonly string[], asRoot: boolean): string {
  return `${asRoot ? "" : "sudo "}apt-get install -y ${packages.join(" ")}`;
}

/**
 * One line naming the missing programs, their packages and the command that installs them, e.g.
 * `hb demo: missing programs: nft (nftables), ip (iproute2); install them with: sudo apt-get
 * install -y nftables iproute2`.
 */
export function missingToolsMessage(
  who: string,
  missing: readonly MissingTool[],
  asRoot: boolean,
): string {
  const list = missing.map((m) => `${m.tool} (${m.pkg})`).join(", ");
  return `${who}: missing programs: ${list}; install them with: ${
    installCommand(packagesOf(missing), asRoot)
  }`;
}

/**
 * Throws, in one line (see {@link missingToolsMessage}), when a program of `tools` is missing.
 *
 * @throws {Error} naming each missing program, its package and the install command
 */
export function requireTools(who: string, tools: ToolTable): void {
  const missing = missingTools(tools);
  if (missing.length) throw new Error(missingToolsMessage(who, missing, Deno.uid() === 0));
}

/**
 * Installs Debian packages with apt-get (as root): `apt-get update`, then `apt-get install -y
 * --no-install-recommends`, output shown on the terminal. Resolves with an error text when it
 * could not (no apt-get, or apt-get failed), undefined on success.
 */
export async function aptInstall(packages: readonly string[]): Promise<string | undefined> {
  if (!which("apt-get")) return "apt-get not found (not a Debian system?)";
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  for (
    const args of [["update", "-q"], [
      "install",
      "-y",
      "-q",
      "--no-install-recommends",
      ...packages,
    ]]
  ) {
    const child = new Deno.Command("apt-get", {
      args,
      env,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const st = await child.status;
    if (!st.success) return `apt-get ${args[0]} failed (exit ${st.code})`;
  }
  return undefined;
}

/** Whether unprivileged user namespaces can be used, and why not when they cannot. */
export type UserNamespaceSupport = { ok: true } | { ok: false; reason: string };

/**
 * Tries `unshare --user --map-root-user --net --mount true` (what {@link userNamespaceCommand}
 * runs) and, when it fails, says why in a few words, naming the kernel setting that forbids
 * it when one does.
 */
export async function userNamespaceSupport(): Promise<UserNamespaceSupport> {
  const r = await run(
    ["unshare", "--user", "--map-root-user", "--net", "--mount", "--", "true"],
    { check: false, timeoutMs: 10_000 },
  ).catch((e) => ({ success: false, stderr: e instanceof Error ? e.message : String(e) }));
  if (r.success) return { ok: true };
  const settings: string[] = [];
  for (
    const [file, bad] of [
      ["/proc/sys/kernel/unprivileged_userns_clone", "0"],
      ["/proc/sys/user/max_user_namespaces", "0"],
      ["/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1"],
    ]
  ) {
    try {
      if (Deno.readTextFileSync(file).trim() === bad) {
        settings.push(`${file.slice("/proc/sys/".length).replaceAll("/", ".")} = ${bad}`);
      }
    } catch {
      // the setting does not exist on this kernel
    }
  }
  const why = r.stderr.trim().split("\n").pop() ?? "";
  return { ok: false, reason: [why, ...settings].filter(Boolean).join("; ") };
}

/**
 * True when this process runs in a user namespace that maps only part of the host's ids (as
 * made by {@link userNamespaceCommand}): uid 0 there is an unprivileged user outside, and
 * chown to ids that are not mapped fails.
 */
export function inUserNamespace(): boolean {
  try {
    const map = Deno.readTextFileSync("/proc/self/uid_map").trim().split(/\s+/);
    return !(map.length === 3 && map[0] === "0" && map[1] === "0" && map[2] === "4294967295");
  } catch {
    return false;
  }
}

/**
 * The command line that runs `cmd` as root of a new user namespace (the caller's uid mapped
 * to 0) with its own network and mount namespaces, and a private tmpfs over `/run` (where `ip
 * netns` keeps its namespaces; the host's `/run` is neither visible nor touched). Works
 * The sbin directories are added to PATH (a user's PATH often lacks them). Works
 * without root where the kernel allows unprivileged user namespaces
 * ({@link userNamespaceSupport}).
 */
export function userNamespaceCommand(cmd: readonly string[]): string[] {
  return [
    "unshare",
    "--user",
    "--map-root-user",
    "--net",
    "--mount",
    "--",
    "sh",
    "-c",
    'mount -t tmpfs -o mode=0755 hb-lab-run /run && PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" exec "$@"',
    "hb-lab",
    ...cmd,
  ];
}
