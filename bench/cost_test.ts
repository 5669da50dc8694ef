import { assertEquals } from "../tests/assert.ts";
import { costTargets } from "./cost.ts";

Deno.test("cost targets: issue 17's limits per configuration", () => {
  assertEquals(
    costTargets({ media: 2, keepaliveMs: 1000 }, { cpu: 0.3, pss: 70, window: 60 }, { cpu: 0.05 }),
    ["pss <= 72 MB: met", "cpu <= 0.32 s/60 s: met"],
  );
  // a 30 s window's CPU counts double against the 60 s limit
  assertEquals(
    costTargets({ media: 2, keepaliveMs: 1000 }, { cpu: 0.2, pss: 80, window: 30 }, {}),
    ["pss <= 72 MB: missed", "cpu <= 0.32 s/60 s: missed"],
  );
  assertEquals(
    costTargets({ media: 1, keepaliveMs: 1000 }, { cpu: 0.2, pss: 55 }, { cpu: 0.05 }),
    ["pss <= 55 MB: met", "cpu <= 4x HB3: met"],
  );
  assertEquals(
    costTargets({ media: 2, keepaliveMs: 200 }, { cpu: 0.95 }, { cpu: 0.3 }),
    ["pss <= 72 MB: ?", "cpu <= 3x HB3: missed"],
  );
});
