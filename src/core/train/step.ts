/**
 * One optimisation step, for every stage: the loss inside a gradient closure, global-norm clipping, AdamW,
 * and the step's metrics under TRL's names. The benchmark times exactly {@link Stepper.preferenceStep}.
 */
import * as tf from '@tensorflow/tfjs-core';
import { forward, modelHead, tapKindsOf, tapWidth } from '../model/models.js';
import type { ModelConfig, Params, TapKind } from '../model/architecture.js';
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
  /** Any tap kind of the architecture (see {@link defaultTap}). */
  tap: TapKind;
  /** rowcos only: L2-normalise rows (default) or use raw activations. */
  rowcosNormalize: boolean;
  /** SimPO's target margin gamma (beta is `beta`). */
  simpoGamma: number;
}

export { DPO_BETA };

/**
 * The tap DecPO regularizes by default: for gated MLPs (whose taps include `mlp.pre_linear`) the up
 * projection's output, the paper's z (Yan et al. 2024 put the regularizer there); else the MLP's neurons.
 */
export function defaultTap(cfg: ModelConfig): TapKind {
  return tapKindsOf(cfg).includes('mlp.pre_linear') ? 'mlp.pre_linear' : 'mlp.post';
}

/** Checks that the objective's tap exists in `cfg` (block and kind), with an error naming what there is. */
export function checkObjectiveTap(cfg: ModelConfig, o: PreferenceObjective): void {
  const kinds = tapKindsOf(cfg);
  if (!kinds.includes(o.tap)) {
    throw new Error(
      `tap '${o.tap}' does not exist in this ${cfg.arch ?? 'gpt2'} model; its tap kinds: ${kinds.join(', ')}`,
    );
  }
  if (o.layer < 0 || o.layer >= cfg.nLayer)
    throw new Error(`layer ${o.layer} does not exist (the model has blocks 0..${cfg.nLayer - 1})`);
}

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
  dropoutSeed?: number,
): PrefForward {
  const rows = t.ids.shape[0];
  const tapName = `blocks.${o.layer}.${o.tap}`;
  const needTap = monitor || o.stage === 'decpo' || o.stage === 'l1';
  const { hidden, taps } = forward(cfg, params, t.ids, {
    hiddenOnly: true,
    taps: needTap ? [tapName] : [],
    dropoutSeed,
  });
  const T = t.ids.shape[1];
  const logps = responseLogProbs(hidden, modelHead(cfg, params), t, o.logpAgg);
  let loss = preferenceLoss(logps, t.respLen, ref, o);
  let penalty: tf.Scalar | null = null;
  let z: tf.Tensor2D | null = null;
  let gram: tf.Tensor2D | null = null;
  if (needTap) {
    const act = tf.reshape(taps.get(tapName)!, [rows * T, tapWidth(cfg, tapName)]) as tf.Tensor2D;
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

/** Options of one step. */
export interface StepOptions {
  /**
   * LoRA dropout is drawn from this seed (one per step; micro-batch j uses `dropoutSeed + j`). Without it,
   * or without an adapter, there is no dropout.
   */
  dropoutSeed?: number;
}

/** A step's batch: one batch, or its micro-batches (gradient accumulation, see {@link Stepper}). */
export type Batches<B> = B | readonly B[];

const asList = <B>(b: Batches<B>): readonly B[] => (Array.isArray(b) ? b : [b as B]);

/** Pairs `[from, from + n)` of reference log-probs. */
function sliceRef(ref: RefLogps, from: number, n: number): RefLogps {
  return { chosen: ref.chosen.subarray(from, from + n), rejected: ref.rejected.subarray(from, from + n) };
}

/**
 * Holds a model's trainable parameters (all of them, or a LoRA adapter's: variables made trainable) and its
 * optimizer, and runs steps. One Stepper per run: AdamW keeps its state by the fixed order of the variables.
 *
 * Gradient accumulation: a step given micro-batches runs forward and backward on each in turn and sums the
 * gradients, each micro-batch's loss weighted by its share of the batch (pairs, or weighted tokens for LM
 * steps), then clips and applies one AdamW update. The preference and LM losses are means over pairs or
 * tokens, so the accumulated gradient equals the whole batch's exactly. DecPO's penalty is not: it is
 * computed per micro-batch (Pearson correlations over that micro-batch's response tokens only) and enters
 * with the same weight, so `decorr/penalty` is the pair-weighted mean of the micro-batches' penalties (as
 * with gradient accumulation in the authors' Trainer), and so is `decorr/mean_abs_corr`. Only activations
 * of one micro-batch are alive at a time.
 */
export class Stepper {
  readonly names: string[];
  readonly vars: tf.Variable[];
  readonly optimizer: AdamW;
  /**
   * The most bytes of live tensors seen at the end of a forward pass inside the gradient closure (every
   * activation the backward pass needs is alive then), over all steps so far: TF.js's
   * `tf.memory().numBytes`, which counts tensors that share a buffer (reshapes) once each, so it is an upper
   * bound on the tensor memory; the process's peak RSS (loop.ts) is the measured figure.
   */
  peakTensorBytes = 0;

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

  private notePeak(): void {
    this.peakTensorBytes = Math.max(this.peakTensorBytes, tf.memory().numBytes);
  }

  /** Applies gradients by parameter name (clipped) and returns the pre-clipping global norm. Disposes `grads`. */
  private async update(grads: Record<string, tf.Tensor>, lr: number): Promise<number> {
    const list = this.names.map((n) => grads[n]);
    const { norm, clipped } = clipByGlobalNorm(list, this.maxGradNorm);
    const gradNorm = (await norm.data())[0];
    norm.dispose();
    for (const g of list) g.dispose();
    if (Number.isFinite(gradNorm)) this.optimizer.apply(clipped, lr);
    for (const g of clipped) g.dispose();
    return gradNorm;
  }

  /**
   * Runs `parts` (micro-batches) through `part`, which returns a part's loss value and its gradients of the
   * weighted loss, and sums the gradients. Stops at the first non-finite loss (disposing what it holds) and
   * returns null then.
   */
  private async accumulate<P>(
    parts: readonly P[],
    part: (p: P, j: number) => Promise<{ loss: number; grads: Record<string, tf.Tensor> }>,
  ): Promise<{ losses: number[]; grads: Record<string, tf.Tensor> } | { losses: number[]; grads: null }> {
    let sum: Record<string, tf.Tensor> | null = null;
    const losses: number[] = [];
    for (const [j, p] of parts.entries()) {
      const r = await part(p, j);
      const { loss } = r;
      // tf.variableGrads names gradients by variable; ours go by parameter name.
      const grads = Object.fromEntries(this.names.map((n, i) => [n, r.grads[this.vars[i].name]]));
      losses.push(loss);
      if (!Number.isFinite(loss)) {
        for (const g of [...Object.values(grads), ...Object.values(sum ?? {})]) g.dispose();
        return { losses, grads: null };
      }
      if (!sum) sum = grads;
      else {
        for (const name of this.names) {
          const next = tf.add(sum[name], grads[name]);
          sum[name].dispose();
          grads[name].dispose();
          sum[name] = next;
        }
      }
    }
    return { losses, grads: sum! };
  }

  /**
   * One preference step (DPO, DecPO, SimPO, L1) on a batch or its micro-batches (`ref`: the reference
   * log-probs of all their pairs, in order). Logs `loss`, `rewards/chosen|rejected|margins|accuracies`,
   * `logps/chosen|rejected`, `grad_norm`, `learning_rate`, and for DecPO/L1 `decorr/penalty`; with
   * `monitor`, `decorr/mean_abs_corr` of the regularized block's neurons over the response tokens.
   * A non-finite loss skips the update and is returned as such (the loop stops the run).
   */
  async preferenceStep(
    batch: Batches<PreferenceBatch>,
    ref: RefLogps | null,
    o: PreferenceObjective,
    lr: number,
    monitor = true,
    opts: StepOptions = {},
  ): Promise<StepMetrics> {
    const { metrics, grads } = await this.preferenceGradients(batch, ref, o, monitor, opts);
    metrics.learning_rate = lr;
    metrics.grad_norm = grads ? await this.update(grads, lr) : NaN;
    return metrics;
  }

  /**
   * The metrics of {@link preferenceStep} but `grad_norm` and `learning_rate`, and the (accumulated)
   * gradients of the loss by trainable parameter name, without updating anything; null gradients when the
   * loss is not finite. The caller owns (disposes) the gradients.
   */
  async preferenceGradients(
    batch: Batches<PreferenceBatch>,
    ref: RefLogps | null,
    o: PreferenceObjective,
    monitor = true,
    opts: StepOptions = {},
  ): Promise<{ metrics: StepMetrics; grads: Record<string, tf.Tensor> | null }> {
    const micro = asList(batch);
    const P = micro.reduce((s, b) => s + b.pairs, 0);
    const logps = new Float32Array(2 * P);
    let penalty: number | undefined;
    let corr: number | undefined;
    let off = 0;
    const acc = await this.accumulate(micro, async (b, j) => {
      const w = b.pairs / P;
      const r = await this.preferencePart(
        b,
        ref && sliceRef(ref, off, b.pairs),
        o,
        monitor,
        w,
        seedOf(opts, j),
      );
      logps.set(r.logps.subarray(0, b.pairs), off);
      logps.set(r.logps.subarray(b.pairs), P + off);
      off += b.pairs;
      if (r.penalty !== undefined) penalty = (penalty ?? 0) + w * r.penalty;
      if (r.corr !== undefined) corr = (corr ?? 0) + w * r.corr;
      return r;
    });
    const loss = acc.losses.reduce((s, l, j) => s + (micro[j].pairs / P) * l, 0);
    if (!acc.grads) return { metrics: { loss }, grads: null };
    const metrics: StepMetrics = { loss, ...preferenceMetrics(logps, ref, o) };
    if (penalty !== undefined) metrics['decorr/penalty'] = penalty;
    if (corr !== undefined) metrics['decorr/mean_abs_corr'] = corr;
    return { metrics, grads: acc.grads };
  }

  /**
   * Forward and backward of one (micro-)batch: its unweighted loss, policy log-probs [2P], penalty and
   * mean |corr|, and the gradients of `weight` times its loss.
   */
  private async preferencePart(
    batch: PreferenceBatch,
    ref: RefLogps | null,
    o: PreferenceObjective,
    monitor: boolean,
    weight: number,
    dropoutSeed: number | undefined,
  ): Promise<{
    loss: number;
    grads: Record<string, tf.Tensor>;
    logps: Float32Array;
    penalty?: number;
    corr?: number;
  }> {
    const t = prefTensors(batch);
    const refT = ref ? { chosen: tf.tensor1d(ref.chosen), rejected: tf.tensor1d(ref.rejected) } : null;
    let kept: {
      loss: tf.Scalar;
      logps: tf.Tensor1D;
      penalty: tf.Scalar | null;
      z: tf.Tensor2D | null;
      gram: tf.Tensor2D | null;
    } | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const r = preferenceForward(this.cfg, this.params, t, refT, o, monitor, dropoutSeed);
      this.notePeak();
      kept = {
        loss: tf.keep(r.loss),
        logps: tf.keep(r.logps),
        penalty: r.penalty && tf.keep(r.penalty),
        // The metric needs Z's Pearson matrix: keep it if the penalty made it, else keep Z.
        z: r.z && !r.gram ? tf.keep(r.z) : null,
        gram: r.gram && tf.keep(r.gram),
      };
      return weight === 1 ? r.loss : tf.mul(r.loss, weight);
    }, this.vars);
    const k = kept!;
    const loss = (await k.loss.data())[0];
    const corrT = k.gram
      ? tf.tidy(() => meanAbsFromGram(k.gram!))
      : k.z
        ? tf.tidy(() => meanAbsCorrelation(k.z!))
        : null;
    const out = {
      loss,
      grads,
      logps: Float32Array.from(await k.logps.data()),
      ...(k.penalty && { penalty: (await k.penalty.data())[0] }),
      ...(corrT && { corr: (await corrT.data())[0] }),
    };
    disposeAll({ value, corrT, ...k, ...t, ...(refT ?? {}) });
    return out;
  }

  /** One next-token step (pretrain, SFT) on a batch or its micro-batches. Logs `loss`, `grad_norm`, `learning_rate`. */
  async lmStep(batch: Batches<LmBatch>, lr: number, opts: StepOptions = {}): Promise<StepMetrics> {
    const micro = asList(batch);
    const weightOf = (b: LmBatch) =>
      Math.max(
        b.weights.reduce((s, w) => s + w, 0),
        1,
      );
    const total = micro.reduce((s, b) => s + b.weights.reduce((a, w) => a + w, 0), 0);
    // lmLoss is a weighted mean over tokens; micro-batch j's share of the batch's weight makes the sum exact.
    const share = micro.map((b) => (micro.length === 1 ? 1 : weightOf(b) / Math.max(total, 1)));
    const acc = await this.accumulate(micro, async (b, j) => {
      const ids = tf.tensor2d(b.ids, [b.B, b.T], 'int32');
      const predIdx = tf.tensor1d(b.predIdx, 'int32');
      const targets = tf.tensor1d(b.targets, 'int32');
      const weights = tf.tensor1d(b.weights, 'float32');
      let lossT: tf.Scalar | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const l = lmBatchLoss(this.cfg, this.params, ids, predIdx, targets, weights, seedOf(opts, j));
        this.notePeak();
        lossT = tf.keep(l);
        return share[j] === 1 ? l : tf.mul(l, share[j]);
      }, this.vars);
      const loss = (await lossT!.data())[0];
      disposeAll({ value, lossT, ids, predIdx, targets, weights });
      return { loss, grads };
    });
    const loss = acc.losses.reduce((s, l, j) => s + share[j] * l, 0);
    if (!acc.grads) return { loss, grad_norm: NaN, learning_rate: lr };
    return { loss, grad_norm: await this.update(acc.grads, lr), learning_rate: lr };
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** Micro-batch j's dropout seed. */
function seedOf(opts: StepOptions, j: number): number | undefined {
  return opts.dropoutSeed === undefined ? undefined : opts.dropoutSeed + j;
}

/** Weighted next-token loss of an LM batch. */
function lmBatchLoss(
  cfg: ModelConfig,
  params: Params,
  ids: tf.Tensor2D,
  predIdx: tf.Tensor1D,
  targets: tf.Tensor1D,
  weights: tf.Tensor1D,
  dropoutSeed?: number,
): tf.Scalar {
  const { hidden } = forward(cfg, params, ids, { hiddenOnly: true, dropoutSeed });
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
