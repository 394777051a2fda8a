/**
 * DecPO's feature-decorrelation regularizers R, added as lambda * R to the DPO loss (Yan et al. 2024,
 * arXiv 2406.17969, §4: lambda ||z z^T - I||_F^2; the authors' code, hanqi-qi/Revisit_monosemanticity at
 * commit 2da99fb, DPOTrainer.py, computes the `authors` variant below instead).
 *
 * - `barlow`  (default): the neurons' Pearson correlation matrix over the batch's response tokens,
 *             C = Z_s^T Z_s / n with Z_s the column-standardised activations [n tokens, d neurons];
 *             R = sum_{k != l} C_kl^2 (Barlow Twins' redundancy term, arXiv 2103.03230).
 * - `rowcos`  (paper-literal): Z = one activation vector per sequence at its last real response token,
 *             rows L2-normalised to Z^; R = ||Z^ Z^^T - I||_F^2 = sum_{i != j} cos^2(z_i, z_j).
 *             With `normalize: false` it is ||Z Z^T - I||_F^2 on raw rows.
 * - `authors` (code-faithful): A = |u| at position -1 of the padded rows 0::2 of TRL's concatenated batch;
 *             R = mean(A A^T - I) = ||mean_i a_i||^2 - 1/B (an L2 shrinkage of mean |u|, not a decorrelation).
 */
import * as tf from '@tensorflow/tfjs-core';

export { REGULARIZERS, type RegularizerId } from '../names.js';

const EPS = 1e-5;

/**
 * Column-standardised Pearson matrix C [d, d] of Z [n, d] (population variance, eps for dead columns):
 * Zs = (Z - mean) / sqrt(var + eps) column-wise, C = Zs^T Zs / n. The gradient is written out (autodiff
 * takes two Gram matmuls and ~20 small kernels): with S = G + G^T for G = dL/dC and D = Zs S / n,
 *   dL/dZ = (D - mean(D) - Zs mean(D Zs)) / sqrt(var + eps)    (column means; batch-norm's backward).
 */
export const pearsonGram = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [z, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
  const n = z.shape[0];
  const zc = tf.sub(z, tf.mean(z, 0, true));
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(zc), 0, true), EPS));
  const zs = tf.mul(zc, rstd) as tf.Tensor2D;
  save([zs, rstd]);
  return {
    value: tf.div(tf.matMul(zs, zs, true, false), n) as tf.Tensor2D,
    gradFunc: (g: tf.Tensor2D, [zs, rstd]: tf.Tensor[]) => {
      const d = tf.div(tf.matMul(zs as tf.Tensor2D, tf.add(g, tf.transpose(g))), n);
      const centred = tf.sub(d, tf.mean(d, 0, true));
      return tf.mul(tf.sub(centred, tf.mul(zs, tf.mean(tf.mul(d, zs), 0, true))), rstd);
    },
  };
}) as (z: tf.Tensor2D) => tf.Tensor2D;

/** Masks the diagonal of a square matrix to 0. */
function offDiagonal(c: tf.Tensor2D): tf.Tensor2D {
  const d = c.shape[0];
  return tf.mul(c, tf.sub(1, tf.eye(d))) as tf.Tensor2D;
}

/** `barlow` from a Pearson matrix C (see {@link pearsonGram}): sum_{k != l} C_kl^2. */
export function barlowFromGram(c: tf.Tensor2D): tf.Scalar {
  return tf.sum(tf.square(offDiagonal(c)));
}

/** Mean |C_kl| over k != l of a Pearson matrix C [d, d]. */
export function meanAbsFromGram(c: tf.Tensor2D): tf.Scalar {
  const d = c.shape[0];
  return tf.div(tf.sum(tf.abs(offDiagonal(c))), Math.max(1, d * (d - 1)));
}

/** `barlow`: sum of squared off-diagonal Pearson correlations of the d neurons over n tokens. */
export function barlowPenalty(z: tf.Tensor2D): tf.Scalar {
  return barlowFromGram(pearsonGram(z));
}

/** Mean |off-diagonal Pearson correlation| of the neurons of Z [n, d] (the `decorr/mean_abs_corr` metric). */
export function meanAbsCorrelation(z: tf.Tensor2D): tf.Scalar {
  return meanAbsFromGram(pearsonGram(z));
}

/** `rowcos`: ||Z^ Z^^T - I||_F^2 over the rows of Z [n, d] (rows L2-normalised unless `normalize` is false). */
export function rowcosPenalty(z: tf.Tensor2D, normalize = true): tf.Scalar {
  const n = z.shape[0];
  const rows = normalize ? tf.div(z, tf.sqrt(tf.add(tf.sum(tf.square(z), 1, true), 1e-12))) : z;
  const gram = tf.matMul(rows, rows, false, true);
  return tf.sum(tf.square(tf.sub(gram, tf.eye(n))));
}

/** `authors`: mean(A A^T - I) with A = |u| [B, d], literally as the public code computes it. */
export function authorsPenalty(u: tf.Tensor2D): tf.Scalar {
  const a = tf.abs(u);
  const b = u.shape[0];
  return tf.mean(tf.sub(tf.matMul(a, a, false, true), tf.eye(b)));
}

/** The closed form of {@link authorsPenalty}: ||mean_i |u_i| ||^2 - 1/B (host side, for tests and docs). */
export function authorsPenaltyClosedForm(u: Float32Array, b: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) {
    let m = 0;
    for (let i = 0; i < b; i++) m += Math.abs(u[i * d + k]);
    m /= b;
    s += m * m;
  }
  return s - 1 / b;
}
