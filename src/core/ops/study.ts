/**
 * `monoscope study`: the paper's study as one job. Plans the grid from the input (`study/spec.ts`), stores
 * the study (its spec and cells) under its name, and runs the grid on worker threads (`study/scheduler.ts`)
 * holding the lock `study.{name}` (so `study.get` says it is running); every cell is an ordinary run and
 * checkpoint, measured once and cached by content, so a rerun computes only what is missing.
 *
 * `study.get` builds the study's view from the store alone, cheaply (the app polls it while a study runs):
 * each cell's status (from its run, its stored metrics, and what the job recorded), the summary over seeds
 * and the verdicts.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type { OpParsed } from '../api.js';
import type { ModelConfig } from '../model/architecture.js';
import { lockHeld, withLock } from '../store/locks.js';
import type { Project } from '../store/project.js';
import { nowIso } from '../store/store.js';
import {
  cellMeasure,
  studyBases,
  studyCells,
  studySpec,
  type GivenModel,
  type StudySpec,
} from '../study/spec.js';
import { storedCellMetrics, worldProbeAt } from '../study/measure.js';
import { summarize, verdicts } from '../study/summary.js';
import { judgeAgreement } from '../data/judge.js';
import { TASK_NAMES, type TaskName } from '../names.js';
import {
  CellWorkerPool,
  runDag,
  studyJobs,
  type CellWorkerReply,
  type StudyJob,
} from '../study/scheduler.js';
import type { CellState, CellStatus, StudyCell, StudyView } from '../study/types.js';
import { resolveCheckpoint } from './checkpoints.js';
import { WORLD_MODEL } from './train.js';
import { CancelledError, throwIfCancelled, type Reporter } from './progress.js';

/** What a cell's job recorded beside what the store says by itself (its run and its metrics). */
interface CellRecord {
  status?: Extract<CellStatus, 'measuring' | 'failed' | 'cancelled'>;
  message?: string;
  seconds?: { train: number; measure: number };
}

/** A study as stored (analysis kind `study`, inputs `{name}`). */
interface StudyRecord {
  spec: StudySpec;
  cells: StudyCell[];
  /** By {@link cellKey}. */
  records: Record<string, CellRecord>;
  judges: StudyView['judges'];
  versions: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

const cellKey = (c: Pick<StudyCell, 'checkpoint' | 'task' | 'seed'>) => `${c.checkpoint} ${c.task} ${c.seed}`;

/** Monoscope's version, from its package.json (two folders above this module's, in src/ and in dist/). */
function monoscopeVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

/** The given model of a study, registered in the project. */
function givenModel(project: Project, ref: string): GivenModel {
  const name = resolveCheckpoint(project, ref).name;
  const rec = project.store.checkpoints.get(name)!;
  return { name, hash: rec.hash, config: rec.config as unknown as ModelConfig };
}

/** Runs (or resumes) a study (see the module comment); returns its view. */
export async function studyOp(
  project: Project,
  req: OpParsed<'study'>,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<StudyView> {
  const model = req.model ? givenModel(project, req.model) : undefined;
  const pairsHash = req.pairs
    ? createHash('sha256').update(readFileSync(req.pairs)).digest('hex')
    : undefined;
  const spec = studySpec(req, availableParallelism(), model);
  // `probeTokens`: the built-in probe cut to that many tokens at the bases' context, stored in the project.
  if (spec.probeTokens !== undefined)
    spec.probe = worldProbeAt(project, spec.modelShape?.nCtx ?? WORLD_MODEL.nCtx, spec.probeTokens);
  const cells = studyCells(spec, model, pairsHash);
  await withLock(project.dir, 'study', spec.name, async () => {
    const before = project.store.analyses.get<StudyRecord>('study', { name: spec.name })?.result;
    const record: StudyRecord = {
      spec,
      cells,
      // Seconds of the cells measured before are kept; failures and cancellations are retried.
      records: Object.fromEntries(
        cells.flatMap((c) => {
          const seconds = before?.records[cellKey(c)]?.seconds;
          return seconds ? [[cellKey(c), { seconds }]] : [];
        }),
      ),
      // The judges against the world's ground truth (built-in tasks only: a pairs file has no judge).
      judges: spec.tasks
        .filter((t): t is TaskName => (TASK_NAMES as readonly string[]).includes(t))
        .map((t) => judgeAgreement(t)),
      versions: { monoscope: monoscopeVersion(), 'tfjs-core': tf.version_core, node: process.versions.node },
      createdAt: before?.createdAt ?? nowIso(),
      updatedAt: nowIso(),
    };
    const save = () => {
      record.updatedAt = nowIso();
      project.store.analyses.put('study', { name: spec.name }, record);
    };
    save();
    await runGrid(project, spec, record, save, reporter, signal);
  });
  return studyGet(project, spec.name)!;
}

/** A cell's stored measurement; undefined until its checkpoint and its base are in the project. */
function measured(project: Project, spec: StudySpec, cell: StudyCell) {
  const made = (name: string) => project.store.checkpoints.get(name) !== undefined;
  return made(cell.checkpoint) && made(cell.base)
    ? storedCellMetrics(project, cell, cellMeasure(spec, cell))
    : undefined;
}

/** Whether a job has nothing left to do: its checkpoint is made and every cell on it is measured. */
function jobDone(project: Project, spec: StudySpec, job: StudyJob): boolean {
  const run = project.store.runs.get(job.checkpoint);
  const made = !!project.store.checkpoints.get(job.checkpoint) && (!run || run.status === 'completed');
  return made && job.cells.every(({ cell }) => measured(project, spec, cell));
}

/** Runs the grid's unfinished jobs on worker threads, recording the cells' progress in `record`. */
async function runGrid(
  project: Project,
  spec: StudySpec,
  record: StudyRecord,
  save: () => void,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<void> {
  const all = studyJobs(record.cells, (c) => cellMeasure(spec, c), studyBases(spec));
  const todo = all.filter((j) => !jobDone(project, spec, j));
  const total = record.cells.length;
  let done = total - todo.reduce((n, j) => n + j.cells.length, 0);
  const slots = Math.min(spec.workers, todo.length);
  reporter.message(
    todo.length
      ? `study '${spec.name}': ${done} of ${total} cells done; ${todo.length} checkpoints to make or measure, on ${slots} worker thread${slots === 1 ? '' : 's'}`
      : `study '${spec.name}': all ${total} cells done`,
  );
  reporter.progress({ phase: 'study', done, total, unit: 'cell' });
  if (!todo.length) return;
  const lastShown = new Map<string, number>();
  const onReply = (_slot: number, job: StudyJob, m: CellWorkerReply) => {
    const label = `${job.cells[0]?.cell.method ?? 'base'} s${job.cells[0]?.cell.seed ?? job.train?.seed}`;
    if (m.type === 'message') reporter.message(`[${label}] ${m.text}`);
    else if (m.type === 'progress') {
      // A line per tenth of a cell's phase: the grid's bar stays the one progress bar.
      const { phase, done: at, total: of } = m.event;
      const tenth = Math.floor((10 * at) / Math.max(1, of));
      const key = `${job.checkpoint} ${phase}`;
      if (lastShown.get(key) === tenth) return;
      lastShown.set(key, tenth);
      reporter.message(`[${label}] ${job.checkpoint} ${phase} ${at}/${of}`);
    } else if (m.type === 'measuring') {
      record.records[cellKey(m)] = { status: 'measuring' };
      save();
    } else if (m.type === 'measured') {
      record.records[cellKey(m)] = { seconds: m.seconds };
      save();
      done += 1;
      reporter.progress({ phase: 'study', done, total, unit: 'cell' });
    }
  };
  const pool = new CellWorkerPool(project, onReply);
  const stop = () => pool.cancel();
  signal?.addEventListener('abort', stop);
  let outcomes;
  try {
    outcomes = await runDag(todo, slots, (job, slot) => {
      if (signal?.aborted) return Promise.resolve({ status: 'cancelled' as const });
      reporter.message(`[${job.checkpoint}] started`);
      return pool.run(job, slot, slots > 1 ? 1 : undefined);
    });
  } finally {
    signal?.removeEventListener('abort', stop);
    await pool.close();
  }
  const failed: string[] = [];
  for (const job of todo) {
    const o = outcomes.get(job.checkpoint)!;
    if (o.status === 'completed') continue;
    for (const { cell } of job.cells) {
      if (measured(project, spec, cell)) continue;
      record.records[cellKey(cell)] = { status: o.status, ...(o.message && { message: o.message }) };
    }
    if (o.status === 'failed') failed.push(`${job.checkpoint}: ${o.message}`);
  }
  save();
  throwIfCancelled(signal);
  if (Object.values(record.records).some((r) => r.status === 'cancelled')) throw new CancelledError();
  if (failed.length)
    throw new Error(
      `study '${spec.name}': ${failed.length} checkpoint${failed.length === 1 ? '' : 's'} failed (the other cells are done): ${failed.join('; ')}`,
    );
}

/** A cell's state from the store (see the module comment). */
function cellState(
  project: Project,
  spec: StudySpec,
  cell: StudyCell,
  rec: CellRecord,
  running: boolean,
): CellState {
  const metrics = measured(project, spec, cell);
  if (metrics) return { ...cell, status: 'done', metrics, ...(rec.seconds && { seconds: rec.seconds }) };
  if (rec.status === 'failed')
    return { ...cell, status: 'failed', ...(rec.message && { message: rec.message }) };
  const run = project.store.runs.get(cell.checkpoint);
  if (running) {
    // A trained cell is measured next: between its run's end and the worker's `measuring` it is not pending.
    if (rec.status === 'measuring' || run?.status === 'completed') return { ...cell, status: 'measuring' };
    if (run?.status === 'running') {
      const steps = (run.config.spec as { steps?: number } | undefined)?.steps;
      const logged = project.store.runs.metrics(run.id, ['loss']);
      return { ...cell, status: 'training', step: logged.at(-1)?.step ?? 0, ...(steps && { steps }) };
    }
    return { ...cell, status: 'pending' };
  }
  if (rec.status === 'cancelled' || run?.status === 'cancelled' || run?.status === 'interrupted')
    return { ...cell, status: 'cancelled', ...(run?.message && { message: run.message }) };
  return { ...cell, status: 'pending' };
}

/** The study `name` (default: the one run most recently) as its view, or null when there is none. */
export function studyGet(project: Project, name: string | undefined): StudyView | null {
  const key = name ?? (project.store.analyses.list('study')[0]?.inputs.name as string | undefined);
  if (key === undefined) return null;
  const stored = project.store.analyses.get<StudyRecord>('study', { name: key })?.result;
  if (!stored) return null;
  const running = lockHeld(project.dir, 'study', key);
  const cells = stored.cells.map((c) =>
    cellState(project, stored.spec, c, stored.records[cellKey(c)] ?? {}, running),
  );
  const backends = new Set(
    cells.flatMap((c) => {
      const b = project.store.runs.get(c.checkpoint)?.backend.backend;
      return typeof b === 'string' ? [b] : [];
    }),
  );
  return {
    name: key,
    spec: stored.spec as unknown as Record<string, unknown>,
    running,
    cells,
    summary: summarize(cells),
    verdicts: verdicts(cells, stored.spec),
    judges: stored.judges,
    versions: { ...stored.versions, ...(backends.size && { backend: [...backends].sort().join(',') }) },
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
  };
}
