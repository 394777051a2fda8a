/** SVCCA and RSA between two recorded taps, with a permutation null; and the one shape of their results. */
import { histogramOf, type Histogram } from '../analysis/histogram.js';
import {
  canonicalCorrelations,
  prepareSvcca,
  prepareRsa,
  rsaScore,
  permutationNullThreaded,
  takeRows,
  SVCCA_MODE_LABELS,
  type SvccaMode,
  type PermutationNull,
  type NullStatistic,
} from '../analysis/index.js';
import type { OpParsed } from '../api.js';
import type { Project } from '../store/project.js';
import { cached, cancellable, loadTap, tapKey, usableRows, type TapKey } from './tap.js';
import { silentReporter, type Reporter } from './progress.js';

export const RSA_LABEL = 'RSA: Spearman correlation of the upper triangles of the two Pearson RDMs';

/** A similarity score with its permutation null's summary (the null itself travels as an array). */
export interface SimilarityResult {
  measure: 'svcca' | 'rsa';
  mode?: SvccaMode;
  label: string;
  score: number;
  n: number;
  kA?: number;
  kB?: number;
  warnings: string[];
  nullMean?: number;
  nullSd?: number;
  pValue?: number;
  pFormula?: string;
  shuffles: number;
}

/** What the `similarity` operation returns: the result, its null distribution, and whether it was stored. */
export type SimilarityOpResult = SimilarityResult & {
  nullDistribution: Float32Array | null;
  /** The null's scores in the bins of its figure. */
  nullHistogram: Histogram | null;
  reused: boolean;
};

/** A permutation null's scores in the 40 bins of its figure (null when there was no null). */
export function nullHistogram(values: Float32Array | undefined): Histogram | null {
  return values?.length ? histogramOf(values, 40) : null;
}

/** A score before its null: the measure, what it is, and how it was computed. */
export type SimilarityScore = Omit<
  SimilarityResult,
  'nullMean' | 'nullSd' | 'pValue' | 'pFormula' | 'shuffles'
>;

/** Assembles a {@link SimilarityResult} from a score and its null (none when there were no shuffles). */
export function similarityResult(
  score: SimilarityScore,
  nul: PermutationNull | undefined,
  shuffles: number,
): SimilarityResult {
  return {
    ...score,
    nullMean: nul?.nullMean,
    nullSd: nul?.nullSd,
    pValue: nul?.pValue,
    pFormula: nul?.formula,
    shuffles,
  };
}

/** The stored key of a similarity: the two taps' content and the options with their defaults applied. */
export function similarityKey(req: OpParsed<'similarity'>, a: TapKey, b: TapKey) {
  return {
    a,
    b,
    measure: req.measure,
    mode: req.measure === 'svcca' ? (req.mode ?? 'svcca') : undefined,
    shuffles: req.shuffles,
    seed: req.seed,
    maxTokens: req.maxTokens ?? (req.measure === 'rsa' ? 1000 : 4000),
  };
}

/**
 * SVCCA or RSA between two recorded taps over the same probe tokens (datapoints = tokens), with a
 * permutation null that keeps A and shuffles B's rows.
 */
export async function similarityOp(
  project: Project,
  req: OpParsed<'similarity'>,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
): Promise<SimilarityOpResult> {
  const ta = await loadTap(project, req.a, reporter, signal);
  const tb = await loadTap(project, req.b, reporter, signal);
  if (ta.rec.probeHash !== tb.rec.probeHash)
    throw new Error('both taps must be recorded over the same probe set');
  const inputs = similarityKey(req, tapKey(ta.rec), tapKey(tb.rec));
  const { shuffles, seed, maxTokens } = inputs;
  const r = await cached<SimilarityResult>(project, 'similarity', inputs, async () => {
    const rows = usableRows(ta, maxTokens, seed);
    const A = takeRows(ta.x, rows);
    const B = takeRows(tb.x, rows);
    let score: SimilarityScore;
    let statistic: NullStatistic;
    if (req.measure === 'svcca') {
      // One preparation serves the observed score and every shuffle.
      const mode = inputs.mode ?? 'svcca';
      const p = prepareSvcca(A, B, { mode });
      const correlations = canonicalCorrelations(p);
      score = {
        measure: 'svcca',
        mode,
        label: SVCCA_MODE_LABELS[mode],
        score: correlations.reduce((s, v) => s + v, 0) / correlations.length,
        n: rows.length,
        kA: p.kA,
        kB: p.kB,
        warnings: p.warnings,
      };
      statistic = { measure: 'svcca', prepared: p };
    } else {
      const p = prepareRsa(A, B);
      score = { measure: 'rsa', label: RSA_LABEL, score: rsaScore(p), n: rows.length, warnings: [] };
      statistic = { measure: 'rsa', prepared: p };
    }
    let nul: PermutationNull | undefined;
    if (shuffles > 0) {
      nul = await cancellable(signal, () =>
        permutationNullThreaded(score.score, statistic, {
          shuffles,
          seed,
          signal,
          onProgress: (done, total) =>
            reporter.progress({ phase: `${req.measure} null`, done, total, unit: 'shuffle' }),
        }),
      );
    }
    return {
      result: similarityResult(score, nul, shuffles),
      blobs: (nul ? { null: Float32Array.from(nul.null) } : {}) as Record<string, Float32Array>,
    };
  });
  return {
    ...r.result,
    nullDistribution: r.blobs.null ?? null,
    nullHistogram: nullHistogram(r.blobs.null),
    reused: r.reused,
  };
}
