/**
 * The master's wait loop: descriptors and timers in event-loop mode (in this process), and in
 * blocking mode in a process of its own (it blocks its thread and takes over the timers), where
 * everything that completes through Deno's event loop must still end the wait at once.
 */

import { assert, assertEquals } from "../tests/assert.ts";
import { closeFd, openPipe, readSome, writeSome } from "../sys/pipe.ts";
import { POLLIN } from "../sys/socket.ts";
import { PARK_EVERY_MS, WaitLoop } from "./wait_loop.ts";

Deno.test("wait loop, event-loop mode: descriptors, timers in order, intervals, stop", async () => {
  const loop = new WaitLoop({ block: false });
  const p = openPipe();
  const got: string[] = [];
  const buf = new Uint8Array(64);
  try {
    loop.watch(p.read, POLLIN, () => {
      const n = readSome(p.read, buf);
      if (n > 0) got.push(`read ${new TextDecoder().decode(buf.subarray(0, n))}`);
    });
    loop.start();
    let ticks = 0;
    const { promise: done, resolve } = Promise.withResolvers<void>();
    loop.setTimer(() => got.push("timer 30"), 30);
    loop.setTimer(() => got.push("timer 10"), 10);
    const cancelled = loop.setTimer(() => got.push("cancelled"), 20);
    assert(loop.clearTimer(cancelled));
    const every = loop.setTimer(
      () => {
        if (++ticks === 3) {
          loop.clearTimer(every);
          resolve();
        }
      },
      15,
      true,
    );
    // a write from the event loop's own timer reaches the watcher on the pool thread's poll
    setTimeout(() => writeSome(p.write, new TextEncoder().encode("x")), 5);
    await done;
    assertEquals(ticks, 3);
    assertEquals(got, ["read x", "timer 10", "timer 30"]);
  } finally {
    loop.unwatch(p.read);
    await loop.stop();
    closeFd(p.read);
    closeFd(p.write);
  }
});

/** What the blocking-mode probe reports: milliseconds until each thing was seen. */
interface ProbeResult {
  timerLateMs: number[];
  childExitMs: number;
  signalMs: number;
  wakeOnMs: number;
  watchedMs: number;
  errorSeen: boolean;
}

const PROBE = `
import { WaitLoop } from "${import.meta.resolve("./wait_loop.ts")}";
import { openPipe, readSome, writeSome } from "${import.meta.resolve("../sys/pipe.ts")}";
import { pollFdsOffThread } from "${import.meta.resolve("../sys/socket.ts")}";
const loop = new WaitLoop({ block: true });
loop.installGlobalTimers();
loop.start();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const since = (t) => Math.round(performance.now() - t);
const out = { timerLateMs: [] };
let errorSeen = false;
globalThis.addEventListener("error", (ev) => { ev.preventDefault(); errorSeen = true; });
await sleep(300); // past the start's event-loop mode: the loop blocks from here on
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  await sleep(200);
  out.timerLateMs.push(since(t) - 200);
}
// a child's exit (Deno's event loop: SIGCHLD)
let t = performance.now();
await new Deno.Command("sh", { args: ["-c", "sleep 0.2"] }).output();
out.childExitMs = since(t);
// a signal listener
const { promise: sig, resolve: sigSeen } = Promise.withResolvers();
Deno.addSignalListener("SIGUSR1", () => sigSeen());
await sleep(50);
t = performance.now();
new Deno.Command("sh", { args: ["-c", "sleep 0.2; kill -USR1 " + Deno.pid] }).spawn();
await sig;
out.signalMs = since(t);
// a wait on Deno's pool, ended through a descriptor the loop was told about (the API server)
const api = openPipe();
loop.wakeOn(api.read);
await sleep(50);
t = performance.now();
const pooled = pollFdsOffThread([{ fd: api.read, events: 1 }], -1);
setTimeout(() => writeSome(api.write, new Uint8Array(1)), 200);
await pooled;
out.wakeOnMs = since(t);
// a watched descriptor written by another process
const ch = openPipe();
const { promise: watched, resolve: watchedSeen } = Promise.withResolvers();
loop.watch(ch.read, 1, () => { readSome(ch.read, new Uint8Array(8)); watchedSeen(); });
t = performance.now();
new Deno.Command("sh", { args: ["-c", "sleep 0.2; printf x > /proc/" + Deno.pid + "/fd/" + ch.write] }).spawn();
await watched;
out.watchedMs = since(t);
// what a timer callback throws goes to the error event
setTimeout(() => { throw new Error("from a timer"); }, 10);
await sleep(50);
out.errorSeen = errorSeen;
console.log(JSON.stringify(out));
Deno.exit(0);
`;

Deno.test("wait loop, blocking mode: timers, child exits, signals, pool completions end the wait", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "hb_wait_loop_test_" });
  try {
    Deno.writeTextFileSync(`${dir}/probe.js`, PROBE);
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", "--no-config", `${dir}/probe.js`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(r.stdout);
    assertEquals(r.code, 0, `${text}\n${new TextDecoder().decode(r.stderr)}`);
    const out = JSON.parse(text) as ProbeResult;
    // what a blocked wait would miss comes PARK_EVERY_MS late; an event-loop event is seen at
    // once (the bound here is generous for a loaded machine, far below that)
    const prompt = PARK_EVERY_MS / 2;
    for (const late of out.timerLateMs) assert(late >= 0 && late < prompt, `timer late ${late}`);
    assert(out.childExitMs < 200 + prompt, `child exit after ${out.childExitMs} ms`);
    assert(out.signalMs < 200 + prompt, `signal after ${out.signalMs} ms`);
    assert(out.wakeOnMs < 200 + prompt, `pool completion after ${out.wakeOnMs} ms`);
    assert(out.watchedMs < 200 + prompt, `watched descriptor after ${out.watchedMs} ms`);
    assert(out.errorSeen, "the timer's exception reached the error event");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
