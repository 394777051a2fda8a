/**
 * A model's chat template: the Jinja program in `tokenizer_config.json`'s `chat_template` (or the
 * `chat_template.jinja` file newer `transformers` versions save instead) that turns a list of messages into
 * the text the model was trained on. Rendered by `@huggingface/jinja` as `transformers`'
 * `apply_chat_template(messages, tokenize=False)` renders it: with `messages`, `add_generation_prompt`,
 * `tools` and `documents` as None, and the tokenizer's special tokens (`bos_token`, `eos_token`, ...) as
 * strings.
 */
import { Template } from '@huggingface/jinja';

/** One message of a conversation, as chat templates read it. */
export interface ChatMessage {
  role: string;
  content: string;
}

/** The special-token fields `transformers` passes to a template (its `special_tokens_map`). */
const SPECIAL_TOKEN_FIELDS = [
  'bos_token',
  'eos_token',
  'unk_token',
  'sep_token',
  'pad_token',
  'cls_token',
  'mask_token',
] as const;

/** A token as a tokenizer config names it: a string, or an AddedToken object with `content`. */
function tokenText(t: unknown): string | undefined {
  if (typeof t === 'string') return t;
  if (typeof t === 'object' && t !== null && typeof (t as { content?: unknown }).content === 'string')
    return (t as { content: string }).content;
  return undefined;
}

/** A compiled chat template with the special tokens it is rendered with. */
export class ChatTemplate {
  private readonly template: Template;
  private readonly tokens: Record<string, unknown>;

  /**
   * Compiles `source` (a Jinja chat template); `file` names where it came from in errors, and `config` is
   * the tokenizer configuration whose special tokens the template may read.
   */
  constructor(
    readonly file: string,
    source: string,
    config: Record<string, unknown>,
  ) {
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new Error(`${file}: chat_template: @huggingface/jinja cannot parse it: ${(e as Error).message}`);
    }
    const tokens: Record<string, unknown> = {};
    for (const field of SPECIAL_TOKEN_FIELDS) {
      const text = tokenText(config[field]);
      if (text !== undefined) tokens[field] = text;
    }
    const extra = config.additional_special_tokens;
    if (Array.isArray(extra)) tokens.additional_special_tokens = extra.map(tokenText).filter((t) => t);
    this.tokens = tokens;
  }

  /**
   * The template of a tokenizer configuration: `chat_template` as a string, or as a list of named templates
   * (`[{name, template}]`) the one named `default`, as `transformers` picks it when no name is given; else
   * `fallback` (the folder's `chat_template.jinja`, when there is one); undefined when there is none.
   */
  static fromConfig(
    file: string,
    config: Record<string, unknown>,
    fallback?: { file: string; source: string },
  ): ChatTemplate | undefined {
    const t = config.chat_template;
    if (typeof t === 'string') return new ChatTemplate(file, t, config);
    if (Array.isArray(t)) {
      const named = t as { name?: unknown; template?: unknown }[];
      const found = named.find((x) => x?.name === 'default');
      if (!found || typeof found.template !== 'string') {
        const names = named.map((x) => JSON.stringify(x?.name)).join(', ');
        throw new Error(
          `${file}: chat_template lists named templates (${names}) but none named "default" with a template string`,
        );
      }
      return new ChatTemplate(file, found.template, config);
    }
    if (t !== undefined && t !== null) {
      throw new Error(`${file}: chat_template is neither a string nor a list of {name, template}`);
    }
    return fallback ? new ChatTemplate(fallback.file, fallback.source, config) : undefined;
  }

  /**
   * The text of `messages` as the model reads it; with `addGenerationPrompt` the template also writes what
   * opens the assistant's reply. A template's own refusal (`raise_exception`) is thrown with its message.
   */
  render(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
    try {
      return this.template.render({
        ...this.tokens,
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        add_generation_prompt: addGenerationPrompt,
        tools: null,
        documents: null,
      });
    } catch (e) {
      throw new Error(`the chat template of ${this.file} fails: ${(e as Error).message}`);
    }
  }
}
