import { assertEquals } from "../tests/assert.ts";
import { ownEchoSpacingMs } from "./own_echo.ts";

Deno.test("own echo spacing: half the dead interval less a keepalive, never negative", () => {
  assertEquals(ownEchoSpacingMs(1000, 5000), 1500);
  assertEquals(ownEchoSpacingMs(200, 1000), 300);
  assertEquals(ownEchoSpacingMs(100, 500), 150);
  assertEquals(ownEchoSpacingMs(10, 50), 15);
  assertEquals(ownEchoSpacingMs(1000, 2000), 0);
  assertEquals(ownEchoSpacingMs(1000, 1500), 0);
  // echoes come once per keepalive: the next one passed after a passed one is the first at
  // or after the spacing, at most half a dead interval later (or the very next echo)
  for (const [ka, dt] of [[1000, 5000], [200, 1000], [100, 500], [10, 50], [2000, 30000]]) {
    const gap = Math.max(ka, Math.ceil(ownEchoSpacingMs(ka, dt) / ka) * ka);
    assertEquals(gap <= Math.max(ka, dt / 2), true, `${ka}/${dt}: gap ${gap}`);
  }
});
