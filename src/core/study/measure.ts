/**
 * TEMPORARY adapter of the engine branch (s12-engine) until slice M's measure.ts is merged: it stores the
 * run's last held-out metrics as the cell's values, so that the engine can be tested end to end. It is
 * replaced by slice M's file at merge; it must not survive.
 */
import type { Project } from '../store/project.js';
import type { Reporter } from '../ops/progress.js';
import type { CellMetrics, StudyCell } from './types.js';

export interface MeasureOptions {
  layer: number;
  tapKind: string;
  probe: string;
  task: string;
  pairs?: string;
}

function inputs(project: Project, cell: StudyCell, o: MeasureOptions) {
  const checkpoint = project.store.checkpoints.get(cell.checkpoint)?.hash;
  const base = project.store.checkpoints.get(cell.base)?.hash;
  return checkpoint && base ? { checkpoint, base, ...o } : undefined;
}

export function storedCellMetrics(
  project: Project,
  cell: StudyCell,
  o: MeasureOptions,
): CellMetrics | undefined {
  const key = inputs(project, cell, o);
  return key && project.store.analyses.get<CellMetrics>('study.cell', key)?.result;
}

export async function measureCell(
  project: Project,
  cell: StudyCell,
  o: MeasureOptions,
  _reporter: Reporter,
  _signal?: AbortSignal,
): Promise<CellMetrics> {
  const have = storedCellMetrics(project, cell, o);
  if (have) return have;
  const key = inputs(project, cell, o)!;
  const run = project.store.runs.get(cell.checkpoint);
  const series = run
    ? project.store.runs.series(run.id, ['eval_rewards/accuracies', 'eval_rewards/margins'])
    : {};
  const last = (n: string) => series[n]?.values.at(-1);
  const values: Record<string, number> = {};
  const acc = last('eval_rewards/accuracies');
  const margin = last('eval_rewards/margins');
  if (acc !== undefined) values.reward_accuracy = acc;
  if (margin !== undefined) values.reward_margin = margin;
  const m: CellMetrics = {
    values,
    layer: o.layer,
    trajectory: [],
    margins: [],
    hashes: { checkpoint: key.checkpoint, base: key.base, probe: '' },
  };
  project.store.analyses.put('study.cell', key, m);
  return m;
}
