import { requireRoot, waitFor, writeScript } from "../tests/support/mod.ts";
import { assert, assertEquals, assertMatch } from "../tests/assert.ts";
import { Fencer } from "./fencer.ts";
import type { StonithResult } from "./types.ts";
import { recordingLog } from "../tests/support/stonith.ts";

requireRoot();

/** A fresh directory for one test's plugin scripts, readable by the helper processes (mode 755). */
function pluginDir(prefix: string): string {
  const dir = Deno.makeTempDirSync({ prefix });
  Deno.chmodSync(dir, 0o755);
  return dir;
}

/** Lines with the helper pid replaced by `<pid>`, as Heartbeat's lines read. */
function normalise(lines: string[], pids: (number | undefined)[]): string[] {
  return lines.map((l) => {
    let out = l;
    for (const p of pids) if (p !== undefined) out = out.replaceAll(` ${p} `, " <pid> ");
    return out;
  });
}

Deno.test("null device (built-in): Heartbeat's exact lines, helper pid, onFenced after success", async () => {
  const rec = recordingLog();
  const results: [string, StonithResult][] = [];
  const f = new Fencer({
    device: { type: "null", params: ["node1", "node2"] },
    backend: "builtin",
    log: rec.log,
    onResult: (n, r) => results.push([n, r]),
  });
  assertEquals(f.backend, "builtin");
  let fenced = 0;
  assertEquals(f.fence("node2", { mayHoldResources: true }, () => fenced++), "started");
  assert(f.isFencing("node2"));
  await waitFor("onFenced", () => fenced === 1, { timeoutMs: 10_000 });
  const helperPid = rec.lines[0].pid;
  assert(helperPid !== undefined && helperPid !== Deno.pid);
  assertEquals(rec.lines.map((l) => l.pid), [helperPid, helperPid, helperPid, undefined]);
  assertEquals(rec.text(), [
    "info: Resetting node node2 with [NULL STONITH device]",
    "info: glib: Host null-reset: node2",
    "info: node node2 now reset.",
    `info: Managed STONITH node2 process ${helperPid} exited with return code 0.`,
  ]);
  assertEquals(results, [["node2", "OK"]]);
  assert(!f.isFencing("node2"));
  await f.stop();
});

Deno.test("no device / node gave up resources: decided without a helper", async () => {
  const rec = recordingLog();
  const results: [string, StonithResult][] = [];
  const f = new Fencer({ log: rec.log, onResult: (n, r) => results.push([n, r]) });
  let fenced = 0;
  assertEquals(f.fence("node2", { mayHoldResources: true }, () => fenced++), "unprotected");
  assertEquals(fenced, 1);
  assertEquals(f.fence("node3", { mayHoldResources: false }, () => fenced++), "unneeded");
  assertEquals(fenced, 1);
  assertEquals(rec.text(), [
    "WARN: No STONITH device configured.",
    "WARN: Shared disks are not protected.",
    "info: Dead node node3 gave up resources.",
  ]);
  assertEquals(results, [["node2", "n_stnth"], ["node3", "unneeded"]]);
  f.startStatusChecks(); // no device: nothing to check
  await f.stop();
  assertEquals(rec.lines.length, 3);
});

Deno.test("external script: fails twice, retried every interval, onFenced only after success", async () => {
  const dir = pluginDir("hb_stonith_ext_");
  const calls = `${dir}/calls.log`;
  const count = `${dir}/count`;
  writeScript(
    `${dir}/recorder`,
    `#!/bin/sh
echo "$* hostlist=[$hostlist] tag=[$HA_LOGTAG]" >> ${calls}
case "$1" in
getconfignames) echo hostlist ;;
getinfo-devid) echo "Recording STONITH device" ;;
status) exit 0 ;;
reset)
  n=$(cat ${count} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${count}
  echo "attempt $n on $2"
  if [ $n -le 2 ]; then exit 1; fi
  exit 0 ;;
*) exit 1 ;;
esac
`,
  );
  const rec = recordingLog();
  const results: StonithResult[] = [];
  let fencedAtLine = -1;
  const f = new Fencer({
    device: { type: "external/recorder", params: ["node1", "node2"] },
    backend: "auto",
    externalDir: dir,
    retryIntervalMs: 300,
    log: rec.log,
    onResult: (_n, r) => results.push(r),
  });
  assertEquals(f.backend, "builtin"); // not a cluster-glue plugin on disk
  const t0 = performance.now();
  f.fence("node2", { mayHoldResources: true }, () => fencedAtLine = rec.lines.length);
  // A second death report of the same node joins the reset under way.
  let second = 0;
  assertEquals(f.fence("node2", { mayHoldResources: true }, () => second++), "pending");
  await waitFor("onFenced", () => fencedAtLine >= 0, { timeoutMs: 20_000 });
  const elapsed = performance.now() - t0;
  assert(elapsed >= 600, `two retries take two intervals (${elapsed} ms)`);
  assertEquals(second, 1);
  assertEquals(results, ["bad", "bad", "OK"]);
  // onFenced came after the successful helper's tracking line, not before.
  assertEquals(fencedAtLine, rec.lines.length);
  const pids = [...new Set(rec.lines.map((l) => l.pid).filter((p) => p !== undefined))];
  assertEquals(pids.length, 3, "one helper process per attempt");
  const text = normalise(rec.text(), pids);
  const cmd = `${dir}/recorder reset node2`;
  const failed = (n: number) => [
    "info: Resetting node node2 with [Recording STONITH device]",
    `info: glib: external_run_cmd: '${cmd}' output: attempt ${n} on node2`,
    "ERROR: glib: external_reset_req: 'recorder reset' for host node2 failed with rc 1",
    "ERROR: Host node2 not reset!",
    "WARN: Managed STONITH node2 process <pid> exited with return code 1.",
    "ERROR: STONITH of node2 failed.  Retrying...",
  ];
  assertEquals(text, [
    ...failed(1),
    ...failed(2),
    "info: Resetting node node2 with [Recording STONITH device]",
    `info: glib: external_run_cmd: '${cmd}' output: attempt 3 on node2`,
    "info: node node2 now reset.",
    "info: Managed STONITH node2 process <pid> exited with return code 0.",
  ]);
  const recorded = Deno.readTextFileSync(calls).trim().split("\n");
  const resets = recorded.filter((l) => l.startsWith("reset"));
  assertEquals(resets, [
    "reset node2 hostlist=[node1 node2] tag=[external/recorder]",
    "reset node2 hostlist=[node1 node2] tag=[external/recorder]",
    "reset node2 hostlist=[node1 node2] tag=[external/recorder]",
  ]);
  await f.stop();
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("status checks: at start and after each interval; failure lines", async () => {
  const dir = pluginDir("hb_stonith_stat_");
  writeScript(
    `${dir}/broken`,
    `#!/bin/sh
case "$1" in getinfo-devid) echo "Broken device" ;; getconfignames) echo hostlist ;; status) exit 3 ;; *) exit 1 ;; esac
`,
  );
  const ok = recordingLog();
  const f1 = new Fencer({
    device: { type: "null", params: ["node1", "node2"] },
    backend: "builtin",
    statusIntervalMs: 300,
    log: ok.log,
  });
  f1.startStatusChecks();
  f1.startStatusChecks(); // idempotent
  await waitFor("two status checks", () => ok.lines.length >= 4, { timeoutMs: 10_000 });
  await f1.stop();
  const pids = ok.lines.map((l) => l.pid).filter((p) => p !== undefined);
  assertEquals(normalise(ok.text().slice(0, 4), pids), [
    "info: Checking status of STONITH device [NULL STONITH device]",
    "info: Managed STONITH-stat process <pid> exited with return code 0.",
    "info: Checking status of STONITH device [NULL STONITH device]",
    "info: Managed STONITH-stat process <pid> exited with return code 0.",
  ]);

  const bad = recordingLog();
  const f2 = new Fencer({
    device: { type: "external/broken", params: ["node1"] },
    externalDir: dir,
    log: bad.log,
  });
  f2.startStatusChecks();
  await waitFor("failed status check", () => bad.lines.length >= 6, { timeoutMs: 10_000 });
  await f2.stop();
  const p2 = bad.lines.map((l) => l.pid).filter((p) => p !== undefined);
  assertEquals(normalise(bad.text(), p2), [
    "info: Checking status of STONITH device [Broken device]",
    "WARN: glib: external_status: 'broken status' failed with rc 3",
    "ERROR: STONITH device Broken device not operational!",
    "WARN: Managed STONITH-stat process <pid> exited with return code 1.",
    "ERROR: STONITH status operation failed.",
    "info: This may mean that the STONITH device has failed!",
  ]);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("ssh device (built-in) with a fake ssh and ping on PATH", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "hb_stonith_ssh_" });
  writeScript(`${dir}/ssh`, `#!/bin/sh\nfor a in "$@"; do echo "[$a]"; done > ${dir}/ssh.args\n`);
  writeScript(`${dir}/ping`, `#!/bin/sh\necho "$*" >> ${dir}/ping.args\nexit 1\n`);
  const rec = recordingLog();
  const results: StonithResult[] = [];
  const f = new Fencer({
    device: { type: "ssh", params: ["node1", "NODE2"] },
    backend: "builtin",
    env: { PATH: `${dir}:${Deno.env.get("PATH")}` },
    retryIntervalMs: 60_000,
    log: rec.log,
    onResult: (_n, r) => results.push(r),
  });
  let fenced = false;
  f.fence("node2", { mayHoldResources: true }, () => fenced = true);
  await waitFor("ssh reset", () => fenced, { timeoutMs: 10_000 });
  const pid = rec.lines[0].pid;
  assertEquals(normalise(rec.text(), [pid]), [
    "info: Resetting node node2 with [SSH STONITH device]",
    "info: glib: Initiating ssh-reset on host: node2",
    "info: node node2 now reset.",
    "info: Managed STONITH node2 process <pid> exited with return code 0.",
  ]);
  assertEquals(Deno.readTextFileSync(`${dir}/ssh.args`).trim().split("\n"), [
    "[-q]",
    "[-x]",
    "[-n]",
    "[-l]",
    "[root]",
    "[node2]",
    "[echo 'sleep 2; /sbin/reboot -nf' | SHELL=/bin/sh at now >/dev/null 2>&1]",
  ]);
  assertEquals(Deno.readTextFileSync(`${dir}/ping.args`).trim(), "-w1 -c1 node2");

  // A host the device does not control: badhost, exit 100, retried.
  rec.lines.length = 0;
  f.fence("node3", { mayHoldResources: true });
  await waitFor("badhost", () => rec.lines.length >= 5, { timeoutMs: 10_000 });
  const p3 = rec.lines[0].pid;
  assertEquals(normalise(rec.text(), [p3]), [
    "info: Resetting node node3 with [SSH STONITH device]",
    "ERROR: glib: SSH STONITH device doesn't control host [node3]",
    "ERROR: Device SSH STONITH device cannot reset host node3.",
    "WARN: Managed STONITH node3 process <pid> exited with return code 100.",
    "ERROR: STONITH of node3 failed.  Retrying...",
  ]);
  assertEquals(results, ["OK", "badhost"]);
  assert(f.isFencing("node3"));
  await f.stop();
  assert(!f.isFencing("node3"));
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("stop() kills a helper that hangs and cancels its retries", async () => {
  const dir = pluginDir("hb_stonith_hang_");
  writeScript(
    `${dir}/hang`,
    `#!/bin/sh\ncase "$1" in reset) echo $$ > ${dir}/pid; exec sleep 30 ;; getconfignames) echo hostlist ;; *) exit 0 ;; esac\n`,
  );
  const rec = recordingLog();
  let fenced = false;
  const f = new Fencer({
    device: { type: "external/hang", params: ["node2"] },
    externalDir: dir,
    log: rec.log,
  });
  f.fence("node2", { mayHoldResources: true }, () => fenced = true);
  await waitFor("helper start", () => rec.lines.length >= 1, { timeoutMs: 10_000 });
  await waitFor("script start", () => {
    try {
      return Deno.readTextFileSync(`${dir}/pid`).trim() !== "";
    } catch {
      return false;
    }
  }, { timeoutMs: 10_000 });
  const scriptPid = Number(Deno.readTextFileSync(`${dir}/pid`).trim());
  await f.stop();
  assert(!fenced);
  await waitFor("the script to be stopped with its helper", () => {
    try {
      return Deno.readTextFileSync(`/proc/${scriptPid}/stat`).split(" ")[2] === "Z";
    } catch {
      return true; // gone
    }
  }, { timeoutMs: 5_000 });
  assertMatch(rec.text().at(-1)!, /Managed STONITH node2 process \d+ killed by signal 15/);
  Deno.removeSync(dir, { recursive: true });
});
