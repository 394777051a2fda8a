/**
 * Neuron x neuron correlation of one tap, its summaries, the paper's feature decorrelation, a
 * hierarchical-clustering order for heatmaps, and the difference between two checkpoints' matrices.
 */
import { activeBackend } from '../backend/index.js';
import { accumulateGram, columnScale } from './gram.js';
import { checkMatrix, type Matrix } from './matrix.js';

/** A Pearson matrix with what it was computed from. */
export interface CorrelationMatrix {
  /** [size, size] row-major, float32. Dead neurons have 0 off the diagonal and 1 on it. */
  corr: Float32Array;
  size: number;
  /** Rows (tokens) used. */
  n: number;
  /** Columns with zero variance on these rows. */
  dead: number[];
}

function requireBackend(fn: string): void {
  if (!activeBackend()) throw new Error(`${fn}: call initBackend() (src/core/backend) before using TF.js`);
}

/**
 * The Pearson correlation matrix of the columns of `x` ([tokens, neurons]):
 * C_ij = sum_t (x_ti - mean_i)(x_tj - mean_j) / sqrt(SS_i SS_j), computed as the Gram matrix of the
 * standardised columns (see gram.ts) in float32 with TF.js. Call initBackend() first (wasm is fast).
 */
export function pearsonMatrix(
  x: Matrix,
  opts: { chunkRows?: number; blockCols?: number } = {},
): CorrelationMatrix {
  requireBackend('pearsonMatrix');
  checkMatrix(x, 'pearsonMatrix input');
  if (x.rows < 2) throw new Error(`pearsonMatrix: need at least 2 rows (tokens), got ${x.rows}`);
  const scale = columnScale(x.data, x.rows, x.cols);
  const corr = accumulateGram({ x: x.data, cols: x.cols, scale }, null, 0, x.rows, opts);
  const dead: number[] = [];
  for (let i = 0; i < x.cols; i++) {
    if (scale.invNorm[i] === 0) dead.push(i);
    corr[i * x.cols + i] = 1;
  }
  return { corr, size: x.cols, n: x.rows, dead };
}

/**
 * The cross-correlation [a.cols, b.cols] between the columns of two matrices over the same rows:
 * C_ij = Pearson(a_i, b_j). Zero-variance columns correlate 0 with everything (the z-score of a dead
 * feature is 0, as in Lan et al.'s notebooks). Call initBackend() first.
 */
export function crossCorrelation(
  a: Matrix,
  b: Matrix,
  opts: { chunkRows?: number; blockCols?: number } = {},
): Float32Array {
  requireBackend('crossCorrelation');
  checkMatrix(a, 'crossCorrelation A');
  checkMatrix(b, 'crossCorrelation B');
  if (a.rows !== b.rows)
    throw new Error(
      `crossCorrelation: A has ${a.rows} rows (tokens) but B has ${b.rows}; they must be the same tokens`,
    );
  const sa = { x: a.data, cols: a.cols, scale: columnScale(a.data, a.rows, a.cols) };
  const sb = { x: b.data, cols: b.cols, scale: columnScale(b.data, b.rows, b.cols) };
  return accumulateGram(sa, sb, 0, a.rows, opts);
}

/** Summaries of a correlation matrix. */
export interface CorrelationSummary {
  /** mean over i != j of |C_ij|. */
  meanAbsOffDiagonal: number;
  /** ||C - I||_F / sqrt(d (d - 1)): the root mean square off-diagonal correlation, in [0, 1]. */
  normalizedFrobenius: number;
  size: number;
}

/** Mean |off-diagonal| and the normalised ||C - I||_F = sqrt(sum_{i != j} C_ij^2 / (d (d - 1))) of C. */
export function correlationSummary(c: { corr: Float32Array; size: number }): CorrelationSummary {
  const d = c.size;
  let abs = 0;
  let sq = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      if (i === j) continue;
      const v = c.corr[i * d + j];
      abs += Math.abs(v);
      sq += v * v;
    }
  }
  const pairs = d * (d - 1);
  return {
    meanAbsOffDiagonal: pairs ? abs / pairs : 0,
    normalizedFrobenius: pairs ? Math.sqrt(sq / pairs) : 0,
    size: d,
  };
}

/**
 * The feature decorrelation of Yan et al. (arXiv 2406.17969, §3.3): FD = 1 - mean_{i != j} cos(a_i, a_j)
 * over the examples' activation vectors a_i (the rows of `x`, e.g. one per prompt at its last real
 * token). All-zero rows have cosine 0 with everything. Uses the identity
 * sum_{i != j} cos = ||sum_i a_i/||a_i||||^2 - #nonzero rows, so it costs O(rows x cols).
 */
export function featureDecorrelation(x: Matrix): { fd: number; n: number } {
  checkMatrix(x, 'featureDecorrelation input');
  if (x.rows < 2) throw new Error(`featureDecorrelation: need at least 2 examples, got ${x.rows}`);
  const sum = new Float64Array(x.cols);
  let nonzero = 0;
  for (let r = 0; r < x.rows; r++) {
    const o = r * x.cols;
    let n2 = 0;
    for (let c = 0; c < x.cols; c++) n2 += x.data[o + c] * x.data[o + c];
    if (n2 === 0) continue;
    nonzero++;
    const inv = 1 / Math.sqrt(n2);
    for (let c = 0; c < x.cols; c++) sum[c] += x.data[o + c] * inv;
  }
  let s2 = 0;
  for (let c = 0; c < x.cols; c++) s2 += sum[c] * sum[c];
  const meanCos = (s2 - nonzero) / (x.rows * (x.rows - 1));
  return { fd: 1 - meanCos, n: x.rows };
}

/**
 * A leaf order for a heatmap: average-linkage (UPGMA) hierarchical clustering on the distance
 * 1 - |C_ij| (or 1 - C_ij with `signed`), found with the nearest-neighbour-chain algorithm (Murtagh 1983;
 * O(d^2) time), then the leaves read left to right from the dendrogram. ml-hclust's agnes took 16 s at
 * d = 2,048 on the reference machine, hence this.
 */
export function clusterOrder(
  c: { corr: Float32Array; size: number },
  opts: { signed?: boolean } = {},
): number[] {
  const n = c.size;
  if (n <= 2) return Array.from({ length: n }, (_, i) => i);
  const dist = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) dist[i] = 1 - (opts.signed ? c.corr[i] : Math.abs(c.corr[i]));
  const size = new Float64Array(n).fill(1);
  const active = new Uint8Array(n).fill(1);
  // Children of each cluster id: leaves are 0..n-1, merges n..2n-2; slot[i] = cluster id held in row i.
  const left: number[] = [];
  const right: number[] = [];
  const slot = Array.from({ length: n }, (_, i) => i);
  const chain: number[] = [];
  let remaining = n;
  while (remaining > 1) {
    if (chain.length === 0) chain.push(active.indexOf(1));
    for (;;) {
      const a = chain[chain.length - 1];
      const prev = chain.length > 1 ? chain[chain.length - 2] : -1;
      // Nearest active neighbour of a; ties go to the previous chain element so the chain terminates.
      let best = prev;
      let bestD = prev >= 0 ? dist[a * n + prev] : Infinity;
      for (let j = 0; j < n; j++) {
        if (!active[j] || j === a) continue;
        const dj = dist[a * n + j];
        if (dj < bestD) {
          bestD = dj;
          best = j;
        }
      }
      if (best === prev) break;
      chain.push(best);
    }
    const a = chain.pop()!;
    const b = chain.pop()!;
    // Merge b into a (Lance-Williams update for average linkage).
    const na = size[a];
    const nb = size[b];
    for (let k = 0; k < n; k++) {
      if (!active[k] || k === a || k === b) continue;
      const dk = (na * dist[a * n + k] + nb * dist[b * n + k]) / (na + nb);
      dist[a * n + k] = dk;
      dist[k * n + a] = dk;
    }
    active[b] = 0;
    size[a] = na + nb;
    left.push(slot[a]);
    right.push(slot[b]);
    slot[a] = n + left.length - 1;
    remaining--;
  }
  // Read the leaves of the root left to right.
  const order: number[] = [];
  const stack = [n + left.length - 1];
  while (stack.length) {
    const id = stack.pop()!;
    if (id < n) order.push(id);
    else {
      stack.push(right[id - n]);
      stack.push(left[id - n]);
    }
  }
  return order;
}

/** The elementwise difference B - A of two correlation matrices of the same tap and size. */
export function correlationDifference(
  a: { corr: Float32Array; size: number },
  b: { corr: Float32Array; size: number },
): Float32Array {
  if (a.size !== b.size)
    throw new Error(`correlationDifference: sizes differ (${a.size} vs ${b.size}); compare the same tap`);
  const out = new Float32Array(a.corr.length);
  for (let i = 0; i < out.length; i++) out[i] = b.corr[i] - a.corr[i];
  return out;
}
