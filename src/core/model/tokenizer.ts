/**
 * The tokenizer contract every model uses. Three kinds implement it: the word-level tokenizer of the
 * built-in world (`worldTokenizer()` in `data/world.ts`, saved as a Hugging Face `tokenizer.json` WordLevel
 * model) and GPT-2's byte-level BPE (offline), both in `model/tokenizers.ts`, and any other Hugging Face
 * `tokenizer.json` (`model/hf-tokenizer.ts`).
 */
import type { ChatTemplate } from './chat-template.js';

export interface Tokenizer {
  /**
   * `word-level` for the built-in world, `gpt2-bpe` for GPT-2 checkpoints without a `tokenizer.json`, `hf`
   * for a Hugging Face `tokenizer.json` read by `@huggingface/tokenizers`.
   */
  readonly kind: 'word-level' | 'gpt2-bpe' | 'hf';
  readonly vocabSize: number;
  /** Id of the end-of-text token (EOS); also BOS and padding where the tokenizer has none, like GPT-2. */
  readonly eosId: number;
  /**
   * Id that starts a window of text, as the model expects: the tokenizer's BOS where it has one (Llama,
   * Gemma), else the end-of-text token (GPT-2, Pythia, the world), as TransformerLens prepends it.
   */
  readonly bosId: number;
  /**
   * Whether the model's own tokenization starts every text with {@link bosId} (Llama, Gemma): prompts and
   * probe windows then start with it too. GPT-2, Pythia and the world add nothing.
   */
  readonly addsBos: boolean;
  /** Id used to right-pad batches (never attended to by real tokens, masked from losses). */
  readonly padId: number;
  /** Ids that are special (BOS/EOS/PAD) and are excluded from top examples by default. */
  readonly specialIds: ReadonlySet<number>;
  /** Id of the unknown-word token, where the vocabulary has one (word-level; byte-level BPE never needs it). */
  readonly unkId?: number;
  /**
   * The model's chat template (`tokenizer_config.json`'s `chat_template`), where it has one: conversational
   * preference pairs are rendered with it.
   */
  readonly chatTemplate?: ChatTemplate;
  /** The ids of a text, with no special tokens added (windows add {@link bosId} themselves). */
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  /** The display string of one token (with its leading space, if any). */
  tokenString(id: number): string;
  /** Writes the tokenizer files into a checkpoint folder (Hugging Face layout). */
  save(dir: string): void;
}

/**
 * The ids a model reads for a text's ids as its own tokenization gives them: BOS in front where the
 * tokenizer adds one, keeping at most `room` ids in all (the text's last ones when it is too long). Ids that
 * already start with that BOS (a chat template wrote it) get no second one, as TRL's DPOTrainer adds BOS
 * only where the prompt does not start with it.
 */
export function modelInput(tokenizer: Tokenizer, ids: readonly number[], room: number): number[] {
  const text = tokenizer.addsBos && ids[0] === tokenizer.bosId ? ids.slice(1) : ids;
  const bos = tokenizer.addsBos && room > 0 ? [tokenizer.bosId] : [];
  const keep = room - bos.length;
  return [...bos, ...(keep <= 0 ? [] : text.slice(-keep))];
}

const SAMPLE = 'The quick brown fox, 42 times: naïve café <3 — 東京 🙂\n  indented';

/**
 * Whether two tokenizers give the same ids (same BOS, EOS, and the same ids of a sample text mixing
 * words, digits, punctuation, accents, CJK, emoji and whitespace), so that two models can score the same
 * tokens. A GPT-2 folder's `tokenizer.json` and the built-in GPT-2 BPE agree; the world's vocabulary and
 * GPT-2's do not.
 */
export function sameTokenization(a: Tokenizer, b: Tokenizer): boolean {
  if (a.bosId !== b.bosId || a.eosId !== b.eosId || a.addsBos !== b.addsBos) return false;
  const x = a.encode(SAMPLE);
  const y = b.encode(SAMPLE);
  return x.length === y.length && x.every((id, i) => id === y[i]);
}
