// Line formats against lines captured from the real Heartbeat 3.0.6 (spec §6.2, §6.4, §6.6).
import { assertEquals } from "../tests/assert.ts";
import {
  formatHaDate,
  formatLine,
  formatScriptDebugLine,
  formatScriptLogfileLine,
  formatScriptStderrLine,
  formatSyslogStyleDate,
  formatSyslogText,
  PRIORITIES,
  PRIORITY_WORD,
  scriptSyslogPriority,
  scriptTag,
  scriptText,
  SYSLOG_PRIORITY,
} from "./format.ts";

/** Local-time date, as the captures were local time. */
function at(y: number, mo: number, d: number, h: number, mi: number, s: number): Date {
  return new Date(y, mo - 1, d, h, mi, s);
}

Deno.test("syslogmsgfmt true: captured file lines (§6.2, §6.6)", () => {
  const cases: [
    Date,
    string,
    string,
    number,
    Parameters<typeof formatLine>[0]["prio"],
    string,
    boolean,
    string,
  ][] = [
    [
      at(2026, 11, 21, 21, 44, 31),
      "node1",
      "heartbeat",
      3310,
      "warn",
      "node node2: is dead",
      false,
      "Nov 21 21:44:31 node1 heartbeat: [3310]: WARN: node node2: is dead",
    ],
    [
      at(2026, 11, 21, 21, 44, 15),
      "node1",
      "heartbeat",
      3310,
      "info",
      "UDP Broadcast heartbeat started on port 694 (694) interface eth0",
      true,
      "Nov 21 21:44:15 node1 heartbeat: [3310]: info: glib: UDP Broadcast heartbeat started on port 694 (694) interface eth0",
    ],
    [
      at(2026, 11, 21, 21, 44, 15),
      "node1",
      "heartbeat",
      3310,
      "error",
      "Cannot lock ourselves into memory:  System limits on locked-in memory are too small.",
      false,
      "Nov 21 21:44:15 node1 heartbeat: [3310]: ERROR: Cannot lock ourselves into memory:  System limits on locked-in memory are too small.",
    ],
    [
      at(2026, 11, 21, 21, 49, 1),
      "node2",
      "heartbeat",
      31278,
      "debug",
      "debug now set to 1 [pid 31278]",
      false,
      "Nov 21 21:49:01 node2 heartbeat: [31278]: debug: debug now set to 1 [pid 31278]",
    ],
    [
      at(2026, 11, 21, 22, 8, 35),
      "node1",
      "heartbeat",
      11826,
      "notice",
      "Using watchdog device: /var/log/wd",
      false,
      "Nov 21 22:08:35 node1 heartbeat: [11826]: notice: Using watchdog device: /var/log/wd",
    ],
    [
      at(2026, 11, 21, 22, 9, 53),
      "node1",
      "cl_status",
      13657,
      "error",
      "Cannot signon with heartbeat",
      false,
      "Nov 21 22:09:53 node1 cl_status: [13657]: ERROR: Cannot signon with heartbeat",
    ],
    [
      at(2026, 11, 21, 22, 9, 40),
      "node1",
      "logd",
      13381,
      "info",
      "logd started with /var/log/logd.cf.",
      false,
      "Nov 21 22:09:40 node1 logd: [13381]: info: logd started with /var/log/logd.cf.",
    ],
    [
      at(2026, 11, 21, 21, 45, 53),
      "node2",
      "heartbeat",
      5844,
      "error",
      "ucast_write: Unable to send HBcomm packet eth1 198.18.30.65:694 len=312 [-1]: Operation not permitted",
      true,
      "Nov 21 21:45:53 node2 heartbeat: [5844]: ERROR: glib: ucast_write: Unable to send HBcomm packet eth1 198.18.30.65:694 len=312 [-1]: Operation not permitted",
    ],
    [
      at(2026, 11, 21, 21, 46, 17),
      "node1",
      "heartbeat",
      3310,
      "crit",
      "Late heartbeat: Node node2: interval 12010 ms (> deadtime)",
      false,
      "Nov 21 21:46:17 node1 heartbeat: [3310]: CRIT: Late heartbeat: Node node2: interval 12010 ms (> deadtime)",
    ],
  ];
  for (const [time, host, entity, pid, prio, msg, glib, want] of cases) {
    assertEquals(formatLine({ time, host, entity, pid, prio, msg, glib }), want);
  }
});

Deno.test("formatLine: zero-padded day, host as is; syslogmsgfmt false (§6.2); multi-line as-is", () => {
  const cases: [Parameters<typeof formatLine>[0], boolean, string][] = [
    [
      {
        time: at(2026, 11, 5, 1, 2, 3),
        host: "Node-A.example",
        entity: "heartbeat",
        pid: 7,
        prio: "emerg",
        msg: "Rebooting system.  Reason: /usr/lib/heartbeat/ipfail",
      },
      true,
      "Nov 05 01:02:03 Node-A.example heartbeat: [7]: EMERG: Rebooting system.  Reason: /usr/lib/heartbeat/ipfail",
    ],
    [
      {
        time: at(2026, 11, 21, 21, 41, 32),
        host: "ignored",
        entity: "heartbeat",
        pid: 5765,
        prio: "info",
        msg: "Configuration validated. Starting heartbeat 3.0.6",
      },
      false,
      "heartbeat[5765]: 2026/11/21_21:41:32 info: Configuration validated. Starting heartbeat 3.0.6",
    ],
    [
      {
        time: at(2026, 11, 21, 21, 0, 0),
        host: "node1",
        entity: "heartbeat",
        pid: 1,
        prio: "error",
        msg: "Invalid auth line [x\n]",
      },
      true,
      "Nov 21 21:00:00 node1 heartbeat: [1]: ERROR: Invalid auth line [x\n]",
    ],
  ];
  for (const [record, syslogFormat, want] of cases) {
    assertEquals(formatLine(record, syslogFormat), want);
  }
  assertEquals(formatSyslogStyleDate(at(2027, 1, 9, 0, 0, 0)), "Jan 09 00:00:00");
  assertEquals(formatHaDate(at(2027, 2, 3, 4, 5, 6)), "2027/02/03_04:05:06");
});

Deno.test("priority words and syslog values (§6.3)", () => {
  assertEquals(
    PRIORITIES.map((p) => PRIORITY_WORD[p]),
    ["EMERG", "ALERT", "CRIT", "ERROR", "WARN", "notice", "info", "debug"],
  );
  assertEquals(PRIORITIES.map((p) => SYSLOG_PRIORITY[p]), [0, 1, 2, 3, 4, 5, 6, 7]);
});

Deno.test("syslog text: [pid]: PRIO: message (§6.2)", () => {
  assertEquals(
    formatSyslogText(5542, "warn", "Core dumps could be lost if multiple dumps occur."),
    "[5542]: WARN: Core dumps could be lost if multiple dumps occur.",
  );
  assertEquals(formatSyslogText(9, "info", "x", true), "[9]: info: glib: x");
});

Deno.test("script lines (§6.4, §6.6.2, §6.6.19)", () => {
  const t = at(2026, 11, 21, 21, 44, 31);
  assertEquals(
    formatScriptLogfileLine(
      t,
      scriptTag("ResourceManager", 4489),
      scriptText("info", "Running /etc/ha.d//resource.d/IPaddr 198.18.30.10/26/eth0 start"),
    ),
    "2026/11/21_21:44:31  ResourceManager(default)[4489]:    info: Running /etc/ha.d//resource.d/IPaddr 198.18.30.10/26/eth0 start",
  );
  assertEquals(
    formatScriptLogfileLine(
      t,
      scriptTag("/usr/lib/ocf/resource.d//heartbeat/IPaddr", 4339, "IPaddr_198.18.30.10"),
      scriptText(null, "INFO:  Resource is stopped"),
    ),
    "2026/11/21_21:44:31  /usr/lib/ocf/resource.d//heartbeat/IPaddr(IPaddr_198.18.30.10)[4339]:    INFO:  Resource is stopped",
  );
  assertEquals(
    formatScriptLogfileLine(
      t,
      scriptTag("ip-request-resp", 4468),
      "received ip-request-resp 198.18.30.10/26/eth0 OK yes",
    ),
    "2026/11/21_21:44:31  ip-request-resp(default)[4468]:    received ip-request-resp 198.18.30.10/26/eth0 OK yes",
  );
  assertEquals(
    formatScriptLogfileLine(
      t,
      "ResourceManager(default)[14297]",
      scriptText("crit", "Giving up resources due to failure of failstart::f1"),
    ),
    "2026/11/21_21:44:31  ResourceManager(default)[14297]:    CRIT: Giving up resources due to failure of failstart::f1",
  );
  assertEquals(
    formatScriptDebugLine(
      at(2026, 11, 21, 21, 33, 4),
      scriptTag("ResourceManager", 18219),
      scriptText("info", "Releasing resource group: node1 dummy::a"),
    ),
    "ResourceManager(default)[18219]:\t2026/11/21_21:33:04 info: Releasing resource group: node1 dummy::a",
  );
  assertEquals(
    formatScriptStderrLine(at(2026, 11, 21, 21, 45, 10), "Going standby [all]."),
    "Nov 21 21:45:10 Going standby [all].",
  );
});

Deno.test("script syslog level heuristic (§6.4)", () => {
  assertEquals(scriptSyslogPriority("info: Running /etc/ha.d//rc.d/ip-request-resp"), 5);
  assertEquals(scriptSyslogPriority("ERROR: Return code 1 from x"), 3);
  assertEquals(scriptSyslogPriority("WARN: Machine reboot narrowly avoided!"), 4);
  assertEquals(scriptSyslogPriority("INFO:  Success"), 6);
  assertEquals(scriptSyslogPriority("info"), 6);
  assertEquals(scriptSyslogPriority("CRIT: Killing heartbeat ungracefully!"), 5);
  assertEquals(scriptSyslogPriority("error: lower case"), 5);
  // local0 (128) + notice = 133, as in the captured `<133>… harc(default)[5599]: info: …`.
  assertEquals(
    128 + scriptSyslogPriority("info: Running /etc/ha.d//rc.d/ip-request-resp ip-request-resp"),
    133,
  );
});
