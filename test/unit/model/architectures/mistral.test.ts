// Mistral against the float64 PyTorch reference (test/python/reference/arch_llama.py) on random-weight
// checkpoints in the layout `MistralForCausalLM.save_pretrained` writes: log-probs and every tap, with
// sequences several times longer than the sliding window.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../../helpers/backend.js';
import { loadWeights } from '../../../../src/core/model/checkpoint.js';
import { modelConfigJson, parseModelConfig } from '../../../../src/core/model/models.js';
import { expectMatchesReference, makeReferenceCheckpoint, tokenIds } from './reference.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-mistral-ref-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mistral against its PyTorch reference', () => {
  beforeAll(() => useBackend('cpu'));

  it('F32: sliding window 4 on every layer over 18 tokens, head_dim 24 unlike hidden / heads', () => {
    const ck = makeReferenceCheckpoint('mistral', join(dir, 'f32'));
    expect(loadWeights(ck).config).toMatchObject({ headDim: 24, nEmbd: 64, nHead: 4, windows: [4, 4, 4] });
    expectMatchesReference(ck, tokenIds(2, 18, 512), join(dir, 'f32.out.safetensors'));
  });

  it('BF16 in three shards: a window of 1 (each token sees only itself)', () => {
    const ck = makeReferenceCheckpoint('mistral', join(dir, 'w1'), {
      dtype: 'BF16',
      shards: 3,
      seed: 2,
      set: { sliding_window: 1 },
    });
    expectMatchesReference(ck, tokenIds(1, 9, 512, 4), join(dir, 'w1.out.safetensors'));
  });

  it('F16: sliding_window null attends to the whole past', () => {
    const ck = makeReferenceCheckpoint('mistral', join(dir, 'full'), {
      dtype: 'F16',
      seed: 6,
      set: { sliding_window: null },
    });
    expect(loadWeights(ck).config).toMatchObject({ windows: [null, null, null] });
    expectMatchesReference(ck, tokenIds(2, 14, 512, 8), join(dir, 'full.out.safetensors'));
  });
});

describe('mistral config.json', () => {
  const base = {
    model_type: 'mistral',
    vocab_size: 512,
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
  };

  it("takes MistralConfig's defaults: 8 key/value heads, sliding window 4096", () => {
    const cfg = parseModelConfig({ ...base, num_attention_heads: 16 }, 'c.json');
    expect(cfg).toMatchObject({ nKvHead: 8, headDim: 4, windows: [4096, 4096], nCtx: 131072, bosTokenId: 1 });
    expect(() => parseModelConfig(base, 'c.json')).toThrow(
      /c\.json: field 'num_key_value_heads' must divide num_attention_heads \(4\)/,
    );
  });

  it('refuses a window that is not a positive integer, naming the file and the field', () => {
    expect(() => parseModelConfig({ ...base, num_key_value_heads: 2, sliding_window: 0 }, 'c.json')).toThrow(
      /c\.json: field 'sliding_window' must be an integer >= 1, got 0/,
    );
  });

  it('configJson reads back as the same config, with and without a window', () => {
    for (const sliding_window of [7, null]) {
      const cfg = parseModelConfig({ ...base, num_key_value_heads: 2, sliding_window }, 'c.json');
      expect(parseModelConfig(modelConfigJson(cfg), 'again.json')).toEqual(cfg);
    }
  });
});
