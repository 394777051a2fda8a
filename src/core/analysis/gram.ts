/**
 * The Pearson correlation matrix as a Gram matrix: with z_c = (x_c - mean_c) / sqrt(sum_t (x_tc - mean_c)^2),
 * corr = Z^T Z. We standardise a chunk of rows at a time in JavaScript and multiply with TF.js
 * (`matMul`, XNNPACK SIMD on the wasm backend), accumulating in float32. For a symmetric result only the
 * column blocks p <= q are multiplied (about half the work); the others are mirrored.
 *
 * This file holds the part that runs in a worker as well as in the main thread: {@link accumulateGram}
 * over a range of rows, given the column statistics.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Per-column mean and 1 / sqrt(sum of squared deviations) (0 for a constant column). */
export interface ColumnScale {
  mean: Float64Array;
  invNorm: Float64Array;
}

/** Column means and inverse root sums of squares of a row-major [rows, cols] matrix (float64, two passes). */
export function columnScale(x: Float32Array, rows: number, cols: number, minStd = 0): ColumnScale {
  const mean = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) mean[c] += x[o + c];
  }
  for (let c = 0; c < cols; c++) mean[c] /= rows;
  const ss = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) {
      const dlt = x[o + c] - mean[c];
      ss[c] += dlt * dlt;
    }
  }
  const invNorm = new Float64Array(cols);
  for (let c = 0; c < cols; c++) {
    // A column whose standard deviation is (numerically) zero is dead: it correlates with nothing.
    const std = Math.sqrt(ss[c] / Math.max(rows - 1, 1));
    invNorm[c] =
      ss[c] > 0 && std > minStd && std > 1e-7 * (Math.abs(mean[c]) + 1e-30) ? 1 / Math.sqrt(ss[c]) : 0;
  }
  return { mean, invNorm };
}

/** Column blocks [start, end) of width at most `width`. */
export function columnBlocks(cols: number, width: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < cols; s += width) out.push([s, Math.min(cols, s + width)]);
  return out;
}

/** One side of a Gram product: the data and its column statistics. */
export interface GramSide {
  x: Float32Array;
  cols: number;
  scale: ColumnScale;
}

/**
 * Sum over rows [rowStart, rowEnd) of z_a(t)^T z_b(t), i.e. the partial correlation matrix
 * [a.cols, b.cols] (float32, row-major). With `b` omitted the product is symmetric and only blocks
 * p <= q are computed. Needs an initialised TF.js backend.
 */
export function accumulateGram(
  a: GramSide,
  b: GramSide | null,
  rowStart: number,
  rowEnd: number,
  opts: { chunkRows?: number; blockCols?: number } = {},
): Float32Array {
  const chunkRows = opts.chunkRows ?? 4096;
  const blockCols = opts.blockCols ?? 512;
  const sym = b === null;
  const sideB = b ?? a;
  const blocksA = columnBlocks(a.cols, blockCols);
  const blocksB = sym ? blocksA : columnBlocks(sideB.cols, blockCols);
  const acc = new Map<string, tf.Tensor2D>();
  for (let r0 = rowStart; r0 < rowEnd; r0 += chunkRows) {
    const r1 = Math.min(rowEnd, r0 + chunkRows);
    const R = r1 - r0;
    // Left operands transposed ([block, R]), right operands plain ([R, block]): XNNPACK's fast layout.
    const left = blocksA.map(([s, e]) => tf.tensor2d(standardizedBlock(a, r0, r1, s, e, true), [e - s, R]));
    const right = sym
      ? null
      : blocksB.map(([s, e]) => tf.tensor2d(standardizedBlock(sideB, r0, r1, s, e, false), [R, e - s]));
    const rightSym = sym
      ? blocksA.map(([s, e]) => tf.tensor2d(standardizedBlock(a, r0, r1, s, e, false), [R, e - s]))
      : null;
    for (let p = 0; p < blocksA.length; p++) {
      for (let q = sym ? p : 0; q < blocksB.length; q++) {
        const key = `${p},${q}`;
        const prod = tf.matMul(left[p], (sym ? rightSym! : right!)[q]) as tf.Tensor2D;
        const prev = acc.get(key);
        if (prev) {
          acc.set(key, tf.add(prev, prod) as tf.Tensor2D);
          prev.dispose();
          prod.dispose();
        } else acc.set(key, prod);
      }
    }
    tf.dispose([...left, ...(right ?? []), ...(rightSym ?? [])]);
  }
  const out = new Float32Array(a.cols * sideB.cols);
  const ncol = sideB.cols;
  for (let p = 0; p < blocksA.length; p++) {
    for (let q = sym ? p : 0; q < blocksB.length; q++) {
      const t = acc.get(`${p},${q}`);
      if (!t) continue;
      const v = t.dataSync() as Float32Array;
      t.dispose();
      const [as, ae] = blocksA[p];
      const [bs, be] = blocksB[q];
      const w = be - bs;
      for (let i = as; i < ae; i++) {
        for (let j = bs; j < be; j++) {
          const val = v[(i - as) * w + (j - bs)];
          out[i * ncol + j] = val;
          if (sym) out[j * ncol + i] = val;
        }
      }
    }
  }
  return out;
}

/** Standardised values of rows [r0, r1), columns [c0, c1), optionally transposed, as float32. */
function standardizedBlock(
  side: GramSide,
  r0: number,
  r1: number,
  c0: number,
  c1: number,
  transposed: boolean,
): Float32Array {
  const { x, cols, scale } = side;
  const w = c1 - c0;
  const R = r1 - r0;
  const out = new Float32Array(R * w);
  for (let r = r0; r < r1; r++) {
    const o = r * cols;
    const t = r - r0;
    for (let c = c0; c < c1; c++) {
      const z = (x[o + c] - scale.mean[c]) * scale.invNorm[c];
      if (transposed) out[(c - c0) * R + t] = z;
      else out[t * w + (c - c0)] = z;
    }
  }
  return out;
}
