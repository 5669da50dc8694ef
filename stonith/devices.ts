/**
 * Which implementation drives a configured STONITH device.
 *
 * Rule (documented in stonith/README.md):
 *
 * 1. When cluster-glue's `stonith` program is installed **and** the plugin of that type
 *    is installed on disk (`<plugins>/stonith2/<type>.so`, or `<plugins>/external/<name>`
 *    for `external/<name>`), the device is driven through `stonith` — the same plugin code
 *    Heartbeat itself would load, with the same messages.
 * 2. Otherwise the built-in implementation is used when there is one: `null`, `meatware`,
 *    `ssh`, and `external/<name>` (a script in the external directory). So a node with only
 *    the hb binary can fence, and `stonith_host * null node1 node2` always works.
 * 3. Otherwise `stonith` is tried anyway (and fails: `Host <node> not reset!`, retried),
 *    which only happens when the configuration check was bypassed.
 *
 * @module
 */

import { BUILTIN_STONITH_TYPES, DEFAULT_PLUGIN_DIR } from "../config/stonith_types.ts";
import { isExecutableFile } from "../sys/files.ts";
import type { StonithBackend } from "./types.ts";

export {
  availableStonithTypes,
  BUILTIN_STONITH_TYPES,
  DEFAULT_PLUGIN_DIR,
} from "../config/stonith_types.ts";

/** Default run directory (Heartbeat's `HA_VARRUNDIR`), home of the meatware FIFOs. */
export const DEFAULT_RUN_DIR = "/var/run";

/** Device ids (Heartbeat's `ST_DEVICEID`) of the built-in types. */
export const BUILTIN_DEVICE_IDS: Readonly<Record<string, string>> = {
  null: "NULL STONITH device",
  meatware: "Meatware STONITH device",
  ssh: "SSH STONITH device",
};

/** True when `type` has a built-in implementation. */
export function isBuiltinType(type: string): boolean {
  return BUILTIN_STONITH_TYPES.includes(type) ||
    (type.startsWith("external/") && type.length > "external/".length &&
      !type.slice("external/".length).includes("/"));
}

/** First executable `name` on `PATH` (or the given absolute path if executable). */
export function findOnPath(name: string, path = Deno.env.get("PATH") ?? ""): string | null {
  const candidates = name.includes("/") ? [name] : path.split(":").filter((d) => d !== "").map((
    d,
  ) => `${d}/${name}`);
  return candidates.find((c) => isExecutableFile(c)) ?? null;
}

/** Locates cluster-glue's `stonith` program: on PATH, else /usr/sbin/stonith; null if none. */
export function findStonithCommand(): string | null {
  return findOnPath("stonith") ?? findOnPath("/usr/sbin/stonith");
}

/** True when the cluster-glue plugin for `type` is installed under `pluginDir`. */
export function clusterGluePluginInstalled(type: string, pluginDir = DEFAULT_PLUGIN_DIR): boolean {
  const file = type.startsWith("external/")
    ? `${pluginDir}/external/${type.slice("external/".length)}`
    : `${pluginDir}/stonith2/${type}.so`;
  try {
    return Deno.statSync(file).isFile;
  } catch {
    return false;
  }
}

/** Inputs of {@link chooseBackend}. */
export interface BackendChoiceInput {
  /** Device type. */
  type: string;
  /** Forced choice (`auto` applies the rule of this module). */
  prefer: "auto" | StonithBackend;
  /** cluster-glue's `stonith` program, or null when not installed. */
  stonithCommand: string | null;
  /** cluster-glue plugin root. */
  pluginDir: string;
}

/** Picks the backend for a device (see the module documentation). */
export function chooseBackend(i: BackendChoiceInput): StonithBackend {
  if (i.prefer !== "auto") return i.prefer;
  if (i.stonithCommand !== null && clusterGluePluginInstalled(i.type, i.pluginDir)) {
    return "cluster-glue";
  }
  if (isBuiltinType(i.type)) return "builtin";
  return "cluster-glue";
}
