/**
 * GPT-2 (`model_type` gpt2; Radford et al. 2019), top to bottom, in the way nanoGPT lays it out. The
 * built-in world's models are GPT-2s.
 *
 *   x = wte[ids] + wpe[0..T) -> n_layer x [ x += attn(ln_1(x)); x += mlp(ln_2(x)) ] -> ln_f -> x wte^T
 *
 * Pre-LayerNorm blocks, GELU (tanh approximation, HF's `gelu_new`) in the MLP, learned positions and an LM
 * head tied to the token embedding. Conv1D weights are stored [in, out], so a checkpoint we write loads
 * unchanged in `GPT2LMHeadModel.from_pretrained`; the Hub's folders store the same names with or without
 * a `transformer.` prefix. Taps: resid_pre, attn_out, resid_mid, mlp_out, resid_post, mlp.pre (c_fc's
 * output) and mlp.post (GELU(pre)).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../rng.js';
import type { NamedArray } from '../safetensors.js';
import {
  TapRecorder,
  type Architecture,
  type ModelConfig,
  type ParamGetter,
  type ParamSpec,
} from '../architecture.js';
import { layerNorm } from '../layers/norm.js';
import { activationByName, geluTanh } from '../layers/activations.js';
import { moduleLinear } from '../layers/linear.js';
import { attention, splitHeads } from '../layers/attention.js';
import { configReader } from '../config.js';

export interface GPTConfig extends ModelConfig {
  arch: 'gpt2';
  layerNormEps: number;
}

/** A config with GPT-2 defaults for the fields not given. */
export function gptConfig(
  c: Partial<Omit<GPTConfig, 'arch'>> & Pick<GPTConfig, 'vocabSize' | 'nEmbd' | 'nLayer' | 'nHead'>,
): GPTConfig {
  const cfg: GPTConfig = {
    nCtx: 64,
    nInner: 4 * c.nEmbd,
    layerNormEps: 1e-5,
    bosTokenId: c.vocabSize - 1,
    eosTokenId: c.vocabSize - 1,
    ...c,
    arch: 'gpt2',
  };
  if (cfg.nEmbd % cfg.nHead !== 0)
    throw new Error(`n_embd (${cfg.nEmbd}) must be divisible by n_head (${cfg.nHead})`);
  for (const k of ['vocabSize', 'nCtx', 'nLayer', 'nHead', 'nEmbd', 'nInner'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] <= 0)
      throw new Error(`model config: ${k} must be a positive integer, got ${cfg[k]}`);
  }
  return cfg;
}

/** Every parameter in canonical order (the optimizer relies on it), with its shape. */
function params(cfg: GPTConfig): ParamSpec[] {
  const { vocabSize: V, nCtx: T, nEmbd: D, nInner: F } = cfg;
  const out: ParamSpec[] = [
    { name: 'wte.weight', shape: [V, D] },
    { name: 'wpe.weight', shape: [T, D] },
  ];
  for (let i = 0; i < cfg.nLayer; i++) {
    const h = `h.${i}`;
    out.push(
      { name: `${h}.ln_1.weight`, shape: [D] }, { name: `${h}.ln_1.bias`, shape: [D] },
      { name: `${h}.attn.c_attn.weight`, shape: [D, 3 * D] }, { name: `${h}.attn.c_attn.bias`, shape: [3 * D] },
      { name: `${h}.attn.c_proj.weight`, shape: [D, D] }, { name: `${h}.attn.c_proj.bias`, shape: [D] },
      { name: `${h}.ln_2.weight`, shape: [D] }, { name: `${h}.ln_2.bias`, shape: [D] },
      { name: `${h}.mlp.c_fc.weight`, shape: [D, F] }, { name: `${h}.mlp.c_fc.bias`, shape: [F] },
      { name: `${h}.mlp.c_proj.weight`, shape: [F, D] }, { name: `${h}.mlp.c_proj.bias`, shape: [D] },
    ); // prettier-ignore
  }
  out.push({ name: 'ln_f.weight', shape: [D] }, { name: 'ln_f.bias', shape: [D] });
  return out;
}

/** Names of all parameters in their canonical order. */
export function paramNames(cfg: GPTConfig): string[] {
  return params(cfg).map((p) => p.name);
}

/**
 * GPT-2 initialisation: N(0, 0.02) weights, except position embeddings N(0, 0.01) (as GPT-2's TF code) and
 * residual projections N(0, 0.02 / sqrt(2 n_layer)); LayerNorm gains 1, biases 0.
 */
export function initParamArrays(cfg: GPTConfig, seed: number): Map<string, NamedArray> {
  const rng = new Rng(seed);
  const out = new Map<string, NamedArray>();
  for (const { name, shape } of params(cfg)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (/ln_\w+\.weight$|ln_f\.weight$/.test(name)) data.fill(1);
    else if (name.endsWith('.weight')) {
      const std = name.endsWith('c_proj.weight')
        ? 0.02 / Math.sqrt(2 * cfg.nLayer)
        : name === 'wpe.weight'
          ? 0.01
          : 0.02;
      for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
    }
    out.set(name, { shape, data });
  }
  return out;
}

/** The final LayerNorm `ln_f`. */
function finalNorm(cfg: GPTConfig, p: ParamGetter, x: tf.Tensor2D): tf.Tensor2D {
  return layerNorm(x, p('ln_f.weight'), p('ln_f.bias'), cfg.layerNormEps);
}

export const gpt2: Architecture<GPTConfig> = {
  modelTypes: ['gpt2'],

  parseConfig(json, file) {
    const c = configReader(json, file);
    if (activationByName(json.activation_function ?? 'gelu_new', file, 'activation_function') !== 'gelu_tanh')
      throw new Error(
        `${file}: activation_function ${JSON.stringify(json.activation_function)}: GPT-2 uses gelu_new`,
      );
    if (json.tie_word_embeddings === false)
      throw new Error(`${file}: untied LM heads are not supported for gpt2`);
    const vocabSize = c.int('vocab_size');
    const nEmbd = c.int('n_embd');
    return gptConfig({
      vocabSize,
      nCtx: c.int('n_positions'),
      nEmbd,
      nLayer: c.int('n_layer'),
      nHead: c.int('n_head'),
      nInner: c.int('n_inner', 4 * nEmbd),
      layerNormEps: c.num('layer_norm_epsilon', 1e-5),
      bosTokenId: c.tokenId('bos_token_id', vocabSize - 1),
      eosTokenId: c.tokenId('eos_token_id', vocabSize - 1),
    });
  },

  configJson(cfg) {
    return {
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      vocab_size: cfg.vocabSize,
      n_positions: cfg.nCtx,
      n_ctx: cfg.nCtx,
      n_embd: cfg.nEmbd,
      n_layer: cfg.nLayer,
      n_head: cfg.nHead,
      n_inner: cfg.nInner,
      activation_function: 'gelu_new',
      resid_pdrop: 0.0,
      embd_pdrop: 0.0,
      attn_pdrop: 0.0,
      layer_norm_epsilon: cfg.layerNormEps,
      initializer_range: 0.02,
      scale_attn_weights: true,
      tie_word_embeddings: true,
      bos_token_id: cfg.bosTokenId,
      eos_token_id: cfg.eosTokenId,
      use_cache: true,
      torch_dtype: 'float32',
    };
  },

  params,
  // The causal-mask buffers older saves keep, and the tied head `GPT2LMHeadModel` may save as a copy.
  buffers: /^((transformer\.)?h\.\d+\.attn\.(bias|masked_bias)|lm_head\.weight)$/,
  storedNames: (name) => [name, `transformer.${name}`],
  modulePrefix: 'transformer.',
  conv1d: true,
  tapKinds: () => ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post', 'mlp.pre', 'mlp.post'],

  forward(cfg, params, ids, opts) {
    const [B, T] = ids.shape;
    const D = cfg.nEmbd;
    const H = cfg.nHead;
    const hd = D / H;
    const p = (name: string): tf.Variable => params.get(name)!;
    const lin = moduleLinear(cfg, params, opts, true);
    const rec = new TapRecorder(B, T, opts.taps);

    // Embeddings: gather token rows, add the first T position rows. x is kept 2-D [B*T, D] throughout.
    const tok = tf.gather(p('wte.weight'), tf.reshape(ids, [B * T]));
    const pos = tf.slice(p('wpe.weight'), [0, 0], [T, D]);
    let x = tf.reshape(tf.add(tf.reshape(tok, [B, T, D]), pos), [B * T, D]) as tf.Tensor2D;

    for (let i = 0; i < cfg.nLayer; i++) {
      const h = `h.${i}`;
      rec.put(i, 'resid_pre', x);
      // Attention: qkv = ln_1(x) W_attn + b; per head softmax(q k^T / sqrt(hd) + mask) v; then W_proj.
      const a = layerNorm(x, p(`${h}.ln_1.weight`), p(`${h}.ln_1.bias`), cfg.layerNormEps);
      const qkv = lin(`${h}.attn.c_attn`, a);
      const [q, k, v] = tf.split(qkv, 3, 1).map((t) => splitHeads(t as tf.Tensor2D, B, T, H, hd));
      const y = attention(q, k, v, { scale: 1 / Math.sqrt(hd) });
      const attnOut = lin(`${h}.attn.c_proj`, y);
      x = tf.add(x, attnOut);
      rec.put(i, 'attn_out', attnOut);
      rec.put(i, 'resid_mid', x);

      // MLP: pre = ln_2(x) W_fc + b; post = GELU(pre) (the neurons); x += post W_proj + b.
      const m = layerNorm(x, p(`${h}.ln_2.weight`), p(`${h}.ln_2.bias`), cfg.layerNormEps);
      const pre = lin(`${h}.mlp.c_fc`, m);
      const post = geluTanh(pre) as tf.Tensor2D;
      const mlpOut = lin(`${h}.mlp.c_proj`, post);
      x = tf.add(x, mlpOut);
      rec.put(i, 'mlp.pre', pre);
      rec.put(i, 'mlp.post', post);
      rec.put(i, 'mlp_out', mlpOut);
      rec.put(i, 'resid_post', x);
    }

    const hidden2d = finalNorm(cfg, p, x);
    const hidden = tf.reshape(hidden2d, [B, T, D]) as tf.Tensor3D;
    if (opts.hiddenOnly) return { hidden, taps: rec.taps };
    const logits = tf.reshape(tf.matMul(hidden2d, p('wte.weight'), false, true), [B, T, cfg.vocabSize]);
    return { logits: logits as tf.Tensor3D, hidden, taps: rec.taps };
  },

  finalNorm,
  head: (_cfg, params) => ({ weight: params.get('wte.weight') as tf.Tensor2D }),
  headName: () => 'wte.weight',
  mlpOut: (_cfg, i) => ({ name: `h.${i}.mlp.c_proj.weight`, layout: 'rows' }),
};
