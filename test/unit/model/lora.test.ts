// LoRA in the forward pass of every architecture (src/core/model/lora.ts, layers/linear.ts), against the
// closed form: a model with an adapter computes what the base computes with W replaced by W + s B A
// (GPT-2's Conv1D: W + s (B A)^T), s = alpha / r. B = 0 is the base exactly; dropout is seeded and only
// present in training; the base config ignores the adapter; only the adapter trains.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../helpers/backend.js';
import { loadWeights } from '../../../src/core/model/checkpoint.js';
import type { ModelConfig } from '../../../src/core/model/architecture.js';
import {
  adaptedLinears,
  architecture,
  disposeParams,
  forward,
  paramsFromArrays,
} from '../../../src/core/model/models.js';
import {
  baseConfig,
  defaultLoraTargets,
  initLoraArrays,
  loraA,
  loraB,
  loraScale,
} from '../../../src/core/model/lora.js';
import type { NamedArray } from '../../../src/core/model/safetensors.js';
import { Rng } from '../../../src/core/model/rng.js';
import { makeReferenceCheckpoint, tokenIds } from './architectures/reference.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-lora-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function logits(
  cfg: ModelConfig,
  arrays: Map<string, NamedArray>,
  ids: number[][],
  seed?: number,
): Float32Array {
  const params = paramsFromArrays(cfg, arrays, false);
  try {
    return tf.tidy(() => {
      const x = tf.tensor2d(ids, [ids.length, ids[0].length], 'int32');
      return forward(cfg, params, x, { dropoutSeed: seed }).logits!.dataSync() as Float32Array;
    });
  } finally {
    disposeParams(params);
  }
}

/** An adapter with every B random (a fresh adapter's B is zero). */
function randomAdapter(cfg: ModelConfig, seed: number): Map<string, NamedArray> {
  const adapter = initLoraArrays(adaptedLinears(cfg), cfg.lora!.r, seed);
  const rng = new Rng(seed + 1);
  for (const [name, a] of adapter)
    if (name.endsWith('lora_B.weight')) a.data = a.data.map(() => 0.2 * rng.normal());
  return adapter;
}

/** The base weights with each adapted W replaced by W + s B A, written out in float64 loops. */
function merged(cfg: ModelConfig, base: Map<string, NamedArray>, adapter: Map<string, NamedArray>) {
  const out = new Map(base);
  const s = loraScale(cfg.lora!);
  const conv1d = architecture(cfg).conv1d ?? false;
  for (const m of adaptedLinears(cfg)) {
    const A = adapter.get(loraA(m.module))!.data;
    const B = adapter.get(loraB(m.module))!.data;
    const w = base.get(`${m.module}.weight`)!;
    const data = Float32Array.from(w.data);
    const r = cfg.lora!.r;
    for (let o = 0; o < m.out; o++)
      for (let i = 0; i < m.in; i++) {
        let d = 0;
        for (let k = 0; k < r; k++) d += B[o * r + k] * A[k * m.in + i];
        data[conv1d ? i * m.out + o : o * m.in + i] += s * d;
      }
    out.set(`${m.module}.weight`, { shape: w.shape, data });
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('LoRA in the forward pass', () => {
  beforeAll(() => useBackend('cpu'));

  for (const arch of ['gpt2', 'gpt_neox', 'gpt_neo', 'llama', 'qwen2', 'gemma', 'gemma2']) {
    it(`${arch}: base + adapter equals the base with merged weights, on the default targets`, () => {
      const { config, arrays } = loadWeights(makeReferenceCheckpoint(arch, join(dir, arch)));
      const cfg = {
        ...config,
        lora: { r: 4, alpha: 8, dropout: 0.05, targets: defaultLoraTargets(arch), rslora: false },
      };
      const adapted = adaptedLinears(cfg);
      expect(adapted.length).toBe(cfg.nLayer * (arch === 'gpt2' || arch === 'gpt_neox' ? 2 : 3));
      const ids = tokenIds(2, 9, cfg.vocabSize, 4);
      const adapter = randomAdapter(cfg, 11);
      const withAdapter = logits(cfg, new Map([...arrays, ...adapter]), ids);
      const want = logits(config, merged(cfg, arrays, adapter), ids);
      const base = logits(config, arrays, ids);
      expect(maxAbsDiff(withAdapter, base)).toBeGreaterThan(1e-2);
      expect(maxAbsDiff(withAdapter, want)).toBeLessThan(2e-4);
      // A fresh adapter (B = 0) is the base; the base config ignores adapter tensors in the params.
      const fresh = new Map([...arrays, ...initLoraArrays(adapted, 4, 1)]);
      expect(maxAbsDiff(logits(cfg, fresh, ids), base)).toBe(0);
      expect(maxAbsDiff(logits(baseConfig(cfg), new Map([...arrays, ...adapter]), ids), base)).toBe(0);
    });
  }

  it('dropout on the adapter input: seeded, different per seed, absent without a seed', () => {
    const { config, arrays } = loadWeights(makeReferenceCheckpoint('llama', join(dir, 'drop')));
    const cfg = {
      ...config,
      lora: { r: 4, alpha: 8, dropout: 0.5, targets: ['q_proj', 'up_proj'], rslora: false },
    };
    const all = new Map([...arrays, ...randomAdapter(cfg, 3)]);
    const ids = tokenIds(1, 8, cfg.vocabSize, 2);
    const eval0 = logits(cfg, all, ids);
    const a = logits(cfg, all, ids, 5);
    expect(maxAbsDiff(a, logits(cfg, all, ids, 5))).toBe(0);
    expect(maxAbsDiff(a, logits(cfg, all, ids, 6))).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(a, eval0)).toBeGreaterThan(1e-3);
    const noDrop = { ...cfg, lora: { ...cfg.lora, dropout: 0 } };
    expect(maxAbsDiff(logits(noDrop, all, ids, 5), eval0)).toBe(0);
  });

  it('rsLoRA scales by alpha / sqrt(r); a target that matches nothing is refused with the layer names', () => {
    expect(loraScale({ r: 16, alpha: 8, dropout: 0, targets: [], rslora: true })).toBe(2);
    expect(loraScale({ r: 16, alpha: 8, dropout: 0, targets: [], rslora: false })).toBe(0.5);
    const { config } = loadWeights(makeReferenceCheckpoint('gpt_neox', join(dir, 'neox')));
    const cfg = { ...config, lora: { r: 2, alpha: 2, dropout: 0, targets: ['q_proj'], rslora: false } };
    expect(() => adaptedLinears(cfg)).toThrow(/'q_proj' matches no linear layer.*query_key_value/);
  });

  it("with trainable 'adapter' only A and B are variables that train", () => {
    const { config, arrays } = loadWeights(makeReferenceCheckpoint('qwen2', join(dir, 'train')));
    const cfg = { ...config, lora: { r: 2, alpha: 4, dropout: 0, targets: ['v_proj'], rslora: false } };
    const params = paramsFromArrays(
      cfg,
      new Map([...arrays, ...initLoraArrays(adaptedLinears(cfg), 2, 0)]),
      'adapter',
    );
    const trainable = [...params].filter(([, v]) => v.trainable).map(([n]) => n);
    expect(trainable).toEqual(adaptedLinears(cfg).flatMap((m) => [loraA(m.module), loraB(m.module)]));
    disposeParams(params);
  });
});
