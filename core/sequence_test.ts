import { assert, assertEquals } from "../tests/assert.ts";
import { SeqTrack } from "./sequence.ts";

Deno.test("sequence: in order, duplicate, gap, older", () => {
  const t = new SeqTrack(3);
  assertEquals(t.accept(5), { kind: "in-order" });
  assertEquals(t.accept(6), { kind: "in-order" });
  assertEquals(t.accept(6), { kind: "duplicate" });
  assertEquals(t.accept(9), { kind: "gap", last: 6, lost: 2, reset: false });
  assertEquals([...t.missing], [7, 8]);
  assertEquals(t.firstMissing, 7);
  assertEquals(t.accept(8), { kind: "older" });
  assert(t.removeMissing(7));
  assertEquals(t.firstMissing, 8);
  assert(t.removeMissing(8));
  assertEquals(t.firstMissing, 0);
  assert(!t.removeMissing(8));
});

Deno.test("sequence: a gap over 250 resets tracking", () => {
  const t = new SeqTrack(0);
  t.accept(1);
  assertEquals(t.accept(253), { kind: "gap", last: 1, lost: 251, reset: true });
  assertEquals(t.missing.size, 0);
  assertEquals(t.lastSeq, 253);
});

Deno.test("acks: trigger digit, not past a missing number, after a fill", () => {
  const t = new SeqTrack(3);
  assert(t.wantsAck(13) && !t.wantsAck(14));
  t.accept(10);
  t.accept(12); // 11 missing
  assert(!t.wantsAck(13));
  t.accept(13);
  t.accept(25);
  t.removeMissing(11);
  // highest number ending in 3 below the next missing one (14)
  assertEquals(t.ackAfterFill(11), 13);
});
