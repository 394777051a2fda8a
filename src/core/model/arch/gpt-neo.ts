/**
 * GPT-Neo (`model_type` gpt_neo; Black et al. 2021), the architecture of the TinyStories models, after
 * Hugging Face's `modeling_gpt_neo.py` and `configuration_gpt_neo.py`.
 *
 *   x = wte[ids] + wpe[0..T) -> n_layer x [ x += attn_i(ln_1(x)); x += mlp(ln_2(x)) ] -> ln_f -> x wte^T
 *
 * GPT-2's pre-LayerNorm block with three differences. Each layer's attention is `global` (causal) or
 * `local` (query i sees keys i - window_size < j <= i), as `attention_types` [[pattern, repeats], ...]
 * lays out: the pattern repeated, in order, one type per layer. The scores q k^T are NOT scaled by
 * 1/sqrt(head_dim). q_proj, k_proj and v_proj are nn.Linear without bias (out_proj has one), and all
 * weights are nn.Linear's [out, in]. The MLP is c_fc -> `activation_function` (gelu_new) -> c_proj, of width
 * intermediate_size (null: 4 hidden_size); the head is tied to wte unless `tie_word_embeddings` is false.
 * Parameters keep their Hugging Face names (`transformer.` prefixed). Taps: resid_pre, attn_out, resid_mid,
 * mlp_out, resid_post, mlp.pre (c_fc's output) and mlp.post (its activation).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  TapRecorder,
  type Architecture,
  type ModelConfig,
  type ParamGetter,
  type ParamSpec,
} from '../architecture.js';
import { configReader, type ConfigReader } from '../config.js';
import { activate, activationByName } from '../layers/activations.js';
import { attention, splitHeads } from '../layers/attention.js';
import { linear, moduleLinear } from '../layers/linear.js';
import { layerNorm } from '../layers/norm.js';

export type AttentionType = 'global' | 'local';

export interface GPTNeoConfig extends ModelConfig {
  arch: 'gpt_neo';
  layerNormEps: number;
  /** `activation_function`, Hugging Face's name of the MLP activation. */
  activationFunction: string;
  /** `attention_types` as config.json gives it: [[pattern, repeats], ...]. */
  attentionTypes: [AttentionType[], number][];
  /** The attention type of each layer, `attention_types` expanded. */
  attentionLayers: AttentionType[];
  /** How many positions a local layer's query sees, its own included. */
  windowSize: number;
  /** Whether the head is wte (`tie_word_embeddings`) rather than `lm_head`. */
  tiedHead: boolean;
}

/** Reads `attention_types` [[["global", "local"], n], ...], checking every entry. */
function readAttentionTypes(
  c: ConfigReader,
  fallback: [AttentionType[], number][],
): [AttentionType[], number][] {
  const raw = c.raw('attention_types') ?? fallback;
  const isType = (t: unknown): t is AttentionType => t === 'global' || t === 'local';
  const ok =
    Array.isArray(raw) &&
    raw.every(
      (e) =>
        Array.isArray(e) &&
        e.length === 2 &&
        Array.isArray(e[0]) &&
        e[0].every(isType) &&
        Number.isInteger(e[1]) &&
        e[1] >= 0,
    );
  if (!ok) c.fail('attention_types', 'must be a list of [["global" | "local", ...], repeats]');
  return raw as [AttentionType[], number][];
}

/** One type per layer: each pattern repeated its number of times, in order (HF's expansion). */
function expandAttentionTypes(types: [AttentionType[], number][]): AttentionType[] {
  return types.flatMap(([pattern, repeats]) => Array.from({ length: repeats }, () => pattern).flat());
}

/** Every parameter in Hugging Face's order, with its shape (nn.Linear weights [out, in]). */
function params(cfg: GPTNeoConfig): ParamSpec[] {
  const { vocabSize: V, nCtx: T, nEmbd: D, nInner: F } = cfg;
  const out: ParamSpec[] = [
    { name: 'transformer.wte.weight', shape: [V, D] },
    { name: 'transformer.wpe.weight', shape: [T, D] },
  ];
  for (let i = 0; i < cfg.nLayer; i++) {
    const h = `transformer.h.${i}`;
    out.push(
      { name: `${h}.ln_1.weight`, shape: [D] }, { name: `${h}.ln_1.bias`, shape: [D] },
      { name: `${h}.attn.attention.k_proj.weight`, shape: [D, D] },
      { name: `${h}.attn.attention.v_proj.weight`, shape: [D, D] },
      { name: `${h}.attn.attention.q_proj.weight`, shape: [D, D] },
      { name: `${h}.attn.attention.out_proj.weight`, shape: [D, D] },
      { name: `${h}.attn.attention.out_proj.bias`, shape: [D] },
      { name: `${h}.ln_2.weight`, shape: [D] }, { name: `${h}.ln_2.bias`, shape: [D] },
      { name: `${h}.mlp.c_fc.weight`, shape: [F, D] }, { name: `${h}.mlp.c_fc.bias`, shape: [F] },
      { name: `${h}.mlp.c_proj.weight`, shape: [D, F] }, { name: `${h}.mlp.c_proj.bias`, shape: [D] },
    ); // prettier-ignore
  }
  out.push({ name: 'transformer.ln_f.weight', shape: [D] }, { name: 'transformer.ln_f.bias', shape: [D] });
  if (!cfg.tiedHead) out.push({ name: 'lm_head.weight', shape: [V, D] });
  return out;
}

const headName = (cfg: GPTNeoConfig): string => (cfg.tiedHead ? 'transformer.wte.weight' : 'lm_head.weight');

/** The final LayerNorm `ln_f`. */
function finalNorm(cfg: GPTNeoConfig, p: ParamGetter, x: tf.Tensor2D): tf.Tensor2D {
  return layerNorm(x, p('transformer.ln_f.weight'), p('transformer.ln_f.bias'), cfg.layerNormEps);
}

export const gptNeo: Architecture<GPTNeoConfig> = {
  modelTypes: ['gpt_neo'],

  parseConfig(json, file) {
    const c = configReader(json, file);
    const vocabSize = c.int('vocab_size', 50257);
    const nEmbd = c.int('hidden_size', 2048);
    // `num_heads` and `num_layers`, or the names HF's attribute_map gives them.
    const headsKey = c.pick('num_heads', 'num_attention_heads') ?? 'num_heads';
    const nHead = c.int(headsKey, 16);
    if (nEmbd % nHead !== 0) c.fail(headsKey, `does not divide hidden_size ${nEmbd}`);
    const layersKey = c.pick('num_layers', 'num_hidden_layers') ?? 'num_layers';
    const nLayer = c.int(layersKey, 24);
    const attentionTypes = readAttentionTypes(c, [[['global', 'local'], 12]]);
    const attentionLayers = expandAttentionTypes(attentionTypes);
    if (attentionLayers.length !== nLayer)
      c.fail(
        'attention_types',
        `expands to ${attentionLayers.length} layer types, but ${layersKey} is ${nLayer}`,
      );
    const saved = c.raw('attention_layers');
    if (saved !== undefined && saved !== null && JSON.stringify(saved) !== JSON.stringify(attentionLayers))
      c.fail('attention_layers', `disagrees with attention_types (${JSON.stringify(attentionLayers)})`);
    const cfg: GPTNeoConfig = {
      arch: 'gpt_neo',
      vocabSize,
      nCtx: c.int('max_position_embeddings', 2048),
      nEmbd,
      nLayer,
      nHead,
      nInner: c.int('intermediate_size', 4 * nEmbd),
      bosTokenId: c.tokenId('bos_token_id', 50256),
      eosTokenId: c.tokenId('eos_token_id', 50256),
      layerNormEps: c.num('layer_norm_epsilon', 1e-5),
      activationFunction: (c.raw('activation_function') as string | undefined) ?? 'gelu_new',
      attentionTypes,
      attentionLayers,
      windowSize: c.int('window_size', 256),
      tiedHead: c.bool('tie_word_embeddings', true),
    };
    activationByName(cfg.activationFunction, file, 'activation_function');
    return cfg;
  },

  configJson(cfg) {
    return {
      architectures: ['GPTNeoForCausalLM'],
      model_type: 'gpt_neo',
      vocab_size: cfg.vocabSize,
      max_position_embeddings: cfg.nCtx,
      hidden_size: cfg.nEmbd,
      num_layers: cfg.nLayer,
      num_heads: cfg.nHead,
      intermediate_size: cfg.nInner,
      attention_types: cfg.attentionTypes,
      attention_layers: cfg.attentionLayers,
      window_size: cfg.windowSize,
      activation_function: cfg.activationFunction,
      layer_norm_epsilon: cfg.layerNormEps,
      tie_word_embeddings: cfg.tiedHead,
      embed_dropout: 0.0,
      attention_dropout: 0.0,
      resid_dropout: 0.0,
      initializer_range: 0.02,
      bos_token_id: cfg.bosTokenId,
      eos_token_id: cfg.eosTokenId,
      use_cache: true,
      torch_dtype: 'float32',
    };
  },

  params,
  // The causal/local mask buffers older saves keep, and the tied head's copy.
  buffers: /^(transformer\.h\.\d+\.attn\.attention\.(bias|masked_bias)|lm_head\.weight)$/,
  tapKinds: () => ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post', 'mlp.pre', 'mlp.post'],

  forward(cfg, params, ids, opts) {
    const [B, T] = ids.shape;
    const D = cfg.nEmbd;
    const H = cfg.nHead;
    const hd = D / H;
    const act = activationByName(cfg.activationFunction, 'model config', 'activation_function');
    const p = (name: string): tf.Variable => params.get(name)!;
    const lin = moduleLinear(cfg, params, opts);
    const rec = new TapRecorder(B, T, opts.taps);

    // Embeddings: gather token rows, add the first T position rows. x is kept 2-D [B*T, D] throughout.
    const tok = tf.gather(p('transformer.wte.weight'), tf.reshape(ids, [B * T]));
    const pos = tf.slice(p('transformer.wpe.weight'), [0, 0], [T, D]);
    let x = tf.reshape(tf.add(tf.reshape(tok, [B, T, D]), pos), [B * T, D]) as tf.Tensor2D;

    for (let i = 0; i < cfg.nLayer; i++) {
      const h = `transformer.h.${i}`;
      const at = `${h}.attn.attention`;
      rec.put(i, 'resid_pre', x);
      // Attention: softmax(q k^T + mask) v per head, unscaled; a local layer's mask keeps the last
      // window_size keys.
      const a = layerNorm(x, p(`${h}.ln_1.weight`), p(`${h}.ln_1.bias`), cfg.layerNormEps);
      const [q, k, v] = ['q', 'k', 'v'].map((n) => splitHeads(lin(`${at}.${n}_proj`, a), B, T, H, hd));
      const window = cfg.attentionLayers[i] === 'local' ? cfg.windowSize : undefined;
      const y = attention(q, k, v, { scale: 1, window });
      const attnOut = lin(`${at}.out_proj`, y);
      x = tf.add(x, attnOut);
      rec.put(i, 'attn_out', attnOut);
      rec.put(i, 'resid_mid', x);

      // MLP: pre = ln_2(x) W_fc^T + b; post = act(pre) (the neurons); x += post W_proj^T + b.
      const m = layerNorm(x, p(`${h}.ln_2.weight`), p(`${h}.ln_2.bias`), cfg.layerNormEps);
      const pre = lin(`${h}.mlp.c_fc`, m);
      const post = activate(act, pre) as tf.Tensor2D;
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
    const logits = tf.reshape(linear(hidden2d, p(headName(cfg))), [B, T, cfg.vocabSize]);
    return { logits: logits as tf.Tensor3D, hidden, taps: rec.taps };
  },

  finalNorm,
  head: (cfg, params) => ({ weight: params.get(headName(cfg)) as tf.Tensor2D }),
  headName,
  mlpOut: (_cfg, i) => ({ name: `transformer.h.${i}.mlp.c_proj.weight`, layout: 'columns' }),
};
