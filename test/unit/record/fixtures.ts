/**
 * Shared fixtures of the store and record tests: a tiny random GPT checkpoint on disk and hand-made probe
 * sets (random ids and labels), so the tests depend on nothing but the model code.
 */
import { createHash } from 'node:crypto';
import { gptConfig, initParamArrays, type GPTConfig } from '../../../src/core/model/arch/gpt2.js';
import { saveCheckpoint } from '../../../src/core/model/checkpoint.js';
import { WordLevelTokenizer } from '../../../src/core/model/tokenizers.js';
import { Rng } from '../../../src/core/model/rng.js';
import type { ProbeSet } from '../../../src/core/data/types.js';

export const WORDS = [
  'red',
  'blue',
  'green',
  'cat',
  'dog',
  'bird',
  'one',
  'two',
  'three',
  'happy',
  'sad',
  'the',
  'a',
  'is',
  'and',
  'of',
];

/** Writes a random checkpoint (3 specials + WORDS) and returns its config and hash. */
export function makeCheckpoint(
  dir: string,
  opts: { seed?: number; nLayer?: number; nEmbd?: number; nInner?: number; nCtx?: number } = {},
): { cfg: GPTConfig; hash: string } {
  const tok = WordLevelTokenizer.fromWords(WORDS);
  const cfg = gptConfig({
    vocabSize: tok.vocabSize,
    nEmbd: opts.nEmbd ?? 16,
    nLayer: opts.nLayer ?? 2,
    nHead: 2,
    nInner: opts.nInner ?? 32,
    nCtx: opts.nCtx ?? 16,
    bosTokenId: tok.eosId,
    eosTokenId: tok.eosId,
  });
  const hash = saveCheckpoint(dir, cfg, initParamArrays(cfg, opts.seed ?? 1), tok, { stage: 'base' });
  return { cfg, hash };
}

/**
 * A probe set of `nSeq` sequences of random length in [minLen, maxLen], each starting with the EOS/BOS
 * token (id 0, special), random word ids, and a random concept label on about half of the tokens.
 */
export function makeProbe(
  seed: number,
  nSeq: number,
  minLen: number,
  maxLen: number,
  vocab = 3 + WORDS.length,
): ProbeSet {
  const rng = new Rng(seed);
  const concepts = ['animal', 'colour', 'number'];
  const sequences = [];
  for (let s = 0; s < nSeq; s++) {
    const len = minLen + rng.int(maxLen - minLen + 1);
    const ids = [0];
    const labels: (string | null)[] = [null];
    for (let t = 1; t < len; t++) {
      ids.push(3 + rng.int(vocab - 3));
      labels.push(rng.next() < 0.5 ? rng.pick(concepts) : null);
    }
    sequences.push({ ids, concepts: labels });
  }
  const hash = createHash('sha256').update(JSON.stringify(sequences)).digest('hex');
  return { name: `test-${seed}`, hash, concepts, sequences };
}
