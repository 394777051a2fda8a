/**
 * The built-in tokenizers and their files in a checkpoint folder (Hugging Face layout), and
 * {@link loadTokenizer}, which picks a folder's tokenizer (any other `tokenizer.json` is `hf-tokenizer.ts`'s):
 * - {@link WordLevelTokenizer}: the built-in world's. `tokenizer.json` is a `tokenizers` WordLevel model
 *   with a Lowercase normalizer and the Whitespace pre-tokenizer (`\w+|[^\w\s]+`), so
 *   `PreTrainedTokenizerFast.from_pretrained(folder)` reads it.
 * - {@link Gpt2BpeTokenizer}: GPT-2's byte-level BPE (the r50k_base ranks of `gpt-tokenizer`, offline).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode as bpeEncode } from 'gpt-tokenizer/encoding/r50k_base';
import bpeRanks from 'gpt-tokenizer/bpeRanks/r50k_base';
import { HfTokenizer } from './hf-tokenizer.js';
import type { Tokenizer } from './tokenizer.js';
import { concatBytes, displayBytes } from './token-bytes.js';

export const EOS_TOKEN = '<|endoftext|>';
export const PAD_TOKEN = '<pad>';
export const UNK_TOKEN = '<unk>';
const PRETOKENIZE = /\w+|[^\w\s]+/gu;
const NO_SPACE_BEFORE = /^[.,!?;:)\]}'%]+$/;

/** Splits text into word-level pieces the way the Hugging Face `Whitespace` pre-tokenizer does. */
export function pretokenize(text: string): string[] {
  return text.toLowerCase().match(PRETOKENIZE) ?? [];
}

/** A word-level tokenizer over a fixed vocabulary; ids 0..2 are `<|endoftext|>`, `<pad>`, `<unk>`. */
export class WordLevelTokenizer implements Tokenizer {
  readonly kind = 'word-level' as const;
  readonly eosId = 0;
  readonly bosId = 0;
  readonly addsBos = false;
  readonly padId = 1;
  readonly unkId = 2;
  readonly specialIds: ReadonlySet<number> = new Set([0, 1, 2]);
  private readonly index = new Map<string, number>();

  /** `words` are the ordinary tokens, in id order after the three specials. */
  constructor(readonly tokens: readonly string[]) {
    tokens.forEach((t, i) => {
      if (this.index.has(t)) throw new Error(`duplicate token '${t}' in vocabulary`);
      this.index.set(t, i);
    });
    if (tokens[0] !== EOS_TOKEN || tokens[1] !== PAD_TOKEN || tokens[2] !== UNK_TOKEN) {
      throw new Error(`a word-level vocabulary must start with ${EOS_TOKEN}, ${PAD_TOKEN}, ${UNK_TOKEN}`);
    }
  }

  /** A tokenizer whose ordinary tokens are `words` (specials are added in front). */
  static fromWords(words: readonly string[]): WordLevelTokenizer {
    return new WordLevelTokenizer([EOS_TOKEN, PAD_TOKEN, UNK_TOKEN, ...words]);
  }

  get vocabSize(): number {
    return this.tokens.length;
  }

  /** Id of a token string, or undefined. */
  id(token: string): number | undefined {
    return this.index.get(token);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    // Specials are matched verbatim before normalisation, as `added_tokens` are in `tokenizers`.
    for (const part of text.split(/(<\|endoftext\|>|<pad>)/)) {
      if (part === EOS_TOKEN) out.push(this.eosId);
      else if (part === PAD_TOKEN) out.push(this.padId);
      else for (const w of pretokenize(part)) out.push(this.index.get(w) ?? this.unkId);
    }
    return out;
  }

  decode(ids: readonly number[]): string {
    let s = '';
    for (const id of ids) {
      const t = this.tokens[id] ?? UNK_TOKEN;
      s += s === '' || NO_SPACE_BEFORE.test(t) ? t : ` ${t}`;
    }
    return s;
  }

  tokenString(id: number): string {
    const t = this.tokens[id] ?? UNK_TOKEN;
    return NO_SPACE_BEFORE.test(t) || this.specialIds.has(id) ? t : ` ${t}`;
  }

  save(dir: string): void {
    const vocab: Record<string, number> = {};
    this.tokens.forEach((t, i) => (vocab[t] = i));
    const added = [EOS_TOKEN, PAD_TOKEN, UNK_TOKEN].map((content, id) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })); // prettier-ignore
    const tokenizerJson = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: added,
      normalizer: { type: 'Lowercase' },
      pre_tokenizer: { type: 'Whitespace' },
      post_processor: null,
      decoder: null,
      model: { type: 'WordLevel', vocab, unk_token: UNK_TOKEN },
    };
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson));
    writeFileSync(
      join(dir, 'tokenizer_config.json'),
      JSON.stringify(
        {
          tokenizer_class: 'PreTrainedTokenizerFast',
          bos_token: EOS_TOKEN,
          eos_token: EOS_TOKEN,
          pad_token: PAD_TOKEN,
          unk_token: UNK_TOKEN,
          model_max_length: 1024,
          monoscope_tokenizer: 'word-level',
        },
        null,
        2,
      ),
    );
  }

  /** Reads `tokenizer.json` (WordLevel) from a checkpoint folder. */
  static load(dir: string): WordLevelTokenizer {
    const file = join(dir, 'tokenizer.json');
    let json: { model?: { type?: string; vocab?: Record<string, number> } };
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`${file}: cannot read tokenizer: ${(e as Error).message}`);
    }
    if (json.model?.type !== 'WordLevel' || !json.model.vocab)
      throw new Error(`${file}: not a WordLevel tokenizer`);
    const tokens: string[] = [];
    for (const [t, i] of Object.entries(json.model.vocab)) tokens[i] = t;
    if (tokens.some((t) => t === undefined)) throw new Error(`${file}: vocabulary ids are not contiguous`);
    return new WordLevelTokenizer(tokens);
  }
}

/** GPT-2's byte-level BPE, from the r50k_base ranks shipped with `gpt-tokenizer` (no download). */
export class Gpt2BpeTokenizer implements Tokenizer {
  readonly kind = 'gpt2-bpe' as const;
  readonly vocabSize = 50257;
  readonly eosId = 50256;
  readonly bosId = 50256;
  readonly addsBos = false;
  readonly padId = 50256;
  readonly specialIds: ReadonlySet<number> = new Set([50256]);

  /**
   * BPE of the text between `<|endoftext|>`s, which each become {@link eosId} (as the added token of GPT-2's
   * `tokenizer.json`; gpt-tokenizer 4.0's r50k_base spells it out as text even when it is allowed).
   */
  encode(text: string): number[] {
    return text
      .split(EOS_TOKEN)
      .flatMap((part, i) => (i === 0 ? bpeEncode(part) : [this.eosId, ...bpeEncode(part)]));
  }

  /** The raw bytes of a token (GPT-2 tokens are byte sequences, not always whole UTF-8 characters). */
  tokenBytes(id: number): Uint8Array {
    if (id === this.eosId) return new TextEncoder().encode(EOS_TOKEN);
    const entry = (bpeRanks as readonly (string | readonly number[] | Uint8Array)[])[id];
    if (entry === undefined) throw new Error(`GPT-2 token id ${id} is out of range`);
    return typeof entry === 'string' ? new TextEncoder().encode(entry) : Uint8Array.from(entry);
  }

  /**
   * The tokens' bytes as text (`displayBytes`: a fresh decode per call, as gpt-tokenizer's own `decode`
   * carries a cut-off UTF-8 tail over into the next call; a cut-off character shows as `\xNN`).
   */
  decode(ids: readonly number[]): string {
    return displayBytes(concatBytes(ids.map((id) => this.tokenBytes(id))));
  }

  tokenString(id: number): string {
    return this.decode([id]);
  }

  save(dir: string): void {
    writeFileSync(
      join(dir, 'tokenizer_config.json'),
      JSON.stringify(
        {
          tokenizer_class: 'GPT2Tokenizer',
          bos_token: EOS_TOKEN,
          eos_token: EOS_TOKEN,
          unk_token: EOS_TOKEN,
          model_max_length: 1024,
          monoscope_tokenizer: 'gpt2-bpe',
        },
        null,
        2,
      ),
    );
  }
}

/**
 * The tokenizer of a checkpoint folder with `vocabSize` embedding rows (config.json): a WordLevel
 * `tokenizer.json` gives the world tokenizer; any other `tokenizer.json` a {@link HfTokenizer} whose ids all
 * fit the embedding (models pad it: Pythia has 50,304 rows for 50,277 tokens); without one, GPT-2's
 * `vocab.json` + `merges.txt` or a 50257 vocabulary give GPT-2's BPE.
 */
export function loadTokenizer(dir: string, vocabSize: number): Tokenizer {
  const tj = join(dir, 'tokenizer.json');
  if (existsSync(tj)) {
    const head = readFileSync(tj, 'utf8');
    if (/"type"\s*:\s*"WordLevel"/.test(head)) {
      const tok = WordLevelTokenizer.load(dir);
      if (tok.vocabSize !== vocabSize) {
        throw new Error(
          `${tj}: the tokenizer has ${tok.vocabSize} tokens but config.json says vocab_size ${vocabSize}`,
        );
      }
      return tok;
    }
    const tok = new HfTokenizer(dir);
    if (tok.vocabSize > vocabSize) {
      throw new Error(
        `${tj}: the tokenizer has ids up to ${tok.vocabSize - 1} but config.json says vocab_size ${vocabSize}`,
      );
    }
    return tok;
  }
  const vj = join(dir, 'vocab.json');
  if (existsSync(vj)) {
    const vocab = JSON.parse(readFileSync(vj, 'utf8')) as Record<string, number>;
    const n = Object.keys(vocab).length;
    if (n !== 50257 || vocab['Ġthe'] !== 262) {
      throw new Error(
        `${vj}: only GPT-2's byte-level BPE vocabulary (50257 tokens) is supported, found ${n} tokens`,
      );
    }
  }
  if (vocabSize === 50257 || existsSync(vj)) {
    if (vocabSize < 50257)
      throw new Error(`${dir}: GPT-2 BPE needs vocab_size >= 50257, config.json says ${vocabSize}`);
    return new Gpt2BpeTokenizer();
  }
  throw new Error(
    `${dir}: no tokenizer found (expected tokenizer.json, or vocab.json + merges.txt for GPT-2)`,
  );
}
