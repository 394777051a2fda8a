import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tokenizeWithOffsets } from '../../../src/core/data/offsets.js';
import { HfTokenizer } from '../../../src/core/model/hf-tokenizer.js';
import {
  writeGemmaTokenizer,
  writeGpt2Tokenizer,
  writeLlamaTokenizer,
} from '../../fixtures/hf-tokenizers.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-offsets-hf-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A tokenizer folder written by `write`, with `change` applied to its tokenizer.json. */
function tokenizer(name: string, write: (dir: string) => number, change?: (json: any) => void): HfTokenizer {
  const dir = join(root, name);
  mkdirSync(dir);
  write(dir);
  if (change) {
    const file = join(dir, 'tokenizer.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    change(json);
    writeFileSync(file, JSON.stringify(json));
  }
  return new HfTokenizer(dir);
}

const TEXT = "  Hello world!  It's 2024: naïve café, 東京 😀 costs $3.50...\n\n\tand   the end ";

/**
 * Checks that the ranges tile `text` in order: the first starts at 0, the last ends at its length, and each
 * starts where the previous ended (or inside it, when both hold bytes of one character), so the slices,
 * overlaps counted once, are the text.
 */
function expectTiles(text: string, start: number[], end: number[]): void {
  let covered = 0;
  let joined = '';
  start.forEach((s, i) => {
    expect(s).toBeLessThanOrEqual(covered);
    expect(end[i]).toBeGreaterThanOrEqual(covered);
    joined += text.slice(covered, end[i]);
    covered = end[i];
  });
  expect(start[0]).toBe(0);
  expect(joined).toBe(text);
}

describe('tokenizeWithOffsets for Hugging Face tokenizers', () => {
  const gpt2 = tokenizer('gpt2', writeGpt2Tokenizer);
  const llama = tokenizer('llama', writeLlamaTokenizer);
  const gemma = tokenizer('gemma', writeGemmaTokenizer);

  it.each([
    ['gpt2', gpt2],
    ['llama', llama],
    ['gemma', gemma],
  ])('%s: ids are encode(), ranges tile the text, whole-character tokens slice to their text', (_, tok) => {
    for (const text of [TEXT, `${TEXT}<|endoftext|>more`, 'x']) {
      const { ids, start, end } = tokenizeWithOffsets(text, tok);
      expect(ids).toEqual(tok.encode(text));
      expectTiles(text, start, end);
      ids.forEach((id, i) => {
        const shown = tok.tokenString(id);
        // A token of whole characters is its slice of the text (Llama's prepended space aside).
        if (!shown.includes('\\x') && start[i] > 0) expect(text.slice(start[i], end[i])).toBe(shown);
      });
    }
  });

  it('llama: the prepended space covers no character, and each section between added tokens gets one', () => {
    const text = 'the cat</s>the dog';
    const { ids, start, end } = tokenizeWithOffsets(text, llama);
    const pieces = ids.map((id, i) => [llama.tokenString(id), text.slice(start[i], end[i])]);
    expect(pieces[0]).toEqual([' the', 'the']);
    const eos = ids.indexOf(llama.eosId);
    expect(pieces[eos]).toEqual(['</s>', '</s>']);
    expect(pieces[eos + 1]).toEqual([' the', 'the']);
  });

  it('metaspace pre-tokenizer (prepend_scheme first): only the first section gets the prepended space', () => {
    const meta = tokenizer('llama-metaspace', writeLlamaTokenizer, (j) => {
      j.normalizer = null;
      j.pre_tokenizer = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false };
      j.decoder = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false };
    });
    expect(meta.encode('the cat')).toEqual(llama.encode('the cat'));
    const text = 'the cat</s>the dog';
    const { ids, start, end } = tokenizeWithOffsets(text, meta);
    const eos = ids.indexOf(meta.eosId);
    expect([meta.tokenString(ids[0]), text.slice(start[0], end[0])]).toEqual([' the', 'the']);
    expect([meta.tokenString(ids[eos + 1]), text.slice(start[eos + 1], end[eos + 1])]).toEqual(['t', 't']);
    expect(meta.decode(ids)).toBe(text);
    expectTiles(text, start, end);
  });

  it('gpt2: a character split over two tokens is covered by both', () => {
    const text = 'a 😀';
    const { start, end } = tokenizeWithOffsets(text, gpt2);
    expect(start.map((s, i) => text.slice(s, end[i]))).toEqual(['a', ' 😀', '😀']);
  });

  it('accepts an NFC normalizer on NFC text, and names the tokenizer file when normalization moves text', () => {
    const nfc = tokenizer('llama-nfc', writeLlamaTokenizer, (j) => {
      j.normalizer.normalizers.unshift({ type: 'NFC' });
    });
    const composed = 'caf\u00e9 na\u00efve';
    expect(tokenizeWithOffsets(composed, nfc).ids).toEqual(nfc.encode(composed));
    expect(() => tokenizeWithOffsets('cafe\u0301', nfc)).toThrow(
      `${nfc.file}: the tokenizer's normalization changes the text at character 0`,
    );
    const lower = tokenizer('llama-lower', writeLlamaTokenizer, (j) => {
      j.normalizer.normalizers.unshift({ type: 'Lowercase' });
    });
    expect(() => tokenizeWithOffsets('The Cat', lower)).toThrow(
      `${lower.file}: the tokenizer's normalization changes the text at character 0`,
    );
    expect(tokenizeWithOffsets('the cat', lower).ids).toEqual(lower.encode('the cat'));
  });
});
