import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/core/backend/index.js';
import { bandToTridiagonal, symmetricEigenvaluesTwoStage } from '../../../src/core/analysis/eigenvalues.js';
import { symmetricEigen, tridiagonalEigenvalues } from '../../../src/core/analysis/linalg.js';
import {
  effectiveRank,
  effectiveRankOfSpectrum,
  covarianceMatrix,
} from '../../../src/core/analysis/sparsity.js';
import { Rng } from '../../../src/core/model/rng.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Q diag(lambda) Q^T with Q a product of random Householder reflectors: known eigenvalues. */
function withSpectrum(lambda: number[], seed: number): Float64Array {
  const n = lambda.length;
  const rng = new Rng(seed);
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  for (let h = 0; h < 3; h++) {
    const v = Float64Array.from({ length: n }, () => rng.normal());
    const vv = v.reduce((s, x) => s + x * x, 0);
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let c = 0; c < n; c++) s += q[r * n + c] * v[c];
      for (let c = 0; c < n; c++) q[r * n + c] -= (2 * s * v[c]) / vv;
    }
  }
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q[i * n + k] * lambda[k] * q[j * n + k];
      a[i * n + j] = s;
    }
  return a;
}

const maxAbsDiff = (x: ArrayLike<number>, y: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
};

describe('tridiagonalEigenvalues (root-free QL)', () => {
  it('matches the closed form 2 - 2 cos(k pi / (n + 1)) of tridiag(-1, 2, -1)', () => {
    const n = 50;
    const v = tridiagonalEigenvalues(new Float64Array(n).fill(2), new Float64Array(n).fill(-1));
    for (let k = 1; k <= n; k++) expect(v[k - 1]).toBeCloseTo(2 - 2 * Math.cos((k * Math.PI) / (n + 1)), 13);
  });

  it("separates Wilkinson's W21+ nearly equal top pair (10.746194182903...)", () => {
    const d = Array.from({ length: 21 }, (_, i) => Math.abs(10 - i));
    const v = tridiagonalEigenvalues(d, new Array(21).fill(1));
    expect(v[20]).toBeCloseTo(10.746194182903393, 12);
    expect(v[19]).toBeCloseTo(10.746194182903322, 12);
    // The trace is kept: sum of the eigenvalues = sum of the diagonal = 110.
    expect(v.reduce((s, x) => s + x, 0)).toBeCloseTo(110, 10);
  });

  it('scales: 1e150 and 1e-150 times a matrix have 1e150 and 1e-150 times its eigenvalues', () => {
    const rng = new Rng(4);
    const d = Array.from({ length: 30 }, () => rng.normal());
    const e = Array.from({ length: 30 }, () => rng.normal());
    const ref = tridiagonalEigenvalues(d, e);
    for (const s of [1e150, 1e-150]) {
      const v = tridiagonalEigenvalues(
        d.map((x) => x * s),
        e.map((x) => x * s),
      );
      for (let i = 0; i < 30; i++) expect(v[i] / s).toBeCloseTo(ref[i], 12);
    }
    expect([...tridiagonalEigenvalues([0, 0, 0], [0, 0, 0])]).toEqual([0, 0, 0]);
  });
});

describe('bandToTridiagonal', () => {
  it('keeps the eigenvalues of a random band matrix (float64 bulge chasing)', () => {
    const n = 60;
    const rng = new Rng(7);
    for (const b of [2, 5, 9]) {
      const band = new Float64Array(n * 2 * b);
      const dense = new Float64Array(n * n);
      for (let c = 0; c < n; c++)
        for (let k = 0; k <= b && c + k < n; k++) {
          const v = rng.normal();
          band[c * 2 * b + k] = v;
          dense[(c + k) * n + c] = v;
          dense[c * n + c + k] = v;
        }
      const { d, e } = bandToTridiagonal(band, n, b);
      const ref = symmetricEigen(dense, n).values;
      expect(maxAbsDiff(tridiagonalEigenvalues(d, e), ref)).toBeLessThan(1e-12);
    }
  });
});

describe('symmetricEigenvaluesTwoStage (float32 band reduction on wasm)', () => {
  it('agrees with the float64 solver on a random 300 x 300 matrix to ~1e-6 of the largest eigenvalue', () => {
    const n = 300;
    const rng = new Rng(11);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rng.normal();
    const ref = symmetricEigen(a, n).values;
    for (const bandwidth of [1, 8, 32]) {
      const v = symmetricEigenvaluesTwoStage(a, n, { bandwidth });
      expect(maxAbsDiff(v, ref) / Math.abs(ref[n - 1])).toBeLessThan(5e-6);
    }
  });

  it('finds planted repeated eigenvalues, and keeps them under huge and tiny scales', () => {
    const lambda = [...new Array(40).fill(1), ...new Array(30).fill(2), ...new Array(30).fill(-0.5)];
    const a = withSpectrum(lambda, 3);
    const want = [...lambda].sort((x, y) => x - y);
    expect(maxAbsDiff(symmetricEigenvaluesTwoStage(a, 100), want)).toBeLessThan(1e-5);
    for (const s of [1e30, 1e-30]) {
      const v = symmetricEigenvaluesTwoStage(
        a.map((x) => x * s),
        100,
      );
      expect(
        maxAbsDiff(
          v.map((x) => x / s),
          want,
        ),
      ).toBeLessThan(1e-5);
    }
  });

  it('gives (numerically) zero eigenvalues for a rank-deficient covariance, as np.linalg.eigvalsh does', () => {
    // 40 tokens, 250 neurons: rank 39, so 211 eigenvalues are zero.
    const rng = new Rng(5);
    const x = { data: Float32Array.from({ length: 40 * 250 }, () => rng.normal()), rows: 40, cols: 250 };
    const cov = covarianceMatrix(x);
    const ref = symmetricEigen(cov, 250).values;
    const v = symmetricEigenvaluesTwoStage(cov, 250);
    expect(maxAbsDiff(v, ref) / ref[249]).toBeLessThan(5e-6);
    expect(Math.max(...v.slice(0, 211).map(Math.abs)) / ref[249]).toBeLessThan(5e-6);
    // effectiveRank takes this path for 250 columns, and agrees with the float64 spectrum.
    const er = effectiveRank(x);
    expect(er.effectiveRank).toBeCloseTo(effectiveRankOfSpectrum(ref), 3);
    expect(er.eigenvalues[0]).toBeCloseTo(ref[249], 4);
  });

  it('rejects a wrong size and non-finite entries', () => {
    expect(() => symmetricEigenvaluesTwoStage([1, 2, 3], 2)).toThrow(/2x2 = 4 values, got 3/);
    expect(() => symmetricEigenvaluesTwoStage([1, 0, Infinity, 1], 2)).toThrow(/entry \(1, 0\)/);
  });
});
