// BOS where the model's tokenizer adds it (prompts, generation, typed text), and when two tokenizers give
// the same ids (eval compares a policy and a reference only then).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HfTokenizer } from '../../../src/core/model/hf-tokenizer.js';
import { Gpt2BpeTokenizer } from '../../../src/core/model/tokenizers.js';
import { modelInput, sameTokenization } from '../../../src/core/model/tokenizer.js';
import { tokenizePairs } from '../../../src/core/data/jsonl.js';
import { worldTokenizer } from '../../../src/core/data/world.js';
import { writeGpt2Tokenizer, writeLlamaTokenizer } from '../../fixtures/hf-tokenizers.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-model-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tokenizer(name: string, write: (d: string) => number): HfTokenizer {
  const d = join(dir, name);
  mkdirSync(d);
  write(d);
  return new HfTokenizer(d);
}

describe('model input', () => {
  const llama = tokenizer('llama', writeLlamaTokenizer);
  const gpt2 = tokenizer('gpt2', writeGpt2Tokenizer);

  it('puts BOS first for a tokenizer that adds it, keeping the text’s last ids within room', () => {
    expect(llama.addsBos).toBe(true);
    expect(modelInput(llama, [7, 8, 9], 3)).toEqual([llama.bosId, 8, 9]);
    expect(modelInput(llama, [7, 8, 9], Infinity)).toEqual([llama.bosId, 7, 8, 9]);
    // Ids that already start with BOS (a chat template wrote it) get no second one.
    expect(modelInput(llama, [llama.bosId, 7, 8, 9], Infinity)).toEqual([llama.bosId, 7, 8, 9]);
    expect(modelInput(llama, [llama.bosId, 7, 8, 9], 3)).toEqual([llama.bosId, 8, 9]);
    expect(gpt2.addsBos).toBe(false);
    expect(modelInput(gpt2, [7, 8, 9], 2)).toEqual([8, 9]);
  });

  it('preference prompts start with BOS for Llama-style tokenizers, and the truncation is counted', () => {
    const pair = { prompt: 'the cat sat on the mat', chosen: ' yes', rejected: ' no' };
    const [p] = tokenizePairs([pair], llama, { maxLength: 72, maxPrompt: 64 });
    expect(p.prompt[0]).toBe(llama.bosId);
    expect(p.prompt.slice(1)).toEqual(llama.encode(pair.prompt));
    const [g] = tokenizePairs([pair], gpt2, { maxLength: 72, maxPrompt: 64 });
    expect(g.prompt).toEqual(gpt2.encode(pair.prompt));
    const [short] = tokenizePairs([pair], llama, { maxLength: 8, maxPrompt: 3 });
    expect(short.prompt).toEqual([llama.bosId, ...llama.encode(pair.prompt).slice(-2)]);
  });

  it('a GPT-2 tokenizer.json and the built-in GPT-2 BPE tokenize alike; the world and Llama do not', () => {
    expect(sameTokenization(gpt2, new Gpt2BpeTokenizer())).toBe(true);
    expect(sameTokenization(gpt2, worldTokenizer())).toBe(false);
    expect(sameTokenization(gpt2, llama)).toBe(false);
  });
});
