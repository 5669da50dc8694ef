/**
 * The uuid and generation files: a missing file is created (with Heartbeat's lines), an existing
 * one is used, and a file that exists but cannot be read (here a directory in its place: EISDIR,
 * reliable even as root) is never replaced: a {@link StateFileError} names the path and the OS
 * error, and the path is left as it was.
 */

import { assert, assertEquals, assertMatch, assertThrows } from "../tests/assert.ts";
import { loadOrCreateUuid, nextGeneration, StateFileError } from "./state_files.ts";

function tempDir(): string {
  return Deno.makeTempDirSync({ prefix: "hb_state_files_" });
}

Deno.test("uuid: missing file → a new version-4 uuid is written and announced", () => {
  const dir = tempDir();
  try {
    const path = `${dir}/hb_uuid`;
    const r = loadOrCreateUuid(path);
    assertEquals(r.notes, [{
      prio: "info",
      text: "No uuid found for current node - generating a new uuid.",
    }]);
    assertEquals(r.uuid.length, 16);
    assertEquals(r.uuid[6] >> 4, 4);
    assertEquals(Deno.readFileSync(path), r.uuid);
    // …and read back unchanged next time, silently
    const again = loadOrCreateUuid(path);
    assertEquals(again.uuid, r.uuid);
    assertEquals(again.notes, []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("uuid: an unreadable file refuses with the path and the OS error, nothing written", () => {
  const dir = tempDir();
  try {
    const path = `${dir}/hb_uuid`;
    Deno.mkdirSync(path);
    const e = assertThrows(() => loadOrCreateUuid(path), StateFileError);
    assert(e instanceof StateFileError);
    assertEquals(e.path, path);
    assertEquals(e.message, `Cannot read uuid file [${path}]: Is a directory (os error 21)`);
    assert(e.cause instanceof Deno.errors.IsADirectory, String(e.cause));
    assert(Deno.statSync(path).isDirectory, "the directory was replaced");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("generation: missing file → starts at the time given; then increments", () => {
  const dir = tempDir();
  try {
    const path = `${dir}/hb_generation`;
    const first = nextGeneration(path, 1795297231.7);
    assertEquals(first.generation, 1795297231);
    assertEquals(first.notes, [{
      prio: "WARN",
      text: "No Previous generation - starting at 1795297231",
    }]);
    assertEquals(Deno.readTextFileSync(path), "     1795297231\n");
    const second = nextGeneration(path, 1);
    assertEquals(second.generation, 1795297232);
    assertEquals(second.notes, []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("generation: an unreadable file refuses with the path and the OS error, nothing written", () => {
  const dir = tempDir();
  try {
    const path = `${dir}/hb_generation`;
    Deno.mkdirSync(path);
    const e = assertThrows(() => nextGeneration(path, 1795297231), StateFileError);
    assertMatch(e.message, /^Cannot read generation file \[.*\/hb_generation\]: Is a directory/);
    assertEquals(e.message, `Cannot read generation file [${path}]: Is a directory (os error 21)`);
    assert(Deno.statSync(path).isDirectory, "the directory was replaced");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("state files: permission denied (unprivileged uid) refuses too", async () => {
  // EACCES needs a uid without CAP_DAC_OVERRIDE: run the read as nobody through setpriv.
  if (Deno.uid() !== 0) throw new Error("this test needs root (setpriv to nobody)");
  const dir = tempDir();
  try {
    Deno.chmodSync(dir, 0o755);
    const path = `${dir}/hb_uuid`;
    Deno.writeFileSync(path, new Uint8Array(16).fill(7), { mode: 0o600 });
    Deno.chmodSync(path, 0o000);
    // nobody's Deno needs a cache directory it can write
    const denoDir = `${dir}/deno_dir`;
    Deno.mkdirSync(denoDir);
    Deno.chmodSync(denoDir, 0o777);
    const code = `
      import { loadOrCreateUuid } from ${
      JSON.stringify(new URL("./state_files.ts", import.meta.url).href)
    };
      try {
        loadOrCreateUuid(${JSON.stringify(path)});
        console.log("NO ERROR");
      } catch (e) {
        console.log(e.name + ": " + e.message);
      }
    `;
    const out = await new Deno.Command("setpriv", {
      args: [
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        Deno.execPath(),
        "eval",
        "--no-config",
        code,
      ],
      env: { DENO_DIR: denoDir, NO_COLOR: "1" },
    }).output();
    const stdout = new TextDecoder().decode(out.stdout).trim();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    assertEquals(
      stdout,
      `StateFileError: Cannot read uuid file [${path}]: Permission denied (os error 13)`,
    );
    // still the original 16 bytes
    Deno.chmodSync(path, 0o600);
    assertEquals(Deno.readFileSync(path), new Uint8Array(16).fill(7));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
