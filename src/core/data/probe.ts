/**
 * Probe sets: fixed, labelled token sequences that every checkpoint is run on, so that recordings compare.
 * Every sequence starts with the tokenizer's BOS token (`bosId`, label null) and holds at most `nCtx` tokens.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { Rng } from '../model/rng.js';
import type { Tokenizer } from '../model/tokenizer.js';
import { readTextCorpus } from './corpus.js';
import { DataError } from './errors.js';
import { readLabelledTextJsonl, type LabelledText } from './jsonl.js';
import { ENGLISH_PROBE, englishProbeDocuments } from './english-probe.js';
import {
  lexiconMatches,
  probeLexicon,
  type BuiltinLexicon,
  type Lexicon,
  type LexiconMode,
} from './lexicons.js';
import { tokenizeWithOffsets } from './offsets.js';
import { taskExample } from './tasks.js';
import type { LabelledSequence, ProbeSet } from './types.js';
import { labelledSequence, worldDocument, worldTokenizer } from './world.js';

/** The default built-in probe: 20,000 tokens from seed 1234. */
export const DEFAULT_PROBE = { tokens: 20_000, seed: 1234 } as const;

/**
 * SHA-256 (hex) over the ids, labels and ambiguous candidates of the sequences, in order, after the digest of
 * the lexicon that labelled them (text probes): the store keys recordings by it.
 */
export function probeHash(sequences: readonly LabelledSequence[], lexiconDigest?: string): string {
  const h = createHash('sha256');
  if (lexiconDigest) h.update(`lexicon ${lexiconDigest}\n`);
  for (const s of sequences) {
    const fields = s.ambiguous ? [s.ids, s.concepts, s.ambiguous] : [s.ids, s.concepts];
    h.update(JSON.stringify(fields) + '\n');
  }
  return h.digest('hex');
}

/** A probe set from labelled sequences: hash and sorted concepts filled in. */
export function makeProbeSet(name: string, sequences: LabelledSequence[], lexiconDigest?: string): ProbeSet {
  const concepts = new Set<string>();
  for (const s of sequences) for (const c of s.concepts) if (c !== null) concepts.add(c);
  return { name, hash: probeHash(sequences, lexiconDigest), concepts: [...concepts].sort(), sequences };
}

/** A sequence with its ambiguous candidates kept only when some token has them. */
function labelled(
  ids: number[],
  concepts: (string | null)[],
  ambiguous: (string[] | null)[],
): LabelledSequence {
  return ambiguous.some((a) => a !== null) ? { ids, concepts, ambiguous } : { ids, concepts };
}

/**
 * Cuts a labelled token run into windows of at most nCtx tokens, each starting with the BOS token (label
 * null), so each window holds nCtx - 1 tokens of the run.
 */
export function withBos(seq: LabelledSequence, nCtx: number, bos: number): LabelledSequence[] {
  const out: LabelledSequence[] = [];
  for (let i = 0; i < seq.ids.length; i += nCtx - 1) {
    const j = i + nCtx - 1;
    out.push(
      labelled(
        [bos, ...seq.ids.slice(i, j)],
        [null, ...seq.concepts.slice(i, j)],
        [null, ...(seq.ambiguous?.slice(i, j) ?? seq.ids.slice(i, j).map(() => null))],
      ),
    );
  }
  return out;
}

function checkNCtx(nCtx: number): void {
  if (!Number.isInteger(nCtx) || nCtx < 2) {
    throw new Error(`probe set: nCtx must be an integer >= 2, got ${nCtx}`);
  }
}

/**
 * The built-in probe set: world text with ground-truth labels, exactly `tokens` tokens in all (the last
 * sequence is cut). Of the sequences, about 60% are world documents, 20% toxicity prompts with a polite or
 * an insulting reply, 20% reframing prompts with a reframe or a negative thought.
 */
export function builtinProbeSet(opts: { tokens: number; seed: number; nCtx: number }): ProbeSet {
  checkNCtx(opts.nCtx);
  if (!Number.isInteger(opts.tokens) || opts.tokens < 1) {
    throw new Error(`probe set: tokens must be a positive integer`);
  }
  const rng = new Rng(opts.seed);
  const bos = worldTokenizer().bosId;
  const sequences: LabelledSequence[] = [];
  let total = 0;
  while (total < opts.tokens) {
    const u = rng.next();
    let words;
    if (u < 0.6) words = worldDocument(rng);
    else {
      const ex = taskExample(u < 0.8 ? 'toxicity' : 'reframing', rng);
      words = [...ex.prompt, ...(rng.next() < 0.5 ? ex.chosen : ex.rejected)];
    }
    for (const s of withBos(labelledSequence(words), opts.nCtx, bos)) {
      const keep = Math.min(s.ids.length, opts.tokens - total);
      sequences.push(
        keep === s.ids.length ? s : { ids: s.ids.slice(0, keep), concepts: s.concepts.slice(0, keep) },
      );
      total += keep;
      if (total === opts.tokens) break;
    }
  }
  return makeProbeSet('builtin', sequences);
}

/** The built-in lexicon for a tokenizer's text: the world's for its word-level vocabulary, else English. */
export function builtinLexiconFor(tokenizer: Tokenizer): BuiltinLexicon {
  return tokenizer.kind === 'word-level' ? 'world' : 'english';
}

/**
 * Labels the tokens of one text: each token takes the first lexicon word or phrase it overlaps (a token's
 * leading whitespace does not count), so all the sub-word tokens of a word, and all the tokens of a phrase,
 * share its label. A word under one concept labels its tokens with it; an ambiguous word (several concepts)
 * leaves them unlabelled and lists its concepts in `ambiguous`. User spans then override the tokens they
 * overlap. Special tokens (`<|endoftext|>`, `<pad>`, the world's `<unk>`) stay unlabelled: the model cannot
 * see which word an `<unk>` stands for.
 */
export function labelText(
  text: string,
  spans: LabelledText['spans'],
  tokenizer: Tokenizer,
  lexicon: Lexicon = probeLexicon(builtinLexiconFor(tokenizer)),
): LabelledSequence {
  const { ids, start, end } = tokenizeWithOffsets(text, tokenizer);
  // The part of each token after its leading whitespace.
  const from = start.map((s, i) => {
    let k = s;
    while (k < end[i] && /\s/.test(text[k])) k++;
    return k;
  });
  const concepts: (string | null)[] = ids.map(() => null);
  const ambiguous: (string[] | null)[] = ids.map(() => null);
  const matches = lexiconMatches(text, lexicon);
  let m = 0;
  for (let t = 0; t < ids.length; t++) {
    if (tokenizer.specialIds.has(ids[t])) continue;
    while (m < matches.length && matches[m].end <= from[t]) m++;
    if (m === matches.length || matches[m].start >= end[t]) continue;
    const c = matches[m].concepts;
    if (c.length === 1) concepts[t] = c[0];
    else ambiguous[t] = [...c];
  }
  for (const span of spans) {
    for (let t = 0; t < ids.length; t++) {
      if (!tokenizer.specialIds.has(ids[t]) && from[t] < span.end && span.start < end[t]) {
        concepts[t] = span.concept;
        ambiguous[t] = null;
      }
    }
  }
  return labelled(ids, concepts, ambiguous);
}

/** How text becomes a probe set. */
export interface TextProbeOptions {
  /** Tokens per window, the BOS token included (at least 2). */
  nCtx: number;
  /** A JSONL file of `{"text", "spans"}` records labelling parts of the text (see {@link probeSetFromText}). */
  labels?: string;
  /** A user's lexicon file, added to the built-in lexicon or replacing it. */
  lexicon?: { file: string; mode: LexiconMode };
}

/**
 * A probe set from documents: each labelled ({@link labelText}) with the built-in lexicon for the tokenizer
 * and the user's lexicon, and cut into windows ({@link withBos}). The lexicon's digest is part of the hash.
 */
export function probeSetFromDocuments(
  name: string,
  docs: readonly LabelledText[],
  tokenizer: Tokenizer,
  opts: TextProbeOptions,
): ProbeSet {
  checkNCtx(opts.nCtx);
  const lexicon = probeLexicon(builtinLexiconFor(tokenizer), opts.lexicon);
  const sequences: LabelledSequence[] = [];
  for (const d of docs) {
    const seq = labelText(d.text, d.spans, tokenizer, lexicon);
    if (seq.ids.length > 0) sequences.push(...withBos(seq, opts.nCtx, tokenizer.bosId));
  }
  if (sequences.length === 0) throw new DataError(`${name}: no tokens to probe with`);
  return makeProbeSet(name, sequences, lexicon.digest);
}

/** The shipped real-English probe set (`english`: WordNet's example sentences; see english-probe.ts). */
export function englishProbeSet(tokenizer: Tokenizer, opts: Omit<TextProbeOptions, 'labels'>): ProbeSet {
  const docs = englishProbeDocuments().map((text) => ({ text, spans: [] }));
  return probeSetFromDocuments(ENGLISH_PROBE, docs, tokenizer, opts);
}

/**
 * A probe set from a user's text file: documents separated by blank lines (or, for a `.jsonl` file, the
 * `text` of each `{"text", "spans"}` record), labelled by the concept lexicons. `labels` names a JSONL file
 * of `{"text", "spans"}` records whose spans label the first document that contains the record's text
 * (offsets are relative to the record's text). Long documents are cut into several windows.
 */
export function probeSetFromText(file: string, tokenizer: Tokenizer, opts: TextProbeOptions): ProbeSet {
  checkNCtx(opts.nCtx);
  const docs: LabelledText[] = file.endsWith('.jsonl')
    ? readLabelledTextJsonl(file).map((r) => ({ text: r.text, spans: [...r.spans] }))
    : readTextCorpus(file).map((text) => ({ text, spans: [] }));
  if (opts.labels) {
    const labels = opts.labels;
    const problems = [];
    for (const rec of readLabelledTextJsonl(labels)) {
      const d = docs.find((doc) => doc.text.includes(rec.text));
      if (!d) {
        problems.push({
          file: labels,
          line: rec.line,
          reason: `text ${JSON.stringify(rec.text.slice(0, 40))} does not occur in ${file}`,
        });
        continue;
      }
      const at = d.text.indexOf(rec.text);
      for (const s of rec.spans) d.spans.push({ start: s.start + at, end: s.end + at, concept: s.concept });
    }
    if (problems.length > 0) throw DataError.fromProblems(problems);
  }
  const probe = probeSetFromDocuments(file, docs, tokenizer, opts);
  return { ...probe, name: basename(file) };
}
