/**
 * File checks shared by the programs hb runs: resource scripts (`resources/`), the IP agents'
 * helpers (`agents/`) and STONITH commands (`stonith/`).
 *
 * @module
 */

/** True when `path` is a regular file (after links) with an execute bit; false when missing. */
export function isExecutableFile(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && st.mode !== null && (st.mode & 0o111) !== 0;
  } catch {
    // missing or unreachable: not a program we can run
    return false;
  }
}
