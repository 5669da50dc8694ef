/**
 * `deno bench -A wire/wire_bench.ts`: cost of the per-keepalive path — build, sign and encode a
 * `status` packet, then decode and verify it — for each digest method.
 *
 * @module
 */
import { type AuthKeys, decodeAndVerify, signAndEncode } from "./auth.ts";
import { Message } from "./message.ts";

function status(seq: number): Message {
  return new Message()
    .add("t", "status")
    .add("st", "active")
    .add("dt", "1770")
    .add("protocol", "1")
    .add("src", "n1")
    .addBinary("srcuuid", new Uint8Array(16).fill(0x5a))
    .add("seq", seq.toString(16))
    .add("hg", "6b021093")
    .add("ts", "6b021095")
    .add("ld", "0.06 0.07 0.03 1/165 25254")
    .add("ttl", "3");
}

for (const method of ["crc", "md5", "sha1"] as const) {
  const keys: AuthKeys = { active: 3, keys: new Map([[3, { method, secret: "testkey" }]]) };
  let seq = 1;
  const fixed = signAndEncode(status(1), keys);
  Deno.bench(`status ${method}: build+sign+encode+decode+verify`, { group: method }, () => {
    const r = decodeAndVerify(signAndEncode(status(seq++), keys), keys);
    if (!r.ok) throw new Error(r.detail);
  });
  Deno.bench(`status ${method}: sign+encode`, { group: method }, () => {
    signAndEncode(status(seq++), keys);
  });
  Deno.bench(`status ${method}: decode+verify`, { group: method }, () => {
    const r = decodeAndVerify(fixed, keys);
    if (!r.ok) throw new Error(r.detail);
  });
}
