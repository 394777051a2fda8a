// The logit lens (models.ts `logitLens`: an architecture's final norm, then its unembedding) against the
// float64 PyTorch references: read on the reference's own last residual stream (blocks.{L-1}.resid_post),
// it gives the reference's log-probs, for RMSNorm (Llama) and Gemma's (1 + w) RMSNorm. LayerNorm with a
// bias (GPT-2) is checked through the lens of test/unit/diff/lens.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../helpers/backend.js';
import { loadWeights } from '../../../src/core/model/checkpoint.js';
import { logitLens } from '../../../src/core/model/models.js';
import { makeReferenceCheckpoint, referenceForward, tokenIds } from './architectures/reference.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-logit-lens-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the logit lens reads the last block's output as the model does", () => {
  beforeAll(() => useBackend('cpu'));

  for (const type of ['llama', 'gemma']) {
    it(`${type}: log-softmax of the lens on the last resid_post equals the reference's log-probs`, () => {
      const ck = makeReferenceCheckpoint(type, join(dir, type), { seed: 3 });
      const { config, arrays } = loadWeights(ck);
      const ids = tokenIds(2, 5, config.vocabSize);
      const ref = referenceForward(ck, ids, join(dir, `${type}.safetensors`));
      const last = ref.get(`blocks.${config.nLayer - 1}.resid_post`)!.data;
      const logits = logitLens(config, arrays, Float32Array.from(last));
      const ours = tf.tidy(
        () => tf.logSoftmax(tf.tensor2d(logits, [10, config.vocabSize])).dataSync() as Float32Array,
      );
      const want = ref.get('logprobs')!.data;
      expect(ours.length).toBe(want.length);
      let worst = 0;
      for (let i = 0; i < ours.length; i++)
        worst = Math.max(worst, Math.abs(ours[i] - want[i]) / (1e-4 * Math.max(1, Math.abs(want[i]))));
      expect(worst, 'worst error in units of 1e-4 relative').toBeLessThanOrEqual(1);
    });
  }
});
