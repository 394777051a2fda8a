import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../helpers/backend.js';
import { dpoLoss, dpoLossHost, simpoLoss } from '../../../src/core/train/losses.js';
import { preferenceMetrics } from '../../../src/core/train/step.js';

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
    expect(dpoLossHost(1.0, 0.1)).toBeCloseTo(0.6443966600735709, 12);
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
