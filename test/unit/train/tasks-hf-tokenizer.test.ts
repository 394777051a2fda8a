// The built-in world's tasks are English text, so they run on a real model's tokenizer: GPT-2's byte-level
// BPE and a Llama-style SentencePiece BPE (from the Hub's tokenizer.json layout). Their pairs tokenize with
// one BOS where the model adds it and none elsewhere, without a single <unk> (byte-level BPE and byte
// fallback spell every character), and decode back to the text; DPO steps train on them from a
// random-weight Hugging Face checkpoint of each family; and the train op runs `--task toxicity` on a
// Llama-style checkpoint whose short context cuts pairs, counting the cuts in the stored run.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairLimits, tokenizePairs, tokenizePairsReport } from '../../../src/core/data/jsonl.js';
import { preferenceTask, type TaskName } from '../../../src/core/data/tasks.js';
import { HfTokenizer } from '../../../src/core/model/hf-tokenizer.js';
import { Gpt2BpeTokenizer } from '../../../src/core/model/tokenizers.js';
import { loadCheckpoint } from '../../../src/core/model/checkpoint.js';
import { runSpec, train } from '../../../src/core/train/loop.js';
import { preferenceObjective } from '../../../src/core/train/step.js';
import { trainOp } from '../../../src/core/ops/train.js';
import { openProject } from '../../../src/core/store/project.js';
import { useBackend } from '../../helpers/backend.js';
import { writeGpt2Tokenizer, writeLlamaTokenizer } from '../../fixtures/hf-tokenizers.js';
import { makeReferenceCheckpoint } from '../model/architectures/reference.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-tasks-hf-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TASKS: TaskName[] = ['toxicity', 'reframing'];

beforeAll(async () => {
  await useBackend('wasm');
});

describe.each([
  { type: 'gpt2', write: writeGpt2Tokenizer, vocab: 50257, nCtx: { n_ctx: 64 } },
  { type: 'llama', write: writeLlamaTokenizer, vocab: 512, nCtx: { max_position_embeddings: 128 } },
])('the built-in tasks on a $type tokenizer', ({ type, write, vocab, nCtx }) => {
  const ck = join(root, type);
  mkdirSync(ck);
  write(ck);
  const tok = new HfTokenizer(ck);

  it.each(TASKS)('%s: one BOS where the model adds it, no <unk>, and the text back', (task) => {
    const { train } = preferenceTask(task, { seed: 3, train: 200, eval: 0 });
    // Limits that cut nothing, to compare every token with the text.
    const report = tokenizePairsReport(train, tok, pairLimits(4096, {}, true));
    expect([report.truncatedPrompts, report.truncatedResponses]).toEqual([0, 0]);
    const bpe = new Gpt2BpeTokenizer();
    report.pairs.forEach((p, i) => {
      const text = train[i];
      const all = [...p.prompt, ...p.chosen, ...p.rejected];
      expect(all.every((id) => id !== tok.unkId && id >= 0 && id < tok.vocabSize)).toBe(true);
      expect(all.filter((id) => id === tok.bosId)).toHaveLength(tok.addsBos ? 1 : 0);
      const body = tok.addsBos ? p.prompt.slice(1) : p.prompt;
      if (tok.addsBos) expect(p.prompt[0]).toBe(tok.bosId);
      expect(tok.decode(body)).toBe(text.prompt);
      expect(tok.decode(p.chosen)).toBe(text.chosen);
      expect(tok.decode(p.rejected)).toBe(text.rejected);
      // GPT-2's ids are those of the built-in BPE, an implementation independent of @huggingface/tokenizers.
      if (type === 'gpt2')
        expect([body, p.chosen]).toEqual([bpe.encode(text.prompt), bpe.encode(text.chosen)]);
    });
    expect(tok.addsBos).toBe(type === 'llama');
  });

  it('trains DPO steps on toxicity from a random-weight checkpoint, with the pairs cut to its context', async () => {
    makeReferenceCheckpoint(type, ck, { set: { vocab_size: vocab, ...nCtx } });
    const { config, arrays } = loadCheckpoint(ck);
    expect(config.nCtx).toBe(Object.values(nCtx)[0]);
    // The pairs as the train op builds them for a task: the task's limits within the model's context.
    const t = preferenceTask('toxicity', { seed: 5, train: 4, eval: 2 });
    const limits = pairLimits(config.nCtx, {}, true);
    const [train4, eval2] = [t.train, t.eval].map((p) => tokenizePairs(p, tok, limits));
    for (const p of [...train4, ...eval2]) {
      expect(p.prompt.length + Math.max(p.chosen.length, p.rejected.length)).toBeLessThanOrEqual(config.nCtx);
      if (tok.addsBos) expect(p.prompt[0]).toBe(tok.bosId);
    }
    const logged: Record<string, number>[] = [];
    const spec = runSpec({
      stage: 'dpo',
      steps: 2,
      batchSize: 2,
      evalEvery: 2,
      objective: preferenceObjective({ stage: 'dpo', layer: 0 }),
    });
    const res = await train(
      spec,
      { config, arrays, tokenizer: tok, refHash: type },
      { kind: 'pairs', train: train4, eval: eval2 },
      { runDir: join(root, `${type}-run`), onStep: (_, m) => logged.push(m) },
    );
    expect(res.status).toBe('completed');
    expect(logged).toHaveLength(2);
    // From a reference equal to the policy, DPO's first loss is log 2.
    expect(logged[0].loss).toBeCloseTo(Math.LN2, 5);
    expect(Number.isFinite(logged[1].loss)).toBe(true);
    expect(Number.isFinite(res.lastEval?.eval_loss)).toBe(true);
  }, 300_000);
});

describe('train --task on a Llama-style checkpoint', () => {
  it('runs the train op on toxicity, counting the pairs its 96-token context cuts', async () => {
    const ck = join(root, 'llama-op');
    mkdirSync(ck);
    writeLlamaTokenizer(ck);
    const tok = new HfTokenizer(ck);
    makeReferenceCheckpoint('llama', ck, { set: { vocab_size: 512, max_position_embeddings: 96 } });
    const project = openProject(join(root, 'llama-op-project'), { create: true });
    const messages: string[] = [];
    try {
      const req = { stage: 'dpo', name: 'dpo', init: ck, task: 'toxicity', examples: 8, steps: 1 } as const;
      const r = await trainOp(
        project,
        { ...req, batchSize: 2, evalEvery: 0, backend: 'auto' },
        { progress: () => {}, message: (m) => void messages.push(m) },
      );
      expect(r.status).toBe('completed');
      // The same pairs as the op builds them (seed 0: task seed 1000, 8 training and 256 held-out pairs).
      const t = preferenceTask('toxicity', { seed: 1000, train: 8, eval: 256 });
      const limits = { maxLength: 96, maxPrompt: 64 };
      const [a, b] = [t.train, t.eval].map((p) => tokenizePairsReport(p, tok, limits));
      const cut = {
        prompts: a.truncatedPrompts + b.truncatedPrompts,
        responses: a.truncatedResponses + b.truncatedResponses,
      };
      expect(cut.prompts).toBeGreaterThan(0);
      expect(cut.responses).toBeGreaterThan(0);
      expect(project.store.runs.get('dpo')?.config.truncation).toEqual({
        ...limits,
        truncatedPrompts: cut.prompts,
        truncatedResponses: cut.responses,
      });
      for (const p of [...a.pairs, ...b.pairs]) expect(p.prompt[0]).toBe(tok.bosId);
      expect(messages).toContain(
        `truncation as TRL's (max length 96, max prompt length 64): ${cut.prompts} prompt${cut.prompts === 1 ? '' : 's'} cut from the left, ${cut.responses} pair${cut.responses === 1 ? '' : 's'} with responses cut from the right`,
      );
    } finally {
      project.close();
    }
  }, 300_000);
});
