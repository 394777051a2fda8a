/**
 * What the rest of Monoscope asks of a loaded model beyond its forward pass, checked on a checkpoint folder:
 * the unembedding (`modelHead`, `headArray`) gives the forward pass's logits, each neuron's output direction
 * (`unitDirection`, from the architecture's `mlpOut`) is what it writes into mlp_out, and gradients of the
 * loss reach every parameter (training runs the same forward under autodiff).
 */
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { loadWeights } from '../../../../src/core/model/checkpoint.js';
import {
  disposeParams,
  forward,
  headArray,
  headLogits,
  modelHead,
  paramsFromArrays,
  unitDirection,
} from '../../../../src/core/model/models.js';

/** max |a - b| / max(1, max |b|). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1;
  let worst = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst / scale;
}

export function expectConsistentModel(dir: string, ids: number[][]): void {
  const { config, arrays } = loadWeights(dir);
  const { nEmbd: D, nInner: F, vocabSize: V } = config;
  const params = paramsFromArrays(config, arrays, true);
  const [B, T] = [ids.length, ids[0].length];
  try {
    tf.tidy(() => {
      const x = tf.tensor2d(ids, [B, T], 'int32');
      const r = forward(config, params, x, { taps: ['blocks.0.mlp.post', 'blocks.0.mlp_out'] });
      const hidden = tf.reshape(r.hidden, [B * T, D]) as tf.Tensor2D;

      // The head, as a tensor and as host arrays, gives the logits.
      const logits = r.logits!.dataSync();
      expect(relErr(headLogits(modelHead(config, params), hidden).dataSync(), logits)).toBeLessThan(1e-5);
      const fromArray = tf.matMul(hidden, tf.tensor2d(headArray(config, arrays), [V, D]), false, true);
      expect(relErr(fromArray.dataSync(), logits)).toBeLessThan(1e-5);

      // Between two positions, mlp_out changes by sum_j (post_j - post'_j) direction_j (the bias cancels).
      const post = r.taps.get('blocks.0.mlp.post')!.dataSync();
      const out = r.taps.get('blocks.0.mlp_out')!.dataSync();
      const want = new Float64Array(D);
      for (let j = 0; j < F; j++) {
        const dir = unitDirection(config, arrays, 'blocks.0.mlp.post', j);
        for (let d = 0; d < D; d++) want[d] += (post[j] - post[F + j]) * dir[d];
      }
      const got = Array.from({ length: D }, (_, d) => out[d] - out[D + d]);
      expect(relErr(got, want)).toBeLessThan(1e-4);

      // The mean next-token loss differentiates to a finite, non-zero gradient for every parameter.
      const targets = tf.oneHot(
        tf.reshape(tf.concat([tf.slice(x, [0, 1], [B, T - 1]), tf.slice(x, [0, 0], [B, 1])], 1), [B * T]),
        V,
      );
      const { grads } = tf.variableGrads(() => {
        const lp = tf.logSoftmax(tf.reshape(forward(config, params, x).logits!, [B * T, V]));
        return tf.neg(tf.mean(tf.sum(tf.mul(lp, targets), 1))) as tf.Scalar;
      }, [...params.values()]);
      for (const [name, v] of params) {
        const norm = tf.norm(grads[v.name]).dataSync()[0];
        expect(Number.isFinite(norm) && norm > 0, `gradient of ${name}: norm ${norm}`).toBe(true);
      }
    });
  } finally {
    disposeParams(params);
  }
}
