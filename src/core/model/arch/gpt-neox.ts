/**
 * GPT-NeoX (`model_type` gpt_neox; Black et al. 2022), the architecture of EleutherAI's Pythia suite, after
 * Hugging Face's `modeling_gpt_neox.py` and `configuration_gpt_neox.py`.
 *
 *   x = embed_in[ids] -> n_layer x block -> final_layer_norm -> x embed_out^T
 *   parallel residual (use_parallel_residual, Pythia):  x = x + attn(ln_1(x)) + mlp(ln_2(x))
 *   sequential residual:                                 h = x + attn(ln_1(x));  x = h + mlp(ln_2(h))
 *
 * ln_1 is `input_layernorm`, ln_2 `post_attention_layernorm`. Attention projects with one fused
 * `query_key_value` whose output is laid out per head: viewed [.., heads, 3 head_dim], head h's slice is
 * [q_h, k_h, v_h]. The first rotary_ndims = floor(head_dim rotary_pct) features of each query and key head
 * are rotated (rotate-half RoPE, base `rotary_emb_base`), the rest pass through; scores are scaled by
 * 1/sqrt(head_dim). The MLP is dense_h_to_4h -> `hidden_act` (exact-erf GELU for Pythia) -> dense_4h_to_h.
 * Every linear has a bias, except the attention's two when `attention_bias` is false. The head `embed_out`
 * is untied unless `tie_word_embeddings`. Parameters keep their Hugging Face names (nn.Linear weights
 * [out, in]), so folders load and save unchanged. Taps: resid_pre, attn_out, resid_mid (sequential
 * residual only), mlp_out, resid_post, mlp.pre (dense_h_to_4h's output) and mlp.post (its activation).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  TapRecorder,
  type Architecture,
  type ModelConfig,
  type ParamGetter,
  type ParamSpec,
  type TapKind,
} from '../architecture.js';
import { configReader, type ConfigReader } from '../config.js';
import { activate, activationByName } from '../layers/activations.js';
import { attention } from '../layers/attention.js';
import { linear, moduleLinear } from '../layers/linear.js';
import { layerNorm } from '../layers/norm.js';
import { applyRotary } from '../layers/rotary.js';

export interface GPTNeoXConfig extends ModelConfig {
  arch: 'gpt_neox';
  layerNormEps: number;
  /** `hidden_act`, Hugging Face's name of the MLP activation. */
  hiddenAct: string;
  /** The fraction of each head's features that rotate (`rotary_pct` / `partial_rotary_factor`). */
  rotaryPct: number;
  /** The RoPE base (`rotary_emb_base` / `rope_theta`). */
  ropeTheta: number;
  parallelResidual: boolean;
  /** Whether query_key_value and dense have biases (`attention_bias`). */
  attentionBias: boolean;
  /** Whether the head is the token embedding (`tie_word_embeddings`) rather than `embed_out`. */
  tiedHead: boolean;
}

const headDim = (cfg: GPTNeoXConfig): number => cfg.nEmbd / cfg.nHead;
/** Rotated features per head: int(head_dim * rotary_pct), as Hugging Face truncates it. */
const rotaryDims = (cfg: GPTNeoXConfig): number => Math.floor(headDim(cfg) * cfg.rotaryPct);

/**
 * A RoPE setting by precedence: `rope_parameters[key]` (transformers 5), then the field `key`, then the
 * original GPT-NeoX spelling `oldKey`, then the default.
 */
function ropeSetting(c: ConfigReader, key: string, oldKey: string, fallback: number): number {
  const nested = c.raw('rope_parameters') as Record<string, unknown> | null | undefined;
  const v = nested?.[key];
  if (v !== undefined && v !== null) {
    if (typeof v !== 'number' || !Number.isFinite(v)) c.fail('rope_parameters', `has a non-numeric ${key}`);
    return v as number;
  }
  return c.num(c.pick(key, oldKey) ?? key, fallback);
}

/** Every parameter in Hugging Face's order, with its shape (nn.Linear weights [out, in]). */
function params(cfg: GPTNeoXConfig): ParamSpec[] {
  const { vocabSize: V, nEmbd: D, nInner: F } = cfg;
  const out: ParamSpec[] = [{ name: 'gpt_neox.embed_in.weight', shape: [V, D] }];
  for (let i = 0; i < cfg.nLayer; i++) {
    const l = `gpt_neox.layers.${i}`;
    out.push(
      { name: `${l}.input_layernorm.weight`, shape: [D] }, { name: `${l}.input_layernorm.bias`, shape: [D] },
      { name: `${l}.post_attention_layernorm.weight`, shape: [D] },
      { name: `${l}.post_attention_layernorm.bias`, shape: [D] },
      { name: `${l}.attention.query_key_value.weight`, shape: [3 * D, D] },
    ); // prettier-ignore
    if (cfg.attentionBias) out.push({ name: `${l}.attention.query_key_value.bias`, shape: [3 * D] });
    out.push({ name: `${l}.attention.dense.weight`, shape: [D, D] });
    if (cfg.attentionBias) out.push({ name: `${l}.attention.dense.bias`, shape: [D] });
    out.push(
      { name: `${l}.mlp.dense_h_to_4h.weight`, shape: [F, D] }, { name: `${l}.mlp.dense_h_to_4h.bias`, shape: [F] },
      { name: `${l}.mlp.dense_4h_to_h.weight`, shape: [D, F] }, { name: `${l}.mlp.dense_4h_to_h.bias`, shape: [D] },
    ); // prettier-ignore
  }
  out.push(
    { name: 'gpt_neox.final_layer_norm.weight', shape: [D] },
    { name: 'gpt_neox.final_layer_norm.bias', shape: [D] },
  );
  if (!cfg.tiedHead) out.push({ name: 'embed_out.weight', shape: [V, D] });
  return out;
}

const headName = (cfg: GPTNeoXConfig): string =>
  cfg.tiedHead ? 'gpt_neox.embed_in.weight' : 'embed_out.weight';

/** The final LayerNorm `final_layer_norm`. */
function finalNorm(cfg: GPTNeoXConfig, p: ParamGetter, x: tf.Tensor2D): tf.Tensor2D {
  return layerNorm(
    x,
    p('gpt_neox.final_layer_norm.weight'),
    p('gpt_neox.final_layer_norm.bias'),
    cfg.layerNormEps,
  );
}

export const gptNeox: Architecture<GPTNeoXConfig> = {
  modelTypes: ['gpt_neox'],

  parseConfig(json, file) {
    const c = configReader(json, file);
    const vocabSize = c.int('vocab_size', 50432);
    const nEmbd = c.int('hidden_size', 6144);
    const nHead = c.int('num_attention_heads', 64);
    if (nEmbd % nHead !== 0) c.fail('num_attention_heads', `does not divide hidden_size ${nEmbd}`);
    // Rotary scaling arrives as rope_scaling (transformers 4) or rope_parameters (5); only plain RoPE is read.
    for (const key of ['rope_scaling', 'rope_parameters']) {
      const v = c.raw(key);
      if (v === undefined || v === null) continue;
      if (typeof v !== 'object' || Array.isArray(v)) c.fail(key, 'must be an object');
      const kind =
        (v as Record<string, unknown>).rope_type ?? (v as Record<string, unknown>).type ?? 'default';
      if (kind !== 'default')
        c.fail(key, `names RoPE type ${JSON.stringify(kind)}; gpt_neox supports only default`);
    }
    const cfg: GPTNeoXConfig = {
      arch: 'gpt_neox',
      vocabSize,
      nCtx: c.int('max_position_embeddings', 2048),
      nEmbd,
      nLayer: c.int('num_hidden_layers', 44),
      nHead,
      nInner: c.int('intermediate_size', 24576),
      bosTokenId: c.tokenId('bos_token_id', 0),
      eosTokenId: c.tokenId('eos_token_id', 2),
      layerNormEps: c.num('layer_norm_eps', 1e-5),
      hiddenAct: (c.raw('hidden_act') as string | undefined) ?? 'gelu',
      rotaryPct: ropeSetting(c, 'partial_rotary_factor', 'rotary_pct', 0.25),
      ropeTheta: ropeSetting(c, 'rope_theta', 'rotary_emb_base', 10000),
      parallelResidual: c.bool('use_parallel_residual', true),
      attentionBias: c.bool('attention_bias', true),
      tiedHead: c.bool('tie_word_embeddings', false),
    };
    activationByName(cfg.hiddenAct, file, 'hidden_act');
    const rot = rotaryDims(cfg);
    if (rot < 2 || rot % 2 !== 0 || rot > headDim(cfg))
      c.fail(
        c.pick('partial_rotary_factor', 'rotary_pct') ?? 'rotary_pct',
        `gives ${rot} rotary features of a ${headDim(cfg)}-wide head; an even number from 2 to the head width is needed`,
      );
    return cfg;
  },

  configJson(cfg) {
    return {
      architectures: ['GPTNeoXForCausalLM'],
      model_type: 'gpt_neox',
      vocab_size: cfg.vocabSize,
      max_position_embeddings: cfg.nCtx,
      hidden_size: cfg.nEmbd,
      num_hidden_layers: cfg.nLayer,
      num_attention_heads: cfg.nHead,
      intermediate_size: cfg.nInner,
      hidden_act: cfg.hiddenAct,
      rotary_pct: cfg.rotaryPct,
      rotary_emb_base: cfg.ropeTheta,
      rope_scaling: null,
      use_parallel_residual: cfg.parallelResidual,
      attention_bias: cfg.attentionBias,
      tie_word_embeddings: cfg.tiedHead,
      layer_norm_eps: cfg.layerNormEps,
      attention_dropout: 0.0,
      hidden_dropout: 0.0,
      initializer_range: 0.02,
      bos_token_id: cfg.bosTokenId,
      eos_token_id: cfg.eosTokenId,
      use_cache: true,
      torch_dtype: 'float32',
    };
  },

  params,
  // What older saves keep beside the parameters: the causal-mask buffers, the rotary inverse frequencies
  // (per layer, later once per model), and the tied head's copy.
  buffers:
    /^(gpt_neox\.layers\.\d+\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)|gpt_neox\.rotary_emb\.inv_freq|embed_out\.weight)$/,
  tapKinds: (cfg): readonly TapKind[] =>
    cfg.parallelResidual
      ? ['resid_pre', 'attn_out', 'mlp_out', 'resid_post', 'mlp.pre', 'mlp.post']
      : ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post', 'mlp.pre', 'mlp.post'],

  forward(cfg, params, ids, opts) {
    const [B, T] = ids.shape;
    const D = cfg.nEmbd;
    const H = cfg.nHead;
    const hd = headDim(cfg);
    const rope = { dim: rotaryDims(cfg), base: cfg.ropeTheta };
    const act = activationByName(cfg.hiddenAct, 'model config', 'hidden_act');
    const p = (name: string): tf.Variable => params.get(name)!;
    const lin = moduleLinear(cfg, params, opts);
    const rec = new TapRecorder(B, T, opts.taps);

    // Token embeddings only (positions enter through the rotary embedding). x is [B*T, D] throughout.
    let x = tf.gather(p('gpt_neox.embed_in.weight'), tf.reshape(ids, [B * T])) as tf.Tensor2D;

    for (let i = 0; i < cfg.nLayer; i++) {
      const l = `gpt_neox.layers.${i}`;
      rec.put(i, 'resid_pre', x);
      // Attention: the fused projection viewed [B, T, H, 3 hd] gives each head's q, k, v side by side;
      // rotate the leading features of q and k, then softmax(q k^T / sqrt(hd) + mask) v, then dense.
      const a = layerNorm(
        x,
        p(`${l}.input_layernorm.weight`),
        p(`${l}.input_layernorm.bias`),
        cfg.layerNormEps,
      );
      const qkv = lin(`${l}.attention.query_key_value`, a);
      const perHead = tf.transpose(tf.reshape(qkv, [B, T, H, 3 * hd]), [0, 2, 1, 3]);
      const [q, k, v] = tf.split(perHead, 3, 3) as tf.Tensor4D[];
      const y = attention(applyRotary(q, rope), applyRotary(k, rope), v, { scale: 1 / Math.sqrt(hd) });
      const attnOut = lin(`${l}.attention.dense`, y);
      rec.put(i, 'attn_out', attnOut);

      // MLP: on the block's input (parallel) or on x + attn_out (sequential).
      const mlpIn = cfg.parallelResidual ? x : (tf.add(x, attnOut) as tf.Tensor2D);
      if (!cfg.parallelResidual) rec.put(i, 'resid_mid', mlpIn);
      const m = layerNorm(
        mlpIn,
        p(`${l}.post_attention_layernorm.weight`),
        p(`${l}.post_attention_layernorm.bias`),
        cfg.layerNormEps,
      );
      const pre = lin(`${l}.mlp.dense_h_to_4h`, m);
      const post = activate(act, pre) as tf.Tensor2D;
      const mlpOut = lin(`${l}.mlp.dense_4h_to_h`, post);
      x = cfg.parallelResidual ? tf.add(tf.add(x, attnOut), mlpOut) : tf.add(mlpIn, mlpOut);
      rec.put(i, 'mlp.pre', pre);
      rec.put(i, 'mlp.post', post);
      rec.put(i, 'mlp_out', mlpOut);
      rec.put(i, 'resid_post', x);
    }

    const hidden2d = finalNorm(cfg, p, x);
    const hidden = tf.reshape(hidden2d, [B, T, D]) as tf.Tensor3D;
    if (opts.hiddenOnly) return { hidden, taps: rec.taps };
    const logits = tf.reshape(linear(hidden2d, p(headName(cfg))), [B, T, cfg.vocabSize]);
    return { logits: logits as tf.Tensor3D, hidden, taps: rec.taps };
  },

  finalNorm,
  head: (cfg, params) => ({ weight: params.get(headName(cfg)) as tf.Tensor2D }),
  headName,
  mlpOut: (_cfg, i) => ({ name: `gpt_neox.layers.${i}.mlp.dense_4h_to_h.weight`, layout: 'columns' }),
};
