/**
 * The summary and the study's CSVs on a synthetic grid (two tasks, seven methods, five seeds, a failed cell,
 * a method with one seed): cells.csv and summary.csv are written to disk, read back with pandas, and every
 * summary cell is recomputed independently from cells.csv (test/python/study_stats.py: mean, SciPy's
 * t-interval, the paired difference against dpo, ttest_rel's interval, the enumerated sign-flip p, Holm
 * per task and metric, d_z). The other CSVs are read back with pandas and compared value by value.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../../src/core/model/rng.js';
import type { StudyMethod } from '../../../src/core/names.js';
import { cellsCsv, marginsCsv, summaryCsv, trajectoryCsv, verdictsCsv } from '../../../src/core/study/csv.js';
import { summarize, verdicts } from '../../../src/core/study/summary.js';
import type { CellState } from '../../../src/core/study/types.js';
import { hasPandas, studyStats } from './reference.js';

if (!hasPandas)
  console.warn('study summary: /usr/bin/python3 with scipy and pandas not found; skipping pandas checks');

const rng = new Rng(12);
const METHODS = ['base', 'sft', 'dpo', 'decpo', 'simpo', 'l1', 'decpo@layer=0'];
const TASKS = { toxicity: 'toxicity_rate', reframing: 'reframe_rate' } as const;

/** One cell with random metrics; the per-block keys come in a different order on odd seeds. */
function cell(task: keyof typeof TASKS, method: string, seed: number): CellState {
  const shift = METHODS.indexOf(method) * 0.01;
  const u = () => rng.next() * 0.1 + shift;
  const blocks: Record<string, number> =
    seed % 2 ? { 'fd@1': u(), 'fd@0': u(), 'mono_share@1': u() } : { 'fd@0': u(), 'fd@1': u() };
  const values: Record<string, number> = {
    reward_accuracy: 0.5 + u(),
    ...(method === 'base' ? {} : { reward_margin: u() * 10 - 0.2 }),
    [TASKS[task]]: 0.3 + u(),
    mono_share: u(),
    fd: 0.4 + u(),
    ...blocks,
  };
  return {
    method,
    family: method.split('@')[0] as StudyMethod,
    seed,
    task,
    checkpoint: `${task}-${method}-${seed}`,
    base: `base-${seed}`,
    ...(method === 'decpo' ? { layer: 1 } : {}),
    status: method === 'simpo' && seed === 3 ? 'failed' : 'done',
    metrics: {
      values,
      layer: 1,
      trajectory: ['dpo', 'decpo'].includes(method)
        ? [0, 10].map((step) => ({ step, values: { fd: u(), mono_share: u(), 'fd@0': u() } }))
        : [],
      margins:
        method === 'dpo'
          ? [
              { step: 5, train: u() },
              { step: 10, train: u(), eval: u() },
            ]
          : [],
      hashes: { checkpoint: 'c', base: 'b', probe: 'p' },
    },
  };
}

const cells: CellState[] = [];
for (const task of Object.keys(TASKS) as (keyof typeof TASKS)[])
  for (const method of METHODS)
    for (const seed of method === 'l1' ? [0] : [0, 1, 2, 3, 4]) cells.push(cell(task, method, seed));
cells.push({ ...cell('toxicity', 'dpo', 9), status: 'training', metrics: undefined });

describe('summarize', () => {
  const rows = summarize(cells);

  it('has one row per task x metric x method with values, in that order, paired against dpo', () => {
    const tox = rows.filter((r) => r.task === 'toxicity');
    expect(tox.filter((r) => r.metric === 'fd').map((r) => r.method)).toEqual(METHODS);
    expect(tox.filter((r) => r.metric === 'reward_margin').map((r) => r.method)).toEqual(METHODS.slice(1));
    expect(unique(tox.map((r) => r.metric))).toEqual([
      'reward_accuracy',
      'toxicity_rate',
      'mono_share',
      'fd',
      'reward_margin',
      'fd@0',
      'fd@1',
      'mono_share@1',
    ]);
    const byMethod = (m: string) => tox.find((r) => r.metric === 'fd' && r.method === m)!;
    expect(byMethod('dpo').paired).toBeUndefined();
    expect(byMethod('l1').n).toBe(1);
    expect(byMethod('l1').paired).toBeUndefined();
    expect(byMethod('l1').ciLow).toBeNaN();
    expect(byMethod('simpo')).toMatchObject({ n: 4, paired: { against: 'dpo', n: 4 } });
    expect(byMethod('decpo').paired!.n).toBe(5);
    // mono_share@1 is on the odd seeds only: 2 each, so 2 pairs.
    expect(tox.find((r) => r.metric === 'mono_share@1' && r.method === 'decpo')!.paired!.n).toBe(2);
    expect(rows.some((r) => r.metric === 'reframe_rate' && r.task === 'toxicity')).toBe(false);
  });

  it('rejects two cells for one method, seed and task', () => {
    expect(() => summarize([cells[0], { ...cells[0] }])).toThrow(/two cells for base, seed 0, toxicity/);
  });
});

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

describe.skipIf(!hasPandas)('the CSVs read back with pandas', () => {
  const dir = mkdtempSync(join(tmpdir(), 'monoscope-study-csv-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  type Read = { columns: string[]; rows: Record<string, string | number | null>[] };
  const done = cells.filter((c) => c.status === 'done');

  it('cells.csv: one row per done cell, every value exact, absent ones empty', () => {
    const read = studyStats<Read>('read', write('cells.csv', cellsCsv(cells)));
    // The unsuffixed metrics in order of first appearance (the base has no reward_margin), then by layer.
    expect(read.columns).toEqual([
      'method',
      'seed',
      'task',
      'reward_accuracy',
      'toxicity_rate',
      'mono_share',
      'fd',
      'reward_margin',
      'reframe_rate',
      'fd@0',
      'fd@1',
      'mono_share@1',
    ]);
    expect(read.rows).toHaveLength(done.length);
    read.rows.forEach((row, i) => {
      const c = done[i];
      expect([row.method, row.seed, row.task]).toEqual([c.method, c.seed, c.task]);
      for (const col of read.columns.slice(3)) expect(row[col]).toBe(c.metrics!.values[col] ?? null);
    });
  });

  it('summary.csv: every cell recomputed from cells.csv by pandas, SciPy and numpy', () => {
    const cellsFile = write('cells.csv', cellsCsv(cells));
    const rows = summarize(cells);
    const summaryFile = write('summary.csv', summaryCsv(rows));
    const check = studyStats<{ checked: number; mismatches: string[] }>('summary', cellsFile, summaryFile);
    expect(check.mismatches).toEqual([]);
    expect(check.checked).toBe(rows.length * 11);
    const read = studyStats<Read>('read', summaryFile);
    expect(read.columns).toEqual([
      'method',
      'metric',
      'mean',
      'ci_low',
      'ci_high',
      'n',
      'diff_vs_dpo',
      'diff_ci_low',
      'diff_ci_high',
      'p_value',
      'p_holm',
      'effect_size_dz',
      'n_pairs',
      'task',
    ]);
  });

  it('the recomputation catches a wrong number', () => {
    const rows = summarize(cells);
    rows[3] = { ...rows[3], ciHigh: rows[3].ciHigh * (1 + 1e-6) };
    const check = studyStats<{ mismatches: string[] }>(
      'summary',
      write('cells.csv', cellsCsv(cells)),
      write('bad.csv', summaryCsv(rows)),
    );
    expect(check.mismatches).toHaveLength(1);
    expect(check.mismatches[0]).toMatch(/ci_high/);
  });

  it('trajectory.csv and margins.csv: long form, every value exact', () => {
    const traj = studyStats<Read>('read', write('trajectory.csv', trajectoryCsv(cells)));
    const want = done.flatMap((c) =>
      c.metrics!.trajectory.flatMap((t) =>
        ['fd', 'mono_share', 'fd@0'].map((metric) => ({
          method: c.method,
          seed: c.seed,
          task: c.task,
          step: t.step,
          metric,
          value: t.values[metric],
        })),
      ),
    );
    expect(traj.rows).toEqual(want);
    const margins = studyStats<Read>('read', write('margins.csv', marginsCsv(cells)));
    expect(margins.columns).toEqual(['method', 'seed', 'task', 'step', 'train', 'eval']);
    expect(margins.rows).toEqual(
      done.flatMap((c) =>
        c.metrics!.margins.map((m) => ({
          method: c.method,
          seed: c.seed,
          task: c.task,
          step: m.step,
          train: m.train ?? null,
          eval: m.eval ?? null,
        })),
      ),
    );
  });

  it('verdicts.csv: one row per verdict with its word and numbers', () => {
    const vs = verdicts(cells, { layers: [0, 1] });
    const read = studyStats<Read>('read', write('verdicts.csv', verdictsCsv(vs)));
    expect(read.rows.map((r) => [r.id, r.task, r.verdict, r.diff, r.ci_low, r.ci_high, r.p_holm])).toEqual(
      vs.map((v) => [v.id, v.task, v.verdict, v.diff, v.ciLow, v.ciHigh, v.pAdjusted]),
    );
    expect(vs.some((v) => v.id === 'layer-matters/reframe_rate')).toBe(true);
    expect(read.columns).toContain('claim');
  });
});
