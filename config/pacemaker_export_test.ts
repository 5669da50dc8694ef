import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { parseHaresources, parseResource } from "./haresources.ts";
import { MONITOR_DEFAULTS } from "./hb_cf.ts";
import {
  LOCATION_SCORE,
  mapResource,
  pacemakerCib,
  type PacemakerExportInput,
  STICKINESS_OFF,
  xmlAttr,
  xmlCommentText,
} from "./pacemaker_export.ts";

const map = (spec: string, where?: "resource.d" | "init.d" | "missing") =>
  mapResource(parseResource(spec), where);

function cib(haresources: string, extra: Partial<PacemakerExportInput> = {}) {
  return pacemakerCib({
    nodes: ["node1", "node2"],
    autoFailback: "on",
    groups: parseHaresources(haresources).groups,
    haresourcesPath: "/etc/ha.d/haresources",
    ...extra,
  });
}

Deno.test("mapResource: bare address → IPaddr2 with ip only", () => {
  const p = map("198.18.0.10");
  assertEquals([p.class, p.provider, p.type, p.id], [
    "ocf",
    "heartbeat",
    "IPaddr2",
    "ip-198.18.0.10",
  ]);
  assertEquals(p.params, [["ip", "198.18.0.10"]]);
  assertEquals(p.monitor, { interval: "10s", timeout: "20s" });
  assertEquals(p.notes, []);
});

Deno.test("mapResource: IPaddr2 with every field", () => {
  const p = map("IPaddr2::198.18.0.10/24/eth0:web/198.18.0.255");
  assertEquals(p.params, [
    ["ip", "198.18.0.10"],
    ["cidr_netmask", "24"],
    ["nic", "eth0"],
    ["iflabel", "web"],
    ["broadcast", "198.18.0.255"],
  ]);
});

Deno.test("mapResource: IPaddr → IPaddr2, dotted netmask as prefix length, broadcast 3rd", () => {
  const p = map("IPaddr::198.18.0.10/255.255.254.0/198.18.1.255");
  assertEquals(p.type, "IPaddr2");
  assertEquals(p.params, [["ip", "198.18.0.10"], ["cidr_netmask", "23"], [
    "broadcast",
    "198.18.1.255",
  ]]);
  assert(p.comments.some((c) => c.includes("written as prefix length 23")));
});

Deno.test("mapResource: a bad address or netmask is kept and noted", () => {
  const p = map("IPaddr::fe80::1");
  assertEquals(p.type, "IPaddr2");
  assert(p.notes.some((n) => n.includes("allowed:")), p.notes.join("\n"));
  const q = map("IPaddr2::198.18.0.10/255.0.255.0");
  assertStringIncludes(q.notes.join("\n"), "neither a prefix length nor a contiguous mask");
});

Deno.test("mapResource: Filesystem positional arguments", () => {
  const p = map("Filesystem::/dev/sdb1::/data::ext4::noatime,ro");
  assertEquals([p.type, p.id], ["Filesystem", "fs-data"]);
  assertEquals(p.params, [
    ["device", "/dev/sdb1"],
    ["directory", "/data"],
    ["fstype", "ext4"],
    ["options", "noatime,ro"],
  ]);
  assertEquals(p.notes, []);
  assertEquals(p.monitor, { interval: "20s", timeout: "40s" });
  assertStringIncludes(map("Filesystem::/dev/sdb1::/data").notes.join(), "no fstype");
  assertStringIncludes(map("Filesystem::/dev/sdb1").notes.join(), "2 argument(s) needed");
});

Deno.test("mapResource: the other resource.d wrappers", () => {
  const cases: [string, string, [string, string][]][] = [
    ["apache", "apache", []],
    ["apache::/etc/apache2/apache2.conf", "apache", [["configfile", "/etc/apache2/apache2.conf"]]],
    ["MailTo::root@example.com::Failover", "MailTo", [["email", "root@example.com"], [
      "subject",
      "Failover",
    ]]],
    ["Delay", "Delay", [["startdelay", "10"]]],
    ["Delay::5::3", "Delay", [["startdelay", "5"], ["stopdelay", "3"]]],
    ["Xinetd::tftp", "Xinetd", [["service", "tftp"]]],
    ["portblock::tcp::80::block", "portblock", [["protocol", "tcp"], ["portno", "80"], [
      "action",
      "block",
    ]]],
    ["SendArp::198.18.0.10/eth0", "SendArp", [["ip", "198.18.0.10"], ["nic", "eth0"]]],
    ["WAS::9080", "WAS", [["port", "9080"]]],
    ["WAS::/etc/was.conf", "WAS", [["config", "/etc/was.conf"]]],
    ["AudibleAlarm::node1::node2", "AudibleAlarm", [["nodelist", "node1 node2"]]],
    ["LVM::vg0", "LVM", [["volgrpname", "vg0"]]],
    ["Raid1::/etc/raidtab::/dev/md0", "Raid1", [["raidconf", "/etc/raidtab"], [
      "raiddev",
      "/dev/md0",
    ]]],
    ["db2::db2inst1", "db2", [["instance", "db2inst1"]]],
    ["IPsrcaddr::198.18.0.10", "IPsrcaddr", [["ipaddress", "198.18.0.10"]]],
  ];
  for (const [spec, type, params] of cases) {
    const p = map(spec);
    assertEquals([p.class, p.provider, p.type], ["ocf", "heartbeat", type], spec);
    assertEquals(p.params, params, spec);
  }
});

Deno.test("mapResource: IPv6addr splits on the '/' fields of the address argument", () => {
  // `::` separates arguments in haresources, so an IPv6 address with `::` cannot be written
  const p = map("IPv6addr::2001:db8:0:0:0:0:0:10/64/eth0");
  assertEquals(p.params, [["ipv6addr", "2001:db8:0:0:0:0:0:10"], ["cidr_netmask", "64"], [
    "nic",
    "eth0",
  ]]);
});

Deno.test("mapResource: wrong argument counts are noted with the wrapper's usage", () => {
  const p = map("portblock::tcp::80");
  assertStringIncludes(p.notes.join(), "3 argument(s) needed, 2 given");
  assertStringIncludes(
    p.notes.join(),
    "allowed: portblock::{udp|tcp}::portno,portno::{block|unblock}",
  );
  assertStringIncludes(map("MailTo::a::b::c").notes.join(), "at most 2 argument(s)");
  assertStringIncludes(map("ids::a::b").notes.join(), "0 or 3 arguments");
});

Deno.test("mapResource: init scripts and custom scripts become lsb", () => {
  const p = map("httpd", "init.d");
  assertEquals([p.class, p.provider, p.type, p.id], ["lsb", undefined, "httpd", "httpd"]);
  assertEquals(p.notes, []);
  assertStringIncludes(p.comments.join(), "exit 0 when running and 3 when stopped");
  const q = map("myscript::a::b", "resource.d");
  assertEquals(q.class, "lsb");
  assertEquals(q.notes.length, 2);
  assertStringIncludes(q.notes[0], "/etc/ha.d/resource.d/myscript");
  assertStringIncludes(q.notes[1], "arguments 'a b' dropped");
  assertStringIncludes(map("gone", "missing").notes.join(), "no script gone");
  assertEquals(map("3ware", "init.d").id, "lsb-3ware");
});

Deno.test("mapResource: a wrapper's name found only in init.d is an init script", () => {
  assertEquals(map("apache", "init.d").class, "lsb");
  assertEquals(map("apache", "resource.d").class, "ocf");
  const m = map("apache", "missing");
  assertEquals(m.class, "ocf");
  assertStringIncludes(m.notes.join(), "no script apache");
});

Deno.test("mapResource: Heartbeat's OCF wrapper", () => {
  const p = map("OCF::Dummy::one");
  assertEquals([p.class, p.type, p.id], ["ocf", "Dummy", "dummy-one"]);
  assertStringIncludes(p.notes.join(), "/etc/ha.d/conf/OCF/Dummy/one");
});

Deno.test("xml escaping", () => {
  assertEquals(xmlAttr(`a&b<c>"d"\te`), "a&amp;b&lt;c&gt;&quot;d&quot;&#9;e");
  assertEquals(xmlCommentText("a--b---c-"), "a- -b- - -c- ");
  assert(!xmlCommentText("x--").includes("--"));
});

Deno.test("pacemakerCib: groups in order, location per line, unique ids", () => {
  const r = cib("node1 198.18.0.10 httpd\nnode2 198.18.0.10 httpd\n");
  const x = r.xml;
  assertStringIncludes(x, '<group id="group-ip-198.18.0.10">');
  assertStringIncludes(x, '<group id="group-ip-198.18.0.10-2">');
  assertStringIncludes(x, '<primitive id="ip-198.18.0.10-2"');
  assertStringIncludes(x, '<primitive id="httpd-2" class="lsb" type="httpd">');
  assertStringIncludes(
    x,
    `<rsc_location id="location-group-ip-198.18.0.10-node1" rsc="group-ip-198.18.0.10" node="node1" score="${LOCATION_SCORE}"/>`,
  );
  assertStringIncludes(x, 'rsc="group-ip-198.18.0.10-2" node="node2"');
  const ids = [...x.matchAll(/ id="([^"]*)"/g)].map((m) => m[1]).filter((id) => !/^\d+$/.test(id));
  assertEquals(new Set(ids).size, ids.length, "ids are unique");
  assert(x.indexOf('id="ip-198.18.0.10"') < x.indexOf('id="httpd"'), "group order kept");
  assert(x.startsWith('<cib validate-with="pacemaker-3.0"'));
  assert(x.endsWith("  <status/>\n</cib>\n"));
});

Deno.test("pacemakerCib: auto_failback decides the stickiness", () => {
  const v = (af: "on" | "off" | "legacy") =>
    /name="resource-stickiness" value="(\d+)"/.exec(
      cib("node1 198.18.0.10", { autoFailback: af }).xml,
    )
      ?.[1];
  assertEquals(v("on"), "0");
  assertEquals(v("legacy"), "0");
  assertEquals(v("off"), String(STICKINESS_OFF));
  assert(STICKINESS_OFF > LOCATION_SCORE);
});

Deno.test("pacemakerCib: quorum and fencing properties", () => {
  const two = cib("node1 198.18.0.10").xml;
  assertStringIncludes(two, 'name="no-quorum-policy" value="ignore"');
  assertStringIncludes(two, "two_node: 1");
  assertStringIncludes(two, 'name="stonith-enabled" value="false"');
  assertStringIncludes(two, "ha.cf configures no STONITH device");
  const three = cib("node1 198.18.0.10", { nodes: ["node1", "node2", "node3"] }).xml;
  assert(!three.includes("no-quorum-policy"));
  assertStringIncludes(three, '<node id="3" uname="node3"/>');
  const fenced = cib("node1 198.18.0.10", {
    stonith: [{ text: "stonith_host * external/ipmi a b", line: 7 }],
    haCfPath: "/etc/ha.d/ha.cf",
  });
  assertStringIncludes(fenced.xml, "ha.cf configures fencing (stonith_host * external/ipmi a b)");
  assertStringIncludes(
    fenced.notes.join(),
    "/etc/ha.d/ha.cf:7: stonith_host: 'stonith_host * external/ipmi a b' not exported",
  );
});

Deno.test("pacemakerCib: hb.cf monitors by spec, primitive id or script; unused ones noted", () => {
  const r = cib("node1 198.18.0.10 Filesystem::/dev/sdb1::/data::ext4 httpd\n", {
    hbCfPath: "/etc/ha.d/hb.cf",
    monitors: [
      { ...MONITOR_DEFAULTS, resource: "Filesystem", interval: "1min", line: 1 },
      { ...MONITOR_DEFAULTS, resource: "ip-198.18.0.10", timeout: "5s", line: 2 },
      { ...MONITOR_DEFAULTS, resource: "httpd", interval: "45s", timeout: "30s", line: 3 },
      { ...MONITOR_DEFAULTS, resource: "nosuch", interval: "5s", line: 4 },
    ],
  });
  assertStringIncludes(r.xml, 'name="monitor" interval="1min" timeout="40s"');
  assertStringIncludes(r.xml, 'name="monitor" interval="10s" timeout="5s"');
  assertStringIncludes(r.xml, 'name="monitor" interval="45s" timeout="30s"');
  assertStringIncludes(r.xml, "<!-- monitor from /etc/ha.d/hb.cf:3 -->");
  assertEquals(r.notes.length, 1);
  assertStringIncludes(r.notes[0], "/etc/ha.d/hb.cf:4: monitor: 'nosuch' matches no resource");
});

Deno.test("pacemakerCib: notes name haresources file:line; a line without resources", () => {
  const r = cib("node1 198.18.0.10\n\nnode2\nnode2 myscript::x\n", {
    locate: () => "init.d",
  });
  assertStringIncludes(r.xml, "/etc/ha.d/haresources:3: node node2 has no resources");
  assertEquals(r.notes.length, 1);
  assertStringIncludes(r.notes[0], "/etc/ha.d/haresources:4: myscript::x: arguments 'x' dropped");
});

Deno.test("pacemakerCib: comments never carry '--'", () => {
  const r = cib("node1 198.18.0.10 MailTo::root@example.com::--urgent--\n");
  for (const m of r.xml.matchAll(/<!--(.*?)-->/gs)) assert(!m[1].includes("--"), m[1]);
  assertStringIncludes(r.xml, 'value="--urgent--"');
});

Deno.test("pacemakerCib: ping nodes and the corosync hints", () => {
  const r = cib("node1 198.18.0.10", {
    pingNodes: ["198.18.0.1"],
    deadtimeMs: 10000,
    clusterName: "web",
  });
  assertStringIncludes(r.xml, "ha.cf pings 198.18.0.1");
  assertStringIncludes(r.xml, "ring0_addr node1 nodeid 1, ring0_addr node2 nodeid 2");
  assertStringIncludes(r.xml, "totem cluster_name web; totem token 10000");
});
