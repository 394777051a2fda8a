import { describe, expect, it } from 'vitest';
import { packForLm } from '../../../src/core/data/batching.js';
import {
  generateCorpus,
  worldTemplateCount,
  worldTokenizer,
  worldWordSenses,
  WORLD_CONCEPTS,
} from '../../../src/core/data/world.js';
import type { LabelledSequence } from '../../../src/core/data/types.js';

const tok = worldTokenizer();
const corpus = generateCorpus({ seed: 7, documents: 3000 });
const words = (s: LabelledSequence): string[] => s.ids.map((id) => tok.tokens[id]);

/** Every (previous word, word, label) triple in the corpus. */
function triples(): { prev: string; prev2: string; w: string; c: string | null; next: string }[] {
  const out = [];
  for (const s of corpus) {
    const ws = words(s);
    for (let i = 0; i < ws.length; i++) {
      out.push({
        prev2: ws[i - 2] ?? '',
        prev: ws[i - 1] ?? '',
        w: ws[i],
        c: s.concepts[i],
        next: ws[i + 1] ?? '',
      });
    }
  }
  return out;
}
const all = triples();

describe('world vocabulary', () => {
  it('is small, starts with the specials, and holds every concept', () => {
    expect(tok.vocabSize).toBeLessThanOrEqual(300);
    expect(tok.tokens.slice(0, 4)).toEqual(['<|endoftext|>', '<pad>', '<unk>', '.']);
    const concepts = new Set([...worldWordSenses().values()].flat());
    expect([...concepts].sort()).toEqual([...WORLD_CONCEPTS].sort());
    expect(worldTemplateCount()).toBeGreaterThanOrEqual(36);
  });

  it('has a fixed order (same tokenizer on every call)', () => {
    expect(worldTokenizer().tokens).toEqual(tok.tokens);
    expect(tok.id('cat')).toBe(tok.tokens.indexOf('cat'));
  });

  it('has at least eight ambiguous words', () => {
    const ambiguous = [...worldWordSenses()].filter(([, s]) => s.length > 1).map(([w]) => w);
    expect(ambiguous).toEqual(
      expect.arrayContaining(['orange', 'blue', 'pig', 'second', 'date', 'duck', 'fish', 'lime']),
    );
  });
});

describe('generateCorpus', () => {
  it('is deterministic in the seed', () => {
    expect(generateCorpus({ seed: 7, documents: 50 })).toEqual(corpus.slice(0, 50));
    const other = generateCorpus({ seed: 8, documents: 50 });
    expect(other).not.toEqual(corpus.slice(0, 50));
  });

  it('labels every token, consistently with the vocabulary', () => {
    const senses = worldWordSenses();
    const bad: string[] = [];
    for (const s of corpus) {
      expect(s.concepts.length).toBe(s.ids.length);
      s.ids.forEach((id, i) => {
        const c = s.concepts[i];
        const allowed = senses.get(tok.tokens[id])!;
        // No specials or <unk> inside documents; null exactly for function words.
        if (id <= 2 || (c === null ? allowed.length > 0 : !allowed.includes(c)))
          bad.push(`${tok.tokens[id]}/${c}`);
      });
    }
    expect(bad).toEqual([]);
  });

  it('uses every token of the vocabulary', () => {
    const seen = new Set(corpus.flatMap((s) => s.ids));
    const unused = tok.tokens.filter((_, id) => id > 2 && !seen.has(id));
    expect(unused).toEqual([]);
  });

  it('round-trips through the tokenizer', () => {
    for (const s of corpus.slice(0, 500)) expect(tok.encode(tok.decode(s.ids))).toEqual(s.ids);
  });

  it('labels ambiguous words by their sense in context', () => {
    const sense = (pred: (t: (typeof all)[number]) => boolean): Set<string | null> =>
      new Set(all.filter(pred).map((t) => t.c));
    // Each ambiguous word occurs in more than one sense.
    for (const [w, s] of worldWordSenses()) {
      if (s.length > 1) expect(sense((t) => t.w === w).size, w).toBe(s.length);
    }
    expect(sense((t) => t.w === 'blue' && t.prev === 'felt')).toEqual(new Set(['emotion']));
    expect(sense((t) => t.w === 'blue' && t.prev === 'was' && t.prev2 === 'sky')).toEqual(
      new Set(['colour']),
    );
    expect(sense((t) => t.w === 'orange' && t.prev === 'an' && t.prev2 === 'ate')).toEqual(new Set(['food']));
    expect(sense((t) => t.w === 'second' && t.prev === 'a' && t.prev2 === 'wait')).toEqual(new Set(['time']));
    expect(sense((t) => t.w === 'second' && t.prev === 'the')).toEqual(new Set(['number']));
    expect(sense((t) => t.w === 'date' && t.prev === 'the' && t.prev2 === 'is')).toEqual(new Set(['time']));
    expect(sense((t) => ['pig', 'rat', 'snake'].includes(t.w) && t.prev === 'you')).toEqual(
      new Set(['toxic']),
    );
    expect(sense((t) => ['pig', 'rat', 'snake'].includes(t.w) && t.prev === 'my')).toEqual(
      new Set(['animal']),
    );
    expect(
      sense((t) => ['duck', 'chicken', 'fish'].includes(t.w) && t.prev === 'some' && t.prev2 === 'and'),
    ).toEqual(new Set(['food']));
  });

  it('has number agreement and a/an', () => {
    const singular = new Set(['is', 'lives', 'sleeps', 'eats', 'plays', 'swims', 'likes', 'runs', 'hides']);
    const plural = new Set(['are', 'live', 'sleep', 'eat', 'play', 'swim', 'like', 'run', 'hide']);
    const pl = new Set(['cats', 'dogs', 'birds', 'cows', 'foxes', 'ducks', 'pigs', 'apples', 'oranges']);
    let checked = 0;
    const bad: string[] = [];
    for (const t of all) {
      const invariant = t.w === 'sheep' || t.w === 'fish';
      if (t.prev === 'one' && t.c === 'animal' && pl.has(t.w)) bad.push(`one ${t.w}`);
      if (['two', 'five', 'ten'].includes(t.prev) && t.c === 'animal' && !invariant && !pl.has(t.w)) {
        bad.push(`${t.prev} ${t.w}`);
      }
      // "<det> <noun> <verb>": a plural animal takes a plural verb, a singular one a singular verb
      // (conjoined subjects, "the cats and the dog sleep", are left out).
      if (
        t.c === 'animal' &&
        !invariant &&
        t.prev2 !== 'and' &&
        (singular.has(t.next) || plural.has(t.next))
      ) {
        if (plural.has(t.next) !== pl.has(t.w)) bad.push(`${t.w} ${t.next}`);
        checked++;
      }
      if (t.w === 'a' && /^[aeiou]/.test(t.next)) bad.push(`a ${t.next}`);
      if (t.w === 'an' && !/^[aeiou]|^hour$/.test(t.next)) bad.push(`an ${t.next}`);
    }
    expect(bad).toEqual([]);
    expect(checked).toBeGreaterThan(200);
  });

  it('has pronouns that agree with the protagonist', () => {
    const female = new Set(['mother', 'sister', 'daughter', 'aunt', 'grandma']);
    const male = new Set(['father', 'brother', 'son', 'uncle', 'grandpa']);
    let checked = 0;
    for (const s of corpus) {
      const ws = words(s);
      const i = ws.findIndex((w, k) => ws[k - 1] === 'my' && (female.has(w) || male.has(w)));
      if (i < 0 || ws.slice(0, i).some((w) => ['he', 'she'].includes(w))) continue;
      const pronouns = new Set(ws.filter((w) => w === 'he' || w === 'she'));
      if (pronouns.size === 0) continue;
      expect([...pronouns], ws.join(' ')).toEqual([female.has(ws[i]) ? 'she' : 'he']);
      checked++;
    }
    expect(checked).toBeGreaterThan(300);
  });

  it('contains insults at a real rate, in arguments', () => {
    const toxicDocs = corpus.filter((s) => s.concepts.includes('toxic')).length / corpus.length;
    expect(toxicDocs).toBeGreaterThan(0.06);
    expect(toxicDocs).toBeLessThan(0.2);
    const insults = all.filter((t) => t.c === 'toxic').map((t) => t.w);
    expect(new Set(insults).size).toBeGreaterThan(10);
  });
});

describe('packForLm', () => {
  it('joins documents with eos and cuts full windows', () => {
    const seqs = [
      { ids: [5, 6, 7], concepts: [null, null, null] },
      { ids: [8, 9], concepts: [null, null] },
      { ids: [10, 11, 12, 13], concepts: [null, null, null, null] },
    ];
    // stream: 0 5 6 7 0 8 9 0 10 11 12 13 -> windows of 5, tail of 2 dropped
    expect(packForLm(seqs, 5, 0).map((w) => [...w])).toEqual([
      [0, 5, 6, 7, 0],
      [8, 9, 0, 10, 11],
    ]);
    expect(packForLm(seqs, 5, 0)[0]).toBeInstanceOf(Int32Array);
    expect(() => packForLm(seqs, 1, 0)).toThrow(/nCtx/);
  });

  it('packs the world corpus into windows that keep every token in order', () => {
    const windows = packForLm(corpus.slice(0, 100), 64, tok.eosId);
    const stream = corpus.slice(0, 100).flatMap((s) => [tok.eosId, ...s.ids]);
    expect(windows.length).toBe(Math.floor(stream.length / 64));
    expect(windows.flatMap((w) => [...w])).toEqual(stream.slice(0, windows.length * 64));
  });
});
