/**
 * The respawn launcher (`main.ts __exec_as SPEC`): a tiny process that
 * becomes a `respawn`/`failfast` client the way Heartbeat's forked child
 * does, then replaces itself with `/bin/sh -c "exec <command>"`.
 *
 * Order: own session and process group (`setsid`); the 1 s pause when the
 * previous run was short; supplementary groups (`initgroups`), gid, uid of
 * the user; the `Starting "<cmd>" as uid U  gid G (pid P)` line (sent to the
 * master as a log frame on stdout, so it is written with this pid);
 * default scheduling and signal dispositions; every descriptor above 2
 * close-on-exec; stdio on `/dev/null`; `execv`. The pid does not change
 * across `execv`, so the master tracks the client itself.
 *
 * Any failure before `execv` (or of `execv`) exits with 100, the code
 * Heartbeat's clients use for "do not respawn me".
 *
 * @module
 */

import { FrameWriter } from "./channel.ts";
import { initgroups, SCHED_OTHER, schedSetScheduler, setgid, setsid, setuid } from "../sys/libc.ts";
import { closeOnExecFrom3, execv, resetSignals, stdioToDevNull } from "../sys/exec.ts";

/** What the launcher needs, passed as JSON on its command line. */
export interface ExecAsSpec {
  /** User name (for `initgroups`). */
  user: string;
  /** uid to run as. */
  uid: number;
  /** Primary gid to run as. */
  gid: number;
  /** Whole command line, run as `/bin/sh -c "exec <command>"`. */
  command: string;
  /** Pause before exec, ms (1000 after a short previous run, else 0). */
  delayMs: number;
}

/** Exit code of a launcher that could not become its client (no respawn). */
export const EXEC_FAILED = 100;

/** Runs the launcher; returns only on failure, with the exit code. */
export async function execAsMain(args: string[]): Promise<number> {
  let spec: ExecAsSpec;
  try {
    spec = JSON.parse(args[0] ?? "") as ExecAsSpec;
    if (typeof spec.command !== "string" || typeof spec.uid !== "number") throw new Error();
  } catch {
    console.error(`heartbeat: bad __exec_as spec ${args[0]}`);
    return 2;
  }
  const out = new FrameWriter(Deno.stdout.writable, () => {});
  const log = (prio: string, msg: string) => out.control({ t: "log", prio, msg });
  setsid();
  if (spec.delayMs > 0) await new Promise((r) => setTimeout(r, spec.delayMs));
  const steps: [string, () => { ok: boolean; error?: { message: string } }][] = [
    ["initgroups", () => initgroups(spec.user, spec.gid)],
    ["setgid", () => setgid(spec.gid)],
    ["setuid", () => setuid(spec.uid)],
  ];
  for (const [name, step] of steps) {
    const r = step();
    if (!r.ok) {
      await log("ERROR", `Cannot ${name} for client "${spec.command}": ${r.error?.message}`);
      return EXEC_FAILED;
    }
  }
  await log(
    "info",
    `Starting "${spec.command}" as uid ${spec.uid}  gid ${spec.gid} (pid ${Deno.pid})`,
  );
  schedSetScheduler(0, SCHED_OTHER, 0); // clients are never realtime
  const prep = closeOnExecFrom3();
  if (prep) {
    await log("ERROR", `${prep.call}: ${prep.text}`);
    return EXEC_FAILED;
  }
  resetSignals();
  const nul = stdioToDevNull();
  if (nul) return EXEC_FAILED; // stdout is half gone: nothing useful to say
  const err = execv("/bin/sh", ["/bin/sh", "-c", `exec ${spec.command}`]);
  void err; // stdio is /dev/null now; the exit code tells the master
  return EXEC_FAILED;
}
