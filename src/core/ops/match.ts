/**
 * Feature matching across checkpoints or models: features (or neurons) of A and B matched by activation
 * correlation on the same tokens with Lan et al.'s filters, then the kept pairs scored with SVCCA and RSA.
 */
import { matchByActivationCorrelation, pairedSimilarity, type MatchResult } from '../analysis/index.js';
import type { OpParsed } from '../api.js';
import type { Project } from '../store/project.js';
import { cached, cancellable } from './tap.js';
import { featureReps, featureSides, sidesKey, tokenStrings, type SideKey } from './features.js';
import { nullHistogram, RSA_LABEL, similarityResult, type SimilarityResult } from './similarity.js';
import type { Histogram } from '../analysis/histogram.js';
import { silentReporter, type Reporter } from './progress.js';

/** A stored match: the matching, and (with shuffles and at least 3 pairs) the pairs' SVCCA and RSA. */
export interface MatchAnalysis extends MatchResult {
  similarity?: { svcca: SimilarityResult; rsa: SimilarityResult };
}

/** What the `match` operation returns: the analysis, its null distributions, and whether it was stored. */
export type MatchOpResult = MatchAnalysis & {
  svccaNull: Float32Array | null;
  rsaNull: Float32Array | null;
  svccaNullHistogram: Histogram | null;
  rsaNullHistogram: Histogram | null;
  reused: boolean;
};

/** The stored key of a match: both sides by content (tap, SAE weights) and the options with their defaults. */
export function matchKey(req: OpParsed<'match'>, a: SideKey, b: SideKey) {
  return {
    ...sidesKey(a, b),
    options: req.options,
    shuffles: req.shuffles,
    seed: req.seed,
  };
}

/**
 * Matches features (or neurons) of A and B by activation correlation on the same tokens with Lan et al.'s
 * filters, then (with `shuffles`) scores the kept pairs with SVCCA and RSA on their decoder rows (SAEs) or
 * activation columns (neurons), against a permutation null.
 */
export async function matchOp(
  project: Project,
  req: OpParsed<'match'>,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
): Promise<MatchOpResult> {
  const { fa, fb, a, b } = await featureSides(project, req, reporter, signal);
  if (fa.t.rec.probeHash !== fb.t.rec.probeHash)
    throw new Error('both sides must be recorded over the same probe set');
  const { tokenFilters, ...options } = req.options;
  const { shuffles, seed } = req;
  const inputs = matchKey(req, a, b);
  const r = await cached<MatchAnalysis>(project, 'match', inputs, async () => {
    const m = matchByActivationCorrelation(fa.acts, fb.acts, {
      ...options,
      ...(tokenFilters ? { tokens: tokenStrings(fa.t) } : { junkTokens: null, sharedToken: false }),
      tokenIds: fa.t.ids,
      specialIds: fa.t.specialIds,
    });
    if (shuffles === 0 || m.pairs.length < 3) return { result: m };
    const ia = Int32Array.from(m.pairs.map((p) => p.a));
    const ib = Int32Array.from(m.pairs.map((p) => p.b));
    const { repA, repB } = featureReps(fa, fb, seed, ia, ib);
    reporter.message(`scoring ${m.pairs.length} matched pairs with SVCCA and RSA (${shuffles} shuffles)`);
    const ps = await cancellable(signal, () => pairedSimilarity(repA, repB, { shuffles, seed, signal }));
    const { svcca, rsa } = ps;
    const svccaScore = {
      measure: 'svcca' as const,
      mode: svcca.mode,
      label: svcca.label,
      score: svcca.score,
    };
    return {
      result: {
        ...m,
        similarity: {
          svcca: similarityResult(
            { ...svccaScore, n: svcca.n, kA: svcca.kA, kB: svcca.kB, warnings: svcca.warnings },
            svcca.null,
            shuffles,
          ),
          rsa: similarityResult(
            { measure: 'rsa', label: RSA_LABEL, score: rsa.score, n: rsa.n, warnings: [] },
            rsa.null,
            shuffles,
          ),
        },
      },
      blobs: {
        ...(svcca.null ? { svccaNull: Float32Array.from(svcca.null.null) } : {}),
        ...(rsa.null ? { rsaNull: Float32Array.from(rsa.null.null) } : {}),
      },
    };
  });
  return {
    ...r.result,
    svccaNull: r.blobs.svccaNull ?? null,
    rsaNull: r.blobs.rsaNull ?? null,
    svccaNullHistogram: nullHistogram(r.blobs.svccaNull),
    rsaNullHistogram: nullHistogram(r.blobs.rsaNull),
    reused: r.reused,
  };
}
