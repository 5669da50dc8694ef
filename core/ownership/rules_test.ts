import { assertEquals } from "../../tests/assert.ts";
import {
  complementClass,
  designatedNode,
  encodeClass,
  keysOfClass,
  pairKeeper,
  updateHeld,
} from "./rules.ts";
import { RSC_ALL, RSC_FOREIGN, RSC_LOCAL, RSC_NONE } from "./types.ts";

Deno.test("updateHeld follows HB_UPD_RSC", () => {
  assertEquals(updateHeld(true, RSC_ALL, RSC_LOCAL), RSC_LOCAL);
  assertEquals(updateHeld(false, RSC_LOCAL, RSC_FOREIGN), RSC_ALL);
  assertEquals(updateHeld(false, RSC_ALL, RSC_NONE), RSC_NONE);
});

Deno.test("class names and complements", () => {
  assertEquals(encodeClass("foreign"), RSC_FOREIGN);
  assertEquals(encodeClass("bogus"), -1);
  assertEquals(complementClass(RSC_LOCAL), RSC_FOREIGN);
  assertEquals(complementClass(RSC_ALL), RSC_ALL);
});

Deno.test("keysOfClass and designatedNode", () => {
  const g = [{ node: "a", key: "k1" }, { node: "b", key: "k2" }, { node: "c", key: "k3" }];
  assertEquals(keysOfClass(g, "a", RSC_FOREIGN), ["k2", "k3"]);
  const alive = (n: string) => n !== "a";
  assertEquals(designatedNode(["a", "b", "c"], alive, "a"), "b");
  assertEquals(designatedNode(["a", "b", "c"], alive, "c"), "c");
  assertEquals(designatedNode(["a", "b", "c"], alive, "c", new Set(["c"])), "b");
});

Deno.test("pairKeeper: the preferred node when it is one of the pair, else the first in ha.cf order", () => {
  const nodes = ["node1", "node2", "node3"];
  assertEquals(pairKeeper(nodes, "node2", "node1", "node2"), "node2");
  assertEquals(pairKeeper(nodes, "node2", "node2", "node1"), "node2");
  assertEquals(pairKeeper(nodes, "node3", "node2", "node1"), "node1");
  assertEquals(pairKeeper(nodes, "node1", "node3", "node2"), "node2");
});
