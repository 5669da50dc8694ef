import { assertEquals } from "../tests/assert.ts";
import { latin1Encode } from "./bytes.ts";
import { crc32Posix, digestToken, sha256Hex } from "./digest.ts";

const b = latin1Encode;

Deno.test("crc: CRC-32/POSIX without length, printed without leading zeros", () => {
  assertEquals(crc32Posix(b("123456789")).toString(16), "765e7680");
  assertEquals(digestToken("crc", "", b("123456789")), "765e7680");
  assertEquals(digestToken("crc", "ignored", b("123456789")), "765e7680");
  assertEquals(digestToken("crc", "", new Uint8Array(0)), "ffffffff");
  // Leading zeros are dropped (%lx): find an input whose crc is below 0x10000000.
  let i = 0;
  while (crc32Posix(b(String(i))) >= 0x10000000) i++;
  const tok = digestToken("crc", "", b(String(i)));
  assertEquals(tok.length < 8 && tok[0] !== "0", true);
});

Deno.test("crc: the spec's status example", () => {
  const text =
    "t=status\nst=init\ndt=1f40\nprotocol=1\nsrc=n1\n(1)srcuuid=kmtFB3trTnOKxVi0/Oemcg==\n" +
    "seq=1\nhg=6b020e69\nts=6b020e68\nld=0.06 0.07 0.03 1/165 25254\nttl=3\n";
  assertEquals(digestToken("crc", "", b(text)), "75756832");
});

Deno.test("hmac-md5 / hmac-sha1: RFC 2202 vectors and the spec examples", () => {
  assertEquals(
    digestToken("md5", "Jefe", b("what do ya want for nothing?")),
    "750c783e6ab0b503eaa86e310a5db738",
  );
  assertEquals(
    digestToken("sha1", "Jefe", b("what do ya want for nothing?")),
    "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
  );
  // Keys longer than the 64-byte block are hashed first (RFC 2202 case 6).
  const longKey = new Uint8Array(80).fill(0xaa);
  assertEquals(
    digestToken("md5", longKey, b("Test Using Larger Than Block-Size Key - Hash Key First")),
    "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd",
  );
  assertEquals(
    digestToken("sha1", longKey, b("Test Using Larger Than Block-Size Key - Hash Key First")),
    "aa4ae5e15272d00e95705637ce8a3b55ed402112",
  );
  const md5Text = "t=NS_ackmsg\ndest=n1\nackseq=1\n(1)destuuid=cxXvjASAT5+keHAtdPwfMg==\nsrc=n1\n" +
    "(1)srcuuid=cxXvjASAT5+keHAtdPwfMg==\nhg=6b020ebc\nts=6b020ebb\nttl=3\n";
  assertEquals(digestToken("md5", "testkey-md5", b(md5Text)), "34cf574e962003d7ee7579ec0d4ad68a");
  assertEquals(
    digestToken(
      "sha1",
      "testkey-sha1",
      b("t=NS_st\nst=ping\ninfo=ping\nsrc=198.18.10.2\nts=6b020f7f\n"),
    ),
    "2976a0e1432285e52804592f7267ef0110a7d51d",
  );
});

Deno.test("sha256Hex: the FIPS 180-2 test vector", () => {
  assertEquals(
    sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});
