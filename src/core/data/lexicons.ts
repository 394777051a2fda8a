/**
 * Concept lexicons: the world's (`resources/lexicons/concepts.json`, which the world's text, the judges and
 * world-vocabulary probes use), the built-in English ones (derived from WordNet and a profanity list, see
 * english-lexicon.ts) and users' own, and how they label the words and phrases of a text. Also the
 * reframing judge's markers (`reframing.json`) and the semantic-subspace keyword lists of Lan et al.
 * (`semantic-subspaces.json`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { englishLexiconLists } from './english-lexicon.js';
import { DataError } from './errors.js';
import { resourcePath } from './resources.js';

/** Word senses by concept: each word maps to its senses, the primary one first. */
export interface ConceptLexicon {
  concepts: readonly string[];
  senses: ReadonlyMap<string, readonly string[]>;
}

function readJson(name: string): any {
  const path = resourcePath('lexicons', name);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: cannot read lexicon: ${(e as Error).message}`);
  }
}

let lexicon: ConceptLexicon | null = null;

/** The world's concept lexicon; a word listed under several concepts must name its primary sense. */
export function conceptLexicon(): ConceptLexicon {
  if (lexicon) return lexicon;
  const json = readJson('concepts.json') as {
    concepts: Record<string, string[]>;
    primary: Record<string, string>;
  };
  const senses = new Map<string, string[]>();
  for (const [concept, words] of Object.entries(json.concepts)) {
    for (const w of words) senses.set(w, [...(senses.get(w) ?? []), concept]);
  }
  for (const [w, s] of senses) {
    if (s.length < 2) continue;
    const p = json.primary[w];
    if (!p || !s.includes(p)) {
      throw new Error(
        `${resourcePath('lexicons', 'concepts.json')}: primary: '${w}' is under ${s.join(', ')}, name one`,
      );
    }
    senses.set(w, [p, ...s.filter((c) => c !== p)]);
  }
  lexicon = { concepts: Object.keys(json.concepts), senses };
  return lexicon;
}

/**
 * The forms under which a lower-cased word may be listed: as it is, without a possessive `'s`, and as a
 * plural (`-ies` -> `-y`, `-es`, `-s`), in that order.
 */
function wordForms(w: string): string[] {
  const forms = [w];
  const base = w.endsWith("'s") ? w.slice(0, -2) : w;
  forms.push(base);
  if (base.endsWith('ies')) forms.push(`${base.slice(0, -3)}y`);
  if (base.endsWith('es')) forms.push(base.slice(0, -2));
  if (base.endsWith('s')) forms.push(base.slice(0, -1));
  return forms;
}

/** The senses of a word in the world's lexicon, primary first (empty if none); see {@link wordForms}. */
export function lexiconSenses(word: string): readonly string[] {
  const { senses } = conceptLexicon();
  for (const c of wordForms(word.toLowerCase().replace(/’/g, "'"))) {
    const s = senses.get(c);
    if (s) return s;
  }
  return [];
}

/** A word of a text with its character range `[start, end)`, lower-cased. */
export interface TextWord {
  word: string;
  start: number;
  end: number;
}

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;

/** The words of a text (letters and digits, with inner apostrophes as in `can't`), lower-cased, with offsets. */
export function textWords(text: string): TextWord[] {
  const out: TextWord[] = [];
  for (const m of text.matchAll(WORD)) {
    out.push({ word: m[0].toLowerCase().replace(/’/g, "'"), start: m.index!, end: m.index! + m[0].length });
  }
  return out;
}

/**
 * A lexicon for labelling text: entries (words and phrases, as their words joined by single spaces) and
 * their concepts. An entry with a capital letter (WordNet's proper nouns: `May`, `Paris`) matches only as
 * spelled; any other matches in any case. An entry under several concepts is ambiguous.
 */
export interface Lexicon {
  /** The concepts, sorted. */
  concepts: readonly string[];
  /** Lower-case entries and their concepts, sorted. */
  anyCase: ReadonlyMap<string, readonly string[]>;
  /** Entries with capitals and their concepts, sorted. */
  exact: ReadonlyMap<string, readonly string[]>;
  /** The most words in an entry. */
  longest: number;
  /** SHA-256 (hex) of the concepts and their entries: it changes whenever a label can. */
  digest: string;
}

/** Concept -> words and phrases, the form of the lexicon files. */
export type LexiconLists = Readonly<Record<string, readonly string[]>>;

/** A lexicon from its lists (entries are split into words as {@link textWords} splits text). */
export function makeLexicon(lists: LexiconLists): Lexicon {
  const anyCase = new Map<string, string[]>();
  const exact = new Map<string, string[]>();
  let longest = 1;
  const concepts = Object.keys(lists).sort();
  for (const concept of concepts) {
    for (const entry of lists[concept]) {
      const words = entry.match(WORD) ?? [];
      if (words.length === 0) continue;
      const key = words.join(' ').replace(/’/g, "'");
      const map = /\p{Lu}/u.test(key) ? exact : anyCase;
      const list = map.get(key) ?? [];
      if (!list.includes(concept)) list.push(concept);
      map.set(key, list);
      longest = Math.max(longest, words.length);
    }
  }
  const digest = createHash('sha256')
    .update(JSON.stringify(concepts.map((c) => [c, [...new Set(lists[c])].sort()])))
    .digest('hex');
  return { concepts, anyCase, exact, longest, digest };
}

/** The concepts of a run of words as spelled in the text (see {@link Lexicon}; digits are `number`). */
function lookup(lexicon: Lexicon, words: readonly string[]): readonly string[] | undefined {
  if (words.length === 1 && /^\p{N}+$/u.test(words[0]) && lexicon.concepts.includes('number'))
    return ['number'];
  const spelled = words.join(' ').replace(/’/g, "'");
  const exact = lexicon.exact.get(spelled) ?? lexicon.exact.get(spelled.replace(/'s$/, ''));
  const lower = spelled.toLowerCase().split(' ');
  const head = lower.slice(0, -1).join(' ');
  let anyCase;
  for (const form of wordForms(lower[lower.length - 1])) {
    anyCase = lexicon.anyCase.get(head ? `${head} ${form}` : form);
    if (anyCase) break;
  }
  if (!exact || !anyCase) return exact ?? anyCase;
  return [...new Set([...exact, ...anyCase])].sort();
}

/** A word or phrase of a text found in a lexicon: its character range `[start, end)` and its concepts. */
export interface LexiconMatch {
  start: number;
  end: number;
  concepts: readonly string[];
}

/**
 * The lexicon's words and phrases in a text, left to right, longest first: a phrase's words may be joined
 * by spaces, `_` or `-` in the text (`ice cream`, `ice-cream`).
 */
export function lexiconMatches(text: string, lexicon: Lexicon): LexiconMatch[] {
  const words = [...text.matchAll(WORD)].map((m) => ({
    word: m[0],
    start: m.index!,
    end: m.index! + m[0].length,
  }));
  const out: LexiconMatch[] = [];
  for (let i = 0; i < words.length;) {
    let run = 1;
    while (
      run < lexicon.longest &&
      i + run < words.length &&
      /^[\s_-]+$/.test(text.slice(words[i + run - 1].end, words[i + run].start))
    )
      run++;
    let k = run;
    let concepts;
    for (; k >= 1 && !concepts; k--)
      concepts = lookup(
        lexicon,
        words.slice(i, i + k).map((w) => w.word),
      );
    if (concepts) {
      k++;
      out.push({ start: words[i].start, end: words[i + k - 1].end, concepts });
      i += k;
    } else i++;
  }
  return out;
}

/**
 * The built-in lexicons: `world`, the world's words each under its primary sense only (so never ambiguous),
 * for world-vocabulary text; `english`, derived from WordNet 3.1 and naughty-words (english-lexicon.ts).
 */
export type BuiltinLexicon = 'world' | 'english';

function builtinLists(name: BuiltinLexicon): LexiconLists {
  if (name === 'english') return englishLexiconLists();
  const lists: Record<string, string[]> = {};
  for (const [w, s] of conceptLexicon().senses) (lists[s[0]] ??= []).push(w);
  return lists;
}

const builtins = new Map<BuiltinLexicon, Lexicon>();

/** A built-in lexicon (made once per process). */
export function builtinLexicon(name: BuiltinLexicon): Lexicon {
  let lex = builtins.get(name);
  if (!lex) {
    lex = makeLexicon(builtinLists(name));
    builtins.set(name, lex);
  }
  return lex;
}

const CONCEPT_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

/**
 * A user's lexicon file: JSON `{"concept": ["word", "multi word phrase", ...]}`, concept names lower-case
 * (letters, digits, `_`, `-`), entries non-empty strings, lower-cased (a user's entry matches in any case).
 * Errors name the file and the field.
 */
export function readLexiconFile(file: string): Record<string, string[]> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataError(`${file}: cannot read the lexicon: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new DataError(`${file}: expected a JSON object {"concept": ["word", "multi word phrase", ...]}`);
  }
  const out: Record<string, string[]> = {};
  for (const [concept, words] of Object.entries(json)) {
    if (!CONCEPT_NAME.test(concept)) {
      throw new DataError(
        `${file}: ${JSON.stringify(concept)}: a concept name is lower-case letters, digits, '_' or '-' (at most 64)`,
      );
    }
    if (!Array.isArray(words)) throw new DataError(`${file}: ${concept}: expected an array of words`);
    out[concept] = words.map((w, i) => {
      if (typeof w !== 'string' || !/[\p{L}\p{N}]/u.test(w))
        throw new DataError(`${file}: ${concept}[${i}]: expected a word or phrase, got ${JSON.stringify(w)}`);
      return w.toLowerCase();
    });
  }
  if (Object.keys(out).length === 0) throw new DataError(`${file}: the lexicon has no concepts`);
  return out;
}

/** How a user's lexicon combines with the built-in one: `add` to it, or `replace` it. */
export type LexiconMode = 'add' | 'replace';

/** A built-in lexicon, with a user's lexicon file added to it or in its place. */
export function probeLexicon(builtin: BuiltinLexicon, user?: { file: string; mode: LexiconMode }): Lexicon {
  if (!user) return builtinLexicon(builtin);
  const own = readLexiconFile(user.file);
  if (user.mode === 'replace') return makeLexicon(own);
  const merged: Record<string, string[]> = {};
  for (const src of [builtinLists(builtin), own]) {
    for (const [c, ws] of Object.entries(src)) merged[c] = [...(merged[c] ?? []), ...ws];
  }
  return makeLexicon(merged);
}

let markers: { constructive: ReadonlySet<string>; negative: ReadonlySet<string> } | null = null;

/** The reframing judge's word lists: constructive markers and negative-thought markers. */
export function reframingMarkers(): { constructive: ReadonlySet<string>; negative: ReadonlySet<string> } {
  if (markers) return markers;
  const json = readJson('reframing.json') as { constructive: string[]; negative: string[] };
  markers = { constructive: new Set(json.constructive), negative: new Set(json.negative) };
  return markers;
}

/**
 * The semantic-subspace keyword lists of Lan et al. (arXiv 2410.06981): Calendar, Time, People/Roles,
 * Nature, Emotions, MonthNames, Countries, Biology, verbatim (case kept).
 */
export function semanticSubspaces(): Record<string, string[]> {
  const json = readJson('semantic-subspaces.json') as { subspaces: Record<string, string[]> };
  return structuredClone(json.subspaces);
}
