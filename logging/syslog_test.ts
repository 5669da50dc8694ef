// Syslog datagrams as sent to /dev/log (spec §6.2, §6.4). Needs root: the child runs in its
// own mount namespace whose /dev/log is a socket bound by this test; fails when it cannot.
import { assert, assertEquals, assertMatch } from "../tests/assert.ts";

const here = (p: string) => new URL(p, import.meta.url).pathname;

Deno.test("syslog datagrams: ident, no pid option, [pid]: PRIO: text, PRI values", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hb-syslog-" });
  const sock = `${dir}/log.sock`;
  const want = 6;
  const recv = new Deno.Command("python3", {
    args: [here("./testdata/dgram_recv.py"), sock, String(want)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = recv.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    const nextLine = async (): Promise<string> => {
      while (!buf.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`receiver ended early; got so far: ${JSON.stringify(buf)}`);
        buf += value;
      }
      const i = buf.indexOf("\n");
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      return line;
    };
    assertEquals(await nextLine(), "ready");

    const child = await new Deno.Command("unshare", {
      args: [
        "--mount",
        "sh",
        here("./testdata/with_dev_log.sh"),
        dir,
        sock,
        Deno.execPath(),
        "run",
        "-A",
        here("./testdata/syslog_child.ts"),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(child.stderr);
    assertEquals(child.code, 0, `child failed (needs root and unshare): ${err}`);
    const pid = new TextDecoder().decode(child.stdout).trim();
    assertMatch(pid, /^\d+$/);

    const got: string[] = [];
    for (let i = 0; i < want; i++) {
      const hex = await nextLine();
      const bytes = new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)));
      got.push(new TextDecoder().decode(bytes));
    }
    // glibc writes the syslog date with a space-padded day (`Nov  5`).
    const date = String.raw`\w{3} [ \d]\d \d{2}:\d{2}:\d{2}`;
    const expect = [
      `<131>${date} heartbeat: \\[${pid}\\]: ERROR: Cannot lock ourselves into memory:  System limits on locked-in memory are too small\\.`,
      `<132>${date} heartbeat: \\[${pid}\\]: WARN: Core dumps could be lost if multiple dumps occur\\.`,
      `<134>${date} heartbeat: \\[${pid}\\]: info: glib: UDP Broadcast heartbeat started on port 694 \\(694\\) interface eth0`,
      `<135>${date} heartbeat: \\[${pid}\\]: debug: debug now set to 1 \\[pid 1\\]`,
      // script line: ident = tag, level from the text (info: → notice), local0 → 133
      `<133>${date} harc\\(default\\)\\[5599\\]: info: Running /etc/ha\\.d//rc\\.d/ip-request-resp ip-request-resp`,
      `<133>${date} heartbeat: \\[${pid}\\]: notice: back to the normal ident`,
    ];
    for (let i = 0; i < want; i++) assertMatch(got[i], new RegExp(`^${expect[i]}$`));
    // On a datagram socket glibc sends no trailing NUL (it appends one only on stream sockets).
    assert(got.every((d) => !d.includes("\0")));
    await reader.cancel();
  } finally {
    try {
      recv.kill();
    } catch {
      // already exited
    }
    await recv.status;
    await Deno.remove(dir, { recursive: true });
  }
});
