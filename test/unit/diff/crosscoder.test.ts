import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/core/backend/index.js';
import {
  decoderNorms,
  encodeCrosscoder,
  evaluateCrosscoder,
  loadCrosscoder,
  saveCrosscoder,
  trainCrosscoder,
  type Crosscoder,
} from '../../../src/core/diff/crosscoder.js';
import { latentPairs } from '../../../src/core/diff/latents.js';
import { foundAgain } from '../../../src/core/ops/crosscoder.js';
import { takeRows } from '../../../src/core/analysis/matrix.js';
import { CancelledError } from '../../../src/core/ops/progress.js';
import { plantedPair } from './planted.js';

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

beforeAll(async () => {
  await initBackend('wasm');
});

const cosine = (u: ArrayLike<number>, v: ArrayLike<number>) => {
  let dot = 0;
  let nu = 0;
  let nv = 0;
  for (let i = 0; i < u.length; i++) {
    dot += u[i] * v[i];
    nu += u[i] ** 2;
    nv += v[i] ** 2;
  }
  return dot / Math.sqrt(nu * nv);
};

describe('crosscoder training', () => {
  const dir = mkdtempSync(join(tmpdir(), 'monoscope-crosscoder-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const planted = plantedPair(5120, 3);
  const { concepts } = planted;
  // Training tokens and held-out tokens of the same planted models.
  const xs = planted.xs.map((x) => takeRows(x, range(0, 4096)));
  const held = planted.xs.map((x) => takeRows(x, range(4096, 5120)));
  let btk: Crosscoder;

  it('BatchTopK recovers planted shared and model-specific concepts, and tags them so', () => {
    const before = tf.memory().numTensors;
    const { crosscoder, log } = trainCrosscoder(xs, {
      kind: 'batchtopk',
      nModels: 2,
      dIn: 8,
      dSae: 24,
      k: 2,
      batchSize: 256,
      steps: 1000,
      lr: 2e-2,
      seed: 4,
    });
    btk = crosscoder;
    expect(tf.memory().numTensors).toBe(before);
    expect(log[log.length - 1].mse).toBeLessThan(log[0].mse / 4);
    const metrics = evaluateCrosscoder(crosscoder, held);
    expect(metrics).toHaveLength(2);
    for (const m of metrics) expect(m.explainedVariance).toBeGreaterThan(0.8);
    expect(metrics[0].l0).toBeGreaterThan(1);
    expect(metrics[0].l0).toBeLessThan(4);
    // Each planted concept, as the concatenated decoder [d^A, d^B] it implies, has a latent that decodes it
    // (cosine > 0.9), and that latent's tag is the concept's kind.
    const [pair] = latentPairs(crosscoder, held, { specific: 0.9, shared: 0.1 });
    const width = 16; // [d^A, d^B]
    let right = 0;
    for (const c of concepts) {
      const want = [...(c.a ?? new Array(8).fill(0)), ...(c.b ?? new Array(8).fill(0))];
      let best = -1;
      let bestCos = -Infinity;
      for (let i = 0; i < 24; i++) {
        const cos = cosine(crosscoder.wDec.subarray(i * width, (i + 1) * width), want);
        if (cos > bestCos) [best, bestCos] = [i, cos];
      }
      expect(bestCos, `${c.kind} concept`).toBeGreaterThan(0.9);
      if (pair.tag[best] === c.kind) right++;
    }
    expect(right).toBeGreaterThanOrEqual(7);
    expect(pair.counts['a-only']).toBeGreaterThanOrEqual(2);
    expect(pair.counts['b-only']).toBeGreaterThanOrEqual(2);
  });

  it('θ is the mean of the smallest kept value over the second half of training; every latent has c_i = 1', () => {
    const { crosscoder, log } = trainCrosscoder(xs, {
      kind: 'batchtopk',
      nModels: 2,
      dIn: 8,
      dSae: 12,
      k: 3,
      batchSize: 64,
      steps: 30,
      seed: 2,
    });
    const tail = log.slice(15).map((e) => e.minKept!);
    expect(tail.every((v) => v > 0)).toBe(true);
    const theta = tail.reduce((a, b) => a + b, 0) / tail.length;
    expect(crosscoder.threshold).toHaveLength(12);
    for (const v of crosscoder.threshold!) expect(v).toBe(Math.fround(theta));
    const norms = decoderNorms(crosscoder);
    for (let i = 0; i < 12; i++) expect(norms[0][i] + norms[1][i]).toBeCloseTo(1, 5);
    // Inference is a JumpReLU with θ: every code is 0 or above θ.
    const z = encodeCrosscoder(crosscoder, held);
    expect(z.data.every((v) => v === 0 || v > crosscoder.threshold![0])).toBe(true);
  });

  it('L1 warms λ up over 5% of the steps and fits with a decoder-norm-weighted penalty', () => {
    const before = tf.memory().numTensors;
    const { crosscoder, log } = trainCrosscoder(xs, {
      kind: 'l1',
      nModels: 2,
      dIn: 8,
      dSae: 16,
      l1Coefficient: 0.05,
      batchSize: 128,
      steps: 100,
      lr: 5e-3,
      seed: 4,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(log[0].lambda).toBeCloseTo(0.05 / 5, 12); // 5% of 100 steps = 5 warm-up steps
    expect(log[3].lambda).toBeCloseTo((0.05 * 4) / 5, 12);
    expect(log[50].lambda).toBe(0.05);
    expect(crosscoder.threshold).toBeUndefined();
    expect(log[log.length - 1].mse).toBeLessThan(log[0].mse / 2);
    for (const m of evaluateCrosscoder(crosscoder, held)) expect(m.explainedVariance).toBeGreaterThan(0.5);
  });

  it("starts every latent's decoder blocks in the same direction in every model", () => {
    // One step of a negligible learning rate leaves the initial weights: each latent's two blocks must be
    // parallel (cosine 1) while different latents point different ways.
    const { crosscoder } = trainCrosscoder(xs, {
      kind: 'batchtopk',
      nModels: 2,
      dIn: 8,
      dSae: 6,
      k: 2,
      batchSize: 64,
      steps: 1,
      lr: 1e-12,
    });
    const block = (i: number, m: number) => crosscoder.wDec.subarray(i * 16 + m * 8, i * 16 + m * 8 + 8);
    for (let i = 0; i < 6; i++) expect(cosine(block(i, 0), block(i, 1))).toBeCloseTo(1, 5);
    expect(Math.abs(cosine(block(0, 0), block(1, 0)))).toBeLessThan(0.99);
  });

  it('rejects inputs that do not fit the config, and stops when cancelled', () => {
    const cfg = { kind: 'batchtopk' as const, nModels: 2, dIn: 8, dSae: 8, k: 2, batchSize: 64, steps: 1 };
    expect(() => trainCrosscoder([xs[0]], cfg)).toThrow(/activations of 1 models, the crosscoder has 2/);
    const short = { ...xs[1], rows: 100, data: xs[1].data.subarray(0, 800) };
    expect(() => trainCrosscoder([xs[0], short], cfg)).toThrow(/model 1 has 100 tokens but model 0 has 4096/);
    expect(() => trainCrosscoder(xs, { ...cfg, nModels: 1 })).toThrow(/nModels must be at least 2/);
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    controller.abort();
    expect(() => trainCrosscoder(xs, cfg, undefined, controller.signal)).toThrow(CancelledError);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('finds a latent again by its activations in a twin that holds it under another index, not one silenced', () => {
    // The twin: btk's latents in reverse order, two of those that fire silenced (no encoder, b_enc −1).
    const { dSae, nModels, dIn } = btk.config;
    const width = nModels * dIn;
    const src = (j: number) => dSae - 1 - j;
    const z = encodeCrosscoder(btk, held);
    const firing = range(0, dSae).filter((i) => range(0, z.rows).some((r) => z.data[r * dSae + i] > 0));
    const silenced = new Set(firing.slice(0, 2));
    const twin: Crosscoder = {
      ...btk,
      wEnc: Float32Array.from({ length: width * dSae }, (_, x) => {
        const i = src(x % dSae);
        return silenced.has(i) ? 0 : btk.wEnc[Math.floor(x / dSae) * dSae + i];
      }),
      bEnc: Float32Array.from({ length: dSae }, (_, j) => (silenced.has(src(j)) ? -1 : btk.bEnc[src(j)])),
      wDec: Float32Array.from(
        { length: dSae * width },
        (_, x) => btk.wDec[src(Math.floor(x / width)) * width + (x % width)],
      ),
      threshold: Float32Array.from({ length: dSae }, (_, j) => btk.threshold![src(j)]),
    };
    expect(firing.length).toBeGreaterThan(4);
    expect([...foundAgain(btk, twin, held)].sort((a, b) => a - b)).toEqual(
      firing.filter((i) => !silenced.has(i)),
    );
    expect(foundAgain(btk, btk, held).size).toBe(firing.length);
  });

  it('saves cfg.json and sae_weights.safetensors in the contract layout and loads them back', () => {
    saveCrosscoder(dir, btk, { checkpoints: ['base', 'dpo'], tap: 'blocks.0.mlp.post', probeHash: 'abc' });
    const cfg = JSON.parse(readFileSync(join(dir, 'cfg.json'), 'utf8'));
    expect(cfg).toMatchObject({
      kind: 'batchtopk',
      dIn: 8,
      dSae: 24,
      nModels: 2,
      k: 2,
      l1: null,
      inputScales: btk.inputScales,
      checkpoints: ['base', 'dpo'],
      tap: 'blocks.0.mlp.post',
      probeHash: 'abc',
    });
    const back = loadCrosscoder(dir);
    expect(back.config).toEqual(btk.config);
    for (const key of ['wEnc', 'bEnc', 'wDec', 'bDec', 'threshold'] as const)
      expect([...back[key]!], key).toEqual([...btk[key]!]);
    expect([...encodeCrosscoder(back, held).data]).toEqual([...encodeCrosscoder(btk, held).data]);
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ ...cfg, dSae: 12 }));
    expect(() => loadCrosscoder(dir)).toThrow(
      /tensor 'W_enc' has shape \[2,8,24\], expected \[2,8,12\] from cfg\.json/,
    );
  });
});
