/**
 * The in-memory matrix every analysis takes: row-major float32, rows = tokens (or examples, or
 * features), cols = neurons (or features, or model dimensions). Plain data, so that the store can hand
 * its blobs over without copying.
 */

/** A row-major [rows, cols] matrix. */
export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

/** Wraps a Float32Array as a matrix, checking the size; `what` names it in errors. */
export function matrix(data: Float32Array, rows: number, cols: number, what = 'matrix'): Matrix {
  checkMatrix({ data, rows, cols }, what);
  return { data, rows, cols };
}

/** Throws a clear error when `m` is not a consistent, finite [rows, cols] matrix. */
export function checkMatrix(m: Matrix, what = 'matrix'): void {
  if (!Number.isInteger(m.rows) || !Number.isInteger(m.cols) || m.rows < 0 || m.cols < 0) {
    throw new Error(`${what}: rows and cols must be non-negative integers, got ${m.rows} x ${m.cols}`);
  }
  if (m.data.length !== m.rows * m.cols) {
    throw new Error(
      `${what}: expected ${m.rows} x ${m.cols} = ${m.rows * m.cols} values, got ${m.data.length}`,
    );
  }
  for (let i = 0; i < m.data.length; i++) {
    if (!Number.isFinite(m.data[i])) {
      throw new Error(`${what}: value at row ${Math.floor(i / m.cols)}, col ${i % m.cols} is ${m.data[i]}`);
    }
  }
}

/**
 * Checks two views whose rows are paired (row i of A and row i of B are one datapoint), at least 3 of them,
 * and returns that number of rows; `what` names the measure in errors.
 */
export function checkPairedRows(a: Matrix, b: Matrix, what: string): number {
  checkMatrix(a, `${what} A`);
  checkMatrix(b, `${what} B`);
  if (a.rows !== b.rows)
    throw new Error(`${what}: A has ${a.rows} rows but B has ${b.rows}; rows must be paired`);
  if (a.rows < 3) throw new Error(`${what}: need at least 3 paired rows, got ${a.rows}`);
  return a.rows;
}

/** The rows of `m` listed in `idx`, in that order, as a new matrix. */
export function takeRows(m: Matrix, idx: ArrayLike<number>): Matrix {
  const out = new Float32Array(idx.length * m.cols);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i];
    if (r < 0 || r >= m.rows) throw new Error(`takeRows: row ${r} out of range [0, ${m.rows})`);
    out.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols);
  }
  return { data: out, rows: idx.length, cols: m.cols };
}

/** The columns of `m` listed in `idx`, in that order, as a new matrix. */
export function takeCols(m: Matrix, idx: ArrayLike<number>): Matrix {
  const k = idx.length;
  const out = new Float32Array(m.rows * k);
  for (let r = 0; r < m.rows; r++) {
    const o = r * m.cols;
    for (let j = 0; j < k; j++) out[r * k + j] = m.data[o + idx[j]];
  }
  return { data: out, rows: m.rows, cols: k };
}

/** The transpose of `m`. */
export function transpose(m: Matrix): Matrix {
  const out = new Float32Array(m.rows * m.cols);
  for (let r = 0; r < m.rows; r++) {
    const o = r * m.cols;
    for (let c = 0; c < m.cols; c++) out[c * m.rows + r] = m.data[o + c];
  }
  return { data: out, rows: m.cols, cols: m.rows };
}
