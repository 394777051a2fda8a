/**
 * Crosscoders (Lindsey et al. 2024, "Sparse Crosscoders"; Minder et al. 2025, arXiv 2504.02922): one sparse
 * dictionary trained jointly on the same tap of n models over the same tokens, trained with TF.js.
 *
 *   f = act(Σ_m W_enc^m (x^m s_m) + b_enc),   x̂^m = W_dec^m f + b_dec^m,
 *
 * one latent vector f per token, one decoder per model. Each model's inputs are multiplied by a scalar s_m so
 * that E||x^m s_m|| = sqrt(d_in) (as our SAEs, `expectedNormScale`); reconstructions and losses are in that
 * scaled space, metrics on de-normalised activations. With the models' scaled inputs concatenated,
 * X = [x^1 s_1, ..., x^n s_n] ([B, n·d_in]), the crosscoder is an SAE on X whose latent i has one decoder
 * block d_i^m per model; c_i = Σ_m ||d_i^m|| is its total decoder norm.
 *
 * **BatchTopK** (Bussmann et al. 2024, arXiv 2412.06410): during training keep the k·B largest values of
 * the whole batch (not k per row), then train on the squared error Σ_m ||x^m − x̂^m||². As in Minder et al.'s
 * crosscoders (their `dictionary_learning` fork, `BatchTopKCrossCoder` with the crosscoder code
 * normalisation), the values ranked are ReLU(pre)_i · c_i, so that a latent cannot win the selection by
 * moving scale from its decoder into its encoder. At inference the batch is replaced by a threshold,
 * f_i = pre_i · [pre_i c_i > θ] (JumpReLU), θ the expected smallest kept positive value of a batch
 * (Bussmann et al.; Minder et al.'s trainer keeps an exponential average of it, `update_threshold`); here
 * the plain mean over the second half of the steps, when the encoder has settled. Dead latents (no kept
 * activation for a window of tokens) are trained by AuxK as our TopK SAEs and as both papers' code does
 * (Gao et al., arXiv 2406.04093 App. A.2): the top k_aux = d_in/2 dead latents of each row reconstruct the
 * residual, weight 1/32.
 *
 * **L1** (Lindsey et al.; Minder et al.): loss = mean_b [ Σ_m ||x^m − x̂^m||² + λ Σ_i f_i c_i ], the
 * sparsity of each latent weighted by the sum of its decoder norms over models; λ rises linearly from 0 over
 * the first 5% of the steps, as our ReLU SAEs.
 *
 * Decoders are not constrained (their relative norms across models are the point). After training each
 * latent is rescaled so that c_i = 1 (encoder column and bias times c_i, decoder blocks over c_i): the map
 * x → x̂ is unchanged (ReLU is positively homogeneous), and BatchTopK's rule pre_i c_i > θ becomes a
 * JumpReLU with one threshold θ for every latent. Weights are saved in the layout of
 * `diff/types.ts`: W_enc [n, d_in, d_sae], b_enc [d_sae], W_dec [d_sae, n, d_in], b_dec [n, d_in],
 * threshold [d_sae]. Call initBackend() first.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { activeBackend } from '../backend/index.js';
import { Rng } from '../model/rng.js';
import { readSafetensors, serializeSafetensors, type NamedArray } from '../model/safetensors.js';
import { checkMatrix, type Matrix } from '../analysis/matrix.js';
import {
  codeMetrics,
  expectedNormScale,
  tensorGetter,
  writeDictionaryFiles,
  type SaeMetrics,
  type SaeStepLog,
} from '../analysis/sae.js';
import { throwIfCancelled } from '../ops/progress.js';
import { SAE_TOPK_K } from '../names.js';
import type { CrosscoderKind } from './types.js';

export interface CrosscoderConfig {
  kind: CrosscoderKind;
  /** Models (2 or more): the length of the inputs' model axis. */
  nModels: number;
  dIn: number;
  dSae: number;
  /** BatchTopK: mean active latents per token (k·B kept over a batch of B tokens; default 32). */
  k?: number;
  /** L1: the coefficient λ of the decoder-norm-weighted penalty (default 5, as our ReLU SAEs). */
  l1Coefficient?: number;
  /** Adam learning rate, constant (default 1e-3 for BatchTopK, 5e-4 for L1, as our SAEs). */
  lr?: number;
  /**
   * Tokens per step (default 256: at a fixed budget of tokens, more and smaller steps fit further; on the
   * demo's MLP neurons, 800 steps of 256 reached a held-out explained variance of 0.95 where 200 of 1,024
   * reached 0.89).
   */
  batchSize?: number;
  /** Optimiser steps (default 1,000); the rows are reshuffled (seeded) after each pass. */
  steps?: number;
  /** Seed of the initialisation and the batch order (default 0). */
  seed?: number;
}

export type ResolvedCrosscoderConfig = Required<CrosscoderConfig>;

/** A trained crosscoder: weights as plain row-major arrays in the layout of the file comment. */
export interface Crosscoder {
  config: ResolvedCrosscoderConfig;
  /** Per model: inputs are multiplied by this before encoding, sqrt(d_in) / E||x^m|| on the training data. */
  inputScales: number[];
  /** [n, d_in, d_sae] */
  wEnc: Float32Array;
  /** [d_sae] */
  bEnc: Float32Array;
  /** [d_sae, n, d_in] */
  wDec: Float32Array;
  /** [n, d_in] */
  bDec: Float32Array;
  /** BatchTopK: the inference threshold θ, the same value for every latent ([d_sae]). */
  threshold?: Float32Array;
}

/**
 * One logged training step, as an SAE's: `mse` is mean_b Σ_m ||x^m − x̂^m||² (scaled space), `aux` AuxK
 * (BatchTopK) or the L1 term before λ (L1).
 */
export interface CrosscoderStepLog extends SaeStepLog {
  /** BatchTopK: the smallest positive kept value ReLU(pre)_i c_i of this batch (0 when none is positive). */
  minKept?: number;
}

/** Share of the steps over which λ warms up (L1), as our ReLU SAEs. */
const L1_WARMUP_FRACTION = 0.05;
/** AuxK coefficient (Gao et al. App. A.2). */
const AUX_ALPHA = 1 / 32;
/** θ averages the batch minima of the steps from this fraction of the run on. */
const THRESHOLD_FROM = 0.5;

/** Every setting of a crosscoder config, defaults applied; throws on invalid ones. */
export function resolveCrosscoderConfig(c: CrosscoderConfig): ResolvedCrosscoderConfig {
  for (const key of ['nModels', 'dIn', 'dSae'] as const) {
    if (!Number.isInteger(c[key]) || c[key] <= 0)
      throw new Error(`crosscoder config: ${key} must be a positive integer, got ${c[key]}`);
  }
  if (c.nModels < 2) throw new Error(`crosscoder config: nModels must be at least 2, got ${c.nModels}`);
  if (c.kind !== 'batchtopk' && c.kind !== 'l1')
    throw new Error(`crosscoder config: kind must be 'batchtopk' or 'l1', got ${JSON.stringify(c.kind)}`);
  const k = c.k ?? SAE_TOPK_K;
  if (c.kind === 'batchtopk' && (!Number.isInteger(k) || k < 1 || k > c.dSae))
    throw new Error(`crosscoder config: k must be in 1..d_sae, got ${k}`);
  return {
    kind: c.kind,
    nModels: c.nModels,
    dIn: c.dIn,
    dSae: c.dSae,
    k,
    l1Coefficient: c.l1Coefficient ?? 5,
    lr: c.lr ?? (c.kind === 'batchtopk' ? 1e-3 : 5e-4),
    batchSize: c.batchSize ?? 256,
    steps: c.steps ?? 1000,
    seed: c.seed ?? 0,
  };
}

/** The trainable tensors, over the concatenated inputs: wEnc [n·d_in, d_sae], wDec [d_sae, n·d_in], bDec [n·d_in]. */
export interface CrosscoderParams {
  wEnc: tf.Tensor2D;
  bEnc: tf.Tensor1D;
  wDec: tf.Tensor2D;
  bDec: tf.Tensor1D;
}

/** Pre-activations X W_enc + b_enc for concatenated scaled inputs X [B, n·d_in]: Σ_m W_enc^m x^m s_m + b_enc. */
export function crosscoderPre(p: CrosscoderParams, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.add(tf.matMul(x, p.wEnc), p.bEnc) as tf.Tensor2D);
}

/** c_i = Σ_m ||d_i^m|| for every latent ([d_sae]). */
export function totalDecoderNorms(p: CrosscoderParams, nModels: number): tf.Tensor1D {
  return tf.tidy(() => {
    const [dSae, width] = p.wDec.shape;
    const blocks = tf.reshape(p.wDec, [dSae, nModels, width / nModels]);
    return tf.sum(tf.sqrt(tf.sum(tf.square(blocks), 2)), 1) as tf.Tensor1D;
  });
}

/** The residual X − (f W_dec + b_dec) for latents f [B, d_sae]: [x^m − x̂^m]_m per row. */
function residual(p: CrosscoderParams, x: tf.Tensor2D, f: tf.Tensor2D): tf.Tensor2D {
  return tf.sub(x, tf.add(tf.matMul(f, p.wDec), p.bDec));
}

/** mean_b ||e_b||² over the rows of e. */
function meanSquaredNorm(e: tf.Tensor2D): tf.Scalar {
  return tf.mean(tf.sum(tf.square(e), 1));
}

/**
 * BatchTopK loss for a batch X [B, n·d_in], given the kept entries chosen outside the gradient (`mask`
 * [B, d_sae], 1 where kept; see {@link batchTopKSelect}): f = ReLU(pre) ⊙ mask, loss = mean_b Σ_m
 * ||x^m − x̂^m||² + α AuxK. AuxK = mean_b ||e − (ReLU(pre) ⊙ auxMask) W_dec||², `auxMask` the top k_aux
 * dead latents of each row (null when no latent is dead), and the residual e = X − X̂ a constant: its
 * values are copied out of the tape (TF.js has no stop-gradient op), as in Gao et al.
 */
export function batchTopKLoss(
  p: CrosscoderParams,
  x: tf.Tensor2D,
  mask: tf.Tensor2D,
  auxMask: tf.Tensor2D | null,
  alpha: number,
): { loss: tf.Scalar; mse: tf.Scalar; aux: tf.Scalar } {
  const act = tf.relu(crosscoderPre(p, x));
  const e = residual(p, x, tf.mul(act, mask));
  const mse = meanSquaredNorm(e);
  let auxLoss = tf.scalar(0);
  if (auxMask) {
    const target = tf.tensor2d(e.dataSync() as Float32Array, x.shape);
    auxLoss = meanSquaredNorm(tf.sub(target, tf.matMul(tf.mul(act, auxMask), p.wDec)));
  }
  return { loss: tf.add(mse, tf.mul(auxLoss, alpha)) as tf.Scalar, mse, aux: auxLoss };
}

/** L1 loss for a batch X [B, n·d_in]: mean_b [ Σ_m ||x^m − x̂^m||² + λ Σ_i f_i Σ_m ||d_i^m|| ], f = ReLU(pre). */
export function l1Loss(
  p: CrosscoderParams,
  x: tf.Tensor2D,
  lambda: number,
  nModels: number,
): { loss: tf.Scalar; mse: tf.Scalar; l1: tf.Scalar } {
  const f = tf.relu(crosscoderPre(p, x));
  const mse = meanSquaredNorm(residual(p, x, f));
  const l1 = tf.mean(tf.sum(tf.mul(f, totalDecoderNorms(p, nModels)), 1)) as tf.Scalar;
  return { loss: tf.add(mse, tf.mul(l1, lambda)) as tf.Scalar, mse, l1 };
}

/**
 * The BatchTopK selection over a whole batch: of the values v [rows · cols] (v_bi = ReLU(pre_bi) c_i),
 * exactly min(k·rows, rows·cols) entries are kept, the largest (ties broken by position). Returns the 0/1
 * mask and the smallest positive kept value (0 when none is positive), the sample of θ.
 */
export function batchTopKSelect(
  values: Float32Array,
  rows: number,
  k: number,
): { mask: Float32Array; minKept: number } {
  const { mask, cutoff } = keepLargest(values, k * rows);
  if (cutoff > 0) return { mask, minKept: cutoff };
  // Every positive value is kept: the smallest of them.
  let minKept = Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > 0 && values[i] < minKept) minKept = values[i];
  return { mask, minKept: minKept === Infinity ? 0 : minKept };
}

/** A 0/1 mask of the min(keep, length) largest values (ties broken by position), and the smallest kept value. */
function keepLargest(values: Float32Array, keep: number): { mask: Float32Array; cutoff: number } {
  const mask = new Float32Array(values.length);
  keep = Math.min(keep, values.length);
  if (keep <= 0) return { mask, cutoff: Infinity };
  const cutoff = kthLargest(values, keep - 1);
  let kept = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] > cutoff) {
      mask[i] = 1;
      kept++;
    }
  }
  for (let i = 0; i < values.length && kept < keep; i++) {
    if (values[i] === cutoff) {
      mask[i] = 1;
      kept++;
    }
  }
  return { mask, cutoff };
}

/** The value of 0-based rank `rank` in descending order of `values` (Hoare quickselect on a copy). */
function kthLargest(values: Float32Array, rank: number): number {
  const a = Float32Array.from(values);
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (rank <= j) hi = j;
    else if (rank >= i) lo = i;
    else break;
  }
  return a[rank];
}

/** AuxK's mask: per row, the top min(kAux, #dead) dead latents by value v ([rows, cols]). */
function auxMask(
  values: Float32Array,
  rows: number,
  cols: number,
  dead: Uint8Array,
  kAux: number,
): Float32Array {
  const deadIdx: number[] = [];
  for (let i = 0; i < cols; i++) if (dead[i]) deadIdx.push(i);
  const mask = new Float32Array(rows * cols);
  const row = new Float32Array(deadIdx.length);
  for (let b = 0; b < rows; b++) {
    for (let j = 0; j < deadIdx.length; j++) row[j] = values[b * cols + deadIdx[j]];
    const { mask: sel } = keepLargest(row, kAux);
    for (let j = 0; j < deadIdx.length; j++) if (sel[j]) mask[b * cols + deadIdx[j]] = 1;
  }
  return mask;
}

/**
 * Trains a crosscoder of `config.kind` on `xs` (one [tokens, d_in] matrix per model, row t of every matrix
 * the same token) with Adam, minibatches drawn by a seeded shuffle. `onStep` receives every step's log;
 * `signal` cancels between steps. The TF.js tensor count is the same after training as before.
 */
export function trainCrosscoder(
  xs: Matrix[],
  config: CrosscoderConfig,
  onStep?: (log: CrosscoderStepLog) => void,
  signal?: AbortSignal,
): { crosscoder: Crosscoder; log: CrosscoderStepLog[] } {
  if (!activeBackend())
    throw new Error('trainCrosscoder: call initBackend() (src/core/backend) before using TF.js');
  const cfg = resolveCrosscoderConfig(config);
  const rows = checkInputs(xs, cfg, 'trainCrosscoder');
  if (rows < cfg.batchSize)
    throw new Error(`trainCrosscoder: ${rows} tokens is fewer than one batch of ${cfg.batchSize}`);
  const { nModels: n, dIn, dSae, batchSize: B } = cfg;
  const width = n * dIn;
  const rng = new Rng(cfg.seed);
  const inputScales = xs.map((x) => expectedNormScale(x));
  const init = initialWeights(cfg, xs, inputScales, rng);
  // tf.variable copies its initial value: dispose the temporaries.
  const variable = <T extends tf.Tensor>(t: T): T => {
    const v = tf.variable(t) as unknown as T;
    t.dispose();
    return v;
  };
  const p: CrosscoderParams = {
    wEnc: variable(tf.tensor2d(init.wEnc, [width, dSae])),
    bEnc: variable(tf.tensor1d(new Float32Array(dSae))),
    wDec: variable(tf.tensor2d(init.wDec, [dSae, width])),
    bDec: variable(tf.tensor1d(init.bDec)),
  };
  const vars = [p.wEnc, p.bEnc, p.wDec, p.bDec] as tf.Variable[];
  const opt = tf.train.adam(cfg.lr, 0.9, 0.999, 1e-8);
  const deadWindow = Math.max(B, Math.floor(0.1 * cfg.steps * B));
  const kAux = Math.max(1, Math.floor(dIn / 2));
  const warm = Math.max(1, Math.round(L1_WARMUP_FRACTION * cfg.steps));
  const thresholdFrom = Math.floor(THRESHOLD_FROM * cfg.steps);
  const sinceFired = new Float64Array(dSae);
  const order = Array.from({ length: rows }, (_, i) => i);
  let cursor = rows;
  const batch = new Float32Array(B * width);
  const log: CrosscoderStepLog[] = [];
  let thetaSum = 0;
  let thetaCount = 0;
  try {
    for (let step = 0; step < cfg.steps; step++) {
      throwIfCancelled(signal);
      if (cursor + B > rows) {
        rng.shuffle(order);
        cursor = 0;
      }
      for (let b = 0; b < B; b++) {
        const r = order[cursor + b];
        for (let m = 0; m < n; m++) {
          const src = xs[m].data;
          for (let c = 0; c < dIn; c++) batch[b * width + m * dIn + c] = src[r * dIn + c] * inputScales[m];
        }
      }
      cursor += B;
      const xb = tf.tensor2d(batch, [B, width]);
      // The values every selection ranks, ReLU(pre) · c, outside the gradient.
      const valuesT = tf.tidy(() => tf.mul(tf.relu(crosscoderPre(p, xb)), totalDecoderNorms(p, n)));
      const values = valuesT.dataSync() as Float32Array;
      valuesT.dispose();
      let entry: CrosscoderStepLog;
      if (cfg.kind === 'batchtopk') {
        const { mask, minKept } = batchTopKSelect(values, B, cfg.k);
        const fired = new Uint8Array(dSae);
        for (let i = 0; i < mask.length; i++) if (mask[i] && values[i] > 0) fired[i % dSae] = 1;
        const dead = markDead(sinceFired, fired, B, deadWindow);
        const maskT = tf.tensor2d(mask, [B, dSae]);
        const auxT =
          dead.count > 0 ? tf.tensor2d(auxMask(values, B, dSae, dead.flags, kAux), [B, dSae]) : null;
        let parts: number[] = [];
        const lossT = opt.minimize(
          () => {
            const l = batchTopKLoss(p, xb, maskT, auxT, AUX_ALPHA);
            parts = [l.mse, l.aux].map((t) => t.dataSync()[0]);
            return l.loss;
          },
          true,
          vars,
        )!;
        if (step >= thresholdFrom) {
          thetaSum += minKept;
          thetaCount++;
        }
        entry = {
          step,
          loss: lossT.dataSync()[0],
          mse: parts[0],
          aux: parts[1],
          deadLatents: dead.count,
          minKept,
        };
        tf.dispose([maskT, lossT, ...(auxT ? [auxT] : [])]);
      } else {
        const lambda = cfg.l1Coefficient * Math.min(1, (step + 1) / warm);
        const fired = new Uint8Array(dSae);
        for (let i = 0; i < values.length; i++) if (values[i] > 0) fired[i % dSae] = 1;
        const dead = markDead(sinceFired, fired, B, deadWindow);
        let parts: number[] = [];
        const lossT = opt.minimize(
          () => {
            const l = l1Loss(p, xb, lambda, n);
            parts = [l.mse, l.l1].map((t) => t.dataSync()[0]);
            return l.loss;
          },
          true,
          vars,
        )!;
        entry = {
          step,
          loss: lossT.dataSync()[0],
          mse: parts[0],
          aux: parts[1],
          lambda,
          deadLatents: dead.count,
        };
        lossT.dispose();
      }
      xb.dispose();
      log.push(entry);
      onStep?.(entry);
    }
    const crosscoder = foldDecoderNorms({
      config: cfg,
      inputScales,
      wEnc: p.wEnc.dataSync() as Float32Array,
      bEnc: p.bEnc.dataSync() as Float32Array,
      wDec: p.wDec.dataSync() as Float32Array,
      bDec: p.bDec.dataSync() as Float32Array,
      threshold:
        cfg.kind === 'batchtopk'
          ? new Float32Array(dSae).fill(thetaCount ? thetaSum / thetaCount : 0)
          : undefined,
    });
    return { crosscoder, log };
  } finally {
    opt.dispose();
    tf.dispose(vars);
  }
}

/** Checks that `xs` holds one finite [tokens, d_in] matrix per model, all with the same tokens; returns the tokens. */
function checkInputs(xs: Matrix[], cfg: ResolvedCrosscoderConfig, what: string): number {
  if (xs.length !== cfg.nModels)
    throw new Error(`${what}: got activations of ${xs.length} models, the crosscoder has ${cfg.nModels}`);
  xs.forEach((x, m) => {
    checkMatrix(x, `${what} activations of model ${m}`);
    if (x.cols !== cfg.dIn)
      throw new Error(`${what}: model ${m}'s activations have ${x.cols} columns but d_in is ${cfg.dIn}`);
    if (x.rows !== xs[0].rows)
      throw new Error(
        `${what}: model ${m} has ${x.rows} tokens but model 0 has ${xs[0].rows}; rows must be paired`,
      );
  });
  return xs[0].rows;
}

/** Updates the tokens since each latent last fired; returns the dead ones (silent for `window` tokens). */
function markDead(
  sinceFired: Float64Array,
  fired: Uint8Array,
  tokens: number,
  window: number,
): { flags: Uint8Array; count: number } {
  const flags = new Uint8Array(sinceFired.length);
  let count = 0;
  for (let i = 0; i < sinceFired.length; i++) {
    sinceFired[i] = fired[i] ? 0 : sinceFired[i] + tokens;
    if (sinceFired[i] >= window) {
      flags[i] = 1;
      count++;
    }
  }
  return { flags, count };
}

/**
 * Initial weights: latent i's decoder blocks d_i^m all the same random direction, of norm 1 (BatchTopK) or
 * 0.1 (L1, as our ReLU SAEs), in every model (as Minder et al. train theirs: `--same-init-for-all-layers
 * --init-with-transpose` in their run scripts; the models are fine-tunes of one base, so a shared latent
 * starts shared and its blocks only part where the models' activations pull them apart), the encoder the
 * decoder's transpose, b_enc = 0, and b_dec^m the mean of model m's scaled activations.
 */
function initialWeights(
  cfg: ResolvedCrosscoderConfig,
  xs: Matrix[],
  scales: number[],
  rng: Rng,
): { wEnc: Float32Array; wDec: Float32Array; bDec: Float32Array } {
  const { nModels: n, dIn, dSae } = cfg;
  const width = n * dIn;
  const norm = cfg.kind === 'batchtopk' ? 1 : 0.1;
  const wDec = new Float32Array(dSae * width);
  const direction = new Float64Array(dIn);
  for (let i = 0; i < dSae; i++) {
    let n2 = 0;
    for (let j = 0; j < dIn; j++) {
      direction[j] = rng.normal();
      n2 += direction[j] ** 2;
    }
    const f = norm / Math.sqrt(n2);
    for (let m = 0; m < n; m++)
      for (let j = 0; j < dIn; j++) wDec[i * width + m * dIn + j] = direction[j] * f;
  }
  const wEnc = new Float32Array(width * dSae);
  for (let i = 0; i < dSae; i++) for (let j = 0; j < width; j++) wEnc[j * dSae + i] = wDec[i * width + j];
  const bDec = new Float32Array(width);
  xs.forEach((x, m) => {
    const sum = new Float64Array(dIn);
    for (let r = 0; r < x.rows; r++) for (let c = 0; c < dIn; c++) sum[c] += x.data[r * dIn + c];
    for (let c = 0; c < dIn; c++) bDec[m * dIn + c] = (sum[c] / x.rows) * scales[m];
  });
  return { wEnc, wDec, bDec };
}

/** Rescales every latent with c_i > 0 to c_i = 1 (see the file comment); the map x → x̂ is unchanged. */
function foldDecoderNorms(cc: Crosscoder): Crosscoder {
  const { nModels: n, dIn, dSae } = cc.config;
  const width = n * dIn;
  const norms = decoderNorms(cc);
  const wEnc = Float32Array.from(cc.wEnc);
  const bEnc = Float32Array.from(cc.bEnc);
  const wDec = Float32Array.from(cc.wDec);
  for (let i = 0; i < dSae; i++) {
    let c = 0;
    for (let m = 0; m < n; m++) c += norms[m][i];
    if (!(c > 0)) continue;
    for (let j = 0; j < width; j++) {
      wEnc[j * dSae + i] *= c;
      wDec[i * width + j] /= c;
    }
    bEnc[i] *= c;
  }
  return { ...cc, wEnc, bEnc, wDec };
}

/** ||d_i^m|| per model m (the outer array) and latent i, in float64. */
export function decoderNorms(cc: Crosscoder): Float64Array[] {
  const { nModels: n, dIn, dSae } = cc.config;
  return Array.from({ length: n }, (_, m) => {
    const out = new Float64Array(dSae);
    for (let i = 0; i < dSae; i++) {
      const o = (i * n + m) * dIn;
      let s = 0;
      for (let j = 0; j < dIn; j++) s += cc.wDec[o + j] ** 2;
      out[i] = Math.sqrt(s);
    }
    return out;
  });
}

/** Model m's decoder W_dec^m as a [d_sae, d_in] array (row i = d_i^m). */
export function modelDecoder(cc: Crosscoder, m: number): Float32Array {
  const { nModels: n, dIn, dSae } = cc.config;
  const out = new Float32Array(dSae * dIn);
  for (let i = 0; i < dSae; i++) out.set(cc.wDec.subarray((i * n + m) * dIn, (i * n + m + 1) * dIn), i * dIn);
  return out;
}

/**
 * The latents of `xs` (raw activations, one matrix per model) under a trained crosscoder, [tokens, d_sae]:
 * JumpReLU with θ (BatchTopK) or ReLU (L1) of Σ_m W_enc^m x^m s_m + b_enc. Batched; call initBackend() first.
 */
export function encodeCrosscoder(cc: Crosscoder, xs: Matrix[], opts: { batchSize?: number } = {}): Matrix {
  const cfg = cc.config;
  const rows = checkInputs(xs, cfg, 'encodeCrosscoder');
  const { nModels: n, dIn, dSae } = cfg;
  const width = n * dIn;
  const out = new Float32Array(rows * dSae);
  const bs = opts.batchSize ?? 4096;
  const wEnc = tf.tensor2d(cc.wEnc, [width, dSae]);
  const bEnc = tf.tensor1d(cc.bEnc);
  const theta = tf.tensor1d(cc.threshold ?? new Float32Array(dSae));
  try {
    for (let r0 = 0; r0 < rows; r0 += bs) {
      const r1 = Math.min(rows, r0 + bs);
      const batch = new Float32Array((r1 - r0) * width);
      for (let r = r0; r < r1; r++) {
        for (let m = 0; m < n; m++) {
          const o = (r - r0) * width + m * dIn;
          for (let c = 0; c < dIn; c++) batch[o + c] = xs[m].data[r * dIn + c] * cc.inputScales[m];
        }
      }
      const z = tf.tidy(() => {
        const pre = tf.add(tf.matMul(tf.tensor2d(batch, [r1 - r0, width]), wEnc), bEnc);
        if (cfg.kind === 'batchtopk') return tf.mul(pre, tf.cast(tf.greater(pre, theta), 'float32'));
        return tf.relu(pre);
      });
      out.set(z.dataSync() as Float32Array, r0 * dSae);
      z.dispose();
    }
  } finally {
    tf.dispose([wEnc, bEnc, theta]);
  }
  return { data: out, rows, cols: dSae };
}

/** Held-out quality per model (explained variance of its activations, L0, dead latents, ...), in model order. */
export function evaluateCrosscoder(
  cc: Crosscoder,
  xs: Matrix[],
  opts: { batchSize?: number } = {},
): SaeMetrics[] {
  const z = encodeCrosscoder(cc, xs, opts);
  const { dIn } = cc.config;
  return xs.map((x, m) =>
    codeMetrics(
      z,
      x,
      {
        wDec: modelDecoder(cc, m),
        bDec: cc.bDec.subarray(m * dIn, (m + 1) * dIn),
        inputScale: cc.inputScales[m],
      },
      opts,
    ),
  );
}

/**
 * Writes `dir/sae_weights.safetensors` and `dir/cfg.json` (kind, dIn, dSae, nModels, k, l1, inputScales,
 * the training settings and `extra`: checkpoints, tap, probe, hashes); both are flushed under temporary
 * names before either is renamed into place.
 */
export function saveCrosscoder(dir: string, cc: Crosscoder, extra: Record<string, unknown> = {}): void {
  const { kind, nModels: n, dIn, dSae, k, l1Coefficient, lr, batchSize, steps, seed } = cc.config;
  const tensors = new Map<string, NamedArray>([
    ['W_enc', { shape: [n, dIn, dSae], data: cc.wEnc }],
    ['b_enc', { shape: [dSae], data: cc.bEnc }],
    ['W_dec', { shape: [dSae, n, dIn], data: cc.wDec }],
    ['b_dec', { shape: [n, dIn], data: cc.bDec }],
  ]);
  if (cc.threshold) tensors.set('threshold', { shape: [dSae], data: cc.threshold });
  const weights = serializeSafetensors(tensors, { format: 'monoscope-crosscoder' });
  const cfg = {
    ...extra,
    kind,
    dIn,
    dSae,
    nModels: n,
    k: kind === 'batchtopk' ? k : null,
    l1: kind === 'l1' ? l1Coefficient : null,
    inputScales: cc.inputScales,
    lr,
    batchSize,
    steps,
    seed,
    normalization: 'expected_average_only_in',
  };
  writeDictionaryFiles(dir, weights, cfg);
}

/** Reads a crosscoder written by {@link saveCrosscoder}, checking shapes against cfg.json. */
export function loadCrosscoder(dir: string): Crosscoder {
  const cfgFile = join(dir, 'cfg.json');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(cfgFile, 'utf8'));
  } catch (e) {
    throw new Error(`${cfgFile}: ${(e as Error).message}`);
  }
  for (const key of ['kind', 'dIn', 'dSae', 'nModels', 'inputScales'] as const) {
    if (raw[key] === undefined) throw new Error(`${cfgFile}: field '${key}' is missing`);
  }
  const num = (key: string): number | undefined =>
    typeof raw[key] === 'number' ? (raw[key] as number) : undefined;
  let config: ResolvedCrosscoderConfig;
  try {
    config = resolveCrosscoderConfig({
      kind: raw.kind as CrosscoderKind,
      nModels: raw.nModels as number,
      dIn: raw.dIn as number,
      dSae: raw.dSae as number,
      k: num('k'),
      l1Coefficient: num('l1'),
      lr: num('lr'),
      batchSize: num('batchSize'),
      steps: num('steps'),
      seed: num('seed'),
    });
  } catch (e) {
    throw new Error(`${cfgFile}: ${(e as Error).message}`);
  }
  const { nModels: n, dIn, dSae } = config;
  const scales = raw.inputScales;
  if (!Array.isArray(scales) || scales.length !== n || !scales.every((s) => typeof s === 'number' && s > 0))
    throw new Error(`${cfgFile}: inputScales must be ${n} positive numbers`);
  const file = join(dir, 'sae_weights.safetensors');
  const { tensors } = readSafetensors(file);
  const get = tensorGetter(file, tensors, 'cfg.json');
  return {
    config,
    inputScales: scales as number[],
    wEnc: get('W_enc', [n, dIn, dSae]),
    bEnc: get('b_enc', [dSae]),
    wDec: get('W_dec', [dSae, n, dIn]),
    bDec: get('b_dec', [n, dIn]),
    threshold: config.kind === 'batchtopk' ? get('threshold', [dSae]) : undefined,
  };
}
