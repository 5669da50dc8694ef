import { assertEquals, assertThrows } from "../tests/assert.ts";
import { parseSettings, planSteps } from "./mod.ts";

Deno.test("bench: the full set overlaps the loss-only window with the scale suite", () => {
  assertEquals(planSteps(["failover", "false", "cost", "scale"]), [
    ["failover"],
    ["false-stress"],
    ["cost"],
    ["scale", "false-loss"],
  ]);
});

Deno.test("bench: without scale the false-failover suite runs both windows itself", () => {
  assertEquals(planSteps(["false"]), [["false"]]);
  assertEquals(planSteps(["failover", "false", "cost"]), [["failover"], ["false"], ["cost"]]);
  assertEquals(planSteps(["scale"]), [["scale"]]);
});

Deno.test("bench: full and quick defaults", () => {
  const full = parseSettings([])!;
  assertEquals(full.trials, 20);
  assertEquals(full.peerTrials, 10);
  assertEquals(parseSettings(["--trials", "5"])!.peerTrials, 5);
  assertEquals(parseSettings(["--peer-trials", "30"])!.peerTrials, 30);
  assertEquals(full.softTrials, 3);
  assertEquals(full.durationS, 600);
  assertEquals(full.scaleSizes, [2, 4, 8, 16]);
  assertEquals(full.scaleWindowS, 300);
  assertEquals(full.scaleTrendWindowS, 60);
  assertEquals(full.timings.length, 4);
  assertEquals(full.suites.slice(-2), ["chaos", "service"]);
  assertEquals(full.chaosFaults, 20);
  assertEquals(full.serviceTrials, 10);
  const quick = parseSettings(["--quick"])!;
  assertEquals(quick.trials, 3);
  assertEquals(quick.scaleWindowS, 20);
  assertEquals(quick.scaleTrendWindowS, 20);
  assertEquals(quick.chaosFaults, 4);
  assertEquals(quick.serviceTrials, 2);
  assertEquals(full.impls, ["hb", "heartbeat", "keepalived", "pacemaker"]);
  assertEquals(quick.impls, ["hb", "heartbeat", "keepalived"]);
  assertEquals(parseSettings(["--impl", "all"])!.impls, full.impls);
  assertEquals(parseSettings(["--impl", "hb,pacemaker"])!.impls, ["hb", "pacemaker"]);
  // hb runs as shipped unless asked otherwise
  assertEquals(full.hbForm, "bundle");
  assertEquals(quick.hbForm, "bundle");
  assertEquals(parseSettings(["--hb-form", "source"])!.hbForm, "source");
});

Deno.test("bench: bad usage is refused with the option named", () => {
  assertThrows(() => parseSettings(["nosuch"]), Error, "unknown suite");
  assertThrows(() => parseSettings(["--timings", "100-500"]), Error, "--timings");
  assertThrows(() => parseSettings(["--impl", "vrrpd"]), Error, "--impl");
  assertThrows(() => parseSettings(["--impl", ","]), Error, "--impl");
  assertThrows(() => parseSettings(["--trials", "0"]), Error, "--trials");
  assertThrows(() => parseSettings(["--hb-form", "binary"]), Error, "--hb-form");
  assertEquals(parseSettings(["--help"]), undefined);
  assertThrows(() => parseSettings(["--cost-groups", "2-200"]), Error, "--cost-groups");
  const groups = parseSettings(["cost", "--breakdown", "--cost-groups", "1/1000,2/200"])!;
  assertEquals(groups.costGroups, [{ media: 1, keepaliveMs: 1000 }, {
    media: 2,
    keepaliveMs: 200,
  }]);
  assertEquals(groups.breakdown, true);
});
