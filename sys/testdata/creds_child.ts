// Test helper for libc_test.ts: drops root to nobody the way the read/write children do and
// reports the result as JSON.
import {
  getegid,
  geteuid,
  getgid,
  getuid,
  initgroups,
  setgid,
  setgroups,
  setuid,
} from "../libc.ts";

const steps = {
  setgroups: setgroups([]).ok,
  initgroups: initgroups("nobody", 65534).ok,
  setgid: setgid(65534).ok,
  setuid: setuid(65534).ok,
};
const back = setuid(0);
const groups = Deno.readTextFileSync("/proc/self/status").match(/^Groups:\t(.*)$/m)?.[1].trim();
console.log(JSON.stringify({
  steps,
  ids: [getuid(), geteuid(), getgid(), getegid()],
  groups,
  back: back.ok ? "ok" : back.error.code,
}));
