import { assertEquals } from "../tests/assert.ts";
import { lockableMappings, parseMaps } from "./realtime.ts";

const MAPS = `55d0c0000000-55d0c1000000 r--p 00000000 fe:00 123 /usr/bin/deno
55d0c1000000-55d0c8000000 r-xp 01000000 fe:00 123 /usr/bin/deno
55d0c8000000-55d0c8100000 rw-p 08000000 fe:00 123 /usr/bin/deno
55d0c9000000-55d0c9400000 rw-p 00000000 00:00 0                          [heap]
2f0000000000-2f0000040000 rw-p 00000000 00:00 0 
7f0000000000-7f0000001000 ---p 00000000 fe:00 77 /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000001000-7f0000100000 r-xp 00001000 fe:00 77 /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000200000-7f0000300000 rw-s 00000000 00:01 9 /memfd:wayland (deleted)
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]
7ffc00100000-7ffc00101000 r-xp 00000000 00:00 0                          [vdso]
`;

Deno.test("maps: code, data of files and the main stack are locked; anonymous memory never", () => {
  const maps = parseMaps(MAPS);
  assertEquals(maps.length, 10);
  assertEquals(maps[4].path, "");
  assertEquals(lockableMappings(maps).map((m) => `${m.perms} ${m.path}`), [
    "r--p /usr/bin/deno",
    "r-xp /usr/bin/deno",
    "rw-p /usr/bin/deno",
    "r-xp /usr/lib/x86_64-linux-gnu/libc.so.6",
    "rw-p [stack]",
  ]);
});
