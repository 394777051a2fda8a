import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/core/backend/index.js';
import {
  batchTopKLoss,
  batchTopKSelect,
  l1Loss,
  type CrosscoderParams,
} from '../../../src/core/diff/crosscoder.js';
import { Rng } from '../../../src/core/model/rng.js';

// The cpu backend for gradient precision (the reference backend).
beforeAll(async () => {
  await initBackend('cpu');
});

// A tiny crosscoder of 2 models: inputs X = [x^A s_A, x^B s_B] of width n·d_in.
const n = 2;
const dIn = 3;
const width = n * dIn;
const dSae = 4;
const B = 5;
const rng = new Rng(13);
// Parameters rounded to float32, so that TF.js and the float64 reference see the same numbers.
const rand = (len: number, s = 1) => Float64Array.from({ length: len }, () => Math.fround(s * rng.normal()));
const P = {
  wEnc: rand(width * dSae),
  bEnc: rand(dSae, 0.3),
  wDec: rand(dSae * width),
  bDec: rand(width, 0.3),
};
const X = rand(B * width);
type P64 = typeof P;

/** pre = X W_enc + b_enc in float64 (W_enc [n·d_in, d_sae]). */
function pre64(p: P64): Float64Array {
  const out = new Float64Array(B * dSae);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < dSae; i++) {
      let s = p.bEnc[i];
      for (let j = 0; j < width; j++) s += X[b * width + j] * p.wEnc[j * dSae + i];
      out[b * dSae + i] = s;
    }
  }
  return out;
}

/** f W_dec (+ b_dec) in float64 (W_dec [d_sae, n·d_in]). */
function decode64(p: P64, f: Float64Array, bias: boolean): Float64Array {
  const out = new Float64Array(B * width);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < width; j++) {
      let s = bias ? p.bDec[j] : 0;
      for (let i = 0; i < dSae; i++) s += f[b * dSae + i] * p.wDec[i * width + j];
      out[b * width + j] = s;
    }
  }
  return out;
}

/** mean_b Σ_j (y − ŷ)²: Σ_m ||x^m − x̂^m||² averaged over the batch. */
const sqErr = (y: Float64Array, yHat: Float64Array) => {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (y[i] - yHat[i]) ** 2;
  return s / B;
};

/** Lindsey et al.'s L1 crosscoder loss: mean_b [Σ_m ||x^m − x̂^m||² + λ Σ_i f_i Σ_m ||d_i^m||]. */
function l1Loss64(p: P64, lambda: number): number {
  const f = pre64(p).map((v) => Math.max(v, 0));
  let penalty = 0;
  for (let i = 0; i < dSae; i++) {
    let c = 0;
    for (let m = 0; m < n; m++) {
      let n2 = 0;
      for (let j = 0; j < dIn; j++) n2 += p.wDec[i * width + m * dIn + j] ** 2;
      c += Math.sqrt(n2);
    }
    for (let b = 0; b < B; b++) penalty += f[b * dSae + i] * c;
  }
  return sqErr(X, decode64(p, f, true)) + (lambda * penalty) / B;
}

/** BatchTopK with AuxK for fixed kept entries, AuxK mask and residual target. */
function batchTopKLoss64(
  p: P64,
  mask: Float64Array,
  auxMask: Float64Array,
  target: Float64Array,
  alpha: number,
) {
  const act = pre64(p).map((v) => Math.max(v, 0));
  const f = act.map((v, i) => v * mask[i]);
  const fAux = act.map((v, i) => v * auxMask[i]);
  return sqErr(X, decode64(p, f, true)) + alpha * sqErr(target, decode64(p, fAux, false));
}

/** Central finite differences of a float64 loss with respect to every parameter. */
function finiteDiff(loss: (p: P64) => number): P64 {
  const h = 1e-6;
  const out = {} as P64;
  for (const key of Object.keys(P) as (keyof P64)[]) {
    out[key] = P[key].map((_, i) => {
      const plus = { ...P, [key]: P[key].slice() };
      const minus = { ...P, [key]: P[key].slice() };
      plus[key][i] += h;
      minus[key][i] -= h;
      return (loss(plus) - loss(minus)) / (2 * h);
    });
  }
  return out;
}

function tfGrads(loss: (p: CrosscoderParams) => tf.Scalar): { grads: P64; value: number } {
  const t = [
    tf.tensor2d(Float32Array.from(P.wEnc), [width, dSae]),
    tf.tensor1d(Float32Array.from(P.bEnc)),
    tf.tensor2d(Float32Array.from(P.wDec), [dSae, width]),
    tf.tensor1d(Float32Array.from(P.bDec)),
  ];
  const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
    loss({ wEnc: a as tf.Tensor2D, bEnc: b as tf.Tensor1D, wDec: c as tf.Tensor2D, bDec: d as tf.Tensor1D });
  const { value, grads } = tf.valueAndGrads(f)(t);
  const keys = ['wEnc', 'bEnc', 'wDec', 'bDec'] as const;
  const out = Object.fromEntries(keys.map((k, i) => [k, Float64Array.from(grads[i].dataSync())])) as P64;
  const v = value.dataSync()[0];
  tf.dispose([...grads, value, ...t]);
  return { grads: out, value: v };
}

// TF.js computes in float32 (about 7 digits) over sums of a few dozen O(1) terms; central differences of the
// float64 reference with h = 1e-6 are accurate to about 1e-9. Differences above 2e-4 of the largest
// gradient are errors of the formula, not of rounding.
function expectClose(got: P64, want: P64): void {
  for (const key of Object.keys(want) as (keyof P64)[]) {
    const scale = Math.max(1, ...want[key].map(Math.abs));
    for (let i = 0; i < want[key].length; i++)
      expect(Math.abs(got[key][i] - want[key][i]) / scale, `${key}[${i}]`).toBeLessThan(2e-4);
  }
}

describe('crosscoder losses: TF.js gradients against finite differences of a float64 reference', () => {
  it('no pre-activation sits at the ReLU kink (the finite differences are valid)', () => {
    for (const v of pre64(P)) expect(Math.abs(v)).toBeGreaterThan(1e-3);
  });

  it('L1: reconstruction summed over models plus the decoder-norm-weighted penalty', () => {
    const lambda = 0.7;
    const x = tf.tensor2d(Float32Array.from(X), [B, width]);
    const got = tfGrads((p) => l1Loss(p, x, lambda, n).loss);
    expect(got.value).toBeCloseTo(l1Loss64(P, lambda), 4);
    const want = finiteDiff((p) => l1Loss64(p, lambda));
    expectClose(got.grads, want);
    // The penalty reaches the decoder: without it the decoder gradient differs.
    const plain = finiteDiff((p) => l1Loss64(p, 0));
    expect(Math.max(...want.wDec.map((v, i) => Math.abs(v - plain.wDec[i])))).toBeGreaterThan(0.05);
    x.dispose();
  });

  it('BatchTopK with AuxK (kept entries, AuxK mask and residual held fixed, as in training)', () => {
    const x = tf.tensor2d(Float32Array.from(X), [B, width]);
    const act = pre64(P).map((v) => Math.max(v, 0));
    // Keep the k·B = 2·5 largest activations of the batch; AuxK on latent 3 of every row.
    const { mask } = batchTopKSelect(Float32Array.from(act), B, 2);
    const auxMask = Float64Array.from({ length: B * dSae }, (_, i) => (i % dSae === 3 ? 1 : 0));
    const target = rand(B * width);
    const alpha = 0.5;
    const maskT = tf.tensor2d(mask, [B, dSae]);
    const auxT = {
      mask: tf.tensor2d(Float32Array.from(auxMask), [B, dSae]),
      target: tf.tensor2d(Float32Array.from(target), [B, width]),
    };
    const mask64 = Float64Array.from(mask);
    const got = tfGrads((p) => batchTopKLoss(p, x, maskT, auxT, alpha).loss);
    expect(got.value).toBeCloseTo(batchTopKLoss64(P, mask64, auxMask, target, alpha), 4);
    expectClose(
      got.grads,
      finiteDiff((p) => batchTopKLoss64(p, mask64, auxMask, target, alpha)),
    );
    // Without AuxK, an entry that was not kept gets no encoder gradient.
    const noAux = tfGrads((p) => batchTopKLoss(p, x, maskT, null, alpha).loss).grads;
    for (let i = 0; i < dSae; i++) {
      const keptAnywhere = Array.from({ length: B }, (_, b) => mask[b * dSae + i] * act[b * dSae + i]).some(
        (v) => v > 0,
      );
      if (!keptAnywhere) expect(noAux.bEnc[i]).toBe(0);
      else expect(noAux.bEnc[i]).not.toBe(0);
    }
    tf.dispose([x, maskT, auxT.mask, auxT.target]);
  });
});

describe('BatchTopK selection', () => {
  it('keeps exactly k·B entries over the whole batch, not k per row', () => {
    // 4 rows of 6 latents, k = 2: 8 entries kept. Row 0 holds the 6 largest values, so it keeps 6 and the
    // other rows share the remaining 2 (a per-row TopK would keep 2 in each).
    const rows = [
      [90, 80, 70, 60, 50, 40],
      [1, 9, 2, 3, 0, 0],
      [8, 0.5, 0, 0, 0, 0],
      [4, 5, 0, 6, 0, 7],
    ];
    const { mask, minKept } = batchTopKSelect(Float32Array.from(rows.flat()), 4, 2);
    const perRow = rows.map((_, r) => mask.slice(r * 6, r * 6 + 6).reduce((a, b) => a + b, 0));
    expect(perRow).toEqual([6, 1, 1, 0]);
    expect([...mask.slice(6, 12)]).toEqual([0, 1, 0, 0, 0, 0]);
    expect([...mask.slice(12, 18)]).toEqual([1, 0, 0, 0, 0, 0]);
    expect(minKept).toBe(8); // θ's sample: the smallest kept value
  });

  it('breaks ties by position and keeps exactly k·B; with too few positive values θ samples the smallest positive', () => {
    const tied = batchTopKSelect(Float32Array.from([3, 3, 3, 3, 1, 0]), 2, 1);
    expect([...tied.mask]).toEqual([1, 1, 0, 0, 0, 0]);
    expect(tied.minKept).toBe(3);
    const sparse = batchTopKSelect(Float32Array.from([0, 0.25, 0, 0, 2, 0]), 2, 2);
    expect(sparse.mask.reduce((a, b) => a + b, 0)).toBe(4);
    expect(sparse.minKept).toBe(0.25);
    expect(batchTopKSelect(new Float32Array(6), 2, 1).minKept).toBe(0);
  });
});
