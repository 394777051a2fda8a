// LoRA adapters in PEFT's layout (src/core/model/adapter.ts): the files we write hold PEFT's config fields
// and key names (as read from huggingface/peft: tuners/lora/config.py, config.py, utils/save_and_load.py),
// read back to the same settings and tensors, refuse what we do not implement by file and field or key, and
// merge into a Hugging Face checkpoint that computes what base + adapter computes.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../helpers/backend.js';
import { loadCheckpoint, loadWeights } from '../../../src/core/model/checkpoint.js';
import type { ModelConfig } from '../../../src/core/model/architecture.js';
import {
  ADAPTER_CONFIG,
  ADAPTER_WEIGHTS,
  mergeAdapter,
  readAdapter,
  saveAdapter,
  saveMergedCheckpoint,
} from '../../../src/core/model/adapter.js';
import {
  adaptedLinears,
  disposeParams,
  forward,
  paramsFromArrays,
  unitDirection,
} from '../../../src/core/model/models.js';
import { defaultLoraTargets, initLoraArrays, type LoraConfig } from '../../../src/core/model/lora.js';
import { readSafetensors, writeSafetensors, type NamedArray } from '../../../src/core/model/safetensors.js';
import { Rng } from '../../../src/core/model/rng.js';
import { loadTokenizer } from '../../../src/core/model/tokenizers.js';
import { makeReferenceCheckpoint, tokenIds } from './architectures/reference.js';
import { writeLlamaTokenizer } from '../../fixtures/hf-tokenizers.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-adapter-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** PeftConfig's fields (peft/config.py) and LoraConfig's saved ones (runtime_config is not saved). */
const PEFT_FIELDS = [
  'peft_type',
  'task_type',
  'base_model_name_or_path',
  'revision',
  'inference_mode',
  'auto_mapping',
  'r',
  'target_modules',
  'exclude_modules',
  'lora_alpha',
  'lora_dropout',
  'fan_in_fan_out',
  'bias',
  'use_rslora',
  'modules_to_save',
  'init_lora_weights',
  'layers_to_transform',
  'layers_pattern',
  'rank_pattern',
  'alpha_pattern',
  'megatron_config',
  'megatron_core',
  'loftq_config',
  'use_dora',
  'layer_replication',
];

/** A config with an adapter on the architecture's default targets, and random A and B (B non-zero). */
function randomAdapter(config: ModelConfig, r: number, seed: number) {
  const cfg: LoraConfig = {
    ...config,
    lora: { r, alpha: 2 * r, dropout: 0.05, targets: defaultLoraTargets(config.arch), rslora: false },
  };
  const arrays = initLoraArrays(adaptedLinears(cfg), r, seed);
  const rng = new Rng(seed + 1);
  for (const [name, a] of arrays)
    if (name.endsWith('lora_B.weight')) a.data = a.data.map(() => 0.2 * rng.normal());
  return { cfg, arrays };
}

function logits(cfg: ModelConfig, arrays: Map<string, NamedArray>, ids: number[][]): Float32Array {
  const params = paramsFromArrays(cfg, arrays, false);
  try {
    return tf.tidy(() => {
      const x = tf.tensor2d(ids, [ids.length, ids[0].length], 'int32');
      return forward(cfg, params, x).logits!.dataSync() as Float32Array;
    });
  } finally {
    disposeParams(params);
  }
}

/** A random-weight base of `arch` (the reference's tiny config) with a Llama-style tokenizer, made once. */
function baseFolder(arch: string): string {
  const out = join(dir, `${arch}-base`);
  if (existsSync(out)) return out;
  mkdirSync(out);
  const vocab = writeLlamaTokenizer(out);
  return makeReferenceCheckpoint(arch, out, { set: { vocab_size: vocab, bos_token_id: 1, eos_token_id: 2 } });
}

const meta = (baseDir: string) => ({ stage: 'decpo', base: { dir: baseDir, hash: 'h' } });

describe('PEFT adapter folders', () => {
  beforeAll(() => useBackend('cpu'));

  const PREFIX: Record<string, string> = { llama: '', gpt2: 'transformer.', gpt_neox: '' };
  for (const arch of ['llama', 'gpt2', 'gpt_neox']) {
    it(`${arch}: writes adapter_config.json and PEFT's keys, and reads back the same adapter`, () => {
      const baseDir = baseFolder(arch);
      const { config } = loadWeights(baseDir);
      const { cfg, arrays } = randomAdapter(config, 4, 3);
      const out = join(dir, `${arch}-adapter`);
      saveAdapter(out, cfg, arrays, meta(baseDir));

      const json = JSON.parse(readFileSync(join(out, ADAPTER_CONFIG), 'utf8'));
      expect(Object.keys(json).filter((k) => !PEFT_FIELDS.includes(k))).toEqual([]);
      expect(json).toMatchObject({
        peft_type: 'LORA',
        task_type: 'CAUSAL_LM',
        r: 4,
        lora_alpha: 8,
        lora_dropout: 0.05,
        target_modules: defaultLoraTargets(arch),
        base_model_name_or_path: baseDir,
        bias: 'none',
        fan_in_fan_out: arch === 'gpt2',
        use_rslora: false,
        use_dora: false,
        modules_to_save: null,
        rank_pattern: {},
        alpha_pattern: {},
        inference_mode: true,
      });

      const { tensors, metadata } = readSafetensors(join(out, ADAPTER_WEIGHTS));
      expect(metadata).toEqual({ format: 'pt' });
      const want = adaptedLinears(cfg).flatMap((m) => [
        [`base_model.model.${PREFIX[arch]}${m.module}.lora_A.weight`, [4, m.in]],
        [`base_model.model.${PREFIX[arch]}${m.module}.lora_B.weight`, [m.out, 4]],
      ]);
      expect([...tensors].map(([k, t]) => [k, t.shape]).sort()).toEqual(want.sort());
      const first = (
        { gpt2: 'transformer.h.0.attn.c_attn', llama: 'model.layers.0.self_attn.q_proj' } as Record<
          string,
          string
        >
      )[arch];
      if (first) expect(tensors.has(`base_model.model.${first}.lora_A.weight`)).toBe(true);

      const back = readAdapter(out, config);
      expect(back.config).toEqual(cfg);
      expect(back.baseModel).toBe(baseDir);
      expect([...back.arrays.keys()].sort()).toEqual([...arrays.keys()].sort());
      for (const [name, a] of arrays) expect(back.arrays.get(name)!.data).toEqual(a.data);
      expect(JSON.parse(readFileSync(join(out, 'monoscope.json'), 'utf8'))).toMatchObject(meta(baseDir));
    });
  }

  it('merges into a Hugging Face checkpoint that computes what base + adapter computes (GPT-2 Conv1D too)', () => {
    for (const arch of ['llama', 'gpt2']) {
      const baseDir = baseFolder(arch);
      const base = loadWeights(baseDir);
      const { cfg, arrays } = randomAdapter(base.config, 4, 5);
      const all = new Map([...base.arrays, ...arrays]);
      const mergedDir = join(dir, `${arch}-merged`);
      saveMergedCheckpoint(mergedDir, cfg, all, loadTokenizer(baseDir, cfg.vocabSize), { stage: 'decpo' });
      const merged = loadCheckpoint(mergedDir);
      expect(merged.config.lora).toBeUndefined();
      const ids = tokenIds(2, 7, cfg.vocabSize, 9);
      const want = logits(cfg, all, ids);
      const got = logits(merged.config, merged.arrays, ids);
      const baseLogits = logits(base.config, base.arrays, ids);
      let diff = 0;
      let moved = 0;
      for (let i = 0; i < want.length; i++) {
        diff = Math.max(diff, Math.abs(got[i] - want[i]));
        moved = Math.max(moved, Math.abs(baseLogits[i] - want[i]));
      }
      expect(moved, arch).toBeGreaterThan(1e-2);
      expect(diff, arch).toBeLessThan(2e-4);
    }
  });

  it("a neuron's output direction includes the adapter's update of the output projection (rows and columns)", () => {
    for (const [arch, target] of [
      ['gpt2', 'mlp.c_proj'],
      ['llama', 'down_proj'],
    ]) {
      const base = loadWeights(baseFolder(arch));
      const cfg: LoraConfig = {
        ...base.config,
        lora: { r: 3, alpha: 5, dropout: 0, targets: [target], rslora: false },
      };
      const adapter = initLoraArrays(adaptedLinears(cfg), 3, 2);
      const rng = new Rng(4);
      for (const [name, a] of adapter)
        if (name.endsWith('lora_B.weight')) a.data = a.data.map(() => rng.normal());
      const all = new Map([...base.arrays, ...adapter]);
      const merged = mergeAdapter(cfg, all);
      for (const unit of [0, 5]) {
        const got = unitDirection(cfg, all, 'blocks.1.mlp.post', unit);
        const want = unitDirection(base.config, merged, 'blocks.1.mlp.post', unit);
        const plain = unitDirection(base.config, base.arrays, 'blocks.1.mlp.post', unit);
        for (let d = 0; d < want.length; d++) expect(got[d]).toBeCloseTo(want[d], 5);
        expect(Math.max(...got.map((v, d) => Math.abs(v - plain[d])))).toBeGreaterThan(1e-2);
      }
    }
  });

  it("PEFT's regex target_modules: the targets are the layers the file holds", () => {
    const baseDir = baseFolder('llama');
    const { config } = loadWeights(baseDir);
    const { cfg, arrays } = randomAdapter(config, 2, 1);
    const out = join(dir, 'regex');
    saveAdapter(out, cfg, arrays, meta(baseDir));
    const file = join(out, ADAPTER_CONFIG);
    const json = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...json, target_modules: '.*(q_proj|v_proj|up_proj)$' }));
    const back = readAdapter(out, config);
    expect(back.config.lora.targets).toEqual(adaptedLinears(cfg).map((m) => m.module));
    expect(adaptedLinears(back.config)).toEqual(adaptedLinears(cfg));
  });

  describe('refuses what Monoscope does not implement, naming the file and the field or key', () => {
    let baseDir: string;
    let config: ModelConfig;
    let good: string;
    beforeAll(() => {
      baseDir = baseFolder('llama');
      config = loadWeights(baseDir).config;
      const { cfg, arrays } = randomAdapter(config, 2, 7);
      good = join(dir, 'good');
      saveAdapter(good, cfg, arrays, meta(baseDir));
    });

    /** A copy of the good adapter with its config changed by `edit` and its tensors by `tensors`. */
    function variant(
      name: string,
      edit: Record<string, unknown>,
      tensors?: (t: Map<string, NamedArray>) => void,
    ) {
      const out = join(dir, `bad-${name}`);
      const json = JSON.parse(readFileSync(join(good, ADAPTER_CONFIG), 'utf8'));
      const t = readSafetensors(join(good, ADAPTER_WEIGHTS)).tensors;
      tensors?.(t);
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, ADAPTER_CONFIG), JSON.stringify({ ...json, ...edit }));
      writeSafetensors(join(out, ADAPTER_WEIGHTS), t, { format: 'pt' });
      return out;
    }

    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['peft_type', { peft_type: 'IA3' }, /adapter_config\.json: field 'peft_type' is "IA3"/],
      ['use_dora', { use_dora: true }, /adapter_config\.json: field 'use_dora' is true/],
      ['rank_pattern', { rank_pattern: { q_proj: 4 } }, /field 'rank_pattern'/],
      ['alpha_pattern', { alpha_pattern: { q_proj: 4 } }, /field 'alpha_pattern'/],
      ['modules_to_save', { modules_to_save: ['lm_head'] }, /field 'modules_to_save'/],
      ['bias', { bias: 'lora_only' }, /field 'bias' is "lora_only"/],
      ['layers_to_transform', { layers_to_transform: [0] }, /field 'layers_to_transform'/],
      ['task_type', { task_type: 'SEQ_CLS' }, /field 'task_type'/],
      ['lora_bias', { lora_bias: true }, /field 'lora_bias' is true/],
      [
        'init_lora_weights',
        { init_lora_weights: 'pissa' },
        /field 'init_lora_weights' is "pissa": this initialization changes the base weights/,
      ],
      ['r', { r: 0 }, /field 'r' must be a positive integer/],
      [
        'target',
        { target_modules: ['q_proj', 'nope'] },
        /field 'target_modules': LoRA target 'nope' matches no linear layer/,
      ],
    ];
    for (const [name, edit, err] of cases) {
      it(name, () => {
        expect(() => readAdapter(variant(name, edit), config)).toThrow(err);
      });
    }

    it('a key that is not A or B of a linear layer, a misshapen tensor, a missing tensor', () => {
      const extra = variant('key', {}, (t) =>
        t.set('base_model.model.model.embed_tokens.lora_A.weight', { shape: [1], data: new Float32Array(1) }),
      );
      expect(() => readAdapter(extra, config)).toThrow(
        /adapter_model\.safetensors: tensor 'base_model\.model\.model\.embed_tokens\.lora_A\.weight' is not the lora_A or lora_B weight of a linear layer/,
      );
      const key = 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight';
      const shape = variant('shape', {}, (t) => t.set(key, { shape: [1, 2], data: new Float32Array(2) }));
      expect(() => readAdapter(shape, config)).toThrow(
        new RegExp(`tensor '${key.replace(/\./g, '\\.')}' has shape \\[1,2\\]`),
      );
      const missing = variant('missing', {}, (t) => t.delete(key));
      expect(() => readAdapter(missing, config)).toThrow(
        /lora_B\.weight' is missing \(target_modules selects it\)/,
      );
      const unselected = variant('unselected', { target_modules: ['q_proj', 'v_proj'] });
      expect(() => readAdapter(unselected, config)).toThrow(
        /up_proj\.lora_A\.weight' is of a layer target_modules does not select/,
      );
    });
  });
});
