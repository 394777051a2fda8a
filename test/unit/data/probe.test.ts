import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../../../src/core/data/errors.js';
import {
  builtinLexicon,
  conceptLexicon,
  lexiconMatches,
  semanticSubspaces,
} from '../../../src/core/data/lexicons.js';
import { tokenizeWithOffsets } from '../../../src/core/data/offsets.js';
import {
  builtinProbeSet,
  DEFAULT_PROBE,
  labelText,
  probeHash,
  probeSetFromText,
} from '../../../src/core/data/probe.js';
import type { LabelledSequence } from '../../../src/core/data/types.js';
import { worldTokenizer, worldWordSenses } from '../../../src/core/data/world.js';
import { Gpt2BpeTokenizer } from '../../../src/core/model/tokenizers.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-probe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const world = worldTokenizer();
const bpe = new Gpt2BpeTokenizer();

/** Token strings with their labels, for readable assertions. */
function labelled(seq: LabelledSequence, tok: { decode(ids: number[]): string }): [string, string | null][] {
  return seq.ids.map((id, i) => [tok.decode([id]), seq.concepts[i]]);
}

describe('builtinProbeSet', () => {
  const probe = builtinProbeSet({ ...DEFAULT_PROBE, nCtx: 64 });

  it('holds exactly the requested tokens, in BOS-led sequences of at most nCtx', () => {
    expect(probe.name).toBe('builtin');
    expect(probe.sequences.reduce((n, s) => n + s.ids.length, 0)).toBe(20_000);
    for (const s of probe.sequences) {
      expect(s.ids.length).toBeLessThanOrEqual(64);
      expect(s.ids[0]).toBe(world.eosId);
      expect(s.concepts[0]).toBeNull();
      expect(s.concepts.length).toBe(s.ids.length);
    }
    const small = builtinProbeSet({ tokens: 500, seed: 1, nCtx: 16 });
    expect(small.sequences.reduce((n, s) => n + s.ids.length, 0)).toBe(500);
    expect(Math.max(...small.sequences.map((s) => s.ids.length))).toBe(16);
  });

  it('has ground-truth labels for every concept, and toxicity prompts with replies', () => {
    expect(probe.concepts).toEqual([...new Set([...worldWordSenses().values()].flat())].sort());
    const texts = probe.sequences.map((s) => world.decode(s.ids));
    expect(texts.filter((t) => /said: |shouted: |at \w+ \w+:/.test(t)).length).toBeGreaterThan(50);
    expect(texts.filter((t) => /thought:/.test(t)).length).toBeGreaterThan(50);
    const toxicTokens = probe.sequences.flatMap((s) => s.concepts).filter((c) => c === 'toxic').length;
    expect(toxicTokens).toBeGreaterThan(100);
  });

  it('has a stable hash over ids and labels', () => {
    // Pinned: recordings are keyed by this hash, so any change to the world or the probe must be deliberate
    // (update the value, and say in the commit that old recordings no longer match).
    expect(probe.hash).toBe('59295b30b06ef9b0f1d1b4115ba4f91b928647e3aeccc8b6204a128b1257b155');
    expect(builtinProbeSet({ ...DEFAULT_PROBE, nCtx: 64 }).hash).toBe(probe.hash);
    expect(probeHash(probe.sequences)).toBe(probe.hash);
    expect(builtinProbeSet({ tokens: 20_000, seed: 1235, nCtx: 64 }).hash).not.toBe(probe.hash);
    // A change of one label changes the hash.
    const relabelled = probe.sequences.map((s, i) =>
      i === 0 ? { ids: s.ids, concepts: [...s.concepts.slice(0, -1), 'x'] } : s,
    );
    expect(probeHash(relabelled)).not.toBe(probe.hash);
  });
});

describe('token offsets', () => {
  const tricky = [
    'Hello, World! The cat’s 3 dogs ran.',
    'héllo 😀😀 world 你好吗 x\u00e9\u0301y\n\n  tabs\tand  spaces ',
    'İstanbul <|endoftext|> next doc <pad>',
    '',
  ];
  for (const [name, tok] of [
    ['word-level', world],
    ['gpt2-bpe', bpe],
  ] as const) {
    it(`${name}: covers each token's characters and matches encode()`, () => {
      for (const text of tricky) {
        const { ids, start, end } = tokenizeWithOffsets(text, tok);
        expect(ids).toEqual(tok.encode(text));
        for (let i = 0; i < ids.length; i++) {
          expect(start[i]).toBeLessThan(end[i]);
          // In order; ranges overlap only where one piece becomes several (BPE inside a character; word-level
          // when lower-casing splits a piece, U+0130 -> i + U+0307).
          if (i > 0) expect(start[i]).toBeGreaterThanOrEqual(start[i - 1]);
          if (i > 0 && name === 'word-level' && !text.includes('İ'))
            expect(start[i]).toBeGreaterThanOrEqual(end[i - 1]);
        }
      }
    });
  }

  it('gpt2-bpe: token ranges tile the text, and a split emoji maps to the whole character', () => {
    const text = 'héllo 😀 world';
    const { ids, start, end } = tokenizeWithOffsets(text, bpe);
    expect(start[0]).toBe(0);
    expect(end[end.length - 1]).toBe(text.length);
    // Tokens of complete characters: the text slices decode to the tokens.
    const pieces = ids.map((_, i) => text.slice(start[i], end[i]));
    expect(pieces).toEqual(['h', 'é', 'llo', ' 😀', '😀', ' world']);
  });
});

describe('labelText and probeSetFromText', () => {
  it('labels words through the lexicon for both tokenizers', () => {
    const text = 'My grandmother saw 3 orange cats in Paris.';
    // Words outside the world's vocabulary become <unk>, which stays unlabelled.
    const w = labelled(labelText(text, [], world), world);
    expect(w).toEqual([
      ['my', null],
      ['<unk>', null],
      ['saw', null],
      ['<unk>', null],
      ['orange', 'colour'],
      ['cats', 'animal'],
      ['in', null],
      ['<unk>', null],
      ['.', null],
    ]);
    expect(labelText('two sad ducks', [], world).concepts).toEqual(['number', 'emotion', 'animal']);
    const b = labelText(text, [], bpe);
    const pieces = labelled(b, bpe);
    // Every BPE piece of a word takes the word's concept; spaces before words do not matter.
    for (const [piece, c] of pieces) {
      const word = piece.trim().toLowerCase();
      if ('grandmother'.includes(word) && word.length > 1) expect(c).toBe('family');
      if (word === 'paris') expect(c).toBe('place');
      if (word === 'my' || word === '.') expect(c).toBeNull();
    }
    expect(pieces.map((p) => p[1])).toContain('number');
  });

  it('puts user spans on the tokens they overlap, for both tokenizers', () => {
    const text = 'The quick brown fox jumped over the lazy dog.';
    const spans = [
      { start: 4, end: 15, concept: 'speed' }, // "quick brown"
      { start: 36, end: 40, concept: 'laziness' }, // "lazy"
      { start: 41, end: 44, concept: 'pet' }, // "dog"
    ];
    const w = labelled(labelText(text, spans, world), world);
    expect(w.filter(([, c]) => c === 'speed').map(([t]) => t)).toEqual(['brown']); // "quick" is <unk>
    expect(w.filter(([, c]) => c === 'laziness')).toEqual([]);
    expect(w.slice(7)).toEqual([
      ['<unk>', null],
      ['dog', 'pet'],
      ['.', null],
    ]);
    expect(w[3]).toEqual(['fox', 'animal']);
    const b = labelled(labelText(text, spans, bpe), bpe);
    expect(b.filter(([, c]) => c === 'speed').map(([t]) => t)).toEqual([' quick', ' brown']);
    expect(b.filter(([, c]) => c === 'laziness').map(([t]) => t)).toEqual([' lazy']);
    expect(b.find(([t]) => t === ' fox')![1]).toBe('animal');
    expect(b.find(([t]) => t === ' dog')![1]).toBe('pet');
    expect(b.find(([t]) => t === ' the')![1]).toBeNull();
    // A span inside one multi-token word labels all its tokens, and only them.
    const word = 'unbelievableness';
    const t2 = `a ${word} b`;
    const b2 = labelText(t2, [{ start: 2, end: 2 + word.length, concept: 'w' }], bpe);
    const got = b2.ids.filter((_, i) => b2.concepts[i] === 'w');
    expect(bpe.decode(got)).toBe(` ${word}`);
    expect(got.length).toBeGreaterThan(1);
  });

  it('reads a text file with a labels file, naming labels:line for unknown text', () => {
    const corpus = join(dir, 'notes.txt');
    writeFileSync(corpus, 'The red cat slept.\n\nMy sister ate an apple and felt happy.\n');
    const labels = join(dir, 'labels.jsonl');
    writeFileSync(
      labels,
      JSON.stringify({ text: 'ate an apple', spans: [{ start: 0, end: 3, concept: 'eating' }] }) + '\n',
    );
    for (const tok of [world, bpe]) {
      const probe = probeSetFromText(corpus, tok, { nCtx: 8, labels });
      expect(probe.name).toBe('notes.txt');
      expect(probe.concepts).toEqual(['animal', 'colour', 'eating', 'emotion', 'family', 'food']);
      for (const s of probe.sequences) {
        expect(s.ids[0]).toBe(tok.eosId);
        expect(s.ids.length).toBeLessThanOrEqual(8);
      }
      const all = probe.sequences.flatMap((s) =>
        s.ids.map((id, i) => [tok.decode([id]).trim(), s.concepts[i]]),
      );
      expect(all).toContainEqual(['ate', 'eating']);
      expect(all).toContainEqual(['apple', 'food']);
    }
    writeFileSync(labels, '\n' + JSON.stringify({ text: 'a blue whale', spans: [] }) + '\n');
    const err = (() => {
      try {
        probeSetFromText(corpus, world, { nCtx: 8, labels });
      } catch (e) {
        return e as DataError;
      }
    })();
    expect(err).toBeInstanceOf(DataError);
    expect(err!.message).toBe(`${labels}:2: text "a blue whale" does not occur in ${corpus}`);
    writeFileSync(
      labels,
      JSON.stringify({ text: 'red cat', spans: [{ start: 0, end: 99, concept: 'x' }] }) + '\n',
    );
    expect(() => probeSetFromText(corpus, world, { nCtx: 8, labels })).toThrow(
      `${labels}:1: spans[0]: [0, 99)`,
    );
  });

  it('reads a labelled JSONL file directly', () => {
    const path = join(dir, 'probe.jsonl');
    writeFileSync(
      path,
      JSON.stringify({ text: 'my cat likes tea', spans: [{ start: 3, end: 6, concept: 'pet' }] }) + '\n',
    );
    const probe = probeSetFromText(path, world, { nCtx: 64 });
    expect(probe.sequences).toEqual([
      {
        ids: [world.eosId, ...world.encode('my cat likes tea')],
        concepts: [null, null, 'pet', null, 'food'],
      },
    ]);
    expect(probe.hash).toBe(probeSetFromText(path, world, { nCtx: 64 }).hash);
  });
});

/** The label the world's lexicon gives a word standing alone (null for none). */
function lexiconConcept(word: string): string | null {
  const m = lexiconMatches(word, builtinLexicon('world'));
  return m.length === 1 ? m[0].concepts[0] : null;
}

describe('lexicons', () => {
  it('agree with the world on every unambiguous world word', () => {
    const disagree = [...worldWordSenses()]
      .filter(([, s]) => s.length === 1)
      .filter(([w, s]) => lexiconConcept(w) !== s[0])
      .map(([w, s]) => `${w}: world ${s[0]}, lexicon ${lexiconConcept(w)}`);
    expect(disagree).toEqual([]);
    for (const [w, s] of worldWordSenses()) if (s.length > 1) expect(s).toContain(lexiconConcept(w));
  });

  it('cover the ten concepts, with plurals, possessives and digits', () => {
    expect(conceptLexicon().concepts).toEqual(
      expect.arrayContaining([
        'colour',
        'number',
        'emotion',
        'time',
        'place',
        'family',
        'toxic',
        'food',
        'animal',
        'weather',
      ]),
    );
    expect(lexiconConcept('Puppies')).toBe('animal');
    expect(lexiconConcept('foxes')).toBe('animal');
    expect(lexiconConcept("mother's")).toBe('family');
    expect(lexiconConcept('1984')).toBe('number');
    expect(lexiconConcept('the')).toBeNull();
  });

  it('hold the semantic subspaces of Lan et al. verbatim', () => {
    const s = semanticSubspaces();
    expect(Object.keys(s)).toEqual([
      'Calendar',
      'Time',
      'People/Roles',
      'Nature',
      'Emotions',
      'MonthNames',
      'Countries',
      'Biology',
    ]);
    expect(s.Calendar).toHaveLength(35);
    expect(s.Calendar.slice(0, 3)).toEqual(['day', 'night', 'week']);
    expect(s.Time.slice(0, s.Calendar.length)).toEqual(s.Calendar);
    expect(s.Time).toContain('recurrent');
    expect(s.MonthNames).toEqual([
      'January', 'February', 'March', 'April', 'May', 'June',
      'July', 'August', 'September', 'October', 'November', 'December',
    ]); // prettier-ignore
    expect(s.Countries).toHaveLength(19);
    expect(s['People/Roles']).toHaveLength(27);
    expect(s.Biology.at(-1)).toBe('cytoplasm');
  });
});
