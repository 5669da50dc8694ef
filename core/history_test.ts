import { assert, assertEquals } from "../tests/assert.ts";
import { SendHistory } from "./history.ts";
import { planRexmitAnswer, RexmitTimers } from "./rexmit.ts";

Deno.test("history ring keeps the last 500 messages", () => {
  const h = new SendHistory();
  assertEquals(h.lastmsg, 499);
  for (let s = 1; s <= 520; s++) h.add(s);
  assertEquals([h.hiseq, h.lowseq, h.queued], [520, 20, 500]);
  assert(!h.has(20) && h.has(21) && h.has(520) && !h.has(521));
  assertEquals(h.lastmsg, 519 % 500);
});

Deno.test("acks free the history (one fewer on the first ack, as Heartbeat)", () => {
  const h = new SendHistory();
  for (let s = 1; s <= 30; s++) h.add(s);
  assert(h.updateAck(10));
  assertEquals([h.ackseq, h.lowseq], [10, 9]);
  assert(!h.updateAck(10));
  assert(h.updateAck(20));
  assertEquals([h.ackseq, h.lowseq], [20, 20]);
});

Deno.test("rexmit answer plan: acked, too low, too high, resent recently, batch of 50", () => {
  const h = new SendHistory();
  for (let s = 1; s <= 200; s++) h.add(s);
  h.updateAck(11); // frees 1..10
  assertEquals(planRexmitAnswer(h, 5, 5, 0, 0, 240), [{
    kind: "nak",
    seq: 5,
    reason: "seqno too low",
  }]);
  assertEquals(planRexmitAnswer(h, 5, 5, 5, 0, 240), []);
  assertEquals(planRexmitAnswer(h, 201, 201, 0, 0, 240), [{ kind: "too-high", seq: 201 }]);
  assertEquals(planRexmitAnswer(h, 50, 50, 0, 1000, 240), [{ kind: "resend", seq: 50 }]);
  assertEquals(planRexmitAnswer(h, 50, 50, 0, 1239, 240), []);
  assertEquals(planRexmitAnswer(h, 50, 50, 0, 1240, 240), [{ kind: "resend", seq: 50 }]);
  assertEquals(planRexmitAnswer(h, 100, 199, 0, 5000, 240).length, 50);
});

Deno.test("rexmit timers: earliest first, cancel, re-arm", () => {
  const t = new RexmitTimers();
  t.schedule("a", 1, 300);
  t.schedule("a", 2, 100);
  t.schedule("b", 1, 200);
  assertEquals(t.nextAt(), 100);
  t.cancel("a", 2);
  assertEquals(t.nextAt(), 200);
  t.schedule("b", 1, 400); // re-armed: the old entry is stale
  assertEquals(t.takeDue(350), [{ node: "a", seq: 1 }]);
  assertEquals(t.nextAt(), 400);
  assertEquals(t.size, 1);
});
