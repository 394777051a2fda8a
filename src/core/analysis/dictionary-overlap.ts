/**
 * How many latents two sparse dictionaries share, by the geometry of their weights (Paulo & Belrose 2025,
 * "Sparse Autoencoders Trained on the Same Data Learn Different Features", arXiv 2501.16615, §2):
 *
 *   1. C_ij = cos(d_i^A, d_j^B), the cosine of A's decoder row i and B's decoder row j;
 *   2. a one-to-one assignment that maximises the summed cosine (the Hungarian problem, solved by
 *      Jonker-Volgenant via `linear-sum-assignment`, as scipy's `linear_sum_assignment`);
 *   3. a latent of A is shared when its partner's decoder cosine exceeds the threshold (0.7 in the paper).
 *
 * The paper matches the encoders the same way and counts a latent as shared when both its decoder and its
 * encoder cosines exceed the threshold. With `encoders`, so do we: the encoder rows are assigned on their own
 * cosines, and a latent counts only when the two assignments give it the same partner and both cosines pass
 * (our reading: one latent, one counterpart).
 */
import { linearSumAssignment } from 'linear-sum-assignment';
import { matmul, view } from './gemm.js';
import { checkMatrix, type Matrix } from './matrix.js';

/** The threshold of Paulo & Belrose on the matched cosines. */
export const SHARED_LATENT_COSINE = 0.7;

export interface DictionaryOverlap {
  /** For each latent i of A, its partner in B (-1 when B has fewer latents and i got none). */
  partner: Int32Array;
  /** cos(d_i^A, d_partner(i)^B) for each latent of A (NaN without a partner). */
  cosine: Float64Array;
  /** With encoders: cos(e_i^A, e_q(i)^B) of the encoder assignment q, for each latent of A. */
  encoderCosine: Float64Array | null;
  /** Latents of A whose match passes the threshold (both cosines and the same partner, with encoders). */
  shared: number;
  /** shared / (latents of A). */
  fraction: number;
  /** The mean matched decoder cosine over the latents of A that have a partner. */
  meanCosine: number;
  threshold: number;
}

/**
 * The latents shared by two dictionaries (see the file comment): `decA` [latents of A, d] and `decB`
 * [latents of B, d] hold the decoder rows; `encoders` (optional) the encoder rows, in the same layout
 * (W_enc^T). A zero row has cosine 0 with everything.
 */
export function sharedLatents(
  decA: Matrix,
  decB: Matrix,
  threshold = SHARED_LATENT_COSINE,
  encoders?: { a: Matrix; b: Matrix },
): DictionaryOverlap {
  const dec = assignByCosine(decA, decB, 'decoder');
  const enc = encoders ? assignByCosine(encoders.a, encoders.b, 'encoder') : null;
  if (enc && (encoders!.a.rows !== decA.rows || encoders!.b.rows !== decB.rows))
    throw new Error('sharedLatents: the encoders must have as many rows (latents) as the decoders');
  let shared = 0;
  let sum = 0;
  let matched = 0;
  for (let i = 0; i < decA.rows; i++) {
    if (dec.partner[i] < 0) continue;
    matched++;
    sum += dec.cosine[i];
    const decOk = dec.cosine[i] > threshold;
    const encOk = !enc || (enc.partner[i] === dec.partner[i] && enc.cosine[i] > threshold);
    if (decOk && encOk) shared++;
  }
  return {
    partner: dec.partner,
    cosine: dec.cosine,
    encoderCosine: enc ? enc.cosine : null,
    shared,
    fraction: decA.rows ? shared / decA.rows : NaN,
    meanCosine: matched ? sum / matched : NaN,
    threshold,
  };
}

/** The Hungarian assignment of A's rows to B's rows that maximises the summed cosine, and each row's cosine. */
function assignByCosine(a: Matrix, b: Matrix, what: string): { partner: Int32Array; cosine: Float64Array } {
  checkMatrix(a, `sharedLatents ${what} A`);
  checkMatrix(b, `sharedLatents ${what} B`);
  if (a.cols !== b.cols)
    throw new Error(`sharedLatents: ${what} rows of A have ${a.cols} values but those of B have ${b.cols}`);
  const na = unitRows(a);
  const nb = unitRows(b);
  const C = new Float64Array(a.rows * b.rows);
  matmul(view(C, b.rows), view(na, a.cols), view(nb, b.cols), a.rows, b.rows, a.cols, { tb: true });
  const partner = new Int32Array(a.rows).fill(-1);
  const cosine = new Float64Array(a.rows).fill(NaN);
  if (a.rows === 0 || b.rows === 0) return { partner, cosine };
  const rows = Array.from({ length: a.rows }, (_, i) => C.subarray(i * b.rows, (i + 1) * b.rows));
  const { rowAssignments } = linearSumAssignment(rows, { maximaze: true });
  for (let i = 0; i < a.rows; i++) {
    const j = rowAssignments[i];
    if (j >= 0) {
      partner[i] = j;
      cosine[i] = C[i * b.rows + j];
    }
  }
  return { partner, cosine };
}

/** The rows of `m` scaled to unit norm, in float64 (a zero row stays zero). */
function unitRows(m: Matrix): Float64Array {
  const out = new Float64Array(m.rows * m.cols);
  for (let r = 0; r < m.rows; r++) {
    let s = 0;
    for (let c = 0; c < m.cols; c++) s += m.data[r * m.cols + c] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let c = 0; c < m.cols; c++) out[r * m.cols + c] = m.data[r * m.cols + c] * inv;
  }
  return out;
}
