// The frame every x–y chart shares: title, legend, plot area, axes with labels, caption. Margins are
// measured from the actual text (tick labels, legend entries, wrapped caption), top to bottom:
// heights first (title, legend, x ticks, caption) give the plot height and so the y ticks, whose widths give
// the left margin and so the plot width and the x ticks.
import type { Axis } from './axes.js';
import { attrs, el, num, text } from './svg.js';
import { escapeXml, SANS, textWidth, truncateText, wrapText } from './text.js';
import { themeOf, type Theme } from './theme.js';
import type { Caption, ChartOptions, FigureOptions } from './types.js';

/** Figure options with defaults filled in and checked. */
export interface Resolved {
  figure: string;
  width: number;
  height: number;
  fontSize: number;
  theme: Theme;
  title?: string;
  subtitle?: string;
  caption?: string;
  legend: 'top' | 'right' | 'none';
  transparent: boolean;
  id: string;
}

/** `options` with defaults (640 × 400 px, 12 px text, light theme), or an error naming the bad field. */
export function resolveOptions(
  figure: string,
  options: FigureOptions & { legend?: ChartOptions['legend'] } = {},
  defaults: { width?: number; height?: number } = {},
): Resolved {
  const width = options.width ?? defaults.width ?? 640;
  const height = options.height ?? defaults.height ?? 400;
  const fontSize = options.fontSize ?? 12;
  const check = (name: string, v: number, lo: number, hi: number) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
      throw new Error(`${figure}: options.${name} must be a number from ${lo} to ${hi}, got ${String(v)}`);
    }
  };
  check('width', width, 120, 20000);
  check('height', height, 80, 20000);
  check('fontSize', fontSize, 4, 72);
  if (options.theme !== undefined && options.theme !== 'light' && options.theme !== 'dark') {
    throw new Error(`${figure}: options.theme must be 'light' or 'dark', got ${String(options.theme)}`);
  }
  const legend = options.legend ?? 'top';
  if (!['top', 'right', 'none'].includes(legend)) {
    throw new Error(`${figure}: options.legend must be 'top', 'right' or 'none', got ${String(legend)}`);
  }
  return {
    figure,
    width,
    height,
    fontSize,
    theme: themeOf(options.theme),
    title: options.title,
    subtitle: options.subtitle,
    caption: captionText(options.caption),
    legend,
    transparent: options.transparent ?? false,
    id: (options.id ?? 'fig').replace(/[^A-Za-z0-9_-]/g, '_'),
  };
}

/** The caption as one line of text: fields become `key: value · key: value`. */
export function captionText(caption: Caption | undefined): string | undefined {
  if (caption === undefined) return undefined;
  if (typeof caption === 'string') return caption;
  return Object.entries(caption)
    .map(
      ([k, v]) =>
        `${k}: ${typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 6 }) : v}`,
    )
    .join(' · ');
}

/** Throws a clear error unless every value is a finite number (or NaN where gaps are allowed). */
export function checkNumbers(
  figure: string,
  field: string,
  values: ArrayLike<number>,
  allowNaN = false,
): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || (!Number.isFinite(v) && !(allowNaN && Number.isNaN(v)))) {
      throw new Error(`${figure}: ${field}[${i}] must be a finite number, got ${String(v)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Legend

export interface LegendItem {
  label: string;
  colour: string;
  swatch: 'line' | 'dashed' | 'rect' | 'point' | 'vline';
}

interface PlacedItem extends LegendItem {
  x: number;
  y: number;
}

function legendItemWidth(item: LegendItem, fs: number): number {
  return fs * 1.6 + fs * 0.45 + textWidth(item.label, fs);
}

/** Legend items placed in rows no wider than `maxWidth`, from (0, 0); returns the rows' total height. */
function layoutLegendRows(
  items: LegendItem[],
  maxWidth: number,
  fs: number,
): { placed: PlacedItem[]; height: number } {
  const lineHeight = fs * 1.5;
  const placed: PlacedItem[] = [];
  let x = 0;
  let row = 0;
  for (const item0 of items) {
    const item = { ...item0, label: truncateText(item0.label, maxWidth - fs * 2.1, fs) };
    const w = legendItemWidth(item, fs);
    if (x > 0 && x + w > maxWidth) {
      row++;
      x = 0;
    }
    placed.push({ ...item, x, y: row * lineHeight });
    x += w + fs * 1.2;
  }
  return { placed, height: items.length === 0 ? 0 : (row + 1) * lineHeight };
}

/** Legend items in one column whose labels are cut to `maxWidth`; returns the column's width. */
function layoutLegendColumn(
  items: LegendItem[],
  maxWidth: number,
  fs: number,
): { placed: PlacedItem[]; width: number } {
  const placed = items.map((item, i) => ({
    ...item,
    label: truncateText(item.label, maxWidth - fs * 2.1, fs),
    x: 0,
    y: i * fs * 1.5,
  }));
  const width = placed.reduce((w, item) => Math.max(w, legendItemWidth(item, fs)), 0);
  return { placed, width };
}

/** The markup of placed legend items, offset by (x0, y0) = top-left of the first row. */
function legendSvg(placed: PlacedItem[], x0: number, y0: number, fs: number, theme: Theme): string {
  const parts: string[] = [];
  for (const item of placed) {
    const x = x0 + item.x;
    const cy = y0 + item.y + fs * 0.75;
    const sw = fs * 1.6;
    if (item.swatch === 'rect') {
      parts.push(
        el('rect', {
          x: x + sw / 2 - fs * 0.4,
          y: cy - fs * 0.4,
          width: fs * 0.8,
          height: fs * 0.8,
          rx: 1.5,
          fill: item.colour,
        }),
      );
    } else if (item.swatch === 'point') {
      parts.push(el('circle', { cx: x + sw / 2, cy, r: fs * 0.3, fill: item.colour }));
    } else if (item.swatch === 'vline') {
      parts.push(
        el('line', {
          x1: x + sw / 2,
          x2: x + sw / 2,
          y1: cy - fs * 0.55,
          y2: cy + fs * 0.55,
          stroke: item.colour,
          'stroke-width': 2,
        }),
      );
    } else {
      parts.push(
        el('line', {
          x1: x,
          x2: x + sw,
          y1: cy,
          y2: cy,
          stroke: item.colour,
          'stroke-width': 2,
          'stroke-dasharray': item.swatch === 'dashed' ? '4 2.5' : undefined,
        }),
      );
      if (item.swatch === 'dashed')
        parts.push(el('circle', { cx: x + sw / 2, cy, r: 2.2, fill: item.colour }));
    }
    parts.push(text(item.label, { x: x + sw + fs * 0.45, y: cy + fs * 0.35, fill: theme.foreground }));
  }
  return el('g', { class: 'legend', 'font-size': fs }, parts);
}

// ---------------------------------------------------------------------------------------------------------
// Header and caption

/** Title and subtitle lines from `top`; returns markup and the y below them. */
export function headerSvg(r: Resolved, top: number): { svg: string; bottom: number } {
  const fs = r.fontSize;
  const pad = fs;
  const parts: string[] = [];
  let y = top;
  if (r.title) {
    const size = fs * 1.25;
    y += size;
    parts.push(
      text(truncateText(r.title, r.width - 2 * pad, size, 'semibold'), {
        x: pad,
        y,
        'font-size': size,
        'font-weight': 600,
        fill: r.theme.foreground,
      }),
    );
    y += size * 0.35;
  }
  if (r.subtitle) {
    for (const line of wrapText(r.subtitle, r.width - 2 * pad, fs)) {
      y += fs * 1.3;
      parts.push(text(line, { x: pad, y, 'font-size': fs, fill: r.theme.muted }));
    }
    y += fs * 0.3;
  }
  return { svg: el('g', { class: 'header' }, parts), bottom: y };
}

/** The caption's lines wrapped to the figure width, at 0.85 × the font size. */
export function captionLines(r: Resolved): string[] {
  if (!r.caption) return [];
  return wrapText(r.caption, r.width - 2 * r.fontSize, r.fontSize * 0.85);
}

/** The caption's height in px (0 without a caption). */
export function captionHeight(r: Resolved): number {
  const lines = captionLines(r).length;
  return lines === 0 ? 0 : lines * r.fontSize * 0.85 * 1.35 + r.fontSize * 0.5;
}

/** Caption markup ending at `bottom` (the figure's bottom padding line). */
export function captionSvg(r: Resolved, bottom: number): string {
  const lines = captionLines(r);
  if (lines.length === 0) return '';
  const size = r.fontSize * 0.85;
  const step = size * 1.35;
  const first = bottom - (lines.length - 1) * step - size * 0.3;
  return el(
    'g',
    { class: 'caption', 'font-size': size, fill: r.theme.muted },
    lines.map((line, i) => text(line, { x: r.fontSize, y: first + i * step })),
  );
}

// ---------------------------------------------------------------------------------------------------------
// The chart frame

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface FrameSpec<XS, YS> {
  xLabel?: string;
  yLabel?: string;
  legend: LegendItem[];
  /** Builds the x axis for a plot `w` px wide. */
  x: (w: number) => Axis<XS>;
  /** Builds the y axis for a plot `h` px high. */
  y: (h: number) => Axis<YS>;
  /** Extra px kept free right of the plot (e.g. a colour bar). */
  reserveRight?: number;
  xGrid?: boolean;
  yGrid?: boolean;
}

export interface Frame<XS, YS> {
  r: Resolved;
  plot: Rect;
  x: Axis<XS>;
  y: Axis<YS>;
  spec: FrameSpec<XS, YS>;
  header: string;
  legend: string;
}

const TICK = 4;

/** Lays out a chart: measures header, legend, ticks and caption, and places the plot rectangle. */
export function chartFrame<XS, YS>(r: Resolved, spec: FrameSpec<XS, YS>): Frame<XS, YS> {
  const fs = r.fontSize;
  const pad = fs;
  const header = headerSvg(r, pad * 0.5);
  const showLegend = r.legend !== 'none' && spec.legend.length > 0;

  // Heights: header, top legend, x tick labels and label, caption.
  let top = header.bottom + fs * 0.6;
  let legendTop: { placed: PlacedItem[]; height: number } | undefined;
  if (showLegend && r.legend === 'top') {
    legendTop = layoutLegendRows(spec.legend, r.width - 2 * pad, fs);
    top += legendTop.height + fs * 0.4;
  }
  top = Math.max(top, pad);
  const xLabelBlock = spec.xLabel ? fs * 1.6 : 0;
  const bottom = TICK + 3 + fs * 1.05 + xLabelBlock + captionHeight(r) + pad * 0.75;
  const h = r.height - top - bottom;
  if (h < fs * 3) {
    throw new Error(`${r.figure}: options.height ${r.height} px leaves no room for the plot; make it taller`);
  }
  const y = spec.y(h);

  // Widths: y label and tick labels on the left, legend column or reserved space on the right.
  const yTickWidth = y.ticks.reduce((w, t) => Math.max(w, textWidth(t.label, fs)), 0);
  const left = pad + (spec.yLabel ? fs * 1.7 : 0) + yTickWidth + TICK + 4;
  let legendRight: { placed: PlacedItem[]; width: number } | undefined;
  let right = pad + (spec.reserveRight ?? 0);
  if (showLegend && r.legend === 'right') {
    legendRight = layoutLegendColumn(spec.legend, r.width * 0.35, fs);
    right += legendRight.width + fs;
  }
  right = Math.max(right, pad * 1.5);
  const xAxisFor = (w: number) => {
    if (w < fs * 4) {
      throw new Error(`${r.figure}: options.width ${r.width} px leaves no room for the plot; make it wider`);
    }
    return spec.x(w);
  };
  let w = r.width - left - right;
  let x = xAxisFor(w);
  // The last x tick label is centred on its tick: if it would stick out of the figure, narrow the plot once.
  const last = x.ticks[x.ticks.length - 1];
  const overhang = last ? last.pos + textWidth(last.label, fs) / 2 - (w + right - pad * 0.5) : 0;
  if (overhang > 0) {
    w -= overhang;
    x = xAxisFor(w);
  }
  const plot = { x: left, y: top, w, h };

  let legend = '';
  if (legendTop) legend = legendSvg(legendTop.placed, pad, header.bottom + fs * 0.5, fs, r.theme);
  if (legendRight)
    legend = legendSvg(legendRight.placed, left + w + fs + (spec.reserveRight ?? 0), top, fs, r.theme);
  return { r, plot, x, y, spec, header: header.svg, legend };
}

/** Grid lines (under the marks) of a laid-out chart. */
function gridSvg<XS, YS>(f: Frame<XS, YS>): string {
  const { plot, r } = f;
  const parts: string[] = [];
  if (f.spec.yGrid !== false) {
    for (const t of f.y.ticks) {
      parts.push(el('line', { x1: plot.x, x2: plot.x + plot.w, y1: plot.y + t.pos, y2: plot.y + t.pos }));
    }
  }
  if (f.spec.xGrid) {
    for (const t of f.x.ticks) {
      parts.push(el('line', { x1: plot.x + t.pos, x2: plot.x + t.pos, y1: plot.y, y2: plot.y + plot.h }));
    }
  }
  return el('g', { class: 'grid', stroke: r.theme.grid, 'stroke-width': 1 }, parts);
}

/** The axes of a laid-out chart: left and bottom spines, outward ticks, tick labels, axis labels. */
function axesSvg<XS, YS>(f: Frame<XS, YS>): string {
  const { plot, r } = f;
  const fs = r.fontSize;
  const bottom = plot.y + plot.h;
  const parts: string[] = [];
  const stroke = { stroke: r.theme.axis, 'stroke-width': 1 };
  parts.push(el('line', { x1: plot.x, x2: plot.x + plot.w, y1: bottom + 0.5, y2: bottom + 0.5, ...stroke }));
  parts.push(el('line', { x1: plot.x - 0.5, x2: plot.x - 0.5, y1: plot.y, y2: bottom, ...stroke }));
  const ticks: string[] = [];
  for (const t of f.x.ticks) ticks.push(`M${num(plot.x + t.pos)} ${num(bottom)}v${TICK}`);
  for (const t of f.y.ticks) ticks.push(`M${num(plot.x)} ${num(plot.y + t.pos)}h${-TICK}`);
  parts.push(el('path', { d: ticks.join(''), ...stroke }));
  const minor: string[] = [];
  for (const p of f.x.minor) minor.push(`M${num(plot.x + p)} ${num(bottom)}v${TICK / 2}`);
  for (const p of f.y.minor) minor.push(`M${num(plot.x)} ${num(plot.y + p)}h${-TICK / 2}`);
  if (minor.length > 0) parts.push(el('path', { d: minor.join(''), ...stroke }));
  const labelY = bottom + TICK + 3 + fs * 0.8;
  parts.push(
    el(
      'g',
      { 'text-anchor': 'middle', fill: r.theme.foreground, class: 'x-ticks' },
      f.x.ticks.map((t) => text(t.label, { x: plot.x + t.pos, y: labelY })),
    ),
  );
  parts.push(
    el(
      'g',
      { 'text-anchor': 'end', fill: r.theme.foreground, class: 'y-ticks' },
      f.y.ticks.map((t) => text(t.label, { x: plot.x - TICK - 3, y: plot.y + t.pos + fs * 0.35 })),
    ),
  );
  if (f.spec.xLabel) {
    parts.push(
      text(truncateText(f.spec.xLabel, plot.w + plot.x, fs), {
        class: 'x-label',
        x: plot.x + plot.w / 2,
        y: labelY + fs * 1.55,
        'text-anchor': 'middle',
        fill: r.theme.foreground,
      }),
    );
  }
  if (f.spec.yLabel) {
    const cx = fs + fs * 0.45;
    const cy = plot.y + plot.h / 2;
    parts.push(
      text(truncateText(f.spec.yLabel, plot.h + plot.y, fs), {
        class: 'y-label',
        x: cx,
        y: cy,
        transform: `rotate(-90 ${num(cx)} ${num(cy)})`,
        'text-anchor': 'middle',
        fill: r.theme.foreground,
      }),
    );
  }
  return el('g', { class: 'axes', 'font-size': fs }, parts);
}

/**
 * The finished chart document: background, header, legend, grid, `marks` clipped to the plot (unless
 * `clip` is false), axes, `overlay` (unclipped, e.g. threshold labels) and caption.
 */
export function chartSvg<XS, YS>(
  f: Frame<XS, YS>,
  marks: string,
  opts: { clip?: boolean; overlay?: string } = {},
): string {
  const { plot, r } = f;
  const clipId = `${r.id}-plot`;
  const clip = opts.clip !== false;
  const body =
    f.header +
    f.legend +
    gridSvg(f) +
    (clip
      ? el(
          'clipPath',
          { id: clipId },
          el('rect', { x: plot.x, y: plot.y - 1, width: plot.w, height: plot.h + 2 }),
        ) + `<g clip-path="url(#${clipId})" class="marks">${marks}</g>`
      : `<g class="marks">${marks}</g>`) +
    axesSvg(f) +
    (opts.overlay ?? '') +
    captionSvg(r, r.height - r.fontSize * 0.75);
  return figureDocument(r, body);
}

/** Wraps `body` into the figure's SVG root with background, title and caption as metadata. */
export function figureDocument(r: Resolved, body: string): string {
  const w = r.width;
  const h = r.height;
  const desc = [r.subtitle, r.caption].filter(Boolean).join(' — ');
  const bg = r.transparent ? '' : el('rect', { width: w, height: h, fill: r.theme.background });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg"${attrs({
      width: w,
      height: h,
      viewBox: `0 0 ${num(w)} ${num(h)}`,
      'font-family': SANS,
      'font-size': r.fontSize,
      fill: r.theme.foreground,
      'data-figure': r.figure,
      'data-theme': r.theme.name,
    })}>` +
    (r.title ? `<title>${escapeXml(r.title)}</title>` : '') +
    (desc ? `<desc>${escapeXml(desc)}</desc>` : '') +
    bg +
    body +
    '</svg>'
  );
}
