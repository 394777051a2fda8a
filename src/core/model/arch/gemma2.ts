/**
 * Gemma 2 (`model_type` gemma2; Gemma Team 2024, arXiv 2408.00118), top to bottom, as transformers'
 * `Gemma2ForCausalLM` computes it, on Gemma's pieces (gemma.ts: (1 + w) RMSNorm, sqrt(d_model)-scaled
 * embedding, RoPE, grouped-query attention with its own head_dim, GeGLU, tied head):
 *
 *   x = E[ids] sqrt(d_model) -> n_layer x [ x += norm(attn(norm(x))); x += norm(mlp(norm(x))) ] -> norm
 *   logits = cap_f tanh(x E^T / cap_f)
 *
 * Each sublayer is normed on the way in (input_layernorm, pre_feedforward_layernorm) and on the way out
 * (post_attention_layernorm, post_feedforward_layernorm). Attention scores are q k^T / sqrt(s) with
 * s = `query_pre_attn_scalar` (not head_dim), soft-capped to cap_a tanh(scores / cap_a) before the causal
 * mask (`attn_logit_softcapping`); the final logits are soft-capped by `final_logit_softcapping` (either cap
 * null: none). Layers alternate local and global attention: by `layer_types` where the config lists them,
 * else sliding on the even layers 0, 2, ... and full on the odd ones; a sliding layer's query sees the last
 * `sliding_window` positions, its own included.
 *
 * Taps as Gemma's; attn_out and mlp_out are what the sublayers add to the residual stream (after their
 * output norms).
 */
import * as tf from '@tensorflow/tfjs-core';
import { TapRecorder, type Architecture, type Head, type Params } from '../architecture.js';
import { configReader } from '../config.js';
import { moduleLinear } from '../layers/linear.js';
import {
  GEMMA_BUFFERS,
  GEMMA_TAPS,
  gemmaAttention,
  gemmaConfigJson,
  gemmaEmbed,
  gemmaFinalNorm,
  gemmaHead,
  gemmaHeadName,
  gemmaMlp,
  gemmaMlpOut,
  gemmaNorm,
  gemmaOutput,
  gemmaParams,
  readGemmaConfig,
  type GemmaConfig,
  type GemmaDefaults,
  type Get,
} from './gemma.js';

const LAYER_TYPES = ['sliding_attention', 'full_attention'] as const;
export type LayerType = (typeof LAYER_TYPES)[number];

export interface Gemma2Config extends GemmaConfig {
  arch: 'gemma2';
  /** Attention scores are scaled by query_pre_attn_scalar^-1/2. */
  queryPreAttnScalar: number;
  /** `attn_logit_softcapping`: scores -> cap tanh(scores / cap); undefined when null. */
  attnSoftcap?: number;
  /** `final_logit_softcapping`: logits -> cap tanh(logits / cap); undefined when null. */
  finalSoftcap?: number;
  /** `sliding_window`: how many positions a sliding layer's query sees; undefined when null. */
  slidingWindow?: number;
  /** Each layer's attention (`layer_types`). */
  layerTypes: LayerType[];
}

/** Gemma2Config's defaults (gemma-2-2b's shape). */
const DEFAULTS: GemmaDefaults = {
  vocab_size: 256000,
  hidden_size: 2304,
  intermediate_size: 9216,
  num_hidden_layers: 26,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  head_dim: 256,
  max_position_embeddings: 8192,
};

const NORMS = [
  'input_layernorm',
  'post_attention_layernorm',
  'pre_feedforward_layernorm',
  'post_feedforward_layernorm',
] as const;

function parseConfig(json: Record<string, unknown>, file: string): Gemma2Config {
  const c = configReader(json, file);
  const base = readGemmaConfig(json, file, DEFAULTS);
  // A field set to null turns the feature off; an absent one takes transformers' default.
  const optional = (key: string, fallback: number, read: (key: string, fallback: number) => number) => {
    if (json[key] === null) return undefined;
    const v = read(key, fallback);
    return v > 0 ? v : c.fail(key, 'must be positive or null');
  };
  const queryPreAttnScalar = c.num('query_pre_attn_scalar', 256);
  if (queryPreAttnScalar <= 0) c.fail('query_pre_attn_scalar', 'must be positive');
  let layerTypes: LayerType[];
  if (c.pick('layer_types') === undefined) {
    layerTypes = Array.from({ length: base.nLayer }, (_, i) => LAYER_TYPES[i % 2]);
  } else {
    const v = c.raw('layer_types');
    if (
      !Array.isArray(v) ||
      v.length !== base.nLayer ||
      !v.every((t) => (LAYER_TYPES as readonly unknown[]).includes(t))
    )
      c.fail('layer_types', `must list ${base.nLayer} of ${LAYER_TYPES.join(', ')}`);
    layerTypes = v as LayerType[];
  }
  return {
    ...base,
    arch: 'gemma2',
    queryPreAttnScalar,
    attnSoftcap: optional('attn_logit_softcapping', 50, c.num),
    finalSoftcap: optional('final_logit_softcapping', 30, c.num),
    slidingWindow: optional('sliding_window', 4096, c.int),
    layerTypes,
  };
}

/** Gemma's head, its logits soft-capped by `final_logit_softcapping`. */
function head(cfg: Gemma2Config, params: Params): Head {
  return { ...gemmaHead(cfg, params), softcap: cfg.finalSoftcap };
}

export const gemma2: Architecture<Gemma2Config> = {
  modelTypes: ['gemma2'],
  parseConfig,

  configJson: (cfg) => ({
    architectures: ['Gemma2ForCausalLM'],
    ...gemmaConfigJson(cfg),
    query_pre_attn_scalar: cfg.queryPreAttnScalar,
    attn_logit_softcapping: cfg.attnSoftcap ?? null,
    final_logit_softcapping: cfg.finalSoftcap ?? null,
    sliding_window: cfg.slidingWindow ?? null,
    layer_types: cfg.layerTypes,
    cache_implementation: 'hybrid',
  }),

  params: (cfg) => gemmaParams(cfg, NORMS),
  buffers: GEMMA_BUFFERS,
  tapKinds: () => GEMMA_TAPS,

  forward(cfg, params, ids, opts) {
    const [B, T] = ids.shape;
    const p: Get = (name) => params.get(name)!;
    const lin = moduleLinear(cfg, params, opts);
    const rec = new TapRecorder(B, T, opts.taps);
    const scale = 1 / Math.sqrt(cfg.queryPreAttnScalar);

    let x = gemmaEmbed(cfg, p, ids);
    for (let i = 0; i < cfg.nLayer; i++) {
      const l = `model.layers.${i}`;
      const window = cfg.layerTypes[i] === 'sliding_attention' ? cfg.slidingWindow : undefined;
      rec.put(i, 'resid_pre', x);
      const a = gemmaAttention(cfg, lin, i, gemmaNorm(cfg, p, x, `${l}.input_layernorm`), B, T, {
        scale,
        softcap: cfg.attnSoftcap,
        window,
      });
      const attnOut = gemmaNorm(cfg, p, a, `${l}.post_attention_layernorm`);
      x = tf.add(x, attnOut);
      rec.put(i, 'attn_out', attnOut);
      rec.put(i, 'resid_mid', x);
      const m = gemmaMlp(cfg, lin, i, gemmaNorm(cfg, p, x, `${l}.pre_feedforward_layernorm`), rec);
      const mlpOut = gemmaNorm(cfg, p, m, `${l}.post_feedforward_layernorm`);
      x = tf.add(x, mlpOut);
      rec.put(i, 'mlp_out', mlpOut);
      rec.put(i, 'resid_post', x);
    }
    return gemmaOutput(cfg, p, x, ids, head(cfg, params), rec, opts.hiddenOnly);
  },

  finalNorm: gemmaFinalNorm,
  head,
  headName: gemmaHeadName,
  // The neuron's column of down_proj, before post_feedforward_layernorm rescales the MLP's output.
  mlpOut: gemmaMlpOut,
};
