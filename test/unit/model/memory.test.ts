// The memory estimate and its refusal (src/core/model/memory.ts), on Pythia-160m's and Qwen2.5-0.5B's
// published shapes: the parts are the module comment's formula evaluated by hand here, the limit comes
// from MONOSCOPE_MEMORY_LIMIT or the wasm heap ceiling, and a batch is halved until it fits.
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../../src/core/model/architecture.js';
import {
  checkMemory,
  estimateMemory,
  fittingBatch,
  MEMORY_LIMIT_ENV,
  parseBytes,
  WASM_HEAP_LIMIT,
} from '../../../src/core/model/memory.js';

const shape = (arch: string, L: number, D: number, M: number, H: number, V: number): ModelConfig => ({
  arch,
  vocabSize: V,
  nCtx: 2048,
  nLayer: L,
  nHead: H,
  nEmbd: D,
  nInner: M,
  bosTokenId: 0,
  eosTokenId: 0,
});
// Pythia-160m: 12 x 768, 3,072 neurons, 12 heads, 50,304 tokens, 162,322,944 parameters.
const pythia = shape('gpt_neox', 12, 768, 3072, 12, 50304);
const PYTHIA_PARAMS = 162_322_944;
// Qwen2.5-0.5B: 24 x 896, 4,864 neurons, 14 heads, 151,936 tokens, 494,032,768 parameters.
const qwen = shape('qwen2', 24, 896, 4864, 14, 151936);
const QWEN_PARAMS = 494_032_768;

afterEach(() => delete process.env[MEMORY_LIMIT_ENV]);

describe('memory estimate', () => {
  it('is host weights + the backend copy (none on cpu) + every block of a batch held by the tidy', () => {
    // One sequence of 128 tokens, no logits: 4 * 128 * 12 * (12*768 + 3*3072 + 2*12*128) bytes.
    const batch = 4 * 128 * 12 * (12 * 768 + 3 * 3072 + 2 * 12 * 128);
    expect(estimateMemory(pythia, PYTHIA_PARAMS, 'cpu', { sequences: 1, tokens: 128 })).toEqual({
      host: 4 * PYTHIA_PARAMS,
      backend: 0,
      batch,
      total: 4 * PYTHIA_PARAMS + batch,
    });
    const wasm = estimateMemory(pythia, PYTHIA_PARAMS, 'wasm', { sequences: 2, tokens: 128, logits: true });
    expect(wasm.backend).toBe(4 * PYTHIA_PARAMS);
    expect(wasm.batch).toBe(2 * batch + 4 * 2 * 128 * 2 * 50304);
  });

  it('parses sizes in bytes, K, M, G and T (binary)', () => {
    expect(parseBytes('1048576')).toBe(2 ** 20);
    expect(parseBytes('64K')).toBe(65536);
    expect(parseBytes('1.5G')).toBe(1.5 * 2 ** 30);
    expect(parseBytes('2GiB')).toBe(2 ** 31);
    expect(() => parseBytes('lots')).toThrow(/MONOSCOPE_MEMORY_LIMIT: expected bytes/);
  });

  it('refuses with the figure and the limit: the wasm heap ceiling, or MONOSCOPE_MEMORY_LIMIT', () => {
    // Qwen2.5-0.5B's weights alone (1.84 GiB) fit the wasm heap; with a batch of 32 x 128 they do not.
    expect(WASM_HEAP_LIMIT).toBe(4_261_412_864);
    process.env[MEMORY_LIMIT_ENV] = '1T'; // the host is not what limits here
    expect(() => checkMemory('qwen', qwen, QWEN_PARAMS, 'wasm', { sequences: 1, tokens: 128 })).not.toThrow();
    expect(() => checkMemory('qwen', qwen, QWEN_PARAMS, 'wasm', { sequences: 32, tokens: 128 })).toThrow(
      /^qwen: 494,032,768 parameters needs about [\d.]+ GiB in the wasm heap \(1\.84 GiB of weights \+ [\d.]+ GiB of activations\), more than the limit of 3\.97 GiB \(the wasm heap ceiling\); use --backend cpu or tensorflow, for a batch of 32 x 128 tokens$/,
    );
    process.env[MEMORY_LIMIT_ENV] = '1G';
    expect(() => checkMemory('qwen', qwen, QWEN_PARAMS, 'cpu', { sequences: 1, tokens: 128 })).toThrow(
      /needs about 2\.\d\d GiB on the cpu backend \(1\.84 GiB of float32 weights on the host \+ [\d.]+ MiB of activations\), more than the limit of 1\.00 GiB \(MONOSCOPE_MEMORY_LIMIT=1G\)/,
    );
  });

  it('halves a batch until it fits, and refuses when one sequence does not', () => {
    const one = estimateMemory(qwen, QWEN_PARAMS, 'cpu', { sequences: 1, tokens: 128 });
    const perSequence = one.batch;
    process.env[MEMORY_LIMIT_ENV] = String(one.host + 5 * perSequence);
    expect(fittingBatch('qwen', qwen, QWEN_PARAMS, 'cpu', 128, 32)).toBe(4);
    process.env[MEMORY_LIMIT_ENV] = String(one.host + perSequence - 1);
    expect(() => fittingBatch('qwen', qwen, QWEN_PARAMS, 'cpu', 128, 32)).toThrow(
      /for a batch of 1 x 128 tokens/,
    );
  });
});
