/**
 * Sparse autoencoders on a tap's activations, in two kinds, trained with TF.js:
 *
 * **TopK** (Gao et al., arXiv 2406.04093, §2.3 and App. A.2):
 *   z = ReLU(TopK_k(W_enc^T (x - b_pre) + b_enc)),  x_hat = W_dec^T z + b_pre,
 *   decoder rows at unit norm, re-normalised after every step; encoder initialised as the decoder's
 *   transpose; b_pre initialised at the data mean. Loss = mean_b ||x - x_hat||^2 + alpha * AuxK, where
 *   AuxK = mean_b ||e - e_hat||^2, e = x - x_hat (no gradient), e_hat = W_dec^T z_aux from the top k_aux
 *   pre-activations among latents dead for `deadWindow` tokens (k_aux = d_in / 2, alpha = 1/32).
 *
 * **ReLU + L1** (SAELens `standard`; Anthropic, Circuits Update April 2024):
 *   f = ReLU(W_enc^T (x - b_dec) + b_enc),  x_hat = W_dec^T f + b_dec,
 *   loss = mean_b [ ||x - x_hat||^2 + lambda_t sum_i f_i ||W_dec,i||_2 ], lambda_t rising linearly from 0
 *   over the first 5% of steps; the decoder is not constrained (the norm weighting removes the incentive
 *   to shrink f and grow W_dec).
 *
 * Both kinds see inputs scaled by one scalar so that E||x|| = sqrt(d_in) (SAELens
 * `expected_average_only_in`); the scale is stored with the SAE, and every metric is on de-normalised
 * activations. Weights follow SAELens names and shapes: W_enc [d_in, d_sae], b_enc [d_sae],
 * W_dec [d_sae, d_in], b_dec [d_in] (b_dec is b_pre for TopK). Call initBackend() first.
 *
 * **JumpReLU** (Rajamanoharan et al., arXiv 2407.14435; SAELens `jumprelu`, Gemma Scope) is encoded but not
 * trained here (imported SAEs, see saelens.ts and gemma-scope.ts): f = ReLU(pre) · [pre > ReLU(θ)] with a
 * threshold θ [d_sae]. An SAE's config may also say not to subtract b_dec before encoding
 * (`applyBDecToInput: false`, as Gemma Scope): pre = W_enc^T x + b_enc.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { activeBackend } from '../backend/index.js';
import { Rng } from '../model/rng.js';
import { readSafetensors, serializeSafetensors, type NamedArray } from '../model/safetensors.js';
import { writeAll, writeFilesAtomic } from '../store/files.js';
import { checkMatrix, type Matrix } from './matrix.js';
import { SAE_TOPK_K } from '../names.js';

/** The encodings: `topk` and `relu-l1` are trained here; `jumprelu` is imported only. */
export type SaeKind = 'topk' | 'relu-l1' | 'jumprelu';

export interface SaeConfig {
  kind: SaeKind;
  dIn: number;
  dSae: number;
  /** TopK: active latents per token. */
  k?: number;
  /** Whether b_dec is subtracted from the input before encoding (SAELens `apply_b_dec_to_input`; default true). */
  applyBDecToInput?: boolean;
  /** TopK: latents used by AuxK (default d_in / 2). */
  kAux?: number;
  /** TopK: AuxK coefficient (default 1/32). */
  auxAlpha?: number;
  /** TopK: a latent is dead after this many training tokens without firing (default: 10% of the tokens the run sees, at least 1 batch). */
  deadWindowTokens?: number;
  /** ReLU+L1: the L1 coefficient lambda (default 5). */
  l1Coefficient?: number;
  /** ReLU+L1: share of the steps over which lambda warms up from 0 (default 0.05). */
  l1WarmupFraction?: number;
  /** Adam learning rate, constant (default 1e-3 for TopK, 5e-4 for ReLU+L1). */
  lr?: number;
  /** Adam epsilon (default 6.25e-10 for TopK as in OpenAI's config, 1e-8 otherwise). */
  adamEps?: number;
  /** Tokens per step (default 1,024). */
  batchSize?: number;
  /** Optimiser steps (default 1,000); the rows are reshuffled (seeded) after each pass. */
  steps?: number;
  /** Seed of the initialisation and the batch order (default 0). */
  seed?: number;
}

/** A trained SAE: weights as plain arrays, the input scale, its config. */
export interface Sae {
  config: Required<Pick<SaeConfig, 'kind' | 'dIn' | 'dSae'>> & SaeConfig;
  /** Inputs are multiplied by this before encoding: sqrt(d_in) / E||x|| on the training data. */
  inputScale: number;
  wEnc: Float32Array;
  bEnc: Float32Array;
  wDec: Float32Array;
  bDec: Float32Array;
  /** JumpReLU: the threshold θ of each latent [d_sae]. */
  threshold?: Float32Array;
}

/**
 * The SAE's trainable tensors. The encoder is held as rows, wEncT = W_enc^T [d_sae, d_in], so that the
 * TopK path gathers latents along axis 0 (the fast gather and its fast gradient).
 */
export interface SaeParams {
  wEncT: tf.Tensor2D;
  bEnc: tf.Tensor1D;
  wDec: tf.Tensor2D;
  bDec: tf.Tensor1D;
}

/** Pre-activations W_enc^T (x - b_dec) + b_enc for a batch x [B, d_in] (W_enc^T x + b_enc without `subtractBDec`). */
export function preActivations(p: SaeParams, x: tf.Tensor2D, subtractBDec = true): tf.Tensor2D {
  return tf.tidy(
    () =>
      tf.add(tf.matMul(subtractBDec ? tf.sub(x, p.bDec) : x, p.wEncT, false, true), p.bEnc) as tf.Tensor2D,
  );
}

/**
 * The TopK mask: 1 where a pre-activation is among its row's k largest, else 0. Computed outside the
 * gradient (the selection is piecewise constant), as are the AuxK masks.
 */
export function topkMask(pre: tf.Tensor2D, k: number, allowed?: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const v = allowed ? tf.where(tf.cast(allowed, 'bool'), pre, tf.fill(pre.shape, -Infinity)) : pre;
    const kth = tf.slice(tf.topk(v, k).values, [0, k - 1], [-1, 1]);
    const sel = tf.greaterEqual(v, kth);
    return tf.cast(allowed ? tf.logicalAnd(sel, tf.cast(allowed, 'bool')) : sel, 'float32') as tf.Tensor2D;
  });
}

/**
 * The codes of the latents `idx` ([B, k] int32) for a batch of centred inputs xc = x - b_dec ([B, d]):
 * z_bj = ReLU(xc_b . W_enc[:, idx_bj] + b_enc[idx_bj]), [B, k]. Only the k gathered encoder columns take
 * part, so the gradient is sparse too (Gao et al. §2.3, "sparse kernels").
 */
function selectedCodes(p: SaeParams, xc: tf.Tensor2D, idx: tf.Tensor2D): tf.Tensor2D {
  const [B, k] = idx.shape;
  const d = xc.shape[1];
  const flat = tf.reshape(idx, [B * k]);
  const enc = tf.reshape(tf.gather(p.wEncT, flat), [B, k, d]);
  const v = tf.add(tf.sum(tf.mul(enc, tf.expandDims(xc, 1)), 2), tf.reshape(tf.gather(p.bEnc, flat), [B, k]));
  return tf.relu(v) as tf.Tensor2D;
}

/** sum_j z_bj W_dec[idx_bj] for codes z [B, k] of the latents idx [B, k]: [B, d], without the bias. */
function decodeSelected(p: SaeParams, z: tf.Tensor2D, idx: tf.Tensor2D): tf.Tensor2D {
  const [B, k] = idx.shape;
  const d = p.wDec.shape[1];
  const rows = tf.reshape(tf.gather(p.wDec, tf.reshape(idx, [B * k])), [B, k, d]);
  return tf.sum(tf.mul(rows, tf.expandDims(z, 2)), 1) as tf.Tensor2D;
}

/**
 * TopK loss for a batch: mean_b ||x - x_hat||^2 + alpha mean_b ||e - e_hat||^2 (see the file comment),
 * given the latents chosen outside the gradient: `idx` [B, k] (int32), the top k pre-activations of each
 * row, and for AuxK `aux.idx` [B, k_aux], the top pre-activations among dead latents, with the target
 * e = x - x_hat computed outside (TF.js has no stop-gradient op); `aux` is null when no latent is dead.
 * Returns the scalar total and its parts.
 */
export function topkLoss(
  p: SaeParams,
  x: tf.Tensor2D,
  idx: tf.Tensor2D,
  aux: { idx: tf.Tensor2D; target: tf.Tensor2D } | null,
  alpha: number,
): { loss: tf.Scalar; mse: tf.Scalar; aux: tf.Scalar } {
  const xc = tf.sub(x, p.bDec) as tf.Tensor2D;
  const xHat = tf.add(decodeSelected(p, selectedCodes(p, xc, idx), idx), p.bDec);
  const mse = tf.mean(tf.sum(tf.square(tf.sub(x, xHat)), 1)) as tf.Scalar;
  let auxLoss = tf.scalar(0);
  if (aux) {
    const eHat = decodeSelected(p, selectedCodes(p, xc, aux.idx), aux.idx);
    auxLoss = tf.mean(tf.sum(tf.square(tf.sub(aux.target, eHat)), 1)) as tf.Scalar;
  }
  return { loss: tf.add(mse, tf.mul(auxLoss, alpha)) as tf.Scalar, mse, aux: auxLoss };
}

/** ReLU+L1 loss for a batch: mean_b [ ||x - x_hat||^2 + lambda sum_i f_i ||W_dec,i|| ] (see the file comment). */
export function reluL1Loss(
  p: SaeParams,
  x: tf.Tensor2D,
  lambda: number,
): { loss: tf.Scalar; mse: tf.Scalar; l1: tf.Scalar } {
  const f = tf.relu(preActivations(p, x));
  const xHat = tf.add(tf.matMul(f, p.wDec), p.bDec);
  const mse = tf.mean(tf.sum(tf.square(tf.sub(x, xHat)), 1)) as tf.Scalar;
  const decNorm = tf.sqrt(tf.sum(tf.square(p.wDec), 1));
  const l1 = tf.mean(tf.sum(tf.mul(f, decNorm), 1)) as tf.Scalar;
  return { loss: tf.add(mse, tf.mul(l1, lambda)) as tf.Scalar, mse, l1 };
}

/** One logged training step. */
export interface SaeStepLog {
  step: number;
  loss: number;
  mse: number;
  /** AuxK (TopK) or the L1 term (ReLU+L1). */
  aux: number;
  lambda?: number;
  deadLatents: number;
}

/** sqrt(d_in) / mean_t ||x_t||: the scalar input normalisation. */
export function expectedNormScale(x: Matrix): number {
  let s = 0;
  for (let r = 0; r < x.rows; r++) {
    let n2 = 0;
    for (let c = 0; c < x.cols; c++) n2 += x.data[r * x.cols + c] ** 2;
    s += Math.sqrt(n2);
  }
  const mean = s / Math.max(x.rows, 1);
  return mean > 0 ? Math.sqrt(x.cols) / mean : 1;
}

/**
 * Trains an SAE of `config.kind` on the rows of `x` ([tokens, d_in]) with Adam, minibatches drawn by a
 * seeded shuffle. `onStep` receives every step's log. The TF.js tensor count is the same after training
 * as before.
 */
export function trainSae(
  x: Matrix,
  config: SaeConfig,
  onStep?: (log: SaeStepLog) => void,
): { sae: Sae; log: SaeStepLog[] } {
  if (!activeBackend()) throw new Error('trainSae: call initBackend() (src/core/backend) before using TF.js');
  checkMatrix(x, 'trainSae activations');
  const cfg = resolveSaeConfig(config);
  if (x.cols !== cfg.dIn)
    throw new Error(`trainSae: activations have ${x.cols} columns but d_in is ${cfg.dIn}`);
  if (x.rows < cfg.batchSize)
    throw new Error(`trainSae: ${x.rows} tokens is fewer than one batch of ${cfg.batchSize}`);
  const rng = new Rng(cfg.seed);
  const inputScale = expectedNormScale(x);
  const init = initialWeights(cfg, x, inputScale, rng);
  // tf.variable copies its initial value: dispose the temporaries.
  const variable = <T extends tf.Tensor>(t: T): T => {
    const v = tf.variable(t) as unknown as T;
    t.dispose();
    return v;
  };
  const p: SaeParams = {
    wEncT: variable(tf.tensor2d(transposed(init.wEnc, cfg.dIn, cfg.dSae), [cfg.dSae, cfg.dIn])),
    bEnc: variable(tf.tensor1d(init.bEnc)),
    wDec: variable(tf.tensor2d(init.wDec, [cfg.dSae, cfg.dIn])),
    bDec: variable(tf.tensor1d(init.bDec)),
  };
  const vars = [p.wEncT, p.bEnc, p.wDec, p.bDec] as tf.Variable[];
  const opt = tf.train.adam(cfg.lr, 0.9, 0.999, cfg.adamEps);
  const sinceFired = new Float64Array(cfg.dSae);
  const order = Array.from({ length: x.rows }, (_, i) => i);
  let cursor = x.rows;
  const batch = new Float32Array(cfg.batchSize * cfg.dIn);
  const log: SaeStepLog[] = [];
  const warm = Math.max(1, Math.round(cfg.l1WarmupFraction * cfg.steps));
  try {
    for (let step = 0; step < cfg.steps; step++) {
      if (cursor + cfg.batchSize > x.rows) {
        rng.shuffle(order);
        cursor = 0;
      }
      for (let b = 0; b < cfg.batchSize; b++) {
        const r = order[cursor + b];
        for (let c = 0; c < cfg.dIn; c++) batch[b * cfg.dIn + c] = x.data[r * cfg.dIn + c] * inputScale;
      }
      cursor += cfg.batchSize;
      const xb = tf.tensor2d(batch, [cfg.batchSize, cfg.dIn]);
      let entry: SaeStepLog;
      if (cfg.kind === 'topk') {
        // Choose the latents outside the gradient: the top k of the dense pre-activations.
        const pre = preActivations(p, xb);
        const top = tf.topk(pre, cfg.k);
        const idx = top.indices as tf.Tensor2D;
        const values = top.values.dataSync();
        const chosen = idx.dataSync();
        top.values.dispose();
        const fired = new Uint8Array(cfg.dSae);
        for (let i = 0; i < chosen.length; i++) if (values[i] > 0) fired[chosen[i]] = 1;
        let dead = 0;
        for (let i = 0; i < cfg.dSae; i++) {
          sinceFired[i] = fired[i] ? 0 : sinceFired[i] + cfg.batchSize;
          if (sinceFired[i] >= cfg.deadWindowTokens) dead++;
        }
        let aux: { idx: tf.Tensor2D; target: tf.Tensor2D } | null = null;
        if (dead > 0) {
          // -Infinity on live latents, so that the top k_aux come from the dead ones.
          const penalty = Float32Array.from(sinceFired, (t) => (t >= cfg.deadWindowTokens ? 0 : -Infinity));
          aux = tf.tidy(() => {
            const deadTop = tf.topk(tf.add(pre, tf.tensor1d(penalty)), Math.min(cfg.kAux, dead))
              .indices as tf.Tensor2D;
            const xc = tf.sub(xb, p.bDec) as tf.Tensor2D;
            const xHat = tf.add(decodeSelected(p, selectedCodes(p, xc, idx), idx), p.bDec);
            return { idx: deadTop, target: tf.sub(xb, xHat) as tf.Tensor2D };
          });
        }
        pre.dispose();
        let parts: number[] = [];
        const lossT = opt.minimize(
          () => {
            const l = topkLoss(p, xb, idx, aux, cfg.auxAlpha);
            parts = [l.mse, l.aux].map((t) => t.dataSync()[0]);
            return l.loss;
          },
          true,
          vars,
        )!;
        entry = { step, loss: lossT.dataSync()[0], mse: parts[0], aux: parts[1], deadLatents: dead };
        tf.dispose([idx, lossT, ...(aux ? [aux.idx, aux.target] : [])]);
        renormalizeDecoderRows(p.wDec as tf.Variable);
      } else {
        const lambda = cfg.l1Coefficient * Math.min(1, (step + 1) / warm);
        let parts: number[] = [];
        const lossT = opt.minimize(
          () => {
            const l = reluL1Loss(p, xb, lambda);
            parts = [l.mse, l.l1].map((t) => t.dataSync()[0]);
            return l.loss;
          },
          true,
          vars,
        )!;
        const firedT = tf.tidy(() => tf.sum(tf.cast(tf.greater(preActivations(p, xb), 0), 'float32'), 0));
        const fired = firedT.dataSync();
        firedT.dispose();
        let dead = 0;
        for (let i = 0; i < cfg.dSae; i++) {
          sinceFired[i] = fired[i] > 0 ? 0 : sinceFired[i] + cfg.batchSize;
          if (sinceFired[i] >= cfg.deadWindowTokens) dead++;
        }
        entry = { step, loss: lossT.dataSync()[0], mse: parts[0], aux: parts[1], lambda, deadLatents: dead };
        lossT.dispose();
      }
      xb.dispose();
      log.push(entry);
      onStep?.(entry);
    }
    const sae: Sae = {
      config: { ...config, ...cfg },
      inputScale,
      wEnc: transposed(p.wEncT.dataSync() as Float32Array, cfg.dSae, cfg.dIn),
      bEnc: p.bEnc.dataSync() as Float32Array,
      wDec: p.wDec.dataSync() as Float32Array,
      bDec: p.bDec.dataSync() as Float32Array,
    };
    return { sae, log };
  } finally {
    opt.dispose();
    tf.dispose(vars);
  }
}

/** A training config with every default applied (training always subtracts b_dec from the input). */
type ResolvedConfig = Required<Omit<SaeConfig, 'applyBDecToInput'>>;

/** Every setting of an SAE config, defaults applied. */
export function resolveSaeConfig(c: SaeConfig): ResolvedConfig {
  for (const key of ['dIn', 'dSae'] as const) {
    if (!Number.isInteger(c[key]) || c[key] <= 0)
      throw new Error(`SAE config: ${key} must be a positive integer, got ${c[key]}`);
  }
  if (c.kind !== 'topk' && c.kind !== 'relu-l1')
    throw new Error(`SAE config: kind must be 'topk' or 'relu-l1', got ${JSON.stringify(c.kind)}`);
  const batchSize = c.batchSize ?? 1024;
  const steps = c.steps ?? 1000;
  const k = c.k ?? SAE_TOPK_K;
  if (c.kind === 'topk' && (!Number.isInteger(k) || k < 1 || k > c.dSae))
    throw new Error(`SAE config: k must be in 1..d_sae, got ${k}`);
  return {
    kind: c.kind,
    dIn: c.dIn,
    dSae: c.dSae,
    k,
    kAux: c.kAux ?? Math.max(1, Math.floor(c.dIn / 2)),
    auxAlpha: c.auxAlpha ?? 1 / 32,
    deadWindowTokens: c.deadWindowTokens ?? Math.max(batchSize, Math.floor(0.1 * steps * batchSize)),
    l1Coefficient: c.l1Coefficient ?? 5,
    l1WarmupFraction: c.l1WarmupFraction ?? 0.05,
    lr: c.lr ?? (c.kind === 'topk' ? 1e-3 : 5e-4),
    adamEps: c.adamEps ?? (c.kind === 'topk' ? 6.25e-10 : 1e-8),
    batchSize,
    steps,
    seed: c.seed ?? 0,
  };
}

/** Random decoder rows (unit norm for TopK, norm 0.1 for ReLU+L1, as SAELens), W_enc = W_dec^T, b_dec = data mean (TopK) or 0. */
function initialWeights(
  cfg: ResolvedConfig,
  x: Matrix,
  scale: number,
  rng: Rng,
): { wEnc: Float32Array; bEnc: Float32Array; wDec: Float32Array; bDec: Float32Array } {
  const { dIn, dSae } = cfg;
  const wDec = new Float32Array(dSae * dIn);
  const rowNorm = cfg.kind === 'topk' ? 1 : 0.1;
  for (let i = 0; i < dSae; i++) {
    let n2 = 0;
    for (let j = 0; j < dIn; j++) {
      const v = rng.normal();
      wDec[i * dIn + j] = v;
      n2 += v * v;
    }
    const f = rowNorm / Math.sqrt(n2);
    for (let j = 0; j < dIn; j++) wDec[i * dIn + j] *= f;
  }
  const wEnc = new Float32Array(dIn * dSae);
  for (let i = 0; i < dSae; i++) for (let j = 0; j < dIn; j++) wEnc[j * dSae + i] = wDec[i * dIn + j];
  const bDec = new Float32Array(dIn);
  if (cfg.kind === 'topk') {
    for (let r = 0; r < x.rows; r++) for (let c = 0; c < dIn; c++) bDec[c] += x.data[r * dIn + c];
    for (let c = 0; c < dIn; c++) bDec[c] = (bDec[c] / x.rows) * scale;
  }
  return { wEnc, bEnc: new Float32Array(dSae), wDec, bDec };
}

/** The transpose of a row-major [rows, cols] array. */
function transposed(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

function renormalizeDecoderRows(wDec: tf.Variable): void {
  tf.tidy(() => {
    const norm = tf.maximum(tf.sqrt(tf.sum(tf.square(wDec), 1, true)), 1e-12);
    wDec.assign(tf.div(wDec, norm));
  });
}

function saeTensors(sae: Sae): SaeParams {
  const { dIn, dSae } = sae.config;
  return {
    wEncT: tf.tensor2d(transposed(sae.wEnc, dIn, dSae), [dSae, dIn]),
    bEnc: tf.tensor1d(sae.bEnc),
    wDec: tf.tensor2d(sae.wDec, [dSae, dIn]),
    bDec: tf.tensor1d(sae.bDec),
  };
}

/**
 * The latents of `x` ([tokens, d_in], raw activations) under an SAE, [tokens, d_sae]: the sparse codes
 * (TopK: ReLU of the top k; ReLU+L1: ReLU; JumpReLU: ReLU(pre) · [pre > ReLU(θ)]), or with `dense` the
 * ReLU pre-activations before the selection (what Lan et al. correlate for the Pythia SAEs). Batched; call
 * initBackend() first.
 */
export function encodeSae(sae: Sae, x: Matrix, opts: { dense?: boolean; batchSize?: number } = {}): Matrix {
  checkMatrix(x, 'encodeSae activations');
  const { dIn, dSae } = sae.config;
  if (x.cols !== dIn)
    throw new Error(`encodeSae: activations have ${x.cols} columns but the SAE's d_in is ${dIn}`);
  const out = new Float32Array(x.rows * dSae);
  const bs = opts.batchSize ?? 4096;
  const p = saeTensors(sae);
  const theta = sae.config.kind === 'jumprelu' ? tf.relu(tf.tensor1d(jumpThreshold(sae))) : null;
  try {
    for (let r0 = 0; r0 < x.rows; r0 += bs) {
      const r1 = Math.min(x.rows, r0 + bs);
      const z = tf.tidy(() => {
        const xb = tf.mul(
          tf.tensor2d(x.data.subarray(r0 * dIn, r1 * dIn), [r1 - r0, dIn]),
          sae.inputScale,
        ) as tf.Tensor2D;
        const pre = preActivations(p, xb, sae.config.applyBDecToInput ?? true);
        if (opts.dense) return tf.relu(pre);
        if (sae.config.kind === 'topk')
          return tf.mul(tf.relu(pre), topkMask(pre, sae.config.k ?? SAE_TOPK_K));
        if (theta) return tf.mul(tf.relu(pre), tf.cast(tf.greater(pre, theta), 'float32'));
        return tf.relu(pre);
      });
      out.set(z.dataSync() as Float32Array, r0 * dSae);
      z.dispose();
    }
  } finally {
    tf.dispose([p.wEncT, p.bEnc, p.wDec, p.bDec, ...(theta ? [theta] : [])]);
  }
  return { data: out, rows: x.rows, cols: dSae };
}

/** Quality of an SAE on a set of activations; JSON-able. */
export interface SaeMetrics {
  /** Mean number of non-zero latents per token. */
  l0: number;
  /** 1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2 on de-normalised activations (x_bar per dimension over these tokens). */
  explainedVariance: number;
  /** Mean over tokens and dimensions of (x - x_hat)^2, de-normalised. */
  mse: number;
  /** Share of latents that never fired on these tokens (the stated window). */
  deadFraction: number;
  /** Share of latents firing on more than 10% of the tokens. */
  denseFraction: number;
  /** Tokens in the window for the dead fraction. */
  windowTokens: number;
  /** Histogram of log10 latent density: `edges` (bin edges) and `counts`; never-firing latents in `never`. */
  densityHistogram: { edges: number[]; counts: number[]; never: number };
}

/** Evaluates an SAE on `x` ([tokens, d_in], raw activations); see {@link SaeMetrics}. */
export function evaluateSae(sae: Sae, x: Matrix, opts: { batchSize?: number } = {}): SaeMetrics {
  return codeMetrics(encodeSae(sae, x, opts), x, sae, opts);
}

/**
 * The metrics of codes `z` ([tokens, d_sae]) of the raw activations `x` ([tokens, d_in]) under a decoder
 * W_dec [d_sae, d_in], b_dec [d_in] that reconstructs x * inputScale; see {@link SaeMetrics}.
 */
export function codeMetrics(
  z: Matrix,
  x: Matrix,
  decoder: { wDec: Float32Array; bDec: Float32Array; inputScale: number },
  opts: { batchSize?: number } = {},
): SaeMetrics {
  const dIn = x.cols;
  const dSae = z.cols;
  const fired = new Float64Array(dSae);
  let nonzero = 0;
  for (let r = 0; r < z.rows; r++) {
    for (let i = 0; i < dSae; i++) {
      if (z.data[r * dSae + i] > 0) {
        fired[i]++;
        nonzero++;
      }
    }
  }
  // Reconstruction x_hat = (z W_dec + b_dec) / scale, in JS float64 batches through TF.js.
  const mean = new Float64Array(dIn);
  for (let r = 0; r < x.rows; r++) for (let c = 0; c < dIn; c++) mean[c] += x.data[r * dIn + c];
  for (let c = 0; c < dIn; c++) mean[c] /= x.rows;
  let sse = 0;
  let sst = 0;
  const wDec = tf.tensor2d(decoder.wDec, [dSae, dIn]);
  const bDec = tf.tensor1d(decoder.bDec);
  const bs = opts.batchSize ?? 4096;
  try {
    for (let r0 = 0; r0 < x.rows; r0 += bs) {
      const r1 = Math.min(x.rows, r0 + bs);
      const xHatT = tf.tidy(() =>
        tf.div(
          tf.add(tf.matMul(tf.tensor2d(z.data.subarray(r0 * dSae, r1 * dSae), [r1 - r0, dSae]), wDec), bDec),
          decoder.inputScale,
        ),
      );
      const xHat = xHatT.dataSync();
      xHatT.dispose();
      for (let r = r0; r < r1; r++) {
        for (let c = 0; c < dIn; c++) {
          const v = x.data[r * dIn + c];
          sse += (v - xHat[(r - r0) * dIn + c]) ** 2;
          sst += (v - mean[c]) ** 2;
        }
      }
    }
  } finally {
    tf.dispose([wDec, bDec]);
  }
  const edges: number[] = [];
  for (let e = -8; e <= 0; e += 0.5) edges.push(e);
  const counts = new Array<number>(edges.length - 1).fill(0);
  let never = 0;
  let dense = 0;
  for (let i = 0; i < dSae; i++) {
    const density = fired[i] / x.rows;
    if (density > 0.1) dense++;
    if (density === 0) {
      never++;
      continue;
    }
    const l = Math.log10(density);
    const bin = Math.min(counts.length - 1, Math.max(0, Math.floor((l - edges[0]) / 0.5)));
    counts[bin]++;
  }
  return {
    l0: nonzero / x.rows,
    explainedVariance: sst > 0 ? 1 - sse / sst : NaN,
    mse: sse / (x.rows * dIn),
    deadFraction: never / dSae,
    denseFraction: dense / dSae,
    windowTokens: x.rows,
    densityHistogram: { edges, counts, never },
  };
}

/** A JumpReLU SAE's threshold; fails for an SAE without one. */
function jumpThreshold(sae: Sae): Float32Array {
  if (!sae.threshold) throw new Error(`a ${sae.config.kind} SAE needs a threshold`);
  return sae.threshold;
}

/**
 * Writes `dir/sae_weights.safetensors` (SAELens names; `threshold` for JumpReLU) and `dir/cfg.json`
 * (config, input scale, extra fields); both are flushed under temporary names before either is renamed
 * into place.
 */
export function saveSae(dir: string, sae: Sae, extra: Record<string, unknown> = {}): void {
  const { dIn, dSae } = sae.config;
  const tensors = new Map<string, NamedArray>([
    ['W_enc', { shape: [dIn, dSae], data: sae.wEnc }],
    ['b_enc', { shape: [dSae], data: sae.bEnc }],
    ['W_dec', { shape: [dSae, dIn], data: sae.wDec }],
    ['b_dec', { shape: [dIn], data: sae.bDec }],
  ]);
  if (sae.config.kind === 'jumprelu') tensors.set('threshold', { shape: [dSae], data: jumpThreshold(sae) });
  const weights = serializeSafetensors(tensors, { format: 'monoscope-sae' });
  const cfg = {
    ...extra,
    ...sae.config,
    inputScale: sae.inputScale,
    normalization: 'expected_average_only_in',
  };
  writeDictionaryFiles(dir, weights, cfg);
}

/**
 * Writes a dictionary's `dir/sae_weights.safetensors` and `dir/cfg.json` (SAEs, crosscoders): both are
 * flushed under temporary names before either is renamed into place.
 */
export function writeDictionaryFiles(dir: string, weights: Uint8Array, cfg: object): void {
  writeFilesAtomic([
    { file: join(dir, 'sae_weights.safetensors'), write: (fd) => writeAll(fd, weights) },
    { file: join(dir, 'cfg.json'), write: (fd) => writeAll(fd, JSON.stringify(cfg, null, 2) + '\n') },
  ]);
}

/**
 * A reader of float tensors of given shapes from `file`: a missing tensor or another shape is an error that
 * names the file, the tensor, and where the expected shape comes from (`shapesFrom`).
 */
export function tensorGetter(
  file: string,
  tensors: Map<string, NamedArray>,
  shapesFrom: string,
): (name: string, shape: number[]) => Float32Array {
  return (name, shape) => {
    const t = tensors.get(name);
    if (!t) throw new Error(`${file}: tensor '${name}' is missing`);
    if (JSON.stringify(t.shape) !== JSON.stringify(shape))
      throw new Error(
        `${file}: tensor '${name}' has shape ${JSON.stringify(t.shape)}, expected ${JSON.stringify(shape)} from ${shapesFrom}`,
      );
    if (!(t.data instanceof Float32Array)) throw new Error(`${file}: tensor '${name}' is not a float tensor`);
    return t.data;
  };
}

/** Reads an SAE written by {@link saveSae}, checking shapes against cfg.json. */
export function loadSae(dir: string): Sae {
  const cfgFile = join(dir, 'cfg.json');
  let cfg: SaeConfig & { inputScale?: number };
  try {
    cfg = JSON.parse(readFileSync(cfgFile, 'utf8'));
  } catch (e) {
    throw new Error(`${cfgFile}: ${(e as Error).message}`);
  }
  for (const key of ['kind', 'dIn', 'dSae', 'inputScale'] as const) {
    if (cfg[key] === undefined) throw new Error(`${cfgFile}: field '${key}' is missing`);
  }
  const file = join(dir, 'sae_weights.safetensors');
  const { tensors } = readSafetensors(file);
  const get = tensorGetter(file, tensors, 'cfg.json');
  const { dIn, dSae } = cfg;
  return {
    config: cfg as Sae['config'],
    inputScale: cfg.inputScale!,
    wEnc: get('W_enc', [dIn, dSae]),
    bEnc: get('b_enc', [dSae]),
    wDec: get('W_dec', [dSae, dIn]),
    bDec: get('b_dec', [dIn]),
    ...(cfg.kind === 'jumprelu' && { threshold: get('threshold', [dSae]) }),
  };
}

/** The decoder rows W_dec [d_sae, d_in] as a matrix (rows = features), for SVCCA/RSA on paired features (Lan et al. §3). */
export function saeDecoderRows(sae: Sae): Matrix {
  return { data: sae.wDec, rows: sae.config.dSae, cols: sae.config.dIn };
}
