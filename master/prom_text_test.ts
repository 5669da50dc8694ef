import { assertEquals, assertThrows } from "../tests/assert.ts";
import { escapeHelp, escapeLabelValue, formatValue, PromWriter } from "./prom_text.ts";
import { promtoolCheck } from "../tests/support/promtool.ts";

Deno.test("prom text: families, labels, escaping", async () => {
  const w = new PromWriter()
    .family("hb_x_total", "counter", "A counter.\nSecond line with \\.")
    .sample(3, { node: 'a"b\\c\nd' })
    .family("hb_y_seconds", "gauge", "A gauge.")
    .sample(0.25)
    .sample(NaN, { link: "eth0" });
  const text = w.text();
  assertEquals(
    text,
    [
      "# HELP hb_x_total A counter.\\nSecond line with \\\\.",
      "# TYPE hb_x_total counter",
      'hb_x_total{node="a\\"b\\\\c\\nd"} 3',
      "# HELP hb_y_seconds A gauge.",
      "# TYPE hb_y_seconds gauge",
      "hb_y_seconds 0.25",
      'hb_y_seconds{link="eth0"} NaN',
      "",
    ].join("\n"),
  );
  assertEquals(await promtoolCheck(text), { code: 0, output: "" });
});

Deno.test("prom text: helpers and misuse", () => {
  assertEquals(escapeLabelValue('x"\n\\'), 'x\\"\\n\\\\');
  assertEquals(escapeHelp("a\nb\\"), "a\\nb\\\\");
  assertEquals([formatValue(Infinity), formatValue(-Infinity), formatValue(1e-3)], [
    "+Inf",
    "-Inf",
    "0.001",
  ]);
  assertThrows(() => new PromWriter().family("hb_x", "counter", "no _total"));
  assertThrows(() => new PromWriter().family("hb-x", "gauge", "bad name"));
  assertThrows(() => new PromWriter().family("hb_x", "gauge", "h").sample(1, { "a-b": "x" }));
  assertThrows(() => new PromWriter().family("hb_x", "gauge", "h").family("hb_x", "gauge", "h"));
  assertEquals(new PromWriter().text(), "");
});
