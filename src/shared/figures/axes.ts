// Axes: d3 scales plus tick positions and labels chosen so that labels never overlap at the given length.
import {
  format,
  scaleBand,
  scaleLinear,
  scaleLog,
  type ScaleBand,
  type ScaleLinear,
  type ScaleLogarithmic,
} from 'd3';
import { textWidth, truncateText } from './text.js';

/** A labelled tick: `pos` in px from the plot's left (x) or top (y) edge. */
export interface Tick {
  pos: number;
  label: string;
}

/** A scale with its ticks; `minor` are unlabelled tick positions (log axes). */
export interface Axis<S> {
  scale: S;
  ticks: Tick[];
  minor: number[];
}

export type Orient = 'x' | 'y';

/** What linear and log scales have in common: value → px, and the domain. */
export interface NumericScale {
  (value: number): number;
  domain(): number[];
}

/** True when the labels at these positions leave a gap of at least 0.6 em (x) or fit 1.25 lines (y). */
export function ticksFit(ticks: Tick[], fontSize: number, orient: Orient): boolean {
  for (let i = 1; i < ticks.length; i++) {
    const gap = Math.abs(ticks[i].pos - ticks[i - 1].pos);
    const need =
      orient === 'y'
        ? fontSize * 1.25
        : (textWidth(ticks[i].label, fontSize) + textWidth(ticks[i - 1].label, fontSize)) / 2 +
          fontSize * 0.6;
    if (gap < need) return false;
  }
  return true;
}

/** `domain` widened when empty or degenerate, so that a scale over it is well defined. */
export function safeDomain(domain: [number, number]): [number, number] {
  let [lo, hi] = domain;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - pad, hi + pad];
  }
  return [lo, hi];
}

/**
 * A linear axis over `domain` spanning `length` px (x: left → right, y: bottom → top), rounded outward to
 * nice values unless `nice` is false, with as many ticks as fit without overlapping labels.
 */
export function linearAxis(
  domain: [number, number],
  length: number,
  fontSize: number,
  orient: Orient,
  opts: { nice?: boolean; format?: string } = {},
): Axis<ScaleLinear<number, number>> {
  const d = safeDomain(domain);
  const range = orient === 'x' ? [0, length] : [length, 0];
  const most = Math.max(2, Math.round(length / (orient === 'x' ? fontSize * 5 : fontSize * 3.4)));
  let fallback: Axis<ScaleLinear<number, number>> | undefined;
  for (let count = most; count >= 2; count--) {
    const scale = scaleLinear().domain(d).range(range);
    if (opts.nice !== false) scale.nice(count);
    // Large magnitudes read better with SI prefixes (200k, 1.5M) than with digits.
    const big = Math.max(Math.abs(d[0]), Math.abs(d[1])) >= 1e5;
    const fmt = scale.tickFormat(count, opts.format ?? (big ? '~s' : undefined));
    const ticks = scale.ticks(count).map((v) => ({ pos: scale(v), label: big && v === 0 ? '0' : fmt(v) }));
    const axis = { scale, ticks, minor: [] };
    fallback ??= axis;
    if (ticksFit(ticks, fontSize, orient)) return axis;
  }
  // Even two ticks overlap: keep the ends only.
  const { scale, ticks } = fallback!;
  return { scale, ticks: [ticks[0], ticks[ticks.length - 1]], minor: [] };
}

const SUPERSCRIPT: Record<string, string> = {
  '-': '⁻',
  '0': '⁰',
  '1': '¹',
  '2': '²',
  '3': '³',
  '4': '⁴',
  '5': '⁵',
  '6': '⁶',
  '7': '⁷',
  '8': '⁸',
  '9': '⁹',
};

/** 10^k as a label: `10` with a superscript exponent, or plainly (0.01, 1, 1000) unless `exponent`. */
export function powerOfTenLabel(k: number, exponent = true): string {
  if (!exponent) return format('~g')(Math.pow(10, k));
  return '10' + String(k).replace(/./g, (c) => SUPERSCRIPT[c]);
}

/**
 * A log10 axis over `domain` (both ends > 0), widened to whole decades. Decades are labelled (every k-th
 * when crowded), with 2…9 as minor ticks; within fewer than two decades 1, 2 and 5 are labelled too.
 */
export function logAxis(
  domain: [number, number],
  length: number,
  fontSize: number,
  orient: Orient,
): Axis<ScaleLogarithmic<number, number>> {
  const [dlo, dhi] = domain;
  if (!(dlo > 0) || !(dhi > 0)) throw new Error(`log axis: domain [${dlo}, ${dhi}] must be positive`);
  const lo = Math.floor(Math.log10(Math.min(dlo, dhi)) + 1e-9);
  let hi = Math.ceil(Math.log10(Math.max(dlo, dhi)) - 1e-9);
  if (hi <= lo) hi = lo + 1;
  const range = orient === 'x' ? [0, length] : [length, 0];
  const scale = scaleLog()
    .domain([Math.pow(10, lo), Math.pow(10, hi)])
    .range(range);
  const decades = hi - lo;
  // Plain numbers when every decade label is short (0.01 … 1000), else 10ⁿ throughout.
  const plain = lo >= -2 && hi <= 3;
  const decadeLabel = (k: number) => powerOfTenLabel(k, !plain);
  const minor: number[] = [];
  for (let k = lo; k < hi; k++) for (let m = 2; m <= 9; m++) minor.push(scale(m * Math.pow(10, k)));
  if (decades <= 2) {
    const ticks: Tick[] = [];
    for (let k = lo; k <= hi; k++) {
      for (const m of k === hi ? [1] : [1, 2, 5]) {
        const v = m * Math.pow(10, k);
        ticks.push({ pos: scale(v), label: m === 1 ? decadeLabel(k) : format('~g')(v) });
      }
    }
    if (ticksFit(ticks, fontSize, orient)) return { scale, ticks, minor };
  }
  for (let every = 1; every <= decades; every++) {
    const ticks: Tick[] = [];
    for (let k = lo; k <= hi; k++) {
      if ((k - lo) % every === 0) ticks.push({ pos: scale(Math.pow(10, k)), label: decadeLabel(k) });
    }
    if (ticksFit(ticks, fontSize, orient)) return { scale, ticks, minor: decades <= 8 ? minor : [] };
  }
  return { scale, ticks: [{ pos: scale(Math.pow(10, lo)), label: decadeLabel(lo) }], minor: [] };
}

/**
 * A band axis of categories (`labels`) along `length` px. Every label is shown when they fit, else every
 * k-th; each is cut to its room.
 */
export function bandAxis(
  labels: string[],
  length: number,
  fontSize: number,
  orient: Orient,
  padding = 0.2,
): Axis<ScaleBand<string>> {
  const keys = labels.map((_, i) => String(i));
  const scale = scaleBand<string>()
    .domain(keys)
    .range([0, length])
    .paddingInner(padding)
    .paddingOuter(padding / 2);
  const step = scale.step();
  for (let every = 1; every <= Math.max(1, labels.length); every++) {
    const room = orient === 'x' ? every * step - fontSize * 0.5 : Infinity;
    const ticks: Tick[] = [];
    for (let i = 0; i < labels.length; i += every) {
      ticks.push({
        pos: scale(keys[i])! + scale.bandwidth() / 2,
        label: truncateText(labels[i], room, fontSize),
      });
    }
    // A cut label must keep at least three characters to be worth showing.
    const readable = ticks.every((t, j) => t.label === labels[j * every] || Array.from(t.label).length >= 4);
    if (readable && ticksFit(ticks, fontSize, orient)) return { scale, ticks, minor: [] };
  }
  return { scale, ticks: [], minor: [] };
}
