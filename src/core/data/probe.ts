/**
 * Probe sets: fixed, labelled token sequences that every checkpoint is run on, so that recordings compare.
 * Every sequence starts with `<|endoftext|>` (as BOS, label null) and holds at most `nCtx` tokens.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { Rng } from '../model/rng.js';
import type { Tokenizer } from '../model/tokenizer.js';
import { readTextCorpus } from './corpus.js';
import { DataError } from './errors.js';
import { readLabelledTextJsonl, type LabelledText } from './jsonl.js';
import { lexiconConcept, textWords } from './lexicons.js';
import { tokenizeWithOffsets } from './offsets.js';
import { taskExample } from './tasks.js';
import type { LabelledSequence, ProbeSet } from './types.js';
import { labelledSequence, worldDocument, worldTokenizer } from './world.js';

/** The default built-in probe: 20,000 tokens from seed 1234. */
export const DEFAULT_PROBE = { tokens: 20_000, seed: 1234 } as const;

/** SHA-256 (hex) over the ids and labels of the sequences, in order: the store keys recordings by it. */
export function probeHash(sequences: readonly LabelledSequence[]): string {
  const h = createHash('sha256');
  for (const s of sequences) h.update(JSON.stringify([s.ids, s.concepts]) + '\n');
  return h.digest('hex');
}

/** A probe set from labelled sequences: hash and sorted concepts filled in. */
export function makeProbeSet(name: string, sequences: LabelledSequence[]): ProbeSet {
  const concepts = new Set<string>();
  for (const s of sequences) for (const c of s.concepts) if (c !== null) concepts.add(c);
  return { name, hash: probeHash(sequences), concepts: [...concepts].sort(), sequences };
}

/** Cuts a labelled token run into sequences of at most nCtx tokens, each starting with the BOS token. */
function withBos(seq: LabelledSequence, nCtx: number, bos: number): LabelledSequence[] {
  const out: LabelledSequence[] = [];
  for (let i = 0; i < seq.ids.length; i += nCtx - 1) {
    out.push({
      ids: [bos, ...seq.ids.slice(i, i + nCtx - 1)],
      concepts: [null, ...seq.concepts.slice(i, i + nCtx - 1)],
    });
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

/**
 * Labels the tokens of one text: each token takes the lexicon concept of the first word it overlaps that
 * has one, then user spans override the tokens they overlap (a token's leading whitespace does not count).
 * Special tokens (`<|endoftext|>`, `<pad>`, the world's `<unk>`) stay unlabelled: the model cannot see
 * which word an `<unk>` stands for.
 */
export function labelText(
  text: string,
  spans: LabelledText['spans'],
  tokenizer: Tokenizer,
): LabelledSequence {
  const { ids, start, end } = tokenizeWithOffsets(text, tokenizer);
  // The part of each token after its leading whitespace.
  const from = start.map((s, i) => {
    let k = s;
    while (k < end[i] && /\s/.test(text[k])) k++;
    return k;
  });
  const concepts: (string | null)[] = ids.map(() => null);
  const words = textWords(text);
  let w = 0;
  for (let t = 0; t < ids.length; t++) {
    if (tokenizer.specialIds.has(ids[t])) continue;
    while (w < words.length && words[w].end <= from[t]) w++;
    for (let k = w; k < words.length && words[k].start < end[t]; k++) {
      const c = lexiconConcept(words[k].word);
      if (c !== null) {
        concepts[t] = c;
        break;
      }
    }
  }
  for (const span of spans) {
    for (let t = 0; t < ids.length; t++) {
      if (!tokenizer.specialIds.has(ids[t]) && from[t] < span.end && span.start < end[t]) {
        concepts[t] = span.concept;
      }
    }
  }
  return { ids, concepts };
}

/**
 * A probe set from a user's text file: documents separated by blank lines (or, for a `.jsonl` file, the
 * `text` of each `{"text", "spans"}` record), labelled by the concept lexicons. `labels` names a JSONL file
 * of `{"text", "spans"}` records whose spans label the first document that contains the record's text
 * (offsets are relative to the record's text). Long documents are cut into several sequences.
 */
export function probeSetFromText(
  file: string,
  tokenizer: Tokenizer,
  opts: { nCtx: number; labels?: string },
): ProbeSet {
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
  const sequences: LabelledSequence[] = [];
  for (const d of docs) {
    const seq = labelText(d.text, d.spans, tokenizer);
    if (seq.ids.length > 0) sequences.push(...withBos(seq, opts.nCtx, tokenizer.bosId));
  }
  if (sequences.length === 0) throw new DataError(`${file}: no tokens to probe with`);
  return makeProbeSet(basename(file), sequences);
}
