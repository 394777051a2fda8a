// The study's plan (spec.ts): the cells of a grid, their content names, the dedupe of sweep values equal to
// the defaults, and that a changed spec adds only the new cells; the DAG of jobs (scheduler.ts): a seed's
// base before its methods, no more jobs at once than slots, and a failed base fails its methods unrun.
import { describe, expect, it } from 'vitest';
import { parseInput, type OpInput } from '../../../src/core/api.js';
import { gptConfig } from '../../../src/core/model/arch/gpt2.js';
import {
  cellMeasure,
  studyBases,
  studyCells,
  studySpec,
  type GivenModel,
} from '../../../src/core/study/spec.js';
import { runDag, studyJobs, type JobOutcome, type StudyJob } from '../../../src/core/study/scheduler.js';

const plan = (input: OpInput<'study'>, model?: GivenModel) => {
  const spec = studySpec(parseInput('study', input), 2, model);
  return { spec, cells: studyCells(spec, model) };
};

describe('the study plan', () => {
  it('defaults: the six methods x 5 seeds on toxicity, barlow at the middle block, lambda 1e-3', () => {
    const { spec, cells } = plan({});
    expect(spec).toMatchObject({ name: 'study', seeds: 5, tasks: ['toxicity'], layer: 1, lambda: 1e-3 });
    expect(spec).toMatchObject({ regularizers: ['barlow'], tap: 'mlp.post', probe: 'builtin', steps: 150 });
    expect(cells).toHaveLength(6 * 5);
    for (let seed = 0; seed < 5; seed++) {
      const row = cells.filter((c) => c.seed === seed);
      expect(row.map((c) => c.method)).toEqual(['base', 'sft', 'dpo', 'decpo', 'simpo', 'l1']);
      // Every method starts from the seed's own base, pretrained with the seed.
      const base = row[0];
      expect(base.checkpoint).toBe(base.base);
      expect(base.train).toMatchObject({ stage: 'pretrain', seed, steps: 500, examples: 20000 });
      for (const c of row.slice(1)) {
        expect(c.base).toBe(base.checkpoint);
        expect(c.train).toMatchObject({ init: base.checkpoint, seed, steps: 150, batchSize: 16, lr: 1e-4 });
        expect(c.train!.stage).toBe(c.family);
        expect(c.train!.name).toBe(c.checkpoint);
        // The request is a valid train input (the cell worker parses it so).
        parseInput('train', c.train);
      }
      // DPO and DecPO keep a checkpoint every quarter of their steps (the proxies over training).
      for (const c of row.slice(1))
        expect(c.train!.snapshotEvery).toBe(c.family === 'dpo' || c.family === 'decpo' ? 38 : undefined);
      const decpo = row.find((c) => c.method === 'decpo')!;
      expect(decpo).toMatchObject({ regularizer: 'barlow', layer: 1, lambda: 1e-3 });
      expect(decpo.train).toMatchObject({ regularizer: 'barlow', layer: 1, lambda: 1e-3, tap: 'mlp.post' });
    }
    expect(new Set(cells.map((c) => c.base)).size).toBe(5);
    expect(studyBases(spec).map((b) => b.name)).toEqual(
      cells.filter((c) => c.method === 'base').map((c) => c.checkpoint),
    );
  });

  it('quick: 3 seeds and reduced preference steps, on the bases of the full grid', () => {
    const { spec, cells } = plan({ quick: true });
    expect(spec).toMatchObject({ name: 'quick', seeds: 3 });
    expect(spec.steps).toBeLessThan(150);
    const full = plan({});
    const bases = (p: typeof full) => p.cells.filter((c) => c.method === 'base').map((c) => c.checkpoint);
    expect(bases(full).slice(0, 3)).toEqual(bases({ spec, cells }));
    expect(cells).toHaveLength(6 * 3);
  });

  it('names are valid checkpoint names of at most 52 characters, unique per content', () => {
    const { cells } = plan({
      methods: ['base', 'dpo', 'decpo'],
      regularizers: ['barlow', 'rowcos', 'authors'],
      seeds: 64,
      tasks: ['toxicity-easy', 'reframing-easy'],
      layers: [0, 1],
      lambdas: [1e-4, 0.123456789],
    });
    for (const c of cells) {
      expect(c.checkpoint.length).toBeLessThanOrEqual(52);
      expect(() => parseInput('train', { ...c.train, name: `${c.checkpoint}-step1000000` })).not.toThrow();
    }
    const names = new Map<string, string>();
    for (const c of cells) {
      const content = JSON.stringify({ ...c.train, name: undefined });
      if (names.has(c.checkpoint) && c.method !== 'base') expect(names.get(c.checkpoint)).toBe(content);
      names.set(c.checkpoint, content);
    }
    expect(cells.map((c) => c.method)).toContain('decpo-authors');
  });

  it('a sweep value equal to the default is the default decpo cell, kept once', () => {
    const { cells } = plan({ methods: ['decpo'], seeds: 3, layers: [0, 1], lambdas: [1e-4, 1e-3] });
    const seed0 = cells.filter((c) => c.seed === 0);
    expect(seed0.map((c) => c.method)).toEqual(['decpo', 'decpo@layer=0', 'decpo@lambda=0.0001']);
    expect(seed0[1]).toMatchObject({ layer: 0, lambda: 1e-3 });
    expect(seed0[2]).toMatchObject({ layer: 1, lambda: 1e-4 });
    expect(new Set(cells.map((c) => c.checkpoint)).size).toBe(cells.length);
    // The proxies of a swept layer's cell are those of its own block.
    expect(cellMeasure(studySpec(parseInput('study', { seeds: 3 }), 1), seed0[1]).layer).toBe(0);
  });

  it('a changed spec adds only the new cells; a changed base renames its children', () => {
    const a = plan({ methods: ['base', 'dpo'], seeds: 3 }).cells;
    const b = plan({ methods: ['base', 'dpo', 'simpo'], seeds: 4 }).cells;
    const before = new Set(a.map((c) => c.checkpoint));
    const added = b.filter((c) => !before.has(c.checkpoint));
    expect(added.map((c) => `${c.method}/${c.seed}`).sort()).toEqual(
      ['base/3', 'dpo/3', 'simpo/0', 'simpo/1', 'simpo/2', 'simpo/3'].sort(),
    );
    const bigger = plan({ methods: ['base', 'dpo'], seeds: 3, pretrainSteps: 600 }).cells;
    for (const c of bigger) expect(before.has(c.checkpoint)).toBe(false);
    // The backend and the worker count do not name a cell.
    const other = plan({ methods: ['base', 'dpo'], seeds: 3, backend: 'cpu', workers: 1 }).cells;
    expect(other.map((c) => c.checkpoint)).toEqual(a.map((c) => c.checkpoint));
  });

  it('a given model: its checkpoint is every seed base, the methods train LoRA adapters with its tap', () => {
    const config = gptConfig({ vocabSize: 50, nLayer: 4, nEmbd: 16, nHead: 2, nInner: 32, nCtx: 32 });
    const model = { name: 'mymodel', hash: 'abc', config };
    const { spec, cells } = plan({ methods: ['base', 'dpo'], seeds: 3, model: 'mymodel' }, model);
    expect(spec).toMatchObject({ layer: 2, probe: 'english', model: 'mymodel' });
    expect(studyBases(spec)).toEqual([]);
    for (const c of cells) expect(c.base).toBe('mymodel');
    const base = cells.filter((c) => c.method === 'base');
    expect(base.map((c) => c.checkpoint)).toEqual(['mymodel', 'mymodel', 'mymodel']);
    expect(base[0].train).toBeUndefined();
    for (const c of cells.filter((c) => c.method === 'dpo'))
      expect(c.train).toMatchObject({ lora: true, microBatch: 4, init: 'mymodel' });
    const changed = plan({ methods: ['dpo'], seeds: 3, model: 'mymodel' }, { ...model, hash: 'abd' }).cells;
    expect(changed[0].checkpoint).not.toBe(cells.find((c) => c.method === 'dpo')!.checkpoint);
  });

  it('pairs: the task is file:BASENAME, and the file content names the cells', () => {
    const spec = studySpec(parseInput('study', { pairs: 'data/my.jsonl', methods: ['dpo'], seeds: 3 }), 1);
    const a = studyCells(spec, undefined, 'hash-a');
    expect(a[0].task).toBe('file:my.jsonl');
    expect(a[0].checkpoint.startsWith('st-f-my.jsonl-dpo-s0-')).toBe(true);
    expect(a[0].train!.pairs).toBe(spec.pairs);
    expect(studyCells(spec, undefined, 'hash-b')[0].checkpoint).not.toBe(a[0].checkpoint);
  });

  it('refuses a layer the model does not have, and tasks with pairs', () => {
    expect(() => plan({ layers: [2] })).toThrow(/layer 2 does not exist/);
    expect(() => plan({ tasks: ['toxicity'], pairs: 'x.jsonl' })).toThrow(/either tasks or pairs/);
  });
});

describe('the DAG of jobs', () => {
  const cells = plan({ methods: ['dpo', 'decpo'], seeds: 3 }).cells;
  const spec = studySpec(parseInput('study', { methods: ['dpo', 'decpo'], seeds: 3 }), 2);
  const jobs = studyJobs(cells, (c) => cellMeasure(spec, c), studyBases(spec));

  it('one job per checkpoint: the bases (unmeasured here) first, then each method after its base', () => {
    expect(jobs).toHaveLength(3 + 6);
    expect(jobs.slice(0, 3).map((j) => j.cells.length)).toEqual([0, 0, 0]);
    for (const j of jobs.slice(3)) expect(jobs.slice(0, 3).map((b) => b.checkpoint)).toContain(j.after);
  });

  it('runs a job only after its base completed, never more than the slots at once', async () => {
    const log: string[] = [];
    let active = 0;
    let peak = 0;
    const outcomes = await runDag(jobs, 2, async (job: StudyJob): Promise<JobOutcome> => {
      active += 1;
      peak = Math.max(peak, active);
      log.push(`start ${job.checkpoint}`);
      await new Promise((r) => setTimeout(r, 5));
      log.push(`end ${job.checkpoint}`);
      active -= 1;
      return { status: 'completed' };
    });
    expect(peak).toBe(2);
    expect(outcomes.size).toBe(jobs.length);
    for (const j of jobs.filter((x) => x.after))
      expect(log.indexOf(`start ${j.checkpoint}`)).toBeGreaterThan(log.indexOf(`end ${j.after}`));
  });

  it('a failed base fails its methods without running them; the other seeds go on', async () => {
    const ran: string[] = [];
    const failing = jobs[1].checkpoint;
    const outcomes = await runDag(jobs, 2, async (job): Promise<JobOutcome> => {
      ran.push(job.checkpoint);
      if (job.checkpoint === failing) throw new Error('out of memory');
      return { status: 'completed' };
    });
    expect(outcomes.get(failing)).toEqual({ status: 'failed', message: 'out of memory' });
    for (const j of jobs.filter((x) => x.after === failing)) {
      expect(ran).not.toContain(j.checkpoint);
      expect(outcomes.get(j.checkpoint)).toEqual({ status: 'failed', message: `its base ${failing} failed` });
    }
    expect(ran).toHaveLength(jobs.length - 2);
  });
});
