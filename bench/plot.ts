/**
 * The failover plot: one panel per timer configuration, one strip per implementation and
 * measure (failover after a hard kill, detection), every trial a dot, the median a bar, with
 * the deadtime and hb's target marked. Rendered to PNG by `png.ts`.
 *
 * @module
 */

import type { FailoverSeries } from "./failover.ts";
import { Canvas, type Rgb } from "./png.ts";
import { summarize } from "../lab/mod.ts";

const WIDTH = 1200;
const LABEL_W = 330;
const PLOT_X0 = LABEL_W + 20;
const PLOT_X1 = WIDTH - 40;
const ROW_H = 44;
const COLORS: Record<string, { dot: Rgb; bar: Rgb }> = {
  heartbeat: { dot: [70, 120, 200], bar: [20, 50, 120] },
  hb: { dot: [235, 130, 40], bar: [150, 60, 0] },
  keepalived: { dot: [60, 170, 90], bar: [20, 100, 40] },
  pacemaker: { dot: [160, 80, 180], bar: [90, 30, 110] },
};
const INK: Rgb = [30, 30, 30];
const GREY: Rgb = [120, 120, 120];
const BAND: Rgb = [244, 244, 244];
const GRID: Rgb = [220, 220, 220];
const RED: Rgb = [200, 30, 30];
const GREEN: Rgb = [30, 140, 60];

/** Name of an implementation on the plot. */
function implName(impl: string): string {
  return impl === "heartbeat" ? "Heartbeat 3.0.6" : impl === "pacemaker" ? "Corosync/Pcmk" : impl;
}

/** A "nice" tick step for a range up to `max` with about `count` ticks. */
function tickStep(max: number, count = 8): number {
  const raw = max / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** Small deterministic jitter in [-1, 1] for dot `i`. */
function jitter(i: number): number {
  const x = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
  return (x - Math.floor(x)) * 2 - 1;
}

/**
 * Draws the failover-time distributions of `series` and returns the PNG bytes.
 *
 * @param title first line of the plot
 * @param subtitle second line (run id, trial count, …)
 */
export function plotFailover(
  series: FailoverSeries[],
  title: string,
  subtitle: string,
): Uint8Array {
  const timings = [...new Set(series.map((s) => s.timing))];
  const panels = timings.map((t) => {
    const ss = series.filter((s) => s.timing === t);
    const rows: Array<{ label: string; impl: string; values: number[] }> = [];
    for (const s of ss) rows.push({ label: "failover", impl: s.impl, values: s.failover });
    for (const s of ss) rows.push({ label: "detection", impl: s.impl, values: s.detect });
    return { timing: t, s: ss[0], rows };
  });
  const panelH = (rows: number) => 40 + rows * ROW_H + 50;
  const height = 110 + panels.reduce((n, p) => n + panelH(p.rows.length) + 20, 0) + 30;
  const cv = new Canvas(WIDTH, height);
  cv.text(20, 16, title, INK, 3);
  cv.text(20, 50, subtitle, GREY, 2);
  // legend
  let lx = 20;
  const ly = 78;
  for (const impl of [...new Set(series.map((s) => s.impl))]) {
    cv.dot(lx + 6, ly + 7, 6, COLORS[impl]?.dot ?? GREY);
    cv.text(lx + 18, ly, implName(impl), INK, 2);
    lx += 18 + Canvas.textWidth(implName(impl)) + 30;
  }
  cv.line(lx, ly + 7, lx + 24, ly + 7, RED, 2, 5);
  cv.text(lx + 30, ly, "deadtime", INK, 2);
  lx += 30 + Canvas.textWidth("deadtime") + 30;
  cv.line(lx, ly + 7, lx + 24, ly + 7, GREEN, 2, 5);
  const targetLong = "hb target (deadtime - keepalive/2 + 50 ms)";
  // with the peers' names in the legend the long form does not fit
  const fits = lx + 30 + Canvas.textWidth(targetLong) <= WIDTH - 20;
  cv.text(lx + 30, ly, fits ? targetLong : "hb target", INK, 2);

  let y = 110;
  for (const p of panels) {
    const h = panelH(p.rows.length);
    const all = p.rows.flatMap((r) => r.values);
    const dead = p.s.deadtimeMs;
    const target = dead - p.s.keepaliveMs / 2 + 50;
    const xmaxRaw = Math.max(dead * 1.15, target * 1.15, ...all.map((v) => v * 1.05));
    const step = tickStep(xmaxRaw);
    const xmax = Math.ceil(xmaxRaw / step) * step;
    const sx = (v: number) => PLOT_X0 + (v / xmax) * (PLOT_X1 - PLOT_X0);
    cv.text(20, y + 8, `keepalive/deadtime ${p.timing}`, INK, 3);
    const top = y + 40;
    const bottom = top + p.rows.length * ROW_H;
    // grid and axis
    for (let v = 0; v <= xmax + 1e-9; v += step) {
      const x = sx(v);
      cv.line(x, top, x, bottom, GRID);
      cv.line(x, bottom, x, bottom + 6, INK);
      cv.text(x, bottom + 10, String(Math.round(v)), INK, 2, "center");
    }
    cv.text((PLOT_X0 + PLOT_X1) / 2, bottom + 30, "ms after the kill", GREY, 2, "center");
    p.rows.forEach((r, i) => {
      const ry = top + i * ROW_H;
      if (i % 2 === 0) cv.fillRect(PLOT_X0, ry + 2, PLOT_X1 - PLOT_X0, ROW_H - 4, BAND);
      const col = COLORS[r.impl] ?? { dot: GREY, bar: INK };
      const sum = summarize(r.values);
      cv.text(20, ry + 6, `${implName(r.impl)} ${r.label}`, col.bar, 2);
      cv.text(
        20,
        ry + 24,
        sum.n ? `median ${Math.round(sum.median!)} ms, n=${sum.n}` : "no successful trials",
        sum.n ? GREY : RED,
        2,
      );
      const cy = ry + ROW_H / 2;
      r.values.forEach((v, k) =>
        cv.dot(sx(v), cy + jitter(k + i * 31) * (ROW_H / 2 - 9), 4, col.dot)
      );
      if (sum.n) cv.fillRect(sx(sum.median!) - 2, ry + 3, 4, ROW_H - 6, col.bar);
    });
    cv.line(sx(dead), top - 6, sx(dead), bottom, RED, 2, 6);
    cv.line(sx(target), top - 6, sx(target), bottom, GREEN, 2, 6);
    cv.line(PLOT_X0, bottom, PLOT_X1, bottom, INK);
    cv.line(PLOT_X0, top, PLOT_X0, bottom, INK);
    y += h + 20;
  }
  return cv.toPng();
}
