/**
 * SVCCA numerics on hard inputs, against closed forms: planted canonical correlations, equal singular
 * values, rank-deficient and wide (n < d) views, huge and tiny scales, and the permutation path.
 */
import { describe, expect, it } from 'vitest';
import {
  canonicalCorrelations,
  prepareSvcca,
  svcca,
  svccaScoreForPermutation,
} from '../../../src/core/analysis/svcca.js';
import { Rng } from '../../../src/core/model/rng.js';

type M = { data: Float32Array; rows: number; cols: number };

/** Column j of the n x n Sylvester-Hadamard matrix (n a power of 2): +-1 entries, orthogonal columns. */
const hadamard = (n: number, j: number) =>
  Array.from({ length: n }, (_, i) => {
    let bits = i & j;
    let sign = 1;
    while (bits) {
      sign = -sign;
      bits &= bits - 1;
    }
    return sign;
  });

/** A matrix whose columns are the given vectors. */
function fromColumns(cols: number[][]): M {
  const rows = cols[0].length;
  const data = new Float32Array(rows * cols.length);
  cols.forEach((c, j) => c.forEach((v, i) => (data[i * cols.length + j] = v)));
  return { data, rows, cols: cols.length };
}

describe('svcca numerics', () => {
  it('recovers planted canonical correlations 1 and cos(theta) exactly', () => {
    // Hadamard columns 1..3 are centred and orthogonal; B = [a1, 3 a2 + 4 a3] -> correlations 1 and 3/5
    // (every value exact in float32).
    const [a1, a2, a3] = [1, 2, 3].map((j) => hadamard(64, j));
    const c = 3;
    const s = 4;
    const A = fromColumns([a1, a2]);
    const B = fromColumns([a1, a2.map((v, i) => c * v + s * a3[i])]);
    const res = svcca(A, B, { k: 2 });
    expect(res.correlations[0]).toBeCloseTo(1, 12);
    expect(res.correlations[1]).toBeCloseTo(c / Math.hypot(c, s), 12);
    expect(res.score).toBeCloseTo((1 + c / Math.hypot(c, s)) / 2, 12);
  });

  it('keeps every direction when all singular values are equal, and a rotation of A scores 1', () => {
    const cols = [1, 2, 3, 4, 5, 6, 7, 8].map((j) => hadamard(64, j));
    const A = fromColumns(cols);
    const th = 0.3;
    // B: the same columns with pairs rotated by th (an orthogonal map of A's columns).
    const B = fromColumns(
      cols.map((v, j) =>
        v.map((x, i) =>
          j % 2 === 0
            ? Math.cos(th) * x - Math.sin(th) * cols[j + 1][i]
            : Math.sin(th) * cols[j - 1][i] + Math.cos(th) * x,
        ),
      ),
    );
    const res = svcca(A, B);
    expect(res.kA).toBe(8);
    expect(res.kB).toBe(8);
    for (const r of res.correlations) expect(r).toBeCloseTo(1, 6);
  });

  it('caps k at the rank of a rank-deficient view (duplicated columns) and of a wide view (n < d)', () => {
    const rng = new Rng(3);
    const n = 200;
    const base = Array.from({ length: 8 }, () => Array.from({ length: n }, () => rng.normal()));
    const A = fromColumns([...base, ...base.slice(0, 4)]); // 12 columns, rank 8
    const r = svcca(A, A, { k: 12 });
    expect(r.kA).toBe(8);
    expect(r.score).toBeCloseTo(1, 10);
    // 30 rows, 50 columns: the centred rows span 29 dimensions; with k = 29 both views span all of them.
    const W = { data: Float32Array.from({ length: 30 * 50 }, () => rng.normal()), rows: 30, cols: 50 };
    const V = { data: Float32Array.from({ length: 30 * 40 }, () => rng.normal()), rows: 30, cols: 40 };
    const wide = svcca(W, V, { k: 29 });
    expect(wide.kA).toBe(29);
    expect(wide.kB).toBe(29);
    expect(wide.score).toBeCloseTo(1, 10);
  });

  it('is invariant to huge and tiny scales (2^100, 2^-100: exact in float32) of either side', () => {
    const rng = new Rng(8);
    const a = { data: Float32Array.from({ length: 300 * 12 }, () => rng.normal()), rows: 300, cols: 12 };
    const b = { data: new Float32Array(300 * 9), rows: 300, cols: 9 };
    for (let r = 0; r < 300; r++)
      for (let j = 0; j < 9; j++)
        b.data[r * 9 + j] = a.data[r * 12 + j] + 0.7 * a.data[r * 12 + j + 3] + rng.normal();
    const ref = svcca(a, b);
    const scaled = svcca(
      { ...a, data: a.data.map((v) => v * 2 ** -100) },
      { ...b, data: b.data.map((v) => v * 2 ** 100) },
    );
    expect(scaled.kA).toBe(ref.kA);
    expect(scaled.kB).toBe(ref.kB);
    expect(scaled.score).toBeCloseTo(ref.score, 12);
  });

  it('a permutation of prepared views equals SVCCA against the row-permuted B', () => {
    const rng = new Rng(12);
    const n = 150;
    const a = { data: Float32Array.from({ length: n * 10 }, () => rng.normal()), rows: n, cols: 10 };
    const b = { data: Float32Array.from({ length: n * 7 }, () => rng.normal()), rows: n, cols: 7 };
    for (let i = 0; i < n * 7; i++) b.data[i] += a.data[i + Math.floor(i / 7) * 3];
    const p = prepareSvcca(a, b, { k: 5 });
    const identity = Int32Array.from({ length: n }, (_, i) => i);
    expect(svccaScoreForPermutation(p, identity)).toBe(svcca(a, b, { k: 5 }).score);
    const perm = new Rng(1).shuffle(Array.from({ length: n }, (_, i) => i));
    const bp = { data: new Float32Array(n * 7), rows: n, cols: 7 };
    for (let r = 0; r < n; r++) bp.data.set(b.data.subarray(perm[r] * 7, perm[r] * 7 + 7), r * 7);
    const direct = svcca(a, bp, { k: 5 }).correlations;
    const viaPerm = canonicalCorrelations(p, perm);
    for (let i = 0; i < 5; i++) expect(viaPerm[i]).toBeCloseTo(direct[i], 10);
  });
});
