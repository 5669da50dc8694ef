/**
 * Which STONITH types this node can configure: the installed cluster-glue plugins plus hb's
 * built-in devices. The configuration's `stonithTypes()` checks `stonith` / `stonith_host`
 * lines against it; `stonith/` (the fencing runtime) builds on the same facts.
 *
 * @module
 */

/** Types with a built-in implementation (`external/<name>` is built in as well). */
export const BUILTIN_STONITH_TYPES: readonly string[] = ["meatware", "null", "ssh"];

/** Default cluster-glue plugin root. */
export const DEFAULT_PLUGIN_DIR = "/usr/lib/stonith/plugins";

/**
 * The types this node can fence with: the installed cluster-glue plugins plus the built-ins
 * (`external/<name>` for each script in `externalDir`). For the configuration's
 * `stonithTypes()` so that `stonith_host * null …` validates without cluster-glue.
 */
export function availableStonithTypes(
  pluginDir = DEFAULT_PLUGIN_DIR,
  externalDir = `${pluginDir}/external`,
): string[] {
  const out = new Set<string>(BUILTIN_STONITH_TYPES);
  try {
    for (const e of Deno.readDirSync(`${pluginDir}/stonith2`)) {
      if (e.name.endsWith(".so")) out.add(e.name.slice(0, -3));
    }
  } catch { /* no stonith2 directory: cluster-glue is not installed, the built-ins remain */ }
  for (const dir of [`${pluginDir}/external`, externalDir]) {
    try {
      for (const e of Deno.readDirSync(dir)) out.add(`external/${e.name}`);
    } catch { /* no such directory: no external scripts there */ }
  }
  return [...out].sort();
}
