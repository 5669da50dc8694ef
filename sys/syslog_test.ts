// sys/syslog.ts: facility names of `logfacility` (spec §2.4). The datagrams themselves are
// tested end to end in logging/syslog_test.ts.
import { assertEquals } from "../tests/assert.ts";
import { FACILITY_NAMES, facilityCode, syslogIsOpen, syslogSend } from "./syslog.ts";

Deno.test("facility codes", () => {
  assertEquals(facilityCode("local0"), 16 << 3);
  assertEquals(facilityCode("local7"), 23 << 3);
  assertEquals(facilityCode("daemon"), 3 << 3);
  assertEquals(facilityCode("security"), facilityCode("auth"));
  assertEquals(facilityCode("authpriv"), 10 << 3);
  assertEquals(facilityCode("kern"), 0);
  assertEquals(facilityCode("none"), undefined);
  assertEquals(facilityCode("local9"), undefined);
  assertEquals(FACILITY_NAMES.length, 21);
});

Deno.test("sending before opening is a no-op", () => {
  assertEquals(syslogIsOpen(), false);
  assertEquals(syslogSend(6, "x"), false);
});
