import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/core/backend/index.js';
import {
  evaluateSae,
  loadSae,
  reluL1Loss,
  saveSae,
  topkLoss,
  topkMask,
  trainSae,
  type Sae,
  type SaeParams,
} from '../../../src/core/analysis/sae.js';
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
    wEnc: tf.tensor2d(Float32Array.from(P.wEnc), [dIn, dSae]),
    bEnc: tf.tensor1d(Float32Array.from(P.bEnc)),
    wDec: tf.tensor2d(Float32Array.from(P.wDec), [dSae, dIn]),
    bDec: tf.tensor1d(Float32Array.from(P.bDec)),
  };
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
    loss({ wEnc: a as tf.Tensor2D, bEnc: b as tf.Tensor1D, wDec: c as tf.Tensor2D, bDec: d as tf.Tensor1D }),
  )([t.wEnc, t.bEnc, t.wDec, t.bDec]);
  const out = { wEnc: g[0], bEnc: g[1], wDec: g[2], bDec: g[3] };
  const res = Object.fromEntries(
    Object.entries(out).map(([k, v]) => [k, Float64Array.from(v.dataSync())]),
  ) as P64;
  tf.dispose([...g, ...Object.values(t)]);
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
        wEnc: tf.tensor2d(Float32Array.from(P.wEnc), [dIn, dSae]),
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

  it('TopK with AuxK (masks and the AuxK target held fixed, as in training)', () => {
    const x = xT();
    const pre0 = pre64(P);
    const k = 2;
    // Masks by hand: the top k per row; AuxK uses latent 3 as the only "dead" one (k_aux = 1).
    const mask = new Float64Array(B * dSae);
    for (let b = 0; b < B; b++) {
      const order = [0, 1, 2, 3].sort((i, j) => pre0[b * dSae + j] - pre0[b * dSae + i]);
      for (const i of order.slice(0, k)) mask[b * dSae + i] = 1;
    }
    const auxMask = new Float64Array(B * dSae);
    for (let b = 0; b < B; b++) auxMask[b * dSae + 3] = 1;
    const target = rand(B * dIn);
    // The library's mask agrees with the hand one.
    const preT = tf.tensor2d(Float32Array.from(pre0), [B, dSae]);
    const maskT = topkMask(preT, k);
    expect([...maskT.dataSync()]).toEqual([...mask]);
    const auxT = {
      mask: tf.tensor2d(Float32Array.from(auxMask), [B, dSae]),
      target: tf.tensor2d(Float32Array.from(target), [B, dIn]),
    };
    const alpha = 1 / 32;
    expectClose(
      tfGrads((p) => topkLoss(p, x, maskT, auxT, alpha).loss),
      finiteDiff((p) => topkLoss64(p, mask, auxMask, target, alpha)),
    );
    tf.dispose([x, preT, maskT, auxT.mask, auxT.target]);
  });
});

/** Activations that are sparse combinations of 16 unit directions in 12 dimensions, plus an offset. */
function syntheticActs(rows: number, seed: number) {
  const r = new Rng(seed);
  const d = 12;
  const atoms = Array.from({ length: 16 }, () => {
    const v = Array.from({ length: d }, () => r.normal());
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  });
  const data = new Float32Array(rows * d);
  for (let t = 0; t < rows; t++) {
    for (let a = 0; a < 2; a++) {
      const atom = atoms[r.int(16)];
      const coef = 1 + r.next() * 2;
      for (let j = 0; j < d; j++) data[t * d + j] += coef * atom[j];
    }
    for (let j = 0; j < d; j++) data[t * d + j] += 0.5;
  }
  return { data, rows, cols: d };
}

describe('SAE training', () => {
  const dir = mkdtempSync(join(tmpdir(), 'monoscope-sae-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const x = syntheticActs(2048, 1);
  let topk: Sae;

  it('TopK learns the sparse code: explained variance rises, L0 <= k, decoder rows stay unit norm, no tensor leak', () => {
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const { sae, log } = trainSae(
      x,
      { kind: 'topk', dIn: 12, dSae: 32, k: 4, batchSize: 128, steps: 160, lr: 5e-3, seed: 1 },
      () => counts.push(tf.memory().numTensors),
    );
    topk = sae;
    expect(tf.memory().numTensors).toBe(before);
    expect(new Set(counts.slice(5)).size).toBe(1);
    expect(log[log.length - 1].mse).toBeLessThan(log[0].mse / 3);
    const m = evaluateSae(sae, x);
    expect(m.l0).toBeLessThanOrEqual(4);
    expect(m.explainedVariance).toBeGreaterThan(0.8);
    expect(m.windowTokens).toBe(2048);
    expect(m.densityHistogram.counts.reduce((a, b) => a + b, 0) + m.densityHistogram.never).toBe(32);
    for (let i = 0; i < 32; i++) {
      let n2 = 0;
      for (let j = 0; j < 12; j++) n2 += sae.wDec[i * 12 + j] ** 2;
      expect(Math.sqrt(n2)).toBeCloseTo(1, 4);
    }
  });

  it('ReLU + L1 warms lambda up over 5% of the steps and reaches a sparse fit', () => {
    const before = tf.memory().numTensors;
    const { sae, log } = trainSae(x, {
      kind: 'relu-l1',
      dIn: 12,
      dSae: 32,
      batchSize: 128,
      steps: 120,
      lr: 5e-3,
      l1Coefficient: 0.05,
      seed: 2,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(log[0].lambda).toBeCloseTo(0.05 / 6, 12); // 5% of 120 steps = 6 warm-up steps
    expect(log[4].lambda).toBeCloseTo((0.05 * 5) / 6, 12);
    expect(log[5].lambda).toBeCloseTo(0.05, 12);
    expect(log[100].lambda).toBe(0.05);
    const m = evaluateSae(sae, x);
    expect(m.explainedVariance).toBeGreaterThan(0.7);
    expect(m.l0).toBeLessThan(32);
  });

  it('explained variance uses the per-dimension mean: a perfect SAE gives 1 and MSE 0', () => {
    // An identity "SAE" with 2 latents per dimension (+e_j and -e_j): exact reconstruction.
    const d = 3;
    const wEnc = new Float32Array(d * 2 * d);
    const wDec = new Float32Array(2 * d * d);
    for (let j = 0; j < d; j++) {
      wEnc[j * 2 * d + j] = 1;
      wEnc[j * 2 * d + d + j] = -1;
      wDec[j * d + j] = 1;
      wDec[(d + j) * d + j] = -1;
    }
    const sae: Sae = {
      config: { kind: 'relu-l1', dIn: d, dSae: 2 * d },
      inputScale: 2,
      wEnc,
      bEnc: new Float32Array(2 * d),
      wDec,
      bDec: new Float32Array(d),
    };
    const xs = { data: Float32Array.from([1, -2, 3, 4, 5, -6, 0, 1, 0]), rows: 3, cols: d };
    const m = evaluateSae(sae, xs);
    expect(m.explainedVariance).toBeCloseTo(1, 6);
    expect(m.mse).toBeCloseTo(0, 10);
    expect(m.l0).toBeCloseTo(7 / 3, 12); // non-zero coordinates per row: 3, 3, 1
  });

  it('saves and loads as safetensors + cfg.json, and names a broken file', () => {
    saveSae(dir, topk, { tap: 'blocks.0.mlp.post' });
    const back = loadSae(dir);
    expect(back.config.kind).toBe('topk');
    expect(back.inputScale).toBe(topk.inputScale);
    expect([...back.wDec]).toEqual([...topk.wDec]);
    expect(evaluateSae(back, x).explainedVariance).toBeCloseTo(evaluateSae(topk, x).explainedVariance, 10);
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ kind: 'topk', dIn: 12, dSae: 16, inputScale: 1 }));
    expect(() => loadSae(dir)).toThrow(/tensor 'W_enc' has shape \[12,32\], expected float32 \[12,16\]/);
  });
});
