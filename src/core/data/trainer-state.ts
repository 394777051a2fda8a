/**
 * Hugging Face transformers' `trainer_state.json` (what `Trainer` and TRL's trainers save beside every
 * checkpoint): read into one metric record per step, and written back from a run's metric series.
 *
 * The layout (transformers `trainer_callback.py`, `TrainerState.save_to_json`: `json.dumps(asdict(state),
 * indent=2, sort_keys=True)`): top-level fields `global_step`, `max_steps`, `num_train_epochs`, `epoch`,
 * `logging_steps`, `eval_steps`, `save_steps`, `train_batch_size`, `total_flos`, `best_metric`,
 * `best_model_checkpoint`, ..., and `log_history`, to which `Trainer.log` appends one flat dict per call:
 * the logged values plus `epoch` and `step` (the global step). A training log (`loss`, `grad_norm`,
 * `learning_rate`, TRL's `rewards/*`, `logps/*`, ...) and an evaluation (`eval_`-prefixed keys) at the same
 * step are two entries, training first; the end of `Trainer.train` logs one summary entry (`train_runtime`,
 * `train_samples_per_second`, `train_steps_per_second`, `total_flos`, `train_loss`). Python's `json` writes
 * non-finite floats as the bare tokens `NaN`, `Infinity` and `-Infinity`, which are read and written here.
 */
import { DataError } from './errors.js';

/** A trainer_state.json as read: its fields, its metrics by step and its summary entry. */
export interface TrainerStateFile {
  /** The top-level fields but `log_history`, as the file has them. */
  fields: Record<string, unknown>;
  /**
   * Every value of `log_history` by step under its own name (`epoch` included; the summary entry's values
   * too), steps ascending.
   */
  steps: Map<number, Record<string, number>>;
  /** The summary entry (`train_runtime`, `train_loss`, ..., `epoch`, `step`), or null when training did not end. */
  summary: Record<string, number> | null;
}

/** The key only the summary entry of `Trainer.train` has. */
const SUMMARY_KEY = 'train_runtime';
/** Stands in for a bare non-finite token while the text goes through `JSON.parse`. */
const NON_FINITE = '\u0000non-finite:';

/** JSON as Python's `json` writes it: standard JSON plus the bare tokens `NaN`, `Infinity`, `-Infinity`. */
export function parsePythonJson(text: string): unknown {
  const quoted = text.replace(/"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g, (m) =>
    m.startsWith('"') ? m : JSON.stringify(NON_FINITE + m),
  );
  return JSON.parse(quoted, (_, v: unknown) =>
    typeof v === 'string' && v.startsWith(NON_FINITE) ? Number(v.slice(NON_FINITE.length)) : v,
  );
}

/** `value` as Python's `json.dumps(value, indent=2, sort_keys=True)` lays it out (non-finite numbers bare). */
export function pythonJsonText(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (typeof v === 'number' && !Number.isFinite(v)) return NON_FINITE + String(v);
    if (Array.isArray(v)) return v.map(sorted);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return JSON.stringify(sorted(value), null, 2).replace(/"\\u0000non-finite:(NaN|-?Infinity)"/g, '$1') + '\n';
}

/** Whether two logged values are the same number (NaN equal to NaN). */
const same = (a: number, b: number) => Object.is(a, b) || a === b;

/**
 * Reads and checks a trainer_state.json's text. Refused, with an error naming `file` and the entry's index
 * and field: text that is not JSON, no `log_history` list, an entry that is not an object, has no integer
 * `step` >= 0 or a value that is not a number, two entries that log one name at one step with different
 * values, and more than one summary entry.
 */
export function parseTrainerState(text: string, file: string): TrainerStateFile {
  let doc: unknown;
  try {
    doc = parsePythonJson(text);
  } catch (e) {
    throw new DataError(`${file}: not a trainer_state.json: not valid JSON (${(e as Error).message})`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new DataError(`${file}: not a trainer_state.json: expected a JSON object`);
  const { log_history: history, ...fields } = doc as Record<string, unknown>;
  if (!Array.isArray(history))
    throw new DataError(`${file}: not a trainer_state.json: 'log_history' must be a list of log entries`);
  const steps = new Map<number, Record<string, number>>();
  /** Where each (step, name) was logged, for the error on a conflicting value. */
  const origin = new Map<string, number>();
  let summary: Record<string, number> | null = null;
  let summaryAt = -1;
  history.forEach((entry: unknown, i) => {
    const at = `${file}: log_history[${i}]`;
    if (!entry || typeof entry !== 'object' || Array.isArray(entry))
      throw new DataError(`${at} is not an object`);
    const values = entry as Record<string, unknown>;
    const step = values.step;
    if (step === undefined) throw new DataError(`${at} has no 'step'`);
    if (typeof step !== 'number' || !Number.isInteger(step) || step < 0)
      throw new DataError(`${at}: 'step' must be an integer >= 0, got ${JSON.stringify(step)}`);
    for (const [name, v] of Object.entries(values)) {
      if (typeof v !== 'number')
        throw new DataError(`${at}: '${name}' must be a number, got ${JSON.stringify(v)}`);
    }
    const numbers = values as Record<string, number>;
    if (SUMMARY_KEY in numbers) {
      if (summary)
        throw new DataError(
          `${at}: a second summary entry ('${SUMMARY_KEY}'; the first is log_history[${summaryAt}])`,
        );
      summary = numbers;
      summaryAt = i;
    }
    const row = steps.get(step) ?? {};
    steps.set(step, row);
    for (const [name, v] of Object.entries(numbers)) {
      if (name === 'step') continue;
      const key = `${step}\u0000${name}`;
      if (name in row && !same(row[name], v))
        throw new DataError(
          `${at}: '${name}' at step ${step} is ${v}, but log_history[${origin.get(key)}] logged ${row[name]}`,
        );
      row[name] = v;
      if (!origin.has(key)) origin.set(key, i);
    }
  });
  return { fields, steps: new Map([...steps].sort((a, b) => a[0] - b[0])), summary };
}

/** The stage a trainer_state's metric names suggest: `dpo` when it logs TRL's `rewards/*`, else `sft`. */
export function inferStage(names: Iterable<string>): 'dpo' | 'sft' {
  for (const n of names) if (n.startsWith('rewards/') || n.startsWith('eval_rewards/')) return 'dpo';
  return 'sft';
}

/** One metric over the steps where it was logged (the shape of `runs.metrics`). */
interface Series {
  steps: number[];
  values: number[];
}

/**
 * A run's metrics as `log_history` entries, the way `Trainer.log` writes them: per step ascending, one
 * entry of the training values and one of the `eval_` values (each with the step's `epoch`, when logged,
 * and `step`), and the summary entry last, whose values (but `epoch`) `summary` names and the entry at
 * its step leaves out.
 */
export function logHistory(
  series: Record<string, Series>,
  summary: { step: number; names: string[] } | null,
): Record<string, number>[] {
  const bySteps = new Map<number, Record<string, number>>();
  for (const [name, s] of Object.entries(series))
    s.steps.forEach((step, i) => {
      const row = bySteps.get(step) ?? {};
      bySteps.set(step, row);
      row[name] = s.values[i];
    });
  const out: Record<string, number>[] = [];
  const summaryOnly = new Set(summary?.names.filter((n) => n !== 'epoch' && n !== 'step'));
  for (const [step, row] of [...bySteps].sort((a, b) => a[0] - b[0])) {
    const epoch: Record<string, number> = 'epoch' in row ? { epoch: row.epoch } : {};
    const pick = (keep: (name: string) => boolean) =>
      Object.fromEntries(Object.entries(row).filter(([n]) => n !== 'epoch' && keep(n)));
    const train = pick((n) => !n.startsWith('eval_') && !(summary?.step === step && summaryOnly.has(n)));
    const evals = pick((n) => n.startsWith('eval_'));
    if (Object.keys(train).length) out.push({ ...train, ...epoch, step });
    if (Object.keys(evals).length) out.push({ ...evals, ...epoch, step });
    const logged = Object.keys(train).length + Object.keys(evals).length > 0;
    if (!logged && 'epoch' in row && summary?.step !== step) out.push({ ...epoch, step });
  }
  if (summary) {
    const row = bySteps.get(summary.step) ?? {};
    const entry: Record<string, number> = {};
    for (const n of summary.names) if (n in row) entry[n] = row[n];
    out.push({ ...entry, step: summary.step });
  }
  return out;
}
