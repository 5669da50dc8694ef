import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { parseAuthkeys } from "./authkeys.ts";
import { heartbeatLines } from "./diagnostics.ts";
import { Reporter } from "./reporter.ts";
import { hbText, loadWith } from "../tests/support/config.ts";

function parse(text: string | undefined, mode = 0o600) {
  const rep = new Reporter();
  const r = parseAuthkeys({
    text,
    mode,
    displayPath: "/etc/ha.d//authkeys",
    explainPath: "/cfg/authkeys",
    rep,
  });
  return { r, out: rep.diagnostics.flatMap(heartbeatLines).join("\n"), rep };
}

Deno.test("authkeys: valid files, key 0, auth1, secret first token, repeated keys replace", () => {
  let { r } = parse("# c\n\n  auth 0\n0 md5 abc def # x\n");
  assertEquals(r?.activeIndex, 0);
  assertEquals(r?.keys.get(0)?.secret, "abc");
  ({ r } = parse("auth1\n1 crc\n"));
  assertEquals(r?.keys.get(1)?.method, "crc");
  ({ r } = parse("auth 2\n2 sha1 a\n2 md5 b\n1 crc\n"));
  assertEquals(r?.keys.get(2)?.method, "md5");
  assertEquals(r?.keys.size, 2);
});

Deno.test("authkeys: errors with Heartbeat's exact text", () => {
  const cases: [string | undefined, number, string][] = [
    [undefined, 0o600, "ERROR: Cannot open keyfile [/etc/ha.d//authkeys].  Stop."],
    [
      "auth 1\n1 sha1 x\n",
      0o644,
      "ERROR: Bad permissions on keyfile [/etc/ha.d//authkeys], 600 recommended.",
    ],
    ["auth 1\n1 sha1 x\n", 0o640, "Bad permissions"],
    ["auth 1\n1 sha1 x\n", 0o604, "Bad permissions"],
    ["  auth x\n1 sha1 x\n", 0o600, "ERROR: Invalid auth line [  auth x\n] in /etc/ha.d//authkeys"],
    ["abc\n", 0o600, "Invalid auth line [abc\n]"],
    ["auth 1\nx y\n", 0o600, "ERROR: Auth line [x y\n] is invalid."],
    ["auth 1\n1\n", 0o600, "Auth line [1\n] is invalid."],
    ["auth 16\n16 sha1 x\n", 0o600, "ERROR: Invalid authnum [16] in /etc/ha.d//authkeys"],
    ["auth 1\n1 SHA1 x\n", 0o600, "ERROR: Table size: 0\nERROR: Invalid authtype [SHA1]"],
    [
      "auth 1\n1 sha1 x\n2 blowfish\n",
      0o600,
      "ERROR: LoadPlugin on blowfish returned 5: No such plugin/interface/interface type\nERROR: Lookup extended#2 returned FALSE for blowfish\nERROR: Table size: 1",
    ],
    ["auth 1\n1 md5\n", 0o600, "ERROR: Auth method [md5] requires a key"],
    ["auth 1\n1 crc # comment\n", 0o600, "info: Auth method [crc] doesn't use a key"],
    ["1 sha1 x\nauth 1\n", 0o600, "ERROR: Auth Key [1] not found in keyfile [/etc/ha.d//authkeys]"],
    ["1 sha1 x\n", 0o600, "ERROR: Missing auth directive in keyfile [/etc/ha.d//authkeys]"],
    ["auth 2\n1 sha1 x\n", 0o600, "Auth Key [2] not found"],
  ];
  for (const [text, mode, expect] of cases) {
    const { r, out } = parse(text, mode);
    assert(r === undefined, `${JSON.stringify(text)} accepted`);
    assertStringIncludes(out, expect);
  }
  for (const mode of [0o600, 0o620, 0o602, 0o400]) assert(parse("auth 1\n1 sha1 x\n", mode).r);
});

Deno.test("authkeys failure ends with the two generic lines, exit 6", () => {
  const r = loadWith([], { authkeys: "auth 1\n1 md5\n" });
  assertEquals(r.exitCode, 6);
  assertStringIncludes(
    hbText(r),
    "ERROR: Auth method [md5] requires a key\nERROR: Auth Key [1] not found in keyfile [/etc/ha.d//authkeys]\nERROR: Authentication configuration error.\nERROR: Configuration error, heartbeat not started.",
  );
  const d = r.diagnostics.find((x) => x.fatal)!;
  assertStringIncludes(d.explain, "/cfg/authkeys:2: key 1: md5 needs a secret; allowed:");
});
