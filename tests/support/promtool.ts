/**
 * `promtool check metrics` (Debian package `prometheus`) as the oracle of Prometheus' text
 * format. Fails loudly when promtool is missing (`.ci/packages.sh` installs it).
 *
 * @module
 */

/** Runs `promtool check metrics` on `text`: its exit code and output (stdout + stderr). */
export async function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new Error(
      `promtool cannot run (${e}): install the Debian package prometheus (.ci/packages.sh)`,
    );
  }
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, output: (dec.decode(out.stdout) + dec.decode(out.stderr)).trim() };
}
