/**
 * Mixed cluster membership: one hb node (node1) and one real Heartbeat 3.0.6 node (node2), for
 * every UDP medium (bcast, ucast, mcast) and every auth method (crc, md5, sha1). Both must
 * reach `active` for each other (the real `cl_status nodestatus` inside each node), neither may
 * log an authentication or format complaint, and a hard kill of either must be logged as
 * `node X: is dead` by the other within deadtime + one keepalive + the survivor's scheduling
 * slack ({@link DETECTION_SLACK}). One testbed per medium, reused for the three auth methods.
 *
 * Needs root and the Debian heartbeat package; fails (never skips) without them.
 *
 * @module
 */

import {
  checkDetections,
  type DetectionRow,
  MEDIA,
  membershipRun,
  requireRealHeartbeat,
} from "./interop_common.ts";

const rows: DetectionRow[] = [];

for (const media of MEDIA) {
  Deno.test(`interop membership hb ↔ real Heartbeat over ${media}: crc, md5, sha1`, async () => {
    await requireRealHeartbeat();
    await membershipRun(["hb", "heartbeat"], media, rows);
    checkDetections(`hb ↔ real Heartbeat, ${media}`, rows.filter((r) => r.media === media));
  });
}
