import { assertEquals } from "../tests/assert.ts";
import { dropOnReceive, dropOnSend, randThresh, type TestLossOptions } from "./test_loss.ts";

/** A Random returning the given values in turn. */
function seq(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}

const MAX = 2147483647;

Deno.test("randThresh: rand() <= RAND_MAX * p", () => {
  assertEquals(randThresh(1, seq(0.999999999)), true);
  assertEquals(randThresh(0, seq(0)), true); // rand() == 0: the 1 in 2^31
  assertEquals(randThresh(0, seq(1 / (MAX + 1))), false);
  assertEquals(randThresh(0.5, seq(0.49)), true);
  assertEquals(randThresh(0.5, seq(0.51)), false);
  assertEquals(randThresh(-1, seq(0)), false);
  assertEquals(randThresh(NaN, seq(0)), false);
  assertEquals(randThresh(2, seq(0.999)), true);
});

Deno.test("dropOnSend: only while allownodes is empty or starts with ';'", () => {
  const always = seq(0.5);
  assertEquals(dropOnSend({ allownodes: "" }, always), false); // no xmitloss line
  assertEquals(dropOnSend({ xmitloss: 1, allownodes: "" }, always), true);
  assertEquals(dropOnSend({ xmitloss: 1, allownodes: ";" }, always), true);
  assertEquals(dropOnSend({ xmitloss: 1, allownodes: ";node2;" }, always), true);
  assertEquals(dropOnSend({ xmitloss: 1, allownodes: "node2;" }, always), false);
  assertEquals(dropOnSend({ xmitloss: 0.25, allownodes: "" }, seq(0.3)), false);
  assertEquals(dropOnSend({ xmitloss: 0.25, allownodes: "" }, seq(0.2)), true);
});

Deno.test("dropOnReceive: allownodes is a strstr match followed by ';'", () => {
  const always = seq(0.5);
  const o = (allownodes: string): TestLossOptions => ({ rcvloss: 1, allownodes });
  assertEquals(dropOnReceive({ allownodes: "" }, "node2", always), false); // no rcvloss line
  assertEquals(dropOnReceive(o(""), "node2", always), true);
  assertEquals(dropOnReceive(o(";"), "node2", always), true);
  assertEquals(dropOnReceive(o("node2;"), "node2", always), false);
  assertEquals(dropOnReceive(o("node1;node2;"), "node2", always), false);
  assertEquals(dropOnReceive(o("node2"), "node2", always), true); // no ';' after it
  assertEquals(dropOnReceive(o("xnode2;"), "node2", always), false); // a substring will do
  assertEquals(dropOnReceive(o("node22;node2;"), "node2", always), true); // first match only
  assertEquals(dropOnReceive(o(""), "node2", always), true);
  assertEquals(dropOnReceive({ rcvloss: 0.5, allownodes: "" }, "node2", seq(0.6)), false);
  // the draw comes first, for every packet: one value used per call
  let calls = 0;
  const counting = () => (calls++, 0.1);
  dropOnReceive(o("node2;"), "node2", counting);
  dropOnSend({ xmitloss: 1, allownodes: "node2;" }, counting);
  assertEquals(calls, 2);
});
