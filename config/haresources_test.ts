import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { isIpShorthand, locateScript, parseHaresources, parseResource } from "./haresources.ts";
import { Reporter } from "./reporter.ts";
import { hbText, loadWith } from "../tests/support/config.ts";

Deno.test("ResourceManager grammar: comments, continuation, IP shorthand, :: args, lower-cased node", () => {
  const rep = new Reporter();
  const h = parseHaresources(
    "# header\nNODE1 198.18.0.10/24/eth0 Filesystem::/dev/sda1::/data::ext3 \\\n\thttpd\n\n" +
      "node2 a \\\n b # trailing comment\nnode2 dummy::x::y\n",
    rep,
  );
  assertEquals(h.groups.length, 3);
  const g = h.groups[0];
  assertEquals(g.node, "node1");
  assertEquals(g.key, "198.18.0.10/24/eth0");
  assertEquals(g.line, 2);
  assertEquals(g.resources.map((r) => r.script), ["IPaddr", "Filesystem", "httpd"]);
  assertEquals(g.resources[0].args, ["198.18.0.10/24/eth0"]);
  assertEquals(g.resources[1].args, ["/dev/sda1", "/data", "ext3"]);
  assertEquals(h.groups[1].resources.map((r) => r.spec), ["a", "b", "#", "trailing", "comment"]);
  assert(rep.diagnostics.some((d) => d.explain.includes("continuation line")));
  assertEquals(h.groups[2].text, "node2 dummy::x::y");
});

Deno.test("IP shorthand and script/args split", () => {
  assert(isIpShorthand("10.0.0.1"));
  assert(isIpShorthand("10.0.0.1/24/eth0/10.0.0.255"));
  assert(!isIpShorthand("IPaddr::10.0.0.1"));
  assert(!isIpShorthand("httpd"));
  assertEquals(parseResource("IPaddr::10.0.0.1::x"), {
    spec: "IPaddr::10.0.0.1::x",
    script: "IPaddr",
    args: ["10.0.0.1", "x"],
    ipShorthand: false,
  });
  assertEquals(parseResource("initonly::x").args, ["x"]);
  assertEquals(parseResource("both").args, []);
});

Deno.test("duplicate keys are reported", () => {
  const rep = new Reporter();
  parseHaresources("node1 a\nnode2 a\n", rep);
  assert(rep.diagnostics.some((d) => d.explain.includes("already starts the group")));
});

Deno.test("script lookup: resource.d first, then init.d, regular executable", () => {
  const exec = new Set(["/etc/ha.d/resource.d/both", "/etc/init.d/both", "/etc/init.d/initonly"]);
  const has = (p: string) => exec.has(p);
  assertEquals(locateScript("both", has), "/etc/ha.d/resource.d/both");
  assertEquals(locateScript("initonly::x", has), "/etc/init.d/initonly");
  assertEquals(
    locateScript("10.0.0.1", (p) => p === "/etc/ha.d/resource.d/IPaddr"),
    "/etc/ha.d/resource.d/IPaddr",
  );
  assertEquals(locateScript("missing", has), undefined);
});

Deno.test("daemon-side check: node names, continuation skipped, missing file, -M", () => {
  let r = loadWith([], { haresources: "node1 a \\\nnodeX b\nNODE2 c\n# x\n\n" });
  assertEquals(r.exitCode, 0);
  r = loadWith([], { haresources: "node1 a\nnodeX b\nnodeY c\n" });
  assertEquals(r.exitCode, 6);
  assertStringIncludes(
    hbText(r),
    "ERROR: Bad nodename in /etc/ha.d//haresources [nodeX]\nERROR: Configuration error, heartbeat not started.",
  );
  assert(!hbText(r).includes("nodeY"));
  assertEquals(r.diagnostics.find((d) => d.fatal)!.line, 2);
  r = loadWith([], { haresources: undefined });
  // loadWith passes "" for undefined; build a missing file explicitly
  assertEquals(r.exitCode, 0);
});
