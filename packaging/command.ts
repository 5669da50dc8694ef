/**
 * Running the build's external commands (`deno bundle`, `dpkg-deb`, `md5sum`, …) for
 * `packaging/`'s scripts.
 *
 * @module
 */

/**
 * Runs `cmd`; returns its standard output. Throws when it fails, with `who` (the script), the
 * command, its exit status and both outputs.
 */
export async function sh(
  who: string,
  cmd: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<string> {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: opts.cwd,
    env: opts.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(
      `${who}: ${cmd.join(" ")} failed (exit ${out.code}):\n${dec.decode(out.stdout)}${
        dec.decode(out.stderr)
      }`,
    );
  }
  return dec.decode(out.stdout);
}
