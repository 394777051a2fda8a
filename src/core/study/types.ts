/**
 * The study's data, as the contract carries it (`study`, `study.get`) and as the report, the CSVs and the
 * Study view read it. A study is a grid of cells (method variant x seed x task); every cell is an ordinary
 * run and checkpoint of the project, measured once and cached by content (see `study/spec.ts` for the
 * grid, `study/measure.ts` for the measurements, `study/summary.ts` for the statistics).
 */
import type { StudyMethod } from '../names.js';

/** The verdict words of the report (scripts read them). */
export const VERDICTS = ['reproduced', 'contradicted', 'inconclusive'] as const;
export type VerdictWord = (typeof VERDICTS)[number];

/**
 * One cell of the grid: one method variant, one seed, one task.
 *
 * `method` is the row label the tables and CSVs use: `base`, `sft`, `dpo`, `simpo`, `l1`, `decpo` (the
 * study's default regularizer, layer and lambda), `decpo-rowcos` / `decpo-authors` (another regularizer),
 * `decpo@layer=2` (the layer sweep), `decpo@lambda=0.01` (the lambda sweep).
 */
export interface StudyCell {
  method: string;
  /** The method family. */
  family: StudyMethod;
  seed: number;
  /** `toxicity`, `reframing` (or another built-in task), or `file:NAME` for a `pairs` file. */
  task: string;
  /** DecPO's settings, for decpo cells. */
  regularizer?: string;
  layer?: number;
  lambda?: number;
  /** The checkpoint and run name of this cell in the project (content-addressed: see `study/spec.ts`). */
  checkpoint: string;
  /** The cell's reference: the seed's base checkpoint (the same name for every cell of a seed). */
  base: string;
  /** The training request that makes the cell (the contract's `train` input); absent for a given model. */
  train?: Record<string, unknown>;
}

export type CellStatus = 'pending' | 'training' | 'measuring' | 'done' | 'failed' | 'cancelled';

/** What one measured cell gives (see `study/measure.ts`). Metric names are the CSV's column names. */
export interface CellMetrics {
  /**
   * Metric name -> value. Held-out: `reward_accuracy`, `reward_margin` (against the seed's base; absent for
   * the base itself), the judge (`toxicity_rate` or `reframe_rate`; absent for a pairs file). The
   * regularized block's proxies: `mono_share`, `mean_abs_corr`, `fd`, `fraction_active`, `hoyer`,
   * `effective_rank`; the same for every block as `NAME@LAYER` (e.g. `fd@0`).
   */
  values: Record<string, number>;
  /** The block whose proxies are the unsuffixed ones (the regularized block). */
  layer: number;
  /** Proxies over training steps (preference methods): step 0 is the base; same names as `values`. */
  trajectory: { step: number; values: Record<string, number> }[];
  /** The reward margin over training, from the run's logged metrics (TRL's `rewards/margins`). */
  margins: { step: number; train?: number; eval?: number }[];
  /** Content hashes: the cell's checkpoint, its base, and the probe set the proxies were computed on. */
  hashes: { checkpoint: string; base: string; probe: string };
}

/** A cell and where it stands. */
export interface CellState extends StudyCell {
  status: CellStatus;
  /** Training progress while it trains (from the run's logged steps). */
  step?: number;
  steps?: number;
  message?: string;
  metrics?: CellMetrics;
  /** Seconds spent training and measuring (when done). */
  seconds?: { train: number; measure: number };
}

/**
 * One row of the summary: a method's metric over seeds (mean, 95% t-interval), and, beside it, the paired
 * difference to DPO over the seeds both have (method - dpo; absent for dpo itself and where DPO is not in
 * the grid) with its 95% t-interval, the exact sign-flip test's two-sided p, the Holm-adjusted p across the
 * comparisons of the table (one table = one task and one metric), and the effect size d_z (mean difference
 * / sd of the differences).
 */
export interface SummaryRow {
  task: string;
  method: string;
  metric: string;
  mean: number;
  sd: number;
  ciLow: number;
  ciHigh: number;
  n: number;
  paired?: {
    against: string;
    n: number;
    diff: number;
    ciLow: number;
    ciHigh: number;
    p: number;
    pAdjusted: number;
    effectSize: number;
  };
}

/**
 * The verdict on one claim of the paper, computed from a paired difference over seeds: `reproduced` when its
 * 95% CI excludes zero in the paper's direction, `contradicted` when it excludes zero the other way,
 * `inconclusive` otherwise.
 */
export interface Verdict {
  /** A stable id, e.g. `decpo-beats-dpo/toxicity_rate`. */
  id: string;
  /** The paper's claim in words, and where it is in the paper. */
  claim: string;
  source: string;
  task: string;
  metric: string;
  /** The compared methods: the difference is `a - b`. */
  a: string;
  b: string;
  /** The paper's direction of `a - b`. */
  direction: 'higher' | 'lower';
  verdict: VerdictWord;
  n: number;
  diff: number;
  ciLow: number;
  ciHigh: number;
  p: number;
  pAdjusted: number;
  effectSize: number;
}

/** A study as `study.get` gives it: its spec, every cell's state, and the statistics of the done cells. */
export interface StudyView {
  name: string;
  /** The study's input as validated (the contract's `study` input, defaults applied). */
  spec: Record<string, unknown>;
  /** Whether a `study` job is running it now (its lock is held). */
  running: boolean;
  cells: CellState[];
  summary: SummaryRow[];
  verdicts: Verdict[];
  /** The judge's agreement with the world's ground truth, per built-in task in the study. */
  judges: { task: string; metric: string; accuracy: number; n: number }[];
  /** Versions: Monoscope, TF.js, Node, and the backend the cells trained on. */
  versions: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}
