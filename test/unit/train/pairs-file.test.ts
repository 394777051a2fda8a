// A preference file that cannot train a model is refused before the run starts, with the file named: one
// whose every word is out of the vocabulary (it would train on <unk> only), and one too small to leave a
// pair once the held-out split has taken its share. A mostly-unknown file trains with a warning. Long pairs
// are truncated as TRL does, and the run record counts them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProject, type Project } from '../../../src/core/store/project.js';
import { trainOp } from '../../../src/core/ops/train.js';
import { DataError } from '../../../src/core/data/errors.js';
import { UNKNOWN_TOKEN_WARN_SHARE } from '../../../src/core/data/jsonl.js';
import { makeCheckpoint, WORDS } from '../record/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-pairs-'));
let project: Project;

beforeAll(() => {
  project = openProject(join(root, 'proj'), { create: true });
  makeCheckpoint(project.checkpointDir('base'), { seed: 2 }); // its vocabulary: fixtures' WORDS
});
afterAll(() => {
  project?.close();
  rmSync(root, { recursive: true, force: true });
});

function pairsFile(name: string, pairs: { prompt: string; chosen: string; rejected: string }[]): string {
  const path = join(root, name);
  writeFileSync(path, pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
  return path;
}

/** Runs one DPO step on `pairs` from the tiny checkpoint; returns the messages said on the way. */
async function dpo(
  name: string,
  pairs: string,
  limits: { maxLength?: number; maxPromptLength?: number } = {},
): Promise<string[]> {
  const messages: string[] = [];
  await trainOp(
    project,
    {
      ...{ stage: 'dpo', name, init: 'base', pairs, steps: 1, batchSize: 2, evalEvery: 1, backend: 'cpu' },
      ...limits,
    },
    { progress: () => {}, message: (m) => void messages.push(m) },
  );
  return messages;
}

describe('training on a preference file', () => {
  it('refuses a file whose words are all out of the vocabulary, naming it and the share', async () => {
    const path = pairsFile(
      'french.jsonl',
      Array.from({ length: 5 }, (_, i) => ({
        prompt: `bonjour mon ami ${i}`,
        chosen: ' merci beaucoup',
        rejected: ' va-t-en',
      })),
    );
    const err = await dpo('french', path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toMatch(
      / of its \d+ tokens \(100\.0%\) are not in the model's 19-token vocabulary/,
    );
    expect(project.store.runs.get('french')).toBeUndefined();
  });

  it('warns when more than the threshold share of the tokens is unknown, and trains', async () => {
    // 8 tokens a pair: prompt "the cat is happy" (4 known), chosen "red xyzzy" and rejected "blue plugh"
    // (1 known, 1 unknown each): 2 unknown of 8 = 25%.
    const path = pairsFile(
      'some-unknown.jsonl',
      Array.from({ length: 10 }, () => ({
        prompt: 'the cat is happy',
        chosen: ' red xyzzy',
        rejected: ' blue plugh',
      })),
    );
    expect(0.25).toBeGreaterThan(UNKNOWN_TOKEN_WARN_SHARE);
    const messages = await dpo('some-unknown', path);
    expect(messages).toContain(
      `warning: ${path}: 20 of its 80 tokens (25.0%) are not in the model's 19-token vocabulary and train as <unk>`,
    );
    expect(project.store.runs.get('some-unknown')?.status).toBe('completed');
  });

  it('refuses a 1-pair file, saying that the held-out split took the pair', async () => {
    const path = pairsFile('one.jsonl', [{ prompt: 'the cat', chosen: ' is happy', rejected: ' is sad' }]);
    const err = await dpo('one', path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toBe(
      `${path}: 1 pair, and the held-out split (10%, at least 1) takes 1 for evaluation, which leaves no pair to train on; give at least 2 pairs`,
    );
  });

  it('truncates long pairs as TRL does and counts them in the stored run, with --max-length / --max-prompt-length', async () => {
    const words = (n: number) => Array.from({ length: n }, (_, i) => WORDS[i % WORDS.length]).join(' ');
    // One token a word; the checkpoint's context is 16, so a file's limits are 16 in all, 8 for a cut prompt.
    const path = pairsFile('long.jsonl', [
      // 15 + 2 > 16: prompts cut to 8 (and then fit).
      ...Array.from({ length: 3 }, () => ({ prompt: words(15), chosen: ' red cat', rejected: ' blue dog' })),
      // 3 + 14 > 16, and still after the (short) prompt is kept: both responses cut to 16 - 8 = 8.
      ...Array.from({ length: 2 }, () => ({ prompt: words(3), chosen: ` ${words(14)}`, rejected: ' sad' })),
      // 11 + 2 fits in 16, not in 12.
      { prompt: words(11), chosen: ' happy', rejected: ' sad cat' },
    ]);
    const said = await dpo('long', path);
    expect(project.store.runs.get('long')?.config.truncation).toEqual({
      maxLength: 16,
      maxPrompt: 8,
      truncatedPrompts: 3,
      truncatedResponses: 2,
    });
    expect(said).toContain(
      "truncation as TRL's (max length 16, max prompt length 8): 3 prompts cut from the left, 2 pairs with responses cut from the right",
    );
    await dpo('long-12', path, { maxLength: 12, maxPromptLength: 4 });
    expect(project.store.runs.get('long-12')?.config.truncation).toEqual({
      maxLength: 12,
      maxPrompt: 4,
      truncatedPrompts: 4,
      truncatedResponses: 2,
    });
    await expect(dpo('long-17', path, { maxLength: 17 })).rejects.toThrow(
      "max length 17 (--max-length) is above the model's context of 16 tokens",
    );
    expect(project.store.runs.get('long-17')).toBeUndefined();
  });
});
