/**
 * PyTorch's `nn.Linear` as Hugging Face checkpoints store it: the weight is [out, in], so y = x W^T + b
 * (GPT-NeoX, GPT-Neo, Llama and its kin; GPT-2's Conv1D stores [in, out] instead).
 */
import * as tf from '@tensorflow/tfjs-core';

/** x [N, in] W^T, W [out, in], plus b [out] when the layer has a bias. */
export function linear(x: tf.Tensor2D, w: tf.Tensor, b?: tf.Tensor): tf.Tensor2D {
  const y = tf.matMul(x, w as tf.Tensor2D, false, true) as tf.Tensor2D;
  return b === undefined ? y : (tf.add(y, b) as tf.Tensor2D);
}
