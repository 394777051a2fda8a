// Grouped bars: one group per category (e.g. layer), one bar per series (e.g. base / DPO / DecPO),
// optional error bars.
import { scaleBand } from 'd3';
import { bandAxis, linearAxis } from './axes.js';
import { chartFrame, chartSvg, checkNumbers, resolveOptions, type LegendItem } from './layout.js';
import { el, num } from './svg.js';
import { seriesColour } from './theme.js';
import type { GroupedBarData, GroupedBarOptions } from './types.js';

/** The [lo, hi] interval of an error entry around `value`, or undefined for none. */
export function errorInterval(
  value: number,
  error: number | [number, number] | null | undefined,
): [number, number] | undefined {
  if (error === null || error === undefined) return undefined;
  if (typeof error === 'number') return [value - error, value + error];
  return [Math.min(error[0], error[1]), Math.max(error[0], error[1])];
}

function check(data: GroupedBarData): void {
  if (!data || !Array.isArray(data.groups) || !Array.isArray(data.series)) {
    throw new Error('groupedBarChart: data needs groups (array of labels) and series (array)');
  }
  data.series.forEach((s, i) => {
    const where = `series[${i}] "${s.name}"`;
    if (!Array.isArray(s.values) || s.values.length !== data.groups.length) {
      throw new Error(
        `groupedBarChart: ${where}: values has ${s.values?.length} entries, groups has ${data.groups.length}`,
      );
    }
    checkNumbers('groupedBarChart', `${where}.values`, s.values, true);
    if (s.errors !== undefined && s.errors.length !== data.groups.length) {
      throw new Error(
        `groupedBarChart: ${where}: errors has ${s.errors.length} entries, groups has ${data.groups.length}`,
      );
    }
    s.errors?.forEach((e, j) => {
      const bad =
        e !== null && (typeof e === 'number' ? !(e >= 0) : !Array.isArray(e) || !e.every(Number.isFinite));
      if (bad)
        throw new Error(`groupedBarChart: ${where}.errors[${j}] must be a half-width ≥ 0, [lo, hi] or null`);
    });
  });
}

/**
 * A grouped bar chart as an SVG string: bars from zero for each series within each group, optional error
 * bars (± half-width or [lo, hi]), a legend of the series, and y as numbers or percentages.
 */
export function groupedBarChart(data: GroupedBarData, options: GroupedBarOptions = {}): string {
  check(data);
  const r = resolveOptions('groupedBarChart', options);
  const fs = r.fontSize;
  let lo = 0;
  let hi = 0;
  for (const s of data.series) {
    s.values.forEach((v, j) => {
      if (!Number.isFinite(v)) return;
      const [a, b] = errorInterval(v, s.errors?.[j]) ?? [v, v];
      lo = Math.min(lo, v, a);
      hi = Math.max(hi, v, b);
    });
  }
  const yDomain = options.yDomain ?? [lo, hi === lo ? lo + 1 : hi];
  const colours = data.series.map((s, i) => seriesColour(r.theme, i, s.colour, s.stage));
  const legend: LegendItem[] = data.series.map((s, i) => ({
    label: s.name,
    colour: colours[i],
    swatch: 'rect',
  }));
  const frame = chartFrame(r, {
    xLabel: options.xLabel,
    yLabel: options.yLabel,
    legend,
    x: (w) => bandAxis(data.groups, w, fs, 'x', 0.22),
    y: (h) =>
      linearAxis(yDomain, h, fs, 'y', { nice: !options.yDomain, format: options.percent ? '%' : undefined }),
  });
  const { plot } = frame;
  const group = frame.x.scale;
  const inner = scaleBand<number>()
    .domain(data.series.map((_, i) => i))
    .range([0, group.bandwidth()])
    .paddingInner(data.series.length > 1 ? 0.08 : 0);
  const sy = (v: number) => plot.y + frame.y.scale(v);
  const zero = sy(Math.max(frame.y.scale.domain()[0], Math.min(0, frame.y.scale.domain()[1])));

  const bars: string[] = [];
  const whiskers: string[] = [];
  data.series.forEach((s, i) => {
    const rects: string[] = [];
    s.values.forEach((v, j) => {
      if (!Number.isFinite(v)) return;
      const x = plot.x + group(String(j))! + inner(i)!;
      const y = sy(v);
      rects.push(
        el('rect', { x, y: Math.min(y, zero), width: inner.bandwidth(), height: Math.abs(zero - y) }),
      );
      const e = errorInterval(v, s.errors?.[j]);
      if (e) {
        const cx = x + inner.bandwidth() / 2;
        const cap = Math.min(inner.bandwidth() * 0.35, fs * 0.45);
        const [y1, y2] = [sy(e[0]), sy(e[1])];
        whiskers.push(
          `M${num(cx)} ${num(y1)}V${num(y2)}M${num(cx - cap)} ${num(y1)}h${num(2 * cap)}M${num(cx - cap)} ${num(y2)}h${num(2 * cap)}`,
        );
      }
    });
    bars.push(el('g', { fill: colours[i], class: 'series' }, rects));
  });
  const marks =
    bars.join('') +
    (whiskers.length > 0
      ? el('path', { d: whiskers.join(''), stroke: r.theme.foreground, 'stroke-width': 1.2, fill: 'none' })
      : '') +
    (lo < 0
      ? el('line', {
          x1: plot.x,
          x2: plot.x + plot.w,
          y1: zero,
          y2: zero,
          stroke: r.theme.axis,
          'stroke-width': 1,
        })
      : '');
  return chartSvg(frame, marks);
}
