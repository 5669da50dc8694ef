/**
 * `./run package`: builds `dist/hb_<version>_amd64.deb` with `dpkg-deb` (README.md, "Debian
 * package").
 *
 * `deno compile` needs its `denort` download, which our build machines cannot reach, so the
 * package ships the closest honest equivalent: the pinned Deno runtime (the npm-installed binary
 * that runs this script, copied as it is, never stripped) under `/usr/lib/hb/deno`, the program
 * bundled (`packaging/bundle.ts`: the same chunks `deno task compile` compiles) under
 * `/usr/lib/hb/app`, and the launcher `/usr/lib/hb/heartbeat` (`packaging/deb/heartbeat`) that
 * runs them with `--cached-only`. Heartbeat's program paths (`packaging/deb/diversions`) are
 * symlinks to the launcher; the maintainer scripts divert Heartbeat's own files aside while hb is
 * installed.
 *
 * Usage: `deno run -A packaging/build_deb.ts [--out DIR]` (default `dist/`); prints the path of
 * the package.
 *
 * @module
 */

import { bundleApp } from "./bundle.ts";
import { sh } from "./command.ts";

/** The repository root. */
const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** Where the launcher and the runtime go. */
export const LIB_DIR = "/usr/lib/hb";
/** The launcher every program link points to. */
export const LAUNCHER = `${LIB_DIR}/heartbeat`;
/** The debian package name. */
export const PACKAGE = "hb";

/** Result of {@link buildDeb}. */
export interface BuiltDeb {
  /** Path of the .deb. */
  path: string;
  /** Package version (deno.json `version`). */
  version: string;
}

/** The Heartbeat paths hb diverts and links to its launcher (`packaging/deb/diversions`). */
export async function diversions(): Promise<string[]> {
  const text = await Deno.readTextFile(`${ROOT}/packaging/deb/diversions`);
  return text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
}

async function write(path: string, text: string, mode = 0o644): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, mode);
}

async function copy(from: string, to: string, mode?: number): Promise<void> {
  await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
  await Deno.copyFile(from, to);
  if (mode !== undefined) await Deno.chmod(to, mode);
}

/** Every regular file under `dir` (relative paths), for md5sums. */
async function regularFiles(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}/${rel}`)) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await regularFiles(dir, p));
    else if (e.isFile) out.push(p);
  }
  return out;
}

/** Builds the package into `outDir`; returns its path and version. */
export async function buildDeb(outDir = `${ROOT}/dist`): Promise<BuiltDeb> {
  const deno = Deno.execPath();
  const pinned = (await Deno.readTextFile(`${ROOT}/.ci/deno_version`)).trim();
  if (Deno.version.deno !== pinned) {
    throw new Error(
      `build_deb: running Deno ${Deno.version.deno}, the pinned one is ${pinned} (use ./run package)`,
    );
  }
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)) as { version: string };
  const version = config.version;
  const stage = `${outDir}/deb-root`;
  await Deno.remove(stage, { recursive: true }).catch(() => {});
  const app = `${stage}${LIB_DIR}/app`;

  // the program, bundled (LogTape inside): packaging/bundle.ts
  await bundleApp(app, deno);
  // the runtime, byte for byte (never stripped)
  await copy(deno, `${stage}${LIB_DIR}/deno`, 0o755);
  await copy(`${ROOT}/packaging/deb/heartbeat`, `${stage}${LAUNCHER}`, 0o755);

  // Heartbeat's program paths → the launcher; its unit path → ours
  const diverted = await diversions();
  for (const p of diverted) {
    if (p.endsWith(".service")) continue;
    await Deno.mkdir(`${stage}${p.slice(0, p.lastIndexOf("/"))}`, { recursive: true });
    await Deno.symlink(LAUNCHER, `${stage}${p}`);
  }
  const unit = diverted.find((p) => p.endsWith("/heartbeat.service"));
  if (!unit) throw new Error("build_deb: packaging/deb/diversions names no heartbeat.service");
  await copy(`${ROOT}/packaging/heartbeat.service`, `${stage}${unit}`, 0o644);
  await copy(`${ROOT}/packaging/deb/default_heartbeat`, `${stage}/etc/default/heartbeat`, 0o644);
  await copy(`${ROOT}/packaging/deb/logrotate`, `${stage}/usr/share/hb/logrotate`, 0o644);
  await copy(`${ROOT}/README.md`, `${stage}/usr/share/doc/${PACKAGE}/README.md`, 0o644);
  // the directories Heartbeat uses (shared with Debian's heartbeat package when installed)
  for (
    const d of ["/etc/ha.d/resource.d", "/etc/ha.d/rc.d", "/var/lib/heartbeat", "/var/cache/hb"]
  ) {
    await Deno.mkdir(`${stage}${d}`, { recursive: true, mode: 0o755 });
  }

  // control files
  const debian = `${stage}/DEBIAN`;
  const list = diverted.join(" ");
  for (const s of ["preinst", "postinst", "postrm"]) {
    const text = await Deno.readTextFile(`${ROOT}/packaging/deb/${s}`);
    await write(`${debian}/${s}`, text.replaceAll("@DIVERSIONS@", list), 0o755);
  }
  await copy(`${ROOT}/packaging/deb/triggers`, `${debian}/triggers`, 0o644);
  await write(`${debian}/conffiles`, "/etc/default/heartbeat\n");
  const sizeKb = Number(
    (await sh("build_deb", ["du", "-sk", "--exclude=DEBIAN", stage])).split(/\s/)[0],
  );
  await write(
    `${debian}/control`,
    [
      `Package: ${PACKAGE}`,
      `Version: ${version}`,
      "Architecture: amd64",
      "Section: admin",
      "Priority: optional",
      "Maintainer: hb developers <hb@localhost>",
      `Installed-Size: ${sizeKb}`,
      "Depends: libc6 (>= 2.27), libgcc-s1, bash, adduser, iproute2",
      "Recommends: logrotate",
      "Suggests: heartbeat, resource-agents, cluster-glue",
      "Description: Linux-HA Heartbeat 3.0.6 compatible cluster daemon (TypeScript on Deno)",
      " hb does what Heartbeat 3.0.6 does in haresources mode, reads an unchanged /etc/ha.d and",
      " speaks Heartbeat's wire protocol, so it can replace Heartbeat one node at a time.",
      " Heartbeat's program paths are diverted to hb while this package is installed; Debian's",
      " heartbeat package (resource scripts, init script) can stay installed beside it.",
      " .",
      ` Ships the Deno ${pinned} runtime and the program, bundled into JavaScript, under ${LIB_DIR}.`,
      "",
    ].join("\n"),
  );
  const files = (await regularFiles(stage)).filter((f) => !f.startsWith("DEBIAN/")).sort();
  const sums = await sh("build_deb", ["md5sum", ...files], { cwd: stage });
  await write(`${debian}/md5sums`, sums);

  const path = `${outDir}/${PACKAGE}_${version}_amd64.deb`;
  await sh("build_deb", [
    "dpkg-deb",
    "--root-owner-group",
    "-Zgzip",
    "-z6",
    "--build",
    stage,
    path,
  ]);
  await Deno.remove(stage, { recursive: true });
  return { path, version };
}

if (import.meta.main) {
  const [flag, dir, ...rest] = Deno.args;
  if ((flag !== undefined && (flag !== "--out" || dir === undefined)) || rest.length > 0) {
    console.error("usage: build_deb.ts [--out DIR]");
    Deno.exit(2);
  }
  const built = await buildDeb(dir);
  console.log(built.path);
}
