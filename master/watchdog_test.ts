import { eventually } from "../tests/support/mod.ts";
import { allThreadsStopped } from "../tests/support/proc.ts";
import { assert, assertEquals } from "../tests/assert.ts";
import { Watchdog, watchdogTimeoutSeconds } from "./watchdog.ts";

if (Deno.uid() !== 0) throw new Error("this test must run as root (it is never skipped)");

const DENO = Deno.execPath();
const WATCHDOG_URL = new URL("./watchdog.ts", import.meta.url).href;

/** An observation window for "nothing happens": longer on a slow machine only checks more. */
function observe(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function recorder() {
  const lines: string[] = [];
  return { lines, log: (p: string, t: string) => void lines.push(`${p}: ${t}`) };
}

Deno.test("timeout is ceil((deadtime + 10) / 1000) seconds", () => {
  assertEquals(watchdogTimeoutSeconds(5000), 6);
  assertEquals(watchdogTimeoutSeconds(990), 1);
  assertEquals(watchdogTimeoutSeconds(991), 2);
  assertEquals(watchdogTimeoutSeconds(30000), 31);
});

Deno.test("plain file as device: Heartbeat's lines, NUL at open and per feed, V at close", () => {
  const dir = Deno.makeTempDirSync({ prefix: "hb_wd_" });
  const dev = `${dir}/wd`;
  Deno.writeFileSync(dev, new Uint8Array());
  const rec = recorder();
  const wd = Watchdog.open(dev, 5000, rec.log);
  assert(wd !== null);
  // Spec §6.6.18 (real Heartbeat with `watchdog /var/log/wd`, deadtime 5).
  assertEquals(rec.lines, [
    `notice: Using watchdog device: ${dev}`,
    "ERROR: WDIOC_SETTIMEOUT: Failed to set watchdog timer to 6 seconds.: Inappropriate ioctl for device",
  ]);
  assert(wd.feed());
  assert(wd.feed());
  assertEquals(wd.feeds, 3);
  wd.close();
  wd.close(); // idempotent
  assert(!wd.isOpen);
  assert(!wd.feed());
  assertEquals(Deno.readFileSync(dev), new Uint8Array([0, 0, 0, 0x56]));
  assertEquals(rec.lines.filter((l) => !l.startsWith("debug")).length, 2);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("missing device: Cannot open watchdog device", () => {
  const rec = recorder();
  assertEquals(Watchdog.open("/nonexistent/hb-watchdog", 5000, rec.log), null);
  assertEquals(rec.lines, ["ERROR: Cannot open watchdog device: /nonexistent/hb-watchdog"]);
});

Deno.test("the descriptor is close-on-exec (children never hold the watchdog)", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "hb_wd_" });
  const dev = `${dir}/wd`;
  Deno.writeFileSync(dev, new Uint8Array());
  const wd = Watchdog.open(dev, 5000, () => {})!;
  const out = await new Deno.Command("sh", {
    args: ["-c", `ls -l /proc/self/fd/ | grep -c '${dev}' || true`],
    stdout: "piped",
  }).output();
  assertEquals(new TextDecoder().decode(out.stdout).trim(), "0");
  wd.close();
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("fed by the event loop at the keepalive rate; not fed while the process is stopped", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "hb_wd_" });
  const dev = `${dir}/wd`;
  Deno.writeFileSync(dev, new Uint8Array());
  // The driving loop stands in for the master: every keepalive (100 ms) "its own heartbeat
  // comes back" and it feeds. It runs in a child process so that the test can SIGSTOP it.
  const driver = `${dir}/driver.ts`;
  Deno.writeTextFileSync(
    driver,
    `import { Watchdog } from ${JSON.stringify(WATCHDOG_URL)};
const wd = Watchdog.open(${JSON.stringify(dev)}, 5000, (p, t) => console.log(p + ": " + t));
const timer = setInterval(() => wd.feed(), 100);
Deno.addSignalListener("SIGTERM", () => { clearInterval(timer); wd.close(); Deno.exit(0); });
console.log("ready");
`,
  );
  const child = new Deno.Command(DENO, {
    args: ["run", "-A", "--quiet", driver],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("ready\n")) {
    const r = await reader.read();
    if (r.done) break;
    out += r.value;
  }
  assert(out.includes(`notice: Using watchdog device: ${dev}`), out);
  const size = () => Deno.statSync(dev).size;

  // Running: fed again and again (each feed is one NUL byte; the rate is the driver's interval).
  const s0 = size();
  assert(
    await eventually(() => size() - s0 >= 5, 30_000),
    `fed ${size() - s0} times in 30 s at a 100 ms keepalive`,
  );

  // Stopped: once every thread is stopped (a write under way completes first), nothing is
  // written for four keepalive intervals and more.
  Deno.kill(child.pid, "SIGSTOP");
  assert(await eventually(() => allThreadsStopped(child.pid), 30_000), "SIGSTOP took no effect");
  const s1 = size();
  await observe(400);
  assertEquals(size() - s1, 0, "a stopped master does not feed the watchdog");

  Deno.kill(child.pid, "SIGCONT");
  assert(await eventually(() => size() > s1, 30_000), "feeding resumes with the event loop");

  Deno.kill(child.pid, "SIGTERM");
  assertEquals((await child.status).code, 0);
  await reader.cancel();
  const bytes = Deno.readFileSync(dev);
  assertEquals(bytes.at(-1), 0x56, "magic V written at close");
  assert(bytes.subarray(0, -1).every((b) => b === 0), "only NUL bytes before the V");
  Deno.removeSync(dir, { recursive: true });
});
