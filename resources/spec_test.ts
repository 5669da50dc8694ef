import { assertEquals } from "../tests/assert.ts";
import {
  allKeys,
  argText,
  doscriptName,
  findGroup,
  isIpSpec,
  listKeys,
  otherKeys,
  ourKeys,
  parseResourceSpec,
  standbyGroupType,
  statusSaysOwned,
} from "./spec.ts";
import { group } from "../tests/support/resources.ts";

Deno.test("parseResourceSpec: script and :: args, IP shorthand", () => {
  assertEquals(parseResourceSpec("dummy::alpha::b2"), {
    spec: "dummy::alpha::b2",
    script: "dummy",
    args: ["alpha", "b2"],
  });
  assertEquals(parseResourceSpec("httpd"), { spec: "httpd", script: "httpd", args: [] });
  assertEquals(parseResourceSpec("198.18.30.10/26/eth0"), {
    spec: "198.18.30.10/26/eth0",
    script: "IPaddr",
    args: ["198.18.30.10/26/eth0"],
  });
  assertEquals(parseResourceSpec("IPaddr2::198.18.30.10/26/eth0").args, ["198.18.30.10/26/eth0"]);
  assertEquals(parseResourceSpec("a::::b").args, ["b"]);
  assertEquals(argText("a::x::::b"), "x  b");
  assertEquals(argText("noargs"), "");
  assertEquals(argText("198.18.0.1"), "198.18.0.1");
  assertEquals(doscriptName("198.18.0.1/24"), "198.18.0.1/24");
  assertEquals(doscriptName("x::y"), "x");
  assertEquals(isIpSpec("198.18.0.1"), true);
  assertEquals(isIpSpec("1.2.3"), false);
});

Deno.test("statusSaysOwned follows ResourceManager's case patterns on stdout", () => {
  const yes = [
    "running",
    "foo is running\n",
    "OK",
    "INFO:  Running OK\n",
    "x OK y",
    "a\nrunning\n",
  ];
  const no = [
    "",
    "stopped",
    "foo is not running",
    "NOT   running",
    "Not currently running",
    "ok",
    "RUNNING",
    "INFO:  Resource is stopped\n",
    "not\nrunning",
  ];
  for (const s of yes) assertEquals(statusSaysOwned(s), true, JSON.stringify(s));
  for (const s of no) {
    assertEquals(statusSaysOwned(s), s === "not\nrunning", JSON.stringify(s));
  }
});

Deno.test("listkeys / allkeys / ourkeys / otherkeys", () => {
  const gs = [
    group("node1 198.18.30.10/26/eth0 dummy::alpha"),
    group("node2 dummy2::beta::x"),
    group("node1 other"),
    group("node10 ten"),
  ];
  assertEquals(listKeys(gs, "node1"), ["198.18.30.10/26/eth0", "other"]);
  assertEquals(listKeys(gs, "NODE2"), ["dummy2::beta::x"]);
  assertEquals(listKeys(gs, ".*"), ["198.18.30.10/26/eth0", "dummy2::beta::x", "other", "ten"]);
  assertEquals(listKeys(gs, "node1.*"), ["198.18.30.10/26/eth0", "other", "ten"]);
  assertEquals(listKeys(gs, "("), []);
  assertEquals(allKeys(gs), ["198.18.30.10/26/eth0", "dummy2::beta::x", "other", "ten"]);
  assertEquals(ourKeys(gs, "Node1"), ["198.18.30.10/26/eth0 dummy::alpha", "other"]);
  assertEquals(otherKeys(gs, "node1"), ["dummy2::beta::x", "ten"]);
  assertEquals(findGroup(gs, "other")?.node, "node1");
  assertEquals(findGroup(gs, "dummy::alpha"), undefined);
  // The binary always picks foreign (see standbyGroupType).
  assertEquals(standbyGroupType(gs, "node1", "other"), "foreign");
});
