// Block reductions of a matrix, for the heatmap's image pyramid (each level the previous one reduced by 2)
// and for exporting a matrix too large to embed cell by cell (reduced once by a larger factor).

/** How a block of cells becomes one: the mean of its values, or its value of largest |v| (sign kept). */
export type BlockReduction = 'mean' | 'maxabs';

/** A row-major matrix. */
export interface Grid {
  values: Float32Array;
  rows: number;
  cols: number;
}

/**
 * `m` (rows × cols, row-major) reduced by `factor`: out[i][j] reduces the block of rows f·i … f·i + f − 1 and
 * columns f·j … f·j + f − 1 (a last, partial block what it has), leaving NaN cells out (an all-NaN block
 * stays NaN). `mean` averages the block; `maxabs` keeps the value of largest magnitude, so one strong
 * correlation in a zoomed-out block is still seen.
 */
export function blockReduce(m: Grid, factor: number, kind: BlockReduction): Grid {
  const f = Math.max(1, Math.floor(factor));
  const rows = Math.ceil(m.rows / f);
  const cols = Math.ceil(m.cols / f);
  const sum = new Float64Array(rows * cols);
  const count = new Int32Array(rows * cols);
  const best = new Float32Array(rows * cols).fill(NaN);
  // One pass over the input in memory order, each value added to its block's accumulator.
  for (let r = 0; r < m.rows; r++) {
    const base = Math.floor(r / f) * cols;
    const src = r * m.cols;
    for (let q = 0; q < m.cols; q++) {
      const v = m.values[src + q];
      if (Number.isNaN(v)) continue;
      const k = base + Math.floor(q / f);
      if (kind === 'mean') {
        sum[k] += v;
        count[k]++;
      } else if (!(Math.abs(best[k]) >= Math.abs(v))) best[k] = v;
    }
  }
  const values =
    kind === 'mean' ? Float32Array.from(sum, (s, k) => (count[k] > 0 ? s / count[k] : NaN)) : best;
  return { values, rows, cols };
}

/** The rectangle of `m` at rows r0 … r0 + rows − 1 and columns c0 … c0 + cols − 1, as a grid of its own. */
export function subGrid(m: Grid, r0: number, c0: number, rows: number, cols: number): Grid {
  const values = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++)
    values.set(m.values.subarray((r0 + i) * m.cols + c0, (r0 + i) * m.cols + c0 + cols), i * cols);
  return { values, rows, cols };
}
