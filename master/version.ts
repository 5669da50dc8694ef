/**
 * The version hb reports wherever Heartbeat reports its own: hb is a drop-in
 * replacement, so tools that parse `3.0.6` keep working.
 *
 * @module
 */

import { HEARTBEAT_VERSION as VERSION } from "../config/defaults.ts";

/** Heartbeat's version number. */
export const HEARTBEAT_VERSION = VERSION;

/** What `heartbeat -V` prints and `hbversion` answers. */
export const HEARTBEAT_VERSION_LINE = `${VERSION} (node: 958e11be8686759f1b99204c17812f2c2633b169)`;

/** hb's own version (keep in step with `version` in deno.json); reported in `hb_build_info`. */
export const HB_VERSION = "0.1.0";
