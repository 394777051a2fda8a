/**
 * Rotary position embeddings (Su et al. 2021, RoFormer), in the "rotate half" layout Hugging Face uses for
 * GPT-NeoX, Llama, Mistral, Qwen2 and Gemma: the first `dim` features of each head are split into halves
 * (x1, x2) and rotated pairwise by angle p theta_k at position p,
 *   out = x cos + rotate_half(x) sin,  rotate_half(x) = (-x2, x1),  theta_k = base^(-2k / dim), k < dim / 2,
 * the remaining head features (partial rotary, Pythia's `rotary_pct`) pass through unchanged.
 *
 * Frequency scaling (`rope_scaling`, Hugging Face's `modeling_rope_utils`):
 * - `linear` (position interpolation, Chen et al. 2023): theta_k / factor;
 * - `llama3`: wavelengths 2 pi / theta_k longer than original_max_position_embeddings / low_freq_factor are
 *   divided by `factor`, shorter than original / high_freq_factor kept, and in between interpolated with
 *   s = (original / wavelength - low_freq_factor) / (high_freq_factor - low_freq_factor):
 *   theta' = (1 - s) theta / factor + s theta.
 */
import * as tf from '@tensorflow/tfjs-core';
import { configReader, type ConfigReader } from '../config.js';

export type RopeScaling =
  | { type: 'linear'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositions: number;
    };

export interface RopeSpec {
  /** Rotated features per head (even). */
  dim: number;
  /** `rope_theta` / `rotary_emb_base`. */
  base: number;
  scaling?: RopeScaling;
}

/** The rotation frequencies theta_k, k < dim / 2, after scaling. */
export function ropeFrequencies(spec: RopeSpec): Float64Array {
  const half = spec.dim / 2;
  const f = new Float64Array(half);
  for (let k = 0; k < half; k++) f[k] = Math.pow(spec.base, -(2 * k) / spec.dim);
  const s = spec.scaling;
  if (s?.type === 'linear') for (let k = 0; k < half; k++) f[k] /= s.factor;
  else if (s?.type === 'llama3') {
    const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
    const highWavelen = s.originalMaxPositions / s.highFreqFactor;
    for (let k = 0; k < half; k++) {
      const wavelen = (2 * Math.PI) / f[k];
      if (wavelen > lowWavelen) f[k] /= s.factor;
      else if (wavelen >= highWavelen) {
        const smooth =
          (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        f[k] = ((1 - smooth) * f[k]) / s.factor + smooth * f[k];
      }
    }
  }
  return f;
}

const tables = new Map<string, { cos: tf.Tensor2D; sin: tf.Tensor2D }>();
/** cos and sin of p theta_k for positions p < T, each [T, dim] (the half repeated twice); cached, kept. */
function rotaryTables(T: number, spec: RopeSpec): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const key = `${T}:${JSON.stringify(spec)}`;
  let t = tables.get(key);
  if (!t) {
    const f = ropeFrequencies(spec);
    const half = spec.dim / 2;
    const cos = new Float32Array(T * spec.dim);
    const sin = new Float32Array(T * spec.dim);
    for (let p = 0; p < T; p++) {
      for (let k = 0; k < half; k++) {
        const a = p * f[k];
        cos[p * spec.dim + k] = cos[p * spec.dim + k + half] = Math.cos(a);
        sin[p * spec.dim + k] = sin[p * spec.dim + k + half] = Math.sin(a);
      }
    }
    t = { cos: tf.keep(tf.tensor2d(cos, [T, spec.dim])), sin: tf.keep(tf.tensor2d(sin, [T, spec.dim])) };
    tables.set(key, t);
  }
  return t;
}

/** Rotates the first `spec.dim` features of every head of x [B, H, T, hd] by position (see the module comment). */
export function applyRotary(x: tf.Tensor4D, spec: RopeSpec): tf.Tensor4D {
  const [B, H, T, hd] = x.shape;
  if (spec.dim % 2 !== 0 || spec.dim > hd || spec.dim <= 0)
    throw new Error(`rotary: ${spec.dim} rotated features do not fit a head of ${hd}`);
  const { cos, sin } = rotaryTables(T, spec);
  const rot = spec.dim === hd ? x : tf.slice(x, [0, 0, 0, 0], [B, H, T, spec.dim]);
  const [x1, x2] = tf.split(rot, 2, 3);
  const rotated = tf.add(tf.mul(rot, cos), tf.mul(tf.concat([tf.neg(x2), x1], 3), sin)) as tf.Tensor4D;
  return spec.dim === hd
    ? rotated
    : tf.concat([rotated, tf.slice(x, [0, 0, 0, spec.dim], [B, H, T, hd - spec.dim])], 3);
}

/**
 * The RoPE a Hugging Face config asks for over `dim` rotated features: `rope_theta` (default `base`) and
 * `rope_scaling` (`rope_type`, spelled `type` by older configs: default, linear or llama3), or the single
 * `rope_parameters` object transformers 5 writes in their place. Other scaling types (dynamic, yarn,
 * longrope, ...) are refused with an error naming the file and the field.
 */
export function ropeFromConfig(c: ConfigReader, file: string, dim: number, base = 10000): RopeSpec {
  const field = c.pick('rope_parameters') ?? 'rope_scaling';
  const nested = c.raw(field);
  if (nested !== undefined && nested !== null && (typeof nested !== 'object' || Array.isArray(nested)))
    c.fail(field, 'must be an object');
  const s = configReader((nested ?? {}) as Record<string, unknown>, `${file}: field '${field}'`);
  // rope_parameters always holds its theta; one without is keyed by layer type, which we do not read.
  const theta = field === 'rope_parameters' ? s.num('rope_theta') : c.num('rope_theta', base);
  const key = s.pick('rope_type', 'type');
  const type = key === undefined ? 'default' : s.raw(key);
  if (type === 'default') return { dim, base: theta };
  if (type === 'linear') return { dim, base: theta, scaling: { type, factor: s.num('factor') } };
  if (type === 'llama3') {
    const scaling = {
      type,
      factor: s.num('factor'),
      lowFreqFactor: s.num('low_freq_factor'),
      highFreqFactor: s.num('high_freq_factor'),
      originalMaxPositions: s.int('original_max_position_embeddings'),
    } as const;
    return { dim, base: theta, scaling };
  }
  return c.fail(field, `has rope_type ${JSON.stringify(type)}; supported: default, linear, llama3`);
}

/** The `rope_theta` and `rope_scaling` fields of a spec, as Hugging Face configs write them. */
export function ropeConfigJson(spec: RopeSpec): Record<string, unknown> {
  const s = spec.scaling;
  const scaling =
    s === undefined
      ? null
      : s.type === 'linear'
        ? { rope_type: 'linear', factor: s.factor }
        : {
            rope_type: 'llama3',
            factor: s.factor,
            low_freq_factor: s.lowFreqFactor,
            high_freq_factor: s.highFreqFactor,
            original_max_position_embeddings: s.originalMaxPositions,
          };
  return { rope_theta: spec.base, rope_scaling: scaling };
}
