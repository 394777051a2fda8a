// Scatter plots of matched pairs (e.g. a neuron's correlation in run A against run B, or r against rank),
// with threshold lines.
import { linearAxis } from './axes.js';
import { chartFrame, chartSvg, checkNumbers, resolveOptions, type LegendItem } from './layout.js';
import { el, num, text } from './svg.js';
import { textWidth } from './text.js';
import { seriesColour } from './theme.js';
import type { ScatterData, ScatterOptions, Threshold } from './types.js';

function check(data: ScatterData): void {
  if (!data || !Array.isArray(data.series)) throw new Error('scatter: data.series must be an array');
  data.series.forEach((s, i) => {
    const where = `series[${i}] "${s.name}"`;
    if (!Array.isArray(s.x) || !Array.isArray(s.y) || s.x.length !== s.y.length) {
      throw new Error(
        `scatter: ${where}: x and y must be arrays of equal length (got ${s.x?.length} and ${s.y?.length})`,
      );
    }
    checkNumbers('scatter', `${where}.x`, s.x, true);
    checkNumbers('scatter', `${where}.y`, s.y, true);
  });
  const t = data.thresholds;
  t?.x?.forEach((th, i) => checkNumbers('scatter', `thresholds.x[${i}].value`, [th.value]));
  t?.y?.forEach((th, i) => checkNumbers('scatter', `thresholds.y[${i}].value`, [th.value]));
}

/**
 * A scatter plot as an SVG string: one colour per series, dashed threshold lines (x = v, y = v, and the
 * diagonal y = x) with their labels, light grid both ways. NaN points are left out.
 */
export function scatter(data: ScatterData, options: ScatterOptions = {}): string {
  check(data);
  const r = resolveOptions('scatter', options);
  const fs = r.fontSize;
  const radius = options.radius ?? 2.5;
  const opacity = options.opacity ?? 0.7;
  const thresholds = data.thresholds ?? {};
  let [xmin, xmax, ymin, ymax] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const s of data.series) {
    for (let i = 0; i < s.x.length; i++) {
      if (!Number.isFinite(s.x[i]) || !Number.isFinite(s.y[i])) continue;
      xmin = Math.min(xmin, s.x[i]);
      xmax = Math.max(xmax, s.x[i]);
      ymin = Math.min(ymin, s.y[i]);
      ymax = Math.max(ymax, s.y[i]);
    }
  }
  if (xmin === Infinity) [xmin, xmax, ymin, ymax] = [0, 1, 0, 1];
  for (const t of thresholds.x ?? []) [xmin, xmax] = [Math.min(xmin, t.value), Math.max(xmax, t.value)];
  for (const t of thresholds.y ?? []) [ymin, ymax] = [Math.min(ymin, t.value), Math.max(ymax, t.value)];
  const xDomain = options.xDomain ?? [xmin, xmax];
  const yDomain = options.yDomain ?? [ymin, ymax];
  const colours = data.series.map((s, i) => seriesColour(r.theme, i, s.colour, s.stage));
  const legend: LegendItem[] =
    data.series.length > 1
      ? data.series.map((s, i) => ({ label: s.name, colour: colours[i], swatch: 'point' }))
      : [];
  const frame = chartFrame(r, {
    xLabel: options.xLabel,
    yLabel: options.yLabel,
    legend,
    x: (w) => linearAxis(xDomain, w, fs, 'x', { nice: !options.xDomain }),
    y: (h) => linearAxis(yDomain, h, fs, 'y', { nice: !options.yDomain }),
    xGrid: true,
  });
  const { plot } = frame;
  const sx = (v: number) => plot.x + frame.x.scale(v);
  const sy = (v: number) => plot.y + frame.y.scale(v);

  const refColour = r.theme.muted;
  const lines: string[] = [];
  const labels: string[] = [];
  const dash = { stroke: refColour, 'stroke-width': 1.1, 'stroke-dasharray': '5 3.5' };
  const label = (t: Threshold, x: number, y: number, anchor: 'start' | 'end') => {
    // A halo in the background colour keeps the label readable over points.
    const halo = {
      stroke: r.theme.background,
      'stroke-width': 3,
      'stroke-linejoin': 'round',
      'paint-order': 'stroke',
    };
    if (t.label)
      labels.push(
        text(t.label, { x, y, 'text-anchor': anchor, 'font-size': fs * 0.9, fill: refColour, ...halo }),
      );
  };
  for (const t of thresholds.x ?? []) {
    const x = sx(t.value);
    lines.push(el('line', { x1: x, x2: x, y1: plot.y, y2: plot.y + plot.h, ...dash }));
    const fits = x + 4 + textWidth(t.label ?? '', fs * 0.9) < plot.x + plot.w;
    label(t, fits ? x + 4 : x - 4, plot.y + fs, fits ? 'start' : 'end');
  }
  for (const t of thresholds.y ?? []) {
    const y = sy(t.value);
    lines.push(el('line', { x1: plot.x, x2: plot.x + plot.w, y1: y, y2: y, ...dash }));
    label(t, plot.x + plot.w - 4, y - 4, 'end');
  }
  if (thresholds.diagonal) {
    const [x0, x1] = frame.x.scale.domain();
    const [y0, y1] = frame.y.scale.domain();
    const lo = Math.max(x0, y0);
    const hi = Math.min(x1, y1);
    if (hi > lo) lines.push(el('line', { x1: sx(lo), y1: sy(lo), x2: sx(hi), y2: sy(hi), ...dash }));
  }
  // Circles, each blended on its own (fill-opacity is inherited), so dense regions read darker.
  const points = data.series.map((s, i) => {
    const dots: string[] = [];
    for (let j = 0; j < s.x.length; j++) {
      if (!Number.isFinite(s.x[j]) || !Number.isFinite(s.y[j])) continue;
      dots.push(`<circle cx="${num(sx(s.x[j]))}" cy="${num(sy(s.y[j]))}" r="${num(radius)}"/>`);
    }
    return el('g', { class: 'points', fill: colours[i], 'fill-opacity': opacity }, dots);
  });
  return chartSvg(frame, lines.join('') + points.join(''), { overlay: labels.join('') });
}
