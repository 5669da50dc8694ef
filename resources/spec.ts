/**
 * Pure helpers reproducing ResourceManager's handling of resource specs, status output and
 * key listings (spec config-and-cli §3.3, §3.4, §3.6). No I/O.
 *
 * @module
 */
import type { ResourceGroup, ResourceSpec } from "./types.ts";

/** ResourceManager's `isip` shell pattern `[0-9]*.[0-9]*.[0-9]*.[0-9]*` (whole word). */
export function isIpSpec(spec: string): boolean {
  return /^[0-9].*\.[0-9].*\.[0-9].*\.[0-9].*$/s.test(spec);
}

/**
 * Splits a resource spec like ResourceManager: `name::a::b` → script `name`, args `[a, b]`;
 * an IPv4 shorthand → script `IPaddr`, args `[spec]`; `name` → no args.
 */
export function parseResourceSpec(spec: string): ResourceSpec {
  const canon = isIpSpec(spec) ? `IPaddr::${spec}` : spec;
  const script = canon.replace(/::.*/s, "");
  const text = argText(spec);
  const args = text.split(/[ \t\n]+/).filter((a) => a !== "");
  return { spec, script, args };
}

/**
 * The argument text as ResourceManager prints it in `Running <path> <args> <action>`
 * (`resource2arg`): the spec without its first `word::`, remaining `::` turned into blanks;
 * the spec itself for an IP shorthand; empty without `::`. Blank runs are kept, so
 * `a::::b` shows `a  b` while the script gets `a b`.
 */
export function argText(spec: string): string {
  const canon = isIpSpec(spec) ? `IPaddr::${spec}` : spec;
  if (!canon.includes("::")) return "";
  // sed 's%[^:]*::%%' applies to the spec as written (so an IP spec is left as is).
  return spec.replace(/[^:]*::/, "").replace(/::/g, " ");
}

/**
 * The name doscript reports in its own `Cannot locate resource script <name>` line:
 * `resource2script` of the spec as written, which for an IP shorthand is the spec itself.
 */
export function doscriptName(spec: string): string {
  return spec.replace(/::.*/s, "");
}

/**
 * ResourceManager's `we_own_resource` reading of a status call's standard output (the exit
 * code is ignored): `*[Nn][Oo][Tt] *[Rr]unning*` → not owned; else `*[Rr]unning*` or `*OK*` →
 * owned; anything else (empty included) → not owned. Trailing newlines are irrelevant.
 */
export function statusSaysOwned(stdout: string): boolean {
  const out = stdout.replace(/\n+$/, "");
  if (/[Nn][Oo][Tt] .*[Rr]unning/s.test(out)) return false;
  return /[Rr]unning|OK/.test(out);
}

/** The line as ResourceManager's `ipres` prints it: fields joined by one blank, trailing blank. */
function ipresLine(g: ResourceGroup): string {
  return `${[g.node, ...g.resources.map((r) => r.spec)].join(" ")} `;
}

function nodeMatcher(pattern: string): RegExp | null {
  try {
    return new RegExp(`^(?:${pattern}) `, "i");
  } catch {
    return null;
  }
}

/**
 * `ResourceManager listkeys NODE`: keys of the groups whose line matches the case-insensitive
 * regular expression `^NODE ` (so `.*` lists every key, and a node name matches its groups).
 * An invalid expression matches nothing (egrep would print an error and nothing on stdout).
 */
export function listKeys(groups: readonly ResourceGroup[], node: string): string[] {
  const re = nodeMatcher(node);
  if (re === null) return [];
  return groups.filter((g) => g.resources.length > 0 && re.test(ipresLine(g))).map((g) => g.key);
}

/** `ResourceManager allkeys`: every key, in file order. */
export function allKeys(groups: readonly ResourceGroup[]): string[] {
  return listKeys(groups, ".*");
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function lineMatchesHost(g: ResourceGroup, curHost: string, asRegExp: boolean): boolean {
  const re = nodeMatcher(asRegExp ? curHost : escapeRegExp(curHost));
  return re !== null && re.test(ipresLine(g));
}

/**
 * `ResourceManager ourkeys`: the full resource lists (`r1 r2 …`, not only keys) of the groups
 * whose node is `HA_CURHOST` (case-insensitive; like egrep, the host name is used as a
 * regular expression). The shell prints each with a trailing blank; these strings have none.
 */
export function ourKeys(groups: readonly ResourceGroup[], curHost: string): string[] {
  return groups.filter((g) => g.resources.length > 0 && lineMatchesHost(g, curHost, true))
    .map((g) => g.resources.map((r) => r.spec).join(" "));
}

/** `ResourceManager otherkeys`: the resource lists of the groups whose node is not `HA_CURHOST`. */
export function otherKeys(groups: readonly ResourceGroup[], curHost: string): string[] {
  return groups.filter((g) => g.resources.length > 0 && !lineMatchesHost(g, curHost, true))
    .map((g) => g.resources.map((r) => r.spec).join(" "));
}

/** The group whose key is exactly `key`, if any. */
export function findGroup(
  groups: readonly ResourceGroup[],
  key: string,
): ResourceGroup | undefined {
  return groups.find((g) => g.key === key);
}

/**
 * Which `hb_standby` argument ResourceManager picks after a failed start. The shell compares
 * the failed resource with each line of `ourkeys` output (`grep "^<r>$"`), but every such line
 * ends with a blank, so the comparison never succeeds and the answer is always `foreign`
 * (verified on Debian's 3.0.6 with mawk; the spec's "local when it is the only resource" does
 * not happen — the binary wins).
 */
export function standbyGroupType(
  _groups: readonly ResourceGroup[],
  _curHost: string,
  _resource: string,
): "local" | "foreign" {
  return "foreign";
}
