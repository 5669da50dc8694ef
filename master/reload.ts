/**
 * What a reload (`heartbeat -r`, SIGHUP, `init.d reload`) does, decided the way Heartbeat
 * decides it (config-and-cli.md §5.4, §6.6.12, §7.7): only modification times count.
 *
 * 1. ha.cf changed → a quick restart: the daemon re-executes itself (same pid) with
 *    `-R [-C <held>]` and keeps its resources. hb validates the new configuration first:
 *    Heartbeat re-executes blindly and, when the new ha.cf is broken, the new image logs the
 *    errors and exits without releasing anything — the node silently leaves the cluster. hb
 *    logs the same errors and `Config errors: Heartbeat NOT restarted`, then keeps running
 *    on its current configuration.
 * 2. else authkeys changed → `Rereading authentication file.`; the new keys take effect at
 *    once (Heartbeat exits with `Authentication reparsing error, exiting.` on a broken file;
 *    hb keeps its current keys and says so).
 * 3. else → `Configuration unchanged.`
 *
 * Then, in cases 2 and 3, Heartbeat's test hook `OnlyForTesting` is read again
 * ({@link readTestOpts}; config/only_for_testing.ts), changed or not.
 *
 * haresources is never looked at (ResourceManager reads it on each use, and a restart reads
 * everything again).
 *
 * This module only decides and reads; master/daemon.ts carries the decision out.
 *
 * @module
 */

import { parseAuthkeys } from "../config/authkeys.ts";
import {
  ONLY_FOR_TESTING,
  parseOnlyForTesting,
  type TestOptsLine,
} from "../config/only_for_testing.ts";
import type { TestLossOptions } from "../core/test_loss.ts";
import type { Diagnostic } from "../config/diagnostics.ts";
import { Reporter } from "../config/reporter.ts";
import type { AuthKeys } from "../wire/auth.ts";
import { loadForStart, mtimeOf, type StartConfig } from "./plan.ts";

/** The line Heartbeat's start-up refusal adds that a reload (`-r`, `-R`) does not print. */
export const START_REFUSAL_LINE = "Configuration error, heartbeat not started.";

/** True for the start-up refusal line (see {@link START_REFUSAL_LINE}). */
export function isStartRefusal(text: string): boolean {
  return text === START_REFUSAL_LINE;
}

/**
 * True for the banner a valid configuration ends with (`**************************`,
 * `Configuration validated. Starting heartbeat 3.0.6`), which Heartbeat's `init_config`
 * leaves out when it checks for `heartbeat -r`.
 */
export function isStartBanner(text: string): boolean {
  return text === "**************************" ||
    text.startsWith("Configuration validated. Starting heartbeat ");
}

/** Environment variable carrying the group keys held across a quick restart (JSON array). */
export const RESTART_HOLDING_ENV = "HB_RESTART_HOLDING";

/** What a reload finds. */
export type ReloadDecision =
  /** ha.cf changed and the new configuration is valid: quick restart. */
  | { kind: "restart" }
  /** ha.cf changed but the new configuration is refused (the diagnostics say why). */
  | { kind: "invalid"; diagnostics: Diagnostic[] }
  /** Only authkeys changed: the new keys, and the file's modification time. */
  | { kind: "authkeys"; keys: AuthKeys; mtime: number | undefined }
  /** Only authkeys changed and the new file is refused. */
  | { kind: "authkeys-invalid"; diagnostics: Diagnostic[] }
  /** Nothing changed. */
  | { kind: "unchanged" };

/** Inputs of {@link decideReload}. */
export interface ReloadInput {
  /** Configuration directory. */
  confDir: string;
  /** Modification times recorded when the running configuration was read. */
  mtimes: StartConfig["mtimes"];
  /** haresources management (`-M` turns it off). */
  manageResources: boolean;
  /** Debug level of the command line. */
  debug: number;
}

/** Decides what a reload does (see the module documentation). */
export function decideReload(inp: ReloadInput): ReloadDecision {
  const haCf = mtimeOf(`${inp.confDir}/ha.cf`);
  if (haCf !== inp.mtimes.haCf) {
    const cfg = loadForStart({
      confDir: inp.confDir,
      manageResources: inp.manageResources,
      debug: inp.debug,
    });
    return cfg.ok ? { kind: "restart" } : { kind: "invalid", diagnostics: cfg.diagnostics };
  }
  const ak = mtimeOf(`${inp.confDir}/authkeys`);
  if (ak !== inp.mtimes.authkeys) {
    const r = readAuthkeys(inp.confDir);
    return r.keys
      ? { kind: "authkeys", keys: r.keys, mtime: ak }
      : { kind: "authkeys-invalid", diagnostics: r.diagnostics };
  }
  return { kind: "unchanged" };
}

/** Reads and checks `<confDir>/authkeys` as Heartbeat's `parse_authfile` does. */
export function readAuthkeys(confDir: string): { keys?: AuthKeys; diagnostics: Diagnostic[] } {
  const path = `${confDir}/authkeys`;
  const dir = confDir.endsWith("/") ? confDir : `${confDir}/`;
  const rep = new Reporter();
  let text: string | undefined;
  let mode: number | undefined;
  try {
    const st = Deno.statSync(path);
    mode = st.mode ?? undefined;
    if (st.isFile) text = Deno.readTextFileSync(path);
  } catch {
    // missing or unreadable: parseAuthkeys reports it
  }
  const parsed = parseAuthkeys({
    text,
    mode,
    displayPath: `${dir}/authkeys`,
    explainPath: path,
    rep,
  });
  if (!parsed) return { diagnostics: rep.diagnostics };
  return {
    keys: {
      active: parsed.activeIndex,
      keys: new Map([...parsed.keys].map(([i, k]) => [i, { method: k.method, secret: k.secret }])),
    },
    diagnostics: rep.diagnostics,
  };
}

/** The flags a quick restart passes on to the new image (`-d`…, `-M`, `-f`, `-l`). */
export function restartFlags(counts: Readonly<Record<string, number>>): string[] {
  const out: string[] = [];
  for (let i = 0; i < (counts.d ?? 0); i++) out.push("-d");
  for (const f of ["M", "f", "l"]) if ((counts[f] ?? 0) > 0) out.push(`-${f}`);
  return out;
}

/**
 * The held state handed to the new image: Heartbeat's `-C <class>` (nice_failback only,
 * as Heartbeat) and the group keys in {@link RESTART_HOLDING_ENV} (hb: exact, also for
 * legacy mode, where Heartbeat passes nothing and relies on ResourceManager's status checks).
 */
export function restartArgs(
  held: { held: string; holding: readonly string[] } | undefined,
  nice: boolean,
): { args: string[]; holdingEnv?: string } {
  if (!held) return { args: [] };
  return {
    args: nice ? ["-C", held.held] : [],
    holdingEnv: JSON.stringify(held.holding),
  };
}

/** Reads (and removes from the environment) the held keys passed by {@link restartArgs}. */
export function takeRestartHolding(): string[] | undefined {
  const text = Deno.env.get(RESTART_HOLDING_ENV);
  if (text === undefined) return undefined;
  Deno.env.delete(RESTART_HOLDING_ENV);
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) && v.every((k) => typeof k === "string") ? v : undefined;
  } catch {
    return undefined;
  }
}

/** What reading `OnlyForTesting` found (Heartbeat's `ParseTestOpts`). */
export interface TestOptsReading {
  /** The options now in force (undefined: the file is absent). */
  options: TestLossOptions | undefined;
  /** What the master logs (Heartbeat's lines, hb's explanations interleaved). */
  log: TestOptsLine[];
  /** What each core child logs after `Child rereading authentication file.` (Heartbeat's lines). */
  childLines: TestOptsLine[];
  /** Heartbeat's return value: the master signals its core children when true. */
  changed: boolean;
}

/**
 * Reads `<confDir>/OnlyForTesting` as Heartbeat's `ParseTestOpts` does at start and on a
 * reload. `enabledBefore`: whether options were in force until now (a missing file then
 * logs `Test Code Now disabled.`).
 */
export function readTestOpts(confDir: string, enabledBefore: boolean): TestOptsReading {
  const path = `${confDir}/${ONLY_FOR_TESTING}`;
  const dir = confDir.endsWith("/") ? confDir : `${confDir}/`;
  let text: string | undefined;
  const extra: TestOptsLine[] = [];
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.IsADirectory) {
      text = ""; // fopen succeeds, the first fscanf fails
    } else if (!(e instanceof Deno.errors.NotFound)) {
      // Heartbeat's fopen fails the same way and it says nothing: hb says why
      const why = e instanceof Error ? e.message.replace(/ \(os error \d+\).*$/s, "") : String(e);
      extra.push({ prio: "WARN", text: `${path}: cannot be read (${why}): test code not enabled` });
    }
  }
  if (text === undefined) {
    const lines: TestOptsLine[] = enabledBefore
      ? [{ prio: "info", text: "Test Code Now disabled." }]
      : [];
    return {
      options: undefined,
      log: [...lines, ...extra],
      childLines: lines,
      changed: enabledBefore,
    };
  }
  const r = parseOnlyForTesting(text, `${dir}/${ONLY_FOR_TESTING}`, path);
  return { options: r.options, log: r.merged, childLines: r.lines, changed: true };
}
