/**
 * PyTorch's `nn.Linear` as Hugging Face checkpoints store it: the weight is [out, in], so y = x W^T + b
 * (GPT-NeoX, GPT-Neo, Llama and its kin; GPT-2's Conv1D stores [in, out] instead, y = x W + b).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ForwardOptions, ModelConfig, Params } from '../architecture.js';
import { addLora } from '../lora.js';

/** x [N, in] W^T, W [out, in], plus b [out] when the layer has a bias. */
export function linear(x: tf.Tensor2D, w: tf.Tensor, b?: tf.Tensor): tf.Tensor2D {
  const y = tf.matMul(x, w as tf.Tensor2D, false, true) as tf.Tensor2D;
  return b === undefined ? y : (tf.add(y, b) as tf.Tensor2D);
}

/** A block's linear layer applied by module name (`model.layers.0.self_attn.q_proj`). */
export type ModuleLinear = (module: string, x: tf.Tensor2D) => tf.Tensor2D;

/**
 * The linear layers of a model's params by module name: `{module}.weight`, plus `{module}.bias` where the
 * params hold one, plus the module's LoRA update where the config has an adapter for it (lora.ts).
 * `conv1d`: weights stored [in, out] (GPT-2).
 */
export function moduleLinear(
  cfg: ModelConfig,
  params: Params,
  opts: Pick<ForwardOptions, 'dropoutSeed'>,
  conv1d = false,
): ModuleLinear {
  return (module, x) => {
    const w = params.get(`${module}.weight`)! as tf.Tensor2D;
    const b = params.get(`${module}.bias`);
    let y = tf.matMul(x, w, false, !conv1d) as tf.Tensor2D;
    if (b) y = tf.add(y, b);
    return addLora(cfg, params, module, x, y, opts.dropoutSeed);
  };
}
