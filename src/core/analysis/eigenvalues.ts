/**
 * Eigenvalues of a large symmetric matrix (a covariance of 2,048 neurons) in two stages, so that most of
 * the work is matrix-matrix products that TF.js's wasm backend runs with XNNPACK (~37 GFLOP/s float32
 * on the reference machine, against ~1-3 GFLOP/s for float64 JavaScript loops):
 *
 *   1. dense -> band of half-bandwidth b (Bischof, Lang & Sun, "A framework for symmetric band
 *      reduction", ACM TOMS 26(4), 2000; LAPACK's dsytrd_sy2sb): for each panel of b columns, the QR
 *      of the panel below the band, Q = I - V T V^T (compact WY, Schreiber & Van Loan 1989), and the
 *      two-sided update of the trailing matrix  S <- Q^T S Q = S - W V^T - V W^T  with
 *      Y = S V T, Z = T^T V^T Y, W = Y - V Z / 2 (all products with XNNPACK, in float32);
 *   2. band -> tridiagonal by bulge chasing with Householder reflectors, annihilating only the first
 *      column of each bulge (Lang, "A parallel algorithm for reducing symmetric banded matrices to
 *      tridiagonal form", SIAM J. Sci. Comput. 14(6), 1993; LAPACK's dsb2st kernels), in float64;
 *   3. the eigenvalues of the tridiagonal matrix by implicit QL (`tridiagonalEigenvalues`, float64).
 *
 * Stage 1 works in float32, so the eigenvalues carry an absolute error of about 1e-6 x the largest
 * |eigenvalue| (a float32 backward error), the size of the rounding of a float32 covariance itself.
 * Use {@link symmetricEigen} (float64 throughout) where that matters.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  heapAdd,
  heapAlloc,
  heapFree,
  isWasmBackend,
  xnnMatMul,
  type WasmBackend,
} from '../backend/wasm-heap.js';
import { tridiagonalEigenvalues } from './linalg.js';

/**
 * Half-bandwidth of stage 1. Stage 1 costs ~2 n^3 XNNPACK flops whatever b is (it ran at 31-37 GFLOP/s
 * for b = 8 to 64) plus ~n^3 / (3 b) floats of memory traffic; stage 2 costs ~6 b n^2 float64 flops.
 * n = 2,048 on the reference machine: b = 4, 6, 8, 10, 16 took 1.13, 1.06, 0.98, 1.11, 1.14 s in all.
 */
const BAND = 8;

/** True when the active TF.js backend is wasm, i.e. when {@link symmetricEigenvaluesTwoStage} can run. */
export function twoStageAvailable(): boolean {
  return isWasmBackend(tf.backend());
}

/**
 * The eigenvalues (ascending) of the symmetric n x n matrix `a` (row-major; only the lower triangle is
 * read), by the two-stage reduction of the file comment. Needs the wasm backend (initBackend('wasm')).
 * Absolute error ~1e-6 x max |eigenvalue| (float32 stage 1).
 */
export function symmetricEigenvaluesTwoStage(
  a: ArrayLike<number>,
  n: number,
  opts: { bandwidth?: number } = {},
): Float64Array {
  if (a.length !== n * n)
    throw new Error(`symmetricEigenvaluesTwoStage: expected ${n}x${n} = ${n * n} values, got ${a.length}`);
  const be = tf.backend();
  if (!isWasmBackend(be))
    throw new Error("symmetricEigenvaluesTwoStage: needs TF.js's wasm backend (initBackend('wasm'))");
  const b = Math.max(1, Math.min(opts.bandwidth ?? BAND, n - 1));
  // Scale by a power of two (exact) so that float32 neither overflows nor underflows.
  let amax = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = a[i * n + j];
      if (!Number.isFinite(v))
        throw new Error(`symmetricEigenvaluesTwoStage: entry (${i}, ${j}) is not finite`);
      amax = Math.max(amax, Math.abs(v));
    }
  }
  if (amax === 0 || n === 1) return Float64Array.from({ length: n }, () => (n === 1 ? a[0] : 0));
  const scale = 2 ** -Math.round(Math.log2(amax));
  const band = reduceToBand(be, a, n, b, scale);
  const { d, e } = bandToTridiagonal(band, n, b);
  const values = tridiagonalEigenvalues(d, e);
  for (let i = 0; i < n; i++) values[i] /= scale;
  return values;
}

/**
 * Stage 1: the symmetric band matrix (half-bandwidth b) similar to `scale * a`, in the band storage of
 * {@link bandToTridiagonal} (column c at c * 2b, entry (r, c) at offset r - c). See the file comment;
 * every product with an m-long dimension runs on XNNPACK, the rest is O(m b) or O(b^3) per panel.
 */
function reduceToBand(
  be: WasmBackend,
  a: ArrayLike<number>,
  n: number,
  b: number,
  scale: number,
): Float64Array {
  const W = 2 * b;
  const band = new Float64Array(n * W);
  // Heap buffers (float32): S the working matrix, P the update, V / VT / Vt / Y / VZ panels, G small.
  const floats = {
    S: n * n,
    P: n * n,
    V: n * b,
    VT: n * b,
    Vt: n * b,
    Y: n * b,
    VZ: n * b,
    G: b * b,
    Z: b * b,
    L: n * W,
    R: n * W,
  };
  type Buf = keyof typeof floats;
  const ptr = {} as Record<Buf, number>;
  try {
    for (const k of Object.keys(floats) as Buf[]) ptr[k] = heapAlloc(be, floats[k] * 4);
    const at = (k: Buf): number => ptr[k] >>> 2;
    // The working matrix S (s x s, contiguous on the heap), both triangles from a's lower one.
    let h = be.wasm.HEAPF32;
    const S = at('S');
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        const v = a[i * n + j] * scale;
        h[S + i * n + j] = v;
        h[S + j * n + i] = v;
      }
    }
    const panel = new Float64Array(n * b); // column-major m x b: the panel, then R and the reflectors
    const tau = new Float64Array(b);
    const T = new Float64Array(b * b); // row-major, upper triangular
    let s = n;
    let off = 0; // row and column of S[0][0] in the whole matrix
    while (s > b + 1) {
      const m = s - b;
      h = be.wasm.HEAPF32;
      // The diagonal block goes to the band as it is.
      for (let i = 0; i < b; i++)
        for (let j = 0; j <= i; j++) band[(off + j) * W + (i - j)] = h[S + i * s + j];
      // QR of the panel S[b:s, 0:b] (float64, Householder, LAPACK dgeqr2 with dlarfg's reflectors).
      for (let i = 0; i < m; i++) {
        const o = S + (b + i) * s;
        for (let j = 0; j < b; j++) panel[j * m + i] = h[o + j];
      }
      householderQR(panel, m, b, tau);
      // R (upper triangle of the panel) is the band's block below the diagonal block.
      for (let j = 0; j < b; j++)
        for (let i = 0; i <= Math.min(j, m - 1); i++) band[(off + j) * W + (b + i - j)] = panel[j * m + i];
      // V (m x b, unit diagonal, zeros above) to the heap, row-major and transposed.
      const V = at('V');
      const Vt = at('Vt');
      for (let j = 0; j < b; j++) {
        for (let r = 0; r < m; r++) {
          const x = r > j ? panel[j * m + r] : r === j ? 1 : 0;
          h[V + r * b + j] = x;
          h[Vt + j * m + r] = x;
        }
      }
      // T of Q = H_0 ... H_{b-1} = I - V T V^T (LAPACK dlarft, forward, columnwise), from G = V^T V:
      // T[j][j] = tau_j, T[0:j, j] = -tau_j T[0:j, 0:j] G[0:j, j].
      xnnMatMul(be, ptr.Vt, ptr.V, ptr.G, b, m, b);
      h = be.wasm.HEAPF32;
      const G = at('G');
      T.fill(0);
      for (let j = 0; j < b; j++) {
        T[j * b + j] = tau[j];
        for (let i = 0; i < j; i++) {
          let acc = 0;
          for (let l = i; l < j; l++) acc += T[i * b + l] * h[G + l * b + j];
          T[i * b + j] = -tau[j] * acc;
        }
      }
      // VT = V T (weights of the next product).
      const VT = at('VT');
      for (let r = 0; r < m; r++) {
        for (let j = 0; j < b; j++) {
          let acc = 0;
          for (let l = 0; l <= Math.min(j, r); l++) acc += h[V + r * b + l] * T[l * b + j];
          h[VT + r * b + j] = acc;
        }
      }
      // The trailing matrix S[b:s, b:s] moves to the front, contiguous m x m (rows only move forward).
      for (let r = 0; r < m; r++) h.copyWithin(S + r * m, S + (r + b) * s + b, S + (r + b) * s + b + m);
      // Y = S V T, Z = T^T V^T Y (symmetric), VZ = V Z.
      xnnMatMul(be, ptr.S, ptr.VT, ptr.Y, m, m, b);
      xnnMatMul(be, ptr.Vt, ptr.Y, ptr.G, b, m, b);
      h = be.wasm.HEAPF32;
      const Zh = at('Z');
      for (let i = 0; i < b; i++) {
        for (let j = 0; j < b; j++) {
          let acc = 0;
          for (let l = 0; l <= i; l++) acc += T[l * b + i] * h[G + l * b + j];
          h[Zh + i * b + j] = acc;
        }
      }
      xnnMatMul(be, ptr.V, ptr.Z, ptr.VZ, m, b, b);
      h = be.wasm.HEAPF32;
      // Q^T S Q = S - Y V^T - V (Y - V Z)^T: L = [Y | V] (m x 2b), R = -[V^T ; (Y - V Z)^T] (2b x m).
      const L = at('L');
      const R = at('R');
      const Y = at('Y');
      const VZ = at('VZ');
      for (let r = 0; r < m; r++) {
        for (let j = 0; j < b; j++) {
          const y = h[Y + r * b + j];
          const v = h[V + r * b + j];
          h[L + r * W + j] = y;
          h[L + r * W + b + j] = v;
          h[R + j * m + r] = -v;
          h[R + (b + j) * m + r] = h[VZ + r * b + j] - y;
        }
      }
      xnnMatMul(be, ptr.L, ptr.R, ptr.P, m, W, m);
      heapAdd(be, ptr.S, ptr.P, ptr.S, m * m);
      off += b;
      s = m;
    }
    // What is left is at most (b + 1) x (b + 1): inside the band as it is.
    h = be.wasm.HEAPF32;
    for (let i = 0; i < s; i++) for (let j = 0; j <= i; j++) band[(off + j) * W + (i - j)] = h[S + i * s + j];
    return band;
  } finally {
    for (const p of Object.values(ptr)) heapFree(be, p);
  }
}

/**
 * Householder QR of a column-major m x b matrix in place (LAPACK dgeqr2): on return its upper triangle
 * is R and column j below the diagonal holds the reflector v_j (unit first entry implied); tau[j] its
 * scale, H_j = I - tau_j v_j v_j^T.
 */
function householderQR(p: Float64Array, m: number, b: number, tau: Float64Array): void {
  for (let j = 0; j < b; j++) {
    if (j >= m) {
      tau[j] = 0;
      continue;
    }
    const c = j * m;
    tau[j] = reflector(p, c + j, m - j);
    if (tau[j] === 0) continue;
    for (let k = j + 1; k < b; k++) {
      const ck = k * m;
      let acc = p[ck + j];
      for (let r = j + 1; r < m; r++) acc += p[c + r] * p[ck + r];
      acc *= tau[j];
      p[ck + j] -= acc;
      for (let r = j + 1; r < m; r++) p[ck + r] -= acc * p[c + r];
    }
  }
}

/**
 * The reflector H = I - tau v v^T with H x = beta e_1 for x = p[o .. o + len) (LAPACK dlarfg): on return
 * p[o] = beta and p[o + 1 ..] = v[1 ..] (v[0] = 1 implied). Returns tau (0 when x is already beta e_1).
 */
function reflector(p: Float64Array, o: number, len: number): number {
  let xnorm2 = 0;
  for (let i = 1; i < len; i++) xnorm2 += p[o + i] * p[o + i];
  if (xnorm2 === 0) return 0;
  const alpha = p[o];
  const norm = Math.sqrt(alpha * alpha + xnorm2);
  const beta = alpha >= 0 ? -norm : norm;
  const inv = 1 / (alpha - beta);
  for (let i = 1; i < len; i++) p[o + i] *= inv;
  p[o] = beta;
  return (beta - alpha) / beta;
}

/**
 * Stage 2: the tridiagonal matrix (diagonal d, off-diagonal e, e[i] couples i and i + 1) similar to a
 * symmetric band matrix of half-bandwidth b, by Householder bulge chasing (file comment), in float64.
 * `band` holds column c at c * 2b with entry (r, c), r - c in [0, b], at offset r - c; the offsets up to
 * 2b - 1 must be zero (they hold the bulges while they are chased). `band` is overwritten.
 */
export function bandToTridiagonal(
  band: Float64Array,
  n: number,
  b: number,
): { d: Float64Array; e: Float64Array } {
  const W = 2 * b;
  if (band.length !== n * W)
    throw new Error(`bandToTridiagonal: expected ${n} x ${W} values, got ${band.length}`);
  let v = new Float64Array(b + 1);
  let v2 = new Float64Array(b + 1);
  const bel = new Float64Array(b * b); // the block below the diagonal block, column-major lenK x len
  const y = new Float64Array(b);
  for (let s = 0; s < n - 2 && b > 1; s++) {
    // The reflector that reduces column s below the subdiagonal.
    let len = Math.min(b, n - 1 - s);
    for (let i = 0; i < len; i++) v[i] = band[s * W + 1 + i];
    let tau = reflector(v, 0, len);
    band[s * W + 1] = v[0];
    for (let i = 1; i < len; i++) band[s * W + 1 + i] = 0;
    v[0] = 1;
    let p0 = s + 1; // first row (and column) of the block the reflector acts on
    for (;;) {
      if (tau !== 0) {
        // Two-sided on the diagonal block (lower triangle, column j at (p0 + j) W):
        // B <- H B H = B - v w^T - w v^T with y = tau B v, w = y - (tau v^T y / 2) v.
        y.fill(0, 0, len);
        for (let j = 0; j < len; j++) {
          const o = (p0 + j) * W - j;
          const vj = v[j];
          let acc = band[o + j] * vj;
          for (let i = j + 1; i < len; i++) {
            const x = band[o + i];
            acc += x * v[i];
            y[i] += x * vj;
          }
          y[j] += acc;
        }
        let vy = 0;
        for (let i = 0; i < len; i++) {
          y[i] *= tau;
          vy += y[i] * v[i];
        }
        const K = 0.5 * tau * vy;
        for (let i = 0; i < len; i++) y[i] -= K * v[i];
        for (let j = 0; j < len; j++) {
          const o = (p0 + j) * W - j;
          const vj = v[j];
          const yj = y[j];
          for (let i = j; i < len; i++) band[o + i] -= v[i] * yj + y[i] * vj;
        }
      }
      // The block below: rows [k0, k0 + lenK), columns [p0, p0 + len); entry (k0 + i, p0 + j) sits at
      // (p0 + j) W + len + i - j in the band and at j b + i in bel.
      const k0 = p0 + len;
      const lenK = Math.min(b, n - k0);
      if (lenK <= 0) break;
      for (let j = 0; j < len; j++) {
        const o = (p0 + j) * W + len - j;
        for (let i = 0; i < lenK; i++) bel[j * b + i] = band[o + i];
      }
      if (tau !== 0) {
        // From the right: B <- B H = B - tau (B v) v^T (this fills the bulge).
        y.fill(0, 0, lenK);
        for (let j = 0; j < len; j++) {
          const vj = v[j];
          for (let i = 0; i < lenK; i++) y[i] += bel[j * b + i] * vj;
        }
        for (let j = 0; j < len; j++) {
          const tv = tau * v[j];
          for (let i = 0; i < lenK; i++) bel[j * b + i] -= y[i] * tv;
        }
      }
      // A reflector on rows [k0, k0 + lenK) for the bulge's first column, applied from the left.
      for (let i = 0; i < lenK; i++) v2[i] = bel[i];
      const tau2 = reflector(v2, 0, lenK);
      bel[0] = v2[0];
      for (let i = 1; i < lenK; i++) bel[i] = 0;
      v2[0] = 1;
      if (tau2 !== 0) {
        for (let j = 1; j < len; j++) {
          const o = j * b;
          let acc = 0;
          for (let i = 0; i < lenK; i++) acc += v2[i] * bel[o + i];
          acc *= tau2;
          for (let i = 0; i < lenK; i++) bel[o + i] -= acc * v2[i];
        }
      }
      for (let j = 0; j < len; j++) {
        const o = (p0 + j) * W + len - j;
        for (let i = 0; i < lenK; i++) band[o + i] = bel[j * b + i];
      }
      const vt = v;
      v = v2;
      v2 = vt;
      tau = tau2;
      p0 = k0;
      len = lenK;
    }
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    d[i] = band[i * W];
    if (i < n - 1) e[i] = band[i * W + 1];
  }
  return { d, e };
}
