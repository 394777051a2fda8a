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
 *   and including the last `\n\nAssistant:`;
 * - TRL's conversational layout: `prompt` a message list too, `chosen`/`rejected` the assistant's messages.
 * Where the model has a chat template, pairs given as message lists are rendered with it instead, as TRL
 * renders them; plain string pairs are always used as they are.
 */
import type { ChatMessage as Message, ChatTemplate } from '../model/chat-template.js';
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

/** A response field as read: its text and, for a message list, the messages before it. */
interface Turn {
  text: string;
  /** The messages before the response (null for a string field). */
  before: Message[] | null;
}

/** A list of `{role, content}` messages with string fields, or a {@link LineProblem} naming `field`. */
function messageList(v: unknown[], field: string): Message[] {
  v.forEach((m: unknown, i) => {
    const { role, content } = (m ?? {}) as Record<string, unknown>;
    if (typeof m !== 'object' || typeof role !== 'string' || typeof content !== 'string') {
      throw new LineProblem(`${field}[${i}] is not a {role, content} message with string fields`);
    }
  });
  return (v as Message[]).map((m) => ({ role: m.role, content: m.content }));
}

/** A response field: a string, or a message list whose last assistant message is the response. */
function response(obj: Record<string, unknown>, field: 'chosen' | 'rejected'): Turn {
  const v = obj[field];
  if (v === undefined) throw new LineProblem(`missing field '${field}'`);
  if (typeof v === 'string') return { text: v, before: null };
  if (!Array.isArray(v)) throw new LineProblem(`field '${field}' is not a string or a message list`);
  const messages = messageList(v, field);
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

/**
 * A pair given as messages, for a chat template: the prompt messages in front of each response (the same
 * unless the file gives a string prompt and differing message lists) and the two assistant messages.
 */
interface Conversation {
  chosenPrompt: Message[];
  rejectedPrompt: Message[];
  chosen: Message;
  rejected: Message;
}

/** A pair as read: its plain-text rendering and, for message lists, the conversation. */
interface PreferenceRecord {
  pair: PreferencePair;
  conversation?: Conversation;
}

const sameMessages = (a: Message[], b: Message[]): boolean => JSON.stringify(a) === JSON.stringify(b);

function preferenceRecord(obj: Record<string, unknown>): PreferenceRecord {
  const chosen = response(obj, 'chosen');
  const rejected = response(obj, 'rejected');
  let prompt: string;
  let promptList: Message[] | null = null;
  let chosenText = chosen.text;
  let rejectedText = rejected.text;
  if (Array.isArray(obj.prompt)) {
    promptList = messageList(obj.prompt, 'prompt');
    const [c, r] = [chosen, rejected].map((t) => [...promptList!, ...(t.before ?? [])]);
    if (!sameMessages(c, r)) throw new LineProblem('chosen and rejected have different prompts');
    promptList = c;
    prompt = renderMessages(promptList);
  } else if (obj.prompt !== undefined) {
    if (typeof obj.prompt !== 'string')
      throw new LineProblem(`field 'prompt' is not a string or a message list`);
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
  const pair = { prompt, chosen: chosenText, rejected: rejectedText };
  if (promptList === null && chosen.before === null && rejected.before === null) return { pair };
  // The prompt messages: the file's list, else those before each response (TRL's `extract_prompt`, which
  // also ignores a string `prompt` beside message lists, as UltraFeedback has), else, where a string prompt
  // comes with a lone assistant message, that string as the user's message (where TRL would drop it).
  const promptOf = (t: Turn): Message[] =>
    promptList ??
    (t.before?.length || obj.prompt === undefined ? (t.before ?? []) : [{ role: 'user', content: prompt }]);
  const assistant = (text: string): Message => ({ role: 'assistant', content: text });
  return {
    pair,
    conversation: {
      chosenPrompt: promptOf(chosen),
      rejectedPrompt: promptOf(rejected),
      chosen: assistant(chosenText),
      rejected: assistant(rejectedText),
    },
  };
}

/** At most `n` characters of a text, as JSON (for error messages). */
const excerpt = (text: string, n = 160): string =>
  JSON.stringify(text.length > n ? `${text.slice(0, n)}...` : text);

/**
 * A conversation rendered with a chat template as TRL's `apply_chat_template` renders a preference example
 * (trl/data_utils.py, v0.11): the prompt with `add_generation_prompt`, each response as the rendering of
 * prompt + response with the rendered prompt removed from its front. A template that does not render the
 * prompt as that prefix is refused, as TRL refuses it.
 */
function renderConversation(c: Conversation, template: ChatTemplate): PreferencePair {
  if (!sameMessages(c.chosenPrompt, c.rejectedPrompt)) {
    throw new LineProblem(
      'chosen and rejected have different prompt messages; a chat template needs one prompt',
    );
  }
  let prompt: string;
  const respond = (m: Message): string => {
    const full = template.render([...c.chosenPrompt, m], false);
    if (!full.startsWith(prompt)) {
      throw new LineProblem(
        `the chat template of ${template.file} does not render the prompt as the start of prompt + response (TRL refuses such a template): the prompt renders as ${excerpt(prompt)}, prompt + ${m === c.chosen ? 'chosen' : 'rejected'} as ${excerpt(full)}`,
      );
    }
    return full.slice(prompt.length);
  };
  try {
    prompt = template.render(c.chosenPrompt, true);
    return { prompt, chosen: respond(c.chosen), rejected: respond(c.rejected) };
  } catch (e) {
    if (e instanceof LineProblem) throw e;
    throw new LineProblem((e as Error).message);
  }
}

/**
 * Preference pairs from a JSONL file (layouts in the module comment). The whole file is validated before
 * anything is returned: a missing or empty file, invalid JSON, a missing or non-string field, an empty
 * response or chosen === rejected throws a {@link DataError} naming `file:line`. With a `chatTemplate`
 * (the model's), pairs given as message lists are rendered with it ({@link renderConversation}; a
 * template that fails on a line names it too); plain string pairs are used as they are.
 */
export function readPreferenceJsonl(file: string, chatTemplate?: ChatTemplate): PreferencePair[] {
  return parseJsonl(file, (obj) => {
    const r = preferenceRecord(obj);
    return chatTemplate && r.conversation ? renderConversation(r.conversation, chatTemplate) : r.pair;
  }).map((r) => r.value);
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

/**
 * The token limits of a tokenized pair, TRL's `DPOConfig` fields: `maxLength` for prompt + the longer
 * response, `maxPrompt` for the prompt (BOS included).
 */
export interface PairLimits {
  maxLength: number;
  maxPrompt: number;
}

/** TRL's `DPOTrainer` defaults (v0.11): `max_length` 512 and `max_prompt_length` 128. */
export const TRL_MAX_LENGTH = 512;
export const TRL_MAX_PROMPT_LENGTH = 128;

/**
 * The limits of a run's pairs: `maxLength` and `maxPrompt` where given, else defaults within the model's
 * context. A user's file gets TRL's defaults (`min(512, nCtx)`, and `min(128, half of max length)` so that
 * a short context leaves half to the responses); the built-in world's tasks (`task`) keep their own: the
 * whole context, of which responses get at most 32 tokens (half of a shorter one) when a pair is too long.
 * A max length above the context, or a max prompt length that leaves no room for a response, is refused.
 */
export function pairLimits(
  nCtx: number,
  given: { maxLength?: number; maxPrompt?: number },
  task = false,
): PairLimits {
  const maxLength = given.maxLength ?? (task ? nCtx : Math.min(TRL_MAX_LENGTH, nCtx));
  if (maxLength > nCtx) {
    throw new Error(`max length ${maxLength} (--max-length) is above the model's context of ${nCtx} tokens`);
  }
  const half = Math.floor(maxLength / 2);
  const maxPrompt =
    given.maxPrompt ?? (task ? maxLength - Math.min(32, half) : Math.min(TRL_MAX_PROMPT_LENGTH, half));
  if (maxPrompt >= maxLength) {
    throw new Error(
      `max prompt length ${maxPrompt} (--max-prompt-length) must be below max length ${maxLength}: responses are cut to max length - max prompt length`,
    );
  }
  return { maxLength, maxPrompt };
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
 * Tokenizes pairs and truncates them as TRL's DPOTrainer does (v0.11, `_truncate_tokens` with its default
 * `truncation_mode="keep_end"`): when the prompt plus the longer response exceeds `maxLength`, the prompt
 * keeps its last `maxPrompt` tokens; when that is still too long, both responses keep their first
 * `maxLength - maxPrompt`. The prompt starts with BOS where the model's tokenization adds one (once, even if
 * a chat template wrote it); unlike TRL, a cut prompt keeps that BOS (it counts towards `maxPrompt`).
 * Counts the pairs whose prompt, and those with a response, was cut.
 */
export function tokenizePairsReport(
  pairs: readonly PreferencePair[],
  tokenizer: Tokenizer,
  limits: PairLimits,
): TruncationReport {
  const { maxLength, maxPrompt } = limits;
  if (!(maxPrompt >= 0) || !(maxLength > maxPrompt)) {
    throw new Error(`tokenizePairs: need 0 <= maxPrompt < maxLength, got ${maxPrompt}, ${maxLength}`);
  }
  let truncatedPrompts = 0;
  let truncatedResponses = 0;
  const out = pairs.map((p) => {
    const fullPrompt = modelInput(tokenizer, tokenizer.encode(p.prompt), Infinity);
    let prompt = fullPrompt;
    let chosen = tokenizer.encode(p.chosen);
    let rejected = tokenizer.encode(p.rejected);
    const longer = Math.max(chosen.length, rejected.length);
    if (prompt.length + longer > maxLength) prompt = modelInput(tokenizer, fullPrompt, maxPrompt);
    if (prompt.length < fullPrompt.length) truncatedPrompts++;
    if (prompt.length + longer > maxLength) {
      chosen = chosen.slice(0, maxLength - maxPrompt);
      rejected = rejected.slice(0, maxLength - maxPrompt);
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
  limits: PairLimits,
): TokenizedPair[] {
  return tokenizePairsReport(pairs, tokenizer, limits).pairs;
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
 * A preference file as training data: read (rendered with the model's chat template where it has one,
 * {@link readPreferenceJsonl}), tokenized and truncated ({@link tokenizePairsReport}, whose counts it
 * returns), checked for unknown tokens ({@link checkUnknownTokens}), and split by `seed` into held-out pairs
 * ({@link HELD_OUT_PAIRS_SHARE}, at least one) and training pairs. A file too small to leave a pair to
 * train on is refused, with its counts.
 */
export function preferenceFileData(
  file: string,
  tokenizer: Tokenizer,
  limits: PairLimits,
  seed: number,
  warn: (message: string) => void,
): { train: TokenizedPair[]; eval: TokenizedPair[]; truncatedPrompts: number; truncatedResponses: number } {
  const { pairs, truncatedPrompts, truncatedResponses } = tokenizePairsReport(
    readPreferenceJsonl(file, tokenizer.chatTemplate),
    tokenizer,
    limits,
  );
  checkUnknownTokens(file, pairs, tokenizer, warn);
  const split = splitHeldOut(pairs, HELD_OUT_PAIRS_SHARE, seed);
  if (split.train.length === 0) {
    throw new DataError(
      `${file}: ${pairs.length} pair${pairs.length === 1 ? '' : 's'}, and the held-out split (${100 * HELD_OUT_PAIRS_SHARE}%, at least 1) takes ${split.eval.length} for evaluation, which leaves no pair to train on; give at least 2 pairs`,
    );
  }
  return { ...split, truncatedPrompts, truncatedResponses };
}
