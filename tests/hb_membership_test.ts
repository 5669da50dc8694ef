/**
 * Membership between two hb nodes, for every UDP medium (bcast, ucast, mcast) and every auth
 * method (crc, md5, sha1): both `active` for each other (the real `cl_status nodestatus`
 * against hb's API socket), no complaint lines, and a hard kill of either node logged as
 * `node X: is dead` by the other within deadtime + one keepalive + 150 ms
 * ({@link DETECTION_SLACK}). The same checks as `interop_membership_test.ts` with hb on both
 * sides. One testbed per medium, reused for the three auth methods.
 *
 * Needs root (network namespaces) and the real cl_status; fails (never skips) without them.
 *
 * @module
 */

import { requireRealHeartbeat } from "./support/mod.ts";
import { checkDetections, type DetectionRow, MEDIA, membershipRun } from "./support/interop.ts";

const rows: DetectionRow[] = [];

for (const media of MEDIA) {
  Deno.test(`hb ↔ hb membership over ${media}: crc, md5, sha1`, async () => {
    await requireRealHeartbeat();
    await membershipRun(["hb", "hb"], media, rows);
    checkDetections(`hb ↔ hb, ${media}`, rows.filter((r) => r.media === media));
  });
}
