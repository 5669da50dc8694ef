import { assert, assertEquals } from "../tests/assert.ts";
import { decodeMessage } from "../wire/codec.ts";
import { encodeClassic } from "../wire/classic.ts";
import { WIRE_VECTOR_DIR } from "../tests/support/vectors.ts";
import { ECHO_FILTER, OwnEchoFilter } from "./echo_filter.ts";

/** A captured packet of a real 3.0.6 node (`n1` or `n2` sent it). */
function vector(name: string): Uint8Array {
  return Deno.readFileSync(new URL(name, WIRE_VECTOR_DIR));
}

/** The same message in the classic form (`>>>`…`<<<`). */
function classic(bytes: Uint8Array): Uint8Array {
  const d = decodeMessage(bytes);
  assert(d.ok);
  return encodeClassic(d.msg);
}

Deno.test("echo filter: one own status per spacing, in both wire forms", () => {
  const status = vector("crc-bcast-status-1.bin"); // src=n1, netstring
  assertEquals(new TextDecoder().decode(status.subarray(0, 4)), "###\n");
  for (const own of [status, classic(status)]) {
    let now = 0;
    const f = new OwnEchoFilter("n1", 300, () => now);
    const passed: number[] = [];
    for (now = 0; now <= 2000; now += 200) if (f.pass(own)) passed.push(now);
    assertEquals(passed, [0, 400, 800, 1200, 1600, 2000]);
    assertEquals(f.dropped, 5);
  }
});

Deno.test("echo filter: other senders, other types and garbage always pass", () => {
  const status = vector("crc-bcast-status-1.bin");
  const f = new OwnEchoFilter("n2", 1e9, () => 0); // n2 is not the sender
  for (let i = 0; i < 3; i++) assert(f.pass(status) && f.pass(classic(status)));
  const own = new OwnEchoFilter("n1", 1e9, () => 0);
  // a node whose name is a prefix of the sender's is not the sender
  const prefix = new OwnEchoFilter("n", 1e9, () => 0);
  for (let i = 0; i < 3; i++) assert(prefix.pass(status) && prefix.pass(classic(status)));
  own.pass(status); // the first own echo passes; from now on own status is held back
  for (const name of Deno.readDirSync(WIRE_VECTOR_DIR)) {
    if (!name.name.endsWith(".bin") || name.name.includes("-status-")) continue;
    assert(own.pass(vector(name.name)), name.name);
  }
  for (const junk of ["", "###\n", ">>>\nt=status\n", "garbage"]) {
    assert(own.pass(new TextEncoder().encode(junk)), JSON.stringify(junk));
  }
  assertEquals(own.dropped, 0);
  assert(!own.pass(status));
});

Deno.test("echo filter: built from the master's control message only when well formed", () => {
  assert(OwnEchoFilter.fromControl({ t: ECHO_FILTER, src: "n1", spacingMs: 0 }));
  for (
    const bad of [
      null,
      { t: "reread-keys" },
      { t: ECHO_FILTER, src: "", spacingMs: 1 },
      { t: ECHO_FILTER, src: "n1", spacingMs: -1 },
      { t: ECHO_FILTER, src: "n1", spacingMs: "1" },
      { t: ECHO_FILTER, src: 1, spacingMs: 1 },
    ]
  ) assertEquals(OwnEchoFilter.fromControl(bad), undefined, JSON.stringify(bad));
});
