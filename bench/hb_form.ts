/**
 * How the benchmark runs hb: bundled as the package and the compiled binary ship it
 * (`packaging/bundle.ts`, the default), or from the checkout's TypeScript sources as the tests do.
 * The two differ in memory (the bundle holds no TypeScript source and no source maps:
 * bench/README.md, "The shipped form"), not in behaviour.
 *
 * @module
 */

import { bundleApp } from "../packaging/bundle.ts";
import { LAUNCHER_ENV, V8_FLAGS } from "../sys/self_exec.ts";

/** `--hb-form`: `bundle` (as shipped) or `source` (as tested). */
export type HbForm = "bundle" | "source";

/** The hb forms `--hb-form` accepts. */
export const HB_FORMS: readonly HbForm[] = ["bundle", "source"];

/**
 * Makes every hb node the lab starts from now on run in `form`; `dir` (an empty directory that
 * outlives the run's clusters) receives the bundle and its launcher. An `HB_CMD` set by the
 * caller wins over both. Returns what the run's record says about the form.
 */
export async function useHbForm(form: HbForm, dir: string): Promise<string> {
  const given = Deno.env.get("HB_CMD")?.trim();
  if (given) return `HB_CMD ${given}`;
  if (form === "source") return "source";
  const entry = await bundleApp(`${dir}/app`);
  const launcher = `${dir}/heartbeat`;
  // the package's launcher (packaging/deb/heartbeat) with this run's paths: the nodes' own
  // re-invocations (workers, respawns) come back through it, as on an installed node
  await Deno.writeTextFile(
    launcher,
    [
      "#!/bin/bash",
      `export ${LAUNCHER_ENV}=${launcher}`,
      `exec -a "$0" ${Deno.execPath()} run -A --quiet --cached-only --no-config --no-lock \\`,
      `  --v8-flags=${V8_FLAGS} ${entry} "$@"`,
      "",
    ].join("\n"),
  );
  await Deno.chmod(launcher, 0o755);
  Deno.env.set("HB_CMD", JSON.stringify([launcher]));
  Deno.env.set(LAUNCHER_ENV, launcher);
  return "bundle";
}
