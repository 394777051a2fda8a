// GPT-2 against the float64 PyTorch reference (test/python/reference/arch_gpt2.py) on random-weight
// checkpoints in the layout `GPT2LMHeadModel.save_pretrained` writes: logits and every tap.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../../helpers/backend.js';
import { loadWeights } from '../../../../src/core/model/checkpoint.js';
import { expectMatchesReference, makeReferenceCheckpoint, tokenIds } from './reference.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-gpt2-ref-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gpt2 against its PyTorch reference', () => {
  beforeAll(() => useBackend('cpu'));

  it('F32, one file: log-probs and every tap agree', () => {
    const ck = makeReferenceCheckpoint('gpt2', join(dir, 'f32'));
    expectMatchesReference(ck, tokenIds(2, 12, 512), join(dir, 'f32.out.safetensors'));
  });

  it('BF16 in three shards: read through the index, widened exactly', () => {
    const ck = makeReferenceCheckpoint('gpt2', join(dir, 'bf16'), { dtype: 'BF16', shards: 3, seed: 4 });
    expect(loadWeights(ck).dtype).toBe('BF16');
    expectMatchesReference(ck, tokenIds(1, 16, 512, 7), join(dir, 'bf16.out.safetensors'));
  });
});
