// The Study view's data, as `study.get` gives it, and the small pure functions the view's parts share:
// the grid's layout (a table of methods × seeds per task), the name of the study a `study` job runs, and
// the choices of the study form (checked against the contract's input type).
import type { OpInput, OpResult } from '../../../core/api.js';

export type StudyData = NonNullable<OpResult<'study.get'>>;
export type Cell = StudyData['cells'][number];
export type SummaryRow = StudyData['summary'][number];
export type Verdict = StudyData['verdicts'][number];
export type StudyInput = OpInput<'study'>;

type Method = NonNullable<StudyInput['methods']>[number];
type Task = NonNullable<StudyInput['tasks']>[number];
type Regularizer = NonNullable<StudyInput['regularizers']>[number];

/** The study's method families, with what each is (a Record, so the compiler checks every one is here). */
export const METHODS: Record<Method, string> = {
  base: 'the pretrained base (reference)',
  sft: 'supervised fine-tuning on the chosen responses (reference)',
  dpo: 'Direct Preference Optimization',
  decpo: 'DPO with a decorrelation regularizer (the paper)',
  simpo: 'SimPO, reference-free',
  l1: 'DPO with an L1 activation penalty (sparsity baseline)',
};

/** The built-in tasks: the study's defaults test generalization; `-easy` is the earlier saturating setting. */
export const TASKS: Record<Task, string> = {
  toxicity: 'held-out insults, templates and topics',
  reframing: 'held-out reframings',
  'toxicity-easy': 'the earlier setting, which DPO saturates',
  'reframing-easy': 'the earlier setting, which DPO saturates',
};

/** DecPO's regularizers (the `decpo` row is the first chosen; others are `decpo-NAME`). */
export const REGULARIZERS: Record<Regularizer, string> = {
  barlow: 'Barlow Twins-style off-diagonal correlation',
  rowcos: 'row cosine similarity',
  authors: "the authors' released loss",
};

/**
 * The name of the study that a `study` job's input runs: its `name`, else the contract's default (`quick`
 * with `quick`, else `study`; see StudyInput in core/api.ts).
 */
export function studyNameOf(input: unknown): string {
  const i = (input ?? {}) as { name?: unknown; quick?: unknown };
  return typeof i.name === 'string' ? i.name : i.quick ? 'quick' : 'study';
}

/** One task's part of the grid: its method rows (in the cells' order) and seed columns (ascending). */
export interface GridTable {
  task: string;
  methods: string[];
  seeds: number[];
  /** `method|seed` -> the cell. */
  cells: Map<string, Cell>;
}

/** The grid as one table per task, methods in the order the study lists its cells. */
export function gridTables(cells: Cell[]): GridTable[] {
  const tasks = new Map<string, GridTable>();
  for (const c of cells) {
    let t = tasks.get(c.task);
    if (!t) tasks.set(c.task, (t = { task: c.task, methods: [], seeds: [], cells: new Map() }));
    if (!t.methods.includes(c.method)) t.methods.push(c.method);
    if (!t.seeds.includes(c.seed)) t.seeds.push(c.seed);
    t.cells.set(`${c.method}|${c.seed}`, c);
  }
  for (const t of tasks.values()) t.seeds.sort((a, b) => a - b);
  return [...tasks.values()];
}

/** How many cells stand at each status, in the order a grid moves through them. */
export function statusCounts(cells: Cell[]): [Cell['status'], number][] {
  const order: Cell['status'][] = ['done', 'measuring', 'training', 'pending', 'failed', 'cancelled'];
  return order
    .map((s): [Cell['status'], number] => [s, cells.filter((c) => c.status === s).length])
    .filter(([, n]) => n > 0);
}

/** Whether a metric is a block's own (`NAME@LAYER`) rather than the regularized block's or a held-out one. */
export const isBlockMetric = (metric: string) => metric.includes('@');
