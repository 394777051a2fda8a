// Conversational preference pairs rendered with the model's chat template, as TRL renders them: the prompt
// with the generation prompt, each response as template(prompt + response) less the rendered prompt, then
// tokenized with one BOS even where the template writes it. Real Hub templates (Llama 3, Qwen2 ChatML,
// Gemma) in fixture tokenizers; the expected strings are written out by hand from the templates, and the
// expected ids from the special tokens' ids and GPT-2's own BPE (the built-in one, not
// @huggingface/tokenizers) on the text between them. `eval` scores such a file on the rendered tokens.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../../../src/core/data/errors.js';
import { readPreferenceJsonl, tokenizePairs } from '../../../src/core/data/jsonl.js';
import { HfTokenizer } from '../../../src/core/model/hf-tokenizer.js';
import { evalPairs } from '../../../src/core/ops/eval.js';
import { trainOp } from '../../../src/core/ops/train.js';
import { openProject } from '../../../src/core/store/project.js';
import { Gpt2BpeTokenizer } from '../../../src/core/model/tokenizers.js';
import {
  CHAT_TEMPLATES,
  writeGemmaChatTokenizer,
  writeGpt2Tokenizer,
  writeLlama3ChatTokenizer,
  writeQwen2ChatTokenizer,
} from '../../fixtures/hf-tokenizers.js';
import { makeReferenceCheckpoint } from '../model/architectures/reference.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-chat-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function tokenizer(name: string, write: (d: string) => number): HfTokenizer {
  const d = join(root, name);
  mkdirSync(d);
  write(d);
  return new HfTokenizer(d);
}

function jsonl(name: string, rows: unknown[]): string {
  const path = join(root, name);
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}

/** The DataError thrown by f (fails the test if none is). */
function dataError(f: () => unknown): DataError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error('expected a DataError');
}

const user = (content: string) => ({ role: 'user', content });
const assistant = (content: string) => ({ role: 'assistant', content });
/** TRL's explicit-prompt conversational layout. */
const QUESTION = {
  prompt: [user('What is 2+2? ')],
  chosen: [assistant(' 4')],
  rejected: [assistant('Five.')],
};
const LIMITS = { maxLength: 100, maxPrompt: 50 };
const bpe = new Gpt2BpeTokenizer();

describe('chat templates', () => {
  const llama3 = tokenizer('llama3', writeLlama3ChatTokenizer);
  const qwen2 = tokenizer('qwen2', writeQwen2ChatTokenizer);
  const gemma = tokenizer('gemma', writeGemmaChatTokenizer);
  const question = jsonl('question.jsonl', [QUESTION]);

  it('renders a Llama 3 conversation as TRL does, and tokenizes it with one <|begin_of_text|>', () => {
    expect(llama3.chatTemplate).toBeDefined();
    const pairs = readPreferenceJsonl(question, llama3.chatTemplate);
    expect(pairs).toEqual([
      {
        prompt:
          '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
        chosen: '4<|eot_id|>',
        rejected: 'Five.<|eot_id|>',
      },
    ]);
    const [BOS, START, END, EOT] = [50257, 50259, 50260, 50261];
    expect([llama3.addsBos, llama3.bosId, llama3.eosId]).toEqual([true, BOS, EOT]);
    const [tok] = tokenizePairs(pairs, llama3, LIMITS);
    expect(tok.prompt).toEqual([
      BOS,
      START,
      ...bpe.encode('user'),
      END,
      ...bpe.encode('\n\nWhat is 2+2?'),
      EOT,
      START,
      ...bpe.encode('assistant'),
      END,
      ...bpe.encode('\n\n'),
    ]);
    expect(tok.prompt.filter((id) => id === BOS)).toHaveLength(1);
    expect(tok.chosen).toEqual([...bpe.encode('4'), EOT]);
    expect(tok.rejected).toEqual([...bpe.encode('Five.'), EOT]);
  });

  it('renders Qwen2 ChatML with its default system message and no BOS', () => {
    const pairs = readPreferenceJsonl(question, qwen2.chatTemplate);
    expect(pairs).toEqual([
      {
        prompt:
          '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2? <|im_end|>\n<|im_start|>assistant\n',
        chosen: ' 4<|im_end|>\n',
        rejected: 'Five.<|im_end|>\n',
      },
    ]);
    const [START, END] = [50257, 50258];
    expect([qwen2.addsBos, qwen2.eosId, qwen2.padId]).toEqual([false, END, 50256]);
    const [tok] = tokenizePairs(pairs, qwen2, LIMITS);
    expect(tok.prompt).toEqual([
      START,
      ...bpe.encode('system\nYou are a helpful assistant.'),
      END,
      ...bpe.encode('\n'),
      START,
      ...bpe.encode('user\nWhat is 2+2? '),
      END,
      ...bpe.encode('\n'),
      START,
      ...bpe.encode('assistant\n'),
    ]);
    expect(tok.chosen).toEqual([...bpe.encode(' 4'), END, ...bpe.encode('\n')]);
  });

  it('renders Gemma, whose template writes <bos> itself, and tokenizes it with one <bos>', () => {
    const pairs = readPreferenceJsonl(question, gemma.chatTemplate);
    expect(pairs).toEqual([
      {
        prompt: '<bos><start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n',
        chosen: '4<end_of_turn>\n',
        rejected: 'Five.<end_of_turn>\n',
      },
    ]);
    const vocab = JSON.parse(readFileSync(join(root, 'gemma', 'tokenizer.json'), 'utf8')).model.vocab;
    const [BOS, START, END] = [vocab['<bos>'], vocab['<start_of_turn>'], vocab['<end_of_turn>']];
    expect([gemma.addsBos, gemma.bosId]).toEqual([true, BOS]);
    const [tok] = tokenizePairs(pairs, gemma, LIMITS);
    expect(tok.prompt).toEqual([
      BOS,
      START,
      ...gemma.encode('user\nWhat is 2+2?'),
      END,
      ...gemma.encode('\n'),
      START,
      ...gemma.encode('model\n'),
    ]);
    expect(tok.chosen).toEqual([...gemma.encode('4'), END, ...gemma.encode('\n')]);
    // Without the template's <bos> the prompt would have gained one: the same ids either way.
    const [plain] = tokenizePairs(
      [{ ...pairs[0], prompt: pairs[0].prompt.slice('<bos>'.length) }],
      gemma,
      LIMITS,
    );
    expect(plain.prompt).toEqual(tok.prompt);
  });

  it('renders UltraFeedback rows and implicit-prompt rows alike; plain and HH-RLHF pairs stay as they are', () => {
    const rows = jsonl('layouts.jsonl', [
      {
        prompt: 'What is 2+2? ',
        chosen: [user('What is 2+2? '), assistant(' 4')],
        rejected: [user('What is 2+2? '), assistant('Five.')],
      },
      {
        chosen: [user('What is 2+2? '), assistant(' 4')],
        rejected: [user('What is 2+2? '), assistant('Five.')],
      },
      { prompt: 'What is 2+2? ', chosen: [assistant(' 4')], rejected: [assistant('Five.')] },
      { prompt: 'What is 2+2?', chosen: ' 4', rejected: ' 5' },
      { chosen: '\n\nHuman: Hi\n\nAssistant: Hello', rejected: '\n\nHuman: Hi\n\nAssistant: Go away' },
    ]);
    const [want] = readPreferenceJsonl(question, qwen2.chatTemplate);
    expect(readPreferenceJsonl(rows, qwen2.chatTemplate)).toEqual([
      want,
      want,
      want,
      { prompt: 'What is 2+2?', chosen: ' 4', rejected: ' 5' },
      { prompt: '\n\nHuman: Hi\n\nAssistant:', chosen: ' Hello', rejected: ' Go away' },
    ]);
    // Without a template the message lists read as before: the user's message and the assistant's reply.
    expect(readPreferenceJsonl(rows)[1]).toEqual({
      prompt: 'What is 2+2? ',
      chosen: ' 4',
      rejected: 'Five.',
    });
  });

  it('names file:line where a template refuses a conversation (Gemma has no system role)', () => {
    const path = jsonl('system.jsonl', [
      QUESTION,
      { ...QUESTION, prompt: [{ role: 'system', content: 'Be brief.' }, user('Hi')] },
    ]);
    const err = dataError(() => readPreferenceJsonl(path, gemma.chatTemplate));
    expect(err.message).toContain(
      `${path}:2: the chat template of ${join(root, 'gemma', 'tokenizer_config.json')} fails`,
    );
    expect(err.message).toContain('System role not supported');
    expect(readPreferenceJsonl(path, qwen2.chatTemplate)[1].prompt).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('refuses a template that does not render the prompt as the start of prompt + response, naming file:line', () => {
    const d = join(root, 'odd');
    mkdirSync(d);
    writeGpt2Tokenizer(d);
    const configFile = join(d, 'tokenizer_config.json');
    const config = JSON.parse(readFileSync(configFile, 'utf8'));
    const odd =
      '{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}{% if add_generation_prompt %}<reply>{% endif %}';
    writeFileSync(configFile, JSON.stringify({ ...config, chat_template: odd }));
    const path = jsonl('odd.jsonl', [{ prompt: 'Q', chosen: 'A', rejected: 'B' }, QUESTION]);
    const err = dataError(() => readPreferenceJsonl(path, new HfTokenizer(d).chatTemplate));
    expect(err.message).toBe(
      `${path}:2: the chat template of ${configFile} does not render the prompt as the start of prompt + response (TRL refuses such a template): the prompt renders as "[user]What is 2+2? <reply>", prompt + chosen as "[user]What is 2+2? [assistant] 4"`,
    );
  });

  it('takes the template named "default" from a list, or chat_template.jinja; refuses a list without one', () => {
    const d = join(root, 'named');
    mkdirSync(d);
    writeGpt2Tokenizer(d);
    const configFile = join(d, 'tokenizer_config.json');
    const config = JSON.parse(readFileSync(configFile, 'utf8'));
    const named = [
      { name: 'tool_use', template: '{{ raise_exception("not this one") }}' },
      { name: 'default', template: CHAT_TEMPLATES.qwen2 },
    ];
    writeFileSync(configFile, JSON.stringify({ ...config, chat_template: named }));
    expect(readPreferenceJsonl(question, new HfTokenizer(d).chatTemplate)[0].prompt).toMatch(
      /^<\|im_start\|>system/,
    );
    writeFileSync(configFile, JSON.stringify({ ...config, chat_template: named.slice(0, 1) }));
    expect(() => new HfTokenizer(d)).toThrow(
      `${configFile}: chat_template lists named templates ("tool_use") but none named "default" with a template string`,
    );
    writeFileSync(configFile, JSON.stringify(config));
    expect(new HfTokenizer(d).chatTemplate).toBeUndefined();
    writeFileSync(join(d, 'chat_template.jinja'), CHAT_TEMPLATES.qwen2);
    const fromFile = new HfTokenizer(d);
    expect(fromFile.chatTemplate?.file).toBe(join(d, 'chat_template.jinja'));
    expect(readPreferenceJsonl(question, fromFile.chatTemplate)).toEqual(
      readPreferenceJsonl(question, qwen2.chatTemplate),
    );
    // A checkpoint saved from it carries the template file.
    const saved = join(root, 'named-saved');
    mkdirSync(saved);
    fromFile.save(saved);
    expect(readFileSync(join(saved, 'chat_template.jinja'), 'utf8')).toBe(CHAT_TEMPLATES.qwen2);
  });

  it('eval scores a conversational file on the tokens its template renders; train renders with it too', async () => {
    const ck = join(root, 'gemma-model');
    mkdirSync(ck);
    expect(writeGemmaChatTokenizer(ck)).toBeLessThanOrEqual(512);
    makeReferenceCheckpoint('gemma', ck, { set: { vocab_size: 512 } });
    const out = await evalPairs({ policy: ck, ref: ck, pairs: question, backend: 'cpu' });
    const [want] = tokenizePairs(readPreferenceJsonl(question, gemma.chatTemplate), gemma, LIMITS);
    const [got] = out.pairs;
    expect([got.prompt_ids, got.chosen_ids, got.rejected_ids]).toEqual([
      want.prompt,
      want.chosen,
      want.rejected,
    ]);
    expect(got.prompt_ids.filter((id) => id === gemma.bosId)).toHaveLength(1);
    expect(out.truncated).toBe(0);
    expect(out.summary.loss).toBeCloseTo(Math.LN2, 5); // the policy is its own reference
    // train reads a file through the checkpoint's template: Gemma's refusal of a system role names the line.
    const system = jsonl('train-system.jsonl', [
      QUESTION,
      QUESTION,
      { ...QUESTION, prompt: [{ role: 'system', content: 'Be brief.' }, user('Hi')] },
    ]);
    const project = openProject(join(root, 'gemma-project'), { create: true });
    try {
      const req = { stage: 'dpo', name: 'dpo', init: ck, pairs: system, steps: 1, backend: 'cpu' } as const;
      const err = await trainOp(project, req, { progress: () => {}, message: () => {} }).catch((e) => e);
      expect(err).toBeInstanceOf(DataError);
      expect((err as Error).message).toContain(`${system}:3: the chat template of `);
      expect((err as Error).message).toContain('System role not supported');
    } finally {
      project.close();
    }
  }, 120_000);
});
