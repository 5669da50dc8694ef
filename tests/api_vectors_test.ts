/**
 * The protocol engine against every capture of `testdata/vectors/api/`: the client's frames are
 * fed (re-split at odd byte positions) into {@link ApiProtocol} over a fake backend set up like
 * the capture's daemon, and every `hbapi-resp` frame it produces must be byte-identical, and in
 * the same order, to the real daemon's. Network-originated frames (join with seq/ts, remote
 * respond-cstatus, peer messages) are not deterministic and are checked by fields only.
 */
import { assert, assertEquals, fail } from "./assert.ts";
import { builtinApiAuth, CAPTURE_HA_IDS, FakeBackend } from "./support/fake_api_backend.ts";
import { encodeFrame, FrameReader, IPC_MAX_BODY } from "../api/ipc_frame.ts";
import { ApiProtocol, type ApiTransport } from "../api/protocol.ts";
import { toHex } from "../wire/bytes.ts";
import { decodeMessage } from "../wire/codec.ts";
import { loadApiCaptures, splitIpcFrames } from "./support/vectors.ts";

const captures = loadApiCaptures().filter((c) => c.writes.length === 0);

interface Rec {
  frames: Uint8Array[];
  closed: boolean;
}

function engine(b: FakeBackend): { p: ApiProtocol; rec: Rec } {
  const rec: Rec = { frames: [], closed: false };
  const t: ApiTransport = {
    send: (_c, f) => {
      rec.frames.push(f);
      return true;
    },
    close: () => {
      rec.closed = true;
    },
    setSendQueueLimit: () => {},
    kill: () => true,
  };
  const p = new ApiProtocol(b, t);
  b.loopback = (m) => p.deliver(m);
  return { p, rec };
}

function tOf(frame: Uint8Array): string | undefined {
  const d = decodeMessage(frame.subarray(8));
  return d.ok ? d.msg.get("t") : undefined;
}

Deno.test("api vectors: hbapi-resp replies are byte-identical for every capture", () => {
  let compared = 0;
  for (const cap of captures) {
    const clientFrames = splitIpcFrames(cap.client);
    const signon = decodeMessage(clientFrames[0]);
    if (!signon.ok) fail(cap.file);
    const b = new FakeBackend(CAPTURE_HA_IDS);
    if (cap.file.includes("netstring")) {
      b.msgfmt = "netstring";
      b.nodeName = "wa2";
    }
    if (cap.file === "cl_status-refused.hex" || cap.file === "api_test-start.hex") {
      b.apiauth = builtinApiAuth(b.haIds, [{ client: "anon", uids: [0], builtin: false }]);
    }
    if (cap.file === "api_test-start.hex" || cap.file === "ipfail-pingloss.hex") {
      b.rsc = { ok: true, rscHold: "none" };
    }
    b.params.set("hopfudge", "1");
    const { p, rec } = engine(b);
    const m = signon.msg;
    if (cap.file === "cl_status-clientstatus-local.hex") {
      // ipfail was signed on at wa1 during that capture.
      p.connect(2, { pid: 777, uid: CAPTURE_HA_IDS.hacluster, gid: CAPTURE_HA_IDS.haclient });
      p.input(
        2,
        new TextEncoder().encode(
          ">>>\nt=hbapi-req\nreqtype=signon\npid=777\nfrom_id=ipfail\n" +
            `uid=${CAPTURE_HA_IDS.hacluster}\ngid=${CAPTURE_HA_IDS.haclient}\n<<<\n`,
        ),
      );
      rec.frames.length = 0;
    }
    p.connect(1, {
      pid: Number(m.get("pid")),
      uid: Number(m.get("uid") ?? CAPTURE_HA_IDS.hacluster),
      gid: Number(m.get("gid") ?? CAPTURE_HA_IDS.haclient),
    });
    const want = splitIpcFrames(cap.server).map((body) => encodeFrame(body))
      .filter((f) => tOf(f) === "hbapi-resp");
    if (m.get("reqtype") !== "signon") {
      // A capture taken mid-session (ipfail-pingloss): sign ipfail on first, out of band.
      p.input(
        1,
        new TextEncoder().encode(
          `>>>\nt=hbapi-req\nreqtype=signon\npid=${
            m.get("pid")
          }\nfrom_id=ipfail\nuid=${CAPTURE_HA_IDS.hacluster}\ngid=${CAPTURE_HA_IDS.haclient}\n<<<\n`,
        ),
      );
      rec.frames.length = 0;
    }
    // The ping node's state changes during ipfail-pingloss: take it from the next expected
    // nodelist reply (the daemon's state at that moment), then check the encoding.
    const track = (body: Uint8Array) => {
      const d = decodeMessage(body);
      if (!d.ok || d.msg.get("reqtype") !== "nodelist") return;
      const k = rec.frames.filter((f) => tOf(f) === "hbapi-resp").length;
      for (const f of want.slice(k, k + b.nodeList.length)) {
        const r = decodeMessage(f.subarray(8));
        if (!r.ok) continue;
        const i = b.nodeList.findIndex((n) => n.name === r.msg.get("node"));
        if (i >= 0) b.nodeList[i] = { ...b.nodeList[i], status: r.msg.get("st") ?? "" };
      }
    };
    // Re-split the client byte stream at prime-sized chunks to exercise reassembly.
    const reader = new FrameReader();
    for (let off = 0; off < cap.client.length; off += 37) {
      const r = reader.push(cap.client.subarray(off, off + 37));
      assertEquals(r.error, undefined);
      for (const body of r.frames) {
        track(body);
        p.input(1, body);
      }
    }
    const got = rec.frames.filter((f) => tOf(f) === "hbapi-resp");
    assertEquals(got.map(toHex), want.map(toHex), cap.file);
    compared += want.length;
    if (cap.file === "cl_status-refused.hex") assert(rec.closed, "refused client closed");
    if (cap.file === "ipfail-signon.hex" || cap.file === "api_test-start.hex") {
      // The client's own join comes before its sign-on reply.
      assertEquals(tOf(rec.frames[0]), "hbapi-clstat");
      const j = decodeMessage(rec.frames[0].subarray(8));
      if (!j.ok) fail("join");
      const wantJoin = decodeMessage(splitIpcFrames(cap.server)[0]);
      if (!wantJoin.ok) fail("join");
      for (const f of ["t", "st", "from_id", "to_id", "src", "info"]) {
        assertEquals(j.msg.get(f), wantJoin.msg.get(f), `${cap.file} join ${f}`);
      }
      assertEquals(tOf(rec.frames[1]), "hbapi-resp");
    }
    if (cap.file === "ipfail-signon.hex") {
      // ipfail's abort_giveup went to the cluster with routing fields set.
      const sent = b.sent.find((s) => s.msg.get("t") === "abort_giveup");
      assert(sent, "abort_giveup forwarded");
      assertEquals(sent.dest, "wa2");
      assertEquals(sent.msg.get("from_id"), "ipfail");
      assertEquals(sent.msg.get("to_id"), "ipfail");
    }
    if (cap.file === "cl_status-clientstatus-remote.hex") {
      const q = b.sent.find((s) => s.msg.get("t") === "query-cstatus");
      assert(q, "remote clientstatus became a query-cstatus");
      assertEquals(q.dest, "wa2");
      assertEquals(q.msg.get("cn"), "ipfail");
    }
    b.dispose();
  }
  assert(compared >= 60, `only ${compared} replies compared`);
});

Deno.test("api framing: header, split frames, bad magic, oversize", () => {
  const body = new TextEncoder().encode(">>>\nt=x\n<<<\n\0");
  const f = encodeFrame(body);
  assertEquals(
    toHex(f.subarray(0, 8)),
    toHex(new Uint8Array([body.length, 0, 0, 0, 0xcd, 0xab, 0, 0])),
  );
  const r = new FrameReader();
  const two = new Uint8Array([...f, ...f]);
  let n = 0;
  for (const b of two) n += r.push(new Uint8Array([b])).frames.length;
  assertEquals(n, 2);
  const bad = new FrameReader().push(new Uint8Array([1, 0, 0, 0, 0xce, 0xab, 0, 0, 0]));
  assertEquals(bad.error, "bad-magic");
  const big = new Uint8Array(8);
  new DataView(big.buffer).setInt32(0, IPC_MAX_BODY + 1, true);
  new DataView(big.buffer).setUint32(4, 0xabcd, true);
  assertEquals(new FrameReader().push(big).error, "too-big");
  new DataView(big.buffer).setInt32(0, IPC_MAX_BODY, true);
  assertEquals(new FrameReader().push(big).error, undefined);
});

Deno.test("api protocol: sign-on refusals in Heartbeat's order", () => {
  const cases: [Record<string, string>, { pid: number; uid: number; gid: number }, string][] = [
    [{ pid: "0", from_id: "x", uid: "0", gid: "0" }, { pid: 5, uid: 0, gid: 0 }, "bad pid"],
    [{ from_id: "x", uid: "0", gid: "0" }, { pid: 5, uid: 0, gid: 0 }, "bad pid"],
    [{ pid: "5", from_id: "5", gid: "0" }, { pid: 5, uid: 0, gid: 0 }, "invalid id info"],
    [
      { pid: "5", from_id: "5", uid: "0", gid: "0" },
      { pid: 5, uid: 1000, gid: 0 },
      "incorrect/false credentials",
    ],
    [
      { pid: "5", from_id: "5", uid: "1000", gid: "1000" },
      { pid: 5, uid: 1000, gid: 1000 },
      "client failed authorization",
    ],
    [
      { pid: "5", from_id: "nosuch", uid: "0", gid: "0" },
      { pid: 5, uid: 0, gid: 0 },
      "no default client auth",
    ],
    [{ pid: "5", from_id: "5", uid: "0", gid: "0" }, { pid: 6, uid: 0, gid: 0 }, "pid mismatch"],
  ];
  for (const [fields, cred, reason] of cases) {
    const b = new FakeBackend(CAPTURE_HA_IDS);
    const { p, rec } = engine(b);
    p.connect(1, cred);
    const msg = { t: "hbapi-req", reqtype: "signon", ...fields };
    const body = new TextEncoder().encode(
      ">>>\n" + Object.entries(msg).map(([k, v]) => `${k}=${v}\n`).join("") + "<<<\n\0",
    );
    p.input(1, body);
    const d = decodeMessage(rec.frames[0].subarray(8));
    if (!d.ok) fail(reason);
    assertEquals(d.msg.get("info"), reason);
    assertEquals(d.msg.get("result"), "badreq");
    assertEquals(d.msg.get("deadtime"), "1f40");
    assertEquals(d.msg.fields.map((f) => f.name).slice(0, 4), ["t", "reqtype", "info", "result"]);
    assert(rec.closed, `${reason}: closed`);
    b.dispose();
  }
});
