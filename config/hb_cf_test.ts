import { assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { durationMs, isDuration, parseHbCf } from "./hb_cf.ts";

Deno.test("hb.cf: monitor lines, comments, other directives ignored", () => {
  const r = parseHbCf(
    [
      "# hb settings",
      "monitor httpd interval=45s timeout=30s # web",
      "",
      "some_future_directive on",
      "  MONITOR Filesystem::/dev/sdb1::/data::ext4 interval=2min",
      "monitor 198.18.0.10 TIMEOUT=15",
    ].join("\n"),
    "/etc/ha.d/hb.cf",
  );
  assertEquals(r.notes, []);
  assertEquals(r.monitors, [
    { resource: "httpd", interval: "45s", timeout: "30s", line: 2 },
    { resource: "Filesystem::/dev/sdb1::/data::ext4", interval: "2min", line: 5 },
    { resource: "198.18.0.10", timeout: "15", line: 6 },
  ]);
});

Deno.test("hb.cf: bad keys and values are noted with file:line and skipped", () => {
  const r = parseHbCf(
    [
      "monitor",
      "monitor interval=10s",
      "monitor httpd interval=soon timeout=20s colour=red",
      "monitor db interval=0",
      "monitor web",
    ].join("\n"),
    "/etc/ha.d/hb.cf",
  );
  assertEquals(r.monitors, [{ resource: "httpd", timeout: "20s", line: 3 }]);
  assertEquals(r.notes.length, 6, r.notes.join("\n"));
  assertStringIncludes(r.notes[0], "/etc/ha.d/hb.cf:1: monitor: no resource named; allowed:");
  assertStringIncludes(r.notes[1], "/etc/ha.d/hb.cf:2: monitor: no resource named");
  assertStringIncludes(r.notes[2], "/etc/ha.d/hb.cf:3: monitor: interval 'soon' ignored");
  assertStringIncludes(
    r.notes[3],
    "unknown setting 'colour=red' ignored; allowed: interval=, timeout=",
  );
  assertStringIncludes(r.notes[4], "/etc/ha.d/hb.cf:4: monitor: interval '0' ignored");
  assertStringIncludes(r.notes[5], "/etc/ha.d/hb.cf:5: monitor: web: nothing to set");
});

Deno.test("hb.cf: durations", () => {
  for (
    const [v, ms] of [["10", 10000], ["10s", 10000], ["500ms", 500], ["2min", 120000], [
      "1h",
      3600000,
    ]] as const
  ) {
    assertEquals(isDuration(v), true, v);
    assertEquals(durationMs(v), ms, v);
  }
  for (const v of ["", "s", "1.5s", "10 s", "-1", "10y"]) assertEquals(isDuration(v), false, v);
});
