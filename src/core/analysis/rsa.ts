/**
 * Representational similarity analysis as in Lan et al. (arXiv 2410.06981, §3; the `resi` defaults):
 * on each side the n x n Pearson correlation matrix between the rows (the representational
 * dissimilarity matrix, RDM, up to the sign), then the Spearman correlation between the two upper
 * triangles without the diagonal.
 */
import { checkPairedRows, type Matrix } from './matrix.js';

/** The n x n Pearson correlation between the rows of `m` (float64; constant rows correlate 0). */
export function rowCorrelationMatrix(m: Matrix): Float64Array {
  const { rows: n, cols: d } = m;
  const z = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    let mean = 0;
    for (let c = 0; c < d; c++) mean += m.data[r * d + c];
    mean /= d;
    let ss = 0;
    for (let c = 0; c < d; c++) ss += (m.data[r * d + c] - mean) ** 2;
    const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let c = 0; c < d; c++) z[r * d + c] = (m.data[r * d + c] - mean) * inv;
  }
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += z[i * d + c] * z[j * d + c];
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}

/** Ranks 1..m with ties given their average rank (scipy.stats.rankdata 'average'). */
export function averageRanks(v: ArrayLike<number>): Float64Array {
  const m = v.length;
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => v[a] - v[b]);
  const ranks = new Float64Array(m);
  for (let i = 0; i < m;) {
    let j = i;
    while (j + 1 < m && v[order[j + 1]] === v[order[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

/** Pearson correlation of two equal-length vectors (0 when either is constant). */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i] - mx;
    const b = y[i] - my;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

/** Spearman's rho: the Pearson correlation of the average ranks. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new Error(`spearman: lengths differ (${x.length} vs ${y.length})`);
  return pearson(averageRanks(x), averageRanks(y));
}

/** Prepared RSA: A's triangle ranks and B's full RDM ranks, so a permutation of B costs O(n^2). */
export interface RsaPrepared {
  n: number;
  /** Ranks of A's upper triangle (i < j, row by row), centred. */
  rankA: Float64Array;
  /** B's RDM entries replaced by their triangle ranks (symmetric n x n), centred. */
  rankB: Float64Array;
  ssA: number;
  ssB: number;
}

/** Builds both RDMs and ranks their upper triangles. */
export function prepareRsa(a: Matrix, b: Matrix): RsaPrepared {
  const n = checkPairedRows(a, b, 'rsa');
  const tri = (r: Float64Array): Float64Array => {
    const out = new Float64Array((n * (n - 1)) / 2);
    let t = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out[t++] = r[i * n + j];
    return out;
  };
  const center = (v: Float64Array): number => {
    let m = 0;
    for (const x of v) m += x;
    m /= v.length;
    let ss = 0;
    for (let i = 0; i < v.length; i++) {
      v[i] -= m;
      ss += v[i] * v[i];
    }
    return ss;
  };
  const rankA = averageRanks(tri(rowCorrelationMatrix(a)));
  const triB = averageRanks(tri(rowCorrelationMatrix(b)));
  const ssA = center(rankA);
  const ssB = center(triB);
  const rankB = new Float64Array(n * n);
  let t = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      rankB[i * n + j] = triB[t];
      rankB[j * n + i] = triB[t++];
    }
  }
  return { n, rankA, rankB, ssA, ssB };
}

/** The RSA score with B's rows taken in the order `perm` (identity when omitted). */
export function rsaScore(p: RsaPrepared, perm?: ArrayLike<number>): number {
  const { n, rankA, rankB, ssA, ssB } = p;
  if (!(ssA > 0 && ssB > 0)) return 0;
  let s = 0;
  let t = 0;
  for (let i = 0; i < n; i++) {
    const pi = perm ? perm[i] : i;
    for (let j = i + 1; j < n; j++) s += rankA[t++] * rankB[pi * n + (perm ? perm[j] : j)];
  }
  return s / Math.sqrt(ssA * ssB);
}

/** RSA between two views with paired rows: Spearman rho of the upper triangles of their Pearson RDMs. */
export function rsa(a: Matrix, b: Matrix): { score: number; n: number; pairs: number } {
  const p = prepareRsa(a, b);
  return { score: rsaScore(p), n: p.n, pairs: (p.n * (p.n - 1)) / 2 };
}
