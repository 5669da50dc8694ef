/**
 * ICMP echo packets against the captured ping vectors (wire.md §7.6):
 * checksum, header layout with Heartbeat's host-order identifier, parsing
 * with and without the IP header.
 */

import { assert, assertEquals } from "../tests/assert.ts";
import { loadWireVectors } from "../tests/support/vectors.ts";
import {
  buildEchoRequest,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  icmpChecksum,
  identBytes,
  parseIcmp,
} from "./icmp.ts";

interface IcmpVector {
  file: string;
  icmp?: { type: number; code: number; id_wire: number; seq: number; header_hex: string };
}

function icmpVectors(): { v: IcmpVector; bytes: Uint8Array }[] {
  const all = loadWireVectors().filter((x) => (x.vector as IcmpVector).icmp !== undefined);
  if (all.length === 0) throw new Error("no ICMP vectors in index.json");
  return all.map((x) => ({ v: x.vector as IcmpVector, bytes: x.bytes }));
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("icmp: RFC 1071 checksum", () => {
  // RFC 1071 §3 example words 0001 f203 f4f5 f6f7: sum ddf2, checksum 220d
  assertEquals(
    icmpChecksum(new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])),
    0x220d,
  );
  // odd length: the last byte is padded with zero
  assertEquals(icmpChecksum(new Uint8Array([0xff])), 0x00ff);
  assertEquals(icmpChecksum(new Uint8Array([])), 0xffff);
});

Deno.test("icmp: identifier bytes are the pid in host order", () => {
  assertEquals(identBytes(0x50ae, true), [0xae, 0x50]);
  assertEquals(identBytes(0x50ae, false), [0x50, 0xae]);
  assertEquals(identBytes(0x1234ff, true), [0xff, 0x34], "low 16 bits only");
});

Deno.test("icmp: echo requests and replies match the captured headers byte for byte", () => {
  const vs = icmpVectors();
  assert(vs.some((x) => x.v.icmp!.type === ICMP_ECHO_REQUEST));
  assert(vs.some((x) => x.v.icmp!.type === ICMP_ECHO_REPLY));
  for (const { v, bytes } of vs) {
    const h = v.icmp!;
    const want = h.header_hex;
    const ident: [number, number] = [
      parseInt(want.slice(8, 10), 16),
      parseInt(want.slice(10, 12), 16),
    ];
    // id_wire is the identifier read in network order from the wire
    assertEquals((ident[0] << 8) | ident[1], h.id_wire, v.file);
    const pkt = buildEchoRequest(ident, h.seq, bytes);
    if (h.type === ICMP_ECHO_REPLY) {
      // a reply is the request with type 0 and the checksum adjusted
      pkt[0] = 0;
      pkt[2] = pkt[3] = 0;
      const sum = icmpChecksum(pkt);
      pkt[2] = sum >> 8;
      pkt[3] = sum & 0xff;
    }
    assertEquals(hex(pkt.subarray(0, 8)), want, v.file);
    const parsed = parseIcmp(pkt, false)!;
    assertEquals(parsed.type, h.type);
    assertEquals(parsed.code, 0);
    assertEquals(parsed.ident, ident);
    assertEquals(parsed.seq, h.seq);
    assertEquals(parsed.payload, bytes);
    assert(parsed.checksumOk);
  }
});

Deno.test("icmp: parse strips the IP header (IHL) and checks the checksum", () => {
  const payload = new TextEncoder().encode("hello");
  const icmp = buildEchoRequest([1, 2], 0x0102, payload);
  for (const ihl of [5, 6]) {
    const ip = new Uint8Array(ihl * 4 + icmp.length);
    ip[0] = 0x40 | ihl;
    ip.set(icmp, ihl * 4);
    const p = parseIcmp(ip)!;
    assertEquals(p.seq, 0x0102);
    assertEquals(p.ident, [1, 2]);
    assertEquals(new TextDecoder().decode(p.payload), "hello");
    assert(p.checksumOk);
  }
  const bad = icmp.slice();
  bad[10] ^= 1;
  assert(!parseIcmp(bad, false)!.checksumOk);
  assertEquals(parseIcmp(new Uint8Array(10)), null, "too short");
  assertEquals(parseIcmp(new Uint8Array(40).fill(0x60)), null, "not IPv4");
});
