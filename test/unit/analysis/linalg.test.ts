import { describe, expect, it } from 'vitest';
import { centerColumns, leftSingular, symmetricEigen } from '../../../src/core/analysis/linalg.js';
import { Rng } from '../../../src/core/model/rng.js';

function randomSymmetric(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = rng.normal();
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
  }
  return a;
}

describe('symmetricEigen', () => {
  it('solves [[2, 1], [1, 2]] exactly: eigenvalues 1 and 3', () => {
    const { values, vectors } = symmetricEigen([2, 1, 1, 2], 2, { vectors: true });
    expect(values[0]).toBeCloseTo(1, 12);
    expect(values[1]).toBeCloseTo(3, 12);
    // Eigenvector of 3 is (1, 1)/sqrt 2 up to sign.
    expect(Math.abs(vectors![2])).toBeCloseTo(Math.SQRT1_2, 12);
    expect(vectors![2] * vectors![3]).toBeGreaterThan(0);
  });

  it('matches the closed form of the tridiagonal Toeplitz matrix tridiag(-1, 2, -1): 2 - 2 cos(k pi / (n + 1))', () => {
    const n = 40;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      a[i * n + i] = 2;
      if (i > 0) a[i * n + i - 1] = a[(i - 1) * n + i] = -1;
    }
    const { values } = symmetricEigen(a, n);
    for (let k = 1; k <= n; k++)
      expect(values[k - 1]).toBeCloseTo(2 - 2 * Math.cos((k * Math.PI) / (n + 1)), 12);
  });

  it('gives orthonormal eigenvectors with A v = lambda v on a random 60 x 60 matrix', () => {
    const n = 60;
    const a = randomSymmetric(n, 3);
    const { values, vectors } = symmetricEigen(a, n, { vectors: true });
    let maxRes = 0;
    let maxOrth = 0;
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += a[i * n + j] * vectors![k * n + j];
        maxRes = Math.max(maxRes, Math.abs(s - values[k] * vectors![k * n + i]));
      }
      for (let l = 0; l <= k; l++) {
        let d = 0;
        for (let j = 0; j < n; j++) d += vectors![k * n + j] * vectors![l * n + j];
        maxOrth = Math.max(maxOrth, Math.abs(d - (k === l ? 1 : 0)));
      }
    }
    expect(maxRes).toBeLessThan(1e-12);
    expect(maxOrth).toBeLessThan(1e-12);
    for (let k = 1; k < n; k++) expect(values[k]).toBeGreaterThanOrEqual(values[k - 1]);
  });

  it('handles repeated eigenvalues and a zero matrix', () => {
    const { values } = symmetricEigen([5, 0, 0, 0, 5, 0, 0, 0, 5], 3);
    expect([...values]).toEqual([5, 5, 5]);
    expect([...symmetricEigen(new Float64Array(16), 4).values]).toEqual([0, 0, 0, 0]);
  });

  it('rejects a wrong size and non-finite entries', () => {
    expect(() => symmetricEigen([1, 2, 3], 2)).toThrow(/2x2 = 4 values, got 3/);
    expect(() => symmetricEigen([1, NaN, NaN, 1], 2)).toThrow(/entry \(0, 1\)/);
  });
});

describe('leftSingular', () => {
  it('recovers the singular values of a matrix with known SVD (both Gram sides)', () => {
    // X = U diag(3, 2) V^T with orthonormal U (4 x 2) and V = rotation (2 x 2).
    const u = [0.5, 0.5, 0.5, -0.5, 0.5, 0.5, 0.5, -0.5];
    const c = Math.cos(0.3);
    const s = Math.sin(0.3);
    const v = [c, -s, s, c];
    const x = new Float64Array(8);
    for (let r = 0; r < 4; r++) {
      for (let j = 0; j < 2; j++) x[r * 2 + j] = 3 * u[r * 2] * v[j * 2] + 2 * u[r * 2 + 1] * v[j * 2 + 1];
    }
    const tall = leftSingular(x, 4, 2);
    expect(tall.s[0]).toBeCloseTo(3, 12);
    expect(tall.s[1]).toBeCloseTo(2, 12);
    // The transposed (wide) case uses the other Gram matrix.
    const xt = new Float64Array(8);
    for (let r = 0; r < 4; r++) for (let j = 0; j < 2; j++) xt[j * 4 + r] = x[r * 2 + j];
    const wide = leftSingular(xt, 2, 4);
    expect(wide.s[0]).toBeCloseTo(3, 12);
    expect(wide.s[1]).toBeCloseTo(2, 12);
    // |u_1| matches the planted first left singular vector.
    for (let r = 0; r < 4; r++) expect(Math.abs(tall.u[r * 2])).toBeCloseTo(0.5, 12);
  });

  it('centres columns', () => {
    expect([...centerColumns([1, 10, 3, 20], 2, 2)]).toEqual([-1, -5, 1, 5]);
  });
});
