/**
 * Linear maps in PyTorch's `nn.Linear` layout (weight [out, in]) and the gated MLP built from them
 * (Shazeer 2020, "GLU Variants Improve Transformer"):
 *   linear(x) = x W^T + b
 *   mlp(x) = down(act(gate(x)) * up(x)),  SwiGLU with SiLU (Llama, Mistral, Qwen2), GeGLU with GELU (Gemma).
 */
import * as tf from '@tensorflow/tfjs-core';
import { activate, type ActivationName } from './activations.js';

/** x [N, in] W^T (+ b) for W [out, in], b [out]. */
export function linear(x: tf.Tensor2D, w: tf.Tensor, b?: tf.Tensor): tf.Tensor2D {
  const y = tf.matMul(x, w as tf.Tensor2D, false, true);
  return (b === undefined ? y : tf.add(y, b)) as tf.Tensor2D;
}

/** The projections of a gated MLP, each an `nn.Linear` (`bias` undefined where the model has none). */
export interface GatedMlpWeights {
  gate: tf.Tensor;
  up: tf.Tensor;
  down: tf.Tensor;
  gateBias?: tf.Tensor;
  upBias?: tf.Tensor;
  downBias?: tf.Tensor;
}

/**
 * The gated MLP of x [N, D] with its intermediate values, the taps: `pre` = gate(x), `preLinear` = up(x),
 * `post` = act(pre) * preLinear (the neurons, [N, d_mlp]) and `out` = down(post) [N, D].
 */
export function gatedMlp(
  x: tf.Tensor2D,
  act: ActivationName,
  w: GatedMlpWeights,
): { pre: tf.Tensor2D; preLinear: tf.Tensor2D; post: tf.Tensor2D; out: tf.Tensor2D } {
  const pre = linear(x, w.gate, w.gateBias);
  const preLinear = linear(x, w.up, w.upBias);
  const post = tf.mul(activate(act, pre), preLinear) as tf.Tensor2D;
  return { pre, preLinear, post, out: linear(post, w.down, w.downBias) };
}
