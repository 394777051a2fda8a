import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deriveEnglishProbe, englishProbeDocuments } from '../../../src/core/data/english-probe.js';
import { DataError } from '../../../src/core/data/errors.js';
import {
  builtinLexicon,
  lexiconMatches,
  probeLexicon,
  readLexiconFile,
} from '../../../src/core/data/lexicons.js';
import { englishProbeSet, labelText, probeSetFromText } from '../../../src/core/data/probe.js';
import type { LabelledSequence } from '../../../src/core/data/types.js';
import { Gpt2BpeTokenizer } from '../../../src/core/model/tokenizers.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-lexicons-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bpe = new Gpt2BpeTokenizer();
const english = builtinLexicon('english');

/** The concepts the English lexicon gives a word or phrase standing alone (undefined when none). */
function conceptsOf(text: string): readonly string[] | undefined {
  const m = lexiconMatches(text, english);
  return m.length === 1 && m[0].start === 0 && m[0].end === text.length ? m[0].concepts : undefined;
}

/** Each token's text, label and ambiguous candidates. */
function tokens(seq: LabelledSequence): [string, string | null, string[] | null][] {
  return seq.ids.map((id, i) => [bpe.decode([id]), seq.concepts[i], seq.ambiguous?.[i] ?? null]);
}

function writeJson(name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

describe('built-in English lexicons (WordNet 3.1, naughty-words)', () => {
  it('put common words under the concepts a reader expects', () => {
    const facts: [string, string][] = [
      ['dog', 'animal'],
      ['cats', 'animal'],
      ['red', 'colour'],
      ['turquoise', 'colour'],
      ['sister', 'family'],
      ["mother's", 'family'],
      ['rain', 'weather'],
      ['thunderstorm', 'weather'],
      ['twenty', 'number'],
      ['1984', 'number'],
      ['happy', 'emotion'],
      ['fear', 'emotion'],
      ['apple', 'food'],
      ['Paris', 'place'],
      ['Monday', 'time'],
      ['year', 'time'],
      ['bullshit', 'toxic'],
      ['shit', 'toxic'],
    ];
    expect(facts.map(([w]) => [w, conceptsOf(w)])).toEqual(facts.map(([w, c]) => [w, [c]]));
    expect(english.concepts).toEqual([
      'animal',
      'colour',
      'emotion',
      'family',
      'food',
      'number',
      'place',
      'time',
      'toxic',
      'weather',
    ]);
    // Rare senses do not count (`game` as food), nor does a lower-case `may`.
    for (const w of ['the', 'game', 'may', 'I']) expect(conceptsOf(w)).toBeUndefined();
  });

  it('list a word under several concepts as ambiguous: no label, both candidates on its tokens', () => {
    expect(conceptsOf('orange')).toEqual(['colour', 'food']);
    expect(conceptsOf('chicken')).toEqual(['animal', 'food']);
    const seq = labelText('An orange dog.', [], bpe);
    expect(tokens(seq)).toEqual([
      ['An', null, null],
      [' orange', null, ['colour', 'food']],
      [' dog', 'animal', null],
      ['.', null, null],
    ]);
  });

  it("give all of a word's sub-word tokens its label", () => {
    const seq = labelText('A hippopotamus and a chimpanzee under a turquoise sky.', [], bpe);
    const got = tokens(seq).filter(([, c]) => c !== null);
    expect(got).toEqual([
      [' hipp', 'animal', null],
      ['opot', 'animal', null],
      ['amus', 'animal', null],
      [' chimpan', 'animal', null],
      ['zee', 'animal', null],
      [' tur', 'colour', null],
      ['qu', 'colour', null],
      ['oise', 'colour', null],
    ]);
  });

  it('match phrases longest first, joined by spaces or hyphens, on all their tokens', () => {
    const seq = labelText('We ate ice cream and ice-cream in New York, a new city.', [], bpe);
    expect(tokens(seq).filter(([, c]) => c !== null)).toEqual([
      [' ice', 'food', null],
      [' cream', 'food', null],
      [' ice', 'food', null],
      ['-', 'food', null],
      ['cream', 'food', null],
      [' New', 'place', null],
      [' York', 'place', null],
      [' city', 'place', null],
    ]);
  });
});

describe('user lexicons', () => {
  const own = writeJson('tools.json', { tool: ['hammer', 'Monkey Wrench'], pet: ['dog'] });
  const text = 'The dog fetched a hammer and a monkey wrench from the red shed.';

  it('add to the built-in lexicon: new concepts, phrases in any case, and shared words become ambiguous', () => {
    const seq = labelText(text, [], bpe, probeLexicon('english', { file: own, mode: 'add' }));
    expect(tokens(seq).filter(([, c, a]) => c !== null || a !== null)).toEqual([
      [' dog', null, ['animal', 'pet']],
      [' hammer', 'tool', null],
      [' monkey', 'tool', null],
      [' wrench', 'tool', null],
      [' red', 'colour', null],
    ]);
  });

  it('replace the built-in lexicon', () => {
    const seq = labelText(text, [], bpe, probeLexicon('english', { file: own, mode: 'replace' }));
    expect(tokens(seq).filter(([, c, a]) => c !== null || a !== null)).toEqual([
      [' dog', 'pet', null],
      [' hammer', 'tool', null],
      [' monkey', 'tool', null],
      [' wrench', 'tool', null],
    ]);
  });

  it('refuse bad files, naming the file and the field', () => {
    const cases: [string, unknown, string][] = [
      ['notjson.json', '{"tool": [', 'cannot read the lexicon'],
      ['array.json', ['hammer'], 'expected a JSON object {"concept": ["word", "multi word phrase", ...]}'],
      ['empty.json', {}, 'the lexicon has no concepts'],
      ['name.json', { 'Big Tools': ['hammer'] }, '"Big Tools": a concept name is lower-case letters'],
      ['list.json', { tool: 'hammer' }, 'tool: expected an array of words'],
      ['entry.json', { tool: ['hammer', 3] }, 'tool[1]: expected a word or phrase, got 3'],
      ['blank.json', { tool: ['hammer', ' - '] }, 'tool[1]: expected a word or phrase, got " - "'],
    ];
    for (const [name, value, message] of cases) {
      const file = writeJson(name, value);
      const err = (() => {
        try {
          readLexiconFile(file);
        } catch (e) {
          return e as Error;
        }
      })();
      expect(err, name).toBeInstanceOf(DataError);
      expect(err!.message).toContain(`${file}: ${message}`);
    }
    expect(() => readLexiconFile(join(dir, 'missing.json'))).toThrow(
      `${join(dir, 'missing.json')}: cannot read the lexicon`,
    );
  });

  it("are part of a text probe's hash, even where no label changes", () => {
    const corpus = join(dir, 'text.txt');
    writeFileSync(corpus, `${text}\n\nA second document about cats.\n`);
    const plain = probeSetFromText(corpus, bpe, { nCtx: 16 });
    expect(probeSetFromText(corpus, bpe, { nCtx: 16 }).hash).toBe(plain.hash);
    const added = probeSetFromText(corpus, bpe, { nCtx: 16, lexicon: { file: own, mode: 'add' } });
    expect(added.hash).not.toBe(plain.hash);
    const unused = writeJson('unused.json', { tool: ['screwdriver'] });
    const same = probeSetFromText(corpus, bpe, { nCtx: 16, lexicon: { file: unused, mode: 'add' } });
    expect(same.sequences).toEqual(plain.sequences);
    expect(same.hash).not.toBe(plain.hash);
  });
});

describe('text probe windows', () => {
  it('hold at most --context tokens, start with bosId, and cover the text in order', () => {
    const doc = Array.from({ length: 30 }, (_, i) => `Sentence ${i} has a brown dog in it.`).join(' ');
    const corpus = join(dir, 'long.txt');
    writeFileSync(corpus, `${doc}\n\nShort one.\n`);
    for (const nCtx of [2, 7, 32]) {
      const probe = probeSetFromText(corpus, bpe, { nCtx });
      const flat: number[] = [];
      for (const s of probe.sequences) {
        expect(s.ids.length).toBeLessThanOrEqual(nCtx);
        expect(s.ids[0]).toBe(bpe.bosId);
        expect(s.concepts[0]).toBeNull();
        flat.push(...s.ids.slice(1));
      }
      expect(flat).toEqual([...bpe.encode(doc), ...bpe.encode('Short one.')]);
      // Each document fills windows of nCtx - 1 of its tokens, the last one possibly short.
      const perDoc = [doc, 'Short one.'].map((d) => Math.ceil(bpe.encode(d).length / (nCtx - 1)));
      expect(probe.sequences.length).toBe(perDoc[0] + perDoc[1]);
      expect(probe.sequences.filter((s) => s.ids.length < nCtx).length).toBeLessThanOrEqual(2);
    }
    expect(() => probeSetFromText(corpus, bpe, { nCtx: 1 })).toThrow('nCtx must be an integer >= 2');
  });
});

describe('the shipped English probe', () => {
  it('is derived deterministically, about 20,000 GPT-2 tokens, with labels for every concept', () => {
    const docs = deriveEnglishProbe();
    expect(docs).toEqual(deriveEnglishProbe());
    expect(englishProbeDocuments()).toEqual(docs);
    const probe = englishProbeSet(bpe, { nCtx: 128 });
    expect(englishProbeSet(bpe, { nCtx: 128 }).hash).toBe(probe.hash);
    expect(probe.name).toBe('english');
    const n = probe.sequences.reduce((k, s) => k + s.ids.length, 0);
    expect(n).toBeGreaterThan(15_000);
    expect(n).toBeLessThan(25_000);
    for (const s of probe.sequences) {
      expect(s.ids.length).toBeLessThanOrEqual(128);
      expect(s.ids[0]).toBe(bpe.bosId);
    }
    const counts = new Map<string, number>();
    for (const s of probe.sequences)
      for (const c of s.concepts) if (c) counts.set(c, (counts.get(c) ?? 0) + 1);
    // Every concept labels at least 100 tokens.
    expect(english.concepts.filter((c) => (counts.get(c) ?? 0) < 100)).toEqual([]);
    expect(probe.sequences.some((s) => s.ambiguous?.some((a) => a !== null))).toBe(true);
  });
});
