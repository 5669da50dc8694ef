/**
 * Test helpers for resources/: a recording logger and temporary script directories.
 *
 * @module
 */
import { type Priority, scriptText } from "../../logging/format.ts";
import type { ResourceGroup, ScriptLogger } from "../../resources/types.ts";
import { parseResourceSpec } from "../../resources/spec.ts";

/** Logger that keeps `<TAG>:    <text>` lines (the logfile format without the date). */
export class RecordingLogger implements ScriptLogger {
  /** Script lines, `TAG:    TEXT`. */
  lines: string[] = [];
  /** Raw debug output. */
  debugs: string[] = [];
  /** Records a script line. */
  script(tag: string, prio: string, text: string): void {
    this.lines.push(`${tag}:    ${prio === "" ? text : scriptText(prio as Priority, text)}`);
  }
  /** Records debug output. */
  debug(text: string): void {
    this.debugs.push(text);
  }
  /** The lines of one tag, without the tag. */
  of(tag: string): string[] {
    return this.lines.filter((l) => l.startsWith(`${tag}:    `)).map((l) =>
      l.slice(tag.length + 5)
    );
  }
}

/** A group from a haresources-like line (`node1 a b::c`). */
export function group(line: string): ResourceGroup {
  const [node, ...specs] = line.split(" ");
  return {
    node: node.toLowerCase(),
    line,
    key: specs[0] ?? "",
    resources: specs.map(parseResourceSpec),
  };
}

/** Temporary `resource.d` and `init.d` with scripts; `rec` state/calls under `dir`. */
export class ScriptDirs {
  /** Root temp dir. */
  readonly dir: string;
  /** The resource.d stand-in. */
  readonly rd: string;
  /** The init.d stand-in. */
  readonly init: string;

  constructor() {
    this.dir = Deno.makeTempDirSync({ prefix: "hb-rm-" });
    this.rd = `${this.dir}/resource.d`;
    this.init = `${this.dir}/init.d`;
    Deno.mkdirSync(this.rd);
    Deno.mkdirSync(this.init);
    Deno.mkdirSync(`${this.dir}/state`);
    Deno.writeTextFileSync(`${this.dir}/calls`, "");
  }

  /** Writes an executable script `dir/name` with `body` after a shebang and call recording. */
  write(where: "rd" | "init", name: string, body: string, mode = 0o755): string {
    const path = `${where === "rd" ? this.rd : this.init}/${name}`;
    Deno.writeTextFileSync(
      path,
      `#!/bin/sh\nT='${this.dir}'\necho "${where}/$(basename "$0") $*" >> "$T/calls"\n${body}\n`,
    );
    Deno.chmodSync(path, mode);
    return path;
  }

  /**
   * A well-behaved recording script: state file per name+args; start prints `started KEY`,
   * stop writes `stopped KEY` to stderr, status prints `KEY is running` / `KEY is stopped`.
   */
  recorder(where: "rd" | "init", name: string): string {
    return this.write(
      where,
      name,
      `key=$(basename "$0")
while [ $# -gt 1 ]; do key="\${key}_$1"; shift; done
case $1 in
  start) touch "$T/state/$key"; echo "started $key";;
  stop) rm -f "$T/state/$key"; echo "stopped $key" >&2;;
  status) if [ -e "$T/state/$key" ]; then echo "$key is running"; else echo "$key is stopped"; fi;;
esac
exit 0`,
    );
  }

  /** The recorded calls, one per line. */
  calls(): string[] {
    return Deno.readTextFileSync(`${this.dir}/calls`).split("\n").filter((l) => l !== "");
  }

  /** Clears the recorded calls. */
  resetCalls(): void {
    Deno.writeTextFileSync(`${this.dir}/calls`, "");
  }

  /** Removes everything. */
  remove(): void {
    Deno.removeSync(this.dir, { recursive: true });
  }
}

/** A small base environment for scripts. */
export function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HA_CURHOST: "node1", ...extra };
}
