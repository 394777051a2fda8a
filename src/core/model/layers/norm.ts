/**
 * The normalisations the architectures use, over the last axis of x [N, D]:
 * - LayerNorm (Ba et al. 2016; GPT-2, GPT-NeoX, GPT-Neo): (x - mean) / sqrt(var + eps) g + b;
 * - RMSNorm (Zhang & Sennrich 2019; Llama, Mistral, Qwen2): x / sqrt(mean(x^2) + eps) w, and Gemma's
 *   variant that scales by (1 + w) (its weights are stored as offsets from 1).
 */
import * as tf from '@tensorflow/tfjs-core';

type LayerNormOp = (x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;
const layerNormOps = new Map<number, LayerNormOp>();

/**
 * LayerNorm y = xhat g + b, xhat = (x - mean) / sqrt(var + eps), with its gradient written out (autodiff
 * through `moments` takes ~3x the kernels): with dxhat = dy g,
 *   dx = (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) / sqrt(var + eps),  dg = sum_N dy xhat,  db = sum_N dy.
 */
export function layerNorm(x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor2D {
  let op = layerNormOps.get(eps);
  if (!op) {
    op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [x, g, b, save] = args as [tf.Tensor2D, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      const { mean, variance } = tf.moments(x, -1, true);
      const rstd = tf.rsqrt(tf.add(variance, eps));
      const xhat = tf.mul(tf.sub(x, mean), rstd);
      save([xhat, rstd, g]);
      return {
        value: tf.add(tf.mul(xhat, g), b) as tf.Tensor2D,
        gradFunc: (dy: tf.Tensor2D, [xhat, rstd, g]: tf.Tensor[]) => {
          const dxhat = tf.mul(dy, g);
          const centred = tf.sub(dxhat, tf.mean(dxhat, -1, true));
          const dx = tf.mul(tf.sub(centred, tf.mul(xhat, tf.mean(tf.mul(dxhat, xhat), -1, true))), rstd);
          return [dx, tf.sum(tf.mul(dy, xhat), 0), tf.sum(dy, 0)];
        },
      };
    }) as LayerNormOp;
    layerNormOps.set(eps, op);
  }
  return op(x, g, b);
}

/**
 * RMSNorm: x / sqrt(mean(x^2) + eps) scaled by w, or by (1 + w) when `unitOffset` (Gemma's
 * `GemmaRMSNorm`, whose weights are initialised at 0).
 */
export function rmsNorm(x: tf.Tensor2D, w: tf.Tensor, eps: number, unitOffset = false): tf.Tensor2D {
  const rms = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps));
  return tf.mul(tf.mul(x, rms), unitOffset ? tf.add(w, 1) : w) as tf.Tensor2D;
}
