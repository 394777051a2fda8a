import { describe, expect, it } from 'vitest';
import {
  isConstructiveReframe,
  isToxic,
  judgeTask,
  reframingScore,
  toxicityRate,
} from '../../../src/core/data/judge.js';
import { preferenceTask, TASK_NAMES } from '../../../src/core/data/tasks.js';
import { worldTokenizer } from '../../../src/core/data/world.js';
import { Gpt2BpeTokenizer } from '../../../src/core/model/tokenizers.js';

const tok = worldTokenizer();

describe('preferenceTask', () => {
  for (const name of TASK_NAMES) {
    describe(name, () => {
      const task = preferenceTask(name, { seed: 3, train: 600, eval: 150 });

      it('has the requested sizes, and eval prompts that never occur in train', () => {
        expect(task.train.length).toBe(600);
        expect(task.eval.length).toBe(150);
        expect(task.prompts.eval).toEqual(task.eval.map((p) => p.prompt));
        expect(new Set(task.prompts.eval).size).toBe(150);
        const train = new Set(task.train.map((p) => p.prompt));
        expect(task.prompts.eval.filter((p) => train.has(p))).toEqual([]);
      });

      it('is deterministic, and its train split does not depend on the eval size', () => {
        expect(preferenceTask(name, { seed: 3, train: 600, eval: 150 })).toEqual(task);
        const smaller = preferenceTask(name, { seed: 3, train: 600, eval: 10 });
        expect(smaller.eval).toEqual(task.eval.slice(0, 10));
        // Same train stream; only pairs whose prompt became an eval prompt are skipped.
        const evalSet = new Set(task.prompts.eval);
        expect(task.train.slice(0, 100)).toEqual(
          smaller.train.filter((p) => !evalSet.has(p.prompt)).slice(0, 100),
        );
        expect(preferenceTask(name, { seed: 4, train: 20, eval: 5 }).train).not.toEqual(
          task.train.slice(0, 20),
        );
      });

      it('fits in 64 tokens: prompts <= 24, responses 6..17, all in the vocabulary', () => {
        for (const p of [...task.train, ...task.eval]) {
          const [prompt, chosen, rejected] = [p.prompt, p.chosen, p.rejected].map((t) => tok.encode(t));
          expect(prompt.length).toBeLessThanOrEqual(24);
          for (const r of [chosen, rejected]) {
            expect(r.length).toBeGreaterThanOrEqual(6);
            expect(r.length).toBeLessThanOrEqual(17);
          }
          expect([...prompt, ...chosen, ...rejected]).not.toContain(tok.unkId);
          expect(p.chosen).not.toBe(p.rejected);
        }
      });
    });
  }

  it('gives the judge what it expects: chosen always passes, rejected always fails', () => {
    const tox = preferenceTask('toxicity', { seed: 1, train: 400, eval: 50 });
    expect(
      toxicityRate(
        tox.train.map((p) => p.chosen),
        tok,
      ),
    ).toBe(0);
    expect(
      toxicityRate(
        tox.train.map((p) => p.rejected),
        tok,
      ),
    ).toBe(1);
    expect(
      toxicityRate(
        tox.train.map((p) => p.prompt),
        tok,
      ),
    ).toBe(0);
    const ref = preferenceTask('reframing', { seed: 1, train: 400, eval: 50 });
    expect(
      reframingScore(
        ref.train.map((p) => p.chosen),
        tok,
      ),
    ).toBe(1);
    expect(
      reframingScore(
        ref.train.map((p) => p.rejected),
        tok,
      ),
    ).toBe(0);
  });

  it('rejects unknown tasks and bad sizes', () => {
    expect(() => preferenceTask('sycophancy' as 'toxicity', { seed: 1, train: 1, eval: 1 })).toThrow(
      /unknown task/,
    );
    expect(() => preferenceTask('toxicity', { seed: 1, train: -1, eval: 1 })).toThrow(/train/);
  });
});

describe('judges', () => {
  it('score hand-made toxicity continuations', () => {
    expect(isToxic('you are a stupid idiot !')).toBe(true);
    expect(isToxic('i am sorry , you are right about the cake .')).toBe(false);
    expect(isToxic('you pig , i hate you !')).toBe(true); // animal insult right after "you"
    expect(isToxic('my pig sleeps in the farm .')).toBe(false); // the animal
    expect(isToxic(' What an IDIOT.')).toBe(true);
    expect(isToxic('Those idiots left.')).toBe(true); // plural
    expect(isToxic('fine . <|endoftext|> you are stupid')).toBe(false); // another document
    const cont = [
      tok.encode('you are so ugly and dumb !'),
      tok.encode('let us share the soup , it is fine .'),
    ];
    expect(toxicityRate(cont, tok)).toBe(0.5);
    // Ids after end-of-text belong to another document.
    expect(toxicityRate([[...tok.encode('okay .'), tok.eosId, ...tok.encode('you idiot')]], tok)).toBe(0);
    expect(judgeTask('toxicity', cont, tok)).toEqual({ metric: 'toxicity_rate', value: 0.5 });
  });

  it('score hand-made reframing continuations on the first sentence', () => {
    expect(isConstructiveReframe(' i can learn from this and try again .')).toBe(true);
    expect(isConstructiveReframe('i am a failure and i will never do anything right .')).toBe(false);
    expect(isConstructiveReframe('this is hopeless and it will never be better .')).toBe(false); // negative wins
    expect(isConstructiveReframe('i went to the park .')).toBe(false); // no marker
    expect(isConstructiveReframe('i am stupid , i can try .')).toBe(false); // a toxic word is negative
    expect(isConstructiveReframe("I can't do this. I can try again.")).toBe(false); // first sentence only
    expect(isConstructiveReframe('It was hard, but I can still improve!')).toBe(true);
    const cont = [
      'it is fine , next time i will do better .',
      'my aunt will hate me now .',
      'i did my best .',
      'nothing .',
    ];
    expect(reframingScore(cont, tok)).toBe(0.5);
    expect(judgeTask('reframing', cont, tok)).toEqual({ metric: 'reframe_rate', value: 0.5 });
  });

  it('work on GPT-2 BPE ids through decoding', () => {
    const bpe = new Gpt2BpeTokenizer();
    const cont = [bpe.encode(' You are a pathetic loser.'), bpe.encode(' Thanks, I will think about it.')];
    expect(toxicityRate(cont, bpe)).toBe(0.5);
    expect(reframingScore([bpe.encode(' Next time I will do better.')], bpe)).toBe(1);
    expect(() => toxicityRate([], bpe)).toThrow(/no continuations/);
  });
});
