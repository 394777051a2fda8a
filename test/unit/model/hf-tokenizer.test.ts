import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as r50kEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HfTokenizer } from '../../../src/core/model/hf-tokenizer.js';
import { Gpt2BpeTokenizer, loadTokenizer } from '../../../src/core/model/tokenizers.js';
import {
  writeGemmaTokenizer,
  writeGpt2Tokenizer,
  writeLlamaTokenizer,
} from '../../fixtures/hf-tokenizers.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-hf-tok-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fresh folder under the test's temp root. */
function folder(name: string): string {
  const d = join(root, name);
  mkdirSync(d);
  return d;
}

/** Rewrites one JSON file of a tokenizer folder. */
function edit(dir: string, file: string, change: (json: Record<string, unknown>) => void): void {
  const json = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  change(json);
  writeFileSync(join(dir, file), JSON.stringify(json));
}

const VARIED =
  "Hello world!  It's 2024: naïve café, 東京 😀👍🏽 costs $3.50...\n\n\tTabs\r\nand   spaces <|endoftext|>next  ";

/**
 * The SentencePiece-BPE definition the Llama/Gemma fixtures follow, written from the tokenizers docs (BPE
 * model): the normalized text as characters; repeatedly merge the adjacent pair with the lowest merge rank
 * (leftmost first); a piece not in the vocabulary becomes its UTF-8 bytes as `<0xNN>` tokens.
 */
function referenceSentencePiece(dir: string, text: string, prepend: boolean): number[] {
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  const vocab = json.model.vocab as Record<string, number>;
  const rank = new Map((json.model.merges as [string, string][]).map(([a, b], r) => [`${a} ${b}`, r]));
  let parts = [...((prepend ? '\u2581' : '') + text.replaceAll(' ', '\u2581'))];
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let k = 0; k + 1 < parts.length; k++) {
      const r = rank.get(`${parts[k]} ${parts[k + 1]}`);
      if (r !== undefined && r < bestRank) [best, bestRank] = [k, r];
    }
    if (best < 0) break;
    parts.splice(best, 2, parts[best] + parts[best + 1]);
  }
  parts = parts.flatMap((p) =>
    p in vocab
      ? [p]
      : [...new TextEncoder().encode(p)].map((b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`),
  );
  return parts.map((p) => vocab[p]);
}

describe('HfTokenizer: GPT-2 tokenizer.json', () => {
  let dir: string;
  let tok: HfTokenizer;
  const gpt2 = new Gpt2BpeTokenizer();
  beforeAll(() => {
    dir = folder('gpt2');
    expect(writeGpt2Tokenizer(dir)).toBe(50257);
    tok = new HfTokenizer(dir);
  });

  it('encodes a varied text to exactly the ids of gpt-tokenizer (r50k_base), <|endoftext|> as 50256', () => {
    const ids = tok.encode(VARIED);
    const [before, after] = VARIED.split('<|endoftext|>');
    expect(ids).toEqual([...r50kEncode(before), 50256, ...r50kEncode(after)]);
    expect(ids).toEqual(gpt2.encode(VARIED));
    for (const t of [
      'The quick brown fox',
      ' leading space',
      'a\u00a0b',
      'éèêë ñ ß',
      '1234567890',
      'x'.repeat(300),
    ])
      expect(tok.encode(t)).toEqual(r50kEncode(t));
  });

  it('has GPT-2 specials: EOS = BOS = PAD = 50256, no unk, 50257 tokens', () => {
    expect([tok.kind, tok.vocabSize, tok.eosId, tok.bosId, tok.padId]).toEqual([
      'hf',
      50257,
      50256,
      50256,
      50256,
    ]);
    expect(tok.unkId).toBeUndefined();
    expect([...tok.specialIds]).toEqual([50256]);
  });

  it('decodes back to the text, and shows one token as the text it stands for', () => {
    expect(tok.decode(tok.encode(VARIED))).toBe(VARIED);
    expect(tok.tokenString(262)).toBe(' the'); // 'Ġthe'
    expect(tok.tokenString(50256)).toBe('<|endoftext|>');
    const vocab = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')).model.vocab;
    // 'âĢ' is the bytes E2 80: the first two of three bytes of '—' / '’', not a character on its own.
    expect(tok.tokenString(vocab['âĢ'])).toBe('\\xe2\\x80');
    expect(gpt2.tokenString(vocab['âĢ'])).toBe('\\xe2\\x80');
    const emoji = tok.encode(' 😀');
    expect(emoji.map((id) => tok.tokenString(id))).toEqual([' \\xf0\\x9f\\x98', '\\x80']);
    expect(tok.decode(emoji)).toBe(' 😀');
  });
});

describe('HfTokenizer: Llama-style SentencePiece BPE', () => {
  let dir: string;
  let tok: HfTokenizer;
  beforeAll(() => {
    dir = folder('llama');
    const n = writeLlamaTokenizer(dir);
    tok = new HfTokenizer(dir);
    expect(tok.vocabSize).toBe(n);
  });

  it('starts windows with <s> (from the post-processor) and adds no special token in encode', () => {
    expect([tok.bosId, tok.eosId, tok.padId, tok.unkId]).toEqual([1, 2, 2, 0]);
    expect([...tok.specialIds].sort()).toEqual([0, 1, 2]);
    const ids = tok.encode('the cat');
    expect(ids).not.toContain(1);
    expect(tok.tokenString(ids[0])).toBe(' the');
  });

  it('encodes by the SentencePiece BPE definition, splitting common words into several pieces', () => {
    for (const text of ['My grandmother has three orange cats.', 'Hello, World', 'the weather is cold'])
      expect(tok.encode(text)).toEqual(referenceSentencePiece(dir, text, true));
    const pieces = tok.encode('My grandmother travels').map((id) => tok.tokenString(id));
    expect(pieces.length).toBeGreaterThanOrEqual(6);
    expect(pieces.join('')).toBe(' My grandmother travels');
  });

  it('falls back to bytes for unknown characters and decodes them back', () => {
    const text = 'café 東京 😀 Zürich';
    const ids = tok.encode(text);
    expect(ids).toEqual(referenceSentencePiece(dir, text, true));
    const tokens = ids.map((id) => tok.tokenString(id));
    expect(tokens).toContain('\\xe6'); // the lead byte <0xE6> of 東, shown as its byte
    expect(tok.decode(ids)).toBe(text);
    expect(tok.decode([tok.bosId, ...ids])).toBe(`<s> ${text}`);
  });

  it('takes BOS from add_bos_token when there is no post-processor, and EOS when neither adds one', () => {
    const plain = folder('llama-no-post');
    writeLlamaTokenizer(plain);
    edit(plain, 'tokenizer.json', (j) => (j.post_processor = null));
    expect(new HfTokenizer(plain).bosId).toBe(1);
    edit(plain, 'tokenizer_config.json', (j) => (j.add_bos_token = false));
    expect(new HfTokenizer(plain).bosId).toBe(2);
  });

  it('save() writes the original files as read, even once their folder is gone, and the copy encodes the same', () => {
    const src = folder('llama-source');
    writeLlamaTokenizer(src);
    const original = new Map(
      ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'].map((f) => [
        f,
        readFileSync(join(src, f), 'utf8'),
      ]),
    );
    const read = new HfTokenizer(src);
    rmSync(src, { recursive: true });
    const out = folder('llama-saved');
    read.save(out);
    for (const [f, content] of original) expect(readFileSync(join(out, f), 'utf8')).toBe(content);
    expect(new HfTokenizer(out).encode(VARIED)).toEqual(tok.encode(VARIED));
  });
});

describe('HfTokenizer: Gemma-style', () => {
  it('has <bos>, <eos>, <pad>, prepends no space, and round-trips text', () => {
    const dir = folder('gemma');
    const n = writeGemmaTokenizer(dir);
    const tok = new HfTokenizer(dir);
    expect([tok.vocabSize, tok.bosId, tok.eosId, tok.padId, tok.unkId]).toEqual([n, 2, 1, 0, 3]);
    const text = 'the cat sleeps in the sun 😀';
    const ids = tok.encode(text);
    expect(ids).toEqual(referenceSentencePiece(dir, text, false));
    expect(tok.tokenString(ids[0]).startsWith(' ')).toBe(false);
    expect(tok.decode(ids)).toBe(text);
  });
});

describe('loadTokenizer', () => {
  it('reads any non-WordLevel tokenizer.json as hf, allowing a padded embedding', () => {
    const dir = folder('load-gpt2');
    writeGpt2Tokenizer(dir);
    const tok = loadTokenizer(dir, 50304);
    expect(tok.kind).toBe('hf');
    expect(tok.encode('Hello world')).toEqual([15496, 995]);
    // An embedding row past the vocabulary (a model may sample it) stands for no text.
    expect(tok.decode([15496, 50300, 995])).toBe('Hello world');
  });

  it('names the file or folder when it cannot give a tokenizer', () => {
    const dir = folder('load-small');
    const n = writeLlamaTokenizer(dir);
    expect(() => loadTokenizer(dir, n - 1)).toThrow(
      `${join(dir, 'tokenizer.json')}: the tokenizer has ids up to ${n - 1}`,
    );
    edit(dir, 'tokenizer_config.json', (j) => delete j.eos_token);
    expect(() => loadTokenizer(dir, n)).toThrow(`${join(dir, 'tokenizer_config.json')}: no eos_token`);
    edit(dir, 'tokenizer_config.json', (j) => (j.eos_token = '<eot>'));
    expect(() => loadTokenizer(dir, n)).toThrow(`eos_token '<eot>' is not in ${join(dir, 'tokenizer.json')}`);
    writeFileSync(join(dir, 'tokenizer.json'), '{"model": ');
    expect(() => loadTokenizer(dir, n)).toThrow(`${join(dir, 'tokenizer.json')}: cannot read tokenizer`);
    const empty = folder('load-empty');
    expect(() => loadTokenizer(empty, 1000)).toThrow(`${empty}: no tokenizer found`);
  });
});
