/**
 * Tokens as bytes, and bytes as display text. Byte-level BPE (GPT-2, Pythia, Qwen) and SentencePiece-style
 * BPE with byte fallback (Llama, Gemma) both spell a token as a byte sequence that need not be whole UTF-8
 * characters; {@link displayBytes} turns such bytes into readable text, used by every tokenizer's `decode`
 * and `tokenString` and, through token byte lengths, by `data/offsets.ts`.
 */

/**
 * GPT-2's byte-to-unicode alphabet (`bytes_to_unicode` in openai/gpt-2 `encoder.py`): the printable bytes
 * `!`..`~`, `¡`..`¬`, `®`..`ÿ` stand for themselves; the other 68 bytes, in order, map to U+0100 onwards
 * (so the space byte 0x20 is `Ġ`, U+0120). Index = byte.
 */
export const BYTE_LEVEL_ALPHABET: readonly string[] = (() => {
  const out: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out.push(String.fromCodePoint(printable ? b : next++));
  }
  return out;
})();

const BYTE_OF_CHAR = new Map(BYTE_LEVEL_ALPHABET.map((ch, b) => [ch, b]));

/** The bytes a byte-level token string (e.g. `Ġthe`) stands for, or undefined if it is not one. */
export function byteLevelBytes(token: string): Uint8Array | undefined {
  const out: number[] = [];
  for (const ch of token) {
    const b = BYTE_OF_CHAR.get(ch);
    if (b === undefined) return undefined;
    out.push(b);
  }
  return Uint8Array.from(out);
}

/** The byte of a SentencePiece byte-fallback token `<0xNN>`, or undefined. */
export function byteFallbackByte(token: string): number | undefined {
  const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(token);
  return m ? parseInt(m[1], 16) : undefined;
}

/** The parts, one after the other. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

const strict = new TextDecoder('utf-8', { fatal: true });

/** Length of the UTF-8 sequence a lead byte starts (RFC 3629 section 4), or 0 for a byte that starts none. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/**
 * Bytes as text: every well-formed UTF-8 sequence as its character, every other byte (a character cut off
 * by a token boundary, such as GPT-2's `â€` piece 0xE2 0x80) as `\xNN`, so nothing shows as U+FFFD or
 * mojibake.
 */
export function displayBytes(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    let out = '';
    let i = 0;
    while (i < bytes.length) {
      const n = sequenceLength(bytes[i]);
      let ch: string | undefined;
      if (n > 0 && i + n <= bytes.length) {
        try {
          ch = strict.decode(bytes.subarray(i, i + n));
        } catch {
          ch = undefined;
        }
      }
      if (ch === undefined) {
        out += `\\x${bytes[i].toString(16).padStart(2, '0')}`;
        i += 1;
      } else {
        out += ch;
        i += n;
      }
    }
    return out;
  }
}
