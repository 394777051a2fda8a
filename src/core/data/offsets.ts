/**
 * Token ids of a text with the character range `[start, end)` each token covers, for both tokenizers, so
 * that labels on words or character spans can be put on tokens.
 *
 * - Word-level: the pieces of the Whitespace pre-tokenizer, matched on the original text.
 * - GPT-2 BPE: each token's bytes, read from the r50k_base rank table that `gpt-tokenizer` ships (index =
 *   token id; a string, or the raw bytes of a token that is not valid UTF-8 on its own), summed and mapped back
 *   to characters. A token that ends inside a multi-byte character covers the whole character. (Decoding
 *   prefixes progressively would need no table, but gpt-tokenizer 4.0's `decode` keeps an incomplete UTF-8
 *   tail in a shared stream decoder and prepends a U+FFFD to the next call's output.)
 */
import bpeRanks from 'gpt-tokenizer/bpeRanks/r50k_base';
import type { Tokenizer } from '../model/tokenizer.js';
import { EOS_TOKEN, PAD_TOKEN, pretokenize, type WordLevelTokenizer } from '../model/tokenizers.js';

/** Token ids and their character ranges in the text. */
export interface TokenOffsets {
  ids: number[];
  start: number[];
  end: number[];
}

/** The ids of `text` (exactly `tokenizer.encode(text)`) with each token's character range. */
export function tokenizeWithOffsets(text: string, tokenizer: Tokenizer): TokenOffsets {
  const out =
    tokenizer.kind === 'word-level'
      ? wordLevelOffsets(text, tokenizer as WordLevelTokenizer)
      : bpeOffsets(text, tokenizer);
  const expected = tokenizer.encode(text);
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

/** UTF-8 length of a code point as TextEncoder writes it (a lone surrogate becomes U+FFFD, 3 bytes). */
function utf8Length(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

function bpeOffsets(text: string, tok: Tokenizer): TokenOffsets {
  const ids = tok.encode(text);
  // floor[b] / ceil[b]: the character offset at or before / at or after byte offset b.
  const floor: number[] = [];
  const ceil: number[] = [];
  let chars = 0;
  for (const ch of text) {
    const n = utf8Length(ch.codePointAt(0)!);
    for (let k = 0; k < n; k++) {
      floor.push(chars);
      ceil.push(k === 0 ? chars : chars + ch.length);
    }
    chars += ch.length;
  }
  floor.push(chars);
  ceil.push(chars);
  const out: TokenOffsets = { ids, start: [], end: [] };
  let bytes = 0;
  for (const id of ids) {
    const entry = id === tok.eosId ? EOS_TOKEN : bpeRanks[id];
    if (entry === undefined) throw new Error(`GPT-2 token id ${id} is not in the r50k_base table`);
    const n = typeof entry === 'string' ? Buffer.byteLength(entry, 'utf8') : entry.length;
    out.start.push(floor[bytes]);
    bytes += n;
    if (bytes >= floor.length) throw new Error('GPT-2 token bytes run past the end of the text');
    out.end.push(ceil[bytes]);
  }
  if (bytes !== floor.length - 1) throw new Error('GPT-2 token bytes do not add up to the text');
  return out;
}
