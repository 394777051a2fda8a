// The Diff view's figure specs on a planted crosscoder record: the Δ histogram's bins counted by hand with
// the tag regions at the thresholds, the cosine histogram of the finite shared latents only, the Latent
// Scaling scatter of the B-only latents only, the lens's bars equal to its layers, a latent's contexts
// centred on the ranked token; every spec renders to well-formed SVG and CSV.
import { describe, expect, it } from 'vitest';
import {
  cosineHistogramSpec,
  deltaHistogramSpec,
  findPair,
  latentContextsSpec,
  latentHistogramSpec,
  latentScalingSpec,
  lensSpec,
  type Crosscoder,
  type DiffLens,
  type LatentPageData,
} from '../../../src/shared/specs/diff.js';
import { renderFigure } from '../../../src/shared/figures/render.js';
import { figureCsv } from '../../../src/shared/figures/csv.js';
import type {
  HistogramData,
  ScatterData,
  GroupedBarData,
  TokenContextsData,
} from '../../../src/shared/figures/types.js';
import { parseXml } from './xml.js';

/** Eight latents of base (A) vs dpo (B): two dpo-only, three shared, two base-only, one other. */
const DELTA = [0.02, 0.08, 0.5, 0.45, 0.97, 1, 0.3, 0.55];
const TAG = ['b-only', 'b-only', 'shared', 'shared', 'a-only', 'a-only', 'other', 'shared'] as const;
const COSINE = [0.1, -0.2, 0.9, NaN, 0.3, 0.4, 0.5, -0.35];
const NU_ERROR = [0.05, null, null, null, null, null, null, null];
const NU_RECON = [0.2, null, null, null, null, null, null, null];

const pair = {
  a: 0,
  b: 1,
  delta: DELTA,
  tag: [...TAG],
  cosine: COSINE,
  nuError: NU_ERROR,
  nuRecon: NU_RECON,
  counts: { 'a-only': 2, 'b-only': 2, shared: 3, other: 1 },
};

/** The record as `crosscoders.list` returns it, with what the specs read; the rest is not drawn. */
const record = {
  name: 'cc',
  checkpoints: ['base', 'dpo'],
  tap: 'blocks.1.mlp.post',
  dSae: 8,
  settings: { kind: 'batchtopk' },
  thresholds: { specific: 0.9, shared: 0.1 },
  pairs: [pair],
} as unknown as Crosscoder;

const wellFormed = (spec: Parameters<typeof renderFigure>[0]) => {
  expect(parseXml(renderFigure(spec)).name).toBe('svg');
  expect(figureCsv(spec).length).toBeGreaterThan(0);
};

describe('Diff figure specs', () => {
  it('bins Δ in 20 bins over [0, 1] with the tag regions at the thresholds', () => {
    const spec = deltaHistogramSpec(record, pair);
    expect(spec.kind).toBe('histogram');
    const data = spec.data as HistogramData;
    const counts = new Array<number>(20).fill(0);
    // 0.02 → bin 0, 0.08 → 1, 0.5 → 10, 0.45 → 9, 0.97 and 1 → 19, 0.3 → 6, 0.55 → 11.
    for (const bin of [0, 1, 10, 9, 19, 19, 6, 11]) counts[bin]++;
    expect(data.counts).toEqual(counts);
    expect(data.edges).toHaveLength(21);
    expect(data.edges[0]).toBe(0);
    expect(data.edges[20]).toBe(1);
    expect(data.bands!.map((b) => b.label)).toEqual([
      'dpo-only (Δ < 0.1)',
      'shared (|Δ − 0.5| < 0.1)',
      'base-only (Δ > 0.9)',
    ]);
    expect(data.bands!.map((b) => [b.from, b.to])).toEqual([
      [0, 1 - 0.9],
      [0.4, 0.6],
      [0.9, 1],
    ]);
    expect(spec.options?.caption).toMatchObject({ 'base-only': 2, 'dpo-only': 2, shared: 3, other: 1 });
    // The CSV names each bin's region: 2 dpo-only, 4 shared, 2 base-only bins.
    const bands = figureCsv(spec)
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',').at(-1));
    expect(bands.filter((b) => b === 'dpo-only (Δ < 0.1)')).toHaveLength(2);
    expect(bands.filter((b) => b === 'shared (|Δ − 0.5| < 0.1)')).toHaveLength(4);
    expect(bands.filter((b) => b === 'base-only (Δ > 0.9)')).toHaveLength(2);
    wellFormed(spec);
  });

  it('draws the cosines of the shared latents with a finite cosine, and the ν of the B-only ones', () => {
    const cos = cosineHistogramSpec(record, pair).data as HistogramData;
    // Shared: latents 2 (0.9), 3 (NaN: left out), 7 (−0.35); bins of width 0.1 over [−1, 1].
    const counts = new Array<number>(20).fill(0);
    counts[19]++; // 0.9 → (0.9 + 1) / 0.1 = 19
    counts[6]++; // −0.35 → 6.5 → 6
    expect(cos.counts).toEqual(counts);
    wellFormed(cosineHistogramSpec(record, pair));

    const scatter = latentScalingSpec(record, pair).data as ScatterData;
    expect(scatter.series).toEqual([{ name: 'dpo-only latents', x: [0.05], y: [0.2] }]);
    wellFormed(latentScalingSpec(record, pair));

    const none = {
      ...pair,
      tag: pair.tag.map(() => 'other' as const),
      nuError: pair.nuError.map(() => null),
    };
    expect(() => cosineHistogramSpec(record, none)).toThrow(/no latent is shared by base and dpo/);
    expect(() => latentScalingSpec(record, none)).toThrow(/no dpo-only latent/);
  });

  it('finds a pair by its models in either order', () => {
    expect(findPair(record, 'dpo', 'base')).toBe(pair);
    expect(findPair(record, 'base', 'decpo')).toBeUndefined();
  });

  it("draws a latent's histogram and contexts per model, and the lens's norms per layer", () => {
    const page = {
      name: 'cc',
      latent: 3,
      checkpoints: ['base', 'dpo'],
      concept: { concept: 'animal', score: 0.8, monosemantic: true, density: [0.25, 0.125] },
      models: [
        {
          checkpoint: 'base',
          histogram: { lo: 0, hi: 2, counts: [3, 1], nan: 0, posInf: 0, negInf: 0 },
          top: [{ activation: 1.5, tokens: ['a', ' cat', ' sat'], target: 1, labels: ['', 'animal', ''] }],
        },
        {
          checkpoint: 'dpo',
          histogram: { lo: 0, hi: 1, counts: [2, 0], nan: 0, posInf: 0, negInf: 0 },
          top: [],
        },
      ],
    } as unknown as LatentPageData;
    const h = latentHistogramSpec(page, 0).data as HistogramData;
    expect(h).toEqual({ edges: [0, 1, 2], counts: [3, 1] });
    const contexts = latentContextsSpec(page, 0).data as TokenContextsData;
    expect(contexts.contexts).toEqual([{ tokens: ['a', ' cat', ' sat'], values: [0, 1.5, 0], focus: 1 }]);
    wellFormed(latentHistogramSpec(page, 1));
    wellFormed(latentContextsSpec(page, 0));

    const lens: DiffLens = {
      a: 'base',
      b: 'dpo',
      probe: 'builtin',
      tokens: 100,
      layers: [0, 1].map((layer) => ({
        tap: `blocks.${layer}.resid_post`,
        layer,
        norm: 0.5 + layer,
        baseNorm: 3 + layer,
        promoted: [],
        suppressed: [],
      })),
    };
    const bars = lensSpec(lens).data as GroupedBarData;
    expect(bars.groups).toEqual(['L0', 'L1']);
    expect(bars.series.map((s) => s.values)).toEqual([
      [0.5, 1.5],
      [3, 4],
    ]);
    wellFormed(lensSpec(lens));
  });
});
