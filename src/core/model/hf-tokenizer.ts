/**
 * A Hugging Face `tokenizer.json` (any model but the world's WordLevel), read by `@huggingface/tokenizers`
 * with its `tokenizer_config.json`, as the Hub ships them. Encoding is the library's (normalizer,
 * pre-tokenizer, model, added tokens); this class adds what the library leaves open: which ids are BOS, EOS,
 * padding and special, and how a token spells bytes, for display and for character offsets
 * (`data/offsets.ts`).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as LibTokenizer } from '@huggingface/tokenizers';
import type { Tokenizer } from './tokenizer.js';
import { ChatTemplate } from './chat-template.js';
import { byteFallbackByte, byteLevelBytes, concatBytes, displayBytes } from './token-bytes.js';

const utf8 = new TextEncoder();

/** The files of a Hugging Face tokenizer that {@link HfTokenizer.save} carries into a checkpoint. */
const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
];

/** A node of `tokenizer.json`'s normalizer / pre_tokenizer / decoder trees (only the fields read here). */
interface Component {
  type?: string;
  prepend?: string;
  replacement?: string;
  prepend_scheme?: string;
  add_prefix_space?: boolean;
  pattern?: { String?: string };
  content?: string;
  normalizers?: Component[];
  pretokenizers?: Component[];
  decoders?: Component[];
}

interface TokenizerJson {
  added_tokens?: { id: number; content: string; special?: boolean }[];
  normalizer?: Component | null;
  pre_tokenizer?: Component | null;
  decoder?: Component | null;
  model?: { type?: string; unk_token?: string | null; byte_fallback?: boolean };
}

/** A token named in `tokenizer_config.json`: a string, or an AddedToken object with `content`. */
type ConfigToken = string | { content?: string } | null | undefined;

/** Every component of a tree, depth first. */
function components(c: Component | null | undefined): Component[] {
  if (!c) return [];
  const children = c.normalizers ?? c.pretokenizers ?? c.decoders ?? [];
  return [c, ...children.flatMap(components)];
}

function parseJson(file: string, content: Buffer): unknown {
  try {
    return JSON.parse(content.toString('utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read tokenizer: ${(e as Error).message}`);
  }
}

/** The tokenizer of a Hugging Face folder; see the module comment. */
export class HfTokenizer implements Tokenizer {
  readonly kind = 'hf' as const;
  readonly vocabSize: number;
  readonly eosId: number;
  readonly bosId: number;
  readonly addsBos: boolean;
  readonly padId: number;
  readonly unkId?: number;
  readonly chatTemplate?: ChatTemplate;
  readonly specialIds: ReadonlySet<number>;
  /** The `tokenizer.json` this was read from (named in errors). */
  readonly file: string;
  /**
   * What the normalizer or Metaspace pre-tokenizer puts in front of a section of text (between added
   * tokens), spelled as token bytes: `' '` for Llama 2's `Prepend("▁")`, `''` for byte-level models.
   */
  readonly prefix: string;
  private readonly lib: LibTokenizer;
  private readonly tokens: string[] = [];
  private readonly added = new Set<number>();
  private readonly byteLevel: boolean;
  /** Whether the model spells unknown characters as `<0xNN>` byte tokens (`byte_fallback`). */
  private readonly byteFallback: boolean;
  /** The character that stands for a space in SentencePiece-style vocabularies (`▁`). */
  private readonly spaceMark: string;
  private readonly bytesCache = new Map<number, Uint8Array>();
  /** The folder's tokenizer files as read, by name, for {@link save}. */
  private readonly files = new Map<string, Buffer>();

  /** Reads `tokenizer.json` and `tokenizer_config.json` (optional) from `dir`. */
  constructor(dir: string) {
    this.file = join(dir, 'tokenizer.json');
    const configFile = join(dir, 'tokenizer_config.json');
    for (const f of TOKENIZER_FILES) {
      if (f === 'tokenizer.json' || existsSync(join(dir, f))) {
        try {
          this.files.set(f, readFileSync(join(dir, f)));
        } catch (e) {
          throw new Error(`${join(dir, f)}: cannot read tokenizer: ${(e as Error).message}`);
        }
      }
    }
    const json = parseJson(this.file, this.files.get('tokenizer.json')!) as TokenizerJson;
    const configText = this.files.get('tokenizer_config.json');
    const config = (configText ? parseJson(configFile, configText) : {}) as Record<string, unknown>;
    try {
      this.lib = new LibTokenizer({ added_tokens: [], ...json }, config);
    } catch (e) {
      throw new Error(`${this.file}: @huggingface/tokenizers cannot read it: ${(e as Error).message}`);
    }
    for (const [token, id] of this.lib.get_vocab(true)) this.tokens[id] = token;
    for (const t of json.added_tokens ?? []) this.added.add(t.id);
    this.vocabSize = this.tokens.length;
    this.specialIds = new Set((json.added_tokens ?? []).filter((t) => t.special).map((t) => t.id));

    const all = [json.normalizer, json.pre_tokenizer, json.decoder].flatMap(components);
    this.byteLevel = all.some((c) => c.type === 'ByteLevel');
    this.byteFallback = json.model?.byte_fallback === true;
    const metaspace = components(json.pre_tokenizer).find((c) => c.type === 'Metaspace');
    this.spaceMark = (metaspace ?? all.find((c) => c.type === 'Metaspace'))?.replacement ?? '\u2581';
    const prepend = components(json.normalizer).find((c) => c.type === 'Prepend')?.prepend;
    // The library's Metaspace pre-tokenizer prepends unless `prepend_scheme` is 'never'.
    const metaPrepends = metaspace !== undefined && (metaspace.prepend_scheme ?? 'always') !== 'never';
    this.prefix = prepend !== undefined ? this.spell(prepend) : metaPrepends ? ' ' : '';

    const id = (t: ConfigToken, what: string): number | undefined => {
      const content = typeof t === 'string' ? t : t?.content;
      if (content === undefined) return undefined;
      const found = this.lib.token_to_id(content);
      if (found === undefined) throw new Error(`${configFile}: ${what} '${content}' is not in ${this.file}`);
      return found;
    };
    const eos = id(config.eos_token as ConfigToken, 'eos_token');
    if (eos === undefined)
      throw new Error(`${configFile}: no eos_token (every model here needs an end-of-text token)`);
    this.eosId = eos;
    this.padId = id(config.pad_token as ConfigToken, 'pad_token') ?? eos;
    this.unkId = json.model?.unk_token ? this.lib.token_to_id(json.model.unk_token) : undefined;
    const bos = this.addedBos(
      id(config.bos_token as ConfigToken, 'bos_token'),
      config.add_bos_token === true,
    );
    this.bosId = bos ?? eos;
    this.addsBos = bos !== undefined;
    this.chatTemplate = this.readChatTemplate(dir, configFile, config);
  }

  /**
   * The folder's chat template ({@link ChatTemplate.fromConfig}), rendered with the special tokens of
   * `special_tokens_map.json` and `tokenizer_config.json` (the latter's win, as `transformers` loads them).
   */
  private readChatTemplate(
    dir: string,
    configFile: string,
    config: Record<string, unknown>,
  ): ChatTemplate | undefined {
    const mapText = this.files.get('special_tokens_map.json');
    const mapFile = join(dir, 'special_tokens_map.json');
    const map = (mapText ? parseJson(mapFile, mapText) : {}) as Record<string, unknown>;
    const jinja = this.files.get('chat_template.jinja');
    const fallback = jinja && { file: join(dir, 'chat_template.jinja'), source: jinja.toString('utf8') };
    return ChatTemplate.fromConfig(configFile, { ...map, ...config }, fallback);
  }

  /**
   * The token the model's own tokenization puts first: the post-processor's leading special token (Llama's
   * `TemplateProcessing` `<s> $A`), or `bos_token` where `tokenizer_config.json` says `add_bos_token`;
   * undefined when it adds none (GPT-2, Pythia: their windows start with EOS, as TransformerLens prepends).
   */
  private addedBos(bos: number | undefined, addBos: boolean): number | undefined {
    const plain = this.encode('a');
    const withSpecials = this.lib.encode('a', { add_special_tokens: true }).ids;
    if (
      withSpecials.length > plain.length &&
      withSpecials[0] !== plain[0] &&
      this.specialIds.has(withSpecials[0])
    )
      return withSpecials[0];
    return addBos ? bos : undefined;
  }

  /** Whether `id` is an added token (`added_tokens`), matched verbatim in the text before normalization. */
  isAdded(id: number): boolean {
    return this.added.has(id);
  }

  /** A SentencePiece-style token's text with its space mark as a space. */
  private spell(token: string): string {
    return token.split(this.spaceMark).join(' ');
  }

  encode(text: string): number[] {
    return this.lib.encode(text, { add_special_tokens: false }).ids;
  }

  /**
   * The bytes a token stands for: an added token's content; a byte-fallback token `<0xNN>` -> the byte NN;
   * a byte-level token through GPT-2's alphabet (`Ġthe` -> ` the`); otherwise its text with `▁` as space.
   * An id with no token (the padding rows of an embedding, e.g. Pythia's 50,277..50,303) stands for
   * nothing, as Hugging Face's decode skips it.
   */
  tokenBytes(id: number): Uint8Array {
    let bytes = this.bytesCache.get(id);
    if (bytes) return bytes;
    const token = this.tokens[id] ?? '';
    const fallback = this.byteFallback && !this.added.has(id) ? byteFallbackByte(token) : undefined;
    if (this.added.has(id)) bytes = utf8.encode(token);
    else if (fallback !== undefined) bytes = Uint8Array.of(fallback);
    else bytes = (this.byteLevel ? byteLevelBytes(token) : undefined) ?? utf8.encode(this.spell(token));
    this.bytesCache.set(id, bytes);
    return bytes;
  }

  /**
   * The text of the tokens (their bytes as UTF-8, cut-off characters as `\xNN`), less the space the
   * tokenizer prepends to a text (as the Metaspace decoder and Llama's `Strip` decoder drop it).
   */
  decode(ids: readonly number[]): string {
    const text = displayBytes(concatBytes(ids.map((id) => this.tokenBytes(id))));
    return this.prefix !== '' && text.startsWith(this.prefix) ? text.slice(this.prefix.length) : text;
  }

  /** One token as the text it stands for, with its leading space; part of a character shows as `\xNN`. */
  tokenString(id: number): string {
    return displayBytes(this.tokenBytes(id));
  }

  /** Writes the original tokenizer files, as they were read, into `dir` (a checkpoint folder). */
  save(dir: string): void {
    for (const [f, content] of this.files) writeFileSync(join(dir, f), content);
  }
}
