// Histograms: activation histograms coloured by quantile band (count, density or log10 density), and null
// distributions with the observed statistic and its p-value.
import { format } from 'd3';
import { linearAxis, logAxis, powerOfTenLabel, type Axis, type NumericScale } from './axes.js';
import { chartFrame, chartSvg, checkNumbers, resolveOptions, type LegendItem } from './layout.js';
import { el, text } from './svg.js';
import { textWidth } from './text.js';
import type { Bins, ChartOptions, HistogramData, HistogramOptions, NullHistogramData } from './types.js';

/** Throws unless edges ascend strictly and there is one non-negative count per bin. */
export function checkBins(figure: string, field: string, bins: Bins): void {
  if (!bins || !Array.isArray(bins.edges) || !Array.isArray(bins.counts)) {
    throw new Error(`${figure}: ${field} needs edges and counts arrays`);
  }
  if (bins.counts.length === 0) throw new Error(`${figure}: ${field}.counts is empty`);
  if (bins.edges.length !== bins.counts.length + 1) {
    throw new Error(
      `${figure}: ${field} has ${bins.counts.length} counts, so it needs ${bins.counts.length + 1} edges, got ${bins.edges.length}`,
    );
  }
  checkNumbers(figure, `${field}.edges`, bins.edges);
  checkNumbers(figure, `${field}.counts`, bins.counts);
  for (let i = 1; i < bins.edges.length; i++) {
    if (!(bins.edges[i] > bins.edges[i - 1]))
      throw new Error(`${figure}: ${field}.edges must increase (at index ${i})`);
  }
  bins.counts.forEach((c, i) => {
    if (c < 0) throw new Error(`${figure}: ${field}.counts[${i}] is negative`);
  });
}

/** Density of each bin: count / (N · width), so that the bars' area sums to 1. */
export function binDensities(bins: Bins): number[] {
  const total = bins.counts.reduce((a, b) => a + b, 0);
  return bins.counts.map((c, i) => (total === 0 ? 0 : c / (total * (bins.edges[i + 1] - bins.edges[i]))));
}

/** The p-value as text: two significant digits, `a × 10⁻ᵏ` below 0.001. */
export function formatPValue(p: number): string {
  if (!(p >= 0 && p <= 1)) throw new Error(`p-value must be in [0, 1], got ${p}`);
  if (p === 0) return '0';
  if (p >= 0.001) return format('.2g')(p);
  let k = Math.floor(Math.log10(p));
  let mantissa = Number((p / Math.pow(10, k)).toFixed(1));
  if (mantissa >= 10) [mantissa, k] = [mantissa / 10, k + 1];
  return `${mantissa.toFixed(1)} × ${powerOfTenLabel(k, true)}`;
}

/** Bars of `bins` with heights `ys` on a laid-out frame, each bin filled with `fill(i)`. */
function barsSvg(
  bins: Bins,
  ys: number[],
  plot: { x: number; y: number; w: number; h: number },
  sx: (v: number) => number,
  y: Axis<NumericScale>,
  fill: (i: number) => string,
  log: boolean,
): string {
  const base = plot.y + (log ? plot.h : y.scale(Math.max(0, y.scale.domain()[0])));
  const out: string[] = [];
  for (let i = 0; i < ys.length; i++) {
    if (!(ys[i] > 0) && log) continue;
    if (ys[i] === 0) continue;
    const x0 = plot.x + sx(bins.edges[i]);
    const x1 = plot.x + sx(bins.edges[i + 1]);
    const gap = Math.min(1, (x1 - x0) * 0.12);
    const top = plot.y + y.scale(ys[i]);
    out.push(
      el('rect', {
        x: x0 + gap / 2,
        y: Math.min(top, base),
        width: Math.max(0.5, x1 - x0 - gap),
        height: Math.abs(base - top),
        fill: fill(i),
      }),
    );
  }
  return out.join('');
}

/**
 * An activation histogram as an SVG string. Bins are coloured by the band (quantile interval) their
 * centre falls in, with a legend of the bands; y shows counts, densities (count / (N · width)) or densities
 * on a log10 axis, where empty bins are left out.
 */
export function histogram(data: HistogramData, options: HistogramOptions = {}): string {
  checkBins('histogram', 'data', data);
  const r = resolveOptions('histogram', options);
  const mode = options.yMode ?? 'count';
  if (!['count', 'density', 'log10-density'].includes(mode)) {
    throw new Error(
      `histogram: options.yMode must be 'count', 'density' or 'log10-density', got ${String(mode)}`,
    );
  }
  const fs = r.fontSize;
  const ys = mode === 'count' ? data.counts : binDensities(data);
  const positive = ys.filter((v) => v > 0);
  if (mode === 'log10-density' && positive.length === 0)
    throw new Error('histogram: every bin is empty, nothing to draw on a log axis');
  const yDomain: [number, number] =
    options.yDomain ??
    (mode === 'log10-density'
      ? [Math.min(...positive) / 2, Math.max(...positive)]
      : [0, Math.max(1e-12, ...ys)]);
  const xDomain: [number, number] = options.xDomain ?? [data.edges[0], data.edges[data.edges.length - 1]];

  const bands = data.bands ?? [];
  bands.forEach((b, i) => {
    if (!(b.to > b.from)) throw new Error(`histogram: data.bands[${i}] "${b.label}" needs from < to`);
  });
  // Viridis from dark to light; on a dark background its darkest end is skipped.
  const [t0, t1] = r.theme.name === 'dark' ? [0.3, 0.95] : [0.12, 0.88];
  const bandColours = bands.map((_, k) =>
    r.theme.sequential(bands.length === 1 ? (t0 + t1) / 2 : t0 + ((t1 - t0) * k) / (bands.length - 1)),
  );
  const other = r.theme.muted;
  const bandOf = (i: number) => {
    const c = (data.edges[i] + data.edges[i + 1]) / 2;
    return bands.findIndex((b, k) => c >= b.from && (c < b.to || (k === bands.length - 1 && c <= b.to)));
  };
  const legend: LegendItem[] = bands.map((b, k) => ({
    label: b.label,
    colour: bandColours[k],
    swatch: 'rect',
  }));
  const defaultY = mode === 'count' ? 'count' : mode === 'density' ? 'density' : 'density (log scale)';
  const frame = chartFrame(r, {
    xLabel: options.xLabel,
    yLabel: options.yLabel ?? defaultY,
    legend,
    x: (w) => linearAxis(xDomain, w, fs, 'x', { nice: false }),
    y: (h): Axis<NumericScale> =>
      mode === 'log10-density'
        ? logAxis(yDomain, h, fs, 'y')
        : linearAxis(yDomain, h, fs, 'y', { nice: !options.yDomain }),
  });
  const fill = (i: number) => {
    if (bands.length === 0) return r.theme.categorical[0];
    const k = bandOf(i);
    return k < 0 ? other : bandColours[k];
  };
  const marks = barsSvg(data, ys, frame.plot, frame.x.scale, frame.y, fill, mode === 'log10-density');
  return chartSvg(frame, marks);
}

/**
 * A null-distribution histogram as an SVG string: the null statistics as grey bars, the observed value as a
 * vertical line, and a legend carrying N and the p-value.
 */
export function nullHistogram(data: NullHistogramData, options: ChartOptions = {}): string {
  checkBins('nullHistogram', 'data.null', data.null);
  checkNumbers('nullHistogram', 'data.observed', [data.observed]);
  const r = resolveOptions('nullHistogram', options);
  const fs = r.fontSize;
  const p = formatPValue(data.pValue);
  const n = data.null.counts.reduce((a, b) => a + b, 0);
  const edges = data.null.edges;
  let [lo, hi] = [edges[0], edges[edges.length - 1]];
  const span = hi - lo;
  lo = Math.min(lo, data.observed - span * 0.04);
  hi = Math.max(hi, data.observed + span * 0.04);
  const xDomain = options.xDomain ?? [lo, hi];
  const yDomain = options.yDomain ?? [0, Math.max(1, ...data.null.counts)];
  const nullColour = r.theme.name === 'dark' ? '#6b7280' : '#9aa1ab';
  const observedColour = r.theme.stages.dpo;
  const statistic = data.statistic ? `${data.statistic} ` : '';
  const legend: LegendItem[] = [
    { label: `null (N = ${format(',')(n)})`, colour: nullColour, swatch: 'rect' },
    {
      label: `observed ${statistic}= ${format('.3~g')(data.observed)} (p = ${p})`,
      colour: observedColour,
      swatch: 'vline',
    },
  ];
  const frame = chartFrame(r, {
    xLabel: options.xLabel ?? data.statistic,
    yLabel: options.yLabel ?? 'count',
    legend,
    x: (w) => linearAxis(xDomain, w, fs, 'x', { nice: !options.xDomain }),
    y: (h) => linearAxis(yDomain, h, fs, 'y', { nice: !options.yDomain }),
  });
  const { plot } = frame;
  const bars = barsSvg(data.null, data.null.counts, plot, frame.x.scale, frame.y, () => nullColour, false);
  const ox = plot.x + frame.x.scale(data.observed);
  const observed = el('line', {
    x1: ox,
    x2: ox,
    y1: plot.y,
    y2: plot.y + plot.h,
    stroke: observedColour,
    'stroke-width': 2,
  });
  const label = 'observed';
  const room = plot.x + plot.w - ox;
  const labelSvg = text(label, {
    x: room > textWidth(label, fs * 0.9) + fs ? ox + 4 : ox - 4,
    y: plot.y + fs * 0.9,
    'text-anchor': room > textWidth(label, fs * 0.9) + fs ? 'start' : 'end',
    'font-size': fs * 0.9,
    fill: observedColour,
  });
  return chartSvg(frame, bars + observed, { overlay: labelSvg });
}
