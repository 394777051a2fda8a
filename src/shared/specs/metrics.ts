// Training metrics as the Project view and `monoscope export figure --figure training-curves` show them:
// TRL's names with a one-line definition each, the panels curves are grouped into, the live steps of a
// running job merged into the stored series, the saturation check, and the figure specs of the curves.
// Pure data in and out (no DOM, no React), so the CLI renders exactly what the app shows.
import type { FigureSpec, LineSeries } from '../figures/types.js';
import type { ThemeName } from '../figures/theme.js';
import type { RunRecord } from '../../core/api.js';

/** One metric over the steps where it was logged (the shape of `runs.metrics`). */
export interface Series {
  steps: number[];
  values: number[];
}

/** A run's metrics by name. */
export type SeriesByName = Record<string, Series>;

/** A metric's definition, shown next to its curve. */
export interface MetricInfo {
  name: string;
  /** What the number is, in one line. */
  what: string;
  /** How to read it (shown under the definition), when there is something worth saying. */
  note?: string;
}

/**
 * TRL `DPOTrainer`'s metric names (and ours under `decorr/`), with what each is. The reward of a response
 * is r = β·(log π_θ(y|x) − log π_ref(y|x)) (Rafailov et al. 2023, Eq. 7). `eval_*` are the same on
 * held-out pairs.
 */
export const METRICS: MetricInfo[] = [
  {
    name: 'loss',
    what: 'The training objective of the step: −log σ(r_chosen − r_rejected) averaged over pairs for DPO (plus λ·R for DecPO); next-token cross-entropy in nats per token for pretraining and SFT.',
  },
  {
    name: 'rewards/chosen',
    what: 'Mean implicit reward of the chosen responses: β·(log π_θ − log π_ref).',
    note: 'Falling is normal: DPO only needs the margin to grow, and both log-probabilities often fall together (the most common question in DPO repositories). Watch rewards/margins.',
  },
  {
    name: 'rewards/rejected',
    what: 'Mean implicit reward of the rejected responses; it should fall faster than rewards/chosen.',
  },
  {
    name: 'rewards/margins',
    what: 'Mean of r_chosen − r_rejected over the pairs: the quantity DPO pushes up, and the one to watch.',
  },
  {
    name: 'rewards/accuracies',
    what: 'Share of pairs whose chosen reward is larger than the rejected one (0 to 1).',
  },
  {
    name: 'logps/chosen',
    what: 'Mean log-probability of the chosen responses under the policy (summed over tokens, or averaged with logp aggregation "mean").',
  },
  { name: 'logps/rejected', what: 'Mean log-probability of the rejected responses under the policy.' },
  {
    name: 'logits/chosen',
    what: "Mean of the policy's output logits over the chosen responses' tokens (TRL logs it; runs brought in from TRL show it).",
  },
  {
    name: 'logits/rejected',
    what: "Mean of the policy's output logits over the rejected responses' tokens.",
  },
  {
    name: 'grad_norm',
    what: 'Global L2 norm of the gradient before clipping (updates are clipped to norm 1).',
  },
  {
    name: 'learning_rate',
    what: 'The scheduled learning rate of the step (warm-up, then constant or cosine).',
  },
  { name: 'epoch', what: 'Passes over the training set so far (fractional).' },
  {
    name: 'decorr/penalty',
    what: 'The DecPO regularizer R before λ (barlow: Σ_{k≠l} C_kl² of the neurons’ correlation matrix; rowcos: Σ_{i≠j} cos²; authors: ‖mean|u|‖² − 1/B).',
  },
  {
    name: 'decorr/mean_abs_corr',
    what: 'Mean |Pearson r| between the neurons of the regularized block over the batch’s response tokens; lower is more decorrelated.',
  },
];

/** The definition of `name` (an `eval_` name gets its training metric's), if known. */
export function metricInfo(name: string): MetricInfo | undefined {
  const base = name.startsWith('eval_') ? name.slice(5) : name;
  return METRICS.find((m) => m.name === base);
}

/**
 * The panels training curves are drawn in, in order: one chart per entry, its metrics drawn together
 * (chosen and rejected rewards share a panel, so the margin between them shows).
 */
export const CURVE_PANELS: string[][] = [
  ['loss'],
  ['rewards/margins'],
  ['rewards/accuracies'],
  ['rewards/chosen', 'rewards/rejected'],
  ['logps/chosen', 'logps/rejected'],
  ['logits/chosen', 'logits/rejected'],
  ['decorr/mean_abs_corr'],
  ['decorr/penalty'],
  ['grad_norm'],
  ['learning_rate'],
];

/** The panels of CURVE_PANELS that have data in any of `runs` (a metric or its `eval_` twin). */
export function panelsWithData(runs: SeriesByName[]): string[][] {
  const has = (m: string) =>
    runs.some((s) => (s[m]?.steps.length ?? 0) > 0 || (s[`eval_${m}`]?.steps.length ?? 0) > 0);
  return CURVE_PANELS.map((p) => p.filter(has)).filter((p) => p.length > 0);
}

/** A step's metrics as a running job streams them (progress `metrics`, or an `eval` record). */
export interface LiveStep {
  step: number;
  metrics: Record<string, number>;
}

/**
 * The stored series with the steps a running job streamed since they were read: a live value replaces the
 * stored one at the same step, and each series stays sorted by step. Neither input is modified.
 */
export function mergeLive(stored: SeriesByName, live: LiveStep[]): SeriesByName {
  if (live.length === 0) return stored;
  const maps = new Map<string, Map<number, number>>();
  for (const [name, s] of Object.entries(stored))
    maps.set(name, new Map(s.steps.map((st, i) => [st, s.values[i]])));
  for (const { step, metrics } of live) {
    for (const [name, value] of Object.entries(metrics)) {
      if (typeof value !== 'number') continue;
      let m = maps.get(name);
      if (!m) maps.set(name, (m = new Map()));
      m.set(step, value);
    }
  }
  const out: SeriesByName = {};
  for (const [name, m] of maps) {
    const steps = [...m.keys()].sort((a, b) => a - b);
    out[name] = { steps, values: steps.map((s) => m.get(s)!) };
  }
  return out;
}

/** What the saturation check found. */
export interface Saturation {
  saturated: boolean;
  /** Over the last `window` steps: mean loss, mean accuracy, and the margin at the window's start and end. */
  window: number;
  loss: number;
  accuracy: number;
  marginStart: number;
  marginEnd: number;
}

/**
 * DPO saturation (huggingface/trl #1236): the loss has gone to ~0, every pair is already ranked right, and
 * the margins keep growing; the policy then drifts from the reference for no gain in ranking. Checked over
 * the last max(3, 10%) logged steps: mean loss < 0.05 (a margin above ~3 per pair), mean
 * rewards/accuracies ≥ 0.99, and rewards/margins at least 1.5× larger at the window's end than at its start
 * and above 3. Undefined (null) without the three series or with fewer than 6 steps.
 */
export function saturation(series: SeriesByName): Saturation | null {
  const loss = series['loss'];
  const acc = series['rewards/accuracies'];
  const margin = series['rewards/margins'];
  if (!loss || !acc || !margin) return null;
  const n = Math.min(loss.values.length, acc.values.length, margin.values.length);
  if (n < 6) return null;
  const window = Math.max(3, Math.ceil(n / 10));
  const tail = (v: number[]) => v.slice(v.length - window);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const l = mean(tail(loss.values));
  const a = mean(tail(acc.values));
  const m = tail(margin.values);
  const marginStart = m[0];
  const marginEnd = m[m.length - 1];
  const saturated = l < 0.05 && a >= 0.99 && marginEnd > 3 && marginEnd >= 1.5 * Math.max(marginStart, 1e-9);
  return { saturated, window, loss: l, accuracy: a, marginStart, marginEnd };
}

/** A run as the curves need it: its id, stage (for the stage colour) and metric series. */
export interface CurveRun {
  id: string;
  stage: string;
  series: SeriesByName;
}

export interface CurveOptions {
  width?: number;
  height?: number;
  theme?: ThemeName;
  fontSize?: number;
  /** EMA weight of the training curves (TensorBoard's smoothing), 0 to < 1. */
  smoothing?: number;
  /** Caption fields (run ids and settings). */
  caption?: Record<string, string | number | boolean>;
  title?: string;
  /** Panels per row of a multi-panel figure; default 2. */
  columns?: number;
}

/** The stage a run's training stage is drawn as (pretraining writes a `base` checkpoint). */
function colourStage(stage: string): string {
  return stage === 'pretrain' ? 'base' : stage;
}

/**
 * A line chart of the metrics of one panel for `runs`: per run and metric a solid training curve, and
 * its `eval_` twin dashed with markers in the same colour. Runs take their stage's colour when no two
 * share a stage; otherwise the palette in order.
 */
export function curvePanelSpec(runs: CurveRun[], metrics: string[], o: CurveOptions = {}): FigureSpec {
  const stages = runs.map((r) => colourStage(r.stage));
  const byStage = new Set(stages).size === stages.length;
  const series: LineSeries[] = [];
  for (const [i, run] of runs.entries()) {
    for (const metric of metrics) {
      const label = [runs.length > 1 ? run.id : '', metrics.length > 1 ? metric.split('/').pop() : '']
        .filter(Boolean)
        .join(' ');
      const group = `${run.id}:${metric}`;
      const stage = byStage && metrics.length === 1 ? stages[i] : undefined;
      const train = run.series[metric];
      const ev = run.series[`eval_${metric}`];
      if (train && train.steps.length > 0)
        series.push({ name: label || metric, x: train.steps, y: train.values, group, stage });
      if (ev && ev.steps.length > 0)
        series.push({
          name: `${label || metric} (eval)`,
          x: ev.steps,
          y: ev.values,
          kind: 'eval',
          group,
          stage,
        });
    }
  }
  return {
    kind: 'line',
    data: { series },
    options: {
      title: metrics.join(' / '),
      xLabel: 'step',
      yLabel: metrics.length === 1 ? metrics[0] : metrics[0].split('/')[0],
      ...(o.width !== undefined && { width: o.width }),
      ...(o.height !== undefined && { height: o.height }),
      ...(o.theme && { theme: o.theme }),
      ...(o.fontSize !== undefined && { fontSize: o.fontSize }),
      ...(o.smoothing ? { smoothing: o.smoothing } : {}),
      ...(o.caption && { caption: o.caption }),
      ...(o.title && { title: o.title }),
    },
  };
}

/**
 * The training curves of `runs` for `panels` (each a list of metrics drawn together): one line chart for
 * one panel, else small multiples of them under one caption.
 */
export function trainingCurvesSpec(runs: CurveRun[], panels: string[][], o: CurveOptions = {}): FigureSpec {
  if (runs.length === 0) throw new Error('training curves: no run given');
  if (panels.length === 0) throw new Error('training curves: no metric given');
  for (const p of panels) {
    for (const m of p) {
      const found = runs.some((r) => r.series[m] || r.series[`eval_${m}`]);
      if (!found) {
        const known = [...new Set(runs.flatMap((r) => Object.keys(r.series)))].sort();
        throw new Error(
          `training curves: no run of ${runs.map((r) => r.id).join(', ')} logged '${m}' (logged: ${known.join(', ') || 'nothing yet'})`,
        );
      }
    }
  }
  if (panels.length === 1) return curvePanelSpec(runs, panels[0], o);
  const columns = Math.min(o.columns ?? 2, panels.length);
  const rows = Math.ceil(panels.length / columns);
  return {
    kind: 'smallMultiples',
    data: { panels: panels.map((p) => curvePanelSpec(runs, p, { smoothing: o.smoothing })) },
    options: {
      columns,
      width: o.width ?? 360 * columns,
      height: o.height ?? 260 * rows + 60,
      ...(o.theme && { theme: o.theme }),
      ...(o.fontSize !== undefined && { fontSize: o.fontSize }),
      ...(o.caption && { caption: o.caption }),
      ...(o.title && { title: o.title }),
    },
  };
}

/** A run's record as `runs.list` returns it (the fields the captions read). */
export type RunLike = Pick<RunRecord, 'id' | 'stage' | 'task' | 'config' | 'backend' | 'seed'>;

/**
 * Caption fields naming a run and the settings a reader needs to reproduce its curves: stage, task, and
 * for preference stages β, loss type, log-prob aggregation, regularizer, λ and the block (from the run's
 * stored request and spec), the backend and the seed; for a run imported from a trainer_state.json, its
 * steps and source.
 */
export function runCaption(run: RunLike): Record<string, string | number> {
  const spec = (run.config.spec ?? {}) as Record<string, unknown>;
  const objective = (spec.objective ?? {}) as Record<string, unknown>;
  const out: Record<string, string | number> = { run: run.id, stage: run.stage };
  if (run.task) out.task = run.task;
  if (typeof spec.steps === 'number') out.steps = spec.steps;
  if (typeof spec.lr === 'number') out.lr = spec.lr;
  if (typeof objective.beta === 'number') out.beta = objective.beta;
  if (typeof objective.lossType === 'string') out.loss = objective.lossType;
  if (typeof objective.logpAgg === 'string') out.logps = objective.logpAgg;
  if (run.stage === 'decpo' || run.stage === 'l1') {
    if (run.stage === 'decpo' && typeof objective.regularizer === 'string')
      out.regularizer = objective.regularizer;
    if (typeof objective.lambda === 'number') out.lambda = objective.lambda;
    if (typeof objective.layer === 'number')
      out.layer = `${objective.layer} (${String(objective.tap ?? 'mlp.post')})`;
  }
  // A run brought in from a trainer_state.json: its steps and where it came from; its seed is not known.
  if (run.config.source === 'imported') {
    const state = (run.config.trainerState ?? {}) as Record<string, unknown>;
    if (typeof state.max_steps === 'number') out.steps = state.max_steps;
    out.source = 'trainer_state.json';
    return out;
  }
  if (typeof run.backend.backend === 'string') out.backend = run.backend.backend;
  out.seed = run.seed;
  return out;
}

/** Caption fields for several runs: the one run's, or the run ids with their stages. */
export function runsCaption(runs: RunLike[]): Record<string, string | number> {
  if (runs.length === 1) return runCaption(runs[0]);
  return { runs: runs.map((r) => `${r.id} (${r.stage})`).join(', ') };
}
