// GPT-NeoX (Pythia) against the float64 PyTorch reference (test/python/reference/arch_gpt_neox.py) on
// random-weight checkpoints in the layout `GPTNeoXForCausalLM.save_pretrained` writes: log-probs and every
// tap, for each config toggle; and the config and tensor errors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../../helpers/backend.js';
import { loadWeights } from '../../../../src/core/model/checkpoint.js';
import {
  modelConfigJson,
  paramSpecs,
  parseModelConfig,
  tapNames,
} from '../../../../src/core/model/models.js';
import { expectMatchesReference, makeReferenceCheckpoint, tokenIds } from './reference.js';
import { addTensors, patchConfig } from './folders.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-neox-ref-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A reference checkpoint named `name` with config overrides, checked on [B, T] ids. */
function check(name: string, o: Parameters<typeof makeReferenceCheckpoint>[2], B = 2, T = 16): string {
  const ck = makeReferenceCheckpoint('gpt_neox', join(dir, name), o);
  expectMatchesReference(ck, tokenIds(B, T, 512, o?.seed ?? 1), join(dir, `${name}.out.safetensors`));
  return ck;
}

describe('gpt_neox against its PyTorch reference', () => {
  beforeAll(() => useBackend('cpu'));

  it('F32, Pythia layout (parallel residual, rotary_pct 0.25, biases, untied embed_out): all agree', () => {
    const ck = check('f32', {});
    const { config } = loadWeights(ck);
    expect(tapNames(config).filter((t) => t.startsWith('blocks.0.'))).toEqual([
      'blocks.0.resid_pre',
      'blocks.0.attn_out',
      'blocks.0.mlp_out',
      'blocks.0.resid_post',
      'blocks.0.mlp.pre',
      'blocks.0.mlp.post',
    ]);
  });

  it('sequential residual (use_parallel_residual false), F16: resid_mid is tapped', () => {
    const ck = check('sequential', { dtype: 'F16', seed: 2, set: { use_parallel_residual: false } });
    expect(tapNames(loadWeights(ck).config)).toContain('blocks.1.resid_mid');
  });

  it('BF16 in three shards: read through the index', () => {
    const ck = check('bf16', { dtype: 'BF16', shards: 3, seed: 3 }, 1, 24);
    expect(loadWeights(ck).dtype).toBe('BF16');
  });

  it('attention_bias false: query_key_value and dense without biases', () => {
    const ck = check('nobias', { seed: 4, set: { attention_bias: false } });
    const names = [...loadWeights(ck).arrays.keys()];
    expect(names).not.toContain('gpt_neox.layers.0.attention.dense.bias');
    expect(names).toContain('gpt_neox.layers.0.mlp.dense_4h_to_h.bias');
  });

  it('partial_rotary_factor and rope_theta win over rotary_pct and rotary_emb_base', () => {
    const ck = check('newnames', { seed: 5, set: { partial_rotary_factor: 0.5, rope_theta: 100 } });
    expect(loadWeights(ck).config).toMatchObject({ rotaryPct: 0.5, ropeTheta: 100 });
  });

  it("transformers 5's rope_parameters: full rotary, another base", () => {
    const rope = { rope_type: 'default', rope_theta: 500, partial_rotary_factor: 1.0 };
    const ck = check('ropeparams', { seed: 6, set: { rope_parameters: rope } });
    expect(loadWeights(ck).config).toMatchObject({ rotaryPct: 1, ropeTheta: 500 });
  });

  it('tied head (tie_word_embeddings) with hidden_act gelu_new', () => {
    const ck = check('tied', { seed: 7, set: { tie_word_embeddings: true, hidden_act: 'gelu_new' } });
    expect([...loadWeights(ck).arrays.keys()]).not.toContain('embed_out.weight');
  });

  it('the config we write reads back the same and means the same to the reference', () => {
    const ck = makeReferenceCheckpoint('gpt_neox', join(dir, 'ours'), {
      seed: 8,
      set: { use_parallel_residual: false, partial_rotary_factor: 0.5, rope_theta: 1000 },
    });
    const { config } = loadWeights(ck);
    const file = join(ck, 'config.json');
    writeFileSync(file, JSON.stringify(modelConfigJson(config)));
    expect(parseModelConfig(modelConfigJson(config), file)).toEqual(config);
    expectMatchesReference(ck, tokenIds(2, 10, 512), join(dir, 'ours.out.safetensors'));
  });

  it("older saves' buffers (masks, rotary inv_freq) load; any other extra tensor is refused by name", () => {
    const ck = makeReferenceCheckpoint('gpt_neox', join(dir, 'buffers'), { seed: 9 });
    addTensors(ck, {
      'gpt_neox.layers.0.attention.bias': [1, 1, 64, 64],
      'gpt_neox.layers.0.attention.masked_bias': [],
      'gpt_neox.layers.1.attention.rotary_emb.inv_freq': [2],
    });
    const { config, arrays } = loadWeights(ck);
    expect(arrays.size).toBe(paramSpecs(config).length);
    const file = addTensors(ck, { 'gpt_neox.layers.0.attention.extra': [2] });
    expect(() => loadWeights(ck)).toThrow(`${file}: unexpected tensor 'gpt_neox.layers.0.attention.extra'`);
  });
});

describe('gpt_neox config and tensor errors name the file and the field or tensor', () => {
  const ck = join(dir, 'errors');
  const file = join(ck, 'config.json');
  let tiny: Record<string, unknown>;
  beforeAll(() => {
    makeReferenceCheckpoint('gpt_neox', ck);
    tiny = modelConfigJson(loadWeights(ck).config);
  });
  const parse = (patch: Record<string, unknown>) => () => parseModelConfig({ ...tiny, ...patch }, file);

  it('an unknown RoPE scaling type', () => {
    expect(parse({ rope_scaling: { type: 'linear', factor: 2 } })).toThrow(
      `${file}: field 'rope_scaling' names RoPE type "linear"`,
    );
    expect(parse({ rope_parameters: { rope_type: 'yarn', factor: 2 } })).toThrow(
      `${file}: field 'rope_parameters' names RoPE type "yarn"`,
    );
  });

  it('heads that do not divide hidden_size', () => {
    expect(parse({ num_attention_heads: 5 })).toThrow(`${file}: field 'num_attention_heads' does not divide`);
  });

  it('a rotary fraction that leaves an odd or zero number of rotated features', () => {
    expect(parse({ rotary_pct: 0.1875 })).toThrow(`${file}: field 'rotary_pct' gives 3 rotary features`);
    expect(parse({ partial_rotary_factor: 0.05 })).toThrow(`${file}: field 'partial_rotary_factor' gives 0`);
  });

  it('an activation we do not implement', () => {
    expect(parse({ hidden_act: 'relu' })).toThrow(`${file}: field 'hidden_act' is "relu"`);
  });

  it('a tensor whose shape disagrees with config.json, and one config.json does not call for', () => {
    const weights = join(ck, 'model.safetensors');
    patchConfig(ck, { intermediate_size: 128 });
    expect(() => loadWeights(ck)).toThrow(
      `${weights}: tensor 'gpt_neox.layers.0.mlp.dense_h_to_4h.weight' has shape [256,64] but config.json implies [128,64]`,
    );
    patchConfig(ck, { intermediate_size: 256, attention_bias: false });
    expect(() => loadWeights(ck)).toThrow(
      new RegExp(
        `^${weights}: unexpected tensor 'gpt_neox\\.layers\\.\\d\\.attention\\.(dense|query_key_value)\\.bias'`,
      ),
    );
  });
});
