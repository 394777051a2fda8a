/**
 * Gemma (`model_type` gemma; Gemma Team 2024, arXiv 2403.08295), top to bottom, as transformers'
 * `GemmaForCausalLM` computes it:
 *
 *   x = E[ids] sqrt(d_model) -> n_layer x [ x += attn(norm(x)); x += mlp(norm(x)) ] -> norm -> x E^T
 *
 *   norm(x) = x / sqrt(mean(x^2) + eps) (1 + w)   RMSNorm whose weights are stored as offsets from 1
 *   attn(x) = concat_h softmax(q_h k_h^T / sqrt(head_dim) + causal mask) v_h  Wo^T, with q, k, v = x Wq^T,
 *             x Wk^T, x Wv^T (plus biases under `attention_bias`) and RoPE on q and k; `head_dim` is a field
 *             of its own (256 in the released models, not d_model / heads), and `num_key_value_heads` below
 *             the head count shares each key/value head across a group of query heads (gemma-2b has one)
 *   mlp(x)  = (act(x Wgate^T) * x Wup^T) Wdown^T  GeGLU, act the tanh GELU
 *
 * The head is the token embedding (`tie_word_embeddings`, true by default; an untied `lm_head` loads too).
 * The activation is `hidden_activation`, the tanh GELU when that is unset, whatever `hidden_act` says:
 * Gemma 1.0's configs ship `hidden_act: "gelu"` (the exact GELU) for models trained with the tanh
 * approximation, and transformers' GemmaMLP read its activation this way after PR 29402 (v4.48 went back to
 * `hidden_act`, and so to the exact GELU for those folders).
 *
 * Gemma 2 (gemma2.ts) is built from this file's pieces: config reading, parameters, embedding, attention,
 * MLP, final norm and head. Taps: resid_pre, attn_out, resid_mid, mlp_out, resid_post, mlp.pre (the gate
 * projection), mlp.pre_linear (the up projection) and mlp.post (act(gate) * up, the input of down_proj).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  TapRecorder,
  headLogits,
  type Architecture,
  type ForwardResult,
  type Head,
  type ModelConfig,
  type ParamSpec,
  type Params,
  TAP_KINDS,
  type TapKind,
} from '../architecture.js';
import { rmsNorm } from '../layers/norm.js';
import { ACTIVATION_CONFIG_NAMES, activationByName, type ActivationName } from '../layers/activations.js';
import { attention, splitHeads, type AttentionOptions } from '../layers/attention.js';
import { moduleLinear, type ModuleLinear } from '../layers/linear.js';
import { gatedMlp } from '../layers/mlp.js';
import { applyRotary, ropeConfigJson, ropeFromConfig, type RopeSpec } from '../layers/rotary.js';
import { configReader } from '../config.js';

export interface GemmaConfig extends ModelConfig {
  arch: 'gemma' | 'gemma2';
  /** Features per attention head (`head_dim`), independent of nEmbd / nHead. */
  headDim: number;
  /** Key/value heads (`num_key_value_heads`): nHead for multi-head, 1 for multi-query attention. */
  nKvHead: number;
  rmsNormEps: number;
  /** The MLP's gate activation (`hidden_activation`). */
  activation: ActivationName;
  rope: RopeSpec;
  /** Biases on the q, k, v and o projections (`attention_bias`). */
  attentionBias: boolean;
  /** The head is the token embedding (`tie_word_embeddings`). */
  tiedHead: boolean;
}

/** Transformers' defaults for the shape fields a config.json may leave out (GemmaConfig, Gemma2Config). */
export interface GemmaDefaults {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  max_position_embeddings: number;
}

/** Reads the fields Gemma and Gemma 2 share, with transformers' defaults; errors name `file` and the field. */
export function readGemmaConfig(
  json: Record<string, unknown>,
  file: string,
  defaults: GemmaDefaults,
): Omit<GemmaConfig, 'arch'> {
  const c = configReader(json, file);
  const int = (key: keyof GemmaDefaults): number => c.int(key, defaults[key]);
  const nHead = int('num_attention_heads');
  const nKvHead = int('num_key_value_heads');
  if (nHead % nKvHead !== 0) c.fail('num_key_value_heads', `must divide num_attention_heads (${nHead})`);
  const headDim = int('head_dim');
  if (headDim % 2 !== 0) c.fail('head_dim', 'must be even (RoPE rotates pairs of features)');
  if (c.bool('use_bidirectional_attention', false))
    c.fail('use_bidirectional_attention', 'is not supported (Monoscope runs causal language models)');
  return {
    vocabSize: int('vocab_size'),
    nCtx: int('max_position_embeddings'),
    nLayer: int('num_hidden_layers'),
    nHead,
    nKvHead,
    headDim,
    nEmbd: int('hidden_size'),
    nInner: int('intermediate_size'),
    rmsNormEps: c.num('rms_norm_eps', 1e-6),
    activation: activationByName(json.hidden_activation ?? 'gelu_pytorch_tanh', file, 'hidden_activation'),
    rope: ropeFromConfig(c, file, headDim),
    attentionBias: c.bool('attention_bias', false),
    tiedHead: c.bool('tie_word_embeddings', true),
    bosTokenId: c.tokenId('bos_token_id', 2),
    eosTokenId: c.tokenId('eos_token_id', 1),
  };
}

/** The config.json fields Gemma and Gemma 2 share, as `save_pretrained` writes them. */
export function gemmaConfigJson(cfg: GemmaConfig): Record<string, unknown> {
  const act = ACTIVATION_CONFIG_NAMES[cfg.activation];
  return {
    model_type: cfg.arch,
    vocab_size: cfg.vocabSize,
    hidden_size: cfg.nEmbd,
    intermediate_size: cfg.nInner,
    num_hidden_layers: cfg.nLayer,
    num_attention_heads: cfg.nHead,
    num_key_value_heads: cfg.nKvHead,
    head_dim: cfg.headDim,
    hidden_act: act,
    hidden_activation: act,
    max_position_embeddings: cfg.nCtx,
    rms_norm_eps: cfg.rmsNormEps,
    ...ropeConfigJson(cfg.rope),
    attention_bias: cfg.attentionBias,
    attention_dropout: 0.0,
    tie_word_embeddings: cfg.tiedHead,
    bos_token_id: cfg.bosTokenId,
    eos_token_id: cfg.eosTokenId,
    pad_token_id: 0,
    initializer_range: 0.02,
    use_cache: true,
    torch_dtype: 'float32',
  };
}

/**
 * Every parameter in the order of transformers' state dict, nn.Linear weights [out, in]: the embedding;
 * per layer the attention and MLP projections and the `norms` (each [d_model]); the final norm; `lm_head`
 * when untied.
 */
export function gemmaParams(cfg: GemmaConfig, norms: readonly string[]): ParamSpec[] {
  const { vocabSize: V, nEmbd: D, nInner: F } = cfg;
  const q = cfg.nHead * cfg.headDim;
  const kv = cfg.nKvHead * cfg.headDim;
  const out: ParamSpec[] = [{ name: 'model.embed_tokens.weight', shape: [V, D] }];
  for (let i = 0; i < cfg.nLayer; i++) {
    const l = `model.layers.${i}`;
    const linear = (name: string, rows: number, cols: number, bias: boolean): void => {
      out.push({ name: `${l}.${name}.weight`, shape: [rows, cols] });
      if (bias) out.push({ name: `${l}.${name}.bias`, shape: [rows] });
    };
    linear('self_attn.q_proj', q, D, cfg.attentionBias);
    linear('self_attn.k_proj', kv, D, cfg.attentionBias);
    linear('self_attn.v_proj', kv, D, cfg.attentionBias);
    linear('self_attn.o_proj', D, q, cfg.attentionBias);
    linear('mlp.gate_proj', F, D, false);
    linear('mlp.up_proj', F, D, false);
    linear('mlp.down_proj', D, F, false);
    for (const n of norms) out.push({ name: `${l}.${n}.weight`, shape: [D] });
  }
  out.push({ name: 'model.norm.weight', shape: [D] });
  if (!cfg.tiedHead) out.push({ name: 'lm_head.weight', shape: [V, D] });
  return out;
}

/** A model's parameter by name. */
export type Get = (name: string) => tf.Tensor;

/** Gemma's RMSNorm `name`: x / sqrt(mean(x^2) + eps) (1 + w). */
export function gemmaNorm(cfg: GemmaConfig, p: Get, x: tf.Tensor2D, name: string): tf.Tensor2D {
  return rmsNorm(x, p(`${name}.weight`), cfg.rmsNormEps, true);
}

/** The token embeddings of ids [B, T] scaled by sqrt(d_model), [B*T, D]. */
export function gemmaEmbed(cfg: GemmaConfig, p: Get, ids: tf.Tensor2D): tf.Tensor2D {
  const [B, T] = ids.shape;
  const rows = tf.gather(p('model.embed_tokens.weight'), tf.reshape(ids, [B * T])) as tf.Tensor2D;
  return tf.mul(rows, Math.sqrt(cfg.nEmbd));
}

/**
 * Self-attention of layer i on x [B*T, D] (already normed): q, k, v projected, q and k rotated, each query
 * head attending over its group's key/value head (`o` gives the scale, soft cap and window), then o_proj.
 */
export function gemmaAttention(
  cfg: GemmaConfig,
  lin: ModuleLinear,
  i: number,
  x: tf.Tensor2D,
  B: number,
  T: number,
  o: AttentionOptions,
): tf.Tensor2D {
  const a = `model.layers.${i}.self_attn`;
  const heads = (name: string, H: number): tf.Tensor4D =>
    splitHeads(lin(`${a}.${name}`, x), B, T, H, cfg.headDim);
  const q = applyRotary(heads('q_proj', cfg.nHead), cfg.rope);
  const k = applyRotary(heads('k_proj', cfg.nKvHead), cfg.rope);
  const v = heads('v_proj', cfg.nKvHead);
  return lin(`${a}.o_proj`, attention(q, k, v, o));
}

/**
 * The GeGLU MLP of layer i on x [B*T, D] (already normed): pre = x Wgate^T, pre_linear = x Wup^T,
 * post = act(pre) * pre_linear (the neurons), returned as post Wdown^T; records the three MLP taps.
 */
export function gemmaMlp(
  cfg: GemmaConfig,
  lin: ModuleLinear,
  i: number,
  x: tf.Tensor2D,
  rec: TapRecorder,
): tf.Tensor2D {
  const { pre, preLinear, post, out } = gatedMlp(x, cfg.activation, lin, `model.layers.${i}.mlp`);
  rec.put(i, 'mlp.pre', pre);
  rec.put(i, 'mlp.pre_linear', preLinear);
  rec.put(i, 'mlp.post', post);
  return out;
}

/** Gemma's final norm `model.norm`. */
export function gemmaFinalNorm(cfg: GemmaConfig, p: Get, x: tf.Tensor2D): tf.Tensor2D {
  return gemmaNorm(cfg, p, x, 'model.norm');
}

/** The final norm of the residual stream x [B*T, D], and the logits through `head` unless `hiddenOnly`. */
export function gemmaOutput(
  cfg: GemmaConfig,
  p: Get,
  x: tf.Tensor2D,
  ids: tf.Tensor2D,
  head: Head,
  rec: TapRecorder,
  hiddenOnly: boolean | undefined,
): ForwardResult {
  const [B, T] = ids.shape;
  const h = gemmaFinalNorm(cfg, p, x);
  const hidden = tf.reshape(h, [B, T, cfg.nEmbd]) as tf.Tensor3D;
  if (hiddenOnly) return { hidden, taps: rec.taps };
  const logits = tf.reshape(headLogits(head, h), [B, T, cfg.vocabSize]) as tf.Tensor3D;
  return { logits, hidden, taps: rec.taps };
}

/** The unembedding's parameter. */
export function gemmaHeadName(cfg: GemmaConfig): string {
  return cfg.tiedHead ? 'model.embed_tokens.weight' : 'lm_head.weight';
}

/** The unembedding: the token embedding, or `lm_head` when untied. */
export function gemmaHead(cfg: GemmaConfig, params: Params): Head {
  return { weight: params.get(gemmaHeadName(cfg)) as tf.Tensor2D };
}

/** Neuron j of layer i writes column j of down_proj's weight [d_model, d_mlp]. */
export function gemmaMlpOut(_cfg: GemmaConfig, i: number): { name: string; layout: 'columns' } {
  return { name: `model.layers.${i}.mlp.down_proj.weight`, layout: 'columns' };
}

/** Rotary frequencies older saves keep per layer, and the tied head saved as a copy. */
export const GEMMA_BUFFERS = /^(model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq|lm_head\.weight)$/;

/** A Gemma block has every tap kind: sequential residual, gated MLP. */
export const GEMMA_TAPS: readonly TapKind[] = TAP_KINDS;

/** GemmaConfig's defaults (gemma-7b's shape). */
const DEFAULTS: GemmaDefaults = {
  vocab_size: 256000,
  hidden_size: 3072,
  intermediate_size: 24576,
  num_hidden_layers: 28,
  num_attention_heads: 16,
  num_key_value_heads: 16,
  head_dim: 256,
  max_position_embeddings: 8192,
};

const NORMS = ['input_layernorm', 'post_attention_layernorm'] as const;

export const gemma: Architecture<GemmaConfig> = {
  modelTypes: ['gemma'],
  parseConfig: (json, file) => ({ ...readGemmaConfig(json, file, DEFAULTS), arch: 'gemma' }),
  configJson: (cfg) => ({ architectures: ['GemmaForCausalLM'], ...gemmaConfigJson(cfg) }),
  params: (cfg) => gemmaParams(cfg, NORMS),
  buffers: GEMMA_BUFFERS,
  tapKinds: () => GEMMA_TAPS,

  forward(cfg, params, ids, opts) {
    const [B, T] = ids.shape;
    const p: Get = (name) => params.get(name)!;
    const lin = moduleLinear(cfg, params, opts);
    const rec = new TapRecorder(B, T, opts.taps);
    const scale = 1 / Math.sqrt(cfg.headDim);

    let x = gemmaEmbed(cfg, p, ids);
    for (let i = 0; i < cfg.nLayer; i++) {
      const l = `model.layers.${i}`;
      rec.put(i, 'resid_pre', x);
      const attnOut = gemmaAttention(cfg, lin, i, gemmaNorm(cfg, p, x, `${l}.input_layernorm`), B, T, {
        scale,
      });
      x = tf.add(x, attnOut);
      rec.put(i, 'attn_out', attnOut);
      rec.put(i, 'resid_mid', x);
      const mlpOut = gemmaMlp(cfg, lin, i, gemmaNorm(cfg, p, x, `${l}.post_attention_layernorm`), rec);
      x = tf.add(x, mlpOut);
      rec.put(i, 'mlp_out', mlpOut);
      rec.put(i, 'resid_post', x);
    }
    return gemmaOutput(cfg, p, x, ids, gemmaHead(cfg, params), rec, opts.hiddenOnly);
  },

  finalNorm: gemmaFinalNorm,
  head: gemmaHead,
  headName: gemmaHeadName,
  mlpOut: gemmaMlpOut,
};
