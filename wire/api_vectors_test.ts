/**
 * The ha_msg bodies of the captured API socket exchanges (`testdata/vectors/api/*.hex`) decode and
 * re-encode byte-for-byte (classic with trailing NUL; netstring without trailer), and the FIFO
 * capture parses with the FIFO stream parser.
 */
import { assert, assertEquals, fail } from "../tests/assert.ts";
import { toHex } from "./bytes.ts";
import { decodeMessage, encodeMessage } from "./codec.ts";
import { FifoStreamParser } from "./fifo_stream.ts";
import { loadApiCaptures, splitIpcFrames } from "../tests/support/vectors.ts";

const captures = loadApiCaptures();

Deno.test("api captures: every IPC frame body decodes and re-encodes exactly", () => {
  let frames = 0;
  let netstrings = 0;
  for (const cap of captures) {
    if (cap.writes.length > 0) continue;
    for (const [dir, stream] of [["C", cap.client], ["S", cap.server]] as const) {
      for (const body of splitIpcFrames(stream)) {
        const r = decodeMessage(body);
        if (!r.ok) fail(`${cap.file} ${dir}: ${r.reason} ${r.detail}`);
        frames++;
        assert(r.msg.get("t") !== undefined, `${cap.file}: no t field`);
        if (r.format === "classic") {
          assert(r.nul, `${cap.file}: classic body without NUL`);
          assertEquals(r.end + 1, body.length, `${cap.file}: bytes after NUL`);
        } else {
          netstrings++;
          assertEquals(r.end, body.length);
        }
        const again = encodeMessage(r.msg, r.format, { nul: r.nul });
        assertEquals(toHex(again), toHex(body), `${cap.file} ${dir}`);
      }
    }
  }
  assert(frames > 100, `only ${frames} frames`);
  assert(netstrings > 0, "the msgfmt-netstring capture holds netstring replies");
});

Deno.test("api captures: signon request/reply fields", () => {
  const cap = captures.find((c) => c.file === "cl_status-nodestatus.hex");
  assert(cap);
  const [req] = splitIpcFrames(cap.client);
  const [resp] = splitIpcFrames(cap.server);
  const q = decodeMessage(req);
  const a = decodeMessage(resp);
  if (!q.ok || !a.ok) fail("decode");
  assertEquals(q.msg.fields.map((f) => f.name), [
    "t",
    "reqtype",
    "dest",
    "pid",
    "from_id",
    "uid",
    "gid",
  ]);
  assertEquals(a.msg.get("hbversion"), "3.0.6 (node: 958e11be8686759f1b99204c17812f2c2633b169)");
  assertEquals(a.msg.get("keepalive"), "3e8");
});

Deno.test("api captures: uuid binary fields in client status traffic decode", () => {
  let uuids = 0;
  for (const cap of captures) {
    for (const stream of [cap.client, cap.server]) {
      if (cap.writes.length > 0) continue;
      for (const body of splitIpcFrames(stream)) {
        const r = decodeMessage(body);
        if (!r.ok) continue;
        for (const f of r.msg.fields) if (f.type === 1 && f.value.length === 16) uuids++;
      }
    }
  }
  assert(uuids > 0, "no uuid fields found");
});

Deno.test("fifo capture: hb_standby and hb_takeover writes parse", () => {
  const cap = captures.find((c) => c.file === "hb_standby-hb_takeover-fifo.hex");
  assert(cap);
  assertEquals(cap.writes.length, 3);
  const p = new FifoStreamParser();
  const got: string[] = [];
  for (const w of cap.writes) {
    for (const item of p.push(w)) {
      if (!item.ok) fail(item.detail);
      got.push(`${item.msg.get("t")}/${item.msg.get("rsc_hold")}`);
    }
  }
  assertEquals(got, ["ask_resources/all", "hb_takeover/all"]);
});
