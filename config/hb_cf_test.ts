import { assertEquals, assertStringIncludes } from "../tests/assert.ts";
import {
  durationMs,
  HB_CF_DIRECTIVES,
  isDuration,
  MONITOR_DEFAULTS,
  parseHbCf,
  parseListenAddress,
  placeMonitors,
  readHbCf,
} from "./hb_cf.ts";
import { checkConfigDir } from "./check.ts";
import { parseHaresources } from "./haresources.ts";
import { BASE_HA_CF, fakeDir } from "../tests/support/config.ts";

const F = "/etc/ha.d/hb.cf";
const ALLOWED_LISTEN = HB_CF_DIRECTIVES.find((d) => d.name === "metrics_listen")!.allowed;
const explain = (text: string) => parseHbCf(text, F).errors.map((e) => e.explain);

Deno.test("hb.cf: metrics_listen, comments and blank lines", () => {
  const r = parseHbCf("# hb's own settings\n\n  Metrics_Listen 127.0.0.1:9100  # local\n", F);
  assertEquals(r.errors, []);
  assertEquals(r.settings, {
    metricsListen: { hostname: "127.0.0.1", port: 9100 },
    monitors: [],
    notify: [],
  });
  const v6 = parseHbCf("metrics_listen [::1]:9101\n", F);
  assertEquals(v6.settings.metricsListen, { hostname: "::1", port: 9101 });
});

Deno.test("hb.cf: empty file means no extras", () => {
  assertEquals(parseHbCf("", F), {
    settings: { monitors: [], notify: [] },
    errors: [],
    present: true,
  });
});

Deno.test("hb.cf: unknown directive is an error with file:line, directive and allowed", () => {
  const r = parseHbCf("metrics_listen 0.0.0.0:9100\nkeepalive 2\n", F);
  assertEquals(r.errors.map((e) => e.explain), [
    "/etc/ha.d/hb.cf:2: keepalive: unknown directive; allowed: metrics_listen, monitor, notify " +
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

Deno.test("hb.cf: monitor lines (repeatable), comments, defaults", () => {
  const r = parseHbCf(
    [
      "# hb settings",
      "monitor httpd interval=45s timeout=30s # web",
      "",
      "metrics_listen 127.0.0.1:9100",
      "  MONITOR Filesystem::/dev/sdb1::/data::ext4 interval=2min",
      "monitor 198.18.0.10 TIMEOUT=15",
      "monitor svc interval=1s fall=2 rise=2 start-delay=500ms on-fail=restart max-restarts=1 " +
      "restart-window=10min",
      "monitor web on-fail=standby max-restarts=0",
      "monitor IPaddr::198.18.0.100/24/eth0 on-fail=ignore",
      "notify /usr/local/sbin/hb-notify",
      "Notify /etc/ha.d/notify.sh",
    ].join("\n"),
    F,
  );
  assertEquals(r.errors, []);
  const d = MONITOR_DEFAULTS;
  assertEquals(r.settings.monitors, [
    {
      ...d,
      resource: "httpd",
      interval: "45s",
      intervalMs: 45000,
      timeout: "30s",
      timeoutMs: 30000,
      line: 2,
    },
    {
      ...d,
      resource: "Filesystem::/dev/sdb1::/data::ext4",
      interval: "2min",
      intervalMs: 120000,
      line: 5,
    },
    { ...d, resource: "198.18.0.10", timeout: "15", timeoutMs: 15000, line: 6 },
    {
      ...d,
      resource: "svc",
      interval: "1s",
      intervalMs: 1000,
      fall: 2,
      rise: 2,
      startDelayMs: 500,
      maxRestarts: 1,
      restartWindowMs: 600000,
      line: 7,
    },
    { ...d, resource: "web", onFail: "standby", maxRestarts: 0, line: 8 },
    { ...d, resource: "IPaddr::198.18.0.100/24/eth0", onFail: "ignore", line: 9 },
  ]);
  assertEquals(r.settings.notify, ["/usr/local/sbin/hb-notify", "/etc/ha.d/notify.sh"]);
});

Deno.test("hb.cf: each bad monitor/notify line is an error with file:line and what is allowed", () => {
  const lines = [
    ["monitor", "1: monitor: no resource named; allowed: monitor RESOURCE [interval=5s]"],
    ["monitor interval=10s", "2: monitor: no resource named; allowed: monitor RESOURCE"],
    [
      "monitor a interval=soon",
      "3: monitor: interval 'soon' ignored: not a positive duration; allowed: interval=a number of seconds",
    ],
    ["monitor b interval=0", "4: monitor: interval '0' ignored: not a positive duration"],
    [
      "monitor c timeout=-1s",
      "5: monitor: timeout '-1s' ignored: not a positive duration; allowed: timeout=",
    ],
    [
      "monitor d fall=0",
      "6: monitor: fall '0' ignored: not a whole number >= 1; allowed: fall=N, N >= 1",
    ],
    ["monitor e rise=x", "7: monitor: rise 'x' ignored: not a whole number >= 1; allowed: rise=N"],
    [
      "monitor f on-fail=reboot",
      "8: monitor: on-fail 'reboot' ignored; allowed: on-fail=restart, on-fail=standby or on-fail=ignore",
    ],
    [
      "monitor g max-restarts=-1",
      "9: monitor: max-restarts '-1' ignored: not a whole number >= 0; allowed: max-restarts=N, N >= 0",
    ],
    [
      "monitor h restart-window=forever",
      "10: monitor: restart-window 'forever' ignored: not a positive duration",
    ],
    [
      "monitor i start-delay=1.5s",
      "11: monitor: start-delay '1.5s' ignored: not a duration; allowed: start-delay=",
    ],
    [
      "monitor j colour=red",
      "12: monitor: unknown setting 'colour=red' ignored; allowed: interval=, timeout=, fall=, rise=, start-delay=, on-fail=, max-restarts=, restart-window=",
    ],
    [
      "monitor k interval=1s interval=2s",
      "13: monitor: interval given twice; allowed: each key once per monitor line",
    ],
    [
      "monitor a",
      "14: monitor: a: monitored again (first at line 3); allowed: one monitor line per resource",
    ],
    ["monitor l fall", "15: monitor: unknown setting 'fall' ignored"],
    ["notify", "16: notify: no path; allowed: notify PATH, the absolute path of an executable"],
    ["notify hooks/n.sh", "17: notify: 'hooks/n.sh' is not an absolute path; allowed: notify PATH"],
    [
      "notify /bin/n.sh --verbose",
      "18: notify: '/bin/n.sh --verbose' is more than one path (arguments are not passed)",
    ],
    ["notify /bin/x", ""],
    ["notify /bin/x", "20: notify: '/bin/x' given twice; allowed: each program once"],
  ];
  const notes = explain(lines.map(([l]) => l).join("\n"));
  const want = lines.map(([, w]) => w).filter((w) => w !== "");
  assertEquals(notes.length, want.length, notes.join("\n"));
  want.forEach((w, i) => assertStringIncludes(notes[i], `${F}:${w}`));
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
    settings: { monitors: [], notify: [] },
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
    "error: /cfg/hb.cf:1: deadtime: unknown directive; allowed: metrics_listen, monitor, notify " +
    "(Heartbeat's directives belong in ha.cf)",
  ]);
  assertEquals(bad.lines.slice(-1), [
    "/cfg: REFUSED: hb would not start: 1 error(s) in hb.cf (Heartbeat 3.0.6 never reads it)",
  ]);
});

Deno.test("hb.cf: check places monitors by spec or script; warns about one naming none", () => {
  const haCf = BASE_HA_CF.join("\n") + "\n";
  const haresources = "node1 198.18.0.100/24/eth0 svc\nnode2 IPaddr::198.18.0.101 db::x db::y\n";
  const hbCf = "monitor svc interval=1s fall=2 on-fail=restart max-restarts=1\n" +
    "monitor IPaddr::198.18.0.101 on-fail=standby\nmonitor db\nmonitor db::y fall=5\n" +
    "notify /etc/ha.d/n.sh\n";
  const ok = checkConfigDir("/cfg", {
    system: fakeDir(haCf, undefined, haresources, { "/cfg/hb.cf": { content: hbCf } }),
    nodeName: "node1",
  });
  assertEquals(ok.exitCode, 0, ok.lines.join("\n"));
  assertEquals(ok.lines.filter((l) => l.includes("hb.cf")), []);
  const groups = parseHaresources(haresources).groups;
  const placed = placeMonitors(parseHbCf(hbCf, F).settings.monitors, groups, F).placed;
  assertEquals(
    placed.map((p) => [p.setting.resource, p.key, p.index, p.setting.fall]),
    [
      ["svc", "198.18.0.100/24/eth0", 1, 2],
      ["IPaddr::198.18.0.101", "IPaddr::198.18.0.101", 0, 3],
      ["db::x", "IPaddr::198.18.0.101", 1, 3], // by script; db::y has a line of its own
      ["db::y", "IPaddr::198.18.0.101", 2, 5],
    ],
  );
  const warned = checkConfigDir("/cfg", {
    system: fakeDir(haCf, undefined, haresources, {
      "/cfg/hb.cf": { content: hbCf + "monitor httpd\n" },
    }),
    nodeName: "node1",
  });
  assertEquals(warned.exitCode, 0);
  assertEquals(
    warned.lines.filter((l) => l.includes("hb.cf")),
    [
      "warning: /cfg/hb.cf:6: monitor: 'httpd' is no resource of haresources nor a script of " +
      "one: the daemon does not run it (heartbeat export pacemaker may use it as a primitive id); " +
      "allowed: a resource exactly as written in haresources (198.18.0.100/24/eth0, svc, " +
      "IPaddr::198.18.0.101, db::x, db::y) or a script name (IPaddr, svc, db)",
    ],
  );
});
