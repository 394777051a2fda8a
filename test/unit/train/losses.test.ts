import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../helpers/backend.js';
import { dpoLoss, responseLogProbs, simpoLoss } from '../../../src/core/train/losses.js';
import { preferenceLossValue, preferenceMetrics, preferenceObjective } from '../../../src/core/train/step.js';

// A fixed tiny batch of two pairs: summed response log-probs of policy and reference.
const policy = { chosen: [-1, -2], rejected: [-3, -1.5] };
const ref = { chosen: [-1.5, -2], rejected: [-2.5, -1] };
// h = (pi_w - ref_w) - (pi_l - ref_l) = [1.0, 0.5]

beforeAll(async () => {
  await useBackend('cpu');
});

function loss(opts: Parameters<typeof dpoLoss>[4]): number {
  return tf.tidy(
    () =>
      dpoLoss(
        tf.tensor1d(policy.chosen),
        tf.tensor1d(policy.rejected),
        tf.tensor1d(ref.chosen),
        tf.tensor1d(ref.rejected),
        opts,
      ).dataSync()[0],
  );
}

describe('DPO loss', () => {
  it('sigmoid loss equals mean softplus(-beta h), computed by hand', () => {
    // softplus(-0.1) = 0.6443966600735709, softplus(-0.05) = 0.6684596480132863
    expect(loss({ beta: 0.1 })).toBeCloseTo(0.6564281540434286, 6);
  });
  it('label smoothing, hinge and IPO match their formulas', () => {
    // (0.9 softplus(-0.1) + 0.1 softplus(0.1)) and likewise for h = 0.5
    expect(loss({ beta: 0.1, labelSmoothing: 0.1 })).toBeCloseTo(
      (0.6543966600735709 + (0.9 * 0.6684596480132863 + 0.1 * (0.6684596480132863 + 0.05))) / 2,
      6,
    );
    expect(loss({ beta: 0.1, lossType: 'hinge' })).toBeCloseTo((0.9 + 0.95) / 2, 6);
    expect(loss({ beta: 0.1, lossType: 'ipo' })).toBeCloseTo((16.0 + 20.25) / 2, 4);
  });
  it('rewards, margins and accuracies as TRL logs them', () => {
    const m = preferenceMetrics(
      Float32Array.from([...policy.chosen, ...policy.rejected]),
      { chosen: Float32Array.from(ref.chosen), rejected: Float32Array.from(ref.rejected) },
      { beta: 0.1 },
    );
    expect(m['rewards/chosen']).toBeCloseTo((0.05 + 0) / 2, 6);
    expect(m['rewards/rejected']).toBeCloseTo((-0.05 + -0.05) / 2, 6);
    expect(m['rewards/margins']).toBeCloseTo(0.075, 6);
    expect(m['rewards/accuracies']).toBe(1);
    expect(m['logps/chosen']).toBeCloseTo(-1.5, 6);
    expect(m['logps/rejected']).toBeCloseTo(-2.25, 6);
  });
  it('the gradient of the sigmoid loss is -beta sigma(-beta h) / P per chosen log-prob', () => {
    const g = tf.tidy(() => {
      const f = (pc: tf.Tensor) =>
        dpoLoss(
          pc as tf.Tensor1D,
          tf.tensor1d(policy.rejected),
          tf.tensor1d(ref.chosen),
          tf.tensor1d(ref.rejected),
          { beta: 0.1 },
        );
      return tf.grad(f)(tf.tensor1d(policy.chosen)).dataSync();
    });
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    expect(g[0]).toBeCloseTo((-0.1 * sig(-0.1)) / 2, 6);
    expect(g[1]).toBeCloseTo((-0.1 * sig(-0.05)) / 2, 6);
  });
  it('SimPO: -log sigma(beta (mean_w - mean_l) - gamma)', () => {
    const v = tf.tidy(
      () => simpoLoss(tf.tensor1d([-0.5]), tf.tensor1d([-1.0]), { beta: 2, gamma: 0.2 }).dataSync()[0],
    );
    expect(v).toBeCloseTo(Math.log1p(Math.exp(-(2 * 0.5 - 0.2))), 6);
  });
});

describe('response log-probs', () => {
  // Tied embedding e_0 = (1, 0), e_1 = (0, 1), e_2 = (0, 0): a hidden state (1, 0) or (0, 1) gives logits
  // with one 1 and two 0s, so log p = logit - log(e + 2); (0, 0) gives log p = -log 3 for every token.
  const L = Math.log(Math.E + 2);
  const wte = [1, 0, 0, 1, 0, 0];
  // Two rows of T = 3 positions. Row 0 predicts targets 0, 1 at positions 0, 1 (its position 2 is not a
  // response token); row 1 predicts targets 1, 2, 0 at positions 0, 1, 2 (flat 3, 4, 5).
  const hidden = [1, 0, 0, 1, 0, 0, /* row 1 */ 0, 0, 1, 0, 0, 1];
  const row0 = 1 - L + (1 - L);
  const row1 = -Math.log(3) + (0 - L) + (0 - L);
  function logps(agg: 'sum' | 'mean'): Float32Array {
    return tf.tidy(
      () =>
        responseLogProbs(
          tf.tensor3d(hidden, [2, 3, 2]),
          { weight: tf.tensor2d(wte, [3, 2]) },
          {
            predIdx: tf.tensor1d([0, 1, 3, 4, 5], 'int32'),
            targets: tf.tensor1d([0, 1, 1, 2, 0], 'int32'),
            rowOfToken: tf.tensor1d([0, 0, 1, 1, 1], 'int32'),
            respLen: tf.tensor1d([2, 3]),
          },
          agg,
        ).dataSync() as Float32Array,
    );
  }
  it("sum log p over each row's response tokens, by hand", () => {
    const s = logps('sum');
    expect(s[0]).toBeCloseTo(row0, 5);
    expect(s[1]).toBeCloseTo(row1, 5);
  });
  it('mean: the sum divided by the response length, by hand', () => {
    const m = logps('mean');
    expect(m[0]).toBeCloseTo(row0 / 2, 5);
    expect(m[1]).toBeCloseTo(row1 / 3, 5);
  });
  it('the host-side loss of summed log-probs: SimPO divides by the lengths, DPO uses the reference', async () => {
    const lp = Float32Array.from([-1, -3]); // one pair: chosen sum -1 over 2 tokens, rejected -3 over 4
    const simpo = preferenceObjective({ stage: 'simpo', logpAgg: 'sum', beta: 2, simpoGamma: 0.2 });
    expect(await preferenceLossValue(lp, [2, 4], null, simpo)).toBeCloseTo(
      Math.log1p(Math.exp(-(2 * (-0.5 - -0.75) - 0.2))),
      6,
    );
    const ref = { chosen: Float32Array.from([-1.5]), rejected: Float32Array.from([-2.5]) };
    // h = (-1 + 1.5) - (-3 + 2.5) = 1
    expect(await preferenceLossValue(lp, [2, 4], ref, preferenceObjective({ stage: 'dpo' }))).toBeCloseTo(
      Math.log1p(Math.exp(-0.1)),
      6,
    );
  });
});
