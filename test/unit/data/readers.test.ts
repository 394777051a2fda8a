import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTextCorpus } from '../../../src/core/data/corpus.js';
import { DataError } from '../../../src/core/data/errors.js';
import {
  pairLimits,
  readPreferenceJsonl,
  tokenizePairs,
  tokenizePairsReport,
} from '../../../src/core/data/jsonl.js';
import { worldTokenizer } from '../../../src/core/data/world.js';

const dir = mkdtempSync(join(tmpdir(), 'monoscope-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
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

const line = (o: unknown): string => JSON.stringify(o);

describe('readPreferenceJsonl', () => {
  it('reads prompt/chosen/rejected strings and skips blank lines', () => {
    const path = file(
      'good.jsonl',
      [
        line({ prompt: 'Hi', chosen: ' hello', rejected: ' go away', extra: 1 }),
        '',
        '   ',
        line({ prompt: '', chosen: 'a', rejected: 'b' }),
        '',
      ].join('\n'),
    );
    expect(readPreferenceJsonl(path)).toEqual([
      { prompt: 'Hi', chosen: ' hello', rejected: ' go away' },
      { prompt: '', chosen: 'a', rejected: 'b' },
    ]);
  });

  it('reads UltraFeedback message lists', () => {
    const withPrompt = {
      prompt: 'What is 2+2?',
      prompt_id: 'x',
      chosen: [
        { role: 'user', content: 'What is 2+2?' },
        { role: 'assistant', content: '4' },
      ],
      rejected: [
        { role: 'user', content: 'What is 2+2?' },
        { role: 'assistant', content: '5' },
      ],
      score_chosen: 9,
    };
    const noPrompt = {
      chosen: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'Name a colour' },
        { role: 'assistant', content: 'Blue' },
      ],
      rejected: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'Name a colour' },
        { role: 'assistant', content: 'No' },
      ],
    };
    const single = {
      chosen: [
        { role: 'user', content: 'Q' },
        { role: 'assistant', content: 'A' },
      ],
      rejected: [
        { role: 'user', content: 'Q' },
        { role: 'assistant', content: 'B' },
      ],
    };
    const path = file('uf.jsonl', [withPrompt, noPrompt, single].map(line).join('\n'));
    expect(readPreferenceJsonl(path)).toEqual([
      { prompt: 'What is 2+2?', chosen: '4', rejected: '5' },
      {
        prompt: '\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Name a colour\n\nAssistant:',
        chosen: 'Blue',
        rejected: 'No',
      },
      { prompt: 'Q', chosen: 'A', rejected: 'B' },
    ]);
  });

  it('splits raw HH-RLHF transcripts at the last Assistant turn', () => {
    const path = file(
      'hh.jsonl',
      line({
        chosen: '\n\nHuman: Hi\n\nAssistant: Hey\n\nHuman: Help?\n\nAssistant: Sure.',
        rejected: '\n\nHuman: Hi\n\nAssistant: Hey\n\nHuman: Help?\n\nAssistant: No.',
      }),
    );
    expect(readPreferenceJsonl(path)).toEqual([
      {
        prompt: '\n\nHuman: Hi\n\nAssistant: Hey\n\nHuman: Help?\n\nAssistant:',
        chosen: ' Sure.',
        rejected: ' No.',
      },
    ]);
  });

  it('names file:line for every bad line, after reading the whole file', () => {
    const lines = [
      line({ prompt: 'p', chosen: 'a', rejected: 'b' }), // 1 good
      '{"prompt": "p", "chosen": ', // 2 invalid JSON
      line({ prompt: 'p', rejected: 'b' }), // 3 missing chosen
      line({ prompt: 3, chosen: 'a', rejected: 'b' }), // 4 non-string prompt
      '', // 5 blank
      line({ prompt: 'p', chosen: '  ', rejected: 'b' }), // 6 empty response
      line({ prompt: 'p', chosen: 'same', rejected: 'same' }), // 7 identical
      line(['not', 'an', 'object']), // 8
      line({ chosen: 'a', rejected: 'b' }), // 9 no prompt
      line({ prompt: 'p', chosen: [{ role: 'user', content: 'x' }], rejected: 'b' }), // 10 no assistant
      line({ prompt: 'p', chosen: [{ role: 'assistant' }], rejected: 'b' }), // 11 bad message
    ];
    const path = file('bad.jsonl', lines.join('\n'));
    const err = dataError(() => readPreferenceJsonl(path));
    const msg = err.message.split('\n');
    expect(msg[0]).toBe(`9 bad lines in ${path}:`);
    // One `file:line: reason` per bad line, in file order.
    expect(msg.slice(1).map((m) => /^(.*):(\d+): /.exec(m)!.slice(1))).toEqual(
      [2, 3, 4, 6, 7, 8, 9, 10, 11].map((n) => [path, String(n)]),
    );
    expect(err.message).toContain(`${path}:2: invalid JSON`);
    expect(err.message).toContain(`${path}:3: missing field 'chosen'`);
    expect(err.message).toContain(`${path}:4: field 'prompt' is not a string`);
    expect(err.message).toContain(`${path}:6: the chosen response is empty`);
    expect(err.message).toContain(`${path}:7: chosen and rejected are identical`);
    expect(err.message).toContain(`${path}:8: expected a JSON object`);
    expect(err.message).toContain(`${path}:9: missing field 'prompt'`);
    expect(err.message).toContain(`${path}:10: field 'chosen' has no assistant message`);
    expect(err.message).toContain(`${path}:11: chosen[0] is not a {role, content} message`);
    expect(err.problems.map((p) => p.line)).toEqual([2, 3, 4, 6, 7, 8, 9, 10, 11]);
  });

  it('lists at most 10 bad lines and counts the rest', () => {
    const path = file('many.jsonl', Array.from({ length: 25 }, () => '{').join('\n'));
    const err = dataError(() => readPreferenceJsonl(path));
    const msg = err.message.split('\n');
    expect(msg).toHaveLength(12);
    expect(msg[0]).toBe(`25 bad lines in ${path}:`);
    expect(msg[10]).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:10: invalid JSON`));
    expect(msg[11]).toBe('... and 15 more bad lines');
    expect(err.problems).toHaveLength(25);
  });

  it('refuses a missing, empty or blank file, naming it', () => {
    const missing = join(dir, 'nope.jsonl');
    expect(dataError(() => readPreferenceJsonl(missing)).message).toBe(`${missing}: no such file`);
    const empty = file('empty.jsonl', '');
    expect(dataError(() => readPreferenceJsonl(empty)).message).toBe(`${empty}: the file is empty`);
    const blank = file('blank.jsonl', '\n\n  \n');
    expect(dataError(() => readPreferenceJsonl(blank)).message).toBe(
      `${blank}: no records (only blank lines)`,
    );
  });
});

describe('readTextCorpus', () => {
  it('splits documents on blank lines, keeping inner newlines', () => {
    const path = file('corpus.txt', '\uFEFFThe cat sat.\r\nIt was red.\r\n\r\n  \n\nA dog ran.\n\n\n');
    expect(readTextCorpus(path)).toEqual(['The cat sat.\nIt was red.', 'A dog ran.']);
  });

  it('refuses binary, invalid UTF-8, empty and missing files', () => {
    const bin = file('model.bin', new Uint8Array([1, 2, 0, 4, 5]));
    expect(dataError(() => readTextCorpus(bin)).message).toBe(
      `${bin}: looks binary (NUL byte at offset 2), expected UTF-8 text`,
    );
    const latin1 = file('latin1.txt', new Uint8Array([...Buffer.from('ok\nfine\ncaf'), 0xe9, 0x0a]));
    expect(dataError(() => readTextCorpus(latin1)).message).toMatch(
      new RegExp(`latin1\\.txt:3: not valid UTF-8`),
    );
    expect(dataError(() => readTextCorpus(file('blank.txt', '\n \n'))).message).toMatch(/no text/);
    expect(dataError(() => readTextCorpus(join(dir, 'missing.txt'))).message).toMatch(
      /missing\.txt: no such file/,
    );
    mkdirSync(join(dir, 'folder.txt'));
    expect(dataError(() => readTextCorpus(join(dir, 'folder.txt'))).message).toMatch(/is a directory/);
  });
});

describe('tokenizePairs', () => {
  const tok = worldTokenizer();
  const pairs = [
    {
      prompt: 'the cat and the dog sleep near the red fox .',
      chosen: ' you are right .',
      rejected: ' you are a stupid idiot and a fool !',
    },
    { prompt: 'my cat .', chosen: ' okay .', rejected: ' no .' },
  ];

  it('cuts prompts from the left and responses from the right, and counts the cuts', () => {
    const report = tokenizePairsReport(pairs, tok, { maxLength: 9, maxPrompt: 4 });
    expect(report.pairs[0]).toEqual({
      prompt: tok.encode('the red fox .'),
      chosen: tok.encode('you are right .'),
      rejected: tok.encode('you are a stupid idiot'),
    });
    expect(report.pairs[1]).toEqual({
      prompt: tok.encode('my cat .'),
      chosen: tok.encode('okay .'),
      rejected: tok.encode('no .'),
    });
    expect(report.truncatedPrompts).toBe(1);
    expect(report.truncatedResponses).toBe(1);
    expect(tokenizePairs(pairs, tok, { maxLength: 9, maxPrompt: 4 })).toEqual(report.pairs);
    expect(tokenizePairs(pairs, tok, { maxLength: 5, maxPrompt: 0 })[0].prompt).toEqual([]);
  });

  it('truncates as TRL 0.11 does: the prompt only when prompt + longer response is too long, then the responses', () => {
    // Word-level ids, one per word. Limits: 8 tokens in all, 2 for a cut prompt, so responses cut to 6.
    const limits = { maxLength: 8, maxPrompt: 2 };
    const report = tokenizePairsReport(
      [
        // 3 + 10 > 8: the prompt keeps its last 2 words; 2 + 10 > 8 still: both responses keep their first 6.
        {
          prompt: 'the red fox',
          chosen: ' the cat and the dog sleep near the red fox',
          rejected: ' no .',
        },
        // 6 + 2 = 8 fits: nothing is cut, however long the prompt is against maxPrompt.
        { prompt: 'the cat and the dog sleep', chosen: ' okay .', rejected: ' no' },
        // 7 + 3 > 8: the prompt is cut to 2; 2 + 3 fits, so the responses are whole.
        { prompt: 'the cat and the dog sleep near', chosen: ' you are right', rejected: ' no .' },
      ],
      tok,
      limits,
    );
    expect(report.pairs).toEqual([
      {
        prompt: tok.encode('red fox'),
        chosen: tok.encode('the cat and the dog sleep'),
        rejected: tok.encode('no .'),
      },
      {
        prompt: tok.encode('the cat and the dog sleep'),
        chosen: tok.encode('okay .'),
        rejected: tok.encode('no'),
      },
      { prompt: tok.encode('sleep near'), chosen: tok.encode('you are right'), rejected: tok.encode('no .') },
    ]);
    expect([report.truncatedPrompts, report.truncatedResponses]).toEqual([2, 1]);
    expect(() => tokenizePairs(pairs, tok, { maxLength: 4, maxPrompt: 4 })).toThrow(
      'tokenizePairs: need 0 <= maxPrompt < maxLength, got 4, 4',
    );
  });
});

describe('pairLimits', () => {
  it('gives a file TRL’s defaults within the context, and a built-in task the whole context', () => {
    expect(pairLimits(2048, {})).toEqual({ maxLength: 512, maxPrompt: 128 });
    expect(pairLimits(128, {})).toEqual({ maxLength: 128, maxPrompt: 64 });
    expect(pairLimits(64, {})).toEqual({ maxLength: 64, maxPrompt: 32 });
    expect(pairLimits(2048, { maxLength: 300 })).toEqual({ maxLength: 300, maxPrompt: 128 });
    expect(pairLimits(2048, { maxPrompt: 10 })).toEqual({ maxLength: 512, maxPrompt: 10 });
    expect(pairLimits(2048, {}, true)).toEqual({ maxLength: 2048, maxPrompt: 2016 });
    expect(pairLimits(16, {}, true)).toEqual({ maxLength: 16, maxPrompt: 8 });
  });

  it('refuses a max length above the context and a max prompt length that leaves no response', () => {
    expect(() => pairLimits(64, { maxLength: 65 })).toThrow(
      "max length 65 (--max-length) is above the model's context of 64 tokens",
    );
    expect(() => pairLimits(64, { maxLength: 32, maxPrompt: 32 })).toThrow(
      'max prompt length 32 (--max-prompt-length) must be below max length 32: responses are cut to max length - max prompt length',
    );
  });
});
