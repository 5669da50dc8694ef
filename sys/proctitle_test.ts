// sys/proctitle.ts: a child sets its title; /proc/<pid>/cmdline and ps must show it.
import { assert, assertEquals } from "../tests/assert.ts";

async function withTitledChild(
  title: string,
  check: (pid: number, report: { ok: boolean; method: string; error: string }) => Promise<void>,
) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./testdata/title_child.ts", import.meta.url).pathname, title],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  while ((buf.match(/\n/g) ?? []).length < 2) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
  }
  try {
    const report = JSON.parse(buf.split("\n")[0]);
    await check(child.pid, report);
  } finally {
    await child.stdin.close();
    await reader.cancel();
    await child.status;
  }
}

async function ps(field: string, pid: number): Promise<string> {
  const out = await new Deno.Command("ps", { args: ["-o", `${field}=`, "-p", String(pid)] })
    .output();
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("setProcessTitle: cmdline, ps args and comm", async () => {
  await withTitledChild("heartbeat: write: bcast eth0", async (pid, report) => {
    assert(report.ok, `title not set: ${report.error}`);
    assertEquals(
      await Deno.readTextFile(`/proc/${pid}/cmdline`),
      "heartbeat: write: bcast eth0\0",
    );
    assertEquals(await ps("args", pid), "heartbeat: write: bcast eth0");
    assertEquals(await ps("comm", pid), "heartbeat");
    assertEquals((await Deno.readTextFile(`/proc/${pid}/comm`)).trim(), "heartbeat");
  });
});

Deno.test("setProcessTitle: master title", async () => {
  await withTitledChild("heartbeat: master control process", async (pid, report) => {
    assert(report.ok, `title not set: ${report.error}`);
    assertEquals(await ps("args", pid), "heartbeat: master control process");
  });
});
