// The comparison of checkpoints (the `compare` operation's result) as figures: per metric a grouped bar
// chart by layer, one bar per checkpoint in its stage's colour, and the held-out measures as bars, with a
// caption naming the settings. Pure data in and out: the Compare view and `monoscope export figure
// --figure compare|compare-heldout` draw the same specs.
import type { FigureSpec } from '../figures/types.js';
import type { ThemeName } from '../figures/theme.js';
import type { CheckpointScore, CompareResult, CompareRow } from '../../core/api.js';

/** The numeric per-layer fields of a comparison row. */
export type CompareMetricKey = {
  [K in keyof CompareRow]: CompareRow[K] extends number ? K : never;
}[keyof CompareRow];

/** A per-layer metric of the comparison: its field, label, what it is, and whether it is a share of 1. */
export interface CompareMetric {
  key: CompareMetricKey;
  label: string;
  what: string;
  percent?: boolean;
  /** Which way is "more monosemantic / more decorrelated", when there is one. */
  better?: 'higher' | 'lower';
}

/** The per-layer metrics of `compare`, in display order. */
export const COMPARE_METRICS: CompareMetric[] = [
  {
    key: 'monosemantic',
    label: 'monosemantic share',
    what: 'Share of the layer’s neurons labelled monosemantic: not dead, ≥ 80% of their top-20 activations on one probe concept (top-k share) and selectivity ≥ 0.5.',
    percent: true,
    better: 'higher',
  },
  {
    key: 'polysemantic',
    label: 'polysemantic share',
    what: 'Share of the layer’s neurons that are neither dead nor monosemantic.',
    percent: true,
    better: 'lower',
  },
  {
    key: 'dead',
    label: 'dead share',
    what: 'Share of neurons active (> 0) on at most 0.1% of the probe tokens.',
    percent: true,
  },
  {
    key: 'meanAbsCorr',
    label: 'mean |corr|',
    what: 'Mean |Pearson r| over all pairs of distinct neurons, on the probe set’s tokens.',
    better: 'lower',
  },
  {
    key: 'decorrelation',
    label: 'feature decorrelation (FD)',
    what: 'The paper’s FD = 1 − mean_{i≠j} cos(a_i, a_j) over token activation vectors (Yan et al. 2024, §3.3).',
    better: 'higher',
  },
  {
    key: 'fractionActive',
    label: 'fraction active',
    what: 'Mean over neurons of the share of probe tokens where the neuron is active (> 0).',
    percent: true,
  },
  {
    key: 'hoyer',
    label: 'Hoyer sparsity',
    what: 'Hoyer (2004): (√n − ‖a‖₁/‖a‖₂)/(√n − 1) per token, averaged; 1 = one active neuron, 0 = all equal.',
  },
  {
    key: 'effectiveRank',
    label: 'effective rank',
    what: 'exp of the entropy of the normalised eigenvalues of the activations’ covariance (Roy & Vetterli 2007): from 1 (one direction) to the number of neurons.',
  },
  {
    key: 'svccaToBase',
    label: 'SVCCA to base',
    what: 'Mean canonical correlation to the base checkpoint’s same layer after keeping 99% of the variance (Raghu et al. 2017); 1 for the base itself.',
  },
  {
    key: 'rsaToBase',
    label: 'RSA to base',
    what: 'Spearman correlation of the two Pearson representational dissimilarity matrices over tokens; 1 for the base itself.',
  },
];

/** The held-out measures of `compare` (per checkpoint, built-in tasks only). */
export const HELD_OUT_MEASURES: {
  key: keyof CheckpointScore;
  label: string;
  what: string;
  percent?: boolean;
}[] = [
  {
    key: 'rewardAccuracy',
    label: 'reward accuracy',
    what: 'Held-out pairs whose implicit reward (β (log π − log π_base), β as in the caption) ranks chosen above rejected.',
    percent: true,
  },
  {
    key: 'rewardMargin',
    label: 'reward margin',
    what: 'Mean held-out r_chosen − r_rejected against the base (β as in the caption).',
  },
  {
    key: 'judgeValue',
    label: 'judge',
    what: 'The built-in judge on sampled continuations of held-out prompts (toxicity: share of toxic continuations; lower is better).',
    percent: true,
  },
  {
    key: 'meanAbsCorr',
    label: 'mean |corr|',
    what: 'Mean |Pearson r| of the regularized block’s neurons over held-out response tokens.',
  },
];

/** The settings a comparison figure's caption names. */
export interface CompareSettings {
  /** Probe set hash(es) of the recordings compared. */
  probe?: string;
  /** SVCCA mode of the similarity columns (compare uses the default, `svcca`). */
  svccaMode?: string;
}

/** Caption fields of a comparison: checkpoints, base, task, probe hash, β and SVCCA mode. */
export function compareCaption(r: CompareResult, s: CompareSettings = {}): Record<string, string | number> {
  const checkpoints = [...new Set(r.rows.map((x) => x.checkpoint))];
  return {
    checkpoints: checkpoints.join(', '),
    base: r.base,
    task: r.task,
    ...(s.probe && { probe: s.probe.slice(0, 12) }),
    beta: r.beta,
    'SVCCA mode': s.svccaMode ?? 'svcca (99% variance)',
  };
}

export interface CompareFigureOptions {
  width?: number;
  height?: number;
  theme?: ThemeName;
  fontSize?: number;
  caption?: Record<string, string | number>;
  title?: string;
}

/** The checkpoints of a comparison in the order they were compared (base first). */
export function compareCheckpoints(r: CompareResult): { name: string; stage: string }[] {
  const seen = new Map<string, string>();
  for (const row of r.rows) if (!seen.has(row.checkpoint)) seen.set(row.checkpoint, row.stage);
  for (const s of r.scores) if (!seen.has(s.checkpoint)) seen.set(s.checkpoint, s.stage);
  return [...seen].map(([name, stage]) => ({ name, stage }));
}

/** Layer labels of the taps (`blocks.1.mlp.post` → `L1`; the tap kind is added when several kinds occur). */
export function tapLabels(taps: string[]): string[] {
  const kinds = new Set(taps.map((t) => t.split('.').slice(2).join('.')));
  return taps.map((t) => {
    const [, layer, ...rest] = t.split('.');
    return kinds.size > 1 ? `L${layer} ${rest.join('.')}` : `L${layer}`;
  });
}

/** Stage colours apply when no two checkpoints share a stage; otherwise the palette keeps them apart. */
function stageOf(checkpoints: { stage: string }[], i: number): string | undefined {
  const stages = checkpoints.map((c) => c.stage);
  return new Set(stages).size === stages.length ? stages[i] : undefined;
}

/**
 * A grouped bar chart of one per-layer metric: groups are the layers (taps), bars the checkpoints in
 * their stage colours. Throws naming the metric when it is unknown.
 */
export function compareMetricSpec(
  r: CompareResult,
  metric: string,
  o: CompareFigureOptions = {},
): FigureSpec {
  const m = COMPARE_METRICS.find((x) => x.key === metric);
  if (!m)
    throw new Error(
      `compare: unknown metric '${metric}' (known: ${COMPARE_METRICS.map((x) => x.key).join(', ')})`,
    );
  const checkpoints = compareCheckpoints(r);
  const series = checkpoints.map((c, i) => ({
    name: c.name,
    stage: stageOf(checkpoints, i),
    values: r.taps.map((tap) => {
      const row = r.rows.find((x) => x.checkpoint === c.name && x.tap === tap);
      return row ? row[m.key] : NaN;
    }),
  }));
  const kind = new Set(r.taps.map((t) => t.split('.').slice(2).join('.')));
  return {
    kind: 'groupedBar',
    data: { groups: tapLabels(r.taps), series },
    options: {
      title: o.title ?? m.label,
      xLabel: kind.size === 1 ? `layer (${[...kind][0]})` : 'layer',
      yLabel: m.label,
      ...(m.percent && { percent: true }),
      ...(o.width !== undefined && { width: o.width }),
      ...(o.height !== undefined && { height: o.height }),
      ...(o.theme && { theme: o.theme }),
      ...(o.fontSize !== undefined && { fontSize: o.fontSize }),
      ...(o.caption && { caption: o.caption }),
    },
  };
}

/**
 * The held-out measures as bars: one panel per measure (reward accuracy, margin, the judge, mean |corr|),
 * one bar per checkpoint in its stage colour, as small multiples under one caption. Throws when the
 * comparison has no held-out scores (task `none`, or models outside the built-in world).
 */
export function heldOutSpec(r: CompareResult, o: CompareFigureOptions = {}): FigureSpec {
  if (r.scores.length === 0) {
    throw new Error(
      `compare: no held-out scores in this comparison (task '${r.task}'); they exist for models of the built-in world with a task`,
    );
  }
  const checkpoints = compareCheckpoints(r).filter((c) => r.scores.some((s) => s.checkpoint === c.name));
  const judge = r.scores[0].judgeMetric.replace(/_/g, ' ');
  const panels: FigureSpec[] = HELD_OUT_MEASURES.map((m, k) => ({
    kind: 'groupedBar',
    data: {
      groups: [m.key === 'meanAbsCorr' ? `L${r.scores[0].layer}` : 'held-out'],
      series: checkpoints.map((c, i) => ({
        name: c.name,
        stage: stageOf(checkpoints, i),
        values: [Number(r.scores.find((s) => s.checkpoint === c.name)?.[m.key] ?? NaN)],
      })),
    },
    options: {
      title: m.key === 'judgeValue' ? judge : m.label,
      yLabel: m.key === 'judgeValue' ? judge : m.label,
      legend: k === 0 ? 'top' : 'none',
      ...(m.percent && { percent: true }),
    },
  }));
  return {
    kind: 'smallMultiples',
    data: { panels },
    options: {
      columns: 4,
      title: o.title ?? `Held-out ${r.task} pairs`,
      width: o.width ?? 960,
      height: o.height ?? 340,
      ...(o.theme && { theme: o.theme }),
      ...(o.fontSize !== undefined && { fontSize: o.fontSize }),
      ...(o.caption && { caption: o.caption }),
    },
  };
}
