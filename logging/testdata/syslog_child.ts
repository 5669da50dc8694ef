// Test helper for syslog_test.ts: logs through syslog (facility local0) and prints its pid.
import { closeLogging, configureLogging, log, scriptLog } from "../mod.ts";

configureLogging({ entity: "heartbeat", facility: "local0", stderr: false });
console.log(Deno.pid);
log.error("Cannot lock ourselves into memory:  System limits on locked-in memory are too small.");
log.warn("Core dumps could be lost if multiple dumps occur.");
log.info("UDP Broadcast heartbeat started on port 694 (694) interface eth0", { glib: true });
log.debug("debug now set to 1 [pid 1]");
scriptLog("harc(default)[5599]", "info", "Running /etc/ha.d//rc.d/ip-request-resp ip-request-resp");
log.notice("back to the normal ident");
closeLogging();
