/**
 * Robustness of the API server: malformed and truncated frames, an oversized header, a sign-on
 * without pid, a client that never reads, 200 concurrent clients. The server keeps serving
 * (checked with the real cl_status) and leaks no descriptors.
 */
import { assert, assertEquals } from "./assert.ts";
import { builtinApiAuth } from "./support/fake_api_backend.ts";
import { encodeFrame } from "../api/ipc_frame.ts";
import {
  casualSignon,
  openFds,
  RawClient,
  requireRealClient,
  type Rig,
  runReal,
  startRig,
} from "./support/api.ts";

requireRealClient();

async function stillServes(rig: Rig): Promise<void> {
  const r = await runReal(rig.runDir, ["listnodes"]);
  assertEquals(r.stdout, "198.18.20.3\nwa2\nwa1\n");
}

function header(len: number, magic = 0xabcd): Uint8Array {
  const h = new Uint8Array(8);
  new DataView(h.buffer).setInt32(0, len, true);
  new DataView(h.buffer).setUint32(4, magic, true);
  return h;
}

Deno.test("api robustness: garbage, truncation, oversize, no pid, 200 clients, no fd leak", async () => {
  const fdsBefore = openFds();
  const rig = startRig((b) => {
    b.apiauth = builtinApiAuth(b.haIds, [{ client: "default", uids: [0], builtin: false }]);
  });
  try {
    // 10k malformed frames (valid header, unparsable body) on one connection: dropped silently,
    // the connection stays usable and the next frame is still a sign-on.
    const c = await RawClient.connect(rig.path);
    const junk: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      const body = new TextEncoder().encode(`garbage ${i} \x00\xff>>>`);
      junk.push(...encodeFrame(body));
    }
    assert(await c.sendBytes(new Uint8Array(junk)));
    // a request before sign-on is ignored too
    await c.send([["t", "hbapi-req"], ["reqtype", "nodelist"], ["pid", String(Deno.pid)]]);
    await c.send(casualSignon());
    const r = await c.next();
    assertEquals(r?.get("t"), "hbapi-resp");
    assertEquals(r?.get("result"), "OK");
    await c.send([["t", "hbapi-req"], ["reqtype", "numnodes"], ["pid", String(Deno.pid)]]);
    assertEquals((await c.next())?.get("numnodes"), "2");
    // unknown reqtype → badreq without info; impersonation → nothing
    await c.send([["t", "hbapi-req"], ["reqtype", "frobnicate"], ["pid", String(Deno.pid)]]);
    const u = await c.next();
    assertEquals(u?.get("result"), "badreq");
    assertEquals(u?.get("info"), undefined);
    await c.send([["t", "hbapi-req"], ["reqtype", "numnodes"], ["from_id", "someoneelse"]]);
    assertEquals(await c.next(300), undefined);
    // a casual client sending a non-API message is dropped
    await c.send([["t", "ask_resources"], ["rsc_hold", "all"]]);
    assert(await c.waitEof(), "casual client with a non-API message is disconnected");
    c.close();

    // 10k frames of random bytes over 100 connections (most have a bad magic → disconnect).
    for (let k = 0; k < 100; k++) {
      const g = await RawClient.connect(rig.path);
      const bytes = new Uint8Array(100 * 20);
      crypto.getRandomValues(bytes);
      await g.sendBytes(bytes);
      g.close();
    }

    // Truncated frames: header announces 1000 bytes, 10 arrive, then the client goes away.
    for (let k = 0; k < 50; k++) {
      const t = await RawClient.connect(rig.path);
      await t.sendBytes(new Uint8Array([...header(1000), ...new Uint8Array(10)]));
      t.close();
    }

    // > 256 KiB header: closed at once.
    const big = await RawClient.connect(rig.path);
    await big.sendBytes(header(256 * 1024 + 1));
    assert(await big.waitEof(2000), "oversized header closes the connection");
    big.close();
    const neg = await RawClient.connect(rig.path);
    await neg.sendBytes(header(-5));
    assert(await neg.waitEof(2000), "negative length closes the connection");
    neg.close();

    // Sign-on without pid (crashes the real daemon): refused as a bad pid, then closed.
    const np = await RawClient.connect(rig.path);
    await np.send([["t", "hbapi-req"], ["reqtype", "signon"], ["from_id", "nopid"], [
      "uid",
      "0",
    ], ["gid", "0"]]);
    const npr = await np.next();
    assertEquals(npr?.get("info"), "bad pid");
    assertEquals(npr?.get("result"), "badreq");
    assert(await np.waitEof(), "refused client closed");
    np.close();
    await stillServes(rig);

    // A named client that floods requests and never reads: dropped, the server goes on.
    const flood = await RawClient.connect(rig.path);
    await flood.send([
      ["t", "hbapi-req"],
      ["reqtype", "signon"],
      ["pid", String(Deno.pid)],
      ["from_id", "flooder"],
      ["uid", "0"],
      ["gid", "0"],
    ]);
    const req = encodeFrame(
      new TextEncoder().encode(">>>\nt=hbapi-req\nreqtype=nodelist\nfrom_id=flooder\n<<<\n\0"),
    );
    const many = new Uint8Array(req.length * 500);
    for (let i = 0; i < 500; i++) many.set(req, i * req.length);
    let writes = 0;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && writes < 400) {
      const ok = await Promise.race([
        flood.sendBytes(many),
        new Promise<boolean>((res) => setTimeout(() => res(false), 500)),
      ]);
      if (!ok) break;
      writes++;
    }
    assert(writes < 400, "the flooding client was dropped");
    await stillServes(rig);
    flood.close();
    assert(!rig.server.clientOnline("flooder"), "flooder removed");

    // 200 concurrent named clients (same process: requests identify by from_id only).
    const clients: RawClient[] = [];
    for (let i = 0; i < 200; i++) clients.push(await RawClient.connect(rig.path));
    await Promise.all(clients.map((cl, i) =>
      cl.send([
        ["t", "hbapi-req"],
        ["reqtype", "signon"],
        ["pid", String(Deno.pid)],
        ["from_id", `c${i}`],
        ["uid", "0"],
        ["gid", "0"],
      ])
    ));
    const replies = await Promise.all(clients.map(async (cl) => {
      // own join first, then the reply
      const j = await cl.next();
      const s = await cl.next();
      return [j?.get("t"), s?.get("result")];
    }));
    for (const r of replies) assertEquals(r, ["hbapi-clstat", "OK"]);
    assertEquals(rig.server.clients().length, 200);
    await Promise.all(
      clients.map((cl, i) =>
        cl.send([["t", "hbapi-req"], ["reqtype", "nodestatus"], ["from_id", `c${i}`], [
          "node",
          "wa2",
        ]])
      ),
    );
    const st = await Promise.all(clients.map((cl) => cl.next()));
    for (const m of st) assertEquals(m?.get("st"), "active");
    // a client-originated broadcast reaches only the clients with the same id (to_id rule)
    await clients[7].send([["t", "hello"], ["x", "1"]]);
    const echo = await clients[7].next();
    assertEquals(echo?.get("t"), "hello");
    assertEquals(echo?.get("to_id"), "c7");
    assertEquals(await clients[8].next(200), undefined);
    // half sign off, half just vanish
    await Promise.all(
      clients.slice(0, 100).map((cl, i) =>
        cl.send([["t", "hbapi-req"], ["reqtype", "signoff"], ["from_id", `c${i}`]])
      ),
    );
    for (const cl of clients.slice(0, 100)) {
      const leave = await cl.next();
      assertEquals(leave?.get("st"), "leave");
      assertEquals(leave?.get("info"), "signoff");
      assert(await cl.waitEof(), "closed after signoff");
    }
    for (const cl of clients) cl.close();
    const t0 = Date.now();
    while (rig.server.connectionCount > 0 && Date.now() - t0 < 5000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(rig.server.connectionCount, 0);
    await stillServes(rig);
  } finally {
    await rig.dispose();
  }
  // every client socket, the listener, the epoll set and the eventfd are closed
  // Other test files share this process: descriptors they still held at the start may close
  // meanwhile, and closed client sockets of this test may take a moment to be released, so
  // "no leak" is "not more than before" within a short settling time.
  let fdsAfter = openFds();
  for (let i = 0; i < 100 && fdsAfter > fdsBefore; i++) {
    await new Promise((r) => setTimeout(r, 30));
    fdsAfter = openFds();
  }
  assert(fdsAfter <= fdsBefore, `descriptors leaked: ${fdsBefore} before, ${fdsAfter} after`);
});
