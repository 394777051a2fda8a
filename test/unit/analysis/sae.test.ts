import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/core/backend/index.js';
import { reluL1Loss, topkLoss, topkMask, type SaeParams } from '../../../src/core/analysis/sae.js';
import { Rng } from '../../../src/core/model/rng.js';

// The cpu backend for gradient precision (the reference backend; wasm matches it, see the shared notes).
beforeAll(async () => {
  await initBackend('cpu');
});

const dIn = 3;
const dSae = 4;
const B = 5;
const rng = new Rng(4);
const rand = (n: number, s = 1) => Float64Array.from({ length: n }, () => s * rng.normal());
const P = { wEnc: rand(dIn * dSae), bEnc: rand(dSae, 0.3), wDec: rand(dSae * dIn), bDec: rand(dIn, 0.3) };
const X = rand(B * dIn);
type P64 = typeof P;

/** pre = (x - b_dec) W_enc + b_enc in float64. */
function pre64(p: P64): Float64Array {
  const out = new Float64Array(B * dSae);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < dSae; i++) {
      let s = p.bEnc[i];
      for (let j = 0; j < dIn; j++) s += (X[b * dIn + j] - p.bDec[j]) * p.wEnc[j * dSae + i];
      out[b * dSae + i] = s;
    }
  }
  return out;
}

function decode64(p: P64, z: Float64Array, bias: boolean): Float64Array {
  const out = new Float64Array(B * dIn);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < dIn; j++) {
      let s = bias ? p.bDec[j] : 0;
      for (let i = 0; i < dSae; i++) s += z[b * dSae + i] * p.wDec[i * dIn + j];
      out[b * dIn + j] = s;
    }
  }
  return out;
}

const sqErr = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / B;
};

function reluL1Loss64(p: P64, lambda: number): number {
  const f = pre64(p).map((v) => Math.max(v, 0));
  let l1 = 0;
  for (let i = 0; i < dSae; i++) {
    let n2 = 0;
    for (let j = 0; j < dIn; j++) n2 += p.wDec[i * dIn + j] ** 2;
    for (let b = 0; b < B; b++) l1 += f[b * dSae + i] * Math.sqrt(n2);
  }
  return sqErr(X, decode64(p, f, true)) + (lambda * l1) / B;
}

function topkLoss64(
  p: P64,
  mask: Float64Array,
  auxMask: Float64Array,
  target: Float64Array,
  alpha: number,
): number {
  const pre = pre64(p);
  const z = pre.map((v, i) => Math.max(v, 0) * mask[i]);
  const zAux = pre.map((v, i) => Math.max(v, 0) * auxMask[i]);
  return sqErr(X, decode64(p, z, true)) + alpha * sqErr(target, decode64(p, zAux, false));
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

function tfGrads(loss: (p: SaeParams) => tf.Scalar): P64 {
  const t = {
    wEncT: tf.transpose(tf.tensor2d(Float32Array.from(P.wEnc), [dIn, dSae])) as tf.Tensor2D,
    bEnc: tf.tensor1d(Float32Array.from(P.bEnc)),
    wDec: tf.tensor2d(Float32Array.from(P.wDec), [dSae, dIn]),
    bDec: tf.tensor1d(Float32Array.from(P.bDec)),
  };
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
    loss({ wEncT: a as tf.Tensor2D, bEnc: b as tf.Tensor1D, wDec: c as tf.Tensor2D, bDec: d as tf.Tensor1D }),
  )([t.wEncT, t.bEnc, t.wDec, t.bDec]);
  // Back to the W_enc [d_in, d_sae] layout of the float64 reference.
  const out = { wEnc: tf.transpose(g[0]), bEnc: g[1], wDec: g[2], bDec: g[3] };
  const res = Object.fromEntries(
    Object.entries(out).map(([k, v]) => [k, Float64Array.from(v.dataSync())]),
  ) as P64;
  tf.dispose([...g, out.wEnc, ...Object.values(t)]);
  return res;
}

function expectClose(got: P64, want: P64): void {
  for (const key of Object.keys(want) as (keyof P64)[]) {
    const scale = Math.max(1, ...want[key].map(Math.abs));
    for (let i = 0; i < want[key].length; i++)
      expect(Math.abs(got[key][i] - want[key][i]) / scale, `${key}[${i}]`).toBeLessThan(2e-4);
  }
}

describe('SAE losses: tf.grads against finite differences of a float64 reference', () => {
  const xT = () => tf.tensor2d(Float32Array.from(X), [B, dIn]);

  it('ReLU + L1 with decoder-norm weighting', () => {
    const lambda = 0.7;
    // Loss values agree first.
    const x = xT();
    const value = tf.tidy(() => {
      const p = {
        wEncT: tf.transpose(tf.tensor2d(Float32Array.from(P.wEnc), [dIn, dSae])) as tf.Tensor2D,
        bEnc: tf.tensor1d(Float32Array.from(P.bEnc)),
        wDec: tf.tensor2d(Float32Array.from(P.wDec), [dSae, dIn]),
        bDec: tf.tensor1d(Float32Array.from(P.bDec)),
      };
      return reluL1Loss(p, x, lambda).loss.dataSync()[0];
    });
    expect(value).toBeCloseTo(reluL1Loss64(P, lambda), 4);
    expectClose(
      tfGrads((p) => reluL1Loss(p, x, lambda).loss),
      finiteDiff((p) => reluL1Loss64(p, lambda)),
    );
    x.dispose();
  });

  it('TopK with AuxK (chosen latents and the AuxK target held fixed, as in training)', () => {
    const x = xT();
    const pre0 = pre64(P);
    const k = 2;
    // By hand: the top k latents of each row; AuxK uses latent 3 as the only "dead" one (k_aux = 1).
    const mask = new Float64Array(B * dSae);
    const idx: number[] = [];
    for (let b = 0; b < B; b++) {
      const order = [0, 1, 2, 3].sort((i, j) => pre0[b * dSae + j] - pre0[b * dSae + i]);
      for (const i of order.slice(0, k)) {
        mask[b * dSae + i] = 1;
        idx.push(i);
      }
    }
    const auxMask = new Float64Array(B * dSae);
    for (let b = 0; b < B; b++) auxMask[b * dSae + 3] = 1;
    const target = rand(B * dIn);
    // The library's dense mask (used for encoding) agrees with the hand one.
    const preT = tf.tensor2d(Float32Array.from(pre0), [B, dSae]);
    const maskT = topkMask(preT, k);
    expect([...maskT.dataSync()]).toEqual([...mask]);
    const idxT = tf.tensor2d(idx, [B, k], 'int32');
    const auxT = {
      idx: tf.tensor2d(new Array(B).fill(3), [B, 1], 'int32'),
      target: tf.tensor2d(Float32Array.from(target), [B, dIn]),
    };
    const alpha = 1 / 32;
    const want = finiteDiff((p) => topkLoss64(p, mask, auxMask, target, alpha));
    // Latents that were not chosen get exactly zero gradient (the sparse path).
    expect(want.wEnc.filter((_, i) => i % dSae === 3 && Math.abs(want.wEnc[i]) > 0).length).toBeGreaterThan(
      0,
    );
    expectClose(
      tfGrads((p) => topkLoss(p, x, idxT, auxT, alpha).loss),
      want,
    );
    // Without AuxK, latent 3's encoder column gets gradient only where it was chosen.
    const noAux = tfGrads((p) => topkLoss(p, x, idxT, null, alpha).loss);
    const chosen3 = idx.some((i) => i === 3);
    for (let j = 0; j < dIn; j++) if (!chosen3) expect(noAux.wEnc[j * dSae + 3]).toBe(0);
    tf.dispose([x, preT, maskT, idxT, auxT.idx, auxT.target]);
  });
});
