// GPT-Neo (TinyStories) against the float64 PyTorch reference (test/python/reference/arch_gpt_neo.py) on
// random-weight checkpoints in the layout `GPTNeoForCausalLM.save_pretrained` writes: log-probs and every
// tap, on sequences longer than the local layers' window; and the config and tensor errors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../../helpers/backend.js';
import { loadWeights } from '../../../../src/core/model/checkpoint.js';
import { modelConfigJson, paramSpecs, parseModelConfig } from '../../../../src/core/model/models.js';
import { expectMatchesReference, makeReferenceCheckpoint, tokenIds } from './reference.js';
import { addTensors, patchConfig } from './folders.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-neo-ref-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A reference checkpoint named `name` with config overrides, checked on [B, T] ids. */
function check(name: string, o: Parameters<typeof makeReferenceCheckpoint>[2], B = 2, T = 20): string {
  const ck = makeReferenceCheckpoint('gpt_neo', join(dir, name), o);
  expectMatchesReference(ck, tokenIds(B, T, 512, o?.seed ?? 1), join(dir, `${name}.out.safetensors`));
  return ck;
}

describe('gpt_neo against its PyTorch reference', () => {
  beforeAll(() => useBackend('cpu'));

  it('F32, a global then a local layer (window 4, 20 tokens), unscaled scores, tied head: all agree', () => {
    const ck = check('f32', {});
    expect(loadWeights(ck).config).toMatchObject({ attentionLayers: ['global', 'local'], windowSize: 4 });
  });

  it('BF16 in three shards: read through the index', () => {
    const ck = check('bf16', { dtype: 'BF16', shards: 3, seed: 2 }, 1, 32);
    expect(loadWeights(ck).dtype).toBe('BF16');
  });

  it('F16, attention_types expanded per layer in order (global, local, local, local), window 3', () => {
    const types = [
      [['global', 'local'], 1],
      [['local'], 2],
    ];
    const ck = check('layers', {
      dtype: 'F16',
      seed: 3,
      set: { attention_types: types, num_layers: 4, window_size: 3 },
    });
    expect(loadWeights(ck).config).toMatchObject({ attentionLayers: ['global', 'local', 'local', 'local'] });
  });

  it('untied lm_head, an explicit intermediate_size and gelu (erf)', () => {
    const set = { tie_word_embeddings: false, intermediate_size: 80, activation_function: 'gelu' };
    const ck = check('untied', { seed: 4, set });
    const { config, arrays } = loadWeights(ck);
    expect(config.nInner).toBe(80);
    expect(arrays.has('lm_head.weight')).toBe(true);
  });

  it('the config we write reads back the same and means the same to the reference', () => {
    const ck = makeReferenceCheckpoint('gpt_neo', join(dir, 'ours'), { seed: 5, set: { window_size: 2 } });
    const { config } = loadWeights(ck);
    const file = join(ck, 'config.json');
    writeFileSync(file, JSON.stringify(modelConfigJson(config)));
    expect(parseModelConfig(modelConfigJson(config), file)).toEqual(config);
    expectMatchesReference(ck, tokenIds(2, 12, 512), join(dir, 'ours.out.safetensors'));
  });

  it("older saves' buffers (masks, the tied head's copy) load; any other extra tensor is refused by name", () => {
    const ck = makeReferenceCheckpoint('gpt_neo', join(dir, 'buffers'), { seed: 6 });
    addTensors(ck, {
      'transformer.h.0.attn.attention.bias': [1, 1, 64, 64],
      'transformer.h.1.attn.attention.masked_bias': [],
      'lm_head.weight': [512, 48],
    });
    const { config, arrays } = loadWeights(ck);
    expect(arrays.size).toBe(paramSpecs(config).length);
    const file = addTensors(ck, { 'transformer.h.0.attn.attention.q_proj.bias': [48] });
    expect(() => loadWeights(ck)).toThrow(
      `${file}: unexpected tensor 'transformer.h.0.attn.attention.q_proj.bias'`,
    );
  });
});

describe('gpt_neo config and tensor errors name the file and the field or tensor', () => {
  const ck = join(dir, 'errors');
  const file = join(ck, 'config.json');
  let tiny: Record<string, unknown>;
  beforeAll(() => {
    makeReferenceCheckpoint('gpt_neo', ck);
    tiny = modelConfigJson(loadWeights(ck).config);
  });
  const parse = (patch: Record<string, unknown>) => () => parseModelConfig({ ...tiny, ...patch }, file);

  it('reads the attribute_map spellings num_hidden_layers and num_attention_heads', () => {
    const { num_layers, num_heads, ...rest } = tiny;
    const cfg = parseModelConfig(
      { ...rest, num_hidden_layers: num_layers, num_attention_heads: num_heads },
      file,
    );
    expect(cfg).toEqual(parseModelConfig(tiny, file));
  });

  it('attention_types that do not give one type per layer, or name an unknown type', () => {
    expect(parse({ num_layers: 3, attention_layers: null })).toThrow(
      `${file}: field 'attention_types' expands to 2 layer types, but num_layers is 3`,
    );
    expect(parse({ attention_types: [[['global', 'sparse'], 1]] })).toThrow(
      `${file}: field 'attention_types' must be`,
    );
    expect(parse({ attention_layers: ['local', 'global'] })).toThrow(
      `${file}: field 'attention_layers' disagrees with attention_types`,
    );
  });

  it('heads that do not divide hidden_size', () => {
    expect(parse({ num_heads: 5 })).toThrow(`${file}: field 'num_heads' does not divide hidden_size 48`);
  });

  it('an activation we do not implement', () => {
    expect(parse({ activation_function: 'relu' })).toThrow(`${file}: field 'activation_function' is "relu"`);
  });

  it('a tensor whose shape disagrees with config.json', () => {
    patchConfig(ck, { max_position_embeddings: 32 });
    expect(() => loadWeights(ck)).toThrow(
      `${join(ck, 'model.safetensors')}: tensor 'transformer.wpe.weight' has shape [64,48] but config.json implies [32,48]`,
    );
  });
});
