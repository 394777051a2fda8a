import { describe, expect, it } from 'vitest';
import { svcca, prepareSvcca, svccaScoreForPermutation } from '../../../src/core/analysis/svcca.js';
import { rsa, spearman, averageRanks, prepareRsa, rsaScore } from '../../../src/core/analysis/rsa.js';
import { benjaminiHochberg, permutationNull } from '../../../src/core/analysis/nulls.js';
import { Rng } from '../../../src/core/model/rng.js';

function gaussian(rows: number, cols: number, seed: number) {
  const rng = new Rng(seed);
  return { data: Float32Array.from({ length: rows * cols }, () => rng.normal()), rows, cols };
}

/** B = A M + noise for a random M: the same geometry seen through a different basis. */
function linked(
  a: { data: Float32Array; rows: number; cols: number },
  dB: number,
  noise: number,
  seed: number,
) {
  const rng = new Rng(seed);
  const M = Float64Array.from({ length: a.cols * dB }, () => rng.normal());
  const data = new Float32Array(a.rows * dB);
  for (let r = 0; r < a.rows; r++) {
    for (let j = 0; j < dB; j++) {
      let s = 0;
      for (let i = 0; i < a.cols; i++) s += a.data[r * a.cols + i] * M[i * dB + j];
      data[r * dB + j] = s + noise * rng.normal();
    }
  }
  return { data, rows: a.rows, cols: dB };
}

describe('svcca', () => {
  it('gives 1 for identical inputs and for an invertible linear map of them', () => {
    const a = gaussian(200, 8, 1);
    const same = svcca(a, a);
    expect(same.score).toBeCloseTo(1, 8);
    expect(same.kA).toBe(same.kB);
    const mapped = svcca(a, linked(a, 8, 0, 2), { k: 8 });
    expect(mapped.score).toBeCloseTo(1, 6);
    expect(mapped.kA).toBe(8);
  });

  it('keeps the fewest directions reaching 99% of the variance', () => {
    // Column variances 400, 1, 0.0001 (independent): 400 / 401 = 0.9975 >= 0.99 -> k = 1; for 0.999 -> k = 2.
    const rng = new Rng(5);
    const rows = 4000;
    const data = new Float32Array(rows * 3);
    for (let r = 0; r < rows; r++) {
      data[r * 3] = 20 * rng.normal();
      data[r * 3 + 1] = rng.normal();
      data[r * 3 + 2] = 0.01 * rng.normal();
    }
    const x = { data, rows, cols: 3 };
    expect(svcca(x, x).kA).toBe(1);
    expect(svcca(x, x, { varianceThreshold: 0.999 }).kA).toBe(2);
  });

  it('paper-compat mode is |Pearson r| of the first principal-component scores, with k = 1', () => {
    const a = gaussian(300, 6, 3);
    const b = linked(a, 5, 2, 4);
    const res = svcca(a, b, { mode: 'svcca-paper-compat' });
    expect(res.kA).toBe(1);
    expect(res.kB).toBe(1);
    expect(res.label).toMatch(/reproduces the authors' implementation/);
    // Reference: first PC scores through a plain power iteration on each covariance.
    const pc1 = (m: { data: Float32Array; rows: number; cols: number }) => {
      const { rows, cols } = m;
      const mean = new Float64Array(cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mean[c] += m.data[r * cols + c] / rows;
      let v = new Float64Array(cols).fill(1);
      for (let it = 0; it < 500; it++) {
        const w = new Float64Array(cols);
        for (let r = 0; r < rows; r++) {
          let s = 0;
          for (let c = 0; c < cols; c++) s += (m.data[r * cols + c] - mean[c]) * v[c];
          for (let c = 0; c < cols; c++) w[c] += (m.data[r * cols + c] - mean[c]) * s;
        }
        const n = Math.hypot(...w);
        v = w.map((x) => x / n);
      }
      return Array.from({ length: rows }, (_, r) => {
        let s = 0;
        for (let c = 0; c < cols; c++) s += (m.data[r * cols + c] - mean[c]) * v[c];
        return s;
      });
    };
    const sa = pc1(a);
    const sb = pc1(b);
    const ma = sa.reduce((x, y) => x + y) / sa.length;
    const mb = sb.reduce((x, y) => x + y) / sb.length;
    let sab = 0;
    let saa = 0;
    let sbb = 0;
    for (let i = 0; i < sa.length; i++) {
      sab += (sa[i] - ma) * (sb[i] - mb);
      saa += (sa[i] - ma) ** 2;
      sbb += (sb[i] - mb) ** 2;
    }
    expect(res.score).toBeCloseTo(Math.abs(sab) / Math.sqrt(saa * sbb), 6);
  });

  it('independent random inputs land near their permutation null, paired ones far above it', () => {
    const a = gaussian(400, 10, 11);
    const indep = gaussian(400, 10, 12);
    const p1 = prepareSvcca(a, indep, { k: 3 });
    const obs1 = svccaScoreForPermutation(
      p1,
      Int32Array.from({ length: 400 }, (_, i) => i),
    );
    const n1 = permutationNull(obs1, (perm) => svccaScoreForPermutation(p1, perm), 400, {
      shuffles: 200,
      seed: 1,
    });
    expect(Math.abs(obs1 - n1.nullMean)).toBeLessThan(4 * n1.nullSd);
    expect(n1.pValue).toBeGreaterThan(0.01);
    const b = linked(a, 10, 1, 13);
    const p2 = prepareSvcca(a, b, { k: 3 });
    const obs2 = svccaScoreForPermutation(
      p2,
      Int32Array.from({ length: 400 }, (_, i) => i),
    );
    const n2 = permutationNull(obs2, (perm) => svccaScoreForPermutation(p2, perm), 400, {
      shuffles: 200,
      seed: 1,
    });
    expect(obs2).toBeGreaterThan(n2.nullMean + 10 * n2.nullSd);
    expect(n2.pValue).toBeCloseTo(1 / 201, 12);
  });

  it('warns when n < 10 k and rejects unpaired rows', () => {
    const a = gaussian(30, 10, 1);
    expect(svcca(a, gaussian(30, 10, 2)).warnings[0]).toMatch(/n = 30 paired rows/);
    expect(() => svcca(a, gaussian(31, 10, 2))).toThrow(/30 rows but B has 31/);
  });
});

describe('rsa', () => {
  it('is 1 for identical inputs and matches a hand Spearman', () => {
    const a = gaussian(20, 5, 1);
    expect(rsa(a, a).score).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [10, 20, 40, 30])).toBeCloseTo(0.8, 12);
    expect([...averageRanks([3, 1, 3, 2])]).toEqual([3.5, 1, 3.5, 2]);
  });

  it('a permutation of B equals RSA against the row-permuted B', () => {
    const a = gaussian(15, 4, 2);
    const b = gaussian(15, 6, 3);
    const perm = new Rng(9).shuffle(Array.from({ length: 15 }, (_, i) => i));
    const bp = { data: new Float32Array(15 * 6), rows: 15, cols: 6 };
    for (let r = 0; r < 15; r++) bp.data.set(b.data.subarray(perm[r] * 6, perm[r] * 6 + 6), r * 6);
    expect(rsaScore(prepareRsa(a, b), perm)).toBeCloseTo(rsa(a, bp).score, 12);
  });
});

describe('permutation null and BH', () => {
  it('p = (1 + #{null >= obs}) / (1 + N) stays within [1/(N+1), 1] and counts ties', () => {
    const always = permutationNull(0.5, () => 0.5, 10, { shuffles: 99 });
    expect(always.pValue).toBe(1);
    expect(always.nullSd).toBe(0);
    const never = permutationNull(0.5, () => 0.1, 10, { shuffles: 99 });
    expect(never.pValue).toBeCloseTo(0.01, 15);
    const rng = new Rng(0);
    const half = permutationNull(0.5, () => rng.next(), 10, { shuffles: 999, seed: 3 });
    expect(half.pValue).toBeGreaterThan(1 / 1000);
    expect(half.pValue).toBeLessThanOrEqual(1);
    expect(half.null).toHaveLength(999);
    expect(half.formula).toBe('(1 + #{null >= observed}) / (1 + N)');
  });

  it('draws uniform permutations, reproducibly from the seed', () => {
    const seen: number[][] = [];
    permutationNull(0, (p) => (seen.push([...p]), 0), 5, { shuffles: 3, seed: 42 });
    const again: number[][] = [];
    permutationNull(0, (p) => (again.push([...p]), 0), 5, { shuffles: 3, seed: 42 });
    expect(again).toEqual(seen);
    for (const p of seen) expect([...p].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('Benjamini-Hochberg matches a hand computation (and R p.adjust)', () => {
    // p = 0.01, 0.04, 0.03, 0.005 (m = 4): sorted 0.005, 0.01, 0.03, 0.04 -> 0.02, 0.02, 0.04, 0.04.
    const q = benjaminiHochberg([0.01, 0.04, 0.03, 0.005]);
    expect(q[0]).toBeCloseTo(0.02, 15);
    expect(q[1]).toBeCloseTo(0.04, 15);
    expect(q[2]).toBeCloseTo(0.04, 15);
    expect(q[3]).toBeCloseTo(0.02, 15);
    expect(() => benjaminiHochberg([0.2, 1.5])).toThrow(/p-value 1 is 1.5/);
  });
});
