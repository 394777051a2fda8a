/**
 * A crosscoder's latents read per pair of models (A, B): the relative decoder norm Δ and its tags, the
 * cosine of the two decoder vectors, and Latent Scaling's ν for the latents that look specific to B.
 *
 * - Δ_i = ((||d_i^A|| − ||d_i^B||) / max(||d_i^A||, ||d_i^B||) + 1) / 2 (diffing-toolkit,
 *   `src/diffing/utils/dictionary/analysis.py`): 1 when only A decodes the latent, 0 when only B does,
 *   0.5 when both do equally. Tags: a-only Δ > specific, b-only Δ < 1 − specific, shared |Δ − 0.5| < shared.
 * - Latent Scaling (Minder et al. 2025, arXiv 2504.02922 §4; their `tools/latent_scaler/closed_form.py` and
 *   `scripts/compute_scalers.py`): for a latent j with B's decoder vector d = d_j^B, the least-squares scale
 *   of f_j(x) d that best explains a target y(x) over the tokens is
 *     β = Σ_x f_j(x) ⟨d, y(x)⟩ / (||d||² Σ_x f_j(x)²).
 *   Targets, in the crosscoder's scaled space: the error of model m without latent j,
 *   ε^m = x^m − (x̂^m − f_j d_j^m), and the reconstruction r^m = x̂^m. Then ν^ε = β(ε^A) / β(ε^B) and
 *   ν^r = β(r^A) / β(r^B): near 0 the latent explains nothing of A (truly B-specific), near 1 A's
 *   activations carry it as much as B's (an artifact of the sparsity penalty: complete shrinkage or
 *   latent decoupling).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Matrix } from '../analysis/matrix.js';
import { decoderNorms, encodeCrosscoder, modelDecoder, type Crosscoder } from './crosscoder.js';
import type { LatentPair, LatentTag } from './types.js';

/** Tag thresholds, as in `CrosscoderRecord.thresholds`. */
export interface TagThresholds {
  specific: number;
  shared: number;
}

/** Δ_i per latent from the decoder norms of A and B (NaN where both are zero). */
export function relativeDecoderNorm(normsA: ArrayLike<number>, normsB: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: normsA.length }, (_, i) => {
    const a = normsA[i];
    const b = normsB[i];
    return ((a - b) / Math.max(a, b) + 1) / 2;
  });
}

/** The tag of one Δ: a-only Δ > specific, b-only Δ < 1 − specific, shared |Δ − 0.5| < shared, else other. */
export function latentTag(delta: number, t: TagThresholds): LatentTag {
  if (delta > t.specific) return 'a-only';
  if (delta < 1 - t.specific) return 'b-only';
  if (Math.abs(delta - 0.5) < t.shared) return 'shared';
  return 'other';
}

/** cos(d_i^A, d_i^B) per latent (NaN where a decoder vector is zero). */
export function decoderCosines(cc: Crosscoder, a: number, b: number): Float64Array {
  const { nModels: n, dIn, dSae } = cc.config;
  return Float64Array.from({ length: dSae }, (_, i) => {
    const oa = (i * n + a) * dIn;
    const ob = (i * n + b) * dIn;
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let j = 0; j < dIn; j++) {
      dot += cc.wDec[oa + j] * cc.wDec[ob + j];
      na += cc.wDec[oa + j] ** 2;
      nb += cc.wDec[ob + j] ** 2;
    }
    return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : NaN;
  });
}

/** Latent Scaling's fitted scales and ratios for some latents (see the file comment); NaN where a latent never fires. */
export interface LatentScaling {
  latents: number[];
  betaErrorA: Float64Array;
  betaErrorB: Float64Array;
  betaReconA: Float64Array;
  betaReconB: Float64Array;
  nuError: Float64Array;
  nuRecon: Float64Array;
}

/**
 * Latent Scaling of `latents` for the pair (a, b), over the tokens of `xs` (raw activations per model) with
 * their codes `z` ([tokens, d_sae], from {@link encodeCrosscoder}). Projections run through TF.js in
 * float32 batches, the sums over tokens in float64.
 */
export function latentScaling(
  cc: Crosscoder,
  xs: Matrix[],
  z: Matrix,
  a: number,
  b: number,
  latents: number[],
  opts: { batchSize?: number } = {},
): LatentScaling {
  const { dIn, dSae } = cc.config;
  const J = latents.length;
  if (J === 0) {
    const none = () => new Float64Array(0);
    return {
      latents,
      betaErrorA: none(),
      betaErrorB: none(),
      betaReconA: none(),
      betaReconB: none(),
      nuError: none(),
      nuRecon: none(),
    };
  }
  const decA = modelDecoder(cc, a);
  const decB = modelDecoder(cc, b);
  // D = the latents' B decoder vectors [J, d_in]; ⟨d_j^B, d_j^A⟩ and ||d_j^B||² for the removed term.
  const D = new Float32Array(J * dIn);
  const crossAB = new Float64Array(J);
  const normB2 = new Float64Array(J);
  latents.forEach((l, j) => {
    for (let c = 0; c < dIn; c++) {
      const v = decB[l * dIn + c];
      D[j * dIn + c] = v;
      crossAB[j] += v * decA[l * dIn + c];
      normB2[j] += v * v;
    }
  });
  // Σ_x f_j ⟨d, y⟩ for the targets x^A s_A, x̂^A, x^B s_B, x̂^B, and Σ_x f_j².
  const sums = Array.from({ length: 4 }, () => new Float64Array(J));
  const ff = new Float64Array(J);
  const bs = opts.batchSize ?? 4096;
  const dT = tf.tensor2d(D, [J, dIn]);
  const models = [a, b].map((m) => ({
    m,
    wDec: tf.tensor2d(m === a ? decA : decB, [dSae, dIn]),
    bDec: tf.tensor1d(cc.bDec.subarray(m * dIn, (m + 1) * dIn)),
  }));
  try {
    for (let r0 = 0; r0 < z.rows; r0 += bs) {
      const r1 = Math.min(z.rows, r0 + bs);
      const rows = r1 - r0;
      const projections = tf.tidy(() => {
        const zb = tf.tensor2d(z.data.subarray(r0 * dSae, r1 * dSae), [rows, dSae]);
        return models.flatMap(({ m, wDec, bDec }) => {
          const x = tf.mul(
            tf.tensor2d(xs[m].data.subarray(r0 * dIn, r1 * dIn), [rows, dIn]),
            cc.inputScales[m],
          );
          const xHat = tf.add(tf.matMul(zb, wDec), bDec);
          return [
            tf.matMul(x as tf.Tensor2D, dT, false, true),
            tf.matMul(xHat as tf.Tensor2D, dT, false, true),
          ];
        });
      });
      const p = projections.map((t) => t.dataSync());
      tf.dispose(projections);
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < J; j++) {
          const f = z.data[(r0 + r) * dSae + latents[j]];
          if (f === 0) continue;
          ff[j] += f * f;
          for (let t = 0; t < 4; t++) sums[t][j] += f * p[t][r * J + j];
        }
      }
    }
  } finally {
    tf.dispose([dT, ...models.flatMap((x) => [x.wDec, x.bDec])]);
  }
  const beta = (num: (j: number) => number) =>
    Float64Array.from({ length: J }, (_, j) => (ff[j] > 0 ? num(j) / (normB2[j] * ff[j]) : NaN));
  // ε^m = x^m − x̂^m + f_j d_j^m: Σ f ⟨d, f d_j^m⟩ = ⟨d, d_j^m⟩ Σ f².
  const betaErrorA = beta((j) => sums[0][j] - sums[1][j] + crossAB[j] * ff[j]);
  const betaReconA = beta((j) => sums[1][j]);
  const betaErrorB = beta((j) => sums[2][j] - sums[3][j] + normB2[j] * ff[j]);
  const betaReconB = beta((j) => sums[3][j]);
  return {
    latents,
    betaErrorA,
    betaErrorB,
    betaReconA,
    betaReconB,
    nuError: betaErrorA.map((v, j) => v / betaErrorB[j]),
    nuRecon: betaReconA.map((v, j) => v / betaReconB[j]),
  };
}

/**
 * Every ordered pair (a < b) of the crosscoder's models, read on the tokens of `xs` (raw activations per
 * model): Δ, tags, cosines, tag counts, and ν^ε, ν^r for the latents tagged b-only (null elsewhere and
 * where a latent never fires on these tokens).
 */
export function latentPairs(cc: Crosscoder, xs: Matrix[], thresholds: TagThresholds): LatentPair[] {
  const norms = decoderNorms(cc);
  const z = encodeCrosscoder(cc, xs);
  const pairs: LatentPair[] = [];
  for (let a = 0; a < cc.config.nModels; a++) {
    for (let b = a + 1; b < cc.config.nModels; b++) {
      const delta = [...relativeDecoderNorm(norms[a], norms[b])];
      const tag = delta.map((d) => latentTag(d, thresholds));
      const bOnly = tag.flatMap((t, i) => (t === 'b-only' ? [i] : []));
      const scaling = latentScaling(cc, xs, z, a, b, bOnly);
      const nuError = new Array<number | null>(delta.length).fill(null);
      const nuRecon = new Array<number | null>(delta.length).fill(null);
      bOnly.forEach((l, j) => {
        nuError[l] = finiteOrNull(scaling.nuError[j]);
        nuRecon[l] = finiteOrNull(scaling.nuRecon[j]);
      });
      const counts: Record<LatentTag, number> = { 'a-only': 0, 'b-only': 0, shared: 0, other: 0 };
      for (const t of tag) counts[t]++;
      pairs.push({ a, b, delta, tag, cosine: [...decoderCosines(cc, a, b)], nuError, nuRecon, counts });
    }
  }
  return pairs;
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}
