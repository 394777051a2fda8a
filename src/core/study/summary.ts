/**
 * The study's answer from its measured cells: per task x method x metric the mean over seeds with its 95%
 * t-interval, each method against DPO as a paired difference over the seeds both have (sign-flip test,
 * Holm across the comparisons of one table, effect size d_z), and a verdict per claim of the paper
 * (Yan et al. 2024, arXiv 2406.17969: Figs 2-7, Table 2, as the figures and table state them), computed from the same
 * paired differences. The statistics are in `analysis/stats.ts`.
 */
import { holm, pairedComparison, tInterval, type PairedComparison } from '../analysis/stats.js';
import type { CellMetrics, CellState, SummaryRow, Verdict, VerdictWord } from './types.js';

/** The method every other is compared with in the summary. */
export const REFERENCE_METHOD = 'dpo';

/** The task judges' metrics and the direction the paper calls better. */
const JUDGES = { toxicity_rate: 'lower', reframe_rate: 'higher' } as const;
type Judge = keyof typeof JUDGES;

type MeasuredCell = CellState & { metrics: CellMetrics };

/** The cells that are done and measured, in the order given. */
export function measuredCells(cells: readonly CellState[]): MeasuredCell[] {
  return cells.filter((c): c is MeasuredCell => c.status === 'done' && c.metrics !== undefined);
}

/**
 * Metric names in column order: the unsuffixed ones in order of first appearance, then the per-block
 * `NAME@LAYER` ones by layer (within a layer, in order of first appearance).
 */
export function metricNames(values: Iterable<Record<string, number>>): string[] {
  const seen = new Set<string>();
  for (const v of values) for (const k of Object.keys(v)) seen.add(k);
  const all = [...seen];
  const layerOf = (k: string) => Number(k.slice(k.lastIndexOf('@') + 1));
  const suffixed = all.filter((k) => k.includes('@'));
  const order = new Map(suffixed.map((k, i) => [k, i]));
  suffixed.sort((x, y) => layerOf(x) - layerOf(y) || order.get(x)! - order.get(y)!);
  return [...all.filter((k) => !k.includes('@')), ...suffixed];
}

const unique = (xs: readonly string[]) => [...new Set(xs)];

/** The measured cells indexed by task, method and seed (a cell's task x method x seed is unique). */
class CellIndex {
  private readonly bySeed = new Map<string, Map<number, MeasuredCell>>();

  constructor(readonly cells: readonly MeasuredCell[]) {
    for (const c of cells) {
      const key = CellIndex.key(c.task, c.method);
      const seeds = this.bySeed.get(key) ?? new Map<number, MeasuredCell>();
      if (seeds.has(c.seed)) throw new Error(`study: two cells for ${c.method}, seed ${c.seed}, ${c.task}`);
      this.bySeed.set(key, seeds.set(c.seed, c));
    }
  }

  private static key(task: string, method: string): string {
    return `${task}\u0000${method}`;
  }

  /** Seed -> the metric's value, for the seeds of this task and method that have it, by seed. */
  values(task: string, method: string, metric: string): Map<number, number> {
    const cells = [...(this.bySeed.get(CellIndex.key(task, method))?.values() ?? [])];
    return new Map(
      cells
        .filter((c) => metric in c.metrics.values)
        .sort((x, y) => x.seed - y.seed)
        .map((c) => [c.seed, c.metrics.values[metric]]),
    );
  }

  /** The paired comparison a - b of a metric over the seeds both have; null under 2 pairs. */
  paired(task: string, a: string, b: string, metric: string, level = 0.95): PairedComparison | null {
    const va = this.values(task, a, metric);
    const vb = this.values(task, b, metric);
    const seeds = [...va.keys()].filter((s) => vb.has(s));
    if (seeds.length < 2) return null;
    return pairedComparison(
      seeds.map((s) => va.get(s)!),
      seeds.map((s) => vb.get(s)!),
      level,
    );
  }
}

/**
 * The summary over the done cells: one row per task x method x metric (every key of `metrics.values`),
 * ordered by task, metric, then method (in the cells' order). `paired` is the difference method - dpo over
 * the seeds both have, absent for dpo itself and under 2 pairs; its `pAdjusted` is Holm's across the
 * comparisons of one table (one task and one metric).
 */
export function summarize(cells: readonly CellState[]): SummaryRow[] {
  const index = new CellIndex(measuredCells(cells));
  const tasks = unique(index.cells.map((c) => c.task));
  const methods = unique(index.cells.map((c) => c.method));
  const metrics = metricNames(index.cells.map((c) => c.metrics.values));
  const rows: SummaryRow[] = [];
  for (const task of tasks)
    for (const metric of metrics) {
      const table: SummaryRow[] = [];
      for (const method of methods) {
        const values = [...index.values(task, method, metric).values()];
        if (values.length === 0) continue;
        const ci = tInterval(values);
        const row: SummaryRow = {
          task,
          method,
          metric,
          mean: ci.mean,
          sd: ci.sd,
          ciLow: ci.low,
          ciHigh: ci.high,
          n: ci.n,
        };
        const cmp = method === REFERENCE_METHOD ? null : index.paired(task, method, REFERENCE_METHOD, metric);
        if (cmp)
          row.paired = {
            against: REFERENCE_METHOD,
            n: cmp.n,
            diff: cmp.diff,
            ciLow: cmp.ciLow,
            ciHigh: cmp.ciHigh,
            p: cmp.p,
            pAdjusted: NaN,
            effectSize: cmp.effectSize,
          };
        table.push(row);
      }
      const compared = table.filter((r) => r.paired);
      holm(compared.map((r) => r.paired!.p)).forEach((p, i) => (compared[i].paired!.pAdjusted = p));
      rows.push(...table);
    }
  return rows;
}

/** What `verdicts` reads of the study's spec: the DecPO layer sweep, when there is one. */
export interface VerdictSpec {
  layers?: readonly number[];
}

/**
 * One claim of the paper as a paired difference a - b of a metric; its id is `stem/metric`. The metric
 * `judge` stands for the task's judge, whose direction JUDGES gives.
 */
interface Claim {
  stem: string;
  claim: string;
  source: string;
  a: string;
  b: string;
  metric: string;
  direction?: 'higher' | 'lower';
}

const PAPER = 'Yan et al. 2024 (arXiv 2406.17969)';

/** The paper's claims (a) to (e), in report order; (f), the layer sweep, is {@link layerVerdict}. */
const CLAIMS: Claim[] = [
  {
    stem: 'dpo-raises-proxies',
    claim: 'DPO raises feature decorrelation (FD) at the regularized block over the base model',
    source: `${PAPER}, sec. 3.3 and v1 Fig 3 (v2 Fig 4): FD per layer, base vs DPO`,
    a: 'dpo',
    b: 'base',
    metric: 'fd',
    direction: 'higher',
  },
  {
    stem: 'dpo-raises-proxies',
    claim: 'DPO raises monosemanticity over the base model (here: the share of concept-selective neurons)',
    source: `${PAPER}, Figs 2-3: the weight-based monosemanticity proxy rises after DPO`,
    a: 'dpo',
    b: 'base',
    metric: 'mono_share',
    direction: 'higher',
  },
  {
    stem: 'decpo-beats-dpo',
    claim: "DecPO beats DPO on held-out alignment (the task judge's score)",
    source: `${PAPER}, Table 2: % judged aligned, DecPO >= DPO in all 9 settings`,
    a: 'decpo',
    b: 'dpo',
    metric: 'judge',
  },
  {
    stem: 'decpo-beats-dpo',
    claim: 'DecPO beats DPO on held-out alignment (preference accuracy of the implicit reward)',
    source: `${PAPER}, Table 2 and Eq. 7 (the implicit reward r = beta (log pi - log pi_ref))`,
    a: 'decpo',
    b: 'dpo',
    metric: 'reward_accuracy',
    direction: 'higher',
  },
  {
    stem: 'decpo-beats-simpo',
    claim: 'DecPO beats SimPO ("SimDPO") on held-out alignment (the task judge)',
    source: `${PAPER}, Table 2: the SimDPO and DecPO rows`,
    a: 'decpo',
    b: 'simpo',
    metric: 'judge',
  },
  {
    stem: 'decpo-beats-l1',
    claim: 'DecPO beats the L1 activation penalty ("L1-Reg") on held-out alignment (the task judge)',
    source: `${PAPER}, Table 2: the L1-Reg and DecPO rows (L1-Reg leads on Llama-3 toxicity, 58.0 vs 57.0)`,
    a: 'decpo',
    b: 'l1',
    metric: 'judge',
  },
  {
    stem: 'decpo-widens-margin',
    claim: 'DecPO widens the held-out reward margin over DPO',
    source: `${PAPER}, v1 Fig 6: reward margin over training, DecPO above DPO in train and eval`,
    a: 'decpo',
    b: 'dpo',
    metric: 'reward_margin',
    direction: 'higher',
  },
  {
    stem: 'decpo-raises-fd',
    claim: 'DecPO raises feature decorrelation (FD) over DPO at the regularized block',
    source: `${PAPER}, v1 Fig 4 (v2 Fig 5): FD of base, DPO and DecPO over training steps`,
    a: 'decpo',
    b: 'dpo',
    metric: 'fd',
    direction: 'higher',
  },
];

/**
 * The verdict word of a difference whose paper direction is `direction`: `reproduced` when the interval
 * excludes zero on that side, `contradicted` when it excludes zero on the other, `inconclusive` otherwise
 * (an undefined interval included).
 */
export function verdictWord(ciLow: number, ciHigh: number, direction: 'higher' | 'lower'): VerdictWord {
  const above = ciLow > 0;
  const below = ciHigh < 0;
  if (direction === 'higher' ? above : below) return 'reproduced';
  if (direction === 'higher' ? below : above) return 'contradicted';
  return 'inconclusive';
}

/** A method's label in the DecPO layer sweep: `decpo@layer=L`, or `decpo` when that is the study's own layer. */
function sweepLabel(index: CellIndex, task: string, layer: number): string | null {
  const cells = index.cells.filter((c) => c.task === task);
  if (cells.some((c) => c.method === `decpo@layer=${layer}`)) return `decpo@layer=${layer}`;
  return cells.some((c) => c.method === 'decpo' && c.layer === layer) ? 'decpo' : null;
}

/**
 * Claim (f), the regularized layer matters (v1 Fig 7: alignment vs the regularized layer): among the K
 * pairs of swept layers, the pair whose judge scores differ most in mean, oriented so that `a` is the better
 * layer. Its interval is Bonferroni-widened to level 1 - 0.05/K, so that it covers with 95% whichever pair
 * is picked, and its p is min(1, K p). `reproduced` when that interval excludes zero; never `contradicted`:
 * an interval that includes zero cannot show that the layers are equal.
 */
function layerVerdict(
  index: CellIndex,
  task: string,
  judge: Judge,
  layers: readonly number[],
): Verdict | null {
  const labels = unique(layers.map((l) => sweepLabel(index, task, l)).filter((l): l is string => l !== null));
  const pairs: { a: string; b: string; diff: number }[] = [];
  for (let i = 0; i < labels.length; i++)
    for (let j = i + 1; j < labels.length; j++) {
      const cmp = index.paired(task, labels[i], labels[j], judge);
      if (cmp) pairs.push({ a: labels[i], b: labels[j], diff: cmp.diff });
    }
  if (pairs.length === 0) return null;
  const k = pairs.length;
  const top = pairs.reduce((best, p) => (Math.abs(p.diff) > Math.abs(best.diff) ? p : best));
  const direction = JUDGES[judge];
  const flip = direction === 'higher' ? top.diff < 0 : top.diff > 0;
  const [a, b] = flip ? [top.b, top.a] : [top.a, top.b];
  const cmp = index.paired(task, a, b, judge, 1 - 0.05 / k)!;
  return {
    id: `layer-matters/${judge}`,
    claim:
      `The regularized layer matters: the swept layers' judge scores differ (largest of ${k} layer pairs, ` +
      'CI Bonferroni-widened; never contradicted, as an interval that includes zero cannot show equality)',
    source: `${PAPER}, v1 Fig 7: alignment vs the regularized layer`,
    task,
    metric: judge,
    a,
    b,
    direction,
    verdict: verdictWord(cmp.ciLow, cmp.ciHigh, direction) === 'reproduced' ? 'reproduced' : 'inconclusive',
    n: cmp.n,
    diff: cmp.diff,
    ciLow: cmp.ciLow,
    ciHigh: cmp.ciHigh,
    p: Math.min(1, k * cmp.p),
    pAdjusted: NaN,
    effectSize: cmp.effectSize,
  };
}

/**
 * A verdict per claim of the paper and task, for the claims whose methods and metrics the done cells have
 * with at least 2 paired seeds: the paired difference a - b over seeds, its 95% t-interval, the word (see
 * {@link verdictWord}), the sign-flip p and Holm's adjustment across the verdicts of one task, and d_z.
 * The judge is `toxicity_rate` (lower is better) or `reframe_rate` (higher), whichever the task's cells
 * have; a layer sweep (`spec.layers`, cells `decpo@layer=L`) adds claim (f), see {@link layerVerdict}.
 */
export function verdicts(cells: readonly CellState[], spec: VerdictSpec): Verdict[] {
  const index = new CellIndex(measuredCells(cells));
  const out: Verdict[] = [];
  for (const task of unique(index.cells.map((c) => c.task))) {
    const present = new Set(
      index.cells.filter((c) => c.task === task).flatMap((c) => Object.keys(c.metrics.values)),
    );
    const judge = (Object.keys(JUDGES) as Judge[]).find((m) => present.has(m));
    const found: Verdict[] = [];
    for (const { stem, metric: named, direction: given, ...c } of CLAIMS) {
      const metric = named === 'judge' ? judge : named;
      if (!metric) continue;
      const direction = given ?? JUDGES[metric as Judge];
      const cmp = index.paired(task, c.a, c.b, metric);
      if (!cmp) continue;
      found.push({
        ...c,
        id: `${stem}/${metric}`,
        task,
        metric,
        direction,
        verdict: verdictWord(cmp.ciLow, cmp.ciHigh, direction),
        n: cmp.n,
        diff: cmp.diff,
        ciLow: cmp.ciLow,
        ciHigh: cmp.ciHigh,
        p: cmp.p,
        pAdjusted: NaN,
        effectSize: cmp.effectSize,
      });
    }
    const layered = judge && spec.layers ? layerVerdict(index, task, judge, spec.layers) : null;
    if (layered) found.push(layered);
    holm(found.map((v) => v.p)).forEach((p, i) => (found[i].pAdjusted = p));
    out.push(...found);
  }
  return out;
}
