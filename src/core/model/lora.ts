/**
 * LoRA (Hu et al. 2021, arXiv 2106.09685) as Hugging Face PEFT implements it. A frozen linear layer
 * y = x W^T + b of a block gains a trainable low-rank update
 *
 *   y += s * dropout(x) A^T B^T,   A [r, in], B [out, r],   s = alpha / r   (rsLoRA: alpha / sqrt(r)),
 *
 * with A drawn like PEFT's `kaiming_uniform_(a = sqrt 5)`, i.e. U(-1/sqrt(in), 1/sqrt(in)), and B zero, so
 * training starts exactly at the base model. Dropout (inverted, rate `dropout`) acts on the adapter's input
 * only, and only while training. GPT-2's Conv1D layers store W as [in, out]; the update is the same.
 *
 * A model config with `lora` set is "base + adapter": its params hold the base weights and, per adapted
 * module, `{module}.lora_A.weight` and `{module}.lora_B.weight` (module = the parameter name without
 * `.weight`). Forward passes of that config add the updates (layers/linear.ts); {@link baseConfig} of it runs
 * the same tensors as the base alone, which is how the frozen reference of DPO costs no second copy.
 *
 * Targets follow PEFT's matching: a module is adapted when its name equals a target or ends with
 * `.{target}`. The DecPO authors (Yan et al. 2024) adapted `q_proj`, `v_proj` and `up_proj` of Llama; the
 * defaults carry that set to every architecture (GPT-2 and GPT-NeoX fuse q, k and v, so their fused
 * projection stands in for q and v).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig, ParamSpec, Params } from './architecture.js';
import { Rng } from './rng.js';
import type { NamedArray } from './safetensors.js';

/** An adapter's settings, as PEFT's `LoraConfig` names them (r, lora_alpha, lora_dropout, target_modules). */
export interface LoraSpec {
  r: number;
  alpha: number;
  dropout: number;
  targets: string[];
  /** rsLoRA (Kalajdzievski 2023): scale alpha / sqrt(r) instead of alpha / r. */
  rslora: boolean;
}

/** A config with an adapter. */
export type LoraConfig = ModelConfig & { lora: LoraSpec };

/** The DecPO authors' LoRA: rank 8, alpha 16, dropout 0.05. */
export const AUTHORS_LORA = { r: 8, alpha: 16, dropout: 0.05 } as const;

/** Default target modules per `model_type`: the authors' q, v and up projections, or their equivalent. */
const DEFAULT_TARGETS: Record<string, string[]> = {
  llama: ['q_proj', 'v_proj', 'up_proj'],
  mistral: ['q_proj', 'v_proj', 'up_proj'],
  qwen2: ['q_proj', 'v_proj', 'up_proj'],
  gemma: ['q_proj', 'v_proj', 'up_proj'],
  gemma2: ['q_proj', 'v_proj', 'up_proj'],
  gpt_neo: ['q_proj', 'v_proj', 'c_fc'],
  gpt2: ['attn.c_attn', 'mlp.c_fc'],
  gpt_neox: ['query_key_value', 'dense_h_to_4h'],
};

export function defaultLoraTargets(arch: string): string[] {
  const t = DEFAULT_TARGETS[arch];
  if (!t) throw new Error(`no default LoRA targets for model_type '${arch}'; give the target modules`);
  return [...t];
}

/** The scale s of the update. */
export function loraScale(s: LoraSpec): number {
  return s.rslora ? s.alpha / Math.sqrt(s.r) : s.alpha / s.r;
}

/** PEFT's rule: `module` is targeted when it equals a target or ends with `.{target}`. */
export function isTarget(module: string, targets: readonly string[]): boolean {
  return targets.some((t) => module === t || module.endsWith(`.${t}`));
}

/** A linear layer of a block: its module name and its input and output widths. */
export interface LinearModule {
  module: string;
  in: number;
  out: number;
}

/** Block parameters live under `...layers.{i}.` or `...h.{i}.`; their 2-D weights are the linear layers. */
const BLOCK = /(^|\.)(layers|h)\.\d+\./;

/**
 * Every linear layer of the blocks of a model whose parameters are `specs`, in parameter order. `conv1d`:
 * weights stored [in, out] (GPT-2) rather than nn.Linear's [out, in].
 */
export function linearModules(specs: readonly ParamSpec[], conv1d: boolean): LinearModule[] {
  return specs
    .filter((s) => s.shape.length === 2 && s.name.endsWith('.weight') && BLOCK.test(s.name))
    .map((s) => ({
      module: s.name.slice(0, -'.weight'.length),
      in: conv1d ? s.shape[0] : s.shape[1],
      out: conv1d ? s.shape[1] : s.shape[0],
    }));
}

/**
 * The adapted modules: those of `modules` a target matches. Every target must match something (PEFT refuses
 * a target it cannot find too); the error lists the module names there are.
 */
export function adaptedModules(modules: readonly LinearModule[], spec: LoraSpec): LinearModule[] {
  for (const t of spec.targets) {
    if (!modules.some((m) => isTarget(m.module, [t]))) {
      const kinds = [...new Set(modules.map((m) => m.module.replace(/^.*\.\d+\./, '')))];
      throw new Error(
        `LoRA target '${t}' matches no linear layer of this model; its layers: ${kinds.join(', ')}`,
      );
    }
  }
  return modules.filter((m) => isTarget(m.module, spec.targets));
}

export const loraA = (module: string): string => `${module}.lora_A.weight`;
export const loraB = (module: string): string => `${module}.lora_B.weight`;

/** The adapter's parameters, A [r, in] then B [out, r] per adapted module. */
export function loraParamSpecs(adapted: readonly LinearModule[], r: number): ParamSpec[] {
  return adapted.flatMap((m) => [
    { name: loraA(m.module), shape: [r, m.in] },
    { name: loraB(m.module), shape: [m.out, r] },
  ]);
}

/** Fresh adapter weights: A ~ U(-1/sqrt(in), 1/sqrt(in)) from `seed`, B = 0. */
export function initLoraArrays(
  adapted: readonly LinearModule[],
  r: number,
  seed: number,
): Map<string, NamedArray> {
  const rng = new Rng(seed * 7919 + 17);
  const out = new Map<string, NamedArray>();
  for (const m of adapted) {
    const bound = 1 / Math.sqrt(m.in);
    const a = new Float32Array(r * m.in);
    for (let i = 0; i < a.length; i++) a[i] = (2 * rng.next() - 1) * bound;
    out.set(loraA(m.module), { shape: [r, m.in], data: a });
    out.set(loraB(m.module), { shape: [m.out, r], data: new Float32Array(m.out * r) });
  }
  return out;
}

/** The same config without its adapter: forward passes of it ignore any adapter tensors in the params. */
export function baseConfig<C extends ModelConfig>(cfg: C): C {
  if (!cfg.lora) return cfg;
  const { lora: _lora, ...base } = cfg;
  return base as C;
}

/** A 32-bit FNV-1a hash of a module name: each module draws its own dropout mask. */
function nameHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * `y` plus the adapter's update of `module` on its input x [N, in], when the config has an adapter and
 * the params hold one for this module; `y` unchanged otherwise. With `dropoutSeed` (training), the
 * adapter's input is masked by inverted dropout drawn from that seed and the module's name.
 */
export function addLora(
  cfg: ModelConfig,
  params: Params,
  module: string,
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  dropoutSeed?: number,
): tf.Tensor2D {
  const spec = cfg.lora;
  const a = spec && params.get(loraA(module));
  if (!spec || !a) return y;
  let input = x;
  if (dropoutSeed !== undefined && spec.dropout > 0) {
    const keep = 1 - spec.dropout;
    const u = tf.randomUniform(x.shape, 0, 1, 'float32', (dropoutSeed * 2654435761 + nameHash(module)) >>> 0);
    input = tf.mul(x, tf.div(tf.cast(tf.less(u, keep), 'float32'), keep));
  }
  const low = tf.matMul(input, a as tf.Tensor2D, false, true);
  const delta = tf.matMul(low, params.get(loraB(module))! as tf.Tensor2D, false, true);
  return tf.add(y, tf.mul(delta, loraScale(spec))) as tf.Tensor2D;
}
