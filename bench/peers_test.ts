import { assert, assertEquals, assertMatch } from "../tests/assert.ts";
import {
  advertInt,
  COROSYNC_MIN_TOKEN_MS,
  corosyncConf,
  corosyncToken,
  ipaddr2Primitive,
  keepalivedBenchConf,
  peerDetectLine,
} from "./peers.ts";

Deno.test("bench peers: Corosync's token follows the deadtime (token + 1.2 × token), floored", () => {
  assertEquals(corosyncToken(1000), 455);
  assertEquals(corosyncToken(5000), 2273);
  assertEquals(corosyncToken(500), 227);
  assertEquals(corosyncToken(50), COROSYNC_MIN_TOKEN_MS);
});

Deno.test("bench peers: keepalived's advert_int is the keepalive in centiseconds", () => {
  assertEquals(advertInt(1000), "1");
  assertEquals(advertInt(200), "0.2");
  assertEquals(advertInt(10), "0.01");
  assertEquals(advertInt(1), "0.01");
});

Deno.test("bench peers: detection lines", () => {
  assertMatch("(VI_1) Receive advertisement timeout", peerDetectLine("keepalived"));
  assertMatch(
    "[TOTEM ] A new membership (2.d) was formed. Members left: 1",
    peerDetectLine("pacemaker"),
  );
});

async function accepted(cmd: string[], env: Record<string, string> = {}): Promise<string> {
  const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), env }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert(out.success, `${cmd.join(" ")} refused the configuration:\n${text}`);
  return text;
}

Deno.test("bench peers: the installed keepalived and corosync accept the generated files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hb-peers-test-" });
  try {
    const ka = `${dir}/keepalived.conf`;
    await Deno.writeTextFile(
      ka,
      keepalivedBenchConf(0, "198.18.0.100", 200),
    );
    const kaText = await accepted(["keepalived", "-t", "-f", ka]);
    assert(!/error|unknown/i.test(kaText), kaText);
    const cs = `${dir}/corosync.conf`;
    const conf = corosyncConf([
      { name: "node1", addrs: ["198.18.0.1", "198.18.1.1"] },
      { name: "node2", addrs: ["198.18.0.2", "198.18.1.2"] },
    ], 1000);
    assertMatch(conf, /token: 455\n/);
    assertMatch(conf, /two_node: 1\n/);
    assertMatch(conf, /ring1_addr: 198\.18\.1\.2\n/);
    await Deno.writeTextFile(cs, conf);
    await accepted(["corosync", "-t"], { COROSYNC_MAIN_CONFIG_FILE: cs });
    assertMatch(ipaddr2Primitive("198.18.0.100"), /name="ip" value="198\.18\.0\.100"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
