import { assertEquals, assertStringIncludes } from "../tests/assert.ts";
import {
  durationMs,
  HB_CF_DIRECTIVES,
  isDuration,
  parseHbCf,
  parseListenAddress,
  readHbCf,
} from "./hb_cf.ts";
import { checkConfigDir } from "./check.ts";
import { BASE_HA_CF, fakeDir } from "./test_util.ts";

const F = "/etc/ha.d/hb.cf";
const ALLOWED_LISTEN = HB_CF_DIRECTIVES.find((d) => d.name === "metrics_listen")!.allowed;
const explain = (text: string) => parseHbCf(text, F).errors.map((e) => e.explain);

Deno.test("hb.cf: metrics_listen, comments and blank lines", () => {
  const r = parseHbCf("# hb's own settings\n\n  Metrics_Listen 127.0.0.1:9100  # local\n", F);
  assertEquals(r.errors, []);
  assertEquals(r.settings, {
    metricsListen: { hostname: "127.0.0.1", port: 9100 },
    monitors: [],
  });
  const v6 = parseHbCf("metrics_listen [::1]:9101\n", F);
  assertEquals(v6.settings.metricsListen, { hostname: "::1", port: 9101 });
});

Deno.test("hb.cf: empty file means no extras", () => {
  assertEquals(parseHbCf("", F), { settings: { monitors: [] }, errors: [], present: true });
});

Deno.test("hb.cf: unknown directive is an error with file:line, directive and allowed", () => {
  const r = parseHbCf("metrics_listen 0.0.0.0:9100\nkeepalive 2\n", F);
  assertEquals(r.errors.map((e) => e.explain), [
    "/etc/ha.d/hb.cf:2: keepalive: unknown directive; allowed: metrics_listen, monitor " +
    "(Heartbeat's directives belong in ha.cf)",
  ]);
  assertEquals(r.errors[0].line, 2);
  assertEquals(r.errors[0].directive, "keepalive");
  assertEquals(r.settings.metricsListen?.port, 9100);
});

Deno.test("hb.cf: metrics_listen bad values, missing value, repeated", () => {
  assertEquals(
    explain(
      [
        "metrics_listen",
        "metrics_listen 127.0.0.1",
        "metrics_listen 300.0.0.1:9100",
        "metrics_listen 127.0.0.1:0",
        "metrics_listen [::g]:9100",
        "metrics_listen 127.0.0.1:9100",
        "metrics_listen 127.0.0.1:9200",
      ].join("\n"),
    ),
    [
      `${F}:1: metrics_listen: no value; allowed: ${ALLOWED_LISTEN}`,
      `${F}:2: metrics_listen: "127.0.0.1" is not ADDR:PORT; allowed: ${ALLOWED_LISTEN}`,
      `${F}:3: metrics_listen: "300.0.0.1" is not an IPv4 address; allowed: ${ALLOWED_LISTEN}`,
      `${F}:4: metrics_listen: port 0 is out of range; allowed: ${ALLOWED_LISTEN}`,
      `${F}:5: metrics_listen: "[::g]:9100" is not ADDR:PORT; allowed: ${ALLOWED_LISTEN}`,
      `${F}:7: metrics_listen: given again (first at line 6); allowed: once per file`,
    ],
  );
});

Deno.test("hb.cf: listen address parser", () => {
  assertEquals(parseListenAddress("[fe80::1]:1"), {
    ok: true,
    value: { hostname: "fe80::1", port: 1 },
  });
  assertEquals(parseListenAddress("[1:2:3]:80").ok, false);
  assertEquals(parseListenAddress("127.0.0.1:65536").ok, false);
});

Deno.test("hb.cf: monitor lines (repeatable), comments", () => {
  const r = parseHbCf(
    [
      "# hb settings",
      "monitor httpd interval=45s timeout=30s # web",
      "",
      "metrics_listen 127.0.0.1:9100",
      "  MONITOR Filesystem::/dev/sdb1::/data::ext4 interval=2min",
      "monitor 198.18.0.10 TIMEOUT=15",
    ].join("\n"),
    F,
  );
  assertEquals(r.errors, []);
  assertEquals(r.settings.monitors, [
    { resource: "httpd", interval: "45s", timeout: "30s", line: 2 },
    { resource: "Filesystem::/dev/sdb1::/data::ext4", interval: "2min", line: 5 },
    { resource: "198.18.0.10", timeout: "15", line: 6 },
  ]);
});

Deno.test("hb.cf: monitor: bad keys and values are errors with file:line; valid keys kept", () => {
  const r = parseHbCf(
    [
      "monitor",
      "monitor interval=10s",
      "monitor httpd interval=soon timeout=20s colour=red",
      "monitor db interval=0",
      "monitor web",
    ].join("\n"),
    F,
  );
  const notes = r.errors.map((e) => e.explain);
  assertEquals(r.settings.monitors, [{ resource: "httpd", timeout: "20s", line: 3 }]);
  assertEquals(notes.length, 6, notes.join("\n"));
  assertStringIncludes(notes[0], "/etc/ha.d/hb.cf:1: monitor: no resource named; allowed:");
  assertStringIncludes(notes[1], "/etc/ha.d/hb.cf:2: monitor: no resource named");
  assertStringIncludes(notes[2], "/etc/ha.d/hb.cf:3: monitor: interval 'soon' ignored");
  assertStringIncludes(
    notes[3],
    "unknown setting 'colour=red' ignored; allowed: interval=, timeout=",
  );
  assertStringIncludes(notes[4], "/etc/ha.d/hb.cf:4: monitor: interval '0' ignored");
  assertStringIncludes(notes[5], "/etc/ha.d/hb.cf:5: monitor: web: nothing to set");
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

Deno.test("hb.cf: missing file gives nothing; check validates it", () => {
  const haCf = BASE_HA_CF.join("\n") + "\n";
  assertEquals(readHbCf("/cfg", fakeDir(haCf)), {
    settings: { monitors: [] },
    errors: [],
    present: false,
  });
  const ok = checkConfigDir("/cfg", {
    system: fakeDir(haCf, undefined, "", {
      "/cfg/hb.cf": { content: "metrics_listen 127.0.0.1:9100\n" },
    }),
    nodeName: "node1",
  });
  assertEquals(ok.exitCode, 0);
  const bad = checkConfigDir("/cfg", {
    system: fakeDir(haCf, undefined, "", { "/cfg/hb.cf": { content: "deadtime 5\n" } }),
    nodeName: "node1",
  });
  assertEquals(bad.exitCode, 1);
  assertEquals(bad.lines.slice(-3, -2), [
    "error: /cfg/hb.cf:1: deadtime: unknown directive; allowed: metrics_listen, monitor " +
    "(Heartbeat's directives belong in ha.cf)",
  ]);
  assertEquals(bad.lines.slice(-1), [
    "/cfg: REFUSED: hb would not start: 1 error(s) in hb.cf (Heartbeat 3.0.6 never reads it)",
  ]);
});
