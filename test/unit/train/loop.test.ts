import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../helpers/backend.js';
import { forward, paramsFromArrays, disposeParams } from '../../../src/core/model/models.js';
import { gptConfig, initParamArrays, type GPTConfig } from '../../../src/core/model/arch/gpt2.js';
import { WordLevelTokenizer } from '../../../src/core/model/tokenizers.js';
import { Rng } from '../../../src/core/model/rng.js';
import { readSafetensors } from '../../../src/core/model/safetensors.js';
import { preferenceBatch } from '../../../src/core/train/batches.js';
import { Stepper, preferenceObjective, responseLogps } from '../../../src/core/train/step.js';
import { runSpec, train, type PairData, type LmData } from '../../../src/core/train/loop.js';
import type { TokenizedPair } from '../../../src/core/data/types.js';

const tok = WordLevelTokenizer.fromWords(Array.from({ length: 29 }, (_, i) => `w${i}`));
const cfg: GPTConfig = gptConfig({ vocabSize: tok.vocabSize, nCtx: 24, nLayer: 2, nEmbd: 16, nHead: 2 });
let dir: string;

beforeAll(async () => {
  await useBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'monoscope-train-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Pairs whose chosen response counts up from the prompt's last token and whose rejected one repeats it. */
function pairs(n: number, seed: number): TokenizedPair[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => {
    const start = 3 + r.int(20);
    const prompt = Array.from({ length: 3 + r.int(4) }, () => 3 + r.int(29));
    prompt.push(start);
    const len = 3 + r.int(4);
    return {
      prompt,
      chosen: Array.from({ length: len }, (_, j) => 3 + ((start - 3 + j + 1) % 29)),
      rejected: Array.from({ length: len + r.int(2) }, () => start),
    };
  });
}

/** Windows of an arithmetic sequence mod 29: perfectly learnable. */
function windows(n: number, T: number, seed: number): Int32Array[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => {
    const s = r.int(29);
    const stride = 1 + r.int(2);
    return Int32Array.from({ length: T }, (_, t) => 3 + ((s + stride * t) % 29));
  });
}

describe('response log-probs', () => {
  it('equal a naive sum of log-softmax over the response tokens', async () => {
    const arrays = initParamArrays(cfg, 11);
    const params = paramsFromArrays(cfg, arrays, false);
    const items = pairs(3, 1);
    const lp = await responseLogps(cfg, params, preferenceBatch(items, tok.padId), 'sum');
    const lpMean = await responseLogps(cfg, params, preferenceBatch(items, tok.padId), 'mean');
    const rows = [...items.map((p) => [p.prompt, p.chosen]), ...items.map((p) => [p.prompt, p.rejected])];
    rows.forEach(([prompt, resp], i) => {
      const seq = [...prompt, ...resp];
      const logits = tf.tidy(() =>
        tf.logSoftmax(forward(cfg, params, tf.tensor2d([seq], [1, seq.length], 'int32')).logits!).dataSync(),
      );
      let s = 0;
      for (let j = 0; j < resp.length; j++) {
        const t = prompt.length + j;
        s += logits[(t - 1) * cfg.vocabSize + seq[t]];
      }
      expect(lp[i]).toBeCloseTo(s, 4);
      expect(lpMean[i]).toBeCloseTo(s / resp.length, 4);
    });
    disposeParams(params);
  });
});

describe('training steps', () => {
  it('keep the live tensor count flat across DecPO and LM steps', async () => {
    const params = paramsFromArrays(cfg, initParamArrays(cfg, 2), true);
    const stepper = new Stepper(cfg, params, { weightDecay: 0.1, maxGradNorm: 1 });
    const items = pairs(8, 2);
    const ref = { chosen: new Float32Array(4).fill(-10), rejected: new Float32Array(4).fill(-10) };
    const counts: number[] = [];
    for (const regularizer of ['barlow', 'rowcos', 'authors'] as const) {
      const o = preferenceObjective({ stage: 'decpo', regularizer, layer: 1 });
      for (let s = 0; s < 3; s++) {
        await stepper.preferenceStep(preferenceBatch(items.slice(s, s + 4), tok.padId), ref, o, 1e-3);
        counts.push(tf.memory().numTensors);
      }
    }
    const lm = windows(4, 12, 1);
    const { lmBatch } = await import('../../../src/core/train/batches.js');
    await stepper.lmStep(lmBatch(lm, tok.padId), 1e-3); // caches one causal mask for the new length
    counts.push(tf.memory().numTensors - 1);
    for (let s = 0; s < 3; s++) {
      await stepper.lmStep(lmBatch(lm, tok.padId), 1e-3);
      counts.push(tf.memory().numTensors - 1);
    }
    expect(new Set(counts).size).toBe(1);
    stepper.dispose();
    disposeParams(params);
  });

  it('a short pretrain lowers the loss', async () => {
    const data: LmData = { kind: 'lm', train: windows(256, 16, 3), eval: windows(32, 16, 4) };
    const losses: number[] = [];
    const res = await train(
      runSpec({
        stage: 'pretrain',
        steps: 40,
        batchSize: 16,
        lr: 1e-2,
        warmup: 5,
        evalEvery: 40,
        checkpointEvery: 0,
      }),
      { config: cfg, arrays: initParamArrays(cfg, 1), tokenizer: tok, refHash: 'none' },
      data,
      { runDir: join(dir, 'pretrain'), onStep: (_, m) => losses.push(m.loss) },
    );
    expect(res.status).toBe('completed');
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(last).toBeLessThan(first * 0.6);
    expect(res.lastEval!.eval_loss).toBeLessThan(Math.log(tok.vocabSize) * 0.6);
  });
});

describe('the L1 baseline', () => {
  it("adds lambda x the mean over rows of sum_k |u_k| at each row's last response token to the DPO loss", async () => {
    const items = pairs(3, 7);
    const batch = preferenceBatch(items, tok.padId);
    const ref = { chosen: Float32Array.of(-9, -8, -7), rejected: Float32Array.of(-6, -7, -8) };
    const lambda = 0.05;
    const step = async (stage: 'dpo' | 'l1') => {
      const params = paramsFromArrays(cfg, initParamArrays(cfg, 5), true);
      const stepper = new Stepper(cfg, params, { weightDecay: 0, maxGradNorm: 1 });
      const m = await stepper.preferenceStep(
        batch,
        ref,
        preferenceObjective({ stage, layer: 1, lambda }),
        1e-3,
      );
      stepper.dispose();
      disposeParams(params);
      return m;
    };
    const dpo = await step('dpo');
    const l1 = await step('l1');
    // By hand: the neurons of block 1 at each row's last real response token (not the padded end).
    const params = paramsFromArrays(cfg, initParamArrays(cfg, 5), false);
    const act = tf.tidy(() => {
      const ids = tf.tensor2d(batch.ids, [2 * batch.pairs, batch.T], 'int32');
      return forward(cfg, params, ids, { taps: ['blocks.1.mlp.post'] })
        .taps.get('blocks.1.mlp.post')!
        .dataSync();
    });
    disposeParams(params);
    let penalty = 0;
    for (const pos of batch.lastIdx) {
      expect(batch.ids[pos]).not.toBe(tok.padId);
      for (let k = 0; k < cfg.nInner; k++) penalty += Math.abs(act[pos * cfg.nInner + k]);
    }
    penalty /= batch.lastIdx.length;
    expect(l1['decorr/penalty']).toBeCloseTo(penalty, 3);
    expect(l1.loss - dpo.loss).toBeCloseTo(lambda * penalty, 5);
    expect(dpo['decorr/penalty']).toBeUndefined();
  });
});

describe('preference runs', () => {
  const data: PairData = { kind: 'pairs', train: pairs(64, 5), eval: pairs(16, 6) };
  const spec = (stage: 'dpo' | 'decpo', extra = {}) =>
    runSpec({
      stage,
      steps: 8,
      batchSize: 8,
      lr: 3e-3,
      evalEvery: 4,
      checkpointEvery: 3,
      objective: preferenceObjective({ stage, layer: 1, lambda: 1e-2, ...extra }),
    });
  const model = () => ({ config: cfg, arrays: initParamArrays(cfg, 9), tokenizer: tok, refHash: 'seed9' });

  it('DPO raises the held-out reward accuracy and margin; metrics use TRL names', async () => {
    const logged: Record<string, number>[] = [];
    const res = await train(spec('dpo'), model(), data, {
      runDir: join(dir, 'dpo'),
      onStep: (_, m) => logged.push(m),
    });
    expect(Object.keys(logged[0])).toEqual(
      expect.arrayContaining([
        'loss',
        'rewards/chosen',
        'rewards/rejected',
        'rewards/margins',
        'rewards/accuracies',
        'logps/chosen',
        'logps/rejected',
        'grad_norm',
        'learning_rate',
        'decorr/mean_abs_corr',
      ]),
    );
    expect(logged[0]['rewards/margins']).toBeCloseTo(0, 5); // policy == reference at step 1
    expect(res.lastEval!['eval_rewards/margins']).toBeGreaterThan(0);
    expect(res.lastEval!['eval_rewards/accuracies']).toBeGreaterThan(0.5);
    expect(existsSync(join(dir, 'dpo', 'ref_logps.safetensors'))).toBe(true);
  });

  it('resumes after a cancel to exactly the weights of an uninterrupted run', async () => {
    const straight = await train(spec('decpo'), model(), data, { runDir: join(dir, 'straight') });
    expect(straight.status).toBe('completed');
    const ctl = new AbortController();
    const first = await train(spec('decpo'), model(), data, {
      runDir: join(dir, 'resumed'),
      signal: ctl.signal,
      onStep: (s) => s === 5 && ctl.abort(),
    });
    expect(first.status).toBe('cancelled');
    expect(first.step).toBe(5);
    const messages: string[] = [];
    const second = await train(spec('decpo'), model(), data, {
      runDir: join(dir, 'resumed'),
      onMessage: (m) => messages.push(m),
    });
    expect(second.status).toBe('completed');
    expect(messages).toContain('resuming from step 5');
    expect(messages).toContain('reference log-probs: reused from the run folder');
    const a = readSafetensors(join(dir, 'straight', 'state', 'model.safetensors')).tensors;
    const b = readSafetensors(join(dir, 'resumed', 'state', 'model.safetensors')).tensors;
    for (const [name, t] of a)
      expect(Buffer.from(b.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer))).toBe(true);
    // A different spec in the same folder is refused.
    await expect(
      train(spec('decpo', { lambda: 0.5 }), model(), data, { runDir: join(dir, 'resumed') }),
    ).rejects.toThrow(/different settings/);
  });

  it('a NaN loss stops the run with a clear message and keeps the last good state', async () => {
    const arrays = initParamArrays(cfg, 9);
    const poisoned = new Map(arrays);
    const w = poisoned.get('h.1.mlp.c_fc.weight')!;
    poisoned.set('h.1.mlp.c_fc.weight', { shape: w.shape, data: w.data.map(() => NaN) as Float32Array });
    const res = await train(spec('dpo'), { ...model(), arrays: poisoned, refArrays: arrays }, data, {
      runDir: join(dir, 'nan'),
    });
    expect(res.status).toBe('failed');
    expect(res.message).toMatch(/loss became NaN at step 1/);
    expect(existsSync(join(dir, 'nan', 'state', 'model.safetensors'))).toBe(true);
  });
});
