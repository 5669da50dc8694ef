/**
 * The ping media's message handling: the signed NS_st payload equals the
 * captured one byte for byte, the writer's frame filter, and what the reader
 * accepts as a reply (wire.md §7.6).
 */

import { assert, assertEquals } from "../tests/assert.ts";
import { PacketCodec } from "./packet_codec.ts";
import { buildEchoRequest } from "../sys/icmp.ts";
import { loadWireVectors, senderKeys } from "../tests/support/vectors.ts";
import type { PingGroupSpec, PingSpec } from "../workers/media_spec.ts";
import { linkName, mediumLabel, mediumStartLine } from "../workers/media_spec.ts";
import { acceptReply, isNsStatusPacket } from "../workers/ping.ts";
import { pingStatusMessage } from "./ping_status.ts";

const PING: PingSpec = { type: "ping", host: "198.18.10.2", address: "198.18.10.2" };
const GROUP: PingGroupSpec = {
  type: "ping_group",
  name: "pg",
  hosts: [{ host: "198.18.10.2", address: "198.18.10.2" }, {
    host: "198.18.10.3",
    address: "198.18.10.3",
  }],
};

function nsVectors() {
  const vs = loadWireVectors().filter((x) =>
    x.vector.fields.some((f) => f.name === "t" && f.value === "NS_st")
  );
  if (vs.length === 0) throw new Error("no NS_st vectors in index.json");
  return vs;
}

/** An IPv4 datagram around an ICMP echo reply carrying `payload`. */
function reply(ident: [number, number], seq: number, payload: Uint8Array): Uint8Array {
  const icmp = buildEchoRequest(ident, seq, payload);
  icmp[0] = 0; // the checksum is not what the filter looks at
  const ip = new Uint8Array(20 + icmp.length);
  ip[0] = 0x45;
  ip.set(icmp, 20);
  return ip;
}

Deno.test("ping: the master's NS_st payload equals the captured one (ping and ping_group)", () => {
  let checked = 0;
  for (const { vector, bytes } of nsVectors()) {
    const get = (n: string) => vector.fields.find((f) => f.name === n)?.value ?? "";
    const spec = get("info") === "ping"
      ? { ...PING, host: get("src") }
      : { ...GROUP, name: get("src") };
    const codec = new PacketCodec(senderKeys(vector), "classic");
    const built = codec.encode(pingStatusMessage(spec, get("ts")));
    assertEquals(new TextDecoder().decode(built), new TextDecoder().decode(bytes), vector.file);
    assert(isNsStatusPacket(built));
    checked++;
  }
  assert(checked >= 2);
});

Deno.test("ping: the writer only sends NS_st frames", () => {
  const codec = new PacketCodec(
    { active: 1, keys: new Map([[1, { method: "crc", secret: "" }]]) },
    "classic",
  );
  const ns = codec.encode(pingStatusMessage(PING, "6b020f7f"));
  assert(isNsStatusPacket(ns));
  assert(!isNsStatusPacket(new TextEncoder().encode("###\n11:(0)t=status,")));
  assert(!isNsStatusPacket(new Uint8Array(3)));
});

Deno.test("ping: what the reader accepts as a reply", () => {
  const keys = { active: 1, keys: new Map([[1, { method: "crc" as const, secret: "" }]]) };
  const codec = new PacketCodec(keys, "classic");
  const id: [number, number] = [0xae, 0x50];
  const pingPayload = codec.encode(pingStatusMessage(PING, "1"));
  const groupPayload = codec.encode(pingStatusMessage(GROUP, "1"));

  assertEquals(acceptReply(PING, id, reply(id, 0, pingPayload), "198.18.10.2"), pingPayload);
  assertEquals(
    acceptReply(PING, [0x50, 0xae], reply(id, 0, pingPayload), "198.18.10.2"),
    null,
    "other identifier",
  );
  const req = reply(id, 0, pingPayload);
  req[20] = 8;
  assertEquals(acceptReply(PING, id, req, "198.18.10.2"), null, "a request is no reply");
  assertEquals(
    acceptReply(PING, id, reply(id, 0, groupPayload), "198.18.10.2"),
    null,
    "info=ping_group",
  );
  const other = codec.encode(pingStatusMessage({ ...PING, host: "198.18.10.9" }, "1"));
  assertEquals(
    acceptReply(PING, id, reply(id, 0, other), "198.18.10.9"),
    null,
    "another ping node's reply",
  );
  assertEquals(
    acceptReply(PING, id, reply(id, 0, new Uint8Array(30)), "198.18.10.2"),
    null,
    "garbage",
  );

  const seen: number[] = [];
  assertEquals(
    acceptReply(GROUP, id, reply(id, 5, groupPayload), "198.18.10.3", seen),
    groupPayload,
  );
  assertEquals(
    acceptReply(GROUP, id, reply(id, 5, groupPayload), "198.18.10.2", seen),
    null,
    "seq already answered",
  );
  assertEquals(
    acceptReply(GROUP, id, reply(id, 6, groupPayload), "198.18.10.7", seen),
    null,
    "not a member",
  );
  assertEquals(
    acceptReply(GROUP, id, reply(id, 6, groupPayload), "198.18.10.2", seen),
    groupPayload,
  );
  for (let s = 7; s < 7 + 128; s++) {
    acceptReply(GROUP, id, reply(id, s, groupPayload), "198.18.10.2", seen);
  }
  assertEquals(seen.length, 128);
  assertEquals(
    acceptReply(GROUP, id, reply(id, 5, groupPayload), "198.18.10.2", seen),
    groupPayload,
    "window slid",
  );
});

Deno.test("ping: link names, titles and start lines", () => {
  assertEquals(linkName(PING), "198.18.10.2");
  assertEquals(mediumLabel(PING), "ping 198.18.10.2");
  assertEquals(linkName(GROUP), "pg");
  assertEquals(mediumLabel(GROUP), "ping_group pg");
  assertEquals(mediumStartLine(PING), "ping heartbeat started.");
  assertEquals(mediumStartLine(GROUP), "ping group heartbeat started.");
});
