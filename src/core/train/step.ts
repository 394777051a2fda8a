/**
 * One optimisation step, for every stage: the loss inside a gradient closure, global-norm clipping, AdamW,
 * and the step's metrics under TRL's names. The benchmark times exactly {@link Stepper.preferenceStep}.
 */
import * as tf from '@tensorflow/tfjs-core';
import { forward, modelHead } from '../model/models.js';
import type { ModelConfig, Params } from '../model/architecture.js';
import type { LmBatch, PreferenceBatch } from './batches.js';
import {
  dpoLoss,
  hiddenAt,
  lmLoss,
  responseLogProbs,
  simpoLoss,
  type DpoLossType,
  type LogpAgg,
  type ResponseTokens,
} from './losses.js';
import { DPO_BETA } from '../names.js';
import { AdamW, clipByGlobalNorm } from './optimizer.js';
import {
  authorsPenalty,
  barlowFromGram,
  meanAbsCorrelation,
  meanAbsFromGram,
  pearsonGram,
  rowcosPenalty,
  type RegularizerId,
} from './regularizers.js';

export type PreferenceStage = 'dpo' | 'decpo' | 'simpo' | 'l1';
export type { LogpAgg };

/** Everything that defines a preference objective; stored with every run. */
export interface PreferenceObjective {
  stage: PreferenceStage;
  beta: number;
  lossType: DpoLossType;
  labelSmoothing: number;
  /** Response log-probs summed over tokens (standard DPO, TRL) or averaged (the DecPO authors' code). */
  logpAgg: LogpAgg;
  /** DecPO: which regularizer, its weight, and where it reads activations. */
  regularizer: RegularizerId;
  lambda: number;
  layer: number;
  tap: 'mlp.post' | 'mlp.pre';
  /** rowcos only: L2-normalise rows (default) or use raw activations. */
  rowcosNormalize: boolean;
  /** SimPO's target margin gamma (beta is `beta`). */
  simpoGamma: number;
}

export { DPO_BETA };

/** Defaults: TRL's DPO (beta `DPO_BETA`, sigmoid, sum) and DecPO with `barlow` on block 0's `mlp.post`. */
export function preferenceObjective(
  p: Partial<PreferenceObjective> & { stage: PreferenceStage },
): PreferenceObjective {
  const o: PreferenceObjective = {
    beta: p.stage === 'simpo' ? 2.0 : DPO_BETA,
    lossType: 'sigmoid',
    labelSmoothing: 0,
    logpAgg: p.stage === 'simpo' ? 'mean' : 'sum',
    regularizer: 'barlow',
    lambda: p.stage === 'l1' ? 1e-4 : p.regularizer === 'authors' ? 1e-3 : 1e-4,
    layer: 0,
    tap: 'mlp.post',
    rowcosNormalize: true,
    simpoGamma: 0.2,
    ...p,
  };
  if (!(o.beta > 0)) throw new Error(`beta must be > 0, got ${o.beta}`);
  if (!(o.lambda >= 0)) throw new Error(`lambda must be >= 0, got ${o.lambda}`);
  return o;
}

/** Tensors of a preference batch, made once outside the gradient closure. */
interface PrefTensors extends ResponseTokens {
  ids: tf.Tensor2D;
  respIdx: tf.Tensor1D;
  lastIdx: tf.Tensor1D;
  padLastIdx: tf.Tensor1D;
  authorsRows: tf.Tensor1D;
}

function prefTensors(b: PreferenceBatch): PrefTensors {
  const rows = 2 * b.pairs;
  const authorsRows = Int32Array.from({ length: Math.ceil(rows / 2) }, (_, i) => b.padLastIdx[2 * i]);
  return {
    ids: tf.tensor2d(b.ids, [rows, b.T], 'int32'),
    predIdx: tf.tensor1d(b.predIdx, 'int32'),
    targets: tf.tensor1d(b.targets, 'int32'),
    rowOfToken: tf.tensor1d(b.rowOfToken, 'int32'),
    respIdx: tf.tensor1d(b.respIdx, 'int32'),
    lastIdx: tf.tensor1d(b.lastIdx, 'int32'),
    padLastIdx: tf.tensor1d(b.padLastIdx, 'int32'),
    respLen: tf.tensor1d(Float32Array.from(b.respLen), 'float32'),
    authorsRows: tf.tensor1d(authorsRows, 'int32'),
  };
}

function disposeAll(x: Record<string, tf.Tensor | null | undefined>): void {
  for (const t of Object.values(x)) t?.dispose();
}

/** Metrics of one step, by TRL name (plus `decorr/*`). */
export type StepMetrics = Record<string, number>;

/** Reference log-probs of a batch's pairs, per pair, in the same aggregation as the policy's. */
export interface RefLogps {
  chosen: Float32Array;
  rejected: Float32Array;
}

interface PrefForward {
  loss: tf.Scalar;
  /** Policy log-probs per row [2P] (chosen rows first). */
  logps: tf.Tensor1D;
  penalty: tf.Scalar | null;
  /** Activations of the monitored block at the response tokens [n, d], for `decorr/mean_abs_corr`. */
  z: tf.Tensor2D | null;
  /** Their Pearson matrix, when the `barlow` penalty computed it already (the metric reuses it). */
  gram: tf.Tensor2D | null;
}

/**
 * The preference loss (without the regularizer) of response log-probs [2P] (chosen rows first) in the
 * objective's aggregation: SimPO on the per-token means (`respLen` divides sums), DPO against `ref`'s.
 */
export function preferenceLoss(
  logps: tf.Tensor1D,
  respLen: tf.Tensor1D,
  ref: { chosen: tf.Tensor1D; rejected: tf.Tensor1D } | null,
  o: PreferenceObjective,
): tf.Scalar {
  const P = logps.shape[0] / 2;
  if (o.stage === 'simpo') {
    const mean = o.logpAgg === 'mean' ? logps : tf.div(logps, respLen);
    const [mc, mr] = tf.split(mean, [P, P]) as [tf.Tensor1D, tf.Tensor1D];
    return simpoLoss(mc, mr, { beta: o.beta, gamma: o.simpoGamma });
  }
  if (!ref) throw new Error(`${o.stage} needs reference log-probs`);
  const [pc, pr] = tf.split(logps, [P, P]) as [tf.Tensor1D, tf.Tensor1D];
  return dpoLoss(pc, pr, ref.chosen, ref.rejected, {
    beta: o.beta,
    lossType: o.lossType,
    labelSmoothing: o.labelSmoothing,
  });
}

/**
 * The preference loss of one batch. `ref` is null for SimPO. Returns tensors the caller must dispose
 * (outside a tidy) or let a tidy collect.
 */
function preferenceForward(
  cfg: ModelConfig,
  params: Params,
  t: PrefTensors,
  ref: { chosen: tf.Tensor1D; rejected: tf.Tensor1D } | null,
  o: PreferenceObjective,
  monitor: boolean,
): PrefForward {
  const rows = t.ids.shape[0];
  const tapName = `blocks.${o.layer}.${o.tap}`;
  const needTap = monitor || o.stage === 'decpo' || o.stage === 'l1';
  const { hidden, taps } = forward(cfg, params, t.ids, { hiddenOnly: true, taps: needTap ? [tapName] : [] });
  const T = t.ids.shape[1];
  const logps = responseLogProbs(hidden, modelHead(cfg, params), t, o.logpAgg);
  let loss = preferenceLoss(logps, t.respLen, ref, o);
  let penalty: tf.Scalar | null = null;
  let z: tf.Tensor2D | null = null;
  let gram: tf.Tensor2D | null = null;
  if (needTap) {
    const act = tf.reshape(taps.get(tapName)!, [rows * T, cfg.nInner]) as tf.Tensor2D;
    z = tf.gather(act, t.respIdx) as tf.Tensor2D;
    if (o.stage === 'decpo') {
      if (o.regularizer === 'barlow') penalty = barlowFromGram((gram = pearsonGram(z)));
      else if (o.regularizer === 'rowcos')
        penalty = rowcosPenalty(tf.gather(act, t.lastIdx) as tf.Tensor2D, o.rowcosNormalize);
      else penalty = authorsPenalty(tf.gather(act, t.authorsRows) as tf.Tensor2D);
    } else if (o.stage === 'l1') {
      // The L1-Reg baseline of Yan et al. 2024 (arXiv 2406.17969): mean over sequences of sum_k |u_k| at the
      // last response token.
      penalty = tf.mean(tf.sum(tf.abs(tf.gather(act, t.lastIdx)), 1)) as tf.Scalar;
    }
    if (penalty) loss = tf.add(loss, tf.mul(penalty, o.lambda)) as tf.Scalar;
  }
  return { loss, logps, penalty, z, gram };
}

/**
 * Holds a model's trainable parameters (all of them, or a LoRA adapter's: variables made trainable) and its
 * optimizer, and runs steps. One Stepper per run: AdamW keeps its state by the fixed order of the variables.
 */
export class Stepper {
  readonly names: string[];
  readonly vars: tf.Variable[];
  readonly optimizer: AdamW;

  constructor(
    readonly cfg: ModelConfig,
    readonly params: Params,
    opts: { weightDecay: number; beta1?: number; beta2?: number; eps?: number; maxGradNorm: number },
  ) {
    this.names = [...params.keys()].filter((n) => params.get(n)!.trainable);
    this.vars = this.names.map((n) => params.get(n)!);
    this.optimizer = new AdamW(this.names, this.vars, opts);
    this.maxGradNorm = opts.maxGradNorm;
  }

  private readonly maxGradNorm: number;

  /** Applies gradients (clipped) and returns the pre-clipping global norm. Disposes `grads`. */
  private async update(grads: Record<string, tf.Tensor>, lr: number): Promise<number> {
    const list = this.vars.map((v) => grads[v.name]);
    const { norm, clipped } = clipByGlobalNorm(list, this.maxGradNorm);
    const gradNorm = (await norm.data())[0];
    norm.dispose();
    for (const g of list) g.dispose();
    if (Number.isFinite(gradNorm)) this.optimizer.apply(clipped, lr);
    for (const g of clipped) g.dispose();
    return gradNorm;
  }

  /**
   * One preference step (DPO, DecPO, SimPO, L1). Logs `loss`, `rewards/chosen|rejected|margins|accuracies`,
   * `logps/chosen|rejected`, `grad_norm`, `learning_rate`, and for DecPO/L1 `decorr/penalty`; with
   * `monitor`, `decorr/mean_abs_corr` of the regularized block's neurons over the response tokens.
   * A non-finite loss skips the update and is returned as such (the loop stops the run).
   */
  async preferenceStep(
    batch: PreferenceBatch,
    ref: RefLogps | null,
    o: PreferenceObjective,
    lr: number,
    monitor = true,
  ): Promise<StepMetrics> {
    const t = prefTensors(batch);
    const refT = ref ? { chosen: tf.tensor1d(ref.chosen), rejected: tf.tensor1d(ref.rejected) } : null;
    let kept: {
      logps: tf.Tensor1D;
      penalty: tf.Scalar | null;
      z: tf.Tensor2D | null;
      gram: tf.Tensor2D | null;
    } | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const r = preferenceForward(this.cfg, this.params, t, refT, o, monitor);
      kept = {
        logps: tf.keep(r.logps),
        penalty: r.penalty && tf.keep(r.penalty),
        // The metric needs Z's Pearson matrix: keep it if the penalty made it, else keep Z.
        z: r.z && !r.gram ? tf.keep(r.z) : null,
        gram: r.gram && tf.keep(r.gram),
      };
      return r.loss;
    }, this.vars);
    const k = kept!;
    const loss = (await value.data())[0];
    value.dispose();
    const corr = k.gram
      ? tf.tidy(() => meanAbsFromGram(k.gram!))
      : k.z
        ? tf.tidy(() => meanAbsCorrelation(k.z!))
        : null;
    const logps = (await k.logps.data()) as Float32Array;
    const metrics: StepMetrics = {
      loss,
      ...preferenceMetrics(logps, ref, o),
      learning_rate: lr,
    };
    if (k.penalty) metrics['decorr/penalty'] = (await k.penalty.data())[0];
    if (corr) metrics['decorr/mean_abs_corr'] = (await corr.data())[0];
    corr?.dispose();
    disposeAll({ logps: k.logps, penalty: k.penalty, z: k.z, gram: k.gram, ...t, ...(refT ?? {}) });
    if (!Number.isFinite(loss)) {
      for (const g of Object.values(grads)) g.dispose();
      metrics.grad_norm = NaN;
      return metrics;
    }
    metrics.grad_norm = await this.update(grads, lr);
    return metrics;
  }

  /** One next-token step (pretrain, SFT). Logs `loss`, `grad_norm`, `learning_rate`. */
  async lmStep(batch: LmBatch, lr: number): Promise<StepMetrics> {
    const ids = tf.tensor2d(batch.ids, [batch.B, batch.T], 'int32');
    const predIdx = tf.tensor1d(batch.predIdx, 'int32');
    const targets = tf.tensor1d(batch.targets, 'int32');
    const weights = tf.tensor1d(batch.weights, 'float32');
    const { value, grads } = tf.variableGrads(
      () => lmBatchLoss(this.cfg, this.params, ids, predIdx, targets, weights),
      this.vars,
    );
    const loss = (await value.data())[0];
    disposeAll({ value, ids, predIdx, targets, weights });
    if (!Number.isFinite(loss)) {
      for (const g of Object.values(grads)) g.dispose();
      return { loss, grad_norm: NaN, learning_rate: lr };
    }
    const gradNorm = await this.update(grads, lr);
    return { loss, grad_norm: gradNorm, learning_rate: lr };
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** Weighted next-token loss of an LM batch. */
function lmBatchLoss(
  cfg: ModelConfig,
  params: Params,
  ids: tf.Tensor2D,
  predIdx: tf.Tensor1D,
  targets: tf.Tensor1D,
  weights: tf.Tensor1D,
): tf.Scalar {
  const { hidden } = forward(cfg, params, ids, { hiddenOnly: true });
  return lmLoss(hiddenAt(hidden, predIdx), modelHead(cfg, params), targets, weights);
}

/** Evaluation loss of an LM batch (no gradient). */
export async function lmEvalLoss(cfg: ModelConfig, params: Params, batch: LmBatch): Promise<number> {
  const v = tf.tidy(() =>
    lmBatchLoss(
      cfg,
      params,
      tf.tensor2d(batch.ids, [batch.B, batch.T], 'int32'),
      tf.tensor1d(batch.predIdx, 'int32'),
      tf.tensor1d(batch.targets, 'int32'),
      tf.tensor1d(batch.weights, 'float32'),
    ),
  );
  const x = (await v.data())[0];
  v.dispose();
  return x;
}

/**
 * Response log-probs of each row of a preference batch, without gradient: [2P] (chosen rows first), in the
 * chosen aggregation. Used for the cached reference log-probs, evaluation, and `monoscope eval`.
 */
export async function responseLogps(
  cfg: ModelConfig,
  params: Params,
  batch: PreferenceBatch,
  agg: LogpAgg,
): Promise<Float32Array> {
  const t = prefTensors(batch);
  const out = tf.tidy(() =>
    responseLogProbs(
      forward(cfg, params, t.ids, { hiddenOnly: true }).hidden,
      modelHead(cfg, params),
      t,
      agg,
    ),
  );
  const values = (await out.data()) as Float32Array;
  disposeAll({ out, ...t });
  return Float32Array.from(values);
}

/**
 * {@link preferenceLoss} of log-probs already on the host: policy log-probs [2P] (chosen rows first), each
 * row's response length, and the reference's (null for SimPO). For held-out evaluation and `monoscope eval`.
 */
export async function preferenceLossValue(
  logps: Float32Array,
  respLen: ArrayLike<number>,
  ref: RefLogps | null,
  o: PreferenceObjective,
): Promise<number> {
  const v = tf.tidy(() =>
    preferenceLoss(
      tf.tensor1d(logps),
      tf.tensor1d(Float32Array.from(respLen)),
      ref && { chosen: tf.tensor1d(ref.chosen), rejected: tf.tensor1d(ref.rejected) },
      o,
    ),
  );
  const x = (await v.data())[0];
  v.dispose();
  return x;
}

/**
 * TRL's reward metrics from policy log-probs [2P] and reference log-probs: r = beta (log pi - log ref);
 * margins = mean(r_w - r_l); accuracies = mean 1[r_w > r_l]. For SimPO (no reference), r = beta * log pi.
 */
export function preferenceMetrics(
  logps: Float32Array,
  ref: RefLogps | null,
  o: Pick<PreferenceObjective, 'beta'>,
): StepMetrics {
  const P = logps.length / 2;
  let rc = 0;
  let rr = 0;
  let acc = 0;
  let lc = 0;
  let lr = 0;
  for (let i = 0; i < P; i++) {
    const a = o.beta * (logps[i] - (ref ? ref.chosen[i] : 0));
    const b = o.beta * (logps[P + i] - (ref ? ref.rejected[i] : 0));
    rc += a;
    rr += b;
    acc += a > b ? 1 : 0;
    lc += logps[i];
    lr += logps[P + i];
  }
  return {
    'rewards/chosen': rc / P,
    'rewards/rejected': rr / P,
    'rewards/margins': (rc - rr) / P,
    'rewards/accuracies': acc / P,
    'logps/chosen': lc / P,
    'logps/rejected': lr / P,
  };
}
