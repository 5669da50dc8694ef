/**
 * Built-in STONITH devices, so that a node with only the hb binary can fence (run inside
 * the helper process). Each mirrors the cluster-glue plugin of the same name: same device
 * id, same messages (logged with the `glib: ` prefix), same return codes.
 *
 * - `null` (parameters: hostlist): pretends to reset any host, `Host null-reset: <node>`.
 * - `meatware` (hostlist): asks an operator. Logs `OPERATOR INTERVENTION REQUIRED to reset
 *   <node>.` and `Run "meatclient -c <node>" AFTER power-cycling the machine.`, creates the
 *   FIFO `<runDir>/meatware.<node>` (mode 0600) and waits up to 600 s for the line
 *   `meatware reply <node>` that `meatclient -c <node>` (cluster-glue's, or
 *   `heartbeat meatclient -c <node>`) writes. The FIFO protocol is cluster-glue's, so either
 *   client confirms either device. No reply within the time limit: the helper dies of
 *   SIGALRM, as the plugin's `alarm(600)` would make it.
 * - `ssh` (hostlist): `ssh -q -x -n -l root <node> "echo 'sleep 2; /sbin/reboot -nf' |
 *   SHELL=/bin/sh at now >/dev/null 2>&1"` with `ssh` found on PATH, then `ping -w1 -c1
 *   <node>` once a second until it fails (up to 15 tries). Hosts not in the list:
 *   `SSH STONITH device doesn't control host [<node>]` (S_BADHOST). The target needs `at`.
 * - `external/<name>`: the script `<externalDir>/<name>` (default
 *   `/usr/lib/stonith/plugins/external/<name>`), cluster-glue's external-plugin protocol:
 *   the parameters are exported as environment variables named by the words that
 *   `<script> getconfignames` prints (in order; the last one takes the rest of the line;
 *   `hostlist` when the script prints nothing), plus `HA_LOGTAG=external/<name>`; then
 *   `<script> reset <node>` (exit 0 = reset), `<script> status` (exit 0 = operational),
 *   `<script> getinfo-devid` (first output line = device id, default `external/<name>`).
 *   Every stdout line of `reset`/`status` is logged as
 *   `glib: external_run_cmd: '<script> reset <node>' output: <line>`. The script must be a
 *   regular executable file not writable by group or others.
 *
 * @module
 */

import { mkfifo } from "../sys/fifo.ts";
import { trackChild } from "./procs.ts";
import { BUILTIN_DEVICE_IDS, findOnPath } from "./devices.ts";
import {
  type HelperLogRecord,
  type HelperRequest,
  S_BADHOST,
  S_OK,
  S_OOPS,
  S_RESETFAIL,
} from "./types.ts";

/** Where a built-in device sends its messages. */
export type Emit = (r: HelperLogRecord) => void;

/** A built-in device. */
export interface BuiltinDevice {
  /** Device id (`ST_DEVICEID`). */
  deviceId(): Promise<string>;
  /** Resets `node`; resolves with a plugin return code. */
  reset(node: string): Promise<number>;
  /** Checks the device; resolves with a plugin return code. */
  status(): Promise<number>;
}

const crit = (emit: Emit, text: string) => emit({ prio: "ERROR", text, glib: true });
const info = (emit: Emit, text: string) => emit({ prio: "info", text, glib: true });

/** Stonith-1 style parameters: the whole parameter line is the host list. */
function hostList(req: HelperRequest): string[] {
  return req.device.params.join(" ").split(/[ \t\n\r\f]+/).filter((h) => h !== "").map((h) =>
    h.toLowerCase()
  );
}

/** The built-in device for the request's type (null if there is none). */
export function builtinDevice(req: HelperRequest, emit: Emit): BuiltinDevice | null {
  const type = req.device.type;
  if (type === "null") return nullDevice(emit);
  if (type === "meatware") return meatwareDevice(req, emit);
  if (type === "ssh") return sshDevice(req, emit);
  if (type.startsWith("external/")) return externalDevice(req, emit);
  return null;
}

function nullDevice(emit: Emit): BuiltinDevice {
  return {
    deviceId: () => Promise.resolve(BUILTIN_DEVICE_IDS.null),
    reset(node) {
      info(emit, `Host null-reset: ${node}`);
      return Promise.resolve(S_OK);
    },
    status: () => Promise.resolve(S_OK),
  };
}

function meatwareDevice(req: HelperRequest, emit: Emit): BuiltinDevice {
  return {
    deviceId: () => Promise.resolve(BUILTIN_DEVICE_IDS.meatware),
    status: () => Promise.resolve(S_OK),
    async reset(node) {
      const fifo = `${req.runDir}/meatware.${node}`;
      try {
        Deno.removeSync(fifo);
      } catch { /* not there */ }
      const oldMask = Deno.umask(0);
      const failed = mkfifo(fifo, 0o600);
      Deno.umask(oldMask);
      if (failed !== null) {
        crit(emit, "cannot create FIFO for Meatware_reset_host");
        return S_OOPS;
      }
      crit(emit, `OPERATOR INTERVENTION REQUIRED to reset ${node}.`);
      crit(emit, `Run "meatclient -c ${node}" AFTER power-cycling the machine.`);
      const timeoutSec = req.meatwareTimeoutSec ?? 600;
      const alarm = setTimeout(() => Deno.kill(Deno.pid, "SIGALRM"), timeoutSec * 1000);
      let line: string;
      try {
        // Blocks (on a runtime thread) until a writer opens the FIFO.
        const f = await Deno.open(fifo, { read: true });
        const buf = new Uint8Array(256);
        const n = await f.read(buf);
        f.close();
        line = new TextDecoder().decode(buf.subarray(0, n ?? 0)).replace(/\0[\s\S]*$/, "");
      } catch {
        clearTimeout(alarm);
        crit(emit, "read error on FIFO for Meatware_reset_host");
        return S_OOPS;
      }
      clearTimeout(alarm);
      const [mw, result, addr] = line.trim().split(/\s+/);
      if (addr === undefined) {
        crit(emit, `Format error - failed to Meatware-reset node ${node}`);
        return S_RESETFAIL;
      }
      if (mw !== "meatware" || result !== "reply" || addr.toLowerCase() !== node) {
        crit(emit, `failed to Meatware-reset node ${node}`);
        return S_RESETFAIL;
      }
      info(emit, `node Meatware-reset: ${node}`);
      try {
        Deno.removeSync(fifo);
      } catch { /* gone */ }
      return S_OK;
    },
  };
}

/** Runs a command, relaying each output line through `onLine`; resolves with the exit code. */
async function runRelayed(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  onLine: (line: string, stream: "stdout" | "stderr") => void,
): Promise<{ code: number; signal: Deno.Signal | null } | null> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, { args, env, stdin: "null", stdout: "piped", stderr: "piped" })
      .spawn();
  } catch {
    return null;
  }
  trackChild(child);
  const relay = async (s: ReadableStream<Uint8Array>, which: "stdout" | "stderr") => {
    let buf = "";
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        onLine(buf.slice(0, nl), which);
        buf = buf.slice(nl + 1);
      }
    }
    if (buf !== "") onLine(buf, which);
  };
  const [st] = await Promise.all([
    child.status,
    relay(child.stdout, "stdout"),
    relay(child.stderr, "stderr"),
  ]);
  return { code: st.code, signal: st.signal };
}

function sshDevice(req: HelperRequest, emit: Emit): BuiltinDevice {
  const reboot = "echo 'sleep 2; /sbin/reboot -nf' | SHELL=/bin/sh at now >/dev/null 2>&1";
  return {
    deviceId: () => Promise.resolve(BUILTIN_DEVICE_IDS.ssh),
    status: () => Promise.resolve(findOnPath("sh") !== null ? S_OK : S_OOPS),
    async reset(node) {
      if (!hostList(req).includes(node.toLowerCase())) {
        crit(emit, `${BUILTIN_DEVICE_IDS.ssh} doesn't control host [${node}]`);
        return S_BADHOST;
      }
      info(emit, `Initiating ssh-reset on host: ${node}`);
      const cmdText = `ssh -q -x -n -l root "${node}" "${reboot}"`;
      const ssh = findOnPath("ssh");
      const st = ssh === null ? null : await runRelayed(
        ssh,
        ["-q", "-x", "-n", "-l", "root", node, reboot],
        {},
        () => {},
      );
      if (st === null || st.signal !== null || st.code !== 0) {
        crit(emit, `command ${cmdText} failed`);
        return S_RESETFAIL;
      }
      const attempts = req.sshPingAttempts ?? 15;
      const ping = findOnPath("ping");
      for (let i = 0; i < attempts; i++) {
        const p = ping === null ? null : await runRelayed(ping, ["-w1", "-c1", node], {}, () => {});
        if (p !== null && p.signal === null && p.code === 1) return S_OK;
        await new Promise((r) => setTimeout(r, 1000));
      }
      crit(emit, `still able to ping ${node} after ${attempts} tries, stonith did not work`);
      return S_RESETFAIL;
    },
  };
}

function externalDevice(req: HelperRequest, emit: Emit): BuiltinDevice {
  const name = req.device.type.slice("external/".length);
  const script = `${req.externalDir}/${name}`;
  const baseEnv: Record<string, string> = { HA_LOGTAG: `external/${name}` };
  let env: Record<string, string> | undefined;

  /** cluster-glue's checks before running the script; logs and returns false on failure. */
  const usable = (fn: string): boolean => {
    let st: Deno.FileInfo;
    try {
      st = Deno.statSync(script);
    } catch (e) {
      crit(emit, `${fn}: stat(2) of ${script} failed: ${e instanceof Error ? e.message : e}`);
      return false;
    }
    const mode = st.mode ?? 0;
    if (!st.isFile || (mode & 0o111) === 0) {
      crit(emit, `${fn}: ${script} found NOT to be executable.`);
      return false;
    }
    if ((mode & 0o022) !== 0) {
      crit(
        emit,
        `${fn}: ${script} found to be writable by group/others, NOT executing for security purposes.`,
      );
      return false;
    }
    return true;
  };

  const capture = async (
    op: string,
    opEnv: Record<string, string> = baseEnv,
  ): Promise<{ code: number; out: string } | null> => {
    let out = "";
    const st = await runRelayed(script, [op], opEnv, (l, s) => {
      if (s === "stdout") out += `${l}\n`;
    });
    if (st === null || st.signal !== null) return null;
    return { code: st.code, out };
  };

  const paramEnv = async (): Promise<Record<string, string>> => {
    if (env) return env;
    const r = await capture("getconfignames");
    const names = r !== null && r.code === 0 ? r.out.split(/\s+/).filter((n) => n !== "") : [];
    if (names.length === 0) names.push("hostlist");
    env = { ...baseEnv };
    const p = req.device.params;
    names.forEach((n, i) => {
      if (i >= p.length) return;
      env![n] = i === names.length - 1 ? p.slice(i).join(" ") : p[i];
    });
    return env;
  };

  const run = async (args: string[]): Promise<number> => {
    if (!usable("external_run_cmd")) return -1;
    const e = await paramEnv();
    const cmdText = `${script} ${args.join(" ")}`;
    const st = await runRelayed(script, args, e, (l, s) => {
      if (s === "stdout") info(emit, `external_run_cmd: '${cmdText}' output: ${l}`);
      else if (l.trim() !== "") info(emit, l);
    });
    if (st === null) {
      crit(emit, `external_run_cmd: Calling '${cmdText}' failed`);
      return -1;
    }
    if (st.signal !== null) {
      crit(emit, `external_run_cmd: '${cmdText}' got signal ${st.signal}`);
      return -1;
    }
    return st.code;
  };

  return {
    async deviceId() {
      if (!usable("external_getinfo")) return `external/${name}`;
      // cluster-glue configures the device (the parameters) before asking for its id
      const r = await capture("getinfo-devid", await paramEnv());
      const first = r !== null && r.code === 0 ? r.out.split("\n")[0].trim() : "";
      return first !== "" ? first : `external/${name}`;
    },
    async reset(node) {
      const rc = await run(["reset", node]);
      if (rc !== 0) {
        crit(emit, `external_reset_req: '${name} reset' for host ${node} failed with rc ${rc}`);
        return S_RESETFAIL;
      }
      return S_OK;
    },
    async status() {
      const rc = await run(["status"]);
      if (rc !== 0) {
        emit({
          prio: "WARN",
          text: `external_status: '${name} status' failed with rc ${rc}`,
          glib: true,
        });
        return rc === -1 ? S_OOPS : rc;
      }
      return S_OK;
    },
  };
}
