import { assertEquals } from "../tests/assert.ts";
import { SUPPRESS_AFTER, WriteFailures } from "./write_failures.ts";

Deno.test("write failures: Heartbeat's lines, suppressed after 10 in a row, then 'succeeded again'", () => {
  const lines: string[] = [];
  const port = {
    packet: () => {},
    control: () => {},
    log: (prio: string, msg: string) => void lines.push(`${prio}: ${msg}`),
  };
  const f = new WriteFailures(port, "bcast eth9");
  f.succeeded();
  f.failed(new Error("boom"), (text) => `bcast_write: Unable to send: ${text}`);
  assertEquals(lines, [
    "ERROR: bcast_write: Unable to send: Error: boom",
    "ERROR: write_child: write failure on bcast eth9.: Error: boom",
  ]);
  for (let i = 1; i < SUPPRESS_AFTER + 5; i++) f.failed("x", (text) => text);
  assertEquals(lines.length, 2 * SUPPRESS_AFTER + 2, "nothing after the tenth");
  assertEquals(lines.slice(-2), [
    "WARN: Temporarily Suppressing write error messages",
    "WARN: Is a cable unplugged on bcast eth9?",
  ]);
  f.succeeded();
  assertEquals(lines.at(-1), "info: write on bcast eth9 succeeded again.");
  f.failed("y", (text) => text);
  assertEquals(lines.at(-2), "ERROR: y", "counting starts again");
});
