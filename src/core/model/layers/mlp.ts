/**
 * The gated MLP, built from `nn.Linear` maps (linear.ts) (Shazeer 2020, "GLU Variants Improve Transformer"):
 *   mlp(x) = down(act(gate(x)) * up(x)),  SwiGLU with SiLU (Llama, Mistral, Qwen2), GeGLU with GELU (Gemma).
 */
import * as tf from '@tensorflow/tfjs-core';
import { activate, type ActivationName } from './activations.js';
import type { ModuleLinear } from './linear.js';

/**
 * The gated MLP `{mlp}.gate_proj|up_proj|down_proj` of x [N, D] with its intermediate values, the taps:
 * `pre` = gate(x), `preLinear` = up(x), `post` = act(pre) * preLinear (the neurons, [N, d_mlp]) and
 * `out` = down(post) [N, D].
 */
export function gatedMlp(
  x: tf.Tensor2D,
  act: ActivationName,
  lin: ModuleLinear,
  mlp: string,
): { pre: tf.Tensor2D; preLinear: tf.Tensor2D; post: tf.Tensor2D; out: tf.Tensor2D } {
  const pre = lin(`${mlp}.gate_proj`, x);
  const preLinear = lin(`${mlp}.up_proj`, x);
  const post = tf.mul(activate(act, pre), preLinear) as tf.Tensor2D;
  return { pre, preLinear, post, out: lin(`${mlp}.down_proj`, post) };
}
