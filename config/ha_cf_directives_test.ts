import { assertEquals } from "../tests/assert.ts";
import { ALLOWED_VALUES, DIRECTIVES } from "./ha_cf_directives.ts";
import { OPTION_DIRECTIVES, WHOLE_LINE_DIRECTIVES } from "./defaults.ts";

Deno.test("directive table: one entry per option directive, in Heartbeat's table order", () => {
  assertEquals(DIRECTIVES.map((d) => d.name), OPTION_DIRECTIVES.map((d) => d.name));
});

Deno.test("directive table: every directive says what it allows", () => {
  const names = [...OPTION_DIRECTIVES.map((d) => d.name), ...WHOLE_LINE_DIRECTIVES];
  assertEquals(names.filter((n) => !ALLOWED_VALUES[n]), []);
});
