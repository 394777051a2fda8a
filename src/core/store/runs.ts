/**
 * Training runs and their metrics. Training (CLI and app) appends each step's metrics in its own short
 * transaction, so a crash loses at most the step being written; re-logging a step replaces its values.
 */
import { randomBytes } from 'node:crypto';
import { writeUserFile, csvField, formatNumber } from './files.js';
import { StoreError, nowIso, type StoreContext } from './store.js';

/** `interrupted`: its writer was killed (found by its stale lock); running it again resumes it. */
export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted';
const STATUSES: readonly RunStatus[] = ['running', 'completed', 'failed', 'cancelled', 'interrupted'];

export interface NewRun {
  id?: string;
  stage: string;
  task?: string;
  config: object;
  backend: object;
  seed: number;
  parentCheckpoint?: string;
}

export interface RunRecord {
  id: string;
  stage: string;
  task: string | null;
  config: Record<string, unknown>;
  backend: Record<string, unknown>;
  seed: number;
  parentCheckpoint: string | null;
  status: RunStatus;
  message: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface MetricRow {
  step: number;
  name: string;
  value: number;
}

/** One metric over the steps where it was logged. */
export interface MetricSeries {
  steps: number[];
  values: number[];
}

interface RunRow {
  id: string;
  stage: string;
  task: string | null;
  config: string;
  backend: string;
  seed: number;
  parent_checkpoint: string | null;
  status: RunStatus;
  message: string | null;
  created_at: string;
  updated_at: string;
}

function toRecord(r: RunRow): RunRecord {
  return {
    id: r.id,
    stage: r.stage,
    task: r.task,
    config: JSON.parse(r.config),
    backend: JSON.parse(r.backend),
    seed: r.seed,
    parentCheckpoint: r.parent_checkpoint,
    status: r.status,
    message: r.message,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** A new run id: the stage, the UTC time to the second, and 4 random bytes (`dpo-20260101-120000-1a2b3c4d`). */
export function newRunId(stage: string): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stage}-${t}-${randomBytes(4).toString('hex')}`;
}

/** Training runs and their metrics. */
export class RunsRepo {
  constructor(private readonly ctx: StoreContext) {}

  /** Creates a run in status `running` and returns its id. */
  create(run: NewRun): string {
    if (typeof run.stage !== 'string' || !/^[a-z0-9_-]+$/.test(run.stage)) {
      throw new StoreError(
        'invalid',
        `run: field 'stage' must be a lower-case name such as dpo, got ${JSON.stringify(run.stage)}`,
      );
    }
    if (!Number.isInteger(run.seed))
      throw new StoreError('invalid', `run: field 'seed' must be an integer, got ${run.seed}`);
    const id = run.id ?? newRunId(run.stage);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) {
      throw new StoreError(
        'invalid',
        `run: id ${JSON.stringify(id)} may use only letters, digits, '.', '_' and '-'`,
      );
    }
    const now = nowIso();
    this.ctx.write(() => {
      if (this.ctx.db.prepare('SELECT 1 FROM runs WHERE id = ?').get(id)) {
        throw new StoreError('invalid', `${this.ctx.file}: run '${id}' already exists`);
      }
      this.ctx.db
        .prepare(
          `INSERT INTO runs (id, stage, task, config, backend, seed, parent_checkpoint, status, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)`,
        )
        .run(
          id,
          run.stage,
          run.task ?? null,
          JSON.stringify(run.config),
          JSON.stringify(run.backend),
          run.seed,
          run.parentCheckpoint ?? null,
          now,
          now,
        );
    });
    return id;
  }

  /**
   * Writes one step's metrics in one short transaction. Idempotent per (run, step, name): logging a step
   * again replaces its values. NaN is stored as NULL and read back as NaN.
   */
  appendMetrics(runId: string, step: number, metrics: Record<string, number>): void {
    if (!Number.isInteger(step) || step < 0)
      throw new StoreError('invalid', `metrics of run '${runId}': step must be an integer >= 0, got ${step}`);
    for (const [name, value] of Object.entries(metrics)) {
      if (!name)
        throw new StoreError('invalid', `metrics of run '${runId}' at step ${step}: empty metric name`);
      if (typeof value !== 'number') {
        throw new StoreError(
          'invalid',
          `metrics of run '${runId}' at step ${step}: '${name}' must be a number, got ${JSON.stringify(value)}`,
        );
      }
    }
    const upsert = this.ctx.db.prepare(
      `INSERT INTO metrics (run_id, name, step, value) VALUES (?, ?, ?, ?)
       ON CONFLICT (run_id, name, step) DO UPDATE SET value = excluded.value`,
    );
    this.ctx.write(() => {
      this.requireRun(runId);
      for (const [name, value] of Object.entries(metrics))
        upsert.run(runId, name, step, Number.isNaN(value) ? null : value);
    });
  }

  /** Sets a run's status (and why, for failures and cancellations). */
  setStatus(runId: string, status: RunStatus, message?: string): void {
    if (!STATUSES.includes(status))
      throw new StoreError(
        'invalid',
        `run '${runId}': unknown status ${JSON.stringify(status)} (expected ${STATUSES.join(', ')})`,
      );
    this.ctx.write(() => {
      this.requireRun(runId);
      this.ctx.db
        .prepare('UPDATE runs SET status = ?, message = ?, updated_at = ? WHERE id = ?')
        .run(status, message ?? null, nowIso(), runId);
    });
  }

  /** Sets `config[key]` of a run to `value` (facts learned while training, such as its peak memory). */
  setConfigField(runId: string, key: string, value: unknown): void {
    this.ctx.write(() => {
      this.requireRun(runId);
      const run = this.get(runId)!;
      this.ctx.db
        .prepare('UPDATE runs SET config = ?, updated_at = ? WHERE id = ?')
        .run(JSON.stringify({ ...run.config, [key]: value }), nowIso(), runId);
    });
  }

  /** Marks a run `interrupted` if it is still `running` (its writer died); returns whether it did. */
  markInterrupted(runId: string, message: string): boolean {
    return this.ctx.write(
      () =>
        this.ctx.db
          .prepare(
            `UPDATE runs SET status = 'interrupted', message = ?, updated_at = ? WHERE id = ? AND status = 'running'`,
          )
          .run(message, nowIso(), runId).changes > 0,
    );
  }

  /** Deletes a run and its metrics (for a restarted run). Returns whether it existed. */
  remove(runId: string): boolean {
    return this.ctx.write(() => this.ctx.db.prepare('DELETE FROM runs WHERE id = ?').run(runId).changes > 0);
  }

  /** A run by id. */
  get(runId: string): RunRecord | undefined {
    const r = this.ctx.db.prepare('SELECT * FROM runs WHERE id = ?').get(runId) as RunRow | undefined;
    return r && toRecord(r);
  }

  /** All runs, oldest first. */
  list(): RunRecord[] {
    return (this.ctx.db.prepare('SELECT * FROM runs ORDER BY created_at, id').all() as RunRow[]).map(
      toRecord,
    );
  }

  /** Metric rows of a run (optionally only `names`), ordered by step then name. */
  metrics(runId: string, names?: readonly string[]): MetricRow[] {
    this.requireRun(runId);
    const rows = this.ctx.db
      .prepare('SELECT step, name, value FROM metrics WHERE run_id = ? ORDER BY step, name')
      .all(runId) as { step: number; name: string; value: number | null }[];
    const want = names ? new Set(names) : null;
    return rows
      .filter((r) => !want || want.has(r.name))
      .map((r) => ({ step: r.step, name: r.name, value: r.value ?? NaN }));
  }

  /** Metrics of a run as one series per name, steps ascending. */
  series(runId: string, names?: readonly string[]): Record<string, MetricSeries> {
    const out: Record<string, MetricSeries> = {};
    for (const r of this.metrics(runId, names)) {
      const s = (out[r.name] ??= { steps: [], values: [] });
      s.steps.push(r.step);
      s.values.push(r.value);
    }
    return out;
  }

  /**
   * Writes a run's metrics as CSV, one row per step and one column per metric (names sorted), empty where a
   * metric was not logged at that step: `pandas.read_csv(file)` reads it as is. Written atomically, never inside a project's managed files.
   */
  exportMetricsCsv(runId: string, file: string): void {
    const rows = this.metrics(runId);
    const names = [...new Set(rows.map((r) => r.name))].sort();
    const col = new Map(names.map((n, i) => [n, i]));
    const bySteps = new Map<number, (number | undefined)[]>();
    for (const r of rows) {
      let line = bySteps.get(r.step);
      if (!line) bySteps.set(r.step, (line = new Array(names.length)));
      line[col.get(r.name)!] = r.value;
    }
    const lines = [['step', ...names].map(csvField).join(',')];
    for (const [step, values] of [...bySteps].sort((a, b) => a[0] - b[0])) {
      lines.push(
        [String(step), ...Array.from(values, (v) => (v === undefined ? '' : formatNumber(v)))].join(','),
      );
    }
    writeUserFile(file, lines.join('\n') + '\n');
  }

  private requireRun(runId: string): void {
    if (!this.ctx.db.prepare('SELECT 1 FROM runs WHERE id = ?').get(runId)) {
      throw new StoreError('invalid', `${this.ctx.file}: no run '${runId}'`);
    }
  }
}
