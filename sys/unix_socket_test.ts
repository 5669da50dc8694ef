// sys/unix_socket.ts: errno comes back right (the first failing call of the process's group
// included: -EAGAIN from an empty socket, not a clobbered value), and failed calls name
// themselves with strerror's text.
import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import { waitFor } from "../tests/support/mod.ts";
import { EAGAIN } from "./socket.ts";
import {
  acceptNonBlocking,
  closeFd,
  listenUnix,
  recvSome,
  sendSome,
  SocketCallError,
} from "./unix_socket.ts";

Deno.test("unix sockets: nothing pending is -EAGAIN, bytes pass both ways", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "hb_unix_" });
  const path = `${dir}/sock`;
  const fd = listenUnix(path);
  let conn: Deno.UnixConn | undefined;
  let peer = -1;
  try {
    assertEquals(acceptNonBlocking(fd), -1);
    conn = await Deno.connect({ transport: "unix", path });
    peer = await waitFor("a pending connection", () => {
      const p = acceptNonBlocking(fd);
      return p >= 0 ? p : undefined;
    }, { timeoutMs: 30_000 });
    const buf = new Uint8Array(16);
    assertEquals(recvSome(peer, buf), -EAGAIN);
    await conn.write(new Uint8Array([1, 2, 3]));
    const n = await waitFor("bytes", () => {
      const r = recvSome(peer, buf);
      return r === -EAGAIN ? undefined : r;
    }, { timeoutMs: 30_000 });
    assertEquals([...buf.subarray(0, n)], [1, 2, 3]);
    assertEquals(sendSome(peer, new Uint8Array([4])), 1);
    const back = new Uint8Array(1);
    assertEquals(await conn.read(back), 1);
    assertEquals(back[0], 4);
  } finally {
    conn?.close();
    if (peer >= 0) closeFd(peer);
    closeFd(fd);
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("unix sockets: a failed bind names the call and the path, with errno", () => {
  const e = assertThrows(() => listenUnix("/nonexistent-hb-dir/sock"), SocketCallError);
  assertEquals(e.message, "bind(/nonexistent-hb-dir/sock): No such file or directory");
  assertEquals((e as SocketCallError).errno, 2);
  const long = assertThrows(() => listenUnix(`/tmp/${"x".repeat(120)}`), SocketCallError);
  assert(long.message.endsWith(": File name too long"), long.message);
});
