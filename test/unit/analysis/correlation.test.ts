import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/core/backend/index.js';
import {
  clusterOrder,
  correlationDifference,
  correlationSummary,
  crossCorrelation,
  featureDecorrelation,
  pearsonMatrix,
} from '../../../src/core/analysis/correlation.js';
import {
  activationVariance,
  effectiveRank,
  effectiveRankOfSpectrum,
  fractionActive,
  hoyerSparsity,
  medianOf,
  mlpInputLayers,
  weightProxy,
} from '../../../src/core/analysis/sparsity.js';
import { Rng } from '../../../src/core/model/rng.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const m = (rows: number[][]) => ({
  data: Float32Array.from(rows.flat()),
  rows: rows.length,
  cols: rows[0].length,
});

describe('pearsonMatrix', () => {
  it('matches hand-computed correlations, with a dead column at 0 and a unit diagonal', () => {
    // col0 = 1,2,3,4; col1 = 2,4,6,8 (r = 1); col2 = 4,3,2,1 (r = -1); col3 = 1,0,0,1 (r = 0 with col0); col4 constant.
    const x = m([
      [1, 2, 4, 1, 7],
      [2, 4, 3, 0, 7],
      [3, 6, 2, 0, 7],
      [4, 8, 1, 1, 7],
    ]);
    const c = pearsonMatrix(x, { chunkRows: 3, blockCols: 2 });
    const at = (i: number, j: number) => c.corr[i * 5 + j];
    expect(at(0, 1)).toBeCloseTo(1, 5);
    expect(at(0, 2)).toBeCloseTo(-1, 5);
    expect(at(2, 1)).toBeCloseTo(-1, 5);
    expect(at(0, 3)).toBeCloseTo(0, 6);
    expect(at(4, 0)).toBe(0);
    for (let i = 0; i < 5; i++) expect(at(i, i)).toBe(1);
    expect(c.dead).toEqual([4]);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) expect(at(i, j)).toBe(at(j, i));
  });

  it('agrees between block/chunk sizes and with the cross-correlation of a matrix with itself', () => {
    const rng = new Rng(1);
    const rows = 300;
    const cols = 70;
    const data = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const shared = rng.normal();
      for (let c = 0; c < cols; c++) data[r * cols + c] = rng.normal() + (c % 3 === 0 ? shared : 0);
    }
    const x = { data, rows, cols };
    const a = pearsonMatrix(x, { chunkRows: 64, blockCols: 16 });
    const b = pearsonMatrix(x, { chunkRows: 1000, blockCols: 1000 });
    const cross = crossCorrelation(x, x, { chunkRows: 100, blockCols: 32 });
    for (let i = 0; i < cols * cols; i++) {
      expect(a.corr[i]).toBeCloseTo(b.corr[i], 5);
      if (i % (cols + 1) !== 0) expect(cross[i]).toBeCloseTo(a.corr[i], 5);
    }
    // Columns 0 and 3 share a factor of variance 1 out of 2: r near 0.5.
    expect(a.corr[3]).toBeGreaterThan(0.35);
  });

  it('rejects mismatched inputs with a clear error', () => {
    expect(() => pearsonMatrix({ data: new Float32Array(5), rows: 2, cols: 3 })).toThrow(
      /expected 2 x 3 = 6 values, got 5/,
    );
    expect(() => crossCorrelation(m([[1], [2]]), m([[1], [2], [3]]))).toThrow(/same tokens/);
  });
});

describe('correlation summaries', () => {
  it('computes mean |off-diagonal| and the normalised Frobenius norm by hand', () => {
    const corr = Float32Array.from([1, 0.5, -0.5, 0.5, 1, 0, -0.5, 0, 1]);
    const s = correlationSummary({ corr, size: 3 });
    expect(s.meanAbsOffDiagonal).toBeCloseTo((4 * 0.5) / 6, 7);
    expect(s.normalizedFrobenius).toBeCloseTo(Math.sqrt((4 * 0.25) / 6), 7);
  });

  it('feature decorrelation: 1 - mean pairwise cosine of the rows', () => {
    // Rows (1,0), (0,1), (1,1): cosines 0, 1/sqrt2, 1/sqrt2 -> mean over ordered pairs = (2 * sqrt2) / 6.
    const fd = featureDecorrelation(
      m([
        [1, 0],
        [0, 1],
        [1, 1],
      ]),
    );
    expect(fd.fd).toBeCloseTo(1 - Math.SQRT2 / 3, 6);
    expect(
      featureDecorrelation(
        m([
          [2, 0],
          [5, 0],
        ]),
      ).fd,
    ).toBeCloseTo(0, 6);
  });

  it('orders two planted blocks contiguously and takes differences', () => {
    // Neurons 0, 2, 4 correlate strongly with each other, 1, 3, 5 too; across blocks ~0.
    const d = 6;
    const corr = new Float32Array(d * d);
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++)
        corr[i * d + j] = i === j ? 1 : i % 2 === j % 2 ? 0.9 - 0.01 * (i + j) : 0.05;
    const order = clusterOrder({ corr, size: d });
    expect([...order].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const firstHalf = order.slice(0, 3).map((i) => i % 2);
    expect(new Set(firstHalf).size).toBe(1);
    const diff = correlationDifference({ corr, size: d }, { corr: corr.map((v) => v * 2), size: d });
    expect(diff[1]).toBeCloseTo(0.05, 6);
    expect(() => correlationDifference({ corr, size: d }, { corr, size: 5 })).toThrow(/sizes differ/);
  });
});

describe('sparsity and diversity', () => {
  it('fraction active and Hoyer sparsity by hand', () => {
    const x = m([
      [1, 0, 0, 0],
      [1, 1, 1, 1],
      [0, 0, 0, 0],
    ]);
    expect([...fractionActive(x)]).toEqual([2 / 3, 1 / 3, 1 / 3, 1 / 3]);
    const h = hoyerSparsity(x);
    expect(h.perToken[0]).toBeCloseTo(1, 12); // one active neuron
    expect(h.perToken[1]).toBeCloseTo(0, 12); // all equal
    expect(h.perToken[2]).toBe(1);
  });

  it('effective rank: d for isotropic spectra, 1 for one direction, exp(H) in general', () => {
    expect(effectiveRankOfSpectrum([1, 1, 1, 1])).toBeCloseTo(4, 12);
    expect(effectiveRankOfSpectrum([5, 0, 0])).toBeCloseTo(1, 12);
    expect(effectiveRankOfSpectrum([3, 1])).toBeCloseTo(
      Math.exp(-(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25))),
      12,
    );
    // Data on a 2-d plane inside 5 dimensions, equal variance in both: effective rank 2.
    const rows: number[][] = [];
    for (const a of [-1, 1])
      for (const b of [-1, 1]) rows.push([a, b, a, 0, 0].map((v, i) => (i === 2 ? 0 : v)));
    const r = effectiveRank(m(rows));
    expect(r.effectiveRank).toBeCloseTo(2, 4);
    expect(r.eigenvalues[0]).toBeGreaterThanOrEqual(r.eigenvalues[1]);
  });

  it('activation variance is the mean over rows of the population variance across dimensions', () => {
    expect(
      activationVariance(
        m([
          [1, 3],
          [2, 2],
        ]),
      ).mean,
    ).toBeCloseTo(0.5, 12);
  });

  it('weight proxy: median of ||w_in,j|| b_in,j per layer, normalised by the largest |median|', () => {
    // Layer 0: d_model 2, d_mlp 3; columns (3,4) (0,1) (1,0) -> norms 5, 1, 1; bias -1, 2, 3 -> p = -5, 2, 3 -> median 2.
    const l0 = {
      weight: Float32Array.from([3, 0, 1, 4, 1, 0]),
      bias: Float32Array.from([-1, 2, 3]),
      dModel: 2,
      dMlp: 3,
    };
    // Layer 1: p = -4, -4, 0 -> median -4.
    const l1 = {
      weight: Float32Array.from([2, 2, 0, 0, 0, 0]),
      bias: Float32Array.from([-2, -2, 0]),
      dModel: 2,
      dMlp: 3,
    };
    const w = weightProxy([l0, l1]);
    expect(w.median).toEqual([2, -4]);
    expect(w.normalized).toEqual([0.5, -1]);
    expect(w.relativeDepth).toEqual([0, 1]);
    const tensors = new Map([
      ['h.0.mlp.c_fc.weight', { shape: [2, 3], data: l0.weight }],
      ['h.0.mlp.c_fc.bias', { shape: [3], data: l0.bias }],
    ]);
    expect(mlpInputLayers(tensors)).toHaveLength(1);
    expect(() =>
      mlpInputLayers(new Map([['h.0.mlp.c_fc.weight', { shape: [2, 3], data: l0.weight }]])),
    ).toThrow(/layer 0 has no mlp.c_fc.bias/);
    expect(medianOf([3, 1, 2, 10])).toBe(2.5);
  });
});
