// Heatmaps of matrices up to thousands of rows and columns (e.g. a layer's neuron–neuron correlations):
// the cells are one PNG raster embedded in the SVG, with a colour bar beside it.
import { scaleLinear } from 'd3';
import { bandAxis, linearAxis, ticksFit, type Axis, type Orient, type Tick } from './axes.js';
import { chartFrame, chartSvg, checkNumbers, resolveOptions, type Resolved } from './layout.js';
import { rgbaToPngDataUrl } from './png.js';
import { el, num, text } from './svg.js';
import { textWidth } from './text.js';
import { colourBytes, type Theme } from './theme.js';
import type { HeatmapData, HeatmapOptions } from './types.js';

/** Largest side accepted; 4,096² cells is a 64 MiB raster. */
export const MAX_HEATMAP_SIDE = 4096;

const LUT_SIZE = 1024;

/** A colour mapping: value → t in [0, 1] of the theme's ramp, and the domain it spans. */
export interface ColourScale {
  kind: 'diverging' | 'sequential';
  domain: [number, number];
  /** Position on the colour ramp of `value`, clamped to [0, 1]. */
  t: (value: number) => number;
  colour: (value: number) => string;
}

/**
 * The heatmap's colour scale. Diverging: 0 maps to the neutral middle (t = 0.5), the domain's ends to the
 * ramp's ends (each side scaled separately, so an asymmetric domain keeps 0 neutral); default domain
 * [−m, m] with m = max |value|. Sequential: linear from the domain's min to max (default the data's range).
 */
export function heatmapColourScale(
  values: ArrayLike<number>,
  options: HeatmapOptions,
  theme: Theme,
): ColourScale {
  const kind = options.scale ?? 'diverging';
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (lo === Infinity) [lo, hi] = [0, 0];
  if (kind === 'diverging') {
    const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    const [a, b] = options.domain ?? [-m, m];
    if (!(a < 0 && b > 0))
      throw new Error(`heatmap: a diverging options.domain must contain 0 inside, got [${a}, ${b}]`);
    const t = (v: number) => (v >= 0 ? 0.5 + 0.5 * Math.min(1, v / b) : 0.5 - 0.5 * Math.min(1, v / a));
    return { kind, domain: [a, b], t, colour: (v) => theme.diverging(t(v)) };
  }
  if (kind !== 'sequential')
    throw new Error(`heatmap: options.scale must be 'diverging' or 'sequential', got ${String(kind)}`);
  const [a, b] = options.domain ?? (lo === hi ? [lo - 1, hi + 1] : [lo, hi]);
  if (!(b > a)) throw new Error(`heatmap: options.domain must have min < max, got [${a}, ${b}]`);
  const t = (v: number) => Math.max(0, Math.min(1, (v - a) / (b - a)));
  return { kind, domain: [a, b], t, colour: (v) => theme.sequential(t(v)) };
}

function checkOrder(order: number[] | undefined, n: number, field: string): void {
  if (order === undefined) return;
  if (!Array.isArray(order) || order.length !== n) {
    throw new Error(`heatmap: options.${field} must list all ${n} indices, got ${order?.length ?? 'none'}`);
  }
  const seen = new Uint8Array(n);
  order.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v >= n || seen[v]) {
      throw new Error(`heatmap: options.${field}[${i}] = ${v} is not a new index in 0…${n - 1}`);
    }
    seen[v] = 1;
  });
}

function check(data: HeatmapData, options: HeatmapOptions): void {
  const { rows, cols } = data ?? {};
  for (const [name, n] of [
    ['rows', rows],
    ['cols', cols],
  ] as const) {
    if (!Number.isInteger(n) || n < 1 || n > MAX_HEATMAP_SIDE) {
      throw new Error(
        `heatmap: data.${name} must be an integer from 1 to ${MAX_HEATMAP_SIDE}, got ${String(n)}`,
      );
    }
  }
  if (!data.values || data.values.length !== rows * cols) {
    throw new Error(
      `heatmap: data.values must hold rows × cols = ${rows * cols} numbers, got ${data.values?.length}`,
    );
  }
  checkNumbers('heatmap', 'data.values', data.values, true);
  if (data.rowNames && data.rowNames.length !== rows)
    throw new Error(`heatmap: data.rowNames has ${data.rowNames.length} names for ${rows} rows`);
  if (data.colNames && data.colNames.length !== cols)
    throw new Error(`heatmap: data.colNames has ${data.colNames.length} names for ${cols} cols`);
  checkOrder(options.rowOrder, rows, 'rowOrder');
  checkOrder(options.colOrder, cols, 'colOrder');
}

/**
 * Pixels per cell side of the embedded raster. Viewers smooth scaled images (browsers ignore SVG's
 * image-rendering), so a cell larger than a pixel is drawn as a block of k × k pixels, with k enough for
 * 3.2× zoom (300 dpi): smoothing then only touches cell edges. Capped at 1,024 px a side.
 */
export function cellPixels(rows: number, cols: number, plotW: number, plotH: number): number {
  const perCell = Math.min(plotW / cols, plotH / rows);
  if (perCell <= 1) return 1;
  return Math.max(1, Math.min(Math.floor(1024 / Math.max(rows, cols)), Math.ceil(3.2 * perCell)));
}

/**
 * The heatmap's cells as an RGBA raster of (cols · k) × (rows · k) pixels, each cell a k × k block, rows
 * top to bottom in display order, NaN transparent; colours through a 1,024-step lookup table.
 */
export function heatmapRaster(
  data: HeatmapData,
  options: HeatmapOptions,
  scale: ColourScale,
  theme: Theme,
  k = 1,
): Uint8Array {
  const { rows, cols, values } = data;
  const lut = new Uint8Array(LUT_SIZE * 3);
  const ramp = scale.kind === 'diverging' ? theme.diverging : theme.sequential;
  for (let i = 0; i < LUT_SIZE; i++) lut.set(colourBytes(ramp(i / (LUT_SIZE - 1))), 3 * i);
  const width = cols * k;
  const rgba = new Uint8Array(rows * k * width * 4);
  for (let r = 0; r < rows; r++) {
    const row = options.rowOrder ? options.rowOrder[r] : r;
    const start = 4 * r * k * width;
    for (let c = 0; c < cols; c++) {
      const col = options.colOrder ? options.colOrder[c] : c;
      const v = values[row * cols + col];
      if (Number.isNaN(v)) continue;
      const i = 3 * Math.round(scale.t(v) * (LUT_SIZE - 1));
      for (let x = c * k; x < (c + 1) * k; x++) {
        const o = start + 4 * x;
        rgba[o] = lut[i];
        rgba[o + 1] = lut[i + 1];
        rgba[o + 2] = lut[i + 2];
        rgba[o + 3] = 255;
      }
    }
    // The block's other pixel rows repeat its first.
    for (let y = 1; y < k; y++) rgba.copyWithin(start + 4 * y * width, start, start + 4 * width);
  }
  return rgba;
}

/** Integer index ticks at cell centres (0 … n−1) along `length` px, as many as fit. */
function indexAxis(n: number, length: number, fontSize: number, orient: Orient): Axis<(i: number) => number> {
  const scale = scaleLinear().domain([0, n]).range([0, length]);
  const pos = (i: number) => scale(i + 0.5);
  for (let count = Math.max(2, Math.round(length / (fontSize * 4))); count >= 1; count--) {
    const ticks: Tick[] = scale
      .ticks(count)
      .filter((v) => Number.isInteger(v) && v < n)
      .map((v) => ({ pos: pos(v), label: String(v) }));
    if (ticksFit(ticks, fontSize, orient)) return { scale: pos, ticks, minor: [] };
  }
  return { scale: pos, ticks: [], minor: [] };
}

/** The axis of one side: names when given and they fit, else indices, none when the order is permuted. */
function sideAxis(
  n: number,
  names: string[] | undefined,
  order: number[] | undefined,
  length: number,
  fs: number,
  orient: Orient,
) {
  if (names) {
    const shown = order ? order.map((i) => names[i]) : names;
    const band = bandAxis(shown, length, fs, orient, 0);
    if (band.ticks.length === n) return { scale: (i: number) => i, ticks: band.ticks, minor: [] };
  }
  if (order) return { scale: (i: number) => i, ticks: [], minor: [] };
  return indexAxis(n, length, fs, orient);
}

/** Width of the colour bar block right of the plot: gap, bar, ticks, labels and its title. */
function colourbarWidth(r: Resolved, scale: ColourScale, label: string | undefined): number {
  const fs = r.fontSize;
  const probe = linearAxis(scale.domain, 300, fs, 'y', { nice: false });
  const labels = probe.ticks.reduce((w, t) => Math.max(w, textWidth(t.label, fs)), 0);
  return fs * 1.2 + 12 + 4 + 3 + labels + (label ? fs * 1.8 : 0);
}

/** The colour bar: a gradient rectangle beside the plot with ticks, labels and a rotated title. */
function colourbarSvg(
  r: Resolved,
  scale: ColourScale,
  plot: { x: number; y: number; w: number; h: number },
  label?: string,
): string {
  const fs = r.fontSize;
  const x = plot.x + plot.w + fs * 1.2;
  const id = `${r.id}-colourbar`;
  const stops: string[] = [];
  const [a, b] = scale.domain;
  for (let k = 0; k <= 32; k++) {
    const v = b - ((b - a) * k) / 32;
    stops.push(el('stop', { offset: `${num((100 * k) / 32)}%`, 'stop-color': scale.colour(v) }));
  }
  const axis = linearAxis(scale.domain, plot.h, fs, 'y', { nice: false });
  const parts = [
    el('linearGradient', { id, x1: 0, y1: 0, x2: 0, y2: 1 }, stops),
    el('rect', {
      x,
      y: plot.y,
      width: 12,
      height: plot.h,
      fill: `url(#${id})`,
      stroke: r.theme.axis,
      'stroke-width': 0.5,
    }),
    el('path', {
      d: axis.ticks.map((t) => `M${num(x + 12)} ${num(plot.y + t.pos)}h4`).join(''),
      stroke: r.theme.axis,
    }),
    ...axis.ticks.map((t) =>
      text(t.label, { x: x + 12 + 4 + 3, y: plot.y + t.pos + fs * 0.35, fill: r.theme.foreground }),
    ),
  ];
  if (label) {
    const labelsWidth = axis.ticks.reduce((w, t) => Math.max(w, textWidth(t.label, fs)), 0);
    const cx = x + 12 + 7 + labelsWidth + fs * 1.1;
    const cy = plot.y + plot.h / 2;
    parts.push(
      text(label, {
        x: cx,
        y: cy,
        transform: `rotate(-90 ${num(cx)} ${num(cy)})`,
        'text-anchor': 'middle',
        fill: r.theme.foreground,
      }),
    );
  }
  return el('g', { class: 'colourbar', 'font-size': fs }, parts);
}

/**
 * A heatmap as an SVG string: the matrix as an embedded PNG (a block of pixels per cell, see
 * `cellPixels`), axes of names or indices, optional row/column order, and a colour bar. Square matrices
 * get a square plot.
 */
export function heatmap(data: HeatmapData, options: HeatmapOptions = {}): string {
  check(data, options);
  let r = resolveOptions('heatmap', { ...options, legend: 'none' }, { width: 560, height: 500 });
  const fs = r.fontSize;
  const scale = heatmapColourScale(data.values, options, r.theme);
  const reserve = colourbarWidth(r, scale, options.colourbarLabel);
  const layout = (res: Resolved, extraRight: number) =>
    chartFrame(res, {
      xLabel: options.xLabel,
      yLabel: options.yLabel,
      legend: [],
      x: (w) => sideAxis(data.cols, data.colNames, options.colOrder, w, fs, 'x'),
      y: (h) => sideAxis(data.rows, data.rowNames, options.rowOrder, h, fs, 'y'),
      reserveRight: reserve + extraRight,
      yGrid: false,
    });
  let frame = layout(r, 0);
  if (data.rows === data.cols && Math.abs(frame.plot.w - frame.plot.h) > 1) {
    // Square cells: give the surplus width to the right margin, or shorten the figure.
    if (frame.plot.w > frame.plot.h) {
      frame = layout(r, frame.plot.w - frame.plot.h);
    } else {
      r = { ...r, height: r.height - (frame.plot.h - frame.plot.w) };
      frame = layout(r, 0);
    }
  }
  const { plot } = frame;
  const k = cellPixels(data.rows, data.cols, plot.w, plot.h);
  const rgba = heatmapRaster(data, options, scale, r.theme, k);
  const crisp = plot.w / data.cols >= 1 && plot.h / data.rows >= 1;
  const image = el('image', {
    x: plot.x,
    y: plot.y,
    width: plot.w,
    height: plot.h,
    preserveAspectRatio: 'none',
    'image-rendering': crisp ? 'optimizeSpeed' : undefined,
    href: rgbaToPngDataUrl(data.cols * k, data.rows * k, rgba),
  });
  const outline = el('rect', {
    x: plot.x,
    y: plot.y,
    width: plot.w,
    height: plot.h,
    fill: 'none',
    stroke: r.theme.axis,
    'stroke-width': 0.5,
  });
  return chartSvg(frame, image, {
    clip: false,
    overlay: outline + colourbarSvg(r, scale, plot, options.colourbarLabel),
  });
}
