/**
 * Token ids of a text with the character range `[start, end)` each token covers, for every tokenizer, so
 * that labels on words or character spans can be put on tokens.
 *
 * - Word-level: the pieces of the Whitespace pre-tokenizer, matched on the original text.
 * - GPT-2 BPE and Hugging Face tokenizers: each token's bytes (`tokenBytes`, the one place that spells a
 *   token), laid over the UTF-8 bytes of the text and mapped back to characters. A token that ends inside a
 *   multi-byte character covers the whole character. Text between added tokens is a section, as the
 *   tokenizer normalizes it: a section's tokens may start with the space the normalizer prepends (Llama's
 *   `Prepend("▁")`), which covers no character; any other change (lower-casing, a normalization form the
 *   text is not in) makes offsets impossible and throws.
 */
import { HfTokenizer } from '../model/hf-tokenizer.js';
import type { Tokenizer } from '../model/tokenizer.js';
import { concatBytes } from '../model/token-bytes.js';
import {
  EOS_TOKEN,
  type Gpt2BpeTokenizer,
  PAD_TOKEN,
  pretokenize,
  type WordLevelTokenizer,
} from '../model/tokenizers.js';

/** Token ids and their character ranges in the text. */
export interface TokenOffsets {
  ids: number[];
  start: number[];
  end: number[];
}

/**
 * The ids of `text` (exactly `tokenizer.encode(text)`) with each token's character range. Self-checks:
 * word-level pieces must give encode()'s ids; byte-spelled tokens must spell the text.
 */
export function tokenizeWithOffsets(text: string, tokenizer: Tokenizer): TokenOffsets {
  const expected = tokenizer.encode(text);
  if (tokenizer.kind !== 'word-level')
    return byteOffsets(text, expected, tokenizer as Gpt2BpeTokenizer | HfTokenizer);
  const out = wordLevelOffsets(text, tokenizer as WordLevelTokenizer);
  if (expected.length !== out.ids.length || expected.some((id, i) => id !== out.ids[i])) {
    throw new Error(
      `token offsets disagree with ${tokenizer.kind} encode() on a text starting ${JSON.stringify(text.slice(0, 40))}`,
    );
  }
  return out;
}

const PIECE = /\w+|[^\w\s]+/gu;

function wordLevelOffsets(text: string, tok: WordLevelTokenizer): TokenOffsets {
  const out: TokenOffsets = { ids: [], start: [], end: [] };
  let base = 0;
  // Specials are matched verbatim first, as WordLevelTokenizer.encode does.
  for (const part of text.split(/(<\|endoftext\|>|<pad>)/)) {
    if (part === EOS_TOKEN || part === PAD_TOKEN) {
      out.ids.push(part === EOS_TOKEN ? tok.eosId : tok.padId);
      out.start.push(base);
      out.end.push(base + part.length);
    } else {
      for (const m of part.matchAll(PIECE)) {
        // Lower-casing can split a piece (U+0130 -> i + U+0307): every sub-piece covers the whole piece.
        for (const w of pretokenize(m[0])) {
          out.ids.push(tok.id(w) ?? tok.unkId);
          out.start.push(base + m.index!);
          out.end.push(base + m.index! + m[0].length);
        }
      }
    }
    base += part.length;
  }
  return out;
}

const utf8 = new TextEncoder();
const text8 = new TextDecoder();

/**
 * `floor[b]` / `ceil[b]`: the character offset at or before / at or after byte offset `b` of the UTF-8 text
 * (as TextEncoder writes it: a lone surrogate becomes U+FFFD, 3 bytes).
 */
function byteToChar(text: string): { floor: number[]; ceil: number[] } {
  const floor: number[] = [];
  const ceil: number[] = [];
  let chars = 0;
  for (const ch of text) {
    const n = utf8.encode(ch).length;
    for (let k = 0; k < n; k++) {
      floor.push(chars);
      ceil.push(k === 0 ? chars : chars + ch.length);
    }
    chars += ch.length;
  }
  floor.push(chars);
  ceil.push(chars);
  return { floor, ceil };
}

/** The character ranges of `ids` (`tok.encode(text)`), through each token's bytes; see the module comment. */
function byteOffsets(text: string, ids: number[], tok: Gpt2BpeTokenizer | HfTokenizer): TokenOffsets {
  const source = tok instanceof HfTokenizer ? tok.file : 'GPT-2 BPE';
  const isAdded = (id: number) => (tok instanceof HfTokenizer ? tok.isAdded(id) : id === tok.eosId);
  const prefix = utf8.encode(tok instanceof HfTokenizer ? tok.prefix : '');
  const fail = (at: number): never => {
    throw new Error(
      `${source}: the tokenizer's normalization changes the text at character ${at} ` +
        `(${JSON.stringify(text.slice(at, at + 20))}), so tokens cannot be mapped to characters`,
    );
  };
  const out: TokenOffsets = { ids, start: [], end: [] };
  let pos = 0; // characters of the text covered so far
  let i = 0;
  while (i < ids.length) {
    if (isAdded(ids[i])) {
      const content = text8.decode(tok.tokenBytes(ids[i]));
      if (!text.startsWith(content, pos)) fail(pos);
      out.start.push(pos);
      out.end.push(pos + content.length);
      pos += content.length;
      i += 1;
      continue;
    }
    // A section: the ordinary tokens up to the next added token, and the text up to its content.
    let j = i;
    while (j < ids.length && !isAdded(ids[j])) j++;
    const next = j < ids.length ? text8.decode(tok.tokenBytes(ids[j])) : undefined;
    const sectionEnd = next === undefined ? text.length : text.indexOf(next, pos);
    if (sectionEnd < 0) fail(pos);
    const section = text.slice(pos, sectionEnd);
    const want = utf8.encode(section);
    const parts = ids.slice(i, j).map((id) => tok.tokenBytes(id));
    const got = concatBytes(parts);
    const inserted =
      got.length === want.length + prefix.length && prefix.every((b, k) => got[k] === b) ? prefix.length : 0;
    if (got.length !== want.length + inserted || want.some((b, k) => got[k + inserted] !== b)) fail(pos);
    const { floor, ceil } = byteToChar(section);
    let bytes = 0;
    for (const p of parts) {
      out.start.push(pos + floor[Math.max(0, bytes - inserted)]);
      bytes += p.length;
      out.end.push(pos + ceil[Math.max(0, bytes - inserted)]);
    }
    pos = sectionEnd;
    i = j;
  }
  if (pos !== text.length) fail(pos);
  return out;
}
