import { assertEquals } from "../tests/assert.ts";
import { getopt } from "./args.ts";

const OPTS = "dDkMrRsvWlC:Vf";

Deno.test("grouped and repeated flags are counted", () => {
  const r = getopt("heartbeat", ["-dd", "-d", "-DW"], OPTS);
  assertEquals(r.error, undefined);
  assertEquals(r.counts, { d: 3, D: 1, W: 1 });
});

Deno.test("option with argument, attached or separate", () => {
  assertEquals(getopt("heartbeat", ["-R", "-C", "local"], OPTS).values, { C: "local" });
  assertEquals(getopt("heartbeat", ["-RCall"], OPTS).values, { C: "all" });
});

Deno.test("invalid option and missing argument use getopt's text", () => {
  assertEquals(getopt("heartbeat", ["-x"], OPTS).error, "heartbeat: invalid option -- 'x'");
  assertEquals(getopt("heartbeat", ["-kx"], OPTS).error, "heartbeat: invalid option -- 'x'");
  assertEquals(
    getopt("heartbeat", ["-C"], OPTS).error,
    "heartbeat: option requires an argument -- 'C'",
  );
});

Deno.test("parsing stops at the first operand", () => {
  const r = getopt("cl_status", ["-m", "nodestatus", "-v"], "mv");
  assertEquals(r.counts, { m: 1 });
  assertEquals(r.rest, ["nodestatus", "-v"]);
});
