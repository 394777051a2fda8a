// Training curves: several series against step, optional dashed eval series, log y, EMA smoothing.
import { area, line } from 'd3';
import { linearAxis, logAxis, type Axis, type NumericScale } from './axes.js';
import { chartFrame, chartSvg, checkNumbers, resolveOptions, type LegendItem } from './layout.js';
import { el } from './svg.js';
import { seriesColour } from './theme.js';
import type { LineChartData, LineChartOptions, LineSeries } from './types.js';

/**
 * TensorBoard's debiased exponential moving average: m_t = w·m_{t−1} + (1 − w)·y_t, reported as
 * m_t / (1 − w^n) where n counts the finite values so far (the bias correction of Adam, Kingma & Ba 2015,
 * §3). Non-finite values are skipped and stay non-finite. `weight` 0 returns a copy.
 */
export function emaSmooth(values: number[], weight: number): number[] {
  if (!(weight >= 0 && weight < 1)) throw new Error(`emaSmooth: weight must be in [0, 1), got ${weight}`);
  const out = new Array<number>(values.length);
  let m = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    m = weight * m + (1 - weight) * v;
    n++;
    out[i] = weight === 0 ? v : m / (1 - Math.pow(weight, n));
  }
  return out;
}

/** Colour of each series: series sharing a group share the colour of that group's first appearance. */
function colours(series: LineSeries[], theme: ReturnType<typeof resolveOptions>['theme']): string[] {
  const groups = new Map<string, string>();
  return series.map((s) => {
    const key = s.group ?? s.name;
    if (!groups.has(key)) groups.set(key, seriesColour(theme, groups.size, s.colour, s.stage));
    return s.colour ?? groups.get(key)!;
  });
}

function checkSeries(data: LineChartData): void {
  if (!data || !Array.isArray(data.series)) throw new Error('lineChart: data.series must be an array');
  data.series.forEach((s, i) => {
    const where = `series[${i}] "${s.name}"`;
    if (!Array.isArray(s.x) || !Array.isArray(s.y))
      throw new Error(`lineChart: ${where}: x and y must be arrays`);
    if (s.x.length !== s.y.length) {
      throw new Error(`lineChart: ${where}: x has ${s.x.length} values but y has ${s.y.length}`);
    }
    checkNumbers('lineChart', `${where}.x`, s.x);
    checkNumbers('lineChart', `${where}.y`, s.y, true);
    if (s.band) {
      const { lo, hi } = s.band;
      if (!Array.isArray(lo) || !Array.isArray(hi) || lo.length !== s.x.length || hi.length !== s.x.length)
        throw new Error(`lineChart: ${where}: band.lo and band.hi must have the ${s.x.length} entries of x`);
      checkNumbers('lineChart', `${where}.band.lo`, lo, true);
      checkNumbers('lineChart', `${where}.band.hi`, hi, true);
    }
  });
}

/**
 * A line chart of `data.series` as an SVG string: one curve per series (eval series dashed with markers),
 * a faint band where a series has one (e.g. a confidence interval), a legend, optional log-scaled x and y
 * and EMA smoothing (`emaSmooth`), with raw curves left faint.
 */
export function lineChart(data: LineChartData, options: LineChartOptions = {}): string {
  checkSeries(data);
  const r = resolveOptions('lineChart', options);
  const smoothing = options.smoothing ?? 0;
  if (!(smoothing >= 0 && smoothing < 1))
    throw new Error(`lineChart: options.smoothing must be in [0, 1), got ${smoothing}`);
  const logY = options.logY ?? false;
  const logX = options.logX ?? false;
  const usable = (v: number) => Number.isFinite(v) && (!logY || v > 0);
  const usableX = (v: number) => Number.isFinite(v) && (!logX || v > 0);

  // Data extents, bands included.
  let xmin = Infinity;
  let xmax = -Infinity;
  let ymin = Infinity;
  let ymax = -Infinity;
  for (const s of data.series) {
    for (let i = 0; i < s.x.length; i++) {
      if (!usableX(s.x[i])) continue;
      for (const y of [s.y[i], s.band?.lo[i] ?? NaN, s.band?.hi[i] ?? NaN]) {
        if (!usable(y)) continue;
        xmin = Math.min(xmin, s.x[i]);
        xmax = Math.max(xmax, s.x[i]);
        ymin = Math.min(ymin, y);
        ymax = Math.max(ymax, y);
      }
    }
  }
  if (xmin === Infinity) {
    if (logY) throw new Error('lineChart: options.logY needs positive y values, and there are none');
    if (logX) throw new Error('lineChart: options.logX needs positive x values, and there are none');
    [xmin, xmax, ymin, ymax] = [0, 1, 0, 1];
  }
  const xDomain = options.xDomain ?? [xmin, xmax];
  const yDomain = options.yDomain ?? [ymin, ymax];
  const fs = r.fontSize;
  const palette = colours(data.series, r.theme);
  const legend: LegendItem[] = data.series.map((s, i) => ({
    label: s.name,
    colour: palette[i],
    swatch: s.kind === 'eval' ? 'dashed' : 'line',
  }));

  const frame = chartFrame(r, {
    xLabel: options.xLabel,
    yLabel: options.yLabel,
    legend,
    // Steps run edge to edge; y is rounded out to nice values unless fixed.
    x: (w): Axis<NumericScale> =>
      logX ? logAxis(xDomain, w, fs, 'x') : linearAxis(xDomain, w, fs, 'x', { nice: false }),
    y: (h): Axis<NumericScale> =>
      logY ? logAxis(yDomain, h, fs, 'y') : linearAxis(yDomain, h, fs, 'y', { nice: !options.yDomain }),
  });
  const { plot } = frame;
  const sx = (v: number) => plot.x + frame.x.scale(v);
  const sy = (v: number) => plot.y + frame.y.scale(v);
  const path = line<[number, number]>()
    .defined(([x, y]) => usableX(x) && usable(y))
    .x(([x]) => sx(x))
    .y(([, y]) => sy(y))
    .digits(2);
  const bandPath = area<[number, number, number]>()
    .defined(([x, lo, hi]) => usableX(x) && usable(lo) && usable(hi))
    .x(([x]) => sx(x))
    .y0(([, lo]) => sy(lo))
    .y1(([, , hi]) => sy(hi))
    .digits(2);

  // Bands first, under every curve.
  const marks: string[] = [];
  data.series.forEach((s, i) => {
    if (!s.band) return;
    const { lo, hi } = s.band;
    const edges = s.x.map((x, j) => [x, lo[j], hi[j]] as [number, number, number]);
    marks.push(
      el('path', { d: bandPath(edges) ?? '', fill: palette[i], 'fill-opacity': 0.16, stroke: 'none' }),
    );
  });
  data.series.forEach((s, i) => {
    const colour = palette[i];
    const points = s.x.map((x, j) => [x, s.y[j]] as [number, number]);
    if (s.kind === 'eval') {
      marks.push(
        el('path', {
          d: path(points) ?? '',
          fill: 'none',
          stroke: colour,
          'stroke-width': 1.75,
          'stroke-dasharray': '5 3',
        }),
      );
      const dots = points
        .filter(([x, y]) => usableX(x) && usable(y))
        .map(([x, y]) => el('circle', { cx: sx(x), cy: sy(y), r: 2.6 }));
      if (dots.length <= 200) marks.push(el('g', { fill: colour }, dots));
      return;
    }
    if (smoothing > 0) {
      const smooth = emaSmooth(
        s.y.map((y) => (usable(y) ? y : NaN)),
        smoothing,
      );
      marks.push(
        el('path', {
          d: path(points) ?? '',
          fill: 'none',
          stroke: colour,
          'stroke-width': 1,
          'stroke-opacity': 0.28,
        }),
      );
      const smoothPoints = s.x.map((x, j) => [x, smooth[j]] as [number, number]);
      marks.push(
        el('path', { d: path(smoothPoints) ?? '', fill: 'none', stroke: colour, 'stroke-width': 1.9 }),
      );
    } else {
      marks.push(el('path', { d: path(points) ?? '', fill: 'none', stroke: colour, 'stroke-width': 1.75 }));
    }
  });
  return chartSvg(frame, el('g', { 'stroke-linejoin': 'round', 'stroke-linecap': 'round' }, marks));
}
