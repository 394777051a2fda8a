// A preference file that cannot train a model is refused before the run starts, with the file named: one
// whose every word is out of the vocabulary (it would train on <unk> only), and one too small to leave a
// pair once the held-out split has taken its share. A mostly-unknown file trains with a warning.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProject, type Project } from '../../../src/core/store/project.js';
import { trainOp } from '../../../src/core/ops/train.js';
import { DataError } from '../../../src/core/data/errors.js';
import { UNKNOWN_TOKEN_WARN_SHARE } from '../../../src/core/data/jsonl.js';
import { makeCheckpoint } from '../record/fixtures.js';

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
async function dpo(name: string, pairs: string): Promise<string[]> {
  const messages: string[] = [];
  await trainOp(
    project,
    { stage: 'dpo', name, init: 'base', pairs, steps: 1, batchSize: 2, evalEvery: 1, backend: 'cpu' },
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
});
