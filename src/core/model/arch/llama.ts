/**
 * Llama (`model_type` llama: Llama 2, 3, 3.1 and 3.2, SmolLM, TinyLlama; Touvron et al. 2023) and Mistral
 * (`mistral`; Jiang et al. 2023), and the Llama-style decoder they share with Qwen2 (qwen2.ts), top to
 * bottom as Hugging Face's `modeling_llama.py` lays it out:
 *
 *   x = embed[ids] -> n_layer x [ x += o(attn(n_1(x))); x += down(act(gate(n_2(x))) * up(n_2(x))) ]
 *     -> norm -> x head^T
 *
 * n_1 (`input_layernorm`), n_2 (`post_attention_layernorm`) and `norm` are RMSNorms. attn is causal
 * grouped-query attention: q = rope(q_proj(a)), k = rope(k_proj(a)), v = v_proj(a) in heads of `head_dim`
 * (a config field, hidden_size / num_attention_heads when absent), `num_key_value_heads` key/value heads each
 * shared by a group of consecutive query heads, scores scaled by 1/sqrt(head_dim), optionally within a
 * sliding window. The MLP is SwiGLU (act = SiLU). The head is `lm_head`, or with `tie_word_embeddings` the
 * token embedding itself.
 *
 * The families differ only in their configs:
 * - llama: `attention_bias` puts a bias on q, k, v and o, `mlp_bias` on gate, up and down; RoPE scaled by
 *   `rope_scaling` linear or llama3; no sliding window;
 * - mistral: no biases; `sliding_window` (4096 when absent, null for none) on every layer;
 * - qwen2 (qwen2.ts): a bias on q, k and v only; a sliding window on some layers.
 * Parameters keep `LlamaForCausalLM`'s names (`model.layers.{i}.self_attn.q_proj.weight`, ...) and
 * nn.Linear's [out, in] layout; a base model's save (no `model.` prefix) loads too. Taps: resid_pre,
 * attn_out, resid_mid, mlp_out, resid_post, mlp.pre (gate), mlp.pre_linear (up), mlp.post (act(gate) up).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  TapRecorder,
  type Architecture,
  type ForwardOptions,
  type ForwardResult,
  type ModelConfig,
  type ParamGetter,
  type ParamSpec,
  type Params,
  TAP_KINDS,
  type TapKind,
} from '../architecture.js';
import { configReader, type ConfigReader } from '../config.js';
import { ACTIVATION_CONFIG_NAMES, activationByName, type ActivationName } from '../layers/activations.js';
import { attention, splitHeads } from '../layers/attention.js';
import { moduleLinear } from '../layers/linear.js';
import { gatedMlp } from '../layers/mlp.js';
import { rmsNorm } from '../layers/norm.js';
import { applyRotary, ropeConfigJson, ropeFromConfig, type RopeSpec } from '../layers/rotary.js';

export interface LlamaConfig extends ModelConfig {
  arch: 'llama' | 'mistral' | 'qwen2';
  /** num_key_value_heads: a divisor of nHead. */
  nKvHead: number;
  headDim: number;
  rmsNormEps: number;
  /** The MLP's gate activation (`hidden_act`). */
  act: ActivationName;
  /** RoPE over each whole head. */
  rope: RopeSpec;
  /** The head is the token embedding (`tie_word_embeddings`). */
  tiedHead: boolean;
  /** Biases on q, k and v; on o; on gate, up and down. */
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  /** Each layer's sliding window in positions, or null for full causal attention. */
  windows: (number | null)[];
}

/** Hugging Face's defaults (configuration_*.py) for the size fields a config may leave out. */
export interface LlamaDefaults {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  nLayer: number;
  nHead: number;
  /** null: as many as query heads. */
  nKvHead: number | null;
  nCtx: number;
  rmsNormEps: number;
  /** Token ids when absent (Qwen2's config has none: each falls back to the other, then to 0). */
  bosTokenId?: number;
  eosTokenId?: number;
}

/** The config fields the three families read alike; each adds its biases and windows. */
export type LlamaStyleFields = Omit<LlamaConfig, 'arch' | 'qkvBias' | 'oBias' | 'mlpBias' | 'windows'>;

/**
 * Reads the fields all Llama-style configs share, with `d` for the absent ones. Errors name `file` and the
 * field: num_key_value_heads must divide num_attention_heads, head_dim must be even (RoPE turns pairs).
 */
export function readLlamaStyle(c: ConfigReader, file: string, d: LlamaDefaults): LlamaStyleFields {
  const nEmbd = c.int('hidden_size', d.hiddenSize);
  const nHead = c.int('num_attention_heads', d.nHead);
  const nKvHead = c.int('num_key_value_heads', d.nKvHead ?? nHead);
  if (nHead % nKvHead !== 0) c.fail('num_key_value_heads', `must divide num_attention_heads (${nHead})`);
  const headDim = c.int('head_dim', Math.floor(nEmbd / nHead));
  if (headDim % 2 !== 0) c.fail('head_dim', `must be even for rotary embeddings (head width ${headDim})`);
  const eos = c.tokenId('eos_token_id', d.eosTokenId ?? c.tokenId('bos_token_id', 0));
  return {
    vocabSize: c.int('vocab_size', d.vocabSize),
    nCtx: c.int('max_position_embeddings', d.nCtx),
    nLayer: c.int('num_hidden_layers', d.nLayer),
    nHead,
    nEmbd,
    nInner: c.int('intermediate_size', d.intermediateSize),
    bosTokenId: c.tokenId('bos_token_id', d.bosTokenId ?? eos),
    eosTokenId: eos,
    nKvHead,
    headDim,
    rmsNormEps: c.num('rms_norm_eps', d.rmsNormEps),
    act: activationByName(c.raw('hidden_act') ?? 'silu', file, 'hidden_act'),
    rope: ropeFromConfig(c, file, headDim),
    tiedHead: c.bool('tie_word_embeddings', false),
  };
}

/** The `config.json` fields all Llama-style configs write, for the model class `architecture`. */
export function llamaStyleJson(cfg: LlamaConfig, architecture: string): Record<string, unknown> {
  return {
    architectures: [architecture],
    model_type: cfg.arch,
    vocab_size: cfg.vocabSize,
    hidden_size: cfg.nEmbd,
    intermediate_size: cfg.nInner,
    num_hidden_layers: cfg.nLayer,
    num_attention_heads: cfg.nHead,
    num_key_value_heads: cfg.nKvHead,
    head_dim: cfg.headDim,
    hidden_act: ACTIVATION_CONFIG_NAMES[cfg.act],
    max_position_embeddings: cfg.nCtx,
    rms_norm_eps: cfg.rmsNormEps,
    ...ropeConfigJson(cfg.rope),
    tie_word_embeddings: cfg.tiedHead,
    bos_token_id: cfg.bosTokenId,
    eos_token_id: cfg.eosTokenId,
    attention_dropout: 0.0,
    initializer_range: 0.02,
    use_cache: true,
    torch_dtype: 'float32',
  };
}

/** Every parameter in `LlamaForCausalLM`'s order (attention, MLP, then the block's two norms). */
function params(cfg: LlamaConfig): ParamSpec[] {
  const { vocabSize: V, nEmbd: D, nInner: F } = cfg;
  const qWidth = cfg.nHead * cfg.headDim;
  const kvWidth = cfg.nKvHead * cfg.headDim;
  const lin = (name: string, out: number, into: number, bias: boolean): ParamSpec[] => [
    { name: `${name}.weight`, shape: [out, into] },
    ...(bias ? [{ name: `${name}.bias`, shape: [out] }] : []),
  ];
  const out: ParamSpec[] = [{ name: 'model.embed_tokens.weight', shape: [V, D] }];
  for (let i = 0; i < cfg.nLayer; i++) {
    const l = `model.layers.${i}`;
    out.push(
      ...lin(`${l}.self_attn.q_proj`, qWidth, D, cfg.qkvBias),
      ...lin(`${l}.self_attn.k_proj`, kvWidth, D, cfg.qkvBias),
      ...lin(`${l}.self_attn.v_proj`, kvWidth, D, cfg.qkvBias),
      ...lin(`${l}.self_attn.o_proj`, D, qWidth, cfg.oBias),
      ...lin(`${l}.mlp.gate_proj`, F, D, cfg.mlpBias),
      ...lin(`${l}.mlp.up_proj`, F, D, cfg.mlpBias),
      ...lin(`${l}.mlp.down_proj`, D, F, cfg.mlpBias),
      { name: `${l}.input_layernorm.weight`, shape: [D] },
      { name: `${l}.post_attention_layernorm.weight`, shape: [D] },
    );
  }
  out.push({ name: 'model.norm.weight', shape: [D] });
  if (!cfg.tiedHead) out.push({ name: 'lm_head.weight', shape: [V, D] });
  return out;
}

const headName = (cfg: LlamaConfig): string =>
  cfg.tiedHead ? 'model.embed_tokens.weight' : 'lm_head.weight';

/** The final RMSNorm `model.norm`. */
function finalNorm(cfg: LlamaConfig, p: ParamGetter, x: tf.Tensor2D): tf.Tensor2D {
  return rmsNorm(x, p('model.norm.weight'), cfg.rmsNormEps);
}

function forward(cfg: LlamaConfig, params: Params, ids: tf.Tensor2D, opts: ForwardOptions): ForwardResult {
  const [B, T] = ids.shape;
  const { nEmbd: D, nHead: H, nKvHead: Hkv, headDim: hd } = cfg;
  const p = (name: string): tf.Variable => params.get(name)!;
  const lin = moduleLinear(cfg, params, opts);
  const rec = new TapRecorder(B, T, opts.taps);

  // Token embeddings, no positions (RoPE places the tokens). x is kept 2-D [B*T, D] throughout.
  let x = tf.gather(p('model.embed_tokens.weight'), tf.reshape(ids, [B * T])) as tf.Tensor2D;

  for (let i = 0; i < cfg.nLayer; i++) {
    const l = `model.layers.${i}`;
    rec.put(i, 'resid_pre', x);

    // Attention: q and k rotated by position, softmax(q k^T / sqrt(hd) + mask) v per head, where query head
    // h reads key/value head floor(h / (H / Hkv)) and the mask hides the future (and what lies beyond the
    // layer's window); then o_proj.
    const a = rmsNorm(x, p(`${l}.input_layernorm.weight`), cfg.rmsNormEps);
    const q = applyRotary(splitHeads(lin(`${l}.self_attn.q_proj`, a), B, T, H, hd), cfg.rope);
    const k = applyRotary(splitHeads(lin(`${l}.self_attn.k_proj`, a), B, T, Hkv, hd), cfg.rope);
    const v = splitHeads(lin(`${l}.self_attn.v_proj`, a), B, T, Hkv, hd);
    const y = attention(q, k, v, { scale: 1 / Math.sqrt(hd), window: cfg.windows[i] ?? undefined });
    const attnOut = lin(`${l}.self_attn.o_proj`, y);
    x = tf.add(x, attnOut);
    rec.put(i, 'attn_out', attnOut);
    rec.put(i, 'resid_mid', x);

    // MLP: pre = gate(m), pre_linear = up(m), post = act(pre) pre_linear (the neurons); x += down(post).
    const m = rmsNorm(x, p(`${l}.post_attention_layernorm.weight`), cfg.rmsNormEps);
    const mlp = gatedMlp(m, cfg.act, lin, `${l}.mlp`);
    x = tf.add(x, mlp.out);
    rec.put(i, 'mlp.pre', mlp.pre);
    rec.put(i, 'mlp.pre_linear', mlp.preLinear);
    rec.put(i, 'mlp.post', mlp.post);
    rec.put(i, 'mlp_out', mlp.out);
    rec.put(i, 'resid_post', x);
  }

  const hidden2d = finalNorm(cfg, p, x);
  const hidden = tf.reshape(hidden2d, [B, T, D]) as tf.Tensor3D;
  if (opts.hiddenOnly) return { hidden, taps: rec.taps };
  const logits = tf.reshape(tf.matMul(hidden2d, p(headName(cfg)), false, true), [B, T, cfg.vocabSize]);
  return { logits: logits as tf.Tensor3D, hidden, taps: rec.taps };
}

/** A Llama-style block has every tap kind: sequential residual, gated MLP. */
const TAPS: readonly TapKind[] = TAP_KINDS;

/**
 * A Llama-style architecture: the shared parameters and forward pass, with a family's config reader and
 * writer.
 */
export function llamaStyle(
  modelTypes: readonly string[],
  parseConfig: (json: Record<string, unknown>, file: string) => LlamaConfig,
  configJson: (cfg: LlamaConfig) => Record<string, unknown>,
): Architecture<LlamaConfig> {
  return {
    modelTypes,
    parseConfig,
    configJson,
    params,
    // Rotary inverse frequencies older saves hold per layer, and the tied head saved as a copy.
    buffers: /^((model\.)?(layers\.\d+\.self_attn\.)?rotary_emb\.inv_freq|lm_head\.weight)$/,
    storedNames: (name) => (name.startsWith('model.') ? [name, name.slice('model.'.length)] : [name]),
    tapKinds: () => TAPS,
    forward,
    finalNorm,
    head: (cfg, params) => ({ weight: params.get(headName(cfg)) as tf.Tensor2D }),
    headName,
    mlpOut: (_cfg, i) => ({ name: `model.layers.${i}.mlp.down_proj.weight`, layout: 'columns' }),
  };
}

/** LlamaConfig's defaults (Llama 2 7B's sizes). */
const LLAMA_DEFAULTS: LlamaDefaults = {
  vocabSize: 32000,
  hiddenSize: 4096,
  intermediateSize: 11008,
  nLayer: 32,
  nHead: 32,
  nKvHead: null,
  nCtx: 2048,
  rmsNormEps: 1e-6,
  bosTokenId: 1,
  eosTokenId: 2,
};

export const llama = llamaStyle(
  ['llama'],
  (json, file) => {
    const c = configReader(json, file);
    const attentionBias = c.bool('attention_bias', false);
    const cfg = readLlamaStyle(c, file, LLAMA_DEFAULTS);
    return {
      ...cfg,
      arch: 'llama',
      qkvBias: attentionBias,
      oBias: attentionBias,
      mlpBias: c.bool('mlp_bias', false),
      windows: Array<null>(cfg.nLayer).fill(null),
    };
  },
  (cfg) => ({
    ...llamaStyleJson(cfg, 'LlamaForCausalLM'),
    attention_bias: cfg.qkvBias,
    mlp_bias: cfg.mlpBias,
    pretraining_tp: 1,
  }),
);

/** MistralConfig's defaults (Mistral 7B's sizes). */
const MISTRAL_DEFAULTS: LlamaDefaults = {
  vocabSize: 32000,
  hiddenSize: 4096,
  intermediateSize: 14336,
  nLayer: 32,
  nHead: 32,
  nKvHead: 8,
  nCtx: 4096 * 32,
  rmsNormEps: 1e-6,
  bosTokenId: 1,
  eosTokenId: 2,
};

export const mistral = llamaStyle(
  ['mistral'],
  (json, file) => {
    const c = configReader(json, file);
    const cfg = readLlamaStyle(c, file, MISTRAL_DEFAULTS);
    const window = c.raw('sliding_window') === null ? null : c.int('sliding_window', 4096);
    return {
      ...cfg,
      arch: 'mistral',
      qkvBias: false,
      oBias: false,
      mlpBias: false,
      windows: Array<number | null>(cfg.nLayer).fill(window),
    };
  },
  (cfg) => ({ ...llamaStyleJson(cfg, 'MistralForCausalLM'), sliding_window: cfg.windows[0] ?? null }),
);
