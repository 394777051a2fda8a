// Figure specs of the Neurons, Heatmap and Features views, built from the API's results as those views
// build them (same kinds, labels and captions), in a pure module so that `monoscope export figure` draws
// them without a browser. No DOM, no React: type
// imports only, and the block reductions of ./pyramid.js.
import { blockReduce } from './pyramid.js';
import type { Bins, FigureSpec } from '../figures/types.js';
import type { ThemeName } from '../figures/theme.js';
import type { Histogram, OpResult } from '../../core/api.js';

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
export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (a > m && Number.isFinite(a)) m = a;
  }
  return m || 1;
}

type CorrelationMatrix = OpResult<'correlation.matrix'>;

/**
 * What a correlation heatmap draws of `correlation.matrix`: Pearson r on [−1, 1], or with `diffWith` the
 * difference Δr = r(checkpoint) − r(other) on the symmetric range [−max|Δr|, max|Δr|].
 */
export function heatmapValues(m: CorrelationMatrix): {
  values: Float32Array;
  diff: string | undefined;
  domain: [number, number];
} {
  const diff = m.diffWith && m.diff ? m.diffWith : undefined;
  const values = diff ? m.diff! : m.corr;
  const a = diff ? maxAbs(values) : 1;
  return { values, diff, domain: [-a, a] };
}

/** The colour-bar label, title and caption shared by the whole heatmap and a region of it. */
function heatmapLabels(m: CorrelationMatrix, order: 'neuron' | 'cluster', diff: string | undefined) {
  return {
    colourbarLabel: diff ? `Δr (${m.checkpoint} − ${diff})` : 'Pearson r',
    title: diff ? `Correlation difference, ${m.tap}` : `Neuron correlations, ${m.tap}`,
    caption: {
      checkpoint: m.checkpoint,
      tap: m.tap,
      tokens: m.summary.n,
      order,
      ...(diff ? { 'difference to': diff } : {}),
    },
  };
}

/**
 * The correlation matrix of a tap as a heatmap (`correlation.matrix`): Pearson r on [−1, 1], or with
 * `diffWith` the difference Δr = r(checkpoint) − r(other) on a symmetric range; in neuron or cluster order.
 */
export function heatmapSpec(m: CorrelationMatrix, order: 'neuron' | 'cluster'): FigureSpec {
  if (m.size > EXPORT_SIDE) return heatmapRegionSpec(m, order, [0, m.size], [0, m.size]);
  const { values, diff, domain } = heatmapValues(m);
  const ord = order === 'cluster' ? Array.from(m.order) : undefined;
  const { colourbarLabel, title, caption } = heatmapLabels(m, order, diff);
  return {
    kind: 'heatmap',
    data: { rows: m.size, cols: m.size, values },
    options: {
      domain,
      ...(ord && { rowOrder: ord, colOrder: ord }),
      colourbarLabel,
      title,
      caption,
      xLabel: `neuron (${order} order)`,
      yLabel: `neuron (${order} order)`,
    },
  };
}

/** Largest side of an exported heatmap; a larger matrix or region is exported downsampled. */
export const EXPORT_SIDE = 1024;

/**
 * A rectangle of the heatmap of {@link heatmapSpec}: display rows `rows[0]` to `rows[1] − 1` and columns
 * `cols[0]` to `cols[1] − 1` (in `order`), each named by its neuron, on the whole matrix's colour range. A
 * rectangle with a side over {@link EXPORT_SIDE} is exported as block means of f × f cells (f the smallest
 * factor that fits), its rows and columns named by the display positions they span, and the caption says so.
 */
export function heatmapRegionSpec(
  m: CorrelationMatrix,
  order: 'neuron' | 'cluster',
  rows: [number, number],
  cols: [number, number],
): FigureSpec {
  const { values, diff, domain } = heatmapValues(m);
  const n = m.size;
  const at = (i: number) => (order === 'cluster' ? m.order[i] : i);
  const rn = rows[1] - rows[0];
  const cn = cols[1] - cols[0];
  const sub = new Float32Array(rn * cn);
  for (let i = 0; i < rn; i++)
    for (let j = 0; j < cn; j++) sub[i * cn + j] = values[at(rows[0] + i) * n + at(cols[0] + j)];
  const { colourbarLabel, title, caption } = heatmapLabels(m, order, diff);
  const f = Math.ceil(Math.max(rn, cn) / EXPORT_SIDE);
  const grid = f > 1 ? blockReduce({ values: sub, rows: rn, cols: cn }, f, 'mean') : undefined;
  /** Names of the exported rows (or columns) starting at display position `first`, `count` of them. */
  const names = (first: number, count: number, length: number) =>
    Array.from({ length }, (_, i) =>
      f > 1 ? `${first + i * f}–${first + Math.min(count, (i + 1) * f) - 1}` : String(at(first + i)),
    );
  return {
    kind: 'heatmap',
    data: {
      rows: grid?.rows ?? rn,
      cols: grid?.cols ?? cn,
      values: grid?.values ?? sub,
      rowNames: names(rows[0], rn, grid?.rows ?? rn),
      colNames: names(cols[0], cn, grid?.cols ?? cn),
    },
    options: {
      domain,
      colourbarLabel,
      title,
      caption: {
        ...caption,
        rows: `${rows[0]}–${rows[1] - 1}`,
        cols: `${cols[0]}–${cols[1] - 1}`,
        ...(f > 1 && {
          downsampled: `block means of ${f} × ${f} cells; rows and columns named by the display positions they span`,
        }),
      },
      xLabel: f > 1 ? `neuron (${order} order position)` : 'neuron',
      yLabel: f > 1 ? `neuron (${order} order position)` : 'neuron',
    },
  };
}

type NeuronPageData = OpResult<'neurons.page'>;

/** How many values a core {@link Histogram} left out of its bins: NaN, +Infinity and -Infinity. */
export function unbinned(h: Histogram): number {
  return h.nan + h.posInf + h.negInf;
}

/** The edges and counts of bins the core computed ({@link Histogram}: `lo`, `hi`, equal widths). */
export function histogramBins({ lo, hi, counts }: Histogram): Bins {
  const w = (hi - lo) / counts.length || 1;
  return { edges: counts.map((_, i) => lo + i * w).concat(lo + counts.length * w), counts };
}

/**
 * A neuron's activation histogram (`neurons.page`): the stored bins, coloured by the quantile groups of
 * its samples (each band runs to where the next begins; the first from the active threshold, the last to
 * the maximum).
 */
export function neuronHistogramSpec(
  p: NeuronPageData,
  yMode: 'count' | 'density' | 'log10-density' = 'count',
): FigureSpec {
  const { edges, counts } = histogramBins(p.histogram);
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
 * pairs' scores of `match`), in the bins the core computed, with the p-value and its formula in the caption. The
 * observed line is labelled `statistic` (default: `title`); the caption counts the score's datapoints as
 * `datapoints` (default `tokens`; `pairs` for the matched pairs' scores).
 */
export function nullSpec(
  result: NullLike,
  nullHistogram: Histogram | null,
  title: string,
  caption: Record<string, string | number | boolean>,
  { statistic = title, datapoints = 'tokens' }: { statistic?: string; datapoints?: string } = {},
): FigureSpec {
  if (!hasNull(result, nullHistogram)) {
    throw new Error(`${title}: the result has no permutation null (run it with shuffles > 0)`);
  }
  return {
    kind: 'nullHistogram',
    data: {
      null: histogramBins(nullHistogram),
      observed: result.score,
      pValue: result.pValue!,
      statistic,
    },
    options: {
      width: 520,
      height: 260,
      title: `${title}: observed vs permutation null`,
      caption: {
        ...caption,
        [datapoints]: result.n,
        'null N': nullHistogram.counts.reduce((a, b) => a + b, unbinned(nullHistogram)),
        p: result.pFormula ?? '',
      },
    },
  };
}

/** Whether a similarity result carries a permutation null to draw (it was run with shuffles > 0). */
export function hasNull(result: NullLike, nullHistogram: Histogram | null): nullHistogram is Histogram {
  return nullHistogram !== null && result.pValue !== undefined;
}

/**
 * The pairs of a `match` as a scatter: each pair's activation correlation r against the feature of the side
 * that picks, the kept ones and those the r threshold dropped, with the threshold as a line.
 */
export function matchScatterSpec(
  result: OpResult<'match'>,
  threshold: number | null,
  caption: Record<string, string | number | boolean>,
): FigureSpec {
  const source = result.direction === 'b-to-a' ? 'b' : 'a';
  const kept = new Set(result.pairs.map((p) => `${p.a}:${p.b}`));
  // Results stored before `beforeThreshold` existed have only the kept pairs.
  const dropped = (result.beforeThreshold ?? []).filter((p) => !kept.has(`${p.a}:${p.b}`));
  return {
    kind: 'scatter',
    data: {
      series: [
        { name: 'kept pairs', x: result.pairs.map((p) => p[source]), y: result.pairs.map((p) => p.r) },
        ...(dropped.length
          ? [{ name: 'below the threshold', x: dropped.map((p) => p[source]), y: dropped.map((p) => p.r) }]
          : []),
      ],
      thresholds: threshold === null ? undefined : { y: [{ value: threshold, label: `r = ${threshold}` }] },
    },
    options: {
      width: 520,
      height: 300,
      title: 'Correlation of each matched pair',
      xLabel: `feature of ${source.toUpperCase()} (the side that picks)`,
      yLabel: 'activation correlation r',
      legend: dropped.length ? 'top' : 'none',
      caption: {
        ...caption,
        rule: result.rule,
        direction: result.direction,
        ...(threshold === null ? {} : { threshold }),
      },
    },
  };
}

/** A neuron's mean activation per probe concept (`neurons.page` concept means), as bars. */
export function neuronConceptsSpec(p: NeuronPageData): FigureSpec {
  return {
    kind: 'groupedBar',
    data: {
      groups: p.conceptMeans.map((c) => c.concept),
      series: [{ name: 'mean activation', values: p.conceptMeans.map((c) => c.mean) }],
    },
    options: {
      width: 680,
      height: 320,
      title: `Mean activation of neuron ${p.neuron} per concept`,
      yLabel: 'mean activation',
      legend: 'none',
      caption: {
        checkpoint: p.checkpoint,
        tap: p.tap,
        neuron: p.neuron,
        'tokens per concept': p.conceptMeans.map((c) => `${c.concept} ${c.count}`).join(', '),
      },
    },
  };
}

/** The histogram of a neuron's logit effects over the vocabulary (W_out[j] · W_Uᵀ, `neurons.page`). */
export function neuronLogitsSpec(p: NeuronPageData): FigureSpec {
  const { edges, counts } = histogramBins(p.logitEffects.histogram);
  return {
    kind: 'histogram',
    data: { edges, counts },
    options: {
      width: 560,
      height: 220,
      title: `Logit effects of neuron ${p.neuron}`,
      xLabel: 'logit effect (W_out · W_U)',
      yLabel: 'tokens',
      caption: {
        checkpoint: p.checkpoint,
        tap: p.tap,
        neuron: p.neuron,
        vocabulary: counts.reduce((a, b) => a + b, 0),
      },
    },
  };
}

/** Which feature of A each kept pair of a `match` joined to which feature of B, with the diagonal. */
export function matchAlignmentSpec(
  result: OpResult<'match'>,
  caption: Record<string, string | number | boolean>,
): FigureSpec {
  return {
    kind: 'scatter',
    data: {
      series: [{ name: 'kept pairs', x: result.pairs.map((p) => p.a), y: result.pairs.map((p) => p.b) }],
      thresholds: { diagonal: true },
    },
    options: {
      width: 520,
      height: 300,
      title: 'Which feature matched which',
      xLabel: 'feature of A',
      yLabel: 'feature of B',
      legend: 'none',
      caption: { ...caption, rule: result.rule, direction: result.direction },
    },
  };
}

type SaeInfo = OpResult<'saes.list'>[number];

/** An SAE's training loss and reconstruction MSE against the step (`saes.list`), on a log axis. */
export function saeCurveSpec(s: SaeInfo): FigureSpec {
  return {
    kind: 'line',
    data: {
      series: [
        { name: 'loss', x: s.curve.map((c) => c.step), y: s.curve.map((c) => c.loss) },
        { name: 'mse', x: s.curve.map((c) => c.step), y: s.curve.map((c) => c.mse) },
      ],
    },
    options: {
      width: 520,
      height: 260,
      xLabel: 'step',
      yLabel: 'training loss',
      logY: true,
      title: `SAE ${s.name}: training`,
      caption: { sae: s.name, kind: s.kind, latents: s.dSae, tap: s.ref.tap, checkpoint: s.ref.checkpoint },
    },
  };
}

/** Whether an SAE has latent densities to draw (some latent fired on the held-out tokens). */
export function saeHasDensity(s: SaeInfo): boolean {
  const h = s.metrics.densityHistogram;
  return !!h && h.counts.some((c) => c !== 0);
}

/** The histogram of an SAE's latent densities (log₁₀ share of tokens each latent fires on). */
export function saeDensitySpec(s: SaeInfo): FigureSpec {
  if (!saeHasDensity(s))
    throw new Error(`SAE ${s.name}: no latent fired on the held-out tokens; there is no density to draw`);
  const h = s.metrics.densityHistogram;
  return {
    kind: 'histogram',
    data: { edges: h.edges, counts: h.counts },
    options: {
      width: 520,
      height: 260,
      xLabel: 'log₁₀ latent density',
      yLabel: 'latents',
      title: `SAE ${s.name}: latent density`,
      caption: { sae: s.name, 'never fired': h.never, 'window tokens': s.metrics.windowTokens },
    },
  };
}

/** SVCCA and RSA per concept category of a `subspaces` result, with their null means, as grouped bars. */
export function subspacesSpec(
  r: OpResult<'subspaces'>,
  caption: Record<string, string | number | boolean>,
): FigureSpec {
  const scored = r.categories.filter((c) => c.similarity);
  if (scored.length === 0)
    throw new Error('subspaces: no category had enough features on both sides to be scored');
  return {
    kind: 'groupedBar',
    data: {
      groups: scored.map((c) => c.category),
      series: [
        { name: 'SVCCA', values: scored.map((c) => c.similarity!.svcca.score) },
        { name: 'SVCCA null mean', values: scored.map((c) => c.similarity!.svcca.null?.nullMean ?? NaN) },
        { name: 'RSA', values: scored.map((c) => c.similarity!.rsa.score) },
        { name: 'RSA null mean', values: scored.map((c) => c.similarity!.rsa.null?.nullMean ?? NaN) },
      ],
    },
    options: {
      width: 720,
      height: 320,
      title: 'Semantic subspaces: similarity per category',
      yLabel: 'score',
      caption,
    },
  };
}
