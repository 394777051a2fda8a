/**
 * Training objectives: next-token LM loss, response log-probabilities, DPO (sigmoid, hinge, IPO), SimPO.
 * All are functions of tensors, to be called inside a gradient closure.
 *
 * DPO (Rafailov et al. 2023, arXiv 2305.18290, Eq. 7): with h = [log pi(y_w|x) - log ref(y_w|x)]
 * - [log pi(y_l|x) - log ref(y_l|x)],
 *   sigmoid: L = -(1-eps) log sigma(beta h) - eps log sigma(-beta h) = (1-eps) softplus(-beta h) + eps softplus(beta h)
 *   hinge:   L = relu(1 - beta h)
 *   ipo:     L = (h - 1/(2 beta))^2   (Azar et al. 2023)
 * `-log sigma(z)` is written `softplus(-z)`: TF.js's logSigmoid gradient fails on intermediate tensors.
 * Rewards, as TRL logs them: r_w = beta (log pi(y_w) - log ref(y_w)), r_l likewise.
 *
 * SimPO (Meng et al. 2024, arXiv 2405.14734, Eq. 6): L = -log sigma(beta/|y_w| log pi(y_w) - beta/|y_l| log pi(y_l) - gamma).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Head } from '../model/architecture.js';
import { headLogits } from '../model/models.js';

export type DpoLossType = 'sigmoid' | 'hinge' | 'ipo';

/** Per-pair DPO loss from summed (or averaged) response log-probs; returns the mean over pairs. */
export function dpoLoss(
  policyChosen: tf.Tensor1D,
  policyRejected: tf.Tensor1D,
  refChosen: tf.Tensor1D,
  refRejected: tf.Tensor1D,
  opts: { beta: number; lossType?: DpoLossType; labelSmoothing?: number },
): tf.Scalar {
  const { beta, lossType = 'sigmoid', labelSmoothing = 0 } = opts;
  const h = tf.sub(tf.sub(policyChosen, refChosen), tf.sub(policyRejected, refRejected));
  let perPair: tf.Tensor;
  if (lossType === 'sigmoid') {
    const z = tf.mul(h, beta);
    perPair = tf.softplus(tf.neg(z));
    if (labelSmoothing > 0)
      perPair = tf.add(tf.mul(perPair, 1 - labelSmoothing), tf.mul(tf.softplus(z), labelSmoothing));
  } else if (lossType === 'hinge') {
    perPair = tf.relu(tf.sub(1, tf.mul(h, beta)));
  } else {
    perPair = tf.square(tf.sub(h, 1 / (2 * beta)));
  }
  return tf.mean(perPair);
}

/** SimPO's reference-free loss from length-normalised log-probs (pass per-token means). */
export function simpoLoss(
  meanChosen: tf.Tensor1D,
  meanRejected: tf.Tensor1D,
  opts: { beta: number; gamma: number },
): tf.Scalar {
  const z = tf.sub(tf.mul(tf.sub(meanChosen, meanRejected), opts.beta), opts.gamma);
  return tf.mean(tf.softplus(tf.neg(z)));
}

/**
 * logsumexp over the last axis of logits [N, V] -> [N], with its gradient written out: d lse / d x = softmax(x).
 * (TF.js's own gradient goes through the max it subtracts, with an Equal mask and a few extra kernels.)
 */
const logSumExpRows = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.logSumExp(x, -1) as tf.Tensor1D,
    gradFunc: (dy: tf.Tensor1D, saved: tf.Tensor[]) => tf.mul(tf.expandDims(dy, -1), tf.softmax(saved[0])),
  };
}) as (x: tf.Tensor2D) => tf.Tensor1D;

/**
 * log p(target) at selected positions: hidden [N, D] (already gathered at the prediction positions) through
 * the model's head (unembedding W [V, D], soft-capped where the model caps). log p = l_target -
 * logsumexp_v l_v with l_v = <h, w_v> (or cap tanh(<h, w_v> / cap)). Returns [N].
 */
export function tokenLogProbs(hidden: tf.Tensor2D, head: Head, targets: tf.Tensor1D): tf.Tensor1D {
  const lse = logSumExpRows(headLogits(head, hidden));
  let targetLogit = tf.sum(tf.mul(hidden, tf.gather(head.weight, targets)), -1);
  if (head.softcap !== undefined)
    targetLogit = tf.mul(tf.tanh(tf.div(targetLogit, head.softcap)), head.softcap);
  return tf.sub(targetLogit, lse) as tf.Tensor1D;
}

/** The final hidden states [B, T, D] at flat positions `idx` (row * T + t): [N, D]. */
export function hiddenAt(hidden: tf.Tensor3D, idx: tf.Tensor1D): tf.Tensor2D {
  const [B, T, D] = hidden.shape;
  return tf.gather(tf.reshape(hidden, [B * T, D]), idx) as tf.Tensor2D;
}

/** How a row's response log-prob aggregates its tokens: their sum (DPO, TRL's default) or mean (SimPO). */
export type LogpAgg = 'sum' | 'mean';

/** Where a batch's response tokens are (tensors of the `PreferenceBatch` fields of the same names). */
export interface ResponseTokens {
  /** Flat prediction positions (row * T + t - 1) of every response token. */
  predIdx: tf.Tensor1D;
  /** The response token each position predicts. */
  targets: tf.Tensor1D;
  /** The row of each response token. */
  rowOfToken: tf.Tensor1D;
  /** Each row's response length (float32). */
  respLen: tf.Tensor1D;
}

/**
 * Response log-probs of each row of a batch: log pi(y|x) = sum over the row's response tokens of
 * log p(y_t | x, y_<t) ({@link tokenLogProbs} of the final hidden states [rows, T, D] at the prediction
 * positions), divided by the response length |y| for `mean`. Returns [rows].
 */
export function responseLogProbs(
  hidden: tf.Tensor3D,
  head: Head,
  r: ResponseTokens,
  agg: LogpAgg,
): tf.Tensor1D {
  const tokLp = tokenLogProbs(hiddenAt(hidden, r.predIdx), head, r.targets);
  const sums = tf.unsortedSegmentSum(tokLp, r.rowOfToken, hidden.shape[0]) as tf.Tensor1D;
  return agg === 'mean' ? tf.div(sums, r.respLen) : sums;
}

/**
 * Mean next-token cross-entropy over positions where `weights` is 1: hidden [N, D] at prediction positions,
 * targets [N]. Returns the scalar loss.
 */
export function lmLoss(
  hidden: tf.Tensor2D,
  head: Head,
  targets: tf.Tensor1D,
  weights?: tf.Tensor1D,
): tf.Scalar {
  const lp = tokenLogProbs(hidden, head, targets);
  if (!weights) return tf.neg(tf.mean(lp)) as tf.Scalar;
  return tf.neg(tf.div(tf.sum(tf.mul(lp, weights)), tf.maximum(tf.sum(weights), 1))) as tf.Scalar;
}
