/**
 * The GPT-2 language model, top to bottom, in the way nanoGPT lays it out: a plain config, parameters in a
 * map keyed by their Hugging Face names, and one forward function.
 *
 *   token + position embedding -> n_layer x [ x + attn(ln_1(x)); x + mlp(ln_2(x)) ] -> ln_f -> x W_te^T
 *
 * Pre-LayerNorm blocks, GELU (tanh approximation, HF's `gelu_new`) in the MLP, learned positions and an LM
 * head tied to the token embedding. Conv1D weights are stored [in, out] as in GPT-2, so a checkpoint written
 * by {@link toNamedArrays} loads unchanged in `GPT2LMHeadModel.from_pretrained`.
 *
 * The forward pass can return named activation taps, TransformerLens style:
 *   blocks.{i}.mlp.pre    the MLP pre-activation (c_fc output), [B, T, d_mlp]
 *   blocks.{i}.mlp.post   the neurons, GELU(pre), [B, T, d_mlp]
 *   blocks.{i}.resid_post the residual stream after block i, [B, T, d_model]
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from './rng.js';
import type { NamedArray } from './safetensors.js';

export interface GPTConfig {
  vocabSize: number;
  /** Context length (n_positions). */
  nCtx: number;
  nLayer: number;
  nHead: number;
  /** d_model. */
  nEmbd: number;
  /** d_mlp, the number of MLP neurons per block (GPT-2: 4 * d_model). */
  nInner: number;
  layerNormEps: number;
  bosTokenId: number;
  eosTokenId: number;
}

/** A config with GPT-2 defaults for the fields not given. */
export function gptConfig(
  c: Partial<GPTConfig> & Pick<GPTConfig, 'vocabSize' | 'nEmbd' | 'nLayer' | 'nHead'>,
): GPTConfig {
  const cfg: GPTConfig = {
    nCtx: 64,
    nInner: 4 * c.nEmbd,
    layerNormEps: 1e-5,
    bosTokenId: c.vocabSize - 1,
    eosTokenId: c.vocabSize - 1,
    ...c,
  };
  if (cfg.nEmbd % cfg.nHead !== 0)
    throw new Error(`n_embd (${cfg.nEmbd}) must be divisible by n_head (${cfg.nHead})`);
  for (const k of ['vocabSize', 'nCtx', 'nLayer', 'nHead', 'nEmbd', 'nInner'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] <= 0)
      throw new Error(`model config: ${k} must be a positive integer, got ${cfg[k]}`);
  }
  return cfg;
}

export type TapName =
  `blocks.${number}.mlp.pre` | `blocks.${number}.mlp.post` | `blocks.${number}.resid_post`;

/** Every tap name of a model, in block order. */
export function tapNames(cfg: GPTConfig): TapName[] {
  const out: TapName[] = [];
  for (let i = 0; i < cfg.nLayer; i++)
    out.push(`blocks.${i}.mlp.pre`, `blocks.${i}.mlp.post`, `blocks.${i}.resid_post`);
  return out;
}

/** Width of a tap: d_mlp for the MLP taps, d_model for the residual stream. */
export function tapWidth(cfg: GPTConfig, tap: string): number {
  const m = /^blocks\.(\d+)\.(mlp\.pre|mlp\.post|resid_post)$/.exec(tap);
  if (!m || Number(m[1]) >= cfg.nLayer) {
    throw new Error(
      `unknown tap '${tap}': expected blocks.{0..${cfg.nLayer - 1}}.{mlp.pre,mlp.post,resid_post}`,
    );
  }
  return m[2] === 'resid_post' ? cfg.nEmbd : cfg.nInner;
}

/** Expands a tap pattern such as `blocks.*.mlp.post` into the model's matching tap names. */
export function expandTaps(cfg: GPTConfig, pattern: string): TapName[] {
  const parts = pattern
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const all = tapNames(cfg);
  const out: TapName[] = [];
  for (const p of parts) {
    const re = new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^.]+')}$`);
    const hits = all.filter((t) => re.test(t));
    if (hits.length === 0)
      throw new Error(`tap pattern '${p}' matches no tap of this model (e.g. ${all[0]}, ${all[1]})`);
    for (const h of hits) if (!out.includes(h)) out.push(h);
  }
  return out;
}

/** The model's parameters, by Hugging Face GPT-2 name, in a fixed order (the optimizer relies on it). */
export type Params = Map<string, tf.Variable>;

/** Names of all parameters in their canonical order. */
export function paramNames(cfg: GPTConfig): string[] {
  const names = ['wte.weight', 'wpe.weight'];
  for (let i = 0; i < cfg.nLayer; i++) {
    const h = `h.${i}`;
    names.push(
      `${h}.ln_1.weight`, `${h}.ln_1.bias`,
      `${h}.attn.c_attn.weight`, `${h}.attn.c_attn.bias`,
      `${h}.attn.c_proj.weight`, `${h}.attn.c_proj.bias`,
      `${h}.ln_2.weight`, `${h}.ln_2.bias`,
      `${h}.mlp.c_fc.weight`, `${h}.mlp.c_fc.bias`,
      `${h}.mlp.c_proj.weight`, `${h}.mlp.c_proj.bias`,
    ); // prettier-ignore
  }
  names.push('ln_f.weight', 'ln_f.bias');
  return names;
}

/** The shape of each parameter. */
export function paramShape(cfg: GPTConfig, name: string): number[] {
  const { vocabSize: V, nCtx: T, nEmbd: D, nInner: F } = cfg;
  if (name === 'wte.weight') return [V, D];
  if (name === 'wpe.weight') return [T, D];
  if (name.endsWith('c_attn.weight')) return [D, 3 * D];
  if (name.endsWith('c_attn.bias')) return [3 * D];
  if (name.endsWith('attn.c_proj.weight')) return [D, D];
  if (name.endsWith('c_fc.weight')) return [D, F];
  if (name.endsWith('c_fc.bias')) return [F];
  if (name.endsWith('mlp.c_proj.weight')) return [F, D];
  return [D]; // LayerNorm weights and biases, c_proj biases
}

/**
 * GPT-2 initialisation: N(0, 0.02) weights, except position embeddings N(0, 0.01) (as GPT-2's TF code) and
 * residual projections N(0, 0.02 / sqrt(2 n_layer)); LayerNorm gains 1, biases 0.
 */
export function initParamArrays(cfg: GPTConfig, seed: number): Map<string, NamedArray> {
  const rng = new Rng(seed);
  const out = new Map<string, NamedArray>();
  for (const name of paramNames(cfg)) {
    const shape = paramShape(cfg, name);
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

/** Creates trainable variables from arrays (shapes are checked against the config). */
export function paramsFromArrays(cfg: GPTConfig, arrays: Map<string, NamedArray>, trainable = true): Params {
  const params: Params = new Map();
  for (const name of paramNames(cfg)) {
    const a = arrays.get(name);
    const shape = paramShape(cfg, name);
    if (!a) throw new Error(`missing parameter '${name}'`);
    if (a.shape.join(',') !== shape.join(',')) {
      throw new Error(`parameter '${name}' has shape [${a.shape}] but the config needs [${shape}]`);
    }
    const t = tf.tensor(a.data, shape, 'float32');
    params.set(name, tf.variable(t, trainable));
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

export interface ForwardOptions {
  /** Taps to return (exact names). */
  taps?: readonly string[];
  /** Skip the LM head and return only the final hidden state (after ln_f). */
  hiddenOnly?: boolean;
}

export interface ForwardResult {
  /** [B, T, V] logits, unless `hiddenOnly`. */
  logits?: tf.Tensor3D;
  /** [B, T, D] final hidden state (after ln_f). */
  hidden: tf.Tensor3D;
  taps: Map<string, tf.Tensor3D>;
}

const causalMasks = new Map<number, tf.Tensor2D>();
/** [T, T] additive causal mask: 0 on and below the diagonal, -1e9 above. Cached, kept alive. */
function causalMask(T: number): tf.Tensor2D {
  let m = causalMasks.get(T);
  if (!m) {
    const data = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) data[i * T + j] = -1e9;
    m = tf.keep(tf.tensor2d(data, [T, T]));
    causalMasks.set(T, m);
  }
  return m;
}

type LayerNormOp = (x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;
const layerNormOps = new Map<number, LayerNormOp>();

/**
 * LayerNorm over the last axis of x [N, D] (Ba et al. 2016): y = xhat g + b, xhat = (x - mean) / sqrt(var + eps),
 * with its gradient written out (autodiff through `moments` takes ~3x the kernels): with dxhat = dy g,
 *   dx = (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) / sqrt(var + eps),  dg = sum_N dy xhat,  db = sum_N dy.
 */
export function layerNorm(x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor2D {
  let op = layerNormOps.get(eps);
  if (!op) {
    op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [x, g, b, save] = args as [tf.Tensor2D, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      const { mean, variance } = tf.moments(x, -1, true);
      const rstd = tf.rsqrt(tf.add(variance, eps));
      const xhat = tf.mul(tf.sub(x, mean), rstd);
      save([xhat, rstd, g]);
      return {
        value: tf.add(tf.mul(xhat, g), b) as tf.Tensor2D,
        gradFunc: (dy: tf.Tensor2D, [xhat, rstd, g]: tf.Tensor[]) => {
          const dxhat = tf.mul(dy, g);
          const centred = tf.sub(dxhat, tf.mean(dxhat, -1, true));
          const dx = tf.mul(tf.sub(centred, tf.mul(xhat, tf.mean(tf.mul(dxhat, xhat), -1, true))), rstd);
          return [dx, tf.sum(tf.mul(dy, xhat), 0), tf.sum(dy, 0)];
        },
      };
    }) as LayerNormOp;
    layerNormOps.set(eps, op);
  }
  return op(x, g, b);
}

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/**
 * GELU, tanh approximation (GPT-2's `gelu_new`): 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
 * Computed as x s with s = sigmoid(2u), the same function (1 + tanh(u) = 2 sigmoid(2u)): the wasm backend's
 * sigmoid is vectorised (XNNPACK) and ~20x faster than its tanh, and the form has no cancellation near 0.
 * Gradient written out: d/dx = s + x s (1 - s) 2 du/dx, 2 du/dx = 2 sqrt(2/pi) (1 + 3 0.044715 x^2).
 */
export const geluNew = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
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

/** x [N, in] @ w [in, out] + b. */
function linear(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.add(tf.matMul(x, w as tf.Tensor2D), b) as tf.Tensor2D;
}

/**
 * The forward pass on token ids [B, T] (T <= n_ctx). Right padding needs no attention mask: attention is
 * causal, so pads at the end never influence real tokens. Run it inside `tf.tidy` or a gradient closure.
 */
export function forward(
  cfg: GPTConfig,
  params: Params,
  ids: tf.Tensor2D,
  opts: ForwardOptions = {},
): ForwardResult {
  const [B, T] = ids.shape;
  if (T > cfg.nCtx) throw new Error(`sequence length ${T} exceeds the model's context of ${cfg.nCtx} tokens`);
  const D = cfg.nEmbd;
  const H = cfg.nHead;
  const hd = D / H;
  const p = (name: string): tf.Variable => params.get(name)!;
  const want = new Set(opts.taps ?? []);
  const taps = new Map<string, tf.Tensor3D>();

  // Embeddings: gather token rows, add the first T position rows. x is kept 2-D [B*T, D] throughout.
  const tok = tf.gather(p('wte.weight'), tf.reshape(ids, [B * T]));
  const pos = tf.slice(p('wpe.weight'), [0, 0], [T, D]);
  let x = tf.reshape(tf.add(tf.reshape(tok, [B, T, D]), pos), [B * T, D]) as tf.Tensor2D;
  const mask = causalMask(T);
  const scale = 1 / Math.sqrt(hd);

  for (let i = 0; i < cfg.nLayer; i++) {
    const h = `h.${i}`;
    // Attention: qkv = ln_1(x) W_attn; per head softmax(q k^T / sqrt(hd) + mask) v; then W_proj.
    const a = layerNorm(x, p(`${h}.ln_1.weight`), p(`${h}.ln_1.bias`), cfg.layerNormEps);
    const qkv = linear(a, p(`${h}.attn.c_attn.weight`), p(`${h}.attn.c_attn.bias`));
    const [q, k, v] = tf
      .split(qkv, 3, 1)
      .map((t) => tf.transpose(tf.reshape(t, [B, T, H, hd]), [0, 2, 1, 3]));
    const att = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), scale), mask));
    const y = tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [B * T, D]) as tf.Tensor2D;
    x = tf.add(x, linear(y, p(`${h}.attn.c_proj.weight`), p(`${h}.attn.c_proj.bias`)));

    // MLP: pre = ln_2(x) W_fc + b; post = GELU(pre) (the neurons); x += post W_proj + b.
    const m = layerNorm(x, p(`${h}.ln_2.weight`), p(`${h}.ln_2.bias`), cfg.layerNormEps);
    const pre = linear(m, p(`${h}.mlp.c_fc.weight`), p(`${h}.mlp.c_fc.bias`));
    const post = geluNew(pre) as tf.Tensor2D;
    x = tf.add(x, linear(post, p(`${h}.mlp.c_proj.weight`), p(`${h}.mlp.c_proj.bias`)));

    const tapPre = `blocks.${i}.mlp.pre`;
    const tapPost = `blocks.${i}.mlp.post`;
    const tapResid = `blocks.${i}.resid_post`;
    if (want.has(tapPre)) taps.set(tapPre, tf.reshape(pre, [B, T, cfg.nInner]));
    if (want.has(tapPost)) taps.set(tapPost, tf.reshape(post, [B, T, cfg.nInner]));
    if (want.has(tapResid)) taps.set(tapResid, tf.reshape(x, [B, T, D]));
  }
  for (const t of want) if (!taps.has(t)) tapWidth(cfg, t); // throws a clear error on unknown taps

  const hidden2d = layerNorm(x, p('ln_f.weight'), p('ln_f.bias'), cfg.layerNormEps);
  const hidden = tf.reshape(hidden2d, [B, T, D]) as tf.Tensor3D;
  if (opts.hiddenOnly) return { hidden, taps };
  const logits = tf.reshape(tf.matMul(hidden2d, p('wte.weight'), false, true), [
    B,
    T,
    cfg.vocabSize,
  ]) as tf.Tensor3D;
  return { logits, hidden, taps };
}

/** Logits through the tied head for hidden states [N, D] -> [N, V]. */
export function lmHead(params: Params, hidden: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(hidden, params.get('wte.weight')!, false, true);
}

/** Total number of parameters. */
export function countParams(cfg: GPTConfig): number {
  return paramNames(cfg).reduce((s, n) => s + paramShape(cfg, n).reduce((a, b) => a * b, 1), 0);
}

/** Disposes every variable of a parameter map. */
export function disposeParams(params: Params): void {
  for (const v of params.values()) v.dispose();
}
