/**
 * Feature matching across checkpoints or models: features (or neurons) of A and B matched by activation
 * correlation on the same tokens with Lan et al.'s filters, then the kept pairs scored with SVCCA and RSA;
 * beside a match of two SAEs, its seed baseline (`seed-baseline.ts`).
 */
import { matchByActivationCorrelation, pairedSimilarity, type MatchResult } from '../analysis/index.js';
import type { OpParsed } from '../api.js';
import type { Project } from '../store/project.js';
import { cached, cancellable } from './tap.js';
import {
  featureReps,
  featureSides,
  saeFeatures,
  sidesKey,
  tokenStrings,
  type Features,
  type SideKey,
} from './features.js';
import { findSae } from './sae.js';
import { seedBaseline, seedTwin, type SeedBaseline } from './seed-baseline.js';
import { nullHistogram, RSA_LABEL, similarityResult, type SimilarityResult } from './similarity.js';
import type { Histogram } from '../analysis/histogram.js';
import { silentReporter, type Reporter } from './progress.js';

/** A stored match: the matching, (with shuffles and at least 3 pairs) the pairs' SVCCA and RSA, and its seed baseline. */
export interface MatchAnalysis extends MatchResult {
  similarity?: { svcca: SimilarityResult; rsa: SimilarityResult };
  /** Two SAEs matched (unless switched off): the same statistics for SAE A and A retrained with another seed. */
  seedBaseline?: SeedBaseline;
}

/** What the `match` operation returns: the analysis, its null distributions, and whether it was stored. */
export type MatchOpResult = MatchAnalysis & {
  svccaNull: Float32Array | null;
  rsaNull: Float32Array | null;
  svccaNullHistogram: Histogram | null;
  rsaNullHistogram: Histogram | null;
  reused: boolean;
};

/** Whether a match request gets its seed baseline: when it matches two SAEs, unless switched off. */
export function withSeedBaseline(req: OpParsed<'match'>): boolean {
  return !!req.saeA && !!req.saeB && req.seedBaseline !== false;
}

/** The stored key of a match: both sides by content (tap, SAE weights) and the options with their defaults. */
export function matchKey(req: OpParsed<'match'>, a: SideKey, b: SideKey) {
  return {
    ...sidesKey(a, b),
    options: req.options,
    shuffles: req.shuffles,
    seed: req.seed,
    ...(withSeedBaseline(req) ? { seedBaseline: true } : {}),
  };
}

/**
 * Matches features (or neurons) of A and B by activation correlation on the same tokens with Lan et al.'s
 * filters, then (with `shuffles`) scores the kept pairs with SVCCA and RSA on their decoder rows (SAEs) or
 * activation columns (neurons), against a permutation null. Two SAEs matched also get the seed baseline
 * (`seed-baseline.ts`): A's seed twin, trained on demand and cached, matched to A with the same options.
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
  const r = await cached<MatchAnalysis>(project, 'match', matchKey(req, a, b), async () => {
    const m = await matchFeatures(fa, fb, req, reporter, signal);
    if (!withSeedBaseline(req)) return m;
    const twin = (await seedTwin(project, findSae(project, req.saeA!), fa.t, reporter, signal)).record;
    const ft = saeFeatures(fa.t, twin);
    // A against A' is a match like any other: stored under its own key, found again by later matches.
    const sameSide = { tap: a.tap, saeHash: ft.saeHash };
    const twinReq = { ...req, b: req.a, seedBaseline: false };
    reporter.message(`seed baseline: matching ${req.saeA} with ${twin.name}`);
    const mt = await cached<MatchAnalysis>(project, 'match', matchKey(twinReq, a, sameSide), () =>
      matchFeatures(fa, ft, twinReq, reporter, signal),
    );
    return {
      result: { ...m.result, seedBaseline: seedBaseline(m.result, fa, fb, twin, ft, mt.result) },
      blobs: m.blobs,
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

/** The match of the features `fa` and `fb` with the request's options, and its SVCCA/RSA with their nulls. */
async function matchFeatures(
  fa: Features,
  fb: Features,
  req: OpParsed<'match'>,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<{ result: MatchAnalysis; blobs: Record<string, Float32Array> }> {
  const { tokenFilters, ...options } = req.options;
  const { shuffles, seed } = req;
  const m = matchByActivationCorrelation(fa.acts, fb.acts, {
    ...options,
    ...(tokenFilters ? { tokens: tokenStrings(fa.t) } : { junkTokens: null, sharedToken: false }),
    tokenIds: fa.t.ids,
    specialIds: fa.t.specialIds,
  });
  if (shuffles === 0 || m.pairs.length < 3) return { result: m, blobs: {} };
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
}
