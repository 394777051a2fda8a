/**
 * The small dense linear algebra the analyses need, on flat row-major Float64Arrays.
 *
 * Why our own: `ml-matrix` (arrays of arrays) measured 41 s for the eigenvalues of a 2,048 x 2,048
 * symmetric matrix and 3.6 s for the SVD of a 1,000 x 512 matrix on the 2-core reference machine. The
 * analyses only need symmetric eigenproblems (effective rank, the SVD of SVCCA through the smaller Gram
 * matrix, canonical correlations), so we implement that one algorithm with cache-friendly loops:
 *
 *   1. Householder tridiagonalisation A = Q T Q^T (Golub & Van Loan, "Matrix Computations", 4th ed.,
 *      Algorithm 8.3.1), working on the lower triangle only;
 *   2. the implicit QL algorithm with Wilkinson shifts on T (the EISPACK tql1/tql2 procedures, as in
 *      Numerical Recipes §11.3), rotating eigenvector rows;
 *   3. back-transformation of the eigenvectors with the stored Householder vectors.
 */

/** Eigenvalues (ascending) and optionally eigenvectors of a symmetric matrix; row j of `vectors` is eigenvector j. */
export interface SymmetricEigen {
  values: Float64Array;
  /** n x n row-major, row j = unit eigenvector of values[j]; present when asked for. */
  vectors?: Float64Array;
}

/**
 * Eigen-decomposition of the symmetric n x n matrix `a` (row-major; only the lower triangle is read).
 * Householder tridiagonalisation + implicit QL (see the file comment). `a` is not modified.
 */
export function symmetricEigen(
  a: ArrayLike<number>,
  n: number,
  opts: { vectors?: boolean } = {},
): SymmetricEigen {
  if (a.length !== n * n)
    throw new Error(`symmetricEigen: expected ${n}x${n} = ${n * n} values, got ${a.length}`);
  const wantVectors = opts.vectors ?? false;
  const A = Float64Array.from(a);
  for (let i = 0; i < A.length; i++) {
    if (!Number.isFinite(A[i]))
      throw new Error(`symmetricEigen: entry (${Math.floor(i / n)}, ${i % n}) is not finite`);
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  // Householder vectors, kept for the back-transformation: v_k lives in rows k+1.. of column k.
  const hv: Float64Array[] = [];
  const hbeta: number[] = [];
  // v: this step's Householder vector; p: B v, then w. The rank-2 update B <- B - v w^T - w v^T of one
  // step is applied lazily, fused with the next step's matrix-vector product (one pass over B per step).
  let v = new Float64Array(n);
  let p = new Float64Array(n);
  let pv_ = new Float64Array(n); // the pending update's v (previous step)
  let pw_ = new Float64Array(n); // ... and its w
  let pending = false;

  for (let k = 0; k < n - 2; k++) {
    const m0 = k + 1;
    // The pending update touches indices >= k: first bring column k (rows >= k) up to date.
    if (pending) for (let i = k; i < n; i++) A[i * n + k] -= pv_[i] * pw_[k] + pw_[i] * pv_[k];
    // x = A[k+1.., k]; v = x - alpha e_1 with alpha = -sign(x_0) ||x||, H = I - beta v v^T.
    let norm2 = 0;
    for (let i = m0; i < n; i++) norm2 += A[i * n + k] * A[i * n + k];
    d[k] = A[k * n + k];
    const x0 = A[m0 * n + k];
    const skip = norm2 - x0 * x0 === 0; // already tridiagonal in this column: H = I
    let beta = 0;
    if (skip) {
      e[k] = x0;
      v.fill(0, m0, n);
    } else {
      const alpha = x0 >= 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
      e[k] = alpha;
      let vv = 0;
      for (let i = m0; i < n; i++) {
        v[i] = A[i * n + k];
        if (i === m0) v[i] -= alpha;
        vv += v[i] * v[i];
      }
      beta = 2 / vv;
    }
    // One pass over the lower triangle of B = A[k+1.., k+1..]: apply the pending update, and
    // accumulate p = B v from the updated values.
    p.fill(0, m0, n);
    for (let i = m0; i < n; i++) {
      const row = i * n;
      const vi = v[i];
      let acc = 0;
      if (pending) {
        const ui = pv_[i];
        const wi = pw_[i];
        for (let j = m0; j < i; j++) {
          const bij = A[row + j] - (ui * pw_[j] + wi * pv_[j]);
          A[row + j] = bij;
          acc += bij * v[j];
          p[j] += bij * vi;
        }
        A[row + i] -= 2 * ui * wi;
      } else {
        for (let j = m0; j < i; j++) {
          const bij = A[row + j];
          acc += bij * v[j];
          p[j] += bij * vi;
        }
      }
      p[i] += acc + A[row + i] * vi;
    }
    if (skip) {
      pending = false;
    } else {
      // w = beta p - (beta/2)(beta p . v) v becomes the pending update.
      let pv = 0;
      for (let i = m0; i < n; i++) {
        p[i] *= beta;
        pv += p[i] * v[i];
      }
      const K = (beta / 2) * pv;
      for (let i = m0; i < n; i++) p[i] -= K * v[i];
      [pv_, v] = [v, pv_];
      [pw_, p] = [p, pw_];
      pending = true;
    }
    if (wantVectors) {
      hv.push(skip ? new Float64Array(0) : pv_.slice(m0, n));
      hbeta.push(beta);
    }
  }
  // The last pending update on the trailing 2 x 2 block.
  if (pending && n >= 2) {
    for (let i = n - 2; i < n; i++)
      for (let j = n - 2; j <= i; j++) A[i * n + j] -= pv_[i] * pw_[j] + pw_[i] * pv_[j];
  }
  if (n >= 2) {
    d[n - 2] = A[(n - 2) * n + (n - 2)];
    e[n - 2] = A[(n - 1) * n + (n - 2)];
  }
  d[n - 1] = A[(n - 1) * n + (n - 1)];
  e[n - 1] = 0;

  if (!wantVectors) return { values: tridiagonalEigenvalues(d, e) };
  // Z^T, rows = eigenvectors of T (starting from the identity); rotations act on two rows at a time.
  const Z = wantVectors ? new Float64Array(n * n) : null;
  if (Z) for (let i = 0; i < n; i++) Z[i * n + i] = 1;
  tridiagonalQL(d, e, n, Z);

  if (Z) {
    // Eigenvectors of A: rows of Z^T H_{n-3} ... H_0, i.e. for each Householder step, row r -= beta (row r . v) v.
    for (let k = hv.length - 1; k >= 0; k--) {
      const beta = hbeta[k];
      if (beta === 0) continue;
      const vk = hv[k];
      const m0 = k + 1;
      for (let r = 0; r < n; r++) {
        const row = r * n + m0;
        let s = 0;
        for (let i = 0; i < vk.length; i++) s += Z[row + i] * vk[i];
        s *= beta;
        if (s !== 0) for (let i = 0; i < vk.length; i++) Z[row + i] -= s * vk[i];
      }
    }
  }
  // Sort ascending, permuting the eigenvector rows with the values.
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[x] - d[y]);
  const values = Float64Array.from(order, (i) => d[i]);
  if (!Z) return { values };
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => vectors.set(Z.subarray(src * n, src * n + n), dst * n));
  return { values, vectors };
}

/**
 * The eigenvalues (ascending) of the symmetric tridiagonal matrix with diagonal d and off-diagonal e
 * (e[i] couples i and i + 1; e[n - 1] is ignored). Root-free implicit QL of Pal, Walker and Kahan
 * (Parlett, "The Symmetric Eigenvalue Problem", 1998, §8.15): the rotations are carried in squared
 * quantities, one square root per QL step instead of one per rotation (the method of LAPACK's dsterf).
 * The matrix is first scaled by a power of two so that the squares neither overflow nor underflow.
 * d and e are not modified.
 */
export function tridiagonalEigenvalues(d: ArrayLike<number>, e: ArrayLike<number>): Float64Array {
  const n = d.length;
  const dd = new Float64Array(n);
  const e2 = new Float64Array(n); // squared off-diagonal
  let amax = 0;
  for (let i = 0; i < n; i++) {
    amax = Math.max(amax, Math.abs(d[i]), i < n - 1 ? Math.abs(e[i]) : 0);
    if (!Number.isFinite(d[i]) || (i < n - 1 && !Number.isFinite(e[i])))
      throw new Error(`tridiagonalEigenvalues: entry ${i} is not finite`);
  }
  if (amax === 0) return dd;
  const scale = 2 ** -Math.round(Math.log2(amax));
  for (let i = 0; i < n; i++) {
    dd[i] = d[i] * scale;
    if (i < n - 1) e2[i] = (e[i] * scale) ** 2;
  }
  const EPS2 = 2 ** -104;
  for (let l = 0; l < n; l++) {
    for (let iter = 0; ; iter++) {
      // The first negligible off-diagonal at or after l (tql1's test, squared): the block is [l, m].
      let m = l;
      for (; m < n - 1; m++) {
        const dsum = Math.abs(dd[m]) + Math.abs(dd[m + 1]);
        if (e2[m] <= EPS2 * dsum * dsum) break;
      }
      if (m === l) break; // dd[l] is an eigenvalue
      if (iter === 100) throw new Error('tridiagonalEigenvalues: QL iteration did not converge');
      // Wilkinson shift from the leading 2 x 2 block, then one QL sweep from m up to l.
      const rte = Math.sqrt(e2[l]);
      let sigma = (dd[l + 1] - dd[l]) / (2 * rte);
      const r0 = Math.hypot(sigma, 1);
      sigma = dd[l] - rte / (sigma + (sigma >= 0 ? r0 : -r0));
      let c = 1;
      let s = 0;
      let gamma = dd[m] - sigma;
      let p = gamma * gamma;
      for (let i = m - 1; i >= l; i--) {
        const bb = e2[i];
        const r = p + bb;
        if (i !== m - 1) e2[i + 1] = s * r;
        const oldc = c;
        c = p / r;
        s = bb / r;
        const oldgam = gamma;
        const alpha = dd[i];
        gamma = c * (alpha - sigma) - s * oldgam;
        dd[i + 1] = oldgam + (alpha - gamma);
        p = c !== 0 ? (gamma * gamma) / c : oldc * bb;
      }
      e2[l] = s * p;
      dd[l] = sigma + gamma;
    }
  }
  for (let i = 0; i < n; i++) dd[i] /= scale;
  return dd.sort();
}

/**
 * Implicit QL with Wilkinson shifts on the symmetric tridiagonal matrix with diagonal d and off-diagonal
 * e (e[i] couples i and i+1). On return d holds the eigenvalues (unsorted); when Z is given (row-major,
 * rows = vectors), the same plane rotations are applied to its rows. NR §11.3 `tqli`.
 */
function tridiagonalQL(d: Float64Array, e: Float64Array, n: number, Z: Float64Array | null): void {
  const EPS = 2 ** -52;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= EPS * dd) break;
      }
      if (m === l) break;
      if (iter++ === 100) throw new Error('symmetricEigen: QL iteration did not converge');
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = Math.hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      let underflow = false;
      for (; i >= l; i--) {
        const f = s * e[i];
        const b = c * e[i];
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1] -= p;
          e[m] = 0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        if (Z) {
          const ri = i * n;
          const rj = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const zf = Z[rj + k];
            const zi = Z[ri + k];
            Z[rj + k] = s * zi + c * zf;
            Z[ri + k] = c * zi - s * zf;
          }
        }
      }
      if (underflow) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
}

/** Column means of a row-major [rows, cols] matrix, accumulated in float64. */
export function columnMeans(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const mean = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) mean[c] += x[o + c];
  }
  for (let c = 0; c < cols; c++) mean[c] /= rows;
  return mean;
}

/** x - column means, as a new Float64Array (row-major [rows, cols]). */
export function centerColumns(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const mean = columnMeans(x, rows, cols);
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) out[o + c] = x[o + c] - mean[c];
  }
  return out;
}

/** The Gram matrix X^T X (cols x cols) of a row-major [rows, cols] float64 matrix, both triangles filled. */
export function gramColumns(x: Float64Array, rows: number, cols: number): Float64Array {
  const g = new Float64Array(cols * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let i = 0; i < cols; i++) {
      const xi = x[o + i];
      if (xi === 0) continue;
      const gi = i * cols;
      for (let j = 0; j <= i; j++) g[gi + j] += xi * x[o + j];
    }
  }
  for (let i = 0; i < cols; i++) for (let j = 0; j < i; j++) g[j * cols + i] = g[i * cols + j];
  return g;
}

/** The Gram matrix X X^T (rows x rows) of a row-major [rows, cols] float64 matrix. */
export function gramRows(x: Float64Array, rows: number, cols: number): Float64Array {
  const g = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    const oi = i * cols;
    for (let j = 0; j <= i; j++) {
      const oj = j * cols;
      let s = 0;
      for (let c = 0; c < cols; c++) s += x[oi + c] * x[oj + c];
      g[i * rows + j] = s;
      g[j * rows + i] = s;
    }
  }
  return g;
}

/**
 * The left singular vectors and singular values of a row-major [rows, cols] matrix X (thin SVD
 * X = U S V^T), through the eigen-decomposition of the smaller Gram matrix: X X^T = U S^2 U^T when
 * rows <= cols, else X^T X = V S^2 V^T and U = X V / S. Values descending; u is [rows, rank]
 * row-major with rank = min(rows, cols); columns of U for zero singular values are left zero.
 */
export function leftSingular(
  x: Float64Array,
  rows: number,
  cols: number,
): { s: Float64Array; u: Float64Array; rank: number } {
  const rank = Math.min(rows, cols);
  const s = new Float64Array(rank);
  const u = new Float64Array(rows * rank);
  if (rows <= cols) {
    const { values, vectors } = symmetricEigen(gramRows(x, rows, cols), rows, { vectors: true });
    for (let k = 0; k < rank; k++) {
      const src = rows - 1 - k; // descending
      s[k] = Math.sqrt(Math.max(values[src], 0));
      for (let r = 0; r < rows; r++) u[r * rank + k] = vectors![src * rows + r];
    }
  } else {
    const { values, vectors } = symmetricEigen(gramColumns(x, rows, cols), cols, { vectors: true });
    const tol = Math.max(values[cols - 1], 0) * cols * 2 ** -52;
    for (let k = 0; k < rank; k++) {
      const src = cols - 1 - k;
      const s2 = Math.max(values[src], 0);
      s[k] = Math.sqrt(s2);
      if (s2 <= tol) continue;
      const vrow = src * cols;
      for (let r = 0; r < rows; r++) {
        let acc = 0;
        const o = r * cols;
        for (let c = 0; c < cols; c++) acc += x[o + c] * vectors![vrow + c];
        u[r * rank + k] = acc / s[k];
      }
    }
  }
  return { s, u, rank };
}
