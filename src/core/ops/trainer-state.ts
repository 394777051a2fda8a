/**
 * Runs trained elsewhere, and ours for other tools: `runs.import` brings a transformers/TRL
 * `trainer_state.json` into the project as an ordinary completed run (its curves under their TRL names, its
 * summary entry as the run's summary, the checkpoint or PEFT adapter it produced registered and linked), and
 * {@link runTrainerState} writes any run of the project back in that layout (`monoscope export metrics
 * --format trainer-state`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApiError, type OpParsed } from '../api.js';
import { DataError } from '../data/errors.js';
import { inferStage, logHistory, parseTrainerState, pythonJsonText } from '../data/trainer-state.js';
import type { CheckpointRecord } from '../store/checkpoints.js';
import type { Project } from '../store/project.js';
import type { MetricSeries, RunRecord } from '../store/runs.js';
import { resolveCheckpoint } from './checkpoints.js';
import type { Reporter } from './progress.js';

/** What `runs.import` stored. */
export interface ImportRunResult {
  run: RunRecord;
  /** The checkpoint linked to the run, when one was given. */
  checkpoint: CheckpointRecord | null;
  /** Logged steps, and values stored over all of them. */
  steps: number;
  values: number;
}

/** How an imported run's `config` records where it came from. */
export interface ImportedRunConfig {
  source: 'imported';
  format: 'trainer_state.json';
  /** The file's absolute path and the sha256 of its bytes. */
  file: string;
  sha256: string;
  /** The file's top-level fields but `log_history` (global_step, max_steps, logging_steps, ...). */
  trainerState: Record<string, unknown>;
  /** The summary entry of `Trainer.train` (train_runtime, train_loss, total_flos, ..., epoch, step), if any. */
  summary: Record<string, number> | null;
}

/** Whether a run was brought in by `runs.import`. */
export function isImportedRun(run: Pick<RunRecord, 'config'>): boolean {
  return run.config.source === 'imported';
}

/**
 * Imports a trainer_state.json as run `name` (status completed; stage as given, else `dpo` when it logs
 * `rewards/*`, else `sft`), with every value of its `log_history` as the run's metrics at its step. With a
 * checkpoint, the folder is registered as any checkpoint folder is ({@link resolveCheckpoint}) and linked
 * to the run. The file is read and checked whole before anything is written, and the run, its metrics and
 * the checkpoint are written in one transaction: a refused file or checkpoint leaves the store as it was.
 */
export function importRunOp(
  project: Project,
  req: OpParsed<'runs.import'>,
  reporter: Reporter,
): ImportRunResult {
  const file = resolve(req.trainerState);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new DataError(`${file}: cannot read the trainer state (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const state = parseTrainerState(bytes.toString('utf8'), file);
  if (project.store.runs.get(req.name))
    throw new ApiError(
      'conflict',
      `a run named '${req.name}' exists already in ${project.dir}: choose another name`,
    );
  const stage = req.stage ?? inferStage(new Set([...state.steps.values()].flatMap((m) => Object.keys(m))));
  const config: ImportedRunConfig = {
    source: 'imported',
    format: 'trainer_state.json',
    file,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    trainerState: state.fields,
    summary: state.summary,
  };
  const runs = project.store.runs;
  let checkpoint: string | null = null;
  project.store.write(() => {
    runs.create({ id: req.name, stage, config, backend: {}, seed: 0 });
    for (const [step, values] of state.steps) runs.appendMetrics(req.name, step, values);
    if (req.checkpoint) {
      checkpoint = resolveCheckpoint(project, req.checkpoint).name;
      const rec = project.store.checkpoints.get(checkpoint);
      if (!rec)
        throw new ApiError(
          'not-found',
          `checkpoint '${checkpoint}' is a folder of the project that no operation registered`,
        );
      if (rec.runId && rec.runId !== req.name && runs.get(rec.runId))
        throw new ApiError(
          'conflict',
          `checkpoint '${checkpoint}' is the output of run '${rec.runId}' of this project, not of '${req.name}'`,
        );
      project.store.checkpoints.linkRun(checkpoint, req.name);
    }
    runs.setStatus(req.name, 'completed');
  });
  const values = [...state.steps.values()].reduce((n, m) => n + Object.keys(m).length, 0);
  reporter.message(
    `imported ${file} as run '${req.name}' (${stage}): ${state.steps.size} steps, ${values} values${checkpoint ? `, checkpoint '${checkpoint}'` : ''}`,
  );
  return {
    run: runs.get(req.name)!,
    checkpoint: checkpoint ? project.store.checkpoints.get(checkpoint)! : null,
    steps: state.steps.size,
    values,
  };
}

/**
 * A run of the project as trainer_state.json text (transformers' layout, keys sorted, indent 2): an
 * imported run gets back its file's top-level fields and summary entry; a run of ours gets the fields its
 * run knows (`global_step` its last logged step, `logging_steps` 1 since it logs every step, `max_steps`,
 * `eval_steps`, `save_steps` and `train_batch_size` from its spec, `epoch` its last logged epoch or null),
 * the rest left to `TrainerState`'s defaults. `log_history` is {@link logHistory} of its metrics.
 */
export function runTrainerState(run: RunRecord, series: Record<string, MetricSeries>): string {
  const lastStep = Math.max(-1, ...Object.values(series).flatMap((s) => s.steps));
  if (isImportedRun(run)) {
    const config = run.config as unknown as ImportedRunConfig;
    const summary = config.summary && {
      step: config.summary.step,
      names: Object.keys(config.summary).filter((n) => n !== 'step'),
    };
    return pythonJsonText({ ...config.trainerState, log_history: logHistory(series, summary) });
  }
  const spec = (run.config.spec ?? {}) as Record<string, unknown>;
  const fromSpec = Object.entries({
    eval_steps: spec.evalEvery,
    max_steps: spec.steps,
    save_steps: spec.checkpointEvery,
    train_batch_size: spec.batchSize,
  }).filter(([, v]) => typeof v === 'number');
  const fields = {
    best_metric: null,
    best_model_checkpoint: null,
    epoch: series.epoch?.values.at(-1) ?? null,
    global_step: Math.max(lastStep, 0),
    is_hyper_param_search: false,
    is_local_process_zero: true,
    is_world_process_zero: true,
    logging_steps: 1,
    ...Object.fromEntries(fromSpec),
  };
  return pythonJsonText({ ...fields, log_history: logHistory(series, null) });
}
