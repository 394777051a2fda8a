/**
 * The MLP nonlinearities, by the names Hugging Face configs use (`activation_function`, `hidden_act`,
 * `hidden_activation`):
 * - `gelu_new` / `gelu_pytorch_tanh` / `gelu_fast`: GELU's tanh approximation (GPT-2, GPT-Neo, Gemma);
 * - `gelu`: exact GELU, 0.5 x (1 + erf(x / sqrt 2)) (GPT-NeoX / Pythia);
 * - `silu`: x sigmoid(x) (Llama, Mistral, Qwen2).
 */
import * as tf from '@tensorflow/tfjs-core';

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/**
 * GELU, tanh approximation: 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3). Computed as x s with
 * s = sigmoid(2u), the same function (1 + tanh(u) = 2 sigmoid(2u)): the wasm backend's sigmoid is
 * vectorised (XNNPACK) and ~20x faster than its tanh, and the form has no cancellation near 0.
 * Gradient written out: d/dx = s + x s (1 - s) 2 du/dx, 2 du/dx = 2 sqrt(2/pi) (1 + 3 0.044715 x^2).
 */
export const geluTanh = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const twoU = tf.mul(tf.mul(x, tf.add(tf.mul(tf.mul(x, x), GELU_A), 1)), 2 * GELU_C);
  const s = tf.sigmoid(twoU);
  save([x, s]);
  return {
    value: tf.mul(x, s),
    gradFunc: (dy: tf.Tensor, [x, s]: tf.Tensor[]) => {
      const twoDu = tf.mul(tf.add(tf.mul(tf.mul(x, x), 3 * GELU_A), 1), 2 * GELU_C);
      return tf.mul(dy, tf.add(s, tf.mul(tf.mul(tf.mul(x, s), tf.sub(1, s)), twoDu)));
    },
  };
}) as (x: tf.Tensor) => tf.Tensor;

/** Exact GELU: x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)). */
export function geluExact(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/** SiLU (swish): x sigmoid(x). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

export type ActivationName = 'gelu_tanh' | 'gelu' | 'silu';

/** The activation a config names, or an error naming `file` and `field`. */
export function activationByName(name: unknown, file: string, field: string): ActivationName {
  if (name === 'gelu_new' || name === 'gelu_pytorch_tanh' || name === 'gelu_fast') return 'gelu_tanh';
  if (name === 'gelu') return 'gelu';
  if (name === 'silu' || name === 'swish') return 'silu';
  throw new Error(
    `${file}: field '${field}' is ${JSON.stringify(name)}; supported: gelu_new, gelu_pytorch_tanh, gelu_fast, gelu, silu`,
  );
}

/** The name Hugging Face configs give each activation (`hidden_act`). */
export const ACTIVATION_CONFIG_NAMES: Record<ActivationName, string> = {
  gelu_tanh: 'gelu_pytorch_tanh',
  gelu: 'gelu',
  silu: 'silu',
};

/** Applies a named activation. */
export function activate(name: ActivationName, x: tf.Tensor): tf.Tensor {
  return name === 'gelu_tanh' ? geluTanh(x) : name === 'gelu' ? geluExact(x) : silu(x);
}
