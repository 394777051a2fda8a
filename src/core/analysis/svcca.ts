/**
 * SVCCA (Raghu et al., arXiv 1706.05806) between two views with paired rows: A [n, dA] and B [n, dB].
 * The rows are the datapoints and the columns the "neurons". Two uses:
 *   - Lan et al. (arXiv 2410.06981, §3): rows = paired features, columns = model dimensions, i.e. the
 *     decoder rows W_dec[idx_A] and W_dec[idx_B];
 *   - activations: rows = the same tokens, columns = neurons (or features) of each side.
 *
 * Steps: centre each column; thin SVD; keep the fewest k directions whose squared singular values reach
 * `varianceThreshold` (0.99) of the total, or a fixed k; the reduced views are U_k S_k, whose orthonormal
 * basis (the Q of their QR) is U_k, so the canonical correlations are the singular values of
 * U_kA^T U_kB (Björck & Golub 1973); the score is their mean.
 *
 * Mode `svcca-paper-compat` reproduces the authors' implementation (k = 1 on both sides: their
 * k-selection compares variance fractions with 0.99 x the total variance, which never qualifies for
 * unit-norm rows, and argmax + 1 gives 1); its score is |Pearson r| of the first principal-component
 * scores.
 */
import { matmul, view } from './gemm.js';
import { centerColumns, gramSpectrum, leftSingularVectors, symmetricEigen } from './linalg.js';
import { checkPairedRows, type Matrix } from './matrix.js';

export type SvccaMode = 'svcca' | 'svcca-paper-compat';

export const SVCCA_MODE_LABELS: Record<SvccaMode, string> = {
  svcca: 'SVCCA (Raghu et al.): 99% variance directions, mean canonical correlation',
  'svcca-paper-compat': "SVCCA, k = 1: reproduces the authors' implementation (Lan et al.)",
};

export interface SvccaOptions {
  mode?: SvccaMode;
  /** Share of the variance the kept directions must reach (default 0.99); mode `svcca` only. */
  varianceThreshold?: number;
  /** A fixed number of directions on each side instead of the threshold (capped at the rank). */
  k?: number;
}

export interface SvccaResult {
  score: number;
  mode: SvccaMode;
  label: string;
  /** Directions kept on each side. */
  kA: number;
  kB: number;
  /** Paired datapoints. */
  n: number;
  /** The canonical correlations, descending. */
  correlations: number[];
  warnings: string[];
}

/** The reduced, orthonormal views of the two sides: precomputed once, reused by the permutation null. */
export interface SvccaPrepared {
  uA: Float64Array;
  uB: Float64Array;
  kA: number;
  kB: number;
  n: number;
  mode: SvccaMode;
  warnings: string[];
}

/** Centres, decomposes and truncates both sides (see the file comment). */
export function prepareSvcca(a: Matrix, b: Matrix, opts: SvccaOptions = {}): SvccaPrepared {
  const n = checkPairedRows(a, b, 'svcca');
  const mode = opts.mode ?? 'svcca';
  const thr = opts.varianceThreshold ?? 0.99;
  if (!(thr > 0 && thr <= 1)) throw new Error(`svcca: varianceThreshold must be in (0, 1], got ${thr}`);
  const warnings: string[] = [];
  const reduce = (m: Matrix, side: string): { u: Float64Array; k: number } => {
    const xc = centerColumns(m.data, m.rows, m.cols);
    const sp = gramSpectrum(xc, m.rows, m.cols);
    const s = sp.s;
    const rank = s.length;
    let k: number;
    if (mode === 'svcca-paper-compat') k = 1;
    else if (opts.k !== undefined) {
      if (!Number.isInteger(opts.k) || opts.k < 1)
        throw new Error(`svcca: k must be a positive integer, got ${opts.k}`);
      k = Math.min(opts.k, rank);
    } else {
      let total = 0;
      for (const v of s) total += v * v;
      if (total === 0) throw new Error(`svcca: side ${side} has zero variance`);
      let cum = 0;
      k = rank;
      for (let i = 0; i < rank; i++) {
        cum += s[i] * s[i];
        if (cum >= thr * total) {
          k = i + 1;
          break;
        }
      }
    }
    // Drop directions with no variance. The singular values come from a Gram matrix, whose eigenvalues
    // carry an error of ~max(rows, cols) eps s_0^2, so s_i below s_0 sqrt(max(rows, cols) eps) is noise
    // (and its U column is left zero, see leftSingularVectors).
    const tol2 = s[0] * s[0] * Math.max(m.rows, m.cols) * 2 ** -52;
    while (k > 1 && !(s[k - 1] * s[k - 1] > tol2)) k--;
    return { u: leftSingularVectors(xc, m.rows, m.cols, sp, k), k };
  };
  const A = reduce(a, 'A');
  const B = reduce(b, 'B');
  if (mode === 'svcca' && Math.max(A.k, B.k) > n / 10) {
    warnings.push(
      `n = ${n} paired rows for k = ${A.k}/${B.k} directions: with n < 10 k, canonical correlations are inflated (every one is 1 as k approaches n); compare with the permutation null`,
    );
  }
  return { uA: A.u, uB: B.u, kA: A.k, kB: B.k, n, mode, warnings };
}

/**
 * The canonical correlations of prepared views, with B's rows taken in the order `perm` (identity when
 * omitted): the singular values of U_kA^T P U_kB, via the eigenvalues of the smaller of M^T M and M M^T.
 * Both products are float64 register-blocked matrix products (`gemm.ts`).
 */
export function canonicalCorrelations(p: SvccaPrepared, perm?: ArrayLike<number>): number[] {
  const { uA, kA, kB, n } = p;
  let uB = p.uB;
  if (perm) {
    uB = new Float64Array(n * kB);
    for (let r = 0; r < n; r++) uB.set(p.uB.subarray(perm[r] * kB, perm[r] * kB + kB), r * kB);
  }
  // M = U_A^T U_B (kA x kB).
  const M = new Float64Array(kA * kB);
  matmul(view(M, kB), view(uA, kA), view(uB, kB), kA, kB, n, { ta: true });
  const small = Math.min(kA, kB);
  const G = new Float64Array(small * small);
  if (kB <= kA) matmul(view(G, kB), view(M, kB), view(M, kB), kB, kB, kA, { ta: true, lower: true });
  else matmul(view(G, kA), view(M, kB), view(M, kB), kA, kA, kB, { tb: true, lower: true });
  const { values } = symmetricEigen(G, small);
  return Array.from(values, (v) => Math.min(1, Math.sqrt(Math.max(v, 0)))).reverse();
}

/** SVCCA score of two views with paired rows; see the file comment for the modes. */
export function svcca(a: Matrix, b: Matrix, opts: SvccaOptions = {}): SvccaResult {
  const p = prepareSvcca(a, b, opts);
  const correlations = canonicalCorrelations(p);
  return {
    score: correlations.reduce((s, v) => s + v, 0) / correlations.length,
    mode: p.mode,
    label: SVCCA_MODE_LABELS[p.mode],
    kA: p.kA,
    kB: p.kB,
    n: p.n,
    correlations,
    warnings: p.warnings,
  };
}

/** The SVCCA score of prepared views with B's rows permuted, for the permutation null. */
export function svccaScoreForPermutation(p: SvccaPrepared, perm: ArrayLike<number>): number {
  const c = canonicalCorrelations(p, perm);
  return c.reduce((s, v) => s + v, 0) / c.length;
}
