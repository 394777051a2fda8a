/**
 * Causal multi-head attention with the variants the architectures need: grouped-query attention (fewer
 * key/value heads than query heads, each shared by a group of consecutive query heads, as Hugging Face's
 * `repeat_kv`), a score scale other than 1/sqrt(head_dim), tanh soft-capping of the scores (Gemma-2) and a
 * sliding window (Mistral, Gemma-2, GPT-Neo's local layers).
 *
 *   scores = q k^T scale;  scores = cap tanh(scores / cap) when capped;  + mask;  y = softmax(scores) v
 */
import * as tf from '@tensorflow/tfjs-core';

const masks = new Map<string, tf.Tensor2D>();
/**
 * [T, T] additive causal mask, kept alive and cached: 0 where query i may see key j, -1e9 elsewhere. Key j
 * is visible when j <= i and, with a `window` w, i - j < w (the last w positions, the query's own
 * included).
 */
export function causalMask(T: number, window?: number): tf.Tensor2D {
  const key = `${T}:${window ?? ''}`;
  let m = masks.get(key);
  if (!m) {
    const data = new Float32Array(T * T);
    for (let i = 0; i < T; i++)
      for (let j = 0; j < T; j++)
        if (j > i || (window !== undefined && i - j >= window)) data[i * T + j] = -1e9;
    m = tf.keep(tf.tensor2d(data, [T, T]));
    masks.set(key, m);
  }
  return m;
}

/** [B*T, H*hd] -> [B, H, T, hd]: the heads of a projection side by side. */
export function splitHeads(x: tf.Tensor2D, B: number, T: number, H: number, hd: number): tf.Tensor4D {
  return tf.transpose(tf.reshape(x, [B, T, H, hd]), [0, 2, 1, 3]);
}

export interface AttentionOptions {
  /** Multiplies q k^T (1/sqrt(head_dim) in most models). */
  scale: number;
  /** Gemma-2's `attn_logit_softcapping`. */
  softcap?: number;
  /** Sliding window in positions, see {@link causalMask}. */
  window?: number;
}

/**
 * Attention of q [B, H, T, hd] over k, v [B, Hkv, T, hd] (H a multiple of Hkv; query head h reads key/value
 * head floor(h / (H / Hkv))). Returns the heads' outputs concatenated, [B*T, H*hd].
 */
export function attention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, o: AttentionOptions): tf.Tensor2D {
  const [B, H, T, hd] = q.shape;
  const Hkv = k.shape[1];
  if (H % Hkv !== 0) throw new Error(`attention: ${H} query heads do not divide into ${Hkv} key/value heads`);
  const rep = H / Hkv;
  // Each key/value head repeated rep times in place; tiled as [B, Hkv, 1, T*hd] since TF.js differentiates
  // tile only up to rank 4.
  const repeat = (t: tf.Tensor4D): tf.Tensor4D =>
    rep === 1
      ? t
      : (tf.reshape(tf.tile(tf.reshape(t, [B, Hkv, 1, T * hd]), [1, 1, rep, 1]), [
          B,
          H,
          T,
          hd,
        ]) as tf.Tensor4D);
  let scores = tf.mul(tf.matMul(q, repeat(k), false, true), o.scale);
  if (o.softcap !== undefined) scores = tf.mul(tf.tanh(tf.div(scores, o.softcap)), o.softcap);
  const att = tf.softmax(tf.add(scores, causalMask(T, o.window)));
  return tf.reshape(tf.transpose(tf.matMul(att, repeat(v)), [0, 2, 1, 3]), [B * T, H * hd]) as tf.Tensor2D;
}
