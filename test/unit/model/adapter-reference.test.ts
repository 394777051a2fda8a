// A PEFT adapter loads as a checkpoint and computes what PEFT's definition says, against the independent
// float64 reference (test/python/reference/lora.py): adapters the reference writes in PEFT's layout load
// here (the base found through base_model_name_or_path) with the reference's log-probs on Llama-style,
// GPT-NeoX and GPT-2 (Conv1D) random checkpoints; adapters we write load in the reference; the merged
// checkpoint we write is the reference's base + adapter. Adapter folders as checkpoints: the hash follows
// base and adapter, the base is located by monoscope.json or base_model_name_or_path, or the error says how.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../helpers/backend.js';
import {
  adapterBaseDir,
  checkpointWeightsHash,
  describeWeights,
  loadCheckpoint,
  loadWeights,
  openCheckpoint,
} from '../../../src/core/model/checkpoint.js';
import { ADAPTER_CONFIG, saveAdapter, saveMergedCheckpoint } from '../../../src/core/model/adapter.js';
import { adaptedLinears, disposeParams, forward, paramsFromArrays } from '../../../src/core/model/models.js';
import { defaultLoraTargets, type LoraConfig } from '../../../src/core/model/lora.js';
import { makeReferenceCheckpoint, tokenIds } from './architectures/reference.js';
import { makeReferenceAdapter, referenceLoraForward, referenceLoraLogps } from './lora-reference.js';
import { writeLlamaTokenizer } from '../../fixtures/hf-tokenizers.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-adapter-ref-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A random-weight base of `arch` with a tokenizer, under `dir/name`. */
function base(arch: string, name = `${arch}-base`, seed = 0): string {
  const out = join(dir, name);
  mkdirSync(out);
  const vocab = writeLlamaTokenizer(out);
  return makeReferenceCheckpoint(arch, out, {
    seed,
    set: { vocab_size: vocab, bos_token_id: 1, eos_token_id: 2 },
  });
}

/** Our log-probs [B, T, V] of a checkpoint folder (an adapter folder included) on `ids`. */
function ourLogprobs(folder: string, ids: number[][]): Float32Array {
  const { config, arrays } = loadWeights(folder);
  const params = paramsFromArrays(config, arrays, false);
  try {
    return tf.tidy(() => {
      const x = tf.tensor2d(ids, [ids.length, ids[0].length], 'int32');
      return tf.logSoftmax(forward(config, params, x).logits!).dataSync() as Float32Array;
    });
  } finally {
    disposeParams(params);
  }
}

/** The largest |ours - ref| in units of 1e-4 max(1, |ref|) (as the architecture tests measure log-probs). */
function worst(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(ours.length).toBe(ref.length);
  let w = 0;
  for (let i = 0; i < ours.length; i++)
    w = Math.max(w, Math.abs(ours[i] - ref[i]) / (1e-4 * Math.max(1, Math.abs(ref[i]))));
  return w;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('PEFT adapters against the float64 reference', () => {
  beforeAll(() => useBackend('cpu'));

  for (const arch of ['llama', 'gpt_neox', 'gpt2']) {
    it(`${arch}: a reference adapter loads as a checkpoint with the reference's log-probs; ours loads in the reference; the merge is base + adapter`, () => {
      const baseDir = base(arch);
      const adapterDir = makeReferenceAdapter(baseDir, join(dir, `${arch}-peft`), {
        targets: defaultLoraTargets(arch),
        r: 4,
        alpha: 8,
        rslora: arch === 'gpt_neox',
        seed: 3,
        baseName: `../${arch}-base`,
      });
      const ids = tokenIds(2, 9, describeWeights(baseDir).config.vocabSize, 5);
      const want = referenceLoraForward(baseDir, adapterDir, ids);
      expect(maxAbsDiff(want, referenceLoraForward(baseDir, undefined, ids))).toBeGreaterThan(1e-2);

      // Theirs, here: base found by base_model_name_or_path relative to the adapter folder.
      const ck = loadCheckpoint(adapterDir);
      expect(ck.config.lora).toMatchObject({ r: 4, alpha: 8, rslora: arch === 'gpt_neox' });
      expect(worst(ourLogprobs(adapterDir, ids), want)).toBeLessThanOrEqual(1);

      // Ours, there: the same tensors written by saveAdapter read by the reference.
      const ours = join(dir, `${arch}-ours`);
      const hash = saveAdapter(ours, ck.config as LoraConfig, ck.arrays, {
        stage: 'decpo',
        base: { dir: baseDir, hash: checkpointWeightsHash(baseDir)! },
      });
      // saveAdapter's hash is the checkpoint's, its base found through monoscope.json.
      expect(openCheckpoint(ours).hash).toBe(hash);
      expect(adapterBaseDir(ours)).toBe(baseDir);
      expect(worst(referenceLoraForward(baseDir, ours, ids), want)).toBeLessThanOrEqual(1);

      // The merged Hugging Face checkpoint is the reference's base + adapter.
      const merged = join(dir, `${arch}-merged`);
      saveMergedCheckpoint(merged, ck.config as LoraConfig, ck.arrays, ck.tokenizer, { stage: 'decpo' });
      expect(worst(referenceLoraForward(merged, undefined, ids), want)).toBeLessThanOrEqual(1);
    });
  }

  it('response log-probs of base + adapter: ours against referenceLoraLogps', () => {
    const baseDir = base('llama', 'logps-base', 2);
    const adapterDir = makeReferenceAdapter(baseDir, join(dir, 'logps-peft'), {
      targets: ['q_proj', 'v_proj', 'up_proj'],
      seed: 4,
      baseName: baseDir,
    });
    const pairs = [
      { prompt: [1, 5, 9, 12], chosen: [7, 3, 2], rejected: [11, 2] },
      { prompt: [1, 4], chosen: [8, 8, 6, 2], rejected: [10, 6, 2] },
    ];
    const ref = referenceLoraLogps(baseDir, adapterDir, pairs);
    const baseRef = referenceLoraLogps(baseDir, undefined, pairs);
    expect(Math.abs(ref.chosen[0] - baseRef.chosen[0])).toBeGreaterThan(1e-2);
    pairs.forEach((p, i) => {
      for (const side of ['chosen', 'rejected'] as const) {
        const ids = [...p.prompt, ...p[side]];
        const lp = ourLogprobs(adapterDir, [ids]);
        const V = lp.length / ids.length;
        let sum = 0;
        p[side].forEach((tok, t) => (sum += lp[(p.prompt.length + t - 1) * V + tok]));
        expect(Math.abs(sum - ref[side][i])).toBeLessThan(1e-3 * Math.max(1, Math.abs(ref[side][i])));
      }
    });
  });
});

describe('adapter folders as checkpoints', () => {
  let baseDir: string;
  let adapterDir: string;
  beforeAll(() => {
    baseDir = base('llama', 'ck-base', 1);
    adapterDir = makeReferenceAdapter(baseDir, join(dir, 'ck-peft'), {
      targets: ['q_proj', 'v_proj'],
      seed: 1,
      baseName: 'meta-llama/Llama-3.2-1B',
    });
  });

  it('a Hub id as base_model_name_or_path: the error names the adapter, the base it asked for, and --base', () => {
    expect(() => openCheckpoint(adapterDir)).toThrow(
      /ck-peft: the adapter's base model 'meta-llama\/Llama-3\.2-1B' \(base_model_name_or_path\) is not a checkpoint folder here; register the adapter with its base: `monoscope checkpoints add .*ck-peft --base DIR`/,
    );
    expect(checkpointWeightsHash(adapterDir)).toBeUndefined();
  });

  it('with an explicit base: config, weights, tokenizer, and a hash that follows base and adapter', () => {
    const ck = openCheckpoint(adapterDir, baseDir);
    const plain = openCheckpoint(baseDir);
    expect(ck.config).toEqual({
      ...plain.config,
      lora: { r: 4, alpha: 8, dropout: 0, rslora: false, targets: ['q_proj', 'v_proj'] },
    });
    const adapterParams = adaptedLinears(ck.config).reduce((n, m) => n + 4 * (m.in + m.out), 0);
    expect(ck.params).toBe(plain.params + adapterParams);
    expect(ck.tokenizer.vocabSize).toBe(plain.tokenizer.vocabSize);
    expect(ck.meta.stage).toBe('imported');
    expect(ck.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(ck.hash).not.toBe(plain.hash);
    expect(checkpointWeightsHash(adapterDir, baseDir)).toBe(ck.hash);
    // Another adapter on the same base, and the same adapter on another base, are other checkpoints.
    const other = makeReferenceAdapter(baseDir, join(dir, 'ck-peft-2'), {
      targets: ['q_proj', 'v_proj'],
      seed: 2,
    });
    expect(checkpointWeightsHash(other, baseDir)).not.toBe(ck.hash);
    const otherBase = base('llama', 'ck-base-2', 7);
    expect(checkpointWeightsHash(adapterDir, otherBase)).not.toBe(ck.hash);
  });

  it("monoscope.json's base locates it; a base whose weights changed since is refused", () => {
    const copy = join(dir, 'ck-peft-located');
    cpSync(adapterDir, copy, { recursive: true });
    const hash = checkpointWeightsHash(baseDir)!;
    const meta = { format: 'monoscope-checkpoint', formatVersion: 1, stage: 'dpo', createdAt: 'x' };
    writeFileSync(join(copy, 'monoscope.json'), JSON.stringify({ ...meta, base: { dir: baseDir, hash } }));
    expect(adapterBaseDir(copy)).toBe(baseDir);
    expect(openCheckpoint(copy).hash).toBe(checkpointWeightsHash(adapterDir, baseDir));
    expect(openCheckpoint(copy).meta.stage).toBe('dpo');
    writeFileSync(
      join(copy, 'monoscope.json'),
      JSON.stringify({ ...meta, base: { dir: baseDir, hash: 'f'.repeat(64) } }),
    );
    expect(() => openCheckpoint(copy)).toThrow(
      /monoscope\.json: the adapter's base checkpoint .* has other weights than the adapter was made for/,
    );
  });

  it('an adapter that does not fit its base is refused naming the file', () => {
    const bad = join(dir, 'ck-peft-bad');
    cpSync(adapterDir, bad, { recursive: true });
    const file = join(bad, ADAPTER_CONFIG);
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), r: 8 }));
    expect(() => openCheckpoint(bad, baseDir)).toThrow(
      /adapter_model\.safetensors: tensor 'base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight' has shape \[4,\d+\] but r = 8/,
    );
  });
});
