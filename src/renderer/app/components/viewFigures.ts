// Figure specs of the Neurons, Heatmap and Features views, built from the API's results as those views
// build them (same kinds, labels and captions), in a pure module so that `monoscope export figure` draws
// them without a browser. No DOM, no React: type imports only.
import { binValues } from '../../figures/histogram.js';
import type { FigureSpec } from '../../figures/types.js';
import type { ThemeName } from '../../figures/theme.js';
import type { OpResult } from '../../../core/service.js';

/** Size, theme, font and title overrides of an exported figure. */
export interface SpecOptions {
  width?: number;
  height?: number;
  theme?: ThemeName;
  fontSize?: number;
  title?: string;
}

/** `spec` with the given overrides applied to its options. */
export function withOptions(spec: FigureSpec, o: SpecOptions): FigureSpec {
  const extra = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== ''));
  return { ...spec, options: { ...spec.options, ...extra } } as FigureSpec;
}

/** The largest |v| of `values` (1 when all are zero or none is finite). */
function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (a > m && Number.isFinite(a)) m = a;
  }
  return m || 1;
}

/**
 * The correlation matrix of a tap as a heatmap (`correlation.matrix`): Pearson r on [−1, 1], or with
 * `diffWith` the difference Δr = r(checkpoint) − r(other) on a symmetric range; in neuron or cluster order.
 */
export function heatmapSpec(m: OpResult<'correlation.matrix'>, order: 'neuron' | 'cluster'): FigureSpec {
  const diff = m.diffWith && m.diff ? m.diffWith : undefined;
  const values = diff ? m.diff! : m.corr;
  const a = diff ? maxAbs(values) : 1;
  const ord = order === 'cluster' ? Array.from(m.order) : undefined;
  return {
    kind: 'heatmap',
    data: { rows: m.size, cols: m.size, values },
    options: {
      domain: [-a, a],
      ...(ord && { rowOrder: ord, colOrder: ord }),
      colourbarLabel: diff ? `Δr (${m.checkpoint} − ${diff})` : 'Pearson r',
      title: diff ? `Correlation difference, ${m.tap}` : `Neuron correlations, ${m.tap}`,
      caption: {
        checkpoint: m.checkpoint,
        tap: m.tap,
        tokens: m.summary.n,
        order,
        ...(diff ? { 'difference to': diff } : {}),
      },
      xLabel: `neuron (${order} order)`,
      yLabel: `neuron (${order} order)`,
    },
  };
}

type NeuronPageData = OpResult<'neurons.page'>;

/**
 * A neuron's activation histogram (`neurons.page`): the stored bins, coloured by the quantile groups of
 * its samples (each band runs to where the next begins; the first from the active threshold, the last to
 * the maximum).
 */
export function neuronHistogramSpec(
  p: NeuronPageData,
  yMode: 'count' | 'density' | 'log10-density' = 'count',
): FigureSpec {
  const { lo, hi, counts } = p.histogram;
  const w = (hi - lo) / counts.length || 1;
  const edges = counts.map((_, i) => lo + i * w).concat(lo + counts.length * w);
  const groups = p.quantiles;
  const bands = groups
    .map((g, k) => ({
      from: k === 0 ? Math.min(g.valueLo, p.thresholds.activeThreshold) : g.valueLo,
      to: k === groups.length - 1 ? Math.max(g.valueHi, p.stats.max) : groups[k + 1].valueLo,
      label: `${Math.round(100 * g.quantileLo)}–${Math.round(100 * g.quantileHi)}%`,
    }))
    .filter((b) => b.to > b.from);
  return {
    kind: 'histogram',
    data: { edges, counts, bands },
    options: {
      width: 560,
      height: 300,
      title: `Activations of neuron ${p.neuron}, ${p.tap}`,
      xLabel: `activation of neuron ${p.neuron}`,
      yMode,
      caption: {
        checkpoint: p.checkpoint,
        tap: p.tap,
        neuron: p.neuron,
        tokens: p.rows,
        density: Number(p.stats.density.toPrecision(4)),
        bands: 'quantiles of active values',
      },
    },
  };
}

/** A neuron's top-activating contexts (`neurons.page`), each centred on its activating token. */
export function neuronContextsSpec(p: NeuronPageData, count = p.topExamples.length): FigureSpec {
  return {
    kind: 'tokenContexts',
    data: {
      contexts: p.topExamples.slice(0, count).map((e) => ({
        tokens: e.text,
        values: e.values,
        focus: e.position - e.contextStart,
      })),
      maxValue: p.stats.max > 0 ? p.stats.max : undefined,
    },
    options: {
      title: `Top activations of neuron ${p.neuron}`,
      caption: { checkpoint: p.checkpoint, tap: p.tap, neuron: p.neuron },
    },
  };
}

/** What a permutation-null figure needs of a similarity result. */
export interface NullLike {
  score: number;
  pValue?: number;
  pFormula?: string;
  label: string;
  shuffles: number;
  n: number;
}

/**
 * The permutation null of an SVCCA or RSA score against the observed value (the `similarity` job, or the
 * pairs' scores of `match`), binned in 40 bins, with the p-value and its formula in the caption.
 */
export function nullSpec(
  result: NullLike,
  nullValues: ArrayLike<number>,
  title: string,
  caption: Record<string, string | number | boolean>,
): FigureSpec {
  if (nullValues.length === 0 || result.pValue === undefined) {
    throw new Error(`${title}: the result has no permutation null (run it with shuffles > 0)`);
  }
  return {
    kind: 'nullHistogram',
    data: {
      null: binValues(nullValues, 40),
      observed: result.score,
      pValue: result.pValue,
      statistic: title,
    },
    options: {
      width: 520,
      height: 260,
      title: `${title}: observed vs permutation null`,
      caption: { ...caption, tokens: result.n, 'null N': nullValues.length, p: result.pFormula ?? '' },
    },
  };
}

/**
 * The kept pairs of a `match` as a scatter: each pair's activation correlation r against the feature
 * of the side that picks, with the r threshold as a line.
 */
export function matchScatterSpec(
  result: OpResult<'match'>,
  threshold: number | null,
  caption: Record<string, string | number | boolean>,
): FigureSpec {
  const source = result.direction === 'b-to-a' ? 'b' : 'a';
  return {
    kind: 'scatter',
    data: {
      series: [
        { name: 'kept pairs', x: result.pairs.map((p) => p[source]), y: result.pairs.map((p) => p.r) },
      ],
      thresholds: threshold === null ? undefined : { y: [{ value: threshold, label: `r = ${threshold}` }] },
    },
    options: {
      width: 520,
      height: 300,
      title: 'Correlation of each kept pair',
      xLabel: `feature of ${source.toUpperCase()} (the side that picks)`,
      yLabel: 'activation correlation r',
      legend: 'none',
      caption: {
        ...caption,
        rule: result.rule,
        direction: result.direction,
        ...(threshold === null ? {} : { threshold }),
      },
    },
  };
}
