// Gemma against the float64 PyTorch reference (test/python/reference/arch_gemma.py) on random-weight
// checkpoints in the layout `GemmaForCausalLM.save_pretrained` writes: log-probs and every tap. The
// reference's tiny config has head_dim 16 != hidden_size / heads (12) and one key/value head (as gemma-2b).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../../helpers/backend.js';
import { loadWeights, readModelConfig } from '../../../../src/core/model/checkpoint.js';
import { modelConfigJson, parseModelConfig, tapNames } from '../../../../src/core/model/models.js';
import { writeSafetensors } from '../../../../src/core/model/safetensors.js';
import type { GemmaConfig } from '../../../../src/core/model/arch/gemma.js';
import { expectMatchesReference, makeReferenceCheckpoint, tokenIds, type MakeOptions } from './reference.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-gemma-ref-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Builds the reference's gemma checkpoint `name` and checks our forward pass against it on [B, T] ids. */
function check(name: string, o: MakeOptions, B = 2, T = 12): GemmaConfig {
  const ck = makeReferenceCheckpoint('gemma', join(dir, name), o);
  expectMatchesReference(ck, tokenIds(B, T, 512, o.seed ?? 1), join(dir, `${name}.out.safetensors`));
  return readModelConfig(ck) as GemmaConfig;
}

/** A config.json of the reference's tiny gemma with `change` applied, as our parser reads it. */
function parseWith(change: (json: Record<string, unknown>) => void): GemmaConfig {
  const ck = join(dir, 'base');
  const json = JSON.parse(readFileSync(join(ck, 'config.json'), 'utf8'));
  change(json);
  return parseModelConfig(json, join(ck, 'config.json')) as GemmaConfig;
}

describe('gemma against its PyTorch reference', () => {
  beforeAll(async () => {
    await useBackend('cpu');
    makeReferenceCheckpoint('gemma', join(dir, 'base'));
  });

  it('F32, one file, multi-query attention and a head_dim of its own: log-probs and every tap agree', () => {
    const cfg = check('f32', {});
    expect([cfg.nKvHead, cfg.headDim, cfg.nEmbd / cfg.nHead]).toEqual([1, 16, 12]);
    expect(cfg.activation).toBe('gelu_tanh');
    expect(tapNames(cfg).filter((t) => t.startsWith('blocks.0.'))).toEqual(
      [
        'resid_pre',
        'attn_out',
        'resid_mid',
        'mlp_out',
        'resid_post',
        'mlp.pre',
        'mlp.pre_linear',
        'mlp.post',
      ].map((k) => `blocks.0.${k}`),
    );
  });

  it('F16 in two shards', () => {
    check('f16', { dtype: 'F16', shards: 2, seed: 3 });
    expect(loadWeights(join(dir, 'f16')).dtype).toBe('F16');
  });

  it('BF16 in three shards', () => {
    check('bf16', { dtype: 'BF16', shards: 3, seed: 5 }, 1, 16);
    expect(loadWeights(join(dir, 'bf16')).dtype).toBe('BF16');
  });

  it('a Gemma 1.0 config (hidden_act "gelu", no hidden_activation) still runs the tanh GELU', () => {
    const cfg = check('gemma10', { set: { hidden_act: 'gelu', hidden_activation: null }, seed: 6 });
    expect(cfg.activation).toBe('gelu_tanh');
  });

  it('hidden_activation "gelu" runs the exact GELU', () => {
    const cfg = check('exact', { set: { hidden_activation: 'gelu' }, seed: 7 });
    expect(cfg.activation).toBe('gelu');
  });

  it('the exact GELU and multi-query attention on the wasm backend too', async () => {
    await useBackend('wasm');
    try {
      check('wasm', { set: { hidden_activation: 'gelu' }, seed: 15 });
    } finally {
      await useBackend('cpu');
    }
  });

  it('grouped-query attention (2 key/value heads for 4 query heads)', () => {
    check('gqa', { set: { num_key_value_heads: 2 }, seed: 8 });
  });

  it('multi-head attention with a head_dim of 24', () => {
    check('mha', { set: { num_key_value_heads: 4, head_dim: 24 }, seed: 9 });
  });

  it('attention_bias: biases on q, k, v and o', () => {
    const cfg = check('bias', { set: { attention_bias: true }, seed: 10 });
    expect(loadWeights(join(dir, 'bias')).arrays.has('model.layers.2.self_attn.o_proj.bias')).toBe(true);
    expect(cfg.attentionBias).toBe(true);
  });

  it('an untied head (lm_head.weight)', () => {
    const cfg = check('untied', { set: { tie_word_embeddings: false }, seed: 11 });
    expect(loadWeights(join(dir, 'untied')).arrays.has('lm_head.weight')).toBe(true);
    expect(cfg.tiedHead).toBe(false);
  });

  it('rope_theta and linear rope_scaling', () => {
    check('linear', { set: { rope_theta: 500, rope_scaling: { rope_type: 'linear', factor: 4 } }, seed: 12 });
  });

  it('llama3 rope_scaling (older "type" spelling)', () => {
    const scaling = {
      type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 64,
    };
    const cfg = check('llama3', { set: { rope_theta: 500000, rope_scaling: scaling }, seed: 13 });
    expect(cfg.rope.scaling?.type).toBe('llama3');
  });

  it('a tied head saved as a copy and older rotary buffers load as buffers', () => {
    const ck = makeReferenceCheckpoint('gemma', join(dir, 'buffers'), { seed: 14 });
    const { arrays } = loadWeights(ck);
    // Rewrite the folder with the extra tensors older transformers versions saved.
    const file = join(ck, 'model.safetensors');
    const extra = new Map(arrays);
    extra.set('lm_head.weight', arrays.get('model.embed_tokens.weight')!);
    extra.set('model.layers.0.self_attn.rotary_emb.inv_freq', {
      shape: [8],
      data: new Float32Array(8).fill(1),
    });
    writeSafetensors(file, extra);
    expectMatchesReference(ck, tokenIds(1, 8, 512, 14), join(dir, 'buffers.out.safetensors'));
  });

  it('config.json round-trips through configJson', () => {
    const cfg = parseWith((j) => (j.rope_scaling = { rope_type: 'linear', factor: 2 }));
    const again = parseModelConfig(modelConfigJson(cfg), 'again.json');
    expect(again).toEqual(cfg);
  });

  it("transformers v5's rope_parameters read as rope_theta and rope_scaling", () => {
    const v4 = parseWith((j) => {
      j.rope_theta = 1000;
      j.rope_scaling = { rope_type: 'linear', factor: 2 };
    });
    const v5 = parseWith((j) => {
      delete j.rope_theta;
      j.rope_parameters = { rope_type: 'linear', rope_theta: 1000, factor: 2 };
    });
    expect(v5.rope).toEqual(v4.rope);
    expect(v5.rope).toEqual({ dim: 16, base: 1000, scaling: { type: 'linear', factor: 2 } });
  });

  it("transformers' defaults fill the fields a config leaves out", () => {
    const cfg = parseModelConfig({ model_type: 'gemma' }, 'config.json') as GemmaConfig;
    expect(cfg).toMatchObject({
      nEmbd: 3072,
      nHead: 16,
      nKvHead: 16,
      headDim: 256,
      nLayer: 28,
      nInner: 24576,
    });
    expect(cfg).toMatchObject({
      vocabSize: 256000,
      nCtx: 8192,
      rmsNormEps: 1e-6,
      tiedHead: true,
      bosTokenId: 2,
    });
    expect(cfg.rope).toEqual({ dim: 256, base: 10000 });
  });

  it('config errors name the file and the field', () => {
    const file = join(dir, 'base', 'config.json');
    expect(() => parseWith((j) => (j.rope_scaling = { rope_type: 'yarn', factor: 4 }))).toThrow(
      `${file}: field 'rope_scaling' has rope_type "yarn"; supported: default, linear, llama3`,
    );
    expect(() => parseWith((j) => (j.rope_scaling = { rope_type: 'linear' }))).toThrow(
      `${file}: field 'rope_scaling': field 'factor' is required`,
    );
    expect(() => parseWith((j) => (j.num_key_value_heads = 3))).toThrow(
      `${file}: field 'num_key_value_heads' must divide num_attention_heads (4)`,
    );
    expect(() => parseWith((j) => (j.head_dim = 15))).toThrow(`${file}: field 'head_dim' must be even`);
    expect(() => parseWith((j) => (j.hidden_activation = 'relu2'))).toThrow(
      `${file}: field 'hidden_activation' is "relu2"`,
    );
    expect(() => parseWith((j) => (j.use_bidirectional_attention = true))).toThrow(
      `${file}: field 'use_bidirectional_attention' is not supported`,
    );
  });

  it('a tensor whose shape disagrees with config.json is named with its file', () => {
    const ck = makeReferenceCheckpoint('gemma', join(dir, 'shape'));
    const cfgFile = join(ck, 'config.json');
    writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(readFileSync(cfgFile, 'utf8')), head_dim: 8 }));
    expect(() => loadWeights(ck)).toThrow(
      `${join(ck, 'model.safetensors')}: tensor 'model.layers.0.self_attn.q_proj.weight' has shape [64,48] but config.json implies [32,48]`,
    );
  });

  it('a missing tensor is named', () => {
    const ck = makeReferenceCheckpoint('gemma', join(dir, 'missing'), {
      set: { tie_word_embeddings: false },
    });
    const arrays = loadWeights(ck).arrays;
    arrays.delete('lm_head.weight');
    writeSafetensors(join(ck, 'model.safetensors'), arrays);
    expect(() => loadWeights(ck)).toThrow(
      `${join(ck, 'model.safetensors')}: tensor 'lm_head.weight' is missing`,
    );
  });
});
