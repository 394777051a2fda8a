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
import { matmul, mirrorLower, view } from './gemm.js';

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
  // Z: column j = eigenvector j of T (from the identity); the QL rotations act on pairs of columns.
  const Z = new Float64Array(n * n);
  for (let i = 0; i < n; i++) Z[i * n + i] = 1;
  tridiagonalQL(d, e, n, Z);
  backTransform(Z, n, hv, hbeta);
  // Sort ascending; row j of `vectors` is column order[j] of Z.
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[x] - d[y]);
  const values = Float64Array.from(order, (i) => d[i]);
  const vectors = new Float64Array(n * n);
  for (let r = 0; r < n; r++) {
    const o = r * n;
    for (let j = 0; j < n; j++) vectors[j * n + r] = Z[o + order[j]];
  }
  return { values, vectors };
}

/** Reflectors per block of the back-transformation. */
const BACK_BLOCK = 32;

/**
 * Z <- H_0 H_1 ... H_{K-1} Z for the Householder reflectors H_k = I - beta_k v_k v_k^T of the
 * tridiagonalisation (v_k lives in indices k+1 .. n-1), so that the columns of Z, eigenvectors of T,
 * become those of A. Blocked, last block first: for reflectors k0 .. k1-1, the compact WY form
 * H_{k0} ... H_{k1-1} = I - V T V^T (Schreiber & Van Loan 1989; LAPACK dlarft) turns the update into
 * two matrix products, Z <- Z - V (T (V^T Z)) ({@link matmul}).
 */
function backTransform(Z: Float64Array, n: number, hv: Float64Array[], hbeta: number[]): void {
  const K = hv.length;
  const nb = BACK_BLOCK;
  const T = new Float64Array(nb * nb);
  const P = new Float64Array(nb * n);
  const t = new Float64Array(nb);
  for (let k1 = K; k1 > 0; k1 -= nb) {
    const k0 = Math.max(0, k1 - nb);
    const w = k1 - k0;
    const len = n - k0 - 1; // V's rows are indices k0+1 .. n-1
    // V (len x w, row-major): column j = v_{k0+j}, which starts at row j.
    const V = new Float64Array(len * w);
    for (let j = 0; j < w; j++) {
      const v = hv[k0 + j];
      for (let i = 0; i < v.length; i++) V[(j + i) * w + j] = v[i];
    }
    // T (w x w upper): T[j][j] = beta_j, T[0:j, j] = -beta_j T[0:j, 0:j] (V[:, 0:j]^T v_j).
    T.fill(0);
    for (let j = 0; j < w; j++) {
      const beta = hbeta[k0 + j];
      T[j * nb + j] = beta;
      if (beta === 0) continue;
      for (let i = 0; i < j; i++) {
        let acc = 0;
        for (let r = j; r < len; r++) acc += V[r * w + i] * V[r * w + j];
        t[i] = acc;
      }
      for (let i = 0; i < j; i++) {
        let acc = 0;
        for (let l = i; l < j; l++) acc += T[i * nb + l] * t[l];
        T[i * nb + j] = -beta * acc;
      }
    }
    // P = V^T Z[k0+1 .., :]  (w x n), then P <- -T P, then Z[k0+1 .., :] += V P.
    const Zsub = { data: Z, offset: (k0 + 1) * n, stride: n };
    matmul(view(P, n), view(V, w), Zsub, w, n, len, { ta: true });
    for (let i = 0; i < w; i++) {
      // Row i of -T P needs rows l >= i of P, which are not yet overwritten (T is upper triangular).
      const o = i * n;
      const tii = -T[i * nb + i];
      for (let c = 0; c < n; c++) P[o + c] *= tii;
      for (let l = i + 1; l < w; l++) {
        const til = -T[i * nb + l];
        if (til === 0) continue;
        const ol = l * n;
        for (let c = 0; c < n; c++) P[o + c] += til * P[ol + c];
      }
    }
    matmul(Zsub, view(V, w), view(P, n), len, n, w, { accumulate: true });
  }
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
 * columns = vectors), the same plane rotations are applied to its columns. NR §11.3 `tqli`.
 */
function tridiagonalQL(d: Float64Array, e: Float64Array, n: number, Z: Float64Array | null): void {
  const EPS = 2 ** -52;
  const cs = new Float64Array(n); // the sweep's rotations, for Z
  const sn = new Float64Array(n);
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
        cs[i] = c;
        sn[i] = s;
      }
      if (Z) applyRotationChain(Z, n, m, i + 1, cs, sn);
      if (underflow) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
}

/**
 * Applies one QL sweep's plane rotations to the columns of Z: for i = m-1 down to `last`, columns i and
 * i+1 become (c_i z_i - s_i z_{i+1}, s_i z_i + c_i z_{i+1}). Each rotation takes the column i+1 that the
 * one before it produced, so along each row we carry that value in a register: every element is read
 * and written once per sweep, walking the row backwards.
 */
function applyRotationChain(
  Z: Float64Array,
  n: number,
  m: number,
  last: number,
  cs: Float64Array,
  sn: Float64Array,
): void {
  if (last > m - 1) return;
  let r = 0;
  // Four rows at a time: four independent chains hide the latency of the carried value.
  for (; r + 4 <= n; r += 4) {
    const o0 = r * n;
    const o1 = o0 + n;
    const o2 = o1 + n;
    const o3 = o2 + n;
    let x0 = Z[o0 + m];
    let x1 = Z[o1 + m];
    let x2 = Z[o2 + m];
    let x3 = Z[o3 + m];
    for (let i = m - 1; i >= last; i--) {
      const c = cs[i];
      const s = sn[i];
      const z0 = Z[o0 + i];
      const z1 = Z[o1 + i];
      const z2 = Z[o2 + i];
      const z3 = Z[o3 + i];
      Z[o0 + i + 1] = s * z0 + c * x0;
      Z[o1 + i + 1] = s * z1 + c * x1;
      Z[o2 + i + 1] = s * z2 + c * x2;
      Z[o3 + i + 1] = s * z3 + c * x3;
      x0 = c * z0 - s * x0;
      x1 = c * z1 - s * x1;
      x2 = c * z2 - s * x2;
      x3 = c * z3 - s * x3;
    }
    Z[o0 + last] = x0;
    Z[o1 + last] = x1;
    Z[o2 + last] = x2;
    Z[o3 + last] = x3;
  }
  for (; r < n; r++) {
    const o = r * n;
    let x = Z[o + m];
    for (let i = m - 1; i >= last; i--) {
      const zi = Z[o + i];
      Z[o + i + 1] = sn[i] * zi + cs[i] * x;
      x = cs[i] * zi - sn[i] * x;
    }
    Z[o + last] = x;
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
  matmul(view(g, cols), view(x, cols), view(x, cols), cols, cols, rows, { ta: true, lower: true });
  mirrorLower(g, cols);
  return g;
}

/** The Gram matrix X X^T (rows x rows) of a row-major [rows, cols] float64 matrix. */
export function gramRows(x: Float64Array, rows: number, cols: number): Float64Array {
  const g = new Float64Array(rows * rows);
  matmul(view(g, rows), view(x, cols), view(x, cols), rows, rows, cols, { tb: true, lower: true });
  mirrorLower(g, rows);
  return g;
}

/** The spectrum of the smaller Gram matrix of X, from which {@link leftSingularVectors} builds U. */
export interface GramSpectrum {
  /** Singular values of X, descending, min(rows, cols) of them. */
  s: Float64Array;
  /** The eigen-decomposition of X X^T (when `byRows`) or of X^T X. */
  eigen: SymmetricEigen;
  byRows: boolean;
}

/**
 * The singular values of a row-major [rows, cols] matrix X through the eigen-decomposition (with
 * vectors) of its smaller Gram matrix: X X^T = U S^2 U^T when rows <= cols, else X^T X = V S^2 V^T.
 */
export function gramSpectrum(x: Float64Array, rows: number, cols: number): GramSpectrum {
  const byRows = rows <= cols;
  const size = byRows ? rows : cols;
  const gram = byRows ? gramRows(x, rows, cols) : gramColumns(x, rows, cols);
  const eigen = symmetricEigen(gram, size, { vectors: true });
  const s = new Float64Array(Math.min(rows, cols));
  for (let k = 0; k < s.length; k++) s[k] = Math.sqrt(Math.max(eigen.values[size - 1 - k], 0));
  return { s, eigen, byRows };
}

/**
 * The first k left singular vectors of X (thin SVD X = U S V^T), [rows, k] row-major, from its
 * {@link gramSpectrum}: the eigenvectors of X X^T, or U = X V / S (one matrix product). Columns for
 * (numerically) zero singular values are left zero.
 */
export function leftSingularVectors(
  x: Float64Array,
  rows: number,
  cols: number,
  sp: GramSpectrum,
  k: number,
): Float64Array {
  const { values, vectors } = sp.eigen;
  const u = new Float64Array(rows * k);
  if (sp.byRows) {
    for (let j = 0; j < k; j++) {
      const src = rows - 1 - j; // descending
      for (let r = 0; r < rows; r++) u[r * k + j] = vectors![src * rows + r];
    }
    return u;
  }
  const tol = Math.max(values[cols - 1], 0) * cols * 2 ** -52;
  // The eigenvectors in descending order (rows of E), then U = X E^T / s.
  const E = new Float64Array(k * cols);
  const live: boolean[] = [];
  for (let j = 0; j < k; j++) {
    const src = cols - 1 - j;
    live.push(Math.max(values[src], 0) > tol);
    if (live[j]) E.set(vectors!.subarray(src * cols, src * cols + cols), j * cols);
  }
  matmul(view(u, k), view(x, cols), view(E, cols), rows, k, cols, { tb: true });
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < k; j++) u[r * k + j] = live[j] ? u[r * k + j] / sp.s[j] : 0;
  }
  return u;
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
  const sp = gramSpectrum(x, rows, cols);
  const rank = sp.s.length;
  return { s: sp.s, u: leftSingularVectors(x, rows, cols, sp, rank), rank };
}
