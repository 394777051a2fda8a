import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/core/backend/index.js';
import {
  evaluateSae,
  loadSae,
  saeDecoderRows,
  saveSae,
  trainSae,
  type Sae,
} from '../../../src/core/analysis/sae.js';
import { Rng } from '../../../src/core/model/rng.js';

// Training runs on wasm: the TopK path gathers decoder rows, whose gradient (UnsortedSegmentSum) is a fast
// kernel there and a slow one on the cpu backend.
beforeAll(async () => {
  await initBackend('wasm');
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
    expect([...back.wEnc]).toEqual([...topk.wEnc]);
    const rows = saeDecoderRows(back);
    expect([rows.rows, rows.cols]).toEqual([32, 12]);
    expect(rows.data[12]).toBe(topk.wDec[12]); // row 1, dimension 0
    expect(evaluateSae(back, x).explainedVariance).toBeCloseTo(evaluateSae(topk, x).explainedVariance, 10);
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ kind: 'topk', dIn: 12, dSae: 16, inputScale: 1 }));
    expect(() => loadSae(dir)).toThrow(
      /tensor 'W_enc' has shape \[12,32\], expected \[12,16\] from cfg\.json/,
    );
  });
});
