/**
 * The environment facts configuration checks depend on (network interfaces,
 * users, groups, `/etc/services`, files, host name resolution), behind an
 * injectable interface so parsers stay pure and testable.
 *
 * @module
 */

import { availableStonithTypes, DEFAULT_PLUGIN_DIR } from "./stonith_types.ts";

/** One IPv4 address of an interface. */
export interface Ipv4Address {
  /** Dotted-quad address. */
  address: string;
  /** Prefix length. */
  prefixLen: number;
  /** Broadcast address, when the kernel has one (may be absent, e.g. on `lo`). */
  broadcast?: string;
  /** Address label (`eth0`, `eth0:1`); defaults to the interface name. */
  label: string;
}

/** A network interface as the kernel reports it. */
export interface NetInterface {
  /** Interface name (`eth0`). */
  name: string;
  /** IPv4 addresses (possibly none). */
  ipv4: Ipv4Address[];
}

/** What `stat(2)` tells about a path. */
export interface FileInfo {
  /** Regular file. */
  isFile: boolean;
  /** Directory. */
  isDirectory: boolean;
  /** Character device. */
  isCharDevice: boolean;
  /** Permission bits (`st_mode & 0o7777`). */
  mode: number;
}

/** A passwd entry. */
export interface UserEntry {
  /** Login name. */
  name: string;
  /** Numeric uid. */
  uid: number;
  /** Primary gid. */
  gid: number;
}

/** Environment facts used by the configuration checks. */
export interface SystemView {
  /** All network interfaces. */
  interfaces(): NetInterface[];
  /** `getpwnam`. */
  userByName(name: string): UserEntry | undefined;
  /** `getgrnam`, returning the gid. */
  groupByName(name: string): number | undefined;
  /** `getservbyname(name, proto)`: port or undefined. */
  serviceByName(name: string, proto: string): number | undefined;
  /** `getservbyport(port, proto)`: service name or undefined. */
  serviceByPort(port: number, proto: string): string | undefined;
  /** `stat(2)` (follows symlinks); undefined when the path does not exist. */
  stat(path: string): FileInfo | undefined;
  /** Whole file as text; undefined when it cannot be opened. */
  readTextFile(path: string): string | undefined;
  /** `gethostbyname` (IPv4): first address, or undefined when it does not resolve. */
  resolveHostV4(name: string): string | undefined;
  /** `uname -n`, as is. */
  hostname(): string;
  /** Installed STONITH plugin type names (`null`, `ssh`, `external/ipmi`, …). */
  stonithTypes(): string[];
}

/** `access(path, X_OK)` for root: a directory, or any execute bit. */
export function isExecutable(sys: SystemView, path: string): boolean {
  const st = sys.stat(path);
  if (!st) return false;
  return st.isDirectory || (st.mode & 0o111) !== 0;
}

function parseColonFile(text: string | undefined): string[][] {
  if (!text) return [];
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.split(":"));
}

function parseServices(
  text: string | undefined,
): { name: string; aliases: string[]; port: number; proto: string }[] {
  const out: { name: string; aliases: string[]; port: number; proto: string }[] = [];
  for (const raw of (text ?? "").split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const f = line.split(/\s+/);
    const m = /^(\d+)\/(\w+)$/.exec(f[1] ?? "");
    if (!m) continue;
    out.push({ name: f[0], aliases: f.slice(2), port: Number(m[1]), proto: m[2] });
  }
  return out;
}

function readOr(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    // SystemView's contract: undefined = cannot be read; the parsers report that with file:line.
    return undefined;
  }
}

/** Options of {@link createRealSystemView}. */
export interface RealSystemViewOptions {
  /** Root of the STONITH plugin tree (default `/usr/lib/stonith/plugins`). */
  stonithDir?: string;
}

/**
 * The real environment: `ip -j addr`, `/etc/passwd`, `/etc/group`,
 * `/etc/services`, `Deno.statSync`, `/etc/hosts` then `getent ahostsv4`.
 */
export function createRealSystemView(opts: RealSystemViewOptions = {}): SystemView {
  let ifaces: NetInterface[] | undefined;
  const stonithDir = opts.stonithDir ?? DEFAULT_PLUGIN_DIR;
  const runSync = (cmd: string, args: string[]): string | undefined => {
    try {
      const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).outputSync();
      return out.success ? new TextDecoder().decode(out.stdout) : undefined;
    } catch {
      // The program is missing or cannot run: same as a failed run, no answer.
      return undefined;
    }
  };
  return {
    interfaces() {
      if (ifaces) return ifaces;
      const json = runSync("ip", ["-j", "addr", "show"]) ??
        runSync("/usr/sbin/ip", ["-j", "addr", "show"]) ?? "[]";
      const list = JSON.parse(json) as {
        ifname: string;
        addr_info?: {
          family: string;
          local: string;
          prefixlen: number;
          broadcast?: string;
          label?: string;
        }[];
      }[];
      ifaces = list.map((i) => ({
        name: i.ifname,
        ipv4: (i.addr_info ?? []).filter((a) => a.family === "inet").map((a) => ({
          address: a.local,
          prefixLen: a.prefixlen,
          broadcast: a.broadcast,
          label: a.label ?? i.ifname,
        })),
      }));
      return ifaces;
    },
    userByName(name) {
      const f = parseColonFile(readOr("/etc/passwd")).find((r) => r[0] === name);
      return f ? { name: f[0], uid: Number(f[2]), gid: Number(f[3]) } : undefined;
    },
    groupByName(name) {
      const f = parseColonFile(readOr("/etc/group")).find((r) => r[0] === name);
      return f ? Number(f[2]) : undefined;
    },
    serviceByName(name, proto) {
      const s = parseServices(readOr("/etc/services")).find((e) =>
        e.proto === proto && (e.name === name || e.aliases.includes(name))
      );
      return s?.port;
    },
    serviceByPort(port, proto) {
      return parseServices(readOr("/etc/services")).find((e) =>
        e.proto === proto && e.port === port
      )
        ?.name;
    },
    stat(path) {
      try {
        const st = Deno.statSync(path);
        return {
          isFile: st.isFile,
          isDirectory: st.isDirectory,
          isCharDevice: st.isCharDevice ?? false,
          mode: (st.mode ?? 0) & 0o7777,
        };
      } catch {
        // SystemView's contract: undefined = no such file (or not reachable); callers report it.
        return undefined;
      }
    },
    readTextFile: readOr,
    resolveHostV4(name) {
      if (name === "") return undefined;
      if (/^[0-9.]+$/.test(name) || /^0x/i.test(name)) {
        return runSync("getent", ["ahostsv4", name])?.split(/\s+/)[0] || undefined;
      }
      for (const raw of (readOr("/etc/hosts") ?? "").split("\n")) {
        const f = raw.replace(/#.*/, "").trim().split(/\s+/);
        if (
          f.length >= 2 && /^[0-9.]+$/.test(f[0]) &&
          f.slice(1).some((n) => n.toLowerCase() === name.toLowerCase())
        ) return f[0];
      }
      return runSync("getent", ["ahostsv4", name])?.split(/\s+/)[0] || undefined;
    },
    hostname() {
      return Deno.hostname();
    },
    stonithTypes() {
      // cluster-glue's installed plugins plus hb's built-in devices (null, meatware, ssh)
      return availableStonithTypes(stonithDir);
    },
  };
}

/** A file of the fake file system. */
export interface FakeFile {
  /** Kind (default `file`). */
  type?: "file" | "dir" | "chr";
  /** Permission bits (default 0o644; 0o755 for directories). */
  mode?: number;
  /** Text content (files only). */
  content?: string;
}

/** Contents of a {@link createFakeSystemView}. */
export interface FakeSystemSpec {
  /** Interfaces (default: `lo` 127.0.0.1/8 without broadcast, `eth0` 198.18.5.1/24 brd 198.18.5.255). */
  interfaces?: NetInterface[];
  /** Users (default root 0/0, hacluster 102/105, nobody). */
  users?: UserEntry[];
  /** Groups name → gid (default root 0, haclient 105). */
  groups?: Record<string, number>;
  /** Services `name/proto` → port (default `ha-cluster/udp` 694, `domain/udp` 53). */
  services?: Record<string, number>;
  /** Files by absolute path. */
  files?: Record<string, FakeFile>;
  /** Host names → IPv4 (numeric addresses always resolve). */
  hosts?: Record<string, string>;
  /** `uname -n` (default `node1`). */
  hostname?: string;
  /** STONITH types (default `null`, `ssh`, `suicide`, `external/ipmi`). */
  stonithTypes?: string[];
}

/** An in-memory {@link SystemView} for unit tests. */
export function createFakeSystemView(spec: FakeSystemSpec = {}): SystemView {
  const interfaces = spec.interfaces ?? [
    { name: "lo", ipv4: [{ address: "127.0.0.1", prefixLen: 8, label: "lo" }] },
    {
      name: "eth0",
      ipv4: [{ address: "198.18.5.1", prefixLen: 24, broadcast: "198.18.5.255", label: "eth0" }],
    },
  ];
  const users = spec.users ?? [
    { name: "root", uid: 0, gid: 0 },
    { name: "hacluster", uid: 102, gid: 105 },
    { name: "nobody", uid: 65534, gid: 65534 },
  ];
  const groups = spec.groups ?? { root: 0, haclient: 105, nogroup: 65534 };
  const services = spec.services ?? { "ha-cluster/udp": 694, "domain/udp": 53 };
  const files = spec.files ?? {};
  const hosts = spec.hosts ?? {};
  return {
    interfaces: () => interfaces,
    userByName: (n) => users.find((u) => u.name === n),
    groupByName: (n) => groups[n],
    serviceByName: (n, p) => services[`${n}/${p}`],
    serviceByPort: (port, p) => {
      for (const [k, v] of Object.entries(services)) {
        const [n, proto] = k.split("/");
        if (v === port && proto === p) return n;
      }
      return undefined;
    },
    stat(path) {
      const norm = path.replace(/\/+/g, "/");
      const f = files[norm];
      if (!f) {
        const prefix = norm.endsWith("/") ? norm : norm + "/";
        if (Object.keys(files).some((k) => k.startsWith(prefix))) {
          return { isFile: false, isDirectory: true, isCharDevice: false, mode: 0o755 };
        }
        return undefined;
      }
      const type = f.type ?? "file";
      return {
        isFile: type === "file",
        isDirectory: type === "dir",
        isCharDevice: type === "chr",
        mode: f.mode ?? (type === "dir" ? 0o755 : 0o644),
      };
    },
    readTextFile(path) {
      const f = files[path.replace(/\/+/g, "/")];
      return f && (f.type ?? "file") === "file" ? (f.content ?? "") : undefined;
    },
    resolveHostV4(name) {
      if (name === "") return undefined;
      if (hosts[name] !== undefined) return hosts[name];
      if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return name;
      return undefined;
    },
    hostname: () => spec.hostname ?? "node1",
    stonithTypes: () => spec.stonithTypes ?? ["external/ipmi", "null", "ssh", "suicide"],
  };
}

/**
 * Layers real files from a directory over another view: paths under
 * `realDir` are answered from the disk, the rest from `base`. Used to load
 * fixture directories with fake network facts.
 */
export function withRealDir(base: SystemView, realDir: string): SystemView {
  const under = (p: string) => p.replace(/\/+/g, "/").startsWith(realDir.replace(/\/+$/, "") + "/");
  const real = createRealSystemView();
  return {
    ...base,
    stat: (p) => (under(p) ? real.stat(p) : base.stat(p)),
    readTextFile: (p) => (under(p) ? real.readTextFile(p) : base.readTextFile(p)),
  };
}
