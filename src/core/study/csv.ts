/**
 * The study's numbers as CSV text (the report's `--csv DIR` files): the per-cell metrics, the summary over
 * seeds, the proxies and reward margins over training, and the verdicts. Written as the store's CSVs are
 * (`analysis/export.ts` recordsCsv: RFC 4180, full-precision numbers that pandas reads back exactly, `nan`
 * and `inf` for the specials, empty fields where a value is absent), so a reader can recompute every number.
 */
import { recordsCsv } from '../analysis/export.js';
import { measuredCells, metricNames } from './summary.js';
import type { CellState, SummaryRow, Verdict } from './types.js';

/** `cells.csv`: one row per done cell: `method`, `seed`, `task`, then one column per metric (see metricNames). */
export function cellsCsv(cells: readonly CellState[]): string {
  const done = measuredCells(cells);
  const metrics = metricNames(done.map((c) => c.metrics.values));
  return recordsCsv(
    done.map((c) => ({ method: c.method, seed: c.seed, task: c.task, ...c.metrics.values })),
    ['method', 'seed', 'task', ...metrics],
  );
}

/**
 * `summary.csv`: `method`, `metric`, `mean`, `ci_low`, `ci_high`, `n`, then the paired comparison with DPO
 * (`diff_vs_dpo`, `diff_ci_low`, `diff_ci_high`, `p_value` (sign-flip), `p_holm`, `effect_size_dz`,
 * `n_pairs`; empty where there is none), then `task`.
 */
export function summaryCsv(rows: readonly SummaryRow[]): string {
  return recordsCsv(
    rows.map((r) => ({
      method: r.method,
      metric: r.metric,
      mean: r.mean,
      ci_low: r.ciLow,
      ci_high: r.ciHigh,
      n: r.n,
      diff_vs_dpo: r.paired?.diff,
      diff_ci_low: r.paired?.ciLow,
      diff_ci_high: r.paired?.ciHigh,
      p_value: r.paired?.p,
      p_holm: r.paired?.pAdjusted,
      effect_size_dz: r.paired?.effectSize,
      n_pairs: r.paired?.n,
      task: r.task,
    })),
    [
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
    ],
  );
}

/** `trajectory.csv`: the proxies over training steps, long form: `method`, `seed`, `task`, `step`, `metric`, `value`. */
export function trajectoryCsv(cells: readonly CellState[]): string {
  const records = measuredCells(cells).flatMap((c) =>
    c.metrics.trajectory.flatMap((t) =>
      metricNames([t.values]).map((metric) => ({
        method: c.method,
        seed: c.seed,
        task: c.task,
        step: t.step,
        metric,
        value: t.values[metric],
      })),
    ),
  );
  return recordsCsv(records, ['method', 'seed', 'task', 'step', 'metric', 'value']);
}

/** `margins.csv`: the reward margin over training: `method`, `seed`, `task`, `step`, `train`, `eval`. */
export function marginsCsv(cells: readonly CellState[]): string {
  const records = measuredCells(cells).flatMap((c) =>
    c.metrics.margins.map((m) => ({
      method: c.method,
      seed: c.seed,
      task: c.task,
      step: m.step,
      train: m.train,
      eval: m.eval,
    })),
  );
  return recordsCsv(records, ['method', 'seed', 'task', 'step', 'train', 'eval']);
}

/** `verdicts.csv`: one row per verdict, the claim, the compared methods and the numbers behind the word. */
export function verdictsCsv(verdicts: readonly Verdict[]): string {
  return recordsCsv(
    verdicts.map((v) => ({
      id: v.id,
      task: v.task,
      verdict: v.verdict,
      metric: v.metric,
      a: v.a,
      b: v.b,
      direction: v.direction,
      n: v.n,
      diff: v.diff,
      ci_low: v.ciLow,
      ci_high: v.ciHigh,
      p_value: v.p,
      p_holm: v.pAdjusted,
      effect_size_dz: v.effectSize,
      claim: v.claim,
      source: v.source,
    })),
    [
      'id',
      'task',
      'verdict',
      'metric',
      'a',
      'b',
      'direction',
      'n',
      'diff',
      'ci_low',
      'ci_high',
      'p_value',
      'p_holm',
      'effect_size_dz',
      'claim',
      'source',
    ],
  );
}
