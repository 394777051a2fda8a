/** The correlation structure of a tap: the neuron x neuron Pearson matrix, its summaries, and differences. */
import {
  pearsonMatrix,
  correlationSummary,
  clusterOrder,
  featureDecorrelation,
  takeRows,
} from '../analysis/index.js';
import type { Project } from '../store/project.js';
import { cachedTap, usableRows, type TapRef } from './tap.js';
import type { Reporter } from './progress.js';

export interface CorrelationResult {
  size: number;
  n: number;
  dead: number[];
  meanAbsOffDiagonal: number;
  normalizedFrobenius: number;
  /** The paper's feature decorrelation 1 - mean pairwise cosine between examples' activation vectors. */
  featureDecorrelation: number;
  fdExamples: number;
}

/**
 * The Pearson neuron x neuron matrix of a tap over the probe's non-special tokens, its summaries, and a
 * cluster order for heatmaps. Blobs: `corr` [size*size], `order` (float32 of neuron indices).
 */
export async function correlationOp(
  project: Project,
  ref: TapRef,
  reporter?: Reporter,
  signal?: AbortSignal,
) {
  return cachedTap<CorrelationResult>(
    project,
    ref,
    'correlation',
    { rows: 'non-special' },
    (t) => {
      reporter?.message?.(
        `correlation of ${ref.checkpoint} ${ref.tap}: ${t.x.cols} neurons over ${t.x.rows} tokens`,
      );
      const rows = usableRows(t);
      const x = takeRows(t.x, rows);
      const c = pearsonMatrix(x);
      const s = correlationSummary(c);
      // FD: one vector per sequence at its last real token, as the paper (Yan et al. §3.3) reads it.
      const last = new Map<number, number>();
      for (const r of rows) last.set(t.seqOf[r], r);
      const fd = featureDecorrelation(takeRows(t.x, Int32Array.from(last.values())));
      const order = clusterOrder(c);
      return {
        result: {
          size: c.size,
          n: c.n,
          dead: c.dead,
          meanAbsOffDiagonal: s.meanAbsOffDiagonal,
          normalizedFrobenius: s.normalizedFrobenius,
          featureDecorrelation: fd.fd,
          fdExamples: fd.n,
        },
        blobs: { corr: c.corr, order: Float32Array.from(order) },
      };
    },
    reporter,
    signal,
  );
}

/** The difference B - A of two checkpoints' correlation matrices of the same tap (blob `diff`). */
export async function correlationDiffOp(
  project: Project,
  a: TapRef,
  b: TapRef,
  reporter?: Reporter,
  signal?: AbortSignal,
) {
  const ca = await correlationOp(project, a, reporter, signal);
  const cb = await correlationOp(project, b, reporter, signal);
  if (ca.result.size !== cb.result.size)
    throw new Error(`${a.tap} of ${a.checkpoint} and ${b.tap} of ${b.checkpoint} differ in size`);
  const diff = new Float32Array(ca.blobs.corr.length);
  let absSum = 0;
  for (let i = 0; i < diff.length; i++) {
    diff[i] = cb.blobs.corr[i] - ca.blobs.corr[i];
    absSum += Math.abs(diff[i]);
  }
  return { size: ca.result.size, meanAbsDiff: absSum / diff.length, diff, order: ca.blobs.order };
}
