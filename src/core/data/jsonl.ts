/**
 * Preference pairs and labelled texts from JSONL files, validated line by line. A bad file fails as a whole
 * with one {@link DataError} that lists its first 10 bad lines as `file:line: reason`.
 *
 * Preference layouts, one JSON object per line:
 * - `{"prompt", "chosen", "rejected"}` strings (UltraFeedback-binarized, HH-RLHF with a prompt field);
 * - UltraFeedback message lists: `chosen`/`rejected` are `[{role, content}, ...]`; the last `assistant`
 *   message is the response, and the prompt is `prompt` if present, else the messages before it (a single
 *   user message as its content, several as a `\n\nHuman: ...\n\nAssistant:` transcript);
 * - raw HH-RLHF `{"chosen", "rejected"}` transcripts without a prompt: the prompt is the shared text up to
 *   and including the last `\n\nAssistant:`.
 */
import { modelInput, type Tokenizer } from '../model/tokenizer.js';
import { splitHeldOut } from './batching.js';
import { readUtf8Text } from './corpus.js';
import { DataError, type DataProblem } from './errors.js';
import type { PreferencePair, TokenizedPair } from './types.js';

/** Thrown inside a line's validation; becomes one `file:line: reason` entry. */
class LineProblem extends Error {}

const ASSISTANT = '\n\nAssistant:';

/** The JSON objects of a JSONL file with their line numbers; blank lines skipped, problems collected. */
function parseJsonl<T>(
  file: string,
  parse: (obj: Record<string, unknown>) => T,
): { line: number; value: T }[] {
  const lines = readUtf8Text(file).split('\n');
  const out: { line: number; value: T }[] = [];
  const problems: DataProblem[] = [];
  lines.forEach((text, i) => {
    if (text.trim() === '') return;
    try {
      let obj: unknown;
      try {
        obj = JSON.parse(text);
      } catch (e) {
        throw new LineProblem(`invalid JSON (${(e as Error).message})`);
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
        throw new LineProblem('expected a JSON object');
      }
      out.push({ line: i + 1, value: parse(obj as Record<string, unknown>) });
    } catch (e) {
      if (!(e instanceof LineProblem)) throw e;
      problems.push({ file, line: i + 1, reason: e.message });
    }
  });
  if (problems.length > 0) throw DataError.fromProblems(problems);
  if (out.length === 0) throw new DataError(`${file}: no records (only blank lines)`);
  return out;
}

interface Message {
  role: string;
  content: string;
}

/** A response field: a string, or a message list whose last assistant message is the response. */
function response(
  obj: Record<string, unknown>,
  field: 'chosen' | 'rejected',
): { text: string; before: Message[] | null } {
  const v = obj[field];
  if (v === undefined) throw new LineProblem(`missing field '${field}'`);
  if (typeof v === 'string') return { text: v, before: null };
  if (!Array.isArray(v)) throw new LineProblem(`field '${field}' is not a string or a message list`);
  v.forEach((m, i) => {
    if (typeof m !== 'object' || m === null || typeof m.role !== 'string' || typeof m.content !== 'string') {
      throw new LineProblem(`${field}[${i}] is not a {role, content} message with string fields`);
    }
  });
  const messages = v as Message[];
  const last = messages.map((m) => m.role).lastIndexOf('assistant');
  if (last < 0) throw new LineProblem(`field '${field}' has no assistant message`);
  return { text: messages[last].content, before: messages.slice(0, last) };
}

/** Messages as a prompt: one user message is its content, several are an HH-style transcript. */
function renderMessages(messages: Message[]): string {
  if (messages.length === 1 && messages[0].role === 'user') return messages[0].content;
  const name = (role: string): string => (role === 'user' ? 'Human' : role[0].toUpperCase() + role.slice(1));
  return messages.map((m) => `\n\n${name(m.role)}: ${m.content}`).join('') + ASSISTANT;
}

function preferencePair(obj: Record<string, unknown>): PreferencePair {
  const chosen = response(obj, 'chosen');
  const rejected = response(obj, 'rejected');
  let prompt: string;
  let chosenText = chosen.text;
  let rejectedText = rejected.text;
  if (obj.prompt !== undefined) {
    if (typeof obj.prompt !== 'string') throw new LineProblem(`field 'prompt' is not a string`);
    prompt = obj.prompt;
  } else if (chosen.before && rejected.before) {
    prompt = renderMessages(chosen.before);
    if (prompt !== renderMessages(rejected.before)) {
      throw new LineProblem('chosen and rejected have different prompts');
    }
  } else if (chosen.before === null && rejected.before === null && chosenText.includes(ASSISTANT)) {
    prompt = chosenText.slice(0, chosenText.lastIndexOf(ASSISTANT) + ASSISTANT.length);
    if (!rejectedText.startsWith(prompt)) {
      throw new LineProblem(
        `missing field 'prompt', and chosen and rejected differ before the last "\\n\\nAssistant:"`,
      );
    }
    chosenText = chosenText.slice(prompt.length);
    rejectedText = rejectedText.slice(prompt.length);
  } else {
    throw new LineProblem(`missing field 'prompt'`);
  }
  if (chosenText.trim() === '') throw new LineProblem('the chosen response is empty');
  if (rejectedText.trim() === '') throw new LineProblem('the rejected response is empty');
  if (chosenText === rejectedText) throw new LineProblem('chosen and rejected are identical');
  return { prompt, chosen: chosenText, rejected: rejectedText };
}

/**
 * Preference pairs from a JSONL file (layouts in the module comment). The whole file is validated before
 * anything is returned: a missing or empty file, invalid JSON, a missing or non-string field, an empty
 * response or chosen === rejected throws a {@link DataError} naming `file:line`.
 */
export function readPreferenceJsonl(file: string): PreferencePair[] {
  return parseJsonl(file, preferencePair).map((r) => r.value);
}

/** A text with concept labels on character ranges `[start, end)`. */
export interface LabelledText {
  text: string;
  spans: { start: number; end: number; concept: string }[];
}

function labelledText(obj: Record<string, unknown>): LabelledText {
  if (typeof obj.text !== 'string') {
    throw new LineProblem(obj.text === undefined ? `missing field 'text'` : `field 'text' is not a string`);
  }
  const text = obj.text;
  const spans = obj.spans ?? [];
  if (!Array.isArray(spans)) throw new LineProblem(`field 'spans' is not a list`);
  return {
    text,
    spans: spans.map((s, i) => {
      if (typeof s !== 'object' || s === null) throw new LineProblem(`spans[${i}] is not an object`);
      const { start, end, concept } = s as Record<string, unknown>;
      if (!Number.isInteger(start) || !Number.isInteger(end)) {
        throw new LineProblem(`spans[${i}]: start and end must be integers`);
      }
      if ((start as number) < 0 || (start as number) >= (end as number) || (end as number) > text.length) {
        throw new LineProblem(
          `spans[${i}]: [${start}, ${end}) is not a non-empty range inside the text (length ${text.length})`,
        );
      }
      if (typeof concept !== 'string' || concept.trim() === '') {
        throw new LineProblem(`spans[${i}]: concept must be a non-empty string`);
      }
      return { start: start as number, end: end as number, concept: concept.trim() };
    }),
  };
}

/**
 * Labelled texts from a JSONL file of `{"text": ..., "spans": [{"start", "end", "concept"}]}` (character
 * offsets into `text`, end exclusive; `spans` may be absent). Validated like {@link readPreferenceJsonl};
 * each record keeps its line number for later errors.
 */
export function readLabelledTextJsonl(file: string): (LabelledText & { line: number })[] {
  return parseJsonl(file, labelledText).map((r) => ({ ...r.value, line: r.line }));
}

/** How many pairs {@link tokenizePairsReport} had to cut. */
export interface TruncationReport {
  pairs: TokenizedPair[];
  /** Pairs whose prompt was cut from the left. */
  truncatedPrompts: number;
  /** Pairs with at least one response cut from the right. */
  truncatedResponses: number;
}

/**
 * Tokenizes pairs, cutting prompts from the left to `maxPrompt` tokens (the end of the prompt is what the
 * response follows) and responses from the right to `maxResponse`, and counts the cuts.
 */
export function tokenizePairsReport(
  pairs: readonly PreferencePair[],
  tokenizer: Tokenizer,
  opts: { maxPrompt: number; maxResponse: number },
): TruncationReport {
  if (!(opts.maxPrompt >= 0) || !(opts.maxResponse >= 1)) {
    throw new Error(
      `tokenizePairs: need maxPrompt >= 0 and maxResponse >= 1, got ${opts.maxPrompt}, ${opts.maxResponse}`,
    );
  }
  let truncatedPrompts = 0;
  let truncatedResponses = 0;
  const out = pairs.map((p) => {
    let prompt = tokenizer.encode(p.prompt);
    let chosen = tokenizer.encode(p.chosen);
    let rejected = tokenizer.encode(p.rejected);
    // A tokenizer that starts every text with BOS (Llama, Gemma) puts it in front of the prompt, as TRL's
    // DPOTrainer tokenizes prompts; it counts towards maxPrompt and survives truncation.
    const full = modelInput(tokenizer, prompt, Infinity).length;
    if (full > opts.maxPrompt) truncatedPrompts++;
    prompt = modelInput(tokenizer, prompt, opts.maxPrompt);
    if (chosen.length > opts.maxResponse || rejected.length > opts.maxResponse) {
      chosen = chosen.slice(0, opts.maxResponse);
      rejected = rejected.slice(0, opts.maxResponse);
      truncatedResponses++;
    }
    return { prompt, chosen, rejected };
  });
  return { pairs: out, truncatedPrompts, truncatedResponses };
}

/** Tokenized pairs (see {@link tokenizePairsReport}, which also counts the truncated ones). */
export function tokenizePairs(
  pairs: readonly PreferencePair[],
  tokenizer: Tokenizer,
  opts: { maxPrompt: number; maxResponse: number },
): TokenizedPair[] {
  return tokenizePairsReport(pairs, tokenizer, opts).pairs;
}

/**
 * Above this share of unknown-word (`<unk>`) tokens a preference file is trained on with a warning: one
 * token in ten already blurs what the pairs say.
 */
export const UNKNOWN_TOKEN_WARN_SHARE = 0.1;

/**
 * Checks how much of a preference file the tokenizer's vocabulary knows, over the tokens of its prompts and
 * responses: refuses (a {@link DataError} naming the file and the share) a file whose every token is unknown,
 * on which a model would learn only `<unk>`, and calls `warn` when more than {@link UNKNOWN_TOKEN_WARN_SHARE}
 * are unknown. Tokenizers without an unknown token (byte-level BPE) pass every file.
 */
export function checkUnknownTokens(
  file: string,
  pairs: readonly TokenizedPair[],
  tokenizer: Tokenizer,
  warn: (message: string) => void,
): void {
  if (tokenizer.unkId === undefined) return;
  let total = 0;
  let unknown = 0;
  for (const p of pairs) {
    for (const ids of [p.prompt, p.chosen, p.rejected]) {
      total += ids.length;
      for (const id of ids) if (id === tokenizer.unkId) unknown++;
    }
  }
  if (total === 0) return;
  const share = `${unknown} of its ${total} tokens (${((100 * unknown) / total).toFixed(1)}%)`;
  if (unknown === total) {
    throw new DataError(
      `${file}: ${share} are not in the model's ${tokenizer.vocabSize}-token vocabulary and would all train as <unk>; write the pairs in the model's words, or fine-tune a GPT-2 checkpoint for free text`,
    );
  }
  if (unknown > UNKNOWN_TOKEN_WARN_SHARE * total) {
    warn(
      `warning: ${file}: ${share} are not in the model's ${tokenizer.vocabSize}-token vocabulary and train as <unk>`,
    );
  }
}

/** The share of a preference file's pairs held out for evaluation (at least one pair). */
export const HELD_OUT_PAIRS_SHARE = 0.1;

/**
 * A preference file as training data: read, tokenized ({@link tokenizePairs}), checked for unknown tokens
 * ({@link checkUnknownTokens}), and split by `seed` into held-out pairs ({@link HELD_OUT_PAIRS_SHARE}, at
 * least one) and training pairs. A file too small to leave a pair to train on is refused, with its counts.
 */
export function preferenceFileData(
  file: string,
  tokenizer: Tokenizer,
  limits: { maxPrompt: number; maxResponse: number },
  seed: number,
  warn: (message: string) => void,
): { train: TokenizedPair[]; eval: TokenizedPair[] } {
  const pairs = tokenizePairs(readPreferenceJsonl(file), tokenizer, limits);
  checkUnknownTokens(file, pairs, tokenizer, warn);
  const split = splitHeldOut(pairs, HELD_OUT_PAIRS_SHARE, seed);
  if (split.train.length === 0) {
    throw new DataError(
      `${file}: ${pairs.length} pair${pairs.length === 1 ? '' : 's'}, and the held-out split (${100 * HELD_OUT_PAIRS_SHARE}%, at least 1) takes ${split.eval.length} for evaluation, which leaves no pair to train on; give at least 2 pairs`,
    );
  }
  return split;
}
