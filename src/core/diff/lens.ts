/**
 * The activation-difference lens (Minder et al. 2025, arXiv 2510.13900, "Narrow finetuning leaves clearly
 * readable traces in activation differences"; their code: science-of-finetuning/diffing-toolkit,
 * `activation_difference_lens`). Over the same tokens, the mean difference of one tap of two checkpoints,
 * δ = mean(h_B − h_A), is read through B's final norm and unembedding (the logit lens):
 * logits = norm_B(δ) W_U,B^T. The tokens with the highest logits are those B promotes over A, the lowest
 * those it suppresses.
 *
 * As theirs: B is the fine-tuned model whose final norm and head read δ (their `logit_lens` applies
 * `ln_final` then `lm_head`), and the suppressed tokens are those of −norm(δ), i.e. the lowest logits.
 * Where ours differs:
 * - they average per position over the first 5 tokens of 10,000 unrelated pretraining texts and read each
 *   position on its own; we average over every non-special token of the probe set, one δ per tap, because
 *   a project's probe holds a few hundred sequences (too few for per-position means) and the contract
 *   carries one vector per layer. The probe is the user's choice: a text unrelated to the fine-tuning data
 *   gives their setting's "traces on unrelated text".
 * - they rank tokens by softmax probabilities; we report the logits (softmax is monotone in them, so the
 *   order is the same, and a logit keeps its sign).
 * This file is pure: means, norms and the ranking; the projection is `logitLens` in model/models.ts.
 */
import type { Matrix } from '../analysis/index.js';
import type { LensLayer } from './types.js';

/** The mean difference of a tap between two checkpoints over the same rows. */
export interface MeanDifference {
  /** δ = mean(h_B − h_A) over the rows, in float64 [D]. */
  diff: Float64Array;
  /** ‖δ‖. */
  norm: number;
  /** ‖mean h_A‖: the size of the activations the difference is read against. */
  baseNorm: number;
}

/** Euclidean norm of a vector. */
function l2(v: Float64Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/** δ = mean(h_B − h_A) and mean h_A over `rows` of two activation matrices of the same tokens (float64 sums). */
export function meanDifference(a: Matrix, b: Matrix, rows: Int32Array): MeanDifference {
  if (a.rows !== b.rows || a.cols !== b.cols)
    throw new Error(
      `the lens needs the same tokens and width on both sides: [${a.rows}, ${a.cols}] vs [${b.rows}, ${b.cols}]`,
    );
  if (rows.length === 0) throw new Error('the lens needs at least one token');
  const D = a.cols;
  const diff = new Float64Array(D);
  const base = new Float64Array(D);
  for (const r of rows) {
    const o = r * D;
    for (let d = 0; d < D; d++) {
      base[d] += a.data[o + d];
      diff[d] += b.data[o + d] - a.data[o + d];
    }
  }
  for (let d = 0; d < D; d++) {
    diff[d] /= rows.length;
    base[d] /= rows.length;
  }
  return { diff, norm: l2(diff), baseNorm: l2(base) };
}

/** The ids of the k largest values (largest first) and of the k smallest (smallest first); ties by lower id. */
export function extremeIds(values: ArrayLike<number>, k: number): { top: number[]; bottom: number[] } {
  const order = Array.from({ length: values.length }, (_, i) => i).sort(
    (i, j) => values[j] - values[i] || i - j,
  );
  const n = Math.min(k, order.length);
  const bottom = order.slice(order.length - n).sort((i, j) => values[i] - values[j] || i - j);
  return { top: order.slice(0, n), bottom };
}

/**
 * One layer of the lens: the tap's δ (its norm and the base's) and its logits [V] through B's final norm
 * and unembedding, as the `topK` promoted (highest logits) and suppressed (lowest) tokens.
 */
export function lensLayer(
  tap: string,
  d: MeanDifference,
  logits: ArrayLike<number>,
  topK: number,
  token: (id: number) => string,
): LensLayer {
  const { top, bottom } = extremeIds(logits, topK);
  const entry = (id: number) => ({ token: token(id), id, logit: logits[id] });
  return {
    tap,
    layer: Number(/^blocks\.(\d+)\./.exec(tap)?.[1]),
    norm: d.norm,
    baseNorm: d.baseNorm,
    promoted: top.map(entry),
    suppressed: bottom.map(entry),
  };
}
