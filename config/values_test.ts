import { assertEquals } from "../tests/assert.ts";
import {
  atoi,
  inetAton,
  inetPton6,
  parseBoolean,
  parseTimeMs,
  toUChar,
  toUShort,
} from "./values.ts";

Deno.test("time values: seconds, fractions, ms, us, invalid units", () => {
  const cases: [string, number][] = [
    ["1", 1000],
    ["1.5", 1500],
    ["0.5", 500],
    ["1500ms", 1500],
    ["1500MS", 1500],
    ["1500msec", 1500],
    ["2500us", 3],
    ["100us", 0],
    ["100usec", 0],
    ["10s", -1],
    ["2sec", -1],
    ["-1", -1],
    ["abc", -1],
    ["ms", -1],
    ["\\", -1],
    ["0", 0],
    ["1.2.3", 1200],
    ["0.0004", 0],
    ["0.0005", 1],
  ];
  for (const [text, ms] of cases) assertEquals(parseTimeMs(text), ms, text);
});

Deno.test("booleans are case-insensitive words", () => {
  for (const t of ["true", "on", "yes", "y", "1", "TRUE", "On", "Y"]) {
    assertEquals(parseBoolean(t), true);
  }
  for (const f of ["false", "off", "no", "n", "0", "OFF"]) assertEquals(parseBoolean(f), false);
  for (const x of ["maybe", "2", "", "yess", "t"]) assertEquals(parseBoolean(x), undefined);
});

Deno.test("atoi uses the leading digits, garbage is 0", () => {
  assertEquals(atoi("abc"), 0);
  assertEquals(atoi("12abc"), 12);
  assertEquals(atoi("-5"), -5);
  assertEquals(atoi("+7"), 7);
  assertEquals(atoi(" 42"), 42);
  assertEquals(atoi(""), 0);
  assertEquals(toUShort(70000), 4464);
  assertEquals(toUShort(65536), 0);
  assertEquals(toUChar(260), 4);
  assertEquals(toUChar(-1), 255);
});

Deno.test("inet_aton forms and IPv6", () => {
  assertEquals(inetAton("224.0.0.1"), 0xe0000001);
  assertEquals(inetAton("239.1"), 0xef000001);
  assertEquals(inetAton("0xe0000001"), 0xe0000001);
  assertEquals(inetAton("1.2.3.4.5"), undefined);
  assertEquals(inetAton("256.1.1.1"), undefined);
  assertEquals(inetPton6("ff02::1")?.[0], 0xff);
  assertEquals(inetPton6("::1")?.[15], 1);
  assertEquals(inetPton6("::ffff:1.2.3.4")?.slice(12), [1, 2, 3, 4]);
  assertEquals(inetPton6("1::2::3"), undefined);
});
