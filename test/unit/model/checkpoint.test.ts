import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, unlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../helpers/backend.js';
import { forward, paramsFromArrays, disposeParams, expandTaps } from '../../../src/core/model/models.js';
import { gptConfig, initParamArrays } from '../../../src/core/model/arch/gpt2.js';
import { geluTanh } from '../../../src/core/model/layers/activations.js';
import { loadCheckpoint, saveCheckpoint } from '../../../src/core/model/checkpoint.js';
import { WordLevelTokenizer } from '../../../src/core/model/tokenizers.js';
import { parseSafetensors, serializeSafetensors } from '../../../src/core/model/safetensors.js';

const cfg = gptConfig({ vocabSize: 13, nCtx: 16, nLayer: 2, nEmbd: 8, nHead: 2 });
const tok = WordLevelTokenizer.fromWords(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', '.']);
let dir: string;

beforeAll(async () => {
  await useBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'monoscope-ckpt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ids = [
  [3, 4, 5, 6, 7, 8, 0, 1],
  [9, 10, 11, 12, 3, 3, 4, 1],
];

function logits(arrays: Parameters<typeof paramsFromArrays>[1], taps: string[] = []) {
  const params = paramsFromArrays(cfg, arrays, false);
  const out = tf.tidy(() => {
    const r = forward(cfg, params, tf.tensor2d(ids, [2, 8], 'int32'), { taps });
    return [r.logits!, ...taps.map((t) => r.taps.get(t)!)];
  });
  const arraysOut = out.map((t) => Float32Array.from(t.dataSync()));
  out.forEach((t) => t.dispose());
  disposeParams(params);
  return arraysOut;
}

describe('checkpoints', () => {
  it('save then load reproduces the logits exactly', () => {
    const arrays = initParamArrays(cfg, 7);
    const [before] = logits(arrays);
    const ck = join(dir, 'base');
    const hash = saveCheckpoint(ck, cfg, arrays, tok, { stage: 'base' });
    const loaded = loadCheckpoint(ck);
    expect(loaded.hash).toBe(hash);
    expect(loaded.config).toEqual(cfg);
    expect(loaded.meta.stage).toBe('base');
    expect(loaded.tokenizer.encode('a b .')).toEqual(tok.encode('a b .'));
    const [after] = logits(loaded.arrays);
    expect(Buffer.from(after.buffer).equals(Buffer.from(before.buffer))).toBe(true);
  });

  it('writes the Hugging Face GPT-2 layout: names, Conv1D [in, out] shapes, config keys, tokenizer.json', () => {
    const ck = join(dir, 'layout');
    saveCheckpoint(ck, cfg, initParamArrays(cfg, 1), tok, { stage: 'base' });
    const { tensors } = parseSafetensors(readFileSync(join(ck, 'model.safetensors')));
    expect(tensors.get('h.0.attn.c_attn.weight')!.shape).toEqual([8, 24]);
    expect(tensors.get('h.1.mlp.c_fc.weight')!.shape).toEqual([8, 32]);
    expect(tensors.get('h.1.mlp.c_proj.weight')!.shape).toEqual([32, 8]);
    expect(tensors.get('wte.weight')!.shape).toEqual([13, 8]);
    expect(tensors.has('lm_head.weight')).toBe(false); // tied
    const config = JSON.parse(readFileSync(join(ck, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'gpt2',
      n_embd: 8,
      n_layer: 2,
      n_head: 2,
      n_positions: 16,
      vocab_size: 13,
      activation_function: 'gelu_new',
    });
    const tj = JSON.parse(readFileSync(join(ck, 'tokenizer.json'), 'utf8'));
    expect(tj.model.type).toBe('WordLevel');
    expect(tj.model.vocab['.']).toBe(12);
  });

  it('taps: mlp.post = gelu_new(mlp.pre), resid_post of the last block feeds ln_f', () => {
    const [, pre, post] = logits(initParamArrays(cfg, 3), ['blocks.1.mlp.pre', 'blocks.1.mlp.post']);
    const expected = tf.tidy(() => geluTanh(tf.tensor1d(pre)).dataSync());
    for (let i = 0; i < pre.length; i += 17) expect(post[i]).toBeCloseTo(expected[i], 6);
    expect(pre.length).toBe(2 * 8 * 32);
    expect(expandTaps(cfg, 'blocks.*.mlp.post')).toEqual(['blocks.0.mlp.post', 'blocks.1.mlp.post']);
    expect(() => expandTaps(cfg, 'blocks.9.mlp.post')).toThrow(/matches no tap/);
  });

  it('causal: changing a later token does not change earlier logits', () => {
    const arrays = initParamArrays(cfg, 5);
    const params = paramsFromArrays(cfg, arrays, false);
    const run = (row: number[]) =>
      tf.tidy(() => forward(cfg, params, tf.tensor2d([row], [1, 8], 'int32')).logits!.dataSync());
    const a = run([3, 4, 5, 6, 7, 8, 9, 10]);
    const b = run([3, 4, 5, 6, 1, 1, 1, 1]);
    for (let i = 0; i < 4 * 13; i++) expect(a[i]).toBe(b[i]);
    expect(a[4 * 13]).not.toBe(b[4 * 13]);
    disposeParams(params);
  });

  it('a bad checkpoint folder gives a clear error naming the file and field', () => {
    expect(() => loadCheckpoint(join(dir, 'nope'))).toThrow(/checkpoint folder not found/);
    const ck = join(dir, 'bad');
    saveCheckpoint(ck, cfg, initParamArrays(cfg, 1), tok, { stage: 'base' });
    const cfgFile = join(ck, 'config.json');
    const good = readFileSync(cfgFile, 'utf8');
    writeFileSync(cfgFile, good.replace('"n_embd": 8', '"n_embd": 16'));
    expect(() => loadCheckpoint(ck)).toThrow(
      /model\.safetensors: tensor 'wte\.weight' has shape \[13,8\] but config\.json implies \[13,16\]/,
    );
    writeFileSync(cfgFile, good.replace('"gpt2"', '"bert"'));
    expect(() => loadCheckpoint(ck)).toThrow(
      /config\.json: field 'model_type': model_type "bert" is not supported/,
    );
    writeFileSync(cfgFile, '{ not json');
    expect(() => loadCheckpoint(ck)).toThrow(/config\.json: invalid JSON/);
    writeFileSync(cfgFile, good.replace('"n_layer": 2', '"n_layer": -1'));
    expect(() => loadCheckpoint(ck)).toThrow(/field 'n_layer' must be an integer >= 1, got -1/);
    writeFileSync(cfgFile, good);
    writeFileSync(join(ck, 'model.safetensors'), Buffer.from('garbage!garbage!'));
    expect(() => loadCheckpoint(ck)).toThrow(/model\.safetensors: not a safetensors file/);
    unlinkSync(join(ck, 'model.safetensors'));
    expect(() => loadCheckpoint(ck)).toThrow(/no model\.safetensors/);
    expect(existsSync(cfgFile)).toBe(true);
  });

  it('safetensors round trip keeps names, shapes, dtypes and metadata; the data starts 8-byte aligned', () => {
    const m = new Map([
      ['x', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6.5]) }],
      ['ids', { shape: [2], data: Int32Array.from([7, -1]) }],
    ]);
    const buf = serializeSafetensors(m, { format: 'pt' });
    expect((8 + Number(buf.readBigUInt64LE(0))) % 8).toBe(0);
    const back = parseSafetensors(buf);
    expect(back.metadata.format).toBe('pt');
    expect(Array.from(back.tensors.get('x')!.data)).toEqual([1, 2, 3, 4, 5, -6.5]);
    expect(back.tensors.get('ids')!.data).toBeInstanceOf(Int32Array);
  });
});

describe('GPT-2 BPE tokenizer (offline)', () => {
  it('encodes like GPT-2 and decodes partial UTF-8 tokens without corrupting the next call', async () => {
    const { Gpt2BpeTokenizer } = await import('../../../src/core/model/tokenizers.js');
    const t = new Gpt2BpeTokenizer();
    expect(t.encode('Hello world, the cat')).toEqual([15496, 995, 11, 262, 3797]);
    expect(t.decode([15496, 995])).toBe('Hello world');
    const emoji = t.encode(' 😀');
    expect(emoji.length).toBeGreaterThan(1);
    t.decode(emoji.slice(0, 1)); // a cut-off character
    expect(t.decode(emoji)).toBe(' 😀');
    expect(t.encode('<|endoftext|>')).toEqual([50256]);
  });

  it('loads a GPT-2-family folder saved by Hugging Face (transformer. prefix, lm_head, attn.bias buffers)', async () => {
    const { writeSafetensors } = await import('../../../src/core/model/safetensors.js');
    const { mkdirSync } = await import('node:fs');
    const big = gptConfig({ vocabSize: 50257, nCtx: 8, nLayer: 1, nEmbd: 4, nHead: 1 });
    const arrays = initParamArrays(big, 2);
    const hf = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [k, v] of arrays) hf.set(`transformer.${k}`, v as { shape: number[]; data: Float32Array });
    hf.set('lm_head.weight', arrays.get('wte.weight') as { shape: number[]; data: Float32Array });
    hf.set('transformer.h.0.attn.bias', { shape: [1, 1, 8, 8], data: new Float32Array(64).fill(1) });
    const ck = join(dir, 'gpt2-like');
    mkdirSync(ck);
    writeSafetensors(join(ck, 'model.safetensors'), hf);
    writeFileSync(
      join(ck, 'config.json'),
      JSON.stringify({
        model_type: 'gpt2',
        vocab_size: 50257,
        n_positions: 8,
        n_embd: 4,
        n_layer: 1,
        n_head: 1,
        activation_function: 'gelu_new',
      }),
    );
    const loaded = loadCheckpoint(ck);
    expect(loaded.tokenizer.kind).toBe('gpt2-bpe');
    expect(loaded.meta.stage).toBe('imported');
    expect(Array.from(loaded.arrays.get('h.0.mlp.c_fc.weight')!.data)).toEqual(
      Array.from(arrays.get('h.0.mlp.c_fc.weight')!.data),
    );
  });
});
