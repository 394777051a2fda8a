/**
 * Concept lexicons for user text (`resources/lexicons/concepts.json`), the reframing judge's markers
 * (`reframing.json`) and the semantic-subspace keyword lists of Lan et al. (`semantic-subspaces.json`).
 */
import { readFileSync } from 'node:fs';
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

/** The built-in concept lexicon; a word listed under several concepts must name its primary sense. */
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
 * The senses of a word in the lexicon, primary first (empty if none). Looks the lower-cased word up as it
 * is, then without a possessive `'s`, then as a plural (`-ies` -> `-y`, `-es`, `-s`).
 */
export function lexiconSenses(word: string): readonly string[] {
  const { senses } = conceptLexicon();
  const w = word.toLowerCase().replace(/’/g, "'");
  const candidates = [w];
  const base = w.endsWith("'s") ? w.slice(0, -2) : w;
  candidates.push(base);
  if (base.endsWith('ies')) candidates.push(`${base.slice(0, -3)}y`);
  if (base.endsWith('es')) candidates.push(base.slice(0, -2));
  if (base.endsWith('s')) candidates.push(base.slice(0, -1));
  for (const c of candidates) {
    const s = senses.get(c);
    if (s) return s;
  }
  return [];
}

/** The primary concept of a word (see {@link lexiconSenses}); digits are `number`; null if none. */
export function lexiconConcept(word: string): string | null {
  if (/^\p{N}+$/u.test(word)) return 'number';
  return lexiconSenses(word)[0] ?? null;
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
