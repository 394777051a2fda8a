import { describe, expect, it } from 'vitest';
import { matmul, mirrorLower, view } from '../../../src/core/analysis/gemm.js';
import { Rng } from '../../../src/core/model/rng.js';

describe('matmul (float64, 4 x 4 register blocks)', () => {
  const rng = new Rng(1);
  const rand = (n: number) => Float64Array.from({ length: n }, () => rng.normal());

  it('matches the triple loop for every transposition, odd sizes (edge blocks) and accumulation', () => {
    const [m, n, k] = [9, 7, 13];
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const a = rand(m * k);
        const b = rand(k * n);
        const A = (i: number, p: number) => (ta ? a[p * m + i] : a[i * k + p]);
        const B = (p: number, j: number) => (tb ? b[j * k + p] : b[p * n + j]);
        const c = rand(m * n);
        const c0 = Float64Array.from(c);
        matmul(view(c, n), view(a, ta ? m : k), view(b, tb ? k : n), m, n, k, { ta, tb, accumulate: true });
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let s = c0[i * n + j];
            for (let p = 0; p < k; p++) s += A(i, p) * B(p, j);
            expect(c[i * n + j]).toBeCloseTo(s, 12);
          }
      }
    }
  });

  it('works on sub-matrix views (offset and stride) and leaves the rest alone', () => {
    // C[1:5, 2:6] of a 6 x 8 matrix = A[0:4, 1:4] (of a 4 x 5) times the 3 x 4 B.
    const big = new Float64Array(48).fill(7);
    const a = rand(20);
    const b = rand(12);
    matmul(
      { data: big, offset: 1 * 8 + 2, stride: 8 },
      { data: a, offset: 1, stride: 5 },
      view(b, 4),
      4,
      4,
      3,
    );
    for (let i = 0; i < 6; i++)
      for (let j = 0; j < 8; j++) {
        const inside = i >= 1 && i < 5 && j >= 2 && j < 6;
        let s = 7;
        if (inside) {
          s = 0;
          for (let p = 0; p < 3; p++) s += a[(i - 1) * 5 + 1 + p] * b[p * 4 + (j - 2)];
        }
        expect(big[i * 8 + j]).toBeCloseTo(s, 12);
      }
  });

  it('computes a symmetric Gram from its lower blocks (with mirrorLower)', () => {
    const x = rand(11 * 10);
    const g = new Float64Array(100);
    matmul(view(g, 10), view(x, 10), view(x, 10), 10, 10, 11, { ta: true, lower: true });
    mirrorLower(g, 10);
    for (let i = 0; i < 10; i++)
      for (let j = 0; j < 10; j++) {
        let s = 0;
        for (let r = 0; r < 11; r++) s += x[r * 10 + i] * x[r * 10 + j];
        expect(g[i * 10 + j]).toBeCloseTo(s, 12);
      }
  });
});
