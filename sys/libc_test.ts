// sys/libc.ts: values against Deno's own view, errno reporting, credentials in a child.
import { assert, assertEquals } from "../tests/assert.ts";
import {
  fromCString,
  getgid,
  getpid,
  getrlimit,
  getuid,
  libcAvailable,
  LibcError,
  LOG_FACILITIES,
  PR_GET_NAME,
  prctl,
  RLIMIT_MEMLOCK,
  SCHED_OTHER,
  SCHED_RR,
  schedGetPriorityMax,
  schedGetPriorityMin,
  schedGetScheduler,
  strerror,
  umask,
} from "./libc.ts";

Deno.test("libc loads and agrees with Deno", () => {
  assert(libcAvailable());
  assertEquals(getpid(), Deno.pid);
  assertEquals(getuid(), Deno.uid());
  assertEquals(getgid(), Deno.gid());
  const old = umask(0o027);
  assertEquals(umask(old), 0o027);
});

Deno.test("prctl PR_GET_NAME reads the thread name", () => {
  const buf = new Uint8Array(new ArrayBuffer(16));
  const r = prctl(PR_GET_NAME, Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
  assert(r.ok);
  assertEquals(fromCString(buf), Deno.readTextFileSync("/proc/thread-self/comm").trim());
});

Deno.test("failures carry call, errno and code; nothing throws", () => {
  const bad = prctl(0x7fff_0000);
  assert(!bad.ok);
  assert(bad.error instanceof LibcError);
  assertEquals(bad.error.call, "prctl");
  assertEquals(bad.error.errno, 22);
  assertEquals(bad.error.code, "EINVAL");
  assertEquals(bad.error.message, "prctl: Invalid argument");
  assertEquals(strerror(1), "Operation not permitted");
});

Deno.test("scheduling queries and limits", () => {
  const min = schedGetPriorityMin(SCHED_RR);
  const max = schedGetPriorityMax(SCHED_RR);
  assert(min.ok && max.ok);
  assertEquals([min.value, max.value], [1, 99]);
  const pol = schedGetScheduler(0);
  assert(pol.ok);
  assertEquals(pol.value, SCHED_OTHER);
  const lim = getrlimit(RLIMIT_MEMLOCK);
  assert(lim.ok && lim.value.cur <= lim.value.max);
  assertEquals(LOG_FACILITIES.local0, 128);
});

Deno.test("dropping privileges: setgroups, initgroups, setgid, setuid (child process)", async () => {
  assertEquals(Deno.uid(), 0, "this test must run as root");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./testdata/creds_child.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  assertEquals(r.steps, { setgroups: true, initgroups: true, setgid: true, setuid: true });
  assertEquals(r.ids, [65534, 65534, 65534, 65534]);
  assertEquals(r.groups, "65534");
  assertEquals(r.back, "EPERM");
});
