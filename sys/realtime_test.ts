// sys/realtime.ts in a child process: SCHED_RR + memory lock, then back to normal.
import { assert, assertEquals, assertMatch } from "../tests/assert.ts";

Deno.test("makeRealtime / makeNormal", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./testdata/realtime_child.ts", import.meta.url).pathname],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const writer = child.stdin.getWriter();
  let buf = "";
  const answer = async (cmd?: string) => {
    if (cmd !== undefined) await writer.write(new TextEncoder().encode(cmd + "\n"));
    while (!buf.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("child ended");
      buf += value;
    }
    const i = buf.indexOf("\n");
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    return JSON.parse(line);
  };
  const sched = async () => {
    const f = (await Deno.readTextFile(`/proc/${child.pid}/stat`)).split(") ")[1].split(" ");
    return { rtprio: Number(f[40 - 3]), policy: Number(f[41 - 3]) };
  };
  const vmLck = async () =>
    Number((await Deno.readTextFile(`/proc/${child.pid}/status`)).match(/VmLck:\s+(\d+)/)![1]);
  try {
    assertEquals(await answer(), { ready: true });
    const rt = await answer("rt 3");
    assertEquals(rt.errors, []);
    assert(rt.scheduled && rt.locked);
    assertEquals(rt.priority, 3);
    assertEquals(await sched(), { rtprio: 3, policy: 2 }); // SCHED_RR
    assert((await vmLck()) > 0, "memory locked");
    const rss = Number(
      (await Deno.readTextFile(`/proc/${child.pid}/status`)).match(/VmRSS:\s+(\d+)/)![1],
    );
    assert(rss < 200_000, `MCL_ONFAULT must not fault in everything (RSS ${rss} kB)`);

    const clamped = await answer("rt 500");
    assertEquals(clamped.priority, 99);

    const normal = await answer("normal");
    assertEquals(normal.errors, []);
    assertEquals(await sched(), { rtprio: 0, policy: 0 });
    assertEquals(await vmLck(), 0);
    assertMatch(String(normal.priority), /^0$/);
  } finally {
    await writer.write(new TextEncoder().encode("quit\n")).catch(() => {});
    await writer.close().catch(() => {});
    await reader.cancel();
    await child.status;
  }
});
