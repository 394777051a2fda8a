// Gemma 2 against the float64 PyTorch reference (test/python/reference/arch_gemma.py) on random-weight
// checkpoints in the layout `Gemma2ForCausalLM.save_pretrained` writes: log-probs and every tap, and the
// response log-probs of the eval path (`responseLogps`: the soft-capped head through `tokenLogProbs`). The
// reference's tiny config: grouped-query attention (4 heads, 2 key/value heads), head_dim 16,
// query_pre_attn_scalar 24, attention and final soft caps 3 and 5, a sliding window of 4 on layers 0 and 2.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../../helpers/backend.js';
import { loadWeights, readModelConfig } from '../../../../src/core/model/checkpoint.js';
import {
  disposeParams,
  forward,
  modelConfigJson,
  paramsFromArrays,
  parseModelConfig,
} from '../../../../src/core/model/models.js';
import { writeSafetensors } from '../../../../src/core/model/safetensors.js';
import { preferenceBatch } from '../../../../src/core/train/batches.js';
import { responseLogps } from '../../../../src/core/train/step.js';
import type { Gemma2Config } from '../../../../src/core/model/arch/gemma2.js';
import {
  expectMatchesReference,
  makeReferenceCheckpoint,
  referenceForward,
  tokenIds,
  type MakeOptions,
} from './reference.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-gemma2-ref-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Builds the reference's gemma2 checkpoint `name` and checks our forward pass against it on [B, T] ids. */
function check(name: string, o: MakeOptions, B = 2, T = 12): Gemma2Config {
  const ck = makeReferenceCheckpoint('gemma2', join(dir, name), o);
  expectMatchesReference(ck, tokenIds(B, T, 512, o.seed ?? 1), join(dir, `${name}.out.safetensors`));
  return readModelConfig(ck) as Gemma2Config;
}

/** A config.json of the reference's tiny gemma2 with `change` applied, as our parser reads it. */
function parseWith(change: (json: Record<string, unknown>) => void): Gemma2Config {
  const file = join(dir, 'base', 'config.json');
  const json = JSON.parse(readFileSync(file, 'utf8'));
  change(json);
  return parseModelConfig(json, file) as Gemma2Config;
}

const SLIDING = 'sliding_attention';
const FULL = 'full_attention';

describe('gemma2 against its PyTorch reference', () => {
  beforeAll(async () => {
    await useBackend('cpu');
    makeReferenceCheckpoint('gemma2', join(dir, 'base'));
  });

  it('F32, one file: sandwich norms, soft caps, query_pre_attn_scalar, sliding window 4 over 12 tokens', () => {
    const cfg = check('f32', {});
    expect(cfg).toMatchObject({ queryPreAttnScalar: 24, attnSoftcap: 3, finalSoftcap: 5, slidingWindow: 4 });
    expect(cfg.layerTypes).toEqual([SLIDING, FULL, SLIDING]);
  });

  it('BF16 in three shards', () => {
    check('bf16', { dtype: 'BF16', shards: 3, seed: 4 }, 1, 16);
    expect(loadWeights(join(dir, 'bf16')).dtype).toBe('BF16');
  });

  it('F16 in two shards', () => {
    check('f16', { dtype: 'F16', shards: 2, seed: 5 });
    expect(loadWeights(join(dir, 'f16')).dtype).toBe('F16');
  });

  it('attn_logit_softcapping null: uncapped attention scores', () => {
    expect(
      check('noattncap', { set: { attn_logit_softcapping: null }, seed: 6 }).attnSoftcap,
    ).toBeUndefined();
  });

  it('final_logit_softcapping null: uncapped logits', () => {
    expect(
      check('nofinalcap', { set: { final_logit_softcapping: null }, seed: 7 }).finalSoftcap,
    ).toBeUndefined();
  });

  it('layer_types listed in config.json choose the sliding layers', () => {
    const layerTypes = [FULL, SLIDING, SLIDING];
    expect(check('layertypes', { set: { layer_types: layerTypes }, seed: 8 }).layerTypes).toEqual(layerTypes);
  });

  it('sliding_window null: every layer attends to the whole prefix', () => {
    expect(check('nowindow', { set: { sliding_window: null }, seed: 9 }).slidingWindow).toBeUndefined();
  });

  it('a sliding window of 7 and query_pre_attn_scalar equal to head_dim', () => {
    check('window7', { set: { sliding_window: 7, query_pre_attn_scalar: 16 }, seed: 10 }, 1, 20);
  });

  it('multi-query attention, attention_bias and an untied head', () => {
    const cfg = check('variants', {
      set: { num_key_value_heads: 1, attention_bias: true, tie_word_embeddings: false },
      seed: 11,
    });
    expect(cfg).toMatchObject({ nKvHead: 1, attentionBias: true, tiedHead: false });
  });

  it('on the wasm backend too', async () => {
    await useBackend('wasm');
    try {
      check('wasm', { seed: 12 });
    } finally {
      await useBackend('cpu');
    }
  });

  it("the eval path's response log-probs (soft-capped head) equal the reference's at those positions", async () => {
    const ck = join(dir, 'base');
    const [a, b, c] = tokenIds(3, 7, 512, 21);
    // Prompts and responses of different lengths: rows are right-padded, and all reach past the window.
    const pairs = [
      { prompt: a.slice(0, 5), chosen: b.slice(0, 6), rejected: c.slice(0, 3) },
      { prompt: c.slice(0, 3), chosen: a.slice(0, 2), rejected: b.slice(0, 7) },
    ];
    const batch = preferenceBatch(pairs, 0);
    const rows = Array.from({ length: 2 * batch.pairs }, (_, r) =>
      Array.from(batch.ids.subarray(r * batch.T, (r + 1) * batch.T)),
    );
    const ref = referenceForward(ck, rows, join(dir, 'eval.out.safetensors')).get('logprobs')!.data;
    const V = 512;
    const want = new Float64Array(rows.length);
    const tol = new Float64Array(rows.length);
    batch.predIdx.forEach((pos, k) => {
      const lp = ref[pos * V + batch.targets[k]];
      want[batch.rowOfToken[k]] += lp;
      tol[batch.rowOfToken[k]] += 1e-4 * Math.max(1, Math.abs(lp));
    });

    const { config, arrays } = loadWeights(ck);
    const params = paramsFromArrays(config, arrays, false);
    try {
      const got = await responseLogps(config, params, batch, 'sum');
      for (let r = 0; r < rows.length; r++)
        expect(Math.abs(got[r] - want[r]), `row ${r}`).toBeLessThanOrEqual(tol[r]);
      // The caps matter: without the final one the same positions give other log-probs.
      const uncapped = await responseLogps(
        { ...config, finalSoftcap: undefined } as Gemma2Config,
        params,
        batch,
        'sum',
      );
      expect(Math.abs(uncapped[0] - want[0])).toBeGreaterThan(100 * tol[0]);
    } finally {
      disposeParams(params);
    }
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`differentiable on ${backend}: every parameter's gradient is nonzero and agrees with a finite difference`, async () => {
      await useBackend(backend);
      const { config, arrays } = loadWeights(join(dir, 'base'));
      const params = paramsFromArrays(config, arrays, true);
      const ids = tf.tensor2d(tokenIds(1, 9, 512, 3), [1, 9], 'int32');
      const loss = (): tf.Scalar =>
        tf.tidy(() => tf.mean(tf.logSoftmax(forward(config, params, ids).logits!)) as tf.Scalar);
      const vars = [...params.values()];
      const start = vars.map((v) => tf.clone(v));
      const dirs = vars.map((v, i) => tf.randomNormal(v.shape, 0, 1, 'float32', i + 1));
      try {
        const { grads, value } = tf.variableGrads(loss);
        expect(Object.keys(grads)).toHaveLength(params.size);
        for (const [name, v] of params) {
          const m = grads[v.name].abs().max().dataSync()[0];
          expect(Number.isFinite(m) && m > 0, name).toBe(true);
        }
        // The slope along a random direction d, sum <grad, d>, against (L(w + e d) - L(w - e d)) / 2e.
        const slope = vars.reduce((s, v, i) => s + tf.sum(tf.mul(grads[v.name], dirs[i])).dataSync()[0], 0);
        const lossAt = (e: number): number => {
          vars.forEach((v, i) => tf.tidy(() => v.assign(tf.add(start[i], tf.mul(dirs[i], e)))));
          const l = loss();
          const x = l.dataSync()[0];
          l.dispose();
          return x;
        };
        const e = 1e-3;
        const finite = (lossAt(e) - lossAt(-e)) / (2 * e);
        expect(Math.abs(finite - slope)).toBeLessThan(1e-2 * Math.abs(slope));
        tf.dispose([value, ...Object.values(grads)]);
      } finally {
        tf.dispose([ids, ...start, ...dirs]);
        disposeParams(params);
        await useBackend('cpu');
      }
    });
  }

  it('a folder written from our config.json and weights runs the same in the reference', () => {
    const src = makeReferenceCheckpoint('gemma2', join(dir, 'ours-src'), {
      set: {
        tie_word_embeddings: false,
        rope_scaling: { rope_type: 'linear', factor: 2 },
        sliding_window: 3,
      },
      seed: 13,
    });
    const { config, arrays } = loadWeights(src);
    const ours = join(dir, 'ours');
    mkdirSync(ours);
    writeFileSync(join(ours, 'config.json'), JSON.stringify(modelConfigJson(config)));
    writeSafetensors(join(ours, 'model.safetensors'), arrays, { format: 'pt' });
    const ids = tokenIds(2, 10, 512, 13);
    expectMatchesReference(ours, ids, join(dir, 'ours.out.safetensors'));
    // The reference reads our config.json as the same model as the original's.
    const a = referenceForward(src, ids, join(dir, 'src.out.safetensors')).get('logprobs')!.data;
    const b = referenceForward(ours, ids, join(dir, 'ours.out.safetensors')).get('logprobs')!.data;
    expect(b).toEqual(a);
  });

  it('config.json round-trips through configJson', () => {
    const cfg = parseWith((j) => {
      j.layer_types = [FULL, SLIDING, FULL];
      j.attn_logit_softcapping = null;
    });
    expect(parseModelConfig(modelConfigJson(cfg), 'again.json')).toEqual(cfg);
  });

  it("transformers' defaults fill the fields a config leaves out", () => {
    const cfg = parseModelConfig({ model_type: 'gemma2' }, 'config.json') as Gemma2Config;
    expect(cfg).toMatchObject({ nEmbd: 2304, nHead: 8, nKvHead: 4, headDim: 256, nLayer: 26, nInner: 9216 });
    expect(cfg).toMatchObject({
      queryPreAttnScalar: 256,
      attnSoftcap: 50,
      finalSoftcap: 30,
      slidingWindow: 4096,
    });
    expect(cfg.layerTypes.slice(0, 4)).toEqual([SLIDING, FULL, SLIDING, FULL]);
    expect(cfg.activation).toBe('gelu_tanh');
  });

  it('config errors name the file and the field', () => {
    const file = join(dir, 'base', 'config.json');
    expect(() => parseWith((j) => (j.layer_types = [SLIDING, FULL]))).toThrow(
      `${file}: field 'layer_types' must list 3 of sliding_attention, full_attention`,
    );
    expect(() => parseWith((j) => (j.layer_types = [SLIDING, FULL, 'chunked_attention']))).toThrow(
      `${file}: field 'layer_types' must list 3`,
    );
    expect(() => parseWith((j) => (j.sliding_window = 0))).toThrow(`${file}: field 'sliding_window'`);
    expect(() => parseWith((j) => (j.final_logit_softcapping = -1))).toThrow(
      `${file}: field 'final_logit_softcapping' must be positive or null`,
    );
    expect(() => parseWith((j) => (j.query_pre_attn_scalar = 0))).toThrow(
      `${file}: field 'query_pre_attn_scalar' must be positive`,
    );
    expect(() => parseWith((j) => (j.rope_scaling = { rope_type: 'dynamic', factor: 2 }))).toThrow(
      `${file}: field 'rope_scaling' has rope_type "dynamic"; supported: default, linear, llama3`,
    );
    expect(() => parseWith((j) => (j.num_attention_heads = 5))).toThrow(
      `${file}: field 'num_key_value_heads' must divide num_attention_heads (5)`,
    );
  });
});
