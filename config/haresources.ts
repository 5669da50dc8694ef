/**
 * `haresources`: the daemon-side start-up check of Heartbeat 3.0.6 (node names
 * only) and the grammar ResourceManager applies (groups, resources, script
 * names and arguments), plus the resource script lookup.
 *
 * @module
 */
import type { Reporter } from "./reporter.ts";

/** One resource of a group. */
export interface Resource {
  /** As written (e.g. `IPaddr::198.18.0.10/24/eth0`, `198.18.0.10`, `httpd`). */
  spec: string;
  /** Script name (`IPaddr` for the IP shorthand). */
  script: string;
  /** Arguments passed before the action (split on `::`, then on blanks). */
  args: string[];
  /** The spec was an IPv4 shorthand for `IPaddr::<spec>`. */
  ipShorthand: boolean;
}

/** A resource group (one logical line). */
export interface ResourceGroup {
  /** Preferred node, lower-cased. */
  node: string;
  /** Key (first resource spec); undefined when the line has no resource. */
  key?: string;
  /** Resources left to right. */
  resources: Resource[];
  /** The normalised logical line as ResourceManager prints it (`node1 a b`). */
  text: string;
  /** First physical line (1-based). */
  line: number;
}

/** Parsed haresources. */
export interface Haresources {
  /** Groups in file order. */
  groups: ResourceGroup[];
}

/** Matches ResourceManager's `isip` shell pattern `[0-9]*.[0-9]*.[0-9]*.[0-9]*`. */
export function isIpShorthand(spec: string): boolean {
  return /^[0-9].*\.[0-9].*\.[0-9].*\.[0-9].*$/s.test(spec);
}

/** Splits a resource spec into script name and arguments like ResourceManager. */
export function parseResource(spec: string): Resource {
  const ip = isIpShorthand(spec);
  const canon = ip ? `IPaddr::${spec}` : spec;
  const script = canon.replace(/::.*/s, "");
  const args = canon.includes("::")
    ? spec.replace(/[^:]*::/, "").replace(/::/g, " ").split(/[ \t\n]+/).filter((a) => a !== "")
    : [];
  return { spec, script, args, ipShorthand: ip };
}

/**
 * Turns the file into logical lines like ResourceManager's sed/awk pipeline:
 * comment removal on the first physical line only, backslash-newline joins,
 * blank runs squeezed, first field lower-cased.
 */
export function resourceManagerLines(
  text: string,
): { text: string; line: number; joined: string[] }[] {
  const phys = text.split("\n");
  if (phys.length && phys[phys.length - 1] === "") phys.pop();
  const out: { text: string; line: number; joined: string[] }[] = [];
  let i = 0;
  while (i < phys.length) {
    const first = i;
    let cur = phys[i].replace(/#.*/s, "");
    const joined: string[] = [];
    while (cur.endsWith("\\") && i + 1 < phys.length) {
      i++;
      joined.push(phys[i]);
      cur = cur.slice(0, -1) + phys[i];
    }
    i++;
    const fields = cur.split(/[ \t]+/).filter((f) => f !== "");
    if (fields.length === 0) continue;
    fields[0] = fields[0].toLowerCase();
    out.push({ text: fields.join(" "), line: first + 1, joined });
  }
  return out;
}

/** Parses haresources into groups (ResourceManager's view); emits our own warnings. */
export function parseHaresources(
  text: string,
  rep?: Reporter,
  explainPath = "haresources",
): Haresources {
  const groups: ResourceGroup[] = [];
  const keys = new Map<string, number>();
  for (const l of resourceManagerLines(text)) {
    const f = l.text.split(" ");
    const resources = f.slice(1).map(parseResource);
    const g: ResourceGroup = {
      node: f[0],
      key: resources[0]?.spec,
      resources,
      text: l.text,
      line: l.line,
    };
    groups.push(g);
    if (!rep) continue;
    rep.at(explainPath, l.line, g.node);
    if (resources.length === 0) {
      rep.emit("WARN", [], `group for ${g.node} has no resources`, "NODE RESOURCE [RESOURCE...]", {
        fatal: false,
      });
    }
    if (g.key !== undefined) {
      const prev = keys.get(g.key);
      if (prev !== undefined) {
        rep.emit(
          "WARN",
          [],
          `key resource ${g.key} already starts the group on line ${prev}`,
          "unique first resources (keys)",
          {
            fatal: false,
          },
        );
      } else keys.set(g.key, l.line);
    }
    if (l.joined.some((p) => p.includes("#"))) {
      rep.emit(
        "WARN",
        [],
        "a '#' on a continuation line is not a comment for ResourceManager: its words become resources",
        "comments only on the first physical line of a group or on their own lines",
        { fatal: false },
      );
    }
  }
  return { groups };
}

/** Inputs of {@link checkHaresources}. */
export interface HaresourcesCheckInput {
  /** File text, or undefined when it cannot be opened. */
  text: string | undefined;
  /** Path as Heartbeat prints it (`/etc/ha.d//haresources`). */
  displayPath: string;
  /** Path for explanations. */
  explainPath: string;
  /** Declared node names (lower-cased, ping nodes included). */
  nodes: string[];
  /** Sink. */
  rep: Reporter;
}

/**
 * The daemon's start-up check (config.c `parse_ha_resources`): every logical
 * line's first word must be a declared node; continuation lines are skipped.
 * Stops at the first bad line. Returns true when Heartbeat accepts the file.
 */
export function checkHaresources(inp: HaresourcesCheckInput): boolean {
  const { rep, displayPath } = inp;
  rep.at(inp.explainPath, undefined, "haresources");
  if (inp.text === undefined) {
    rep.emit(
      "ERROR",
      `Cannot open resources file [${displayPath}]`,
      "file missing or unreadable",
      "an existing haresources file (it may be empty), or start with -M",
    );
    rep.follow("info", [
      `An annotated sample ${displayPath} file is provided in the documentation.`,
      `Please copy it to ${displayPath}, read it, customize it, and try again.`,
    ]);
    return false;
  }
  const names = new Set(inp.nodes.map((n) => n.toLowerCase()));
  const phys = inp.text.split(/(?<=\n)/);
  let i = 0;
  while (i < phys.length) {
    const buf = phys[i];
    const line = i + 1;
    i++;
    const bp = buf.replace(/^[ \t\n\r\f]+/, "");
    if (bp === "" || bp.startsWith("#")) continue;
    const token = bp.slice(0, bp.search(/[ \t\n\r\f]|$/));
    if (!names.has(token.toLowerCase())) {
      rep.at(inp.explainPath, line, token);
      rep.emit(
        "ERROR",
        `Bad nodename in ${displayPath} [${token}]`,
        `'${token}' is not a node declared in ha.cf`,
        `one of the ha.cf nodes: ${[...names].join(", ") || "(none)"}`,
      );
      return false;
    }
    // Skip continuation lines: the daemon tests the character before the last one.
    let cur = buf;
    while (cur.length >= 2 && cur[cur.length - 2] === "\\" && i < phys.length) {
      cur = phys[i];
      i++;
    }
  }
  return true;
}

/** Directories searched for resource scripts. */
export interface ScriptDirs {
  /** `/etc/ha.d/resource.d`. */
  resourceDir: string;
  /** `/etc/init.d`. */
  initDir: string;
}

/**
 * Finds the script of a resource like ResourceManager's `scriptpath`:
 * `resource.d` first, then `init.d`; it must be a regular executable file.
 * `isRegularExecutable` is the injected file view.
 */
export function locateScript(
  resource: string,
  isRegularExecutable: (path: string) => boolean,
  dirs: ScriptDirs = { resourceDir: "/etc/ha.d/resource.d", initDir: "/etc/init.d" },
): string | undefined {
  const { script } = parseResource(resource);
  for (const d of [dirs.resourceDir, dirs.initDir]) {
    const p = `${d}/${script}`;
    if (isRegularExecutable(p)) return p;
  }
  return undefined;
}
