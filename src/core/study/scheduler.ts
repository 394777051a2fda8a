/**
 * Runs a study's grid: the cells grouped into jobs (one per checkpoint to make: train it unless it is
 * trained, then measure every cell on it), run as a DAG (a seed's base before the methods that start from
 * it) on up to `workers` worker threads (`cell-worker.ts`), each opening the project itself (SQLite's WAL
 * lets the connections write side by side). A failed job is recorded and the others go on; the jobs that
 * start from its checkpoint fail with it. Cancelling stops every worker after its current step (training
 * saves its state, so running the study again resumes).
 */
import type { Worker } from 'node:worker_threads';
import type { ProgressEvent } from '../ops/progress.js';
import { startWorkerScript } from '../worker-script.js';
import type { StudyCell } from './types.js';

/** How a cell is measured (slice `measure.ts`'s MeasureOptions). */
export interface CellMeasure {
  layer: number;
  tapKind: string;
  probe: string;
  task: string;
  pairs?: string;
}

/** One job: make a checkpoint (train it, unless its run completed), then measure its cells. */
export interface StudyJob {
  checkpoint: string;
  /** The training request (absent for a given model). */
  train?: Record<string, unknown>;
  /** The checkpoint this one starts from (its job runs first). */
  after?: string;
  cells: { cell: StudyCell; measure: CellMeasure }[];
}

/**
 * The jobs of a grid: the bases' first (`bases`: their training requests, made whether or not the grid
 * measures them), then one per checkpoint in the cells' order, each with every cell measured on it.
 */
export function studyJobs(
  cells: StudyCell[],
  measureOf: (c: StudyCell) => CellMeasure,
  bases: (Record<string, unknown> & { name: string })[] = [],
): StudyJob[] {
  const jobs = new Map<string, StudyJob>();
  for (const train of bases) jobs.set(train.name, { checkpoint: train.name, train, cells: [] });
  for (const cell of cells) {
    let job = jobs.get(cell.checkpoint);
    if (!job) {
      job = {
        checkpoint: cell.checkpoint,
        ...(cell.train && { train: cell.train }),
        ...(cell.checkpoint !== cell.base && { after: cell.base }),
        cells: [],
      };
      jobs.set(cell.checkpoint, job);
    }
    job.cells.push({ cell, measure: measureOf(cell) });
  }
  return [...jobs.values()];
}

/** How a job ended. */
export interface JobOutcome {
  status: 'completed' | 'failed' | 'cancelled';
  message?: string;
}

/**
 * Runs jobs as a DAG on `slots` at once: a job starts once the job of its `after` completed (a job whose
 * `after` is not among the jobs starts at once); when that job failed or was cancelled, it ends the same
 * way without running. Jobs start in their given order. Returns every job's outcome.
 */
export async function runDag(
  jobs: StudyJob[],
  slots: number,
  run: (job: StudyJob, slot: number) => Promise<JobOutcome>,
): Promise<Map<string, JobOutcome>> {
  const outcomes = new Map<string, JobOutcome>();
  const names = new Set(jobs.map((j) => j.checkpoint));
  const waiting = [...jobs];
  const free = Array.from({ length: Math.max(1, slots) }, (_, i) => i);
  const running = new Set<Promise<void>>();
  const ready = (j: StudyJob) => !j.after || !names.has(j.after) || outcomes.has(j.after);
  while (waiting.length || running.size) {
    for (let i = 0; i < waiting.length && free.length;) {
      const job = waiting[i];
      if (!ready(job)) {
        i++;
        continue;
      }
      waiting.splice(i, 1);
      const parent = job.after ? outcomes.get(job.after) : undefined;
      if (parent && parent.status !== 'completed') {
        outcomes.set(job.checkpoint, {
          status: parent.status,
          message: `its base ${job.after} ${parent.status === 'failed' ? 'failed' : 'was cancelled'}`,
        });
        i = 0;
        continue;
      }
      const slot = free.shift()!;
      const p: Promise<void> = run(job, slot)
        .catch((e: Error): JobOutcome => ({ status: 'failed', message: e.message }))
        .then((o) => {
          outcomes.set(job.checkpoint, o);
          free.push(slot);
          running.delete(p);
        });
      running.add(p);
    }
    if (running.size) await Promise.race(running);
    else if (waiting.length) throw new Error(`study: jobs wait on each other (${waiting[0].checkpoint})`);
  }
  return outcomes;
}

/** Messages of a cell worker (see `cell-worker.ts`). */
export type CellWorkerReply =
  | { type: 'progress'; event: ProgressEvent }
  | { type: 'message'; text: string }
  /** A cell's measurement started. */
  | { type: 'measuring'; checkpoint: string; task: string; seed: number }
  /** A cell is measured, in `seconds` of training (0 when it was trained already) and measuring. */
  | {
      type: 'measured';
      checkpoint: string;
      task: string;
      seed: number;
      seconds: { train: number; measure: number };
    }
  | { type: 'done'; outcome: JobOutcome };

/** What the study's thread sends a cell worker. */
export type CellWorkerRequest =
  { type: 'job'; job: StudyJob; threads?: number } | { type: 'cancel' } | { type: 'close' };

/** A pool of cell workers on one project: `run` sends a job to the worker of a slot. */
export class CellWorkerPool {
  private readonly workers: (Worker | undefined)[] = [];

  constructor(
    private readonly project: { dir: string; nativeBinding?: string },
    private readonly onReply: (slot: number, job: StudyJob, m: CellWorkerReply) => void,
  ) {}

  /** Runs a job on the worker of `slot` (started on first use); resolves with its outcome. */
  run(job: StudyJob, slot: number, threads?: number): Promise<JobOutcome> {
    const w = (this.workers[slot] ??= startWorkerScript(import.meta.url, 'cell-worker', {
      workerData: { projectDir: this.project.dir, nativeBinding: this.project.nativeBinding },
    }));
    return new Promise((resolve, reject) => {
      const onMessage = (m: CellWorkerReply) => {
        if (m.type !== 'done') return this.onReply(slot, job, m);
        off();
        resolve(m.outcome);
      };
      const onError = (e: Error) => {
        off();
        this.workers[slot] = undefined;
        reject(e);
      };
      const onExit = (code: number) => onError(new Error(`the cell worker exited (code ${code})`));
      const off = () => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      w.postMessage({ type: 'job', job, threads } satisfies CellWorkerRequest);
    });
  }

  /** Asks every worker to stop its job after the current step. */
  cancel(): void {
    for (const w of this.workers) w?.postMessage({ type: 'cancel' } satisfies CellWorkerRequest);
  }

  /** Ends every worker (each closes its project). */
  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          w &&
          new Promise<void>((done) => {
            w.once('exit', () => done());
            w.postMessage({ type: 'close' } satisfies CellWorkerRequest);
          }),
      ),
    );
    this.workers.length = 0;
  }
}
