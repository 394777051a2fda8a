/**
 * The speed work must not change the model's numbers: the same GPT, loss and DecPO step on the wasm backend
 * (our kernels) as on the cpu backend (stock TF.js kernels), and the rewritten formulas (GELU through a
 * sigmoid, logsumexp and Gram matrices with hand-written gradients) against their textbook forms.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../helpers/backend.js';
import { Rng } from '../../../src/core/model/rng.js';
import { disposeParams, forward, paramsFromArrays, toNamedArrays } from '../../../src/core/model/models.js';
import { geluTanh } from '../../../src/core/model/layers/activations.js';
import { gptConfig, initParamArrays } from '../../../src/core/model/arch/gpt2.js';
import { layerNorm } from '../../../src/core/model/layers/norm.js';
import { tokenLogProbs } from '../../../src/core/train/losses.js';
import { meanAbsCorrelation } from '../../../src/core/train/regularizers.js';
import { preferenceBatch } from '../../../src/core/train/batches.js';
import { Stepper, preferenceObjective } from '../../../src/core/train/step.js';

const cfg = gptConfig({ vocabSize: 23, nCtx: 16, nLayer: 2, nEmbd: 16, nHead: 4, nInner: 40 });

function ids(rows: number, T: number, seed: number): number[] {
  const r = new Rng(seed);
  return Array.from({ length: rows * T }, () => r.int(cfg.vocabSize));
}

function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let scale = 1e-6;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  return m / scale;
}

describe('model numerics on wasm', () => {
  it('GELU equals 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))) in float64, tiny and large inputs too', async () => {
    await useBackend('wasm');
    const xs = [-8, -3, -1.5, -0.5, -1e-3, -1e-7, 0, 1e-7, 1e-3, 0.5, 1, 1.5, 3, 8];
    const got = tf.tidy(() => geluTanh(tf.tensor1d(xs)).dataSync());
    xs.forEach((x, i) => {
      const want = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
      expect(Math.abs(got[i] - want)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
    });
  });

  it("GELU's gradient equals central differences of the float64 formula", async () => {
    await useBackend('wasm');
    const xs = [-4, -2, -1, -0.3, 0, 0.2, 0.7, 1.3, 2.5, 5];
    const g = tf.tidy(() =>
      tf
        .grad((x: tf.Tensor) => tf.sum(geluTanh(x)))(tf.tensor1d(xs))
        .dataSync(),
    );
    const f = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    xs.forEach((x, i) => expect(g[i]).toBeCloseTo((f(x + 1e-5) - f(x - 1e-5)) / 2e-5, 5));
  });

  it("LayerNorm's hand-written gradient equals autodiff of the textbook formula (x, gain and bias)", async () => {
    const r = new Rng(8);
    const x = Array.from({ length: 6 * 5 }, () => 3 * r.normal() + 1);
    const g = Array.from({ length: 5 }, () => r.normal());
    const b = Array.from({ length: 5 }, () => r.normal());
    const up = Array.from({ length: 6 * 5 }, () => r.normal());
    const run = () => {
      const R = tf.tensor2d(up, [6, 5]);
      const plain = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
        const { mean, variance } = tf.moments(xx, -1, true);
        return tf.sum(
          tf.mul(tf.add(tf.mul(tf.div(tf.sub(xx, mean), tf.sqrt(tf.add(variance, 1e-5))), gg), bb), R),
        );
      };
      const ours = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
        tf.sum(tf.mul(layerNorm(xx as tf.Tensor2D, gg, bb, 1e-5), R));
      const inputs = [tf.tensor2d(x, [6, 5]), tf.tensor1d(g), tf.tensor1d(b)];
      return [...tf.grads(plain)(inputs), ...tf.grads(ours)(inputs)];
    };
    for (const backend of ['cpu', 'wasm'] as const) {
      await useBackend(backend);
      const grads = tf.tidy(run).map((t) => {
        const d = t.dataSync();
        t.dispose();
        return d;
      });
      for (let i = 0; i < 3; i++) expect(relDiff(grads[i], grads[i + 3])).toBeLessThan(1e-5);
    }
  });

  it('logits of a fixed-seed GPT on wasm equal those on cpu', async () => {
    const arrays = initParamArrays(cfg, 5);
    const run = async (b: 'cpu' | 'wasm') => {
      await useBackend(b);
      const params = paramsFromArrays(cfg, arrays, false);
      const out = tf.tidy(() =>
        forward(cfg, params, tf.tensor2d(ids(3, 12, 1), [3, 12], 'int32')).logits!.dataSync(),
      );
      disposeParams(params);
      return out;
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expect(cpu.length).toBe(3 * 12 * cfg.vocabSize);
    expect(relDiff(cpu, wasm)).toBeLessThan(1e-5);
  });

  it("token log-probs' gradient (custom logsumexp backward) equals autodiff of the plain formula", async () => {
    await useBackend('cpu');
    const r = new Rng(3);
    const h = tf.tensor2d(
      Array.from({ length: 6 * 5 }, () => r.normal()),
      [6, 5],
    );
    const w = tf.tensor2d(
      Array.from({ length: 7 * 5 }, () => r.normal()),
      [7, 5],
    );
    const targets = tf.tensor1d([0, 6, 3, 3, 1, 2], 'int32');
    const weights = tf.tensor1d([1, -2, 0.5, 3, -1, 2]);
    const plain = (hh: tf.Tensor, ww: tf.Tensor) => {
      const logits = tf.matMul(hh, ww, false, true);
      const lp = tf.sub(tf.sum(tf.mul(hh, tf.gather(ww, targets)), -1), tf.logSumExp(logits, -1));
      return tf.sum(tf.mul(lp, weights));
    };
    const ours = (hh: tf.Tensor, ww: tf.Tensor) =>
      tf.sum(tf.mul(tokenLogProbs(hh as tf.Tensor2D, { weight: ww as tf.Tensor2D }, targets), weights));
    const [a, b] = tf.tidy(() =>
      [plain, ours].map((f) =>
        tf
          .grads(f)([h, w])
          .map((g) => g.dataSync()),
      ),
    );
    expect(relDiff(a[0], b[0])).toBeLessThan(1e-6);
    expect(relDiff(a[1], b[1])).toBeLessThan(1e-6);
    for (const t of [h, w, targets, weights]) t.dispose();
  });

  it('a DecPO step (barlow) gives the same loss, metrics and new weights on wasm and cpu', async () => {
    const items = Array.from({ length: 4 }, (_, i) => {
      const r = new Rng(100 + i);
      const tok = (n: number) => Array.from({ length: n }, () => r.int(cfg.vocabSize));
      return { prompt: tok(5 + i), chosen: tok(4 + (i % 2)), rejected: tok(3 + i) };
    });
    const batch = preferenceBatch(items, cfg.eosTokenId);
    const ref = {
      chosen: Float32Array.from([-12, -13, -11, -14]),
      rejected: Float32Array.from([-12, -10, -15, -13]),
    };
    const o = preferenceObjective({ stage: 'decpo', regularizer: 'barlow', lambda: 1e-2, layer: 0 });
    const run = async (b: 'cpu' | 'wasm') => {
      await useBackend(b);
      const params = paramsFromArrays(cfg, initParamArrays(cfg, 9), true);
      // The metric computed the plain way, before the step, from the same activations.
      const corr = tf.tidy(() => {
        const { taps } = forward(cfg, params, tf.tensor2d(batch.ids, [8, batch.T], 'int32'), {
          taps: ['blocks.0.mlp.post'],
        });
        const act = tf.reshape(taps.get('blocks.0.mlp.post')!, [8 * batch.T, cfg.nInner]) as tf.Tensor2D;
        return meanAbsCorrelation(
          tf.gather(act, tf.tensor1d(batch.respIdx, 'int32')) as tf.Tensor2D,
        ).dataSync()[0];
      });
      const stepper = new Stepper(cfg, params, { weightDecay: 0.1, maxGradNorm: 1 });
      const m = await stepper.preferenceStep(batch, ref, o, 1e-2);
      const after = await toNamedArrays(params);
      stepper.dispose();
      disposeParams(params);
      return { m, corr, after };
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    for (const k of [
      'loss',
      'decorr/penalty',
      'decorr/mean_abs_corr',
      'grad_norm',
      'logps/chosen',
      'logps/rejected',
    ]) {
      expect(Math.abs(cpu.m[k] - wasm.m[k])).toBeLessThan(1e-4 * Math.max(1, Math.abs(cpu.m[k])));
    }
    expect(cpu.m['decorr/mean_abs_corr']).toBeCloseTo(cpu.corr, 6);
    expect(wasm.m['decorr/mean_abs_corr']).toBeCloseTo(wasm.corr, 6);
    // Adam's first step is about lr * sign(g): float differences in tiny gradients show up at ~lr * 1e-2.
    for (const [name, a] of cpu.after) expect(relDiff(a.data, wasm.after.get(name)!.data)).toBeLessThan(2e-3);
  });
});
