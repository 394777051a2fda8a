// The study's figures (issue 12; the DecPO paper's Table 2 and Figures 2–4 and 7), built from a study as
// `study.get` gives it: each a mean over seeds with its 95% confidence interval, as an ordinary FigureSpec
// that the app's figures, `renderFigure`, `figureCsv` and `monoscope export figure` take as they are.
import type { FigureSpec, LineSeries } from '../figures/types.js';
import type { OpResult } from '../../core/api.js';
import { tInterval } from '../stats.js';

type StudyView = OpResult<'study'>;
type SummaryRow = StudyView['summary'][number];
type CellState = StudyView['cells'][number];

export const STUDY_FIGURES = [
  'study-methods',
  'study-trajectory',
  'study-layers',
  'study-layer-sweep',
  'study-lambda-sweep',
  'study-margins',
] as const;
export type StudyFigure = (typeof STUDY_FIGURES)[number];

/** What each study figure draws, for menus and `--help`. */
export const STUDY_FIGURE_TITLES: Record<StudyFigure, string> = {
  'study-methods': 'The method table: a metric per method (default the task judge), mean and 95% CI',
  'study-trajectory': 'A proxy of the regularized block over training steps, base → DPO and DecPO',
  'study-layers': 'A proxy per block for base, DPO and DecPO',
  'study-layer-sweep': "The judge against DecPO's regularized layer, DPO as reference",
  'study-lambda-sweep': "The judge against DecPO's lambda (log x), DPO as reference",
  'study-margins': 'The reward margin over training steps per method, train and eval',
};

/** The judge metric of a task: `toxicity_rate`, `reframe_rate`, or `reward_accuracy` for a pairs file. */
export function judgeMetric(task: string): string {
  if (task.startsWith('toxicity')) return 'toxicity_rate';
  if (task.startsWith('reframing')) return 'reframe_rate';
  return 'reward_accuracy';
}

/** The tasks of a study, in the order of its cells. */
export function studyTasks(view: StudyView): string[] {
  return [...new Set(view.cells.map((c) => c.task))];
}

/** The method labels of a study, in the order of its cells. */
export function studyMethods(view: StudyView): string[] {
  return [...new Set(view.cells.map((c) => c.method))];
}

const done = (c: CellState): c is CellState & { metrics: NonNullable<CellState['metrics']> } =>
  c.status === 'done' && c.metrics !== undefined;

/** A sweep variant's label: `decpo@layer=2`, `decpo@lambda=0.01`. */
const isVariant = (method: string) => method.includes('@');

/**
 * Per step, the mean and 95% t-interval over the cells' values at that step (`pick` gives a cell's
 * (step, value) pairs); steps ascending, those without a finite value left out. Where the interval is NaN
 * (one value, or constant values) the band has a gap.
 */
function overSteps(cells: CellState[], pick: (c: CellState) => [number, number][]): LineSeries | null {
  const byStep = new Map<number, number[]>();
  for (const c of cells)
    for (const [step, value] of pick(c)) {
      if (!Number.isFinite(value)) continue;
      byStep.set(step, [...(byStep.get(step) ?? []), value]);
    }
  if (byStep.size === 0) return null;
  const steps = [...byStep.keys()].sort((a, b) => a - b);
  const stats = steps.map((s) => tInterval(byStep.get(s)!));
  return {
    name: '',
    x: steps,
    y: stats.map((s) => s.mean),
    band: { lo: stats.map((s) => s.low), hi: stats.map((s) => s.high) },
  };
}

/** The summary row of (task, method, metric), if any. */
function row(view: StudyView, task: string, method: string, metric: string): SummaryRow | undefined {
  return view.summary.find((r) => r.task === task && r.method === method && r.metric === metric);
}

/** A finite [lo, hi] error bar, or none. */
const interval = (r: { ciLow: number; ciHigh: number }): [number, number] | null =>
  Number.isFinite(r.ciLow) && Number.isFinite(r.ciHigh) ? [r.ciLow, r.ciHigh] : null;

/** The family (a stage colour) of a method label. */
function family(view: StudyView, method: string): string | undefined {
  return view.cells.find((c) => c.method === method)?.family;
}

/**
 * A sweep of DecPO over one setting (`layer` or `lambda`): the judge per setting (mean, CI band), the
 * `decpo@SETTING=X` cells and the plain `decpo` cells at their own setting, and DPO's mean and CI as a
 * dashed reference across the swept range. Null without a swept cell in the summary.
 */
function sweepSpec(
  view: StudyView,
  task: string,
  metric: string,
  setting: 'layer' | 'lambda',
): FigureSpec | null {
  const points = new Map<number, SummaryRow>();
  for (const c of view.cells) {
    const x = c[setting];
    if (c.task !== task || !c.method.startsWith(`decpo@${setting}=`) || x === undefined) continue;
    const r = row(view, task, c.method, metric);
    if (r) points.set(x, r);
  }
  if (points.size === 0) return null;
  // The study's own decpo cells sit on the sweep at their setting (the grid does not train them twice).
  const own = view.cells.find((c) => c.task === task && c.method === 'decpo')?.[setting];
  const decpo = row(view, task, 'decpo', metric);
  if (own !== undefined && decpo && !points.has(own)) points.set(own, decpo);
  const xs = [...points.keys()].sort((a, b) => a - b);
  const rows = xs.map((x) => points.get(x)!);
  const series: LineSeries[] = [
    {
      name: `decpo (${setting} sweep)`,
      stage: 'decpo',
      x: xs,
      y: rows.map((r) => r.mean),
      band: { lo: rows.map((r) => r.ciLow), hi: rows.map((r) => r.ciHigh) },
    },
  ];
  const dpo = row(view, task, 'dpo', metric);
  if (dpo) {
    const ends = [xs[0], xs[xs.length - 1]];
    series.push({
      name: 'dpo',
      stage: 'dpo',
      kind: 'eval',
      x: ends,
      y: ends.map(() => dpo.mean),
      band: { lo: ends.map(() => dpo.ciLow), hi: ends.map(() => dpo.ciHigh) },
    });
  }
  return {
    kind: 'line',
    data: { series },
    options: {
      xLabel: setting === 'layer' ? 'regularized layer' : 'λ',
      yLabel: metric,
      ...(setting === 'lambda' && xs[0] > 0 && { logX: true }),
    },
  };
}

/**
 * The spec of a study figure, for one task (default: the study's first) and metric (default: the task's
 * judge for the method table and sweeps, or the reward accuracy where the study has no judge; `fd` for the
 * proxies), or null when the study lacks what the
 * figure needs (no done cell of the task, no layer sweep, no trajectories...). Means and CIs over seeds
 * come from the summary (`study.get`'s, the same numbers as the report's tables), those per training step
 * from the cells (`tInterval`, the summary's own definition).
 */
export function studyFigureSpec(
  view: StudyView,
  figure: StudyFigure,
  o: { task?: string; metric?: string } = {},
): FigureSpec | null {
  const task = o.task ?? studyTasks(view)[0];
  if (task === undefined) return null;
  const cells = view.cells.filter((c) => c.task === task && done(c));
  const methods = studyMethods(view);
  const seeds = new Set(cells.map((c) => c.seed)).size;
  // The task's judge, else (a pairs file, or a study measured without it) the held-out reward accuracy.
  const judge =
    o.metric ??
    (view.summary.some((r) => r.task === task && r.metric === judgeMetric(task))
      ? judgeMetric(task)
      : 'reward_accuracy');
  const proxy = o.metric ?? 'fd';
  const caption = { study: view.name, task, seeds, shown: 'mean and 95% t-interval over seeds' };
  const spec = (s: FigureSpec | null, title: string): FigureSpec | null =>
    s &&
    ({
      ...s,
      options: { ...s.options, title, caption, id: `${figure}-${task.replace(/[^\w-]/g, '-')}` },
    } as FigureSpec);

  switch (figure) {
    case 'study-methods': {
      // The methods; the sweeps' variants have figures of their own.
      const rows = methods
        .filter((m) => !isVariant(m))
        .map((m) => row(view, task, m, judge))
        .filter((r): r is SummaryRow => r !== undefined);
      if (rows.length === 0) return null;
      return spec(
        {
          kind: 'groupedBar',
          data: {
            groups: [judge],
            series: rows.map((r) => ({
              name: r.method,
              stage: family(view, r.method),
              values: [r.mean],
              errors: [interval(r)],
            })),
          },
          options: { yLabel: judge, legend: 'right' },
        },
        `${judge} per method (${task})`,
      );
    }
    case 'study-trajectory': {
      const series = methods
        .filter((m) => !isVariant(m))
        .flatMap((m): LineSeries[] => {
          const s = overSteps(
            cells.filter((c) => c.method === m),
            (c) => c.metrics!.trajectory.map((t) => [t.step, t.values[proxy] ?? NaN]),
          );
          return s ? [{ ...s, name: m, stage: family(view, m) }] : [];
        });
      if (series.length === 0) return null;
      return spec(
        { kind: 'line', data: { series }, options: { xLabel: 'training step', yLabel: proxy } },
        `${proxy} over training (${task})`,
      );
    }
    case 'study-layers': {
      const pattern = new RegExp(`^${proxy.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}@(\\d+)$`);
      const layers = [
        ...new Set(
          view.summary.filter((r) => r.task === task).flatMap((r) => r.metric.match(pattern)?.[1] ?? []),
        ),
      ]
        .map(Number)
        .sort((a, b) => a - b);
      const shown = ['base', 'dpo', 'decpo'].filter((m) =>
        layers.some((l) => row(view, task, m, `${proxy}@${l}`)),
      );
      if (layers.length === 0 || shown.length === 0) return null;
      return spec(
        {
          kind: 'groupedBar',
          data: {
            groups: layers.map((l) => `L${l}`),
            series: shown.map((m) => {
              const rows = layers.map((l) => row(view, task, m, `${proxy}@${l}`));
              return {
                name: m,
                stage: m,
                values: rows.map((r) => r?.mean ?? NaN),
                errors: rows.map((r) => (r ? interval(r) : null)),
              };
            }),
          },
          options: { xLabel: 'block', yLabel: proxy },
        },
        `${proxy} per block (${task})`,
      );
    }
    case 'study-layer-sweep':
      return spec(sweepSpec(view, task, judge, 'layer'), `${judge} against the regularized layer (${task})`);
    case 'study-lambda-sweep':
      return spec(sweepSpec(view, task, judge, 'lambda'), `${judge} against λ (${task})`);
    case 'study-margins': {
      const series: LineSeries[] = [];
      for (const m of methods.filter((m) => !isVariant(m))) {
        const of = cells.filter((c) => c.method === m);
        for (const kind of ['train', 'eval'] as const) {
          const s = overSteps(of, (c) => c.metrics!.margins.map((p) => [p.step, p[kind] ?? NaN]));
          if (s) series.push({ ...s, name: `${m} ${kind}`, kind, group: m, stage: family(view, m) });
        }
      }
      if (series.length === 0) return null;
      return spec(
        { kind: 'line', data: { series }, options: { xLabel: 'training step', yLabel: 'reward margin' } },
        `Reward margin over training (${task})`,
      );
    }
  }
}
