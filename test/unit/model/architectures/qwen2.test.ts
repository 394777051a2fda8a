// Qwen2 against the float64 PyTorch reference (test/python/reference/arch_llama.py) on random-weight
// checkpoints in the layout `Qwen2ForCausalLM.save_pretrained` writes: log-probs and every tap, with the
// sliding window off (as released), on from max_window_layers, or on the layers layer_types lists; the
// parameter count of Qwen2.5-0.5B's config.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../../helpers/backend.js';
import { loadWeights } from '../../../../src/core/model/checkpoint.js';
import {
  countParams,
  modelConfigJson,
  parseModelConfig,
  tapNames,
} from '../../../../src/core/model/models.js';
import { expectMatchesReference, makeReferenceCheckpoint, tokenIds } from './reference.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-qwen2-ref-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('qwen2 against its PyTorch reference', () => {
  beforeAll(() => useBackend('cpu'));

  it('F32: bias on q, k and v only, tied head, sliding_window present but use_sliding_window false', () => {
    const ck = makeReferenceCheckpoint('qwen2', join(dir, 'f32'));
    const { config, arrays } = loadWeights(ck);
    expect(config).toMatchObject({ tiedHead: true, windows: [null, null, null] });
    expect(arrays.has('model.layers.0.self_attn.k_proj.bias')).toBe(true);
    expect(arrays.has('model.layers.0.self_attn.o_proj.bias')).toBe(false);
    expectMatchesReference(ck, tokenIds(2, 16, 512), join(dir, 'f32.out.safetensors'));
  });

  it('BF16: use_sliding_window on layers i >= max_window_layers, over 15 tokens', () => {
    const ck = makeReferenceCheckpoint('qwen2', join(dir, 'sliding'), {
      dtype: 'BF16',
      seed: 3,
      set: { use_sliding_window: true, max_window_layers: 1 },
    });
    expect(loadWeights(ck).config).toMatchObject({ windows: [null, 4, 4] });
    expectMatchesReference(ck, tokenIds(2, 15, 512, 6), join(dir, 'sliding.out.safetensors'));
  });

  it('F16 in two shards: layer_types decides which layers slide; untied head', () => {
    const ck = makeReferenceCheckpoint('qwen2', join(dir, 'listed'), {
      dtype: 'F16',
      shards: 2,
      seed: 8,
      set: {
        use_sliding_window: true,
        sliding_window: 3,
        max_window_layers: 0,
        layer_types: ['sliding_attention', 'full_attention', 'sliding_attention'],
        tie_word_embeddings: false,
      },
    });
    const { config, arrays } = loadWeights(ck);
    expect(config).toMatchObject({ windows: [3, null, 3], tiedHead: false });
    expect(arrays.has('lm_head.weight')).toBe(true);
    expectMatchesReference(ck, tokenIds(1, 13, 512, 2), join(dir, 'listed.out.safetensors'));
  });
});

describe('qwen2 config.json', () => {
  const base = {
    model_type: 'qwen2',
    vocab_size: 512,
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 3,
    num_attention_heads: 4,
    num_key_value_heads: 2,
  };

  it('refuses layer_types that do not name every layer, naming the file and the field', () => {
    expect(() => parseModelConfig({ ...base, layer_types: ['full_attention'] }, 'c.json')).toThrow(
      /c\.json: field 'layer_types' must list full_attention or sliding_attention for each of the 3 layers/,
    );
    const wrong = { ...base, layer_types: ['full_attention', 'local', 'full_attention'] };
    expect(() => parseModelConfig(wrong, 'c.json')).toThrow(/c\.json: field 'layer_types'/);
  });

  it("takes Qwen2Config's defaults: no window unless asked, max_window_layers 28, bos and eos from each other", () => {
    const cfg = parseModelConfig({ ...base, eos_token_id: 7 }, 'c.json');
    expect(cfg).toMatchObject({
      windows: [null, null, null],
      bosTokenId: 7,
      eosTokenId: 7,
      rmsNormEps: 1e-6,
    });
    const on = parseModelConfig({ ...base, num_hidden_layers: 30, use_sliding_window: true }, 'c.json');
    expect((on as unknown as { windows: unknown[] }).windows.slice(26)).toEqual([null, null, 4096, 4096]);
  });

  it('configJson reads back as the same config', () => {
    for (const extra of [{}, { use_sliding_window: true, sliding_window: 5, max_window_layers: 2 }]) {
      const cfg = parseModelConfig({ ...base, ...extra }, 'c.json');
      expect(parseModelConfig(modelConfigJson(cfg), 'again.json')).toEqual(cfg);
    }
  });

  it("Qwen2.5-0.5B's config.json has 494,032,768 parameters (tied head)", () => {
    // config.json of Qwen/Qwen2.5-0.5B (its shape fields as published on the Hub).
    const cfg = parseModelConfig(
      {
        architectures: ['Qwen2ForCausalLM'],
        attention_dropout: 0.0,
        bos_token_id: 151643,
        eos_token_id: 151643,
        hidden_act: 'silu',
        hidden_size: 896,
        initializer_range: 0.02,
        intermediate_size: 4864,
        max_position_embeddings: 32768,
        max_window_layers: 24,
        model_type: 'qwen2',
        num_attention_heads: 14,
        num_hidden_layers: 24,
        num_key_value_heads: 2,
        rms_norm_eps: 1e-6,
        rope_theta: 1000000.0,
        sliding_window: 32768,
        tie_word_embeddings: true,
        torch_dtype: 'bfloat16',
        use_cache: true,
        use_sliding_window: false,
        vocab_size: 151936,
      },
      'Qwen2.5-0.5B/config.json',
    );
    expect(countParams(cfg)).toBe(494_032_768);
    expect(tapNames(cfg)).toContain('blocks.23.mlp.post');
    expect(cfg).toMatchObject({ headDim: 64, nKvHead: 2, nInner: 4864, rope: { dim: 64, base: 1e6 } });
  });
});
