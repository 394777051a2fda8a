// Llama against the float64 PyTorch reference (test/python/reference/arch_llama.py) on random-weight
// checkpoints in the layout `LlamaForCausalLM.save_pretrained` writes: log-probs and every tap, for each
// config feature; config errors; the parameter count of Llama-3.2-1B's config.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../../helpers/backend.js';
import { loadWeights } from '../../../../src/core/model/checkpoint.js';
import {
  countParams,
  disposeParams,
  forward,
  modelConfigJson,
  paramsFromArrays,
  parseModelConfig,
  tapNames,
} from '../../../../src/core/model/models.js';
import { readSafetensors, writeSafetensors } from '../../../../src/core/model/safetensors.js';
import { expectMatchesReference, makeReferenceCheckpoint, tokenIds } from './reference.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-llama-ref-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Rewrites fields of a checkpoint's config.json. */
function editConfig(ck: string, edit: (json: Record<string, unknown>) => void): void {
  const file = join(ck, 'config.json');
  const json = JSON.parse(readFileSync(file, 'utf8'));
  edit(json);
  writeFileSync(file, JSON.stringify(json));
}

describe('llama against its PyTorch reference', () => {
  beforeAll(() => useBackend('cpu'));

  it('F32: llama3 RoPE scaling in all three bands, grouped-query attention, head_dim, untied head', () => {
    const ck = makeReferenceCheckpoint('llama', join(dir, 'f32'));
    const cfg = loadWeights(ck).config;
    expect(tapNames(cfg)).toContain('blocks.2.mlp.pre_linear');
    expectMatchesReference(ck, tokenIds(2, 20, 512), join(dir, 'f32.out.safetensors'));
  });

  it('F16 in two shards: attention_bias on q, k, v and o, mlp_bias on gate, up and down', () => {
    const ck = makeReferenceCheckpoint('llama', join(dir, 'bias'), {
      dtype: 'F16',
      shards: 2,
      seed: 3,
      set: { attention_bias: true, mlp_bias: true },
    });
    const { arrays, dtype } = loadWeights(ck);
    expect(dtype).toBe('F16');
    expect(arrays.has('model.layers.1.self_attn.o_proj.bias')).toBe(true);
    expect(arrays.has('model.layers.1.mlp.up_proj.bias')).toBe(true);
    expectMatchesReference(ck, tokenIds(2, 12, 512, 5), join(dir, 'bias.out.safetensors'));
  });

  it('BF16: tied head and linear RoPE scaling spelled with the old `type` key', () => {
    const ck = makeReferenceCheckpoint('llama', join(dir, 'tied'), {
      dtype: 'BF16',
      seed: 5,
      set: { tie_word_embeddings: true, rope_scaling: { type: 'linear', factor: 4.0 } },
    });
    const { config, arrays } = loadWeights(ck);
    expect(arrays.has('lm_head.weight')).toBe(false);
    expect(countParams(config)).toBe([...arrays.values()].reduce((n, a) => n + a.data.length, 0));
    expectMatchesReference(ck, tokenIds(1, 16, 512, 9), join(dir, 'tied.out.safetensors'));
  });

  it('no rope_scaling, no head_dim field, as many key/value heads as query heads (Llama 2)', () => {
    const ck = makeReferenceCheckpoint('llama', join(dir, 'mha'), {
      seed: 7,
      set: { rope_scaling: null, head_dim: null, num_key_value_heads: 4, rope_theta: 10000.0 },
    });
    expect(loadWeights(ck).config).toMatchObject({ headDim: 16, nKvHead: 4 });
    expectMatchesReference(ck, tokenIds(2, 10, 512, 2), join(dir, 'mha.out.safetensors'));
  });

  it('loads older saves: per-layer rotary inv_freq buffers and a copy of the tied head are skipped', () => {
    const ck = makeReferenceCheckpoint('llama', join(dir, 'buffers'), {
      seed: 11,
      set: { tie_word_embeddings: true },
    });
    const file = join(ck, 'model.safetensors');
    const { tensors } = readSafetensors(file);
    for (let i = 0; i < 3; i++)
      tensors.set(`model.layers.${i}.self_attn.rotary_emb.inv_freq`, {
        shape: [8],
        data: new Float32Array(8).fill(1),
      });
    tensors.set('lm_head.weight', tensors.get('model.embed_tokens.weight')!);
    writeSafetensors(file, tensors);
    expectMatchesReference(ck, tokenIds(1, 8, 512, 3), join(dir, 'buffers.out.safetensors'));

    tensors.set('model.layers.0.self_attn.rotary.freqs', { shape: [8], data: new Float32Array(8) });
    writeSafetensors(file, tensors);
    expect(() => loadWeights(ck)).toThrow(
      /model\.safetensors: unexpected tensor 'model\.layers\.0\.self_attn\.rotary\.freqs'/,
    );
  });

  it('the wasm backend agrees too', async () => {
    const ck = makeReferenceCheckpoint('llama', join(dir, 'wasm'), {
      seed: 17,
      set: { attention_bias: true },
    });
    await useBackend('wasm');
    try {
      expectMatchesReference(ck, tokenIds(2, 12, 512, 12), join(dir, 'wasm.out.safetensors'));
    } finally {
      await useBackend('cpu');
    }
  });

  it('differentiable: every parameter gets a gradient, and it matches a finite difference', () => {
    const ck = makeReferenceCheckpoint('llama', join(dir, 'grad'), {
      seed: 13,
      set: { attention_bias: true, mlp_bias: true },
    });
    const { config, arrays } = loadWeights(ck);
    const params = paramsFromArrays(config, arrays, true);
    const vars = [...params.values()];
    try {
      // Next-token cross-entropy on 2 x 8 tokens.
      const ids = tokenIds(2, 9, config.vocabSize, 21);
      const inputs = tf.tensor2d(
        ids.flatMap((r) => r.slice(0, -1)),
        [2, 8],
        'int32',
      );
      const targets = tf.oneHot(
        tf.tensor2d(
          ids.flatMap((r) => r.slice(1)),
          [2, 8],
          'int32',
        ),
        config.vocabSize,
      );
      const loss = () => {
        const logp = tf.logSoftmax(forward(config, params, inputs).logits!);
        return tf.neg(tf.mean(tf.sum(tf.mul(logp, targets), -1))) as tf.Scalar;
      };
      const { grads } = tf.variableGrads(loss, vars);
      for (const [name, v] of params) {
        const g = grads[v.name].dataSync();
        expect(g.every(Number.isFinite) && g.some((x) => x !== 0), name).toBe(true);
      }

      // Along a random unit direction d: (loss(p + eps d) - loss(p - eps d)) / (2 eps) = <grad, d>.
      const n = countParams(config);
      const d = vars.map((v, i) => tf.div(tf.randomNormal(v.shape, 0, 1, 'float32', i + 1), Math.sqrt(n)));
      const along = vars.reduce((s, v, i) => s + tf.sum(tf.mul(grads[v.name], d[i])).dataSync()[0], 0);
      const original = vars.map((v) => tf.clone(v));
      const lossAt = (eps: number): number => {
        vars.forEach((v, i) => v.assign(tf.add(original[i], tf.mul(d[i], eps))));
        return tf.tidy(() => loss().dataSync()[0]);
      };
      const eps = 1e-2;
      const numeric = (lossAt(eps) - lossAt(-eps)) / (2 * eps);
      expect(Math.abs(numeric - along)).toBeLessThan(1e-3 * Math.abs(along));
    } finally {
      disposeParams(params);
    }
  });
});

describe('llama config.json', () => {
  const base = (): Record<string, unknown> => ({
    model_type: 'llama',
    vocab_size: 512,
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 256,
  });

  it('refuses a rope_scaling type it does not implement, naming the file and the field', () => {
    const json = { ...base(), rope_scaling: { rope_type: 'yarn', factor: 4.0 } };
    expect(() => parseModelConfig(json, '/x/config.json')).toThrow(
      /\/x\/config\.json: field 'rope_scaling' has rope_type "yarn"; supported: default, linear, llama3/,
    );
    const incomplete = { ...base(), rope_scaling: { rope_type: 'llama3', factor: 8.0 } };
    expect(() => parseModelConfig(incomplete, '/x/config.json')).toThrow(
      /\/x\/config\.json: field 'rope_scaling': field 'low_freq_factor' is required/,
    );
  });

  it('refuses an activation it does not implement', () => {
    expect(() => parseModelConfig({ ...base(), hidden_act: 'relu2' }, 'c.json')).toThrow(
      /c\.json: field 'hidden_act' is "relu2"; supported: /,
    );
  });

  it('refuses key/value heads that do not divide the query heads, and an odd head_dim', () => {
    expect(() => parseModelConfig({ ...base(), num_key_value_heads: 3 }, 'c.json')).toThrow(
      /c\.json: field 'num_key_value_heads' must divide num_attention_heads \(4\)/,
    );
    expect(() => parseModelConfig({ ...base(), head_dim: 15 }, 'c.json')).toThrow(
      /c\.json: field 'head_dim' must be even/,
    );
  });

  it('a tensor whose shape disagrees with config.json is named with its file', () => {
    const ck = makeReferenceCheckpoint('llama', join(dir, 'shape'), { seed: 2 });
    editConfig(ck, (json) => (json.intermediate_size = 96));
    expect(() => loadWeights(ck)).toThrow(
      /model\.safetensors: tensor 'model\.layers\.0\.mlp\.gate_proj\.weight' has shape \[128,64\] but config\.json implies \[96,64\]/,
    );
  });

  it("takes HF's defaults and transformers 5's rope_parameters spelling", () => {
    const cfg = parseModelConfig(
      {
        ...base(),
        num_key_value_heads: null,
        rope_theta: 500000.0,
        rope_scaling: { type: 'linear', factor: 2 },
      },
      'c.json',
    );
    expect(cfg).toMatchObject({
      nKvHead: 4,
      headDim: 16,
      rmsNormEps: 1e-6,
      bosTokenId: 1,
      eosTokenId: 2,
      tiedHead: false,
      rope: { dim: 16, base: 500000, scaling: { type: 'linear', factor: 2 } },
    });
    const v5 = { ...base(), num_key_value_heads: 4 } as Record<string, unknown>;
    v5.rope_parameters = { rope_type: 'linear', rope_theta: 500000.0, factor: 2 };
    expect(parseModelConfig(v5, 'c.json')).toEqual(cfg);
    const byLayerType = { ...v5, rope_parameters: { full_attention: v5.rope_parameters } };
    expect(() => parseModelConfig(byLayerType, 'c.json')).toThrow(
      /c\.json: field 'rope_parameters': field 'rope_theta' is required/,
    );
  });

  it('configJson reads back as the same config', () => {
    const cfg = parseModelConfig(
      {
        ...base(),
        attention_bias: true,
        tie_word_embeddings: true,
        rope_scaling: {
          rope_type: 'llama3',
          factor: 32.0,
          low_freq_factor: 1.0,
          high_freq_factor: 4.0,
          original_max_position_embeddings: 8192,
        },
      },
      'c.json',
    );
    expect(parseModelConfig(modelConfigJson(cfg), 'again.json')).toEqual(cfg);
  });

  it("Llama-3.2-1B's config.json has 1,235,814,400 parameters (tied head)", () => {
    // config.json of meta-llama/Llama-3.2-1B (its shape fields as published on the Hub).
    const cfg = parseModelConfig(
      {
        architectures: ['LlamaForCausalLM'],
        attention_bias: false,
        attention_dropout: 0.0,
        bos_token_id: 128000,
        eos_token_id: 128001,
        head_dim: 64,
        hidden_act: 'silu',
        hidden_size: 2048,
        initializer_range: 0.02,
        intermediate_size: 8192,
        max_position_embeddings: 131072,
        mlp_bias: false,
        model_type: 'llama',
        num_attention_heads: 32,
        num_hidden_layers: 16,
        num_key_value_heads: 8,
        pretraining_tp: 1,
        rms_norm_eps: 1e-5,
        rope_scaling: {
          factor: 32.0,
          high_freq_factor: 4.0,
          low_freq_factor: 1.0,
          original_max_position_embeddings: 8192,
          rope_type: 'llama3',
        },
        rope_theta: 500000.0,
        tie_word_embeddings: true,
        torch_dtype: 'bfloat16',
        use_cache: true,
        vocab_size: 128256,
      },
      'Llama-3.2-1B/config.json',
    );
    expect(countParams(cfg)).toBe(1_235_814_400);
    expect(tapNames(cfg)).toHaveLength(16 * 8);
  });
});
