import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";
import {
  OPTION_DIRECTIVES,
  PER_TOKEN_MEDIA,
  WHOLE_LINE_DIRECTIVES,
  WHOLE_LINE_MEDIA,
} from "./defaults.ts";
import { hbText, loadWith } from "../tests/support/config.ts";

const GENERIC = "ERROR: Heartbeat not started: configuration error.";

/** [directive line(s), expected exit, expected Heartbeat text (substring) or null]. */
type Case = [string[], 0 | 6, string | null];

const CASES: Record<string, Case[]> = {
  node: [[["node node3"], 0, null], [["node a b,c"], 0, null]],
  keepalive: [
    [["keepalive 500ms"], 0, null],
    [["keepalive 0"], 6, GENERIC],
    [["keepalive 100us"], 6, GENERIC],
    [["keepalive 10s"], 6, GENERIC],
    [["keepalive 2 6"], 6, "Dead time [10000] is too small compared to keeplive [6000]"],
    [["keepalive 2 3"], 0, null],
  ],
  deadtime: [[["deadtime 30"], 0, null], [["deadtime -1"], 6, GENERIC], [
    ["deadtime 2"],
    6,
    "Dead time [2000] is too small compared to keeplive [1000]",
  ]],
  warntime: [[["warntime 20"], 0, null], [["warntime 0"], 6, "Warn time [0] is invalid."]],
  initdead: [
    [["initdead 10"], 0, null],
    [["initdead 5"], 6, "Initial dead time [5000] is smaller than deadtime [10000]"],
    [["initdead x"], 6, GENERIC],
  ],
  deadping: [[["deadping 5"], 0, null], [
    ["deadping 2"],
    6,
    "Ping dead time [2000] is too small compared to keeplive [1000]",
  ], [["deadping x"], 6, GENERIC]],
  hopfudge: [[["hopfudge 255"], 0, null], [["hopfudge 256"], 6, GENERIC], [
    ["hopfudge -1"],
    6,
    GENERIC,
  ]],
  udpport: [
    [["udpport 7000"], 0, "heartbeat: udpport setting must precede media statements"],
    [["udpport 0"], 6, "heartbeat: invalid port [0] specified."],
    [["udpport abc"], 6, "heartbeat: invalid port [abc] specified."],
    [["udpport 53"], 0, 'WARN: heartbeat: udp port 53 reserved for service "domain".'],
  ],
  baud: [
    [["baud 9600"], 0, null],
    [
      ["ucast eth0 198.18.5.2", "baud 9600"],
      0,
      "heartbeat: baudrate setting must precede media statements",
    ],
    [["baud 1234"], 6, "heartbeat: invalid baudrate [1234] specified."],
    [["baud 9600", "baud 19200"], 6, "heartbeat: Baudrate multiply specified."],
  ],
  watchdog: [[["watchdog /dev/watchdog"], 0, null], [
    ["watchdog /dev/a", "watchdog /dev/b"],
    6,
    "heartbeat: Watchdog device multiply specified.",
  ]],
  logfacility: [[["logfacility local0"], 0, null], [["logfacility none"], 0, null], [
    ["logfacility local9"],
    6,
    "ERROR: Log facility(local9) not valid",
  ]],
  logfile: [[["logfile /var/log/ha-log"], 0, null]],
  debugfile: [[["debugfile /var/log/ha-debug"], 0, null]],
  nice_failback: [
    [
      ["nice_failback on"],
      0,
      "ERROR: nice_failback on has been strictly interpreted as 'auto_failback legacy'",
    ],
    [["nice_failback maybe"], 6, "ERROR: See documentation for details."],
  ],
  auto_failback: [[["auto_failback on"], 0, null], [
    ["auto_failback LEGACY"],
    0,
    "Deprecated 'legacy'",
  ], [["auto_failback maybe"], 6, GENERIC]],
  rtprio: [[["rtprio 99"], 0, null], [["rtprio 0"], 6, "ERROR: Illegal realtime priority [0]"], [
    ["rtprio 100"],
    6,
    "Illegal realtime priority [100]",
  ]],
  hbgenmethod: [[["hbgenmethod time"], 0, null], [
    ["hbgenmethod Time"],
    6,
    "ERROR: Illegal hb generation method [Time]",
  ]],
  realtime: [[["realtime off"], 0, null], [["realtime maybe"], 6, GENERIC]],
  debug: [[["debug 1"], 0, null], [["debug abc"], 0, null], [["debug 300"], 6, GENERIC]],
  msgfmt: [[["msgfmt netstring"], 0, null], [["msgfmt xml"], 6, GENERIC]],
  use_logd: [
    [
      ["use_logd on"],
      0,
      "WARN: logd is enabled but logfile/debugfile is still configured in ha.cf",
    ],
    [
      ["use_logd off"],
      0,
      "WARN: Logging daemon is disabled --enabling logging daemon is recommended",
    ],
    [["use_logd maybe"], 6, GENERIC],
  ],
  conn_logd_time: [[["conn_logd_time 30"], 0, null], [["conn_logd_time 0"], 6, GENERIC]],
  use_apphbd: [[["use_apphbd no"], 0, null], [["use_apphbd maybe"], 6, GENERIC]],
  log_badpack: [[["log_badpack false"], 0, null], [["log_badpack x"], 6, GENERIC]],
  syslogmsgfmt: [[["syslogmsgfmt false"], 0, null], [["syslogmsgfmt x"], 6, GENERIC]],
  coredumps: [[["coredumps false"], 0, null], [["coredumps x"], 6, GENERIC]],
  coreroot: [[["coreroot /nonexistent"], 0, null]],
  crm_daemon_dir: [
    [["crm_daemon_dir /tmp"], 6, GENERIC],
    [
      ["pacemaker off", "crm_daemon_dir /tmp"],
      0,
      "ERROR: If you specify /tmp, it must come before the pacemaker directive\n",
    ],
  ],
  crmd_spawns_pengine: [[["crmd_spawns_pengine yes"], 0, null], [
    ["crmd_spawns_pengine maybe"],
    6,
    "ha_config_check_boolean:Invalid directive value maybe",
  ]],
  crm: [[["crm off"], 0, "info: Pacemaker support: off"], [
    ["crm off", "pacemaker off"],
    6,
    "ERROR: pacemaker/crm directive used multiple times!",
  ]],
  pacemaker: [
    [["pacemaker false"], 0, "info: Pacemaker support: false"],
    [["pacemaker maybe"], 6, "info: Pacemaker support: maybe"],
    [["pacemaker on"], 6, 'ERROR: Failed to add pacemaker client child "ccm"'],
  ],
  autojoin: [
    [["autojoin none"], 0, null],
    [["autojoin any"], 6, "ERROR: R1 style resource management conflicts with  autojoin set"],
    [["autojoin sometimes"], 6, "ERROR: Invalid autojoin directive [sometimes]"],
  ],
  uuidfrom: [[["uuidfrom nodename"], 0, null], [
    ["uuidfrom mac"],
    6,
    "ERROR: Invalid uuidfrom directive [mac]",
  ]],
  compression: [[["compression bz2"], 0, null], [
    ["compression lzma"],
    6,
    "ERROR: Compression module(lzma) not found",
  ]],
  compression_threshold: [[["compression_threshold 4"], 0, null], [
    ["compression_threshold 0"],
    6,
    "set_compression_threshold: compress_threshhold(0) invalid",
  ]],
  traditional_compression: [[["traditional_compression yes"], 0, null], [
    ["traditional_compression maybe"],
    6,
    "set_traditional_compression:Invalid directive value maybe",
  ]],
  env: [[["env FOO=bar"], 0, null], [["env =bar"], 6, "ERROR: set_env: invalid nvpair(=bar)"]],
  max_rexmit_delay: [[["max_rexmit_delay 100"], 0, null], [
    ["max_rexmit_delay 0"],
    6,
    "ERROR: Invalid max_rexmit_delay time(0)",
  ]],
  record_config_changes: [[["record_config_changes off"], 0, null], [
    ["record_config_changes maybe"],
    6,
    "ha_config_check_boolean:Invalid directive value maybe",
  ]],
  record_pengine_inputs: [[["record_pengine_inputs off"], 0, null], [
    ["record_pengine_inputs x"],
    6,
    "Invalid directive value x",
  ]],
  enable_config_writes: [[["enable_config_writes off"], 0, null], [
    ["enable_config_writes x"],
    6,
    "Invalid directive value x",
  ]],
  memreserve: [[["memreserve 1000"], 0, null], [["memreserve 0"], 6, GENERIC]],
  cluster: [[["cluster mycluster"], 0, null]],
  quorum_server: [[["quorum_server qs"], 0, null]],
  apiauth: [
    [["apiauth myc uid=root,hacluster gid=haclient"], 0, null],
    [["apiauth myc"], 6, "ERROR: Invalid apiauth directive [myc]"],
    [["apiauth myc foo"], 6, "ERROR: Missing uid or gid in apiauth"],
    [["apiauth myc uid=root uid=root"], 6, "ERROR: Duplicate uid list in apiauth"],
    [
      ["apiauth myc uid=nosuchuser gid=haclient"],
      6,
      "ERROR: Bad uid list [nosuchuser gid=haclient]",
    ],
    [["apiauth myc gid=nogroupx"], 6, "ERROR: Invalid group name [nogroupx]"],
    [
      ["apiauth myc gid=haclient", "apiauth myc gid=haclient"],
      6,
      "Duplicate apiauth directive for API client myc: [myc gid=haclient]",
    ],
  ],
  respawn: [
    [["respawn hacluster /bin/true -x"], 0, null],
    [
      ["respawn nosuchuser /bin/true"],
      6,
      "ERROR: Invalid uid [nosuchuser] specified for client child",
    ],
    [["respawn root sleep 10"], 6, "ERROR: Client child command [sleep 10] is not full pathname"],
    [
      ["respawn root /etc/ha.d/noexec"],
      6,
      "ERROR: Client child command [/etc/ha.d/noexec] is not executable",
    ],
  ],
  failfast: [[["failfast root /bin/true"], 0, null], [
    ["failfast root /nonexistent"],
    6,
    "is not executable",
  ]],
  stonith: [
    [["stonith null /etc/ha.d/null.cfg"], 0, null],
    [["stonith"], 6, "ERROR: No Stonith type given"],
    [["stonith foo /etc/ha.d/null.cfg"], 6, "ERROR: Invalid Stonith type [foo]"],
    [["stonith null /etc/ha.d/nonexist.cfg"], 6, "ERROR: glib: Cannot open /etc/ha.d/nonexist.cfg"],
  ],
  stonith_host: [
    [["stonith_host * null node1 node2"], 0, null],
    [["stonith_host node2 foo x"], 0, null],
    [["stonith_host NODE1 null node2"], 0, null],
    [["stonith_host * null"], 6, "ERROR: Invalid Stonith configuration parameter []"],
    [["stonith_host * foo x"], 6, "ERROR: Invalid Stonith type [foo]"],
  ],
  bcast: [
    [["bcast lo"], 0, null],
    [["bcast eth0,lo"], 0, null],
    [["bcast eth9"], 6, "ERROR: glib: Get broadcast for interface eth9 failed: No such device"],
    [["bcast eth1"], 6, "Get broadcast for interface eth1 failed: Cannot assign requested address"],
  ],
  mcast: [
    [["mcast eth0 239.0.0.1 70000 260 0"], 0, null],
    [["mcast eth9 239.0.0.1 694 1 0"], 6, "mcast device [eth9] is invalid or not set up properly"],
    [["mcast eth0 10.1.2.3 694 1 0"], 6, "ERROR: glib: mcast [eth0] bad addr [10.1.2.3]"],
    [["mcast eth0 239.0.0.1"], 6, "ERROR: glib: mcast [eth0] missing port"],
    [["mcast eth0 239.0.0.1 694"], 6, "ERROR: glib: mcast [eth0] missing ttl"],
    [["mcast eth0 239.0.0.1 694 1"], 6, "ERROR: glib: mcast [eth0] missing loop"],
    [["mcast eth0 239.0.0.1 694 5 0"], 6, "ERROR: glib:  mcast [eth0] bad ttl [5]"],
    [["mcast eth0 239.0.0.1 694 1 2"], 6, "ERROR: glib:  mcast [eth0] bad loop [2]"],
    [["mcast eth0 239.0.0.1 0 1 0"], 6, "ERROR: glib:  mcast [eth0] bad port [0]"],
  ],
  ucast: [
    [["ucast eth1 198.18.30.66 198.18.30.65"], 0, null],
    [["ucast eth9 peer.example"], 0, null],
    [["ucast eth0"], 6, "ERROR: glib: ucast: [eth0] missing target IP address/hostname"],
    [["ucast eth0 nosuch.invalid"], 6, "ERROR: glib: ucast: cannot resolve hostname"],
  ],
  mcast6: [
    [["mcast6 eth0 ff02::1:2 694 1 0"], 0, null],
    [["mcast6 eth9 ff02::1 694 1 0"], 6, "mcast6 device [eth9] is invalid or not set up properly"],
    [["mcast6 eth0 fe80::1 694 1 0"], 6, " mcast6 [eth0] bad addr [fe80::1]"],
    [["mcast6 eth0 ff02::1 694 9 0"], 6, " mcast6 [eth0] bad hops [9]"],
  ],
  ucast6: [
    [["ucast6 eth0 fe80::2%eth0"], 0, null],
    [["ucast6 eth0 ff02::1"], 6, "ucast6 [eth0] bad addr [ff02::1]"],
    [["ucast6 eth0"], 6, "ucast6 [eth0] missing ucast6 address"],
  ],
  ping: [
    [["ping 198.18.5.9 198.18.5.10"], 0, null],
    [
      ["ping nosuch.invalid"],
      6,
      "ERROR: Illegal ping [ping membership] in config file [nosuch.invalid]",
    ],
  ],
  ping6: [[["ping6 fe80::9"], 0, null], [
    ["ping6 nothost"],
    6,
    "Illegal ping6 [ping6 membership] in config file [nothost]",
  ]],
  ping_group: [
    [["ping_group g1 198.18.5.9 198.18.5.10"], 0, null],
    [["ping_group g1 nosuch.invalid"], 0, "ERROR: glib: unknown host: nosuch.invalid"],
    [["ping_group g1"], 6, GENERIC],
  ],
  serial: [
    [["serial /dev/ttyS0"], 0, null],
    [["serial /dev/ttyS9"], 6, "ERROR: glib: Nonexistent serial port [/dev/ttyS9] in config file"],
    [["serial ttyS0"], 6, "Serial port not full pathname [ttyS0]"],
    [["serial /bin/true"], 6, "Serial port [/bin/true] not a char device"],
  ],
};

Deno.test("every directive of the table has parse tests", () => {
  const all = [
    ...OPTION_DIRECTIVES.map((d) => d.name),
    ...WHOLE_LINE_DIRECTIVES,
    ...PER_TOKEN_MEDIA,
    ...WHOLE_LINE_MEDIA,
  ];
  for (const d of all) assert(CASES[d] !== undefined, `no test for ${d}`);
});

for (const [name, cases] of Object.entries(CASES)) {
  Deno.test(`directive ${name}`, () => {
    for (const [lines, exit, text] of cases) {
      const r = loadWith(lines);
      const out = hbText(r);
      assertEquals(r.exitCode, exit, `${lines.join(" / ")}\n${out}`);
      if (text) assertStringIncludes(out, text, lines.join(" / "));
      if (exit === 6) {
        const f = r.diagnostics.find((d) => d.fatal);
        assert(f, `no fatal diagnostic for ${lines.join(" / ")}`);
        assert(/; allowed: /.test(f.explain) || f.directive === undefined, f.explain);
      }
    }
  });
}

Deno.test("lexical rules: '#' anywhere, CR cut, commas, case, udp alias, illegal continues", () => {
  let r = loadWith(["logfile /var/log/ha#log", "node node3,NODE4"]);
  assertEquals(r.exitCode, 0);
  assertEquals(r.config!.ha.params.get("logfile"), "/var/log/ha");
  assert(r.config!.ha.nodeNames.includes("node4"));
  r = loadWith([], {
    base: ["keepalive 1\r", "deadtime 10\r", "node node1\r", "logfile /dev/null\r", "bcast eth0\r"],
  });
  assertEquals(r.exitCode, 0);
  r = loadWith(["keepalive 1 \\"]);
  assertEquals(r.exitCode, 6);
  r = loadWith(["Keepalive 1", "hbaping x", "normalpoll true"]);
  const out = hbText(r);
  assertStringIncludes(out, "ERROR: Illegal directive [Keepalive] in /etc/ha.d//ha.cf");
  assertStringIncludes(out, "ERROR: Illegal directive [hbaping] in /etc/ha.d//ha.cf");
  assertStringIncludes(out, "ERROR: Illegal directive [normalpoll] in /etc/ha.d//ha.cf");
  r = loadWith(["udp lo"]);
  assertStringIncludes(hbText(r), "WARN: WARNING: directive 'udp' replaced by 'bcast'");
  assertEquals(r.config!.ha.media.length, 2);
  r = loadWith(["keepalive 2 1.5"]);
  assertEquals(r.config!.ha.keepaliveMs, 1500);
  assertEquals(r.config!.ha.params.get("keepalive"), "1.5");
});

Deno.test("computed parameters and udpport latching", () => {
  let r = loadWith([], {
    base: [
      "keepalive 500ms",
      "deadtime 5",
      "node node1",
      "logfile /dev/null",
      "bcast eth0",
      "udpport 7000",
      "ucast eth0 198.18.5.2",
    ],
  });
  assertEquals(r.exitCode, 0);
  const ha = r.config!.ha;
  assertEquals(ha.params.get("deadtime"), "5");
  assertEquals(ha.params.get("warntime"), "2500ms");
  assertEquals(ha.params.get("initdead"), "12000ms");
  assertEquals(ha.params.get("deadping"), "5000ms");
  assertEquals(ha.params.get("udpport"), "7000");
  assertEquals(ha.media[0].type === "bcast" && ha.media[0].port, 694);
  assertEquals(ha.media[1].type === "ucast" && ha.media[1].port, 7000);
  assert(!hbText(r).includes("may be too small"));
  r = loadWith([], {
    base: ["deadtime 8", "initdead 8", "node node1", "logfile /dev/null", "bcast eth0"],
  });
  assertStringIncludes(hbText(r), "WARN: Initial dead time [8000 ms] may be too small!");
  assertEquals(r.exitCode, 0);
  r = loadWith([]);
  assertEquals(r.config!.ha.params.get("udpport"), "694");
  assertEquals(r.config!.ha.params.get("initdead"), "20000ms");
  assertEquals(r.config!.ha.autoFailback, "legacy");
  assertEquals(r.config!.ha.params.get("debug"), "0");
  // built-in apiauth entries
  const api = r.config!.ha.apiauth;
  assertEquals([...api.keys()], ["ipfail", "ccm", "ping", "lha-snmpagent", "anon"]);
  assertEquals(api.get("anon")!.uids, [0]);
  assertEquals(api.get("anon")!.gids, [105]);
});

Deno.test("validation order and messages after the file", () => {
  let r = loadWith([], { base: ["keepalive 1", "deadtime 10", "logfile /dev/null"] });
  const out = hbText(r);
  const order = [
    "ERROR: No heartbeat media defined",
    "ERROR: no nodes defined",
    "ERROR: Current node [node1] not in configuration!",
    "info: By default, cluster nodes are named by `uname -n`",
    "info: See also: http://linux-ha.org/wiki/Ha.cf#node_directive",
    "WARN: Deprecated 'legacy' auto_failback option selected.",
    "ERROR: Configuration error, heartbeat not started.",
  ];
  let pos = -1;
  for (const o of order) {
    const p = out.indexOf(o);
    assert(p > pos, `${o} out of order in\n${out}`);
    pos = p;
  }
  r = loadWith([], { base: ["keepalive 1", "deadtime 10", "node node1", "bcast eth0"] });
  assertStringIncludes(hbText(r), "info: No log entry found in ha.cf -- use logd");
  assertStringIncludes(hbText(r), "info: Enabling logging daemon ");
  r = loadWith(["use_logd off"], {
    base: ["keepalive 1", "deadtime 10", "node node1", "bcast eth0"],
  });
  assertStringIncludes(hbText(r), "ERROR: No log entry found in ha.cf and use_logd is set to off");
  r = loadWith(["logfacility local0"], {
    base: ["keepalive 1", "deadtime 10", "node node1", "bcast eth0"],
  });
  assertEquals(r.config!.ha.params.get("logfile"), "/dev/null");
  r = loadWith([], { haresources: "nodeX 198.18.5.10\n" });
  const t = hbText(r);
  assert(
    t.indexOf("Configuration validated") <
      t.indexOf("Bad nodename in /etc/ha.d//haresources [nodeX]"),
  );
});
