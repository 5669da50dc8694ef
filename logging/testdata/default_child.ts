// Test helper for mod_test.ts: logs without any configuration (stderr, file format), then
// with stderr switched off.
import { log, setStderr } from "../mod.ts";

log.warn("first to stderr");
log.info("plugin line", { glib: true });
setStderr(false);
log.error("must not appear");
setStderr(true);
log.debug("debug reaches stderr too");
