/**
 * Float64 matrix products for the analyses that need float64 (SVCCA: the score is checked against numpy
 * to 1e-8). JavaScript has no SIMD, so the speed comes from registers: the kernel computes a 4 x 4 block
 * of C at a time, keeping its 16 sums in local variables while it runs along k, so that each element it
 * loads feeds 4 multiply-adds (the "register blocking" of Goto & van de Geijn, "Anatomy of
 * high-performance matrix multiplication", ACM TOMS 34(3), 2008, without the packing). That runs at
 * ~3.5 GFLOP/s on the reference machine, against ~1 GFLOP/s for the plain triple loop.
 *
 * Operands are row-major views, so that sub-matrices need no copies: element (i, j) of a view is
 * data[offset + i * stride + j]. Each operand may be used transposed.
 */

/** A row-major matrix view: element (i, j) at data[offset + i * stride + j]. */
export interface View {
  data: Float64Array;
  offset: number;
  stride: number;
}

/** A view of a whole row-major matrix with `cols` columns. */
export function view(data: Float64Array, cols: number, offset = 0): View {
  return { data, offset, stride: cols };
}

/**
 * C = op(A) op(B) (or C += ... with `accumulate`), with op(A) [m, k] and op(B) [k, n]; `ta` / `tb` say
 * that the view holds the transpose (A stored [k, m], B stored [n, k]). With `lower`, only the blocks on
 * and below the diagonal are computed (for a symmetric C = op(A) op(A)^T; see {@link mirrorLower}).
 */
export function matmul(
  c: View,
  a: View,
  b: View,
  m: number,
  n: number,
  k: number,
  opts: { ta?: boolean; tb?: boolean; accumulate?: boolean; lower?: boolean } = {},
): void {
  // A(i, p) = a[ao + i * ai + p * ap], B(p, j) = b[bo + p * bp + j * bj].
  const ai = opts.ta ? 1 : a.stride;
  const ap = opts.ta ? a.stride : 1;
  const bp = opts.tb ? 1 : b.stride;
  const bj = opts.tb ? b.stride : 1;
  const A = a.data;
  const B = b.data;
  const C = c.data;
  const acc = opts.accumulate ?? false;
  const lower = opts.lower ?? false;
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let i = 0; i < m; i += 4) {
    const full = i < m4;
    const jEnd = lower ? Math.min(n, i + 4) : n;
    for (let j = 0; j < jEnd; j += 4) {
      if (!full || j >= n4) {
        // Edge block: plain loops.
        for (let ii = i; ii < Math.min(i + 4, m); ii++) {
          for (let jj = j; jj < Math.min(j + 4, n); jj++) {
            let s = 0;
            let pa = a.offset + ii * ai;
            let pb = b.offset + jj * bj;
            for (let p = 0; p < k; p++, pa += ap, pb += bp) s += A[pa] * B[pb];
            const o = c.offset + ii * c.stride + jj;
            C[o] = acc ? C[o] + s : s;
          }
        }
        continue;
      }
      // prettier-ignore
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      // prettier-ignore
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      let pa = a.offset + i * ai;
      let pb = b.offset + j * bj;
      // prettier-ignore
      for (let p = 0; p < k; p++, pa += ap, pb += bp) {
        const a0 = A[pa];
        const a1 = A[pa + ai];
        const a2 = A[pa + 2 * ai];
        const a3 = A[pa + 3 * ai];
        const b0 = B[pb];
        const b1 = B[pb + bj];
        const b2 = B[pb + 2 * bj];
        const b3 = B[pb + 3 * bj];
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
        c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
        c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
      }
      let o = c.offset + i * c.stride + j;
      // prettier-ignore
      if (acc) {
        C[o] += c00; C[o + 1] += c01; C[o + 2] += c02; C[o + 3] += c03; o += c.stride;
        C[o] += c10; C[o + 1] += c11; C[o + 2] += c12; C[o + 3] += c13; o += c.stride;
        C[o] += c20; C[o + 1] += c21; C[o + 2] += c22; C[o + 3] += c23; o += c.stride;
        C[o] += c30; C[o + 1] += c31; C[o + 2] += c32; C[o + 3] += c33;
      } else {
        C[o] = c00; C[o + 1] = c01; C[o + 2] = c02; C[o + 3] = c03; o += c.stride;
        C[o] = c10; C[o + 1] = c11; C[o + 2] = c12; C[o + 3] = c13; o += c.stride;
        C[o] = c20; C[o + 1] = c21; C[o + 2] = c22; C[o + 3] = c23; o += c.stride;
        C[o] = c30; C[o + 1] = c31; C[o + 2] = c32; C[o + 3] = c33;
      }
    }
  }
}

/** Copies the lower triangle of the square n x n matrix `c` onto its upper triangle. */
export function mirrorLower(c: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) c[j * n + i] = c[i * n + j];
}
