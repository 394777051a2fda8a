// Figure specs of the Diff view (model diffing): a crosscoder's relative decoder norms Δ with the tag
// thresholds, the decoder cosines of its shared latents, Latent Scaling's ν^ε / ν^r, a latent's activation
// histogram and top contexts per model, and the activation-difference lens per layer. Built from the API's
// results in a pure module, so that `monoscope export figure` draws the same figures without a browser.
// No DOM, no React: type imports only.
import type { Bins, FigureSpec } from '../figures/types.js';
import type { OpResult } from '../../core/api.js';
import { histogramBins } from './viewFigures.js';

export type Crosscoder = OpResult<'crosscoders.list'>[number];
export type CrosscoderPair = Crosscoder['pairs'][number];
export type LatentTag = CrosscoderPair['tag'][number];
export type LatentPageData = OpResult<'crosscoder.latent'>;
export type DiffLens = OpResult<'diff.lens'>;

/** The figures of the Diff view, by the name `monoscope export figure --figure` takes. */
export const DIFF_FIGURES = ['diff-delta', 'diff-cosine', 'diff-scaling', 'diff-lens'] as const;
export type DiffFigure = (typeof DIFF_FIGURES)[number];

/** The checkpoint names (A, B) of a pair of a crosscoder. */
export function pairNames(c: Crosscoder, pair: CrosscoderPair): [string, string] {
  return [c.checkpoints[pair.a], c.checkpoints[pair.b]];
}

/** The pair of models `a`, `b` (checkpoint names, in either order as the record keeps them), or undefined. */
export function findPair(c: Crosscoder, a: string, b: string): CrosscoderPair | undefined {
  return c.pairs.find((p) => {
    const [x, y] = pairNames(c, p);
    return (x === a && y === b) || (x === b && y === a);
  });
}

/** A tag as the view names it: `dpo-only` for A-only when A is dpo, `shared`, `other`. */
export function tagLabel(tag: LatentTag, [a, b]: [string, string]): string {
  return tag === 'a-only' ? `${a}-only` : tag === 'b-only' ? `${b}-only` : tag;
}

/** A threshold as a short decimal (1 − 0.9 reads 0.1, not 0.09999999999999998). */
function short(v: number): number {
  return Number(v.toPrecision(6));
}

/**
 * `n` equal-width bins over the fixed range [lo, hi]: bin i holds [lo + i w, lo + (i + 1) w) with
 * w = (hi − lo) / n, the last bin also holds hi. Values outside the range and non-finite ones are left out.
 */
function rangeBins(values: readonly number[], lo: number, hi: number, n: number): Bins {
  const counts = new Array<number>(n).fill(0);
  for (const v of values) {
    if (!(v >= lo && v <= hi)) continue;
    counts[Math.min(n - 1, Math.floor(((v - lo) * n) / (hi - lo)))]++;
  }
  return { edges: counts.map((_, i) => lo + (i * (hi - lo)) / n).concat(hi), counts };
}

/** Bins of the Δ histogram: 20 over [0, 1], so each default threshold (0.1, 0.4, 0.6, 0.9) is an edge. */
export const DELTA_BINS = 20;

/** The crosscoder's name, tap and pair as a figure caption. */
function pairCaption(c: Crosscoder, pair: CrosscoderPair): Record<string, string | number> {
  const [a, b] = pairNames(c, pair);
  return { crosscoder: c.name, kind: c.settings.kind, tap: c.tap, latents: c.dSae, A: a, B: b };
}

/**
 * The histogram of the relative decoder norm Δ_i = ((‖d_i^A‖ − ‖d_i^B‖) / max(‖d_i^A‖, ‖d_i^B‖) + 1) / 2 of
 * every latent for one pair of models, with the tag regions coloured: B-only Δ < 1 − specific, shared
 * |Δ − 0.5| < shared, A-only Δ > specific (the record's thresholds); each tag's count in the caption.
 */
export function deltaHistogramSpec(c: Crosscoder, pair: CrosscoderPair): FigureSpec {
  const [a, b] = pairNames(c, pair);
  const { specific, shared } = c.thresholds;
  return {
    kind: 'histogram',
    data: {
      ...rangeBins(pair.delta, 0, 1, DELTA_BINS),
      bands: [
        { from: 0, to: 1 - specific, label: `${b}-only (Δ < ${short(1 - specific)})` },
        { from: 0.5 - shared, to: 0.5 + shared, label: `shared (|Δ − 0.5| < ${short(shared)})` },
        { from: specific, to: 1, label: `${a}-only (Δ > ${short(specific)})` },
      ],
    },
    options: {
      width: 560,
      height: 300,
      title: `Relative decoder norm Δ, ${a} vs ${b}`,
      xLabel: `Δ (0: only in ${b}, 1: only in ${a})`,
      yLabel: 'latents',
      caption: {
        ...pairCaption(c, pair),
        [`${a}-only`]: pair.counts['a-only'],
        [`${b}-only`]: pair.counts['b-only'],
        shared: pair.counts.shared,
        other: pair.counts.other,
      },
    },
  };
}

/** The decoder cosines cos(d_i^A, d_i^B) of the latents tagged shared (finite ones). */
export function sharedCosines(pair: CrosscoderPair): number[] {
  return pair.cosine.filter((v, i) => pair.tag[i] === 'shared' && Number.isFinite(v));
}

/** The histogram of the decoder cosines of the shared latents of a pair, 20 bins over [−1, 1]. */
export function cosineHistogramSpec(c: Crosscoder, pair: CrosscoderPair): FigureSpec {
  const [a, b] = pairNames(c, pair);
  const values = sharedCosines(pair);
  if (values.length === 0)
    throw new Error(`crosscoder ${c.name}: no latent is shared by ${a} and ${b}; there is no cosine to draw`);
  return {
    kind: 'histogram',
    data: rangeBins(values, -1, 1, 20),
    options: {
      width: 560,
      height: 300,
      title: `Decoder cosine of shared latents, ${a} vs ${b}`,
      xLabel: `cos(d^${a}, d^${b})`,
      yLabel: 'latents',
      caption: { ...pairCaption(c, pair), 'shared latents': values.length },
    },
  };
}

/** The latents of a pair with both Latent Scaling ratios (those tagged B-only), with their ν^ε and ν^r. */
export function scaledLatents(pair: CrosscoderPair): { latent: number; nuError: number; nuRecon: number }[] {
  const out: { latent: number; nuError: number; nuRecon: number }[] = [];
  pair.nuError.forEach((e, i) => {
    const r = pair.nuRecon[i];
    if (e !== null && r !== null && Number.isFinite(e) && Number.isFinite(r))
      out.push({ latent: i, nuError: e, nuRecon: r });
  });
  return out;
}

/**
 * Latent Scaling (Minder et al. 2025, §4) of the B-only latents of a pair: ν^ε (how much of A's
 * reconstruction error the latent explains, relative to B) against ν^r (the same for the reconstruction).
 * Near 0: specific to B; near 1: A's activations carry it too (an artifact of the L1 loss).
 */
export function latentScalingSpec(c: Crosscoder, pair: CrosscoderPair): FigureSpec {
  const [a, b] = pairNames(c, pair);
  const points = scaledLatents(pair);
  if (points.length === 0)
    throw new Error(`crosscoder ${c.name}: no ${b}-only latent has Latent Scaling ratios to draw`);
  return {
    kind: 'scatter',
    data: {
      series: [
        { name: `${b}-only latents`, x: points.map((p) => p.nuError), y: points.map((p) => p.nuRecon) },
      ],
      thresholds: { diagonal: true },
    },
    options: {
      width: 520,
      height: 320,
      title: `Latent Scaling of the ${b}-only latents`,
      xLabel: `ν^ε (${a}'s error explained, relative to ${b})`,
      yLabel: `ν^r (${a}'s reconstruction, relative to ${b})`,
      legend: 'none',
      caption: { ...pairCaption(c, pair), [`${b}-only latents`]: points.length },
    },
  };
}

/** A latent's activation histogram in model `m` (an index into the page's checkpoints) over the probe. */
export function latentHistogramSpec(p: LatentPageData, m: number): FigureSpec {
  const model = p.models[m];
  return {
    kind: 'histogram',
    data: histogramBins(model.histogram),
    options: {
      width: 520,
      height: 260,
      title: `Activations of latent ${p.latent} in ${model.checkpoint}`,
      xLabel: `activation of latent ${p.latent}`,
      yLabel: 'tokens',
      caption: {
        crosscoder: p.name,
        latent: p.latent,
        checkpoint: model.checkpoint,
        density: Number(p.concept.density[m].toPrecision(4)),
      },
    },
  };
}

/**
 * A latent's top contexts in model `m`, each centred on the ranked token; only that token's activation is
 * part of the page, so the other tokens are drawn unshaded (value 0).
 */
export function latentContextsSpec(p: LatentPageData, m: number): FigureSpec {
  const model = p.models[m];
  return {
    kind: 'tokenContexts',
    data: {
      contexts: model.top.map((t) => ({
        tokens: t.tokens,
        values: t.tokens.map((_, k) => (k === t.target ? t.activation : 0)),
        focus: t.target,
      })),
    },
    options: {
      title: `Top activations of latent ${p.latent} in ${model.checkpoint}`,
      caption: { crosscoder: p.name, latent: p.latent, checkpoint: model.checkpoint, shaded: 'ranked token' },
    },
  };
}

/**
 * The activation-difference lens per layer: ‖mean(h_B − h_A)‖ beside ‖mean h_A‖ over the probe, as
 * grouped bars (the promoted and suppressed tokens of each layer are in the result's table).
 */
export function lensSpec(r: DiffLens): FigureSpec {
  return {
    kind: 'groupedBar',
    data: {
      groups: r.layers.map((l) => `L${l.layer}`),
      series: [
        { name: `‖mean(h_${r.b} − h_${r.a})‖`, values: r.layers.map((l) => l.norm) },
        { name: `‖mean h_${r.a}‖`, values: r.layers.map((l) => l.baseNorm) },
      ],
    },
    options: {
      width: 640,
      height: 300,
      title: `Activation difference ${r.b} − ${r.a} per layer`,
      yLabel: 'norm',
      caption: {
        A: r.a,
        B: r.b,
        probe: r.probe,
        tokens: r.tokens,
        taps: r.layers.map((l) => l.tap).join(', '),
      },
    },
  };
}
