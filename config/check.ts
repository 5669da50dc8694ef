/**
 * `check [DIR]`: validates a configuration directory and reports every
 * problem, exiting 0 when the real Heartbeat 3.0.6 would start on it and 1
 * when it would refuse.
 *
 * @module
 */
import { heartbeatLines } from "./diagnostics.ts";
import { HB_CF, placeMonitors, readHbCf } from "./hb_cf.ts";
import { loadConfig } from "./load.ts";
import { ONLY_FOR_TESTING, parseOnlyForTesting } from "./only_for_testing.ts";
import { createRealSystemView, type SystemView } from "./system_view.ts";

/** Options of {@link checkConfigDir}. */
export interface CheckOptions {
  /** Local node name (default: nodeinfo / uname -n). */
  nodeName?: string;
  /** Resource management (false = `-M`). */
  resourceManagement?: boolean;
  /** Environment (default: real). */
  system?: SystemView;
  /** Also print Heartbeat's own message lines under each problem (default true). */
  showHeartbeatText?: boolean;
}

/** Result of {@link checkConfigDir}. */
export interface CheckResult {
  /** 0 = Heartbeat would start, 1 = it would refuse. */
  exitCode: 0 | 1;
  /** Report lines (no trailing newlines). */
  lines: string[];
}

/** Checks DIR (default `/etc/ha.d`) and lists every error and warning. */
export function checkConfigDir(dir = "/etc/ha.d", opts: CheckOptions = {}): CheckResult {
  const res = loadConfig({
    dir,
    nodeName: opts.nodeName,
    resourceManagement: opts.resourceManagement,
    system: opts.system,
    exhaustive: true,
  });
  const lines: string[] = [];
  const show = opts.showHeartbeatText ?? true;
  let errors = 0;
  let warnings = 0;
  const ds = res.diagnostics;
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i];
    if (d.continuation || d.noise || d.level === "debug") continue;
    const isProblem = d.fatal || d.level === "WARN" || d.level === "ERROR" || d.level === "CRIT";
    if (!isProblem) continue;
    if (d.fatal) errors++;
    else warnings++;
    lines.push(`${d.fatal ? "error" : "warning"}: ${d.explain}`);
    if (show) {
      const hb = [...heartbeatLines(d)];
      for (let j = i + 1; j < ds.length && ds[j].continuation && ds[j].explain === d.explain; j++) {
        hb.push(...heartbeatLines(ds[j]));
      }
      for (const h of hb) lines.push(`    heartbeat says: ${h.replace(/\n$/, "")}`);
    }
  }
  // Heartbeat's test hook is no error, but a node that runs with it drops packets on purpose
  const sys = opts.system ?? createRealSystemView();
  const testPath = `${dir.replace(/\/+$/, "")}/${ONLY_FOR_TESTING}`;
  const testText = sys.stat(testPath)?.isFile ? sys.readTextFile(testPath) : undefined;
  if (testText !== undefined) {
    const t = parseOnlyForTesting(testText, testPath);
    const o = t.options;
    const what = [
      o.xmitloss !== undefined ? `xmitloss=${o.xmitloss}` : "",
      o.rcvloss !== undefined ? `rcvloss=${o.rcvloss}` : "",
      o.allownodes !== "" ? `allownodes=${o.allownodes}` : "",
    ].filter((x) => x !== "").join(" ");
    warnings++;
    lines.push(
      `warning: ${testPath}: present: Heartbeat's test hook will drop packets on purpose ` +
        `(${what || "no options"}); remove it on a production node`,
    );
    for (const n of t.notes) {
      warnings++;
      lines.push(`warning: ${n}`);
    }
  }
  // hb's own settings (never read by Heartbeat): an error there makes hb refuse to start
  const hbCf = readHbCf(dir, sys);
  for (const e of hbCf.errors) lines.push(`error: ${e.explain}`);
  const groups = res.config?.haresources?.groups;
  if (groups !== undefined && hbCf.present) {
    const file = `${dir.replace(/\/+$/, "")}/${HB_CF}`;
    for (const w of placeMonitors(hbCf.settings.monitors, groups, file).unmatched) {
      warnings++;
      lines.push(`warning: ${w.explain}`);
    }
  }
  lines.push(
    res.exitCode === 0
      ? `${dir}: OK: Heartbeat 3.0.6 would start (${warnings} warning(s)).`
      : `${dir}: REFUSED: Heartbeat 3.0.6 would not start (${errors} error(s), ${warnings} warning(s)).`,
  );
  if (hbCf.errors.length > 0) {
    lines.push(
      `${dir}: REFUSED: hb would not start: ${hbCf.errors.length} error(s) in ${HB_CF} ` +
        "(Heartbeat 3.0.6 never reads it)",
    );
  }
  return { exitCode: res.exitCode === 0 && hbCf.errors.length === 0 ? 0 : 1, lines };
}
