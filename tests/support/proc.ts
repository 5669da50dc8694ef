/**
 * What `/proc` says about a process the test watches.
 *
 * @module
 */

/** True when every thread of `pid` is stopped (state T in /proc/PID/task/TID/stat). */
export function allThreadsStopped(pid: number): boolean {
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/stat`);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue; // that thread has just exited
      throw e;
    }
    if (stat.slice(stat.lastIndexOf(")") + 2)[0] !== "T") return false;
  }
  return true;
}
