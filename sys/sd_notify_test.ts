import { assert, assertEquals } from "../tests/assert.ts";
import { NotifyListener } from "../tests/support/notify_listener.ts";
import { monotonicUsec, SdNotifier, unixAddress, watchdogUsecFromEnv } from "./sd_notify.ts";

function env(vars: Record<string, string>) {
  return { get: (k: string) => vars[k] };
}

Deno.test("sd_notify: datagrams reach a socket bound to a path, in order", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    using l = new NotifyListener(`${dir}/notify`);
    const n = SdNotifier.fromEnv(env({ NOTIFY_SOCKET: l.name }))!;
    n.send("READY=1\nSTATUS=active");
    n.send("RELOADING=1\nMONOTONIC_USEC=1");
    n.send("WATCHDOG=1");
    n.close();
    await l.waitFor((t) => t === "WATCHDOG=1");
    assertEquals(l.received.map((r) => r.text), [
      "READY=1\nSTATUS=active",
      "RELOADING=1\nMONOTONIC_USEC=1",
      "WATCHDOG=1",
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("sd_notify: abstract socket names (@)", async () => {
  using l = new NotifyListener(`@hb-test-notify-${Deno.pid}`);
  const n = new SdNotifier(l.name);
  n.send("STOPPING=1");
  n.close();
  await l.waitFor((t) => t === "STOPPING=1");
});

Deno.test("sd_notify: sockaddr_un layout", () => {
  const p = unixAddress("/run/x");
  assertEquals(p.len, 2 + 6 + 1);
  assertEquals([...p.addr.subarray(0, 9)], [1, 0, 47, 114, 117, 110, 47, 120, 0]);
  const a = unixAddress("@ab");
  assertEquals(a.len, 2 + 3);
  assertEquals([...a.addr.subarray(0, 5)], [1, 0, 0, 97, 98]);
});

Deno.test("sd_notify: no NOTIFY_SOCKET, no notifier; a missing socket is an error", () => {
  assertEquals(SdNotifier.fromEnv(env({})), null);
  assertEquals(SdNotifier.fromEnv(env({ NOTIFY_SOCKET: "" })), null);
  const n = new SdNotifier("/nonexistent/notify");
  let err: unknown;
  try {
    n.send("READY=1");
  } catch (e) {
    err = e;
  }
  n.close();
  assert(err instanceof Error && err.message.includes("sendto(/nonexistent/notify)"));
});

Deno.test("sd_notify: WATCHDOG_USEC and WATCHDOG_PID", () => {
  assertEquals(watchdogUsecFromEnv(env({}), 10), undefined);
  assertEquals(watchdogUsecFromEnv(env({ WATCHDOG_USEC: "2000000" }), 10), 2000);
  assertEquals(
    watchdogUsecFromEnv(env({ WATCHDOG_USEC: "2000000", WATCHDOG_PID: "10" }), 10),
    2000,
  );
  assertEquals(
    watchdogUsecFromEnv(env({ WATCHDOG_USEC: "2000000", WATCHDOG_PID: "11" }), 10),
    undefined,
  );
  assertEquals(watchdogUsecFromEnv(env({ WATCHDOG_USEC: "x" }), 10), undefined);
  const a = monotonicUsec();
  const b = monotonicUsec();
  assert(a > 0n && b >= a);
});
