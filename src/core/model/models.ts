/**
 * The model registry: every architecture by `model_type`, and what the rest of Monoscope does with any
 * model through it: parse a config, name and shape its parameters, list and expand its taps, run it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedArray } from './safetensors.js';
import {
  adaptedModules,
  linearModules,
  loraA,
  loraB,
  loraParamSpecs,
  loraScale,
  type LinearModule,
} from './lora.js';
import {
  TAP_KINDS,
  headLogits,
  type Architecture,
  type ForwardOptions,
  type ForwardResult,
  type Head,
  type ModelConfig,
  type ParamSpec,
  type Params,
  type TapKind,
} from './architecture.js';
import { gpt2 } from './arch/gpt2.js';
import { gemma } from './arch/gemma.js';
import { gemma2 } from './arch/gemma2.js';
import { gptNeo } from './arch/gpt-neo.js';
import { gptNeox } from './arch/gpt-neox.js';
import { llama, mistral } from './arch/llama.js';
import { qwen2 } from './arch/qwen2.js';

const ARCHITECTURES: readonly Architecture<any>[] = [
  gpt2,
  gptNeox,
  gptNeo,
  llama,
  mistral,
  qwen2,
  gemma,
  gemma2,
];

/** Every `model_type` Monoscope opens. */
export const MODEL_TYPES: readonly string[] = ARCHITECTURES.flatMap((a) => a.modelTypes);

function byType(modelType: unknown, where: string): Architecture {
  const a = ARCHITECTURES.find((x) => x.modelTypes.includes(modelType as string));
  if (!a) {
    throw new Error(
      `${where}: model_type ${JSON.stringify(modelType)} is not supported; Monoscope opens ${MODEL_TYPES.join(', ')}`,
    );
  }
  return a;
}

/** The architecture of a config. */
export function architecture(cfg: ModelConfig): Architecture {
  // Configs stored before architectures had names are the built-in world's GPT-2s.
  return byType(cfg.arch ?? 'gpt2', 'model config');
}

/** Reads a Hugging Face `config.json` of any supported architecture; errors name `file` and the field. */
export function parseModelConfig(json: Record<string, unknown>, file: string): ModelConfig {
  return byType(json.model_type, `${file}: field 'model_type'`).parseConfig(json, file);
}

/** The `config.json` of a config. */
export function modelConfigJson(cfg: ModelConfig): Record<string, unknown> {
  return architecture(cfg).configJson(cfg);
}

/** Every parameter of a model, in canonical order (the optimizer relies on it), with its shape. */
export function paramSpecs(cfg: ModelConfig): ParamSpec[] {
  return architecture(cfg).params(cfg);
}

/** Total number of parameters of the base model (an adapter's are {@link adapterParamSpecs}). */
export function countParams(cfg: ModelConfig): number {
  return paramSpecs(cfg).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
}

/** The linear layers of a config's blocks that its LoRA adapter targets (none without an adapter). */
export function adaptedLinears(cfg: ModelConfig): LinearModule[] {
  if (!cfg.lora) return [];
  const arch = architecture(cfg);
  return adaptedModules(linearModules(arch.params(cfg), arch.conv1d ?? false), cfg.lora);
}

/** The LoRA adapter's parameters (lora.ts), A then B per adapted module; none without an adapter. */
export function adapterParamSpecs(cfg: ModelConfig): ParamSpec[] {
  return cfg.lora ? loraParamSpecs(adaptedLinears(cfg), cfg.lora.r) : [];
}

const HOOK_ALIASES: Record<string, TapKind> = {
  hook_resid_pre: 'resid_pre',
  hook_attn_out: 'attn_out',
  hook_resid_mid: 'resid_mid',
  hook_mlp_out: 'mlp_out',
  hook_resid_post: 'resid_post',
  'mlp.hook_pre': 'mlp.pre',
  'mlp.hook_pre_linear': 'mlp.pre_linear',
  'mlp.hook_post': 'mlp.post',
};

/** The canonical spelling of a tap name: TransformerLens's `hook_` spellings map to ours. */
export function canonicalTap(name: string): string {
  const m = /^blocks\.(\d+|\*)\.(.+)$/.exec(name.trim());
  if (!m) return name.trim();
  return `blocks.${m[1]}.${HOOK_ALIASES[m[2]] ?? m[2]}`;
}

/** The tap kinds of a model's blocks, in the order the architecture lists them. */
export function tapKindsOf(cfg: ModelConfig): readonly TapKind[] {
  return architecture(cfg).tapKinds(cfg);
}

/** Every tap of a model, block by block, in the order the architecture lists its kinds. */
export function tapNames(cfg: ModelConfig): string[] {
  const kinds = architecture(cfg).tapKinds(cfg);
  const out: string[] = [];
  for (let i = 0; i < cfg.nLayer; i++) for (const k of kinds) out.push(`blocks.${i}.${k}`);
  return out;
}

/** The kind of a tap name (after {@link canonicalTap}), or undefined. */
function tapKind(tap: string): { block: number; kind: TapKind } | undefined {
  const m = /^blocks\.(\d+)\.(.+)$/.exec(canonicalTap(tap));
  if (!m || !(TAP_KINDS as readonly string[]).includes(m[2])) return undefined;
  return { block: Number(m[1]), kind: m[2] as TapKind };
}

/** Width of a tap: d_mlp for the MLP's neurons and pre-activations, d_model for the residual stream. */
export function tapWidth(cfg: ModelConfig, tap: string): number {
  const t = tapKind(tap);
  const kinds = architecture(cfg).tapKinds(cfg);
  if (!t || t.block >= cfg.nLayer || !kinds.includes(t.kind)) {
    throw new Error(
      `unknown tap '${tap}': this ${cfg.arch ?? 'gpt2'} model has blocks.{0..${cfg.nLayer - 1}}.{${kinds.join(',')}}`,
    );
  }
  return t.kind.startsWith('mlp.') ? cfg.nInner : cfg.nEmbd;
}

/** Expands comma-separated tap patterns such as `blocks.*.mlp.post` into the model's tap names. */
export function expandTaps(cfg: ModelConfig, pattern: string): string[] {
  const all = tapNames(cfg);
  const out: string[] = [];
  for (const raw of pattern
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const p = canonicalTap(raw);
    const re = new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^.]+')}$`);
    const hits = all.filter((t) => re.test(t));
    if (hits.length === 0)
      throw new Error(
        `tap pattern '${raw}' matches no tap of this model (e.g. ${all.slice(0, 3).join(', ')})`,
      );
    for (const h of hits) if (!out.includes(h)) out.push(h);
  }
  return out;
}

/**
 * The forward pass of any model on token ids [B, T] (T <= n_ctx), returning the requested taps. Run it
 * inside `tf.tidy` or a gradient closure.
 */
export function forward(
  cfg: ModelConfig,
  params: Params,
  ids: tf.Tensor2D,
  opts: ForwardOptions = {},
): ForwardResult {
  const T = ids.shape[1];
  if (T > cfg.nCtx) throw new Error(`sequence length ${T} exceeds the model's context of ${cfg.nCtx} tokens`);
  const taps = (opts.taps ?? []).map(canonicalTap);
  for (const t of taps) tapWidth(cfg, t); // a clear error on an unknown tap, before any work
  return architecture(cfg).forward(cfg, params, ids, { ...opts, taps });
}

/** The model's unembedding. */
export function modelHead(cfg: ModelConfig, params: Params): Head {
  return architecture(cfg).head(cfg, params);
}

/**
 * The direction a unit of a tap writes into the residual stream, [d_model]: for the MLP's neurons (and
 * their pre-activations) the output projection's row or column of the neuron (with the LoRA update where
 * the adapter targets that projection); for a residual-stream tap the unit vector of its dimension.
 */
export function unitDirection(
  cfg: ModelConfig,
  arrays: Map<string, NamedArray>,
  tap: string,
  unit: number,
): Float32Array {
  const D = cfg.nEmbd;
  const t = tapKind(tap);
  if (!t) throw new Error(`unknown tap '${tap}'`);
  const dir = new Float32Array(D);
  if (!t.kind.startsWith('mlp.')) {
    dir[unit] = 1;
    return dir;
  }
  const { name, layout } = architecture(cfg).mlpOut(cfg, t.block);
  const w = arrays.get(name)!.data;
  if (layout === 'rows') dir.set(w.subarray(unit * D, (unit + 1) * D));
  else for (let d = 0; d < D; d++) dir[d] = w[d * cfg.nInner + unit];
  // An adapted output projection writes with W + s B A: neuron j adds s sum_k B[d, k] A[k, j] to dir[d].
  const module = name.slice(0, -'.weight'.length);
  const a = cfg.lora && arrays.get(loraA(module));
  if (cfg.lora && a) {
    const b = arrays.get(loraB(module))!.data;
    const { r } = cfg.lora;
    const s = loraScale(cfg.lora);
    for (let d = 0; d < D; d++) {
      let sum = 0;
      for (let k = 0; k < r; k++) sum += b[d * r + k] * a.data[k * cfg.nInner + unit];
      dir[d] += s * sum;
    }
  }
  return dir;
}

/** The unembedding matrix [V, D] of a model's host arrays. */
export function headArray(cfg: ModelConfig, arrays: Map<string, NamedArray>): Float32Array {
  return arrays.get(architecture(cfg).headName(cfg))!.data as Float32Array;
}

/**
 * The logit lens (nostalgebraist 2020) of residual-stream vectors x [n, D] (row-major): the model's final
 * norm, then its unembedding, logits [n, V] = norm(x) W_U^T, in float32. Gemma-2's final soft cap is left
 * out, as transformers' `lm_head` module (which lenses call) leaves it out; it is monotone, so the order of
 * the tokens is the same.
 */
export function logitLens(cfg: ModelConfig, arrays: Map<string, NamedArray>, x: Float32Array): Float32Array {
  const D = cfg.nEmbd;
  const p = (name: string): tf.Tensor => {
    const a = arrays.get(name);
    if (!a) throw new Error(`missing parameter '${name}'`);
    return tf.tensor(a.data, a.shape, 'float32');
  };
  return tf.tidy(() => {
    const normed = architecture(cfg).finalNorm(cfg, p, tf.tensor2d(x, [x.length / D, D]));
    const wU = tf.tensor2d(headArray(cfg, arrays), [cfg.vocabSize, D]);
    return tf.matMul(normed, wU, false, true).dataSync() as Float32Array;
  });
}

// Architectures compute their logits with it too (they cannot import this module: it imports them).
export { headLogits };

/** Creates variables from host arrays; names and shapes are checked against the config. */
/**
 * Variables of a model's parameters (and its adapter's, when the config has one) from arrays by name,
 * checked against the config's shapes. `trainable`: every parameter, none, or only the adapter's (LoRA
 * fine-tuning: the base stays frozen).
 */
export function paramsFromArrays(
  cfg: ModelConfig,
  arrays: Map<string, NamedArray>,
  trainable: boolean | 'adapter' = true,
): Params {
  const params: Params = new Map();
  const adapter = new Set(adapterParamSpecs(cfg).map((s) => s.name));
  for (const { name, shape } of [...paramSpecs(cfg), ...adapterParamSpecs(cfg)]) {
    const a = arrays.get(name);
    if (!a) throw new Error(`missing parameter '${name}'`);
    if (a.shape.join(',') !== shape.join(','))
      throw new Error(`parameter '${name}' has shape [${a.shape}] but the config needs [${shape}]`);
    const t = tf.tensor(a.data, shape, 'float32');
    params.set(name, tf.variable(t, trainable === 'adapter' ? adapter.has(name) : trainable));
    t.dispose();
  }
  return params;
}

/** Reads the parameters back into host arrays (for saving). */
export async function toNamedArrays(params: Params): Promise<Map<string, NamedArray>> {
  const out = new Map<string, NamedArray>();
  for (const [name, v] of params) out.set(name, { shape: v.shape, data: (await v.data()) as Float32Array });
  return out;
}

/** Disposes every variable of a parameter map. */
export function disposeParams(params: Params): void {
  for (const v of params.values()) v.dispose();
}
