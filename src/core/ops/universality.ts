/**
 * Universality in miniature (`monoscope demo --universality`), after Lan et al. 2024 (arXiv 2410.06981):
 * a second base model of another size and seed is pretrained on the same built-in world; TopK SAEs are
 * trained on the residual stream of every block of both models; SAE features are matched across every
 * layer pair by the correlation of their activations on the same probe tokens (with the paper's filters);
 * the matched features' decoder rows are compared with SVCCA (as intended: 99% variance) and RSA, each
 * against a permutation null, with Benjamini-Hochberg q-values across the layer pairs; beside each layer
 * pair, its seed baseline (A's SAE against A's SAE retrained with another seed; `seed-baseline.ts`).
 *
 * Model diffing beside it: the demo's DPO and DecPO fine-tunes of the base (trained here when missing), a
 * BatchTopK crosscoder over base, dpo and decpo on the MLP neurons of DecPO's layer, and its findings (the
 * latents specific to each fine-tune, their concepts and monosemanticity) with a seed baseline.
 */
import { benjaminiHochberg } from '../analysis/nulls.js';
import type { Project } from '../store/project.js';
import { matchOp } from './match.js';
import { saeTrainOp } from './sae.js';
import { MATCH_R_THRESHOLD, parseInput, type OpInput, type TapRef } from '../api.js';
import { recordOp } from './record.js';
import { trainOp, type TrainRequest } from './train.js';
import { demoPlan } from './demo.js';
import { crosscoderFindings, crosscoderTrainOp } from './crosscoder.js';
import type { CrosscoderRecord, DiffingFindings } from '../diff/types.js';
import { throwIfCancelled, type Reporter } from './progress.js';

/** The universality demo's input, as the contract takes it (defaults not yet applied). */
export type UniversalityOptions = OpInput<'universality'>;

export interface LayerPairResult {
  layerA: number;
  layerB: number;
  saeA: string;
  saeB: string;
  /** Matched pairs before and after the filters. */
  pairsBefore: number;
  kept: number;
  meanR: number;
  svcca: number;
  svccaNullMean: number;
  svccaP: number;
  svccaQ: number;
  kA: number;
  kB: number;
  rsa: number;
  rsaNullMean: number;
  rsaP: number;
  rsaQ: number;
  /**
   * The seed baseline (Paulo & Belrose 2025): the share of B's features the match keeps, the same share for
   * A's SAE matched with A's SAE retrained with another seed, that pair's SVCCA, and the fraction of A's
   * latents its seed twin shares by weight geometry (decoder and encoder cosines above 0.7).
   */
  share?: number;
  seedShare?: number;
  seedSvcca?: number;
  seedSharedLatents?: number;
}

export interface UniversalityResult {
  modelA: string;
  modelB: string;
  shuffles: number;
  saes: { name: string; tap: string; explainedVariance: number; l0: number; deadFraction: number }[];
  pairs: LayerPairResult[];
  /** The crosscoder over base, dpo and decpo, and what it finds. */
  diffing: { crosscoder: CrosscoderRecord; findings: DiffingFindings };
}

/** The second model: another size and seed, same world and tokenizer. */
export function secondModel(o: UniversalityOptions): TrainRequest {
  const base = demoPlan(o).base;
  const quick = !!o.quick;
  return {
    ...base,
    name: 'base-b',
    seed: (o.seed ?? 0) + 1,
    model: quick
      ? { nLayer: 3, nEmbd: 48, nHead: 4, nInner: 192, nCtx: 64 }
      : { nLayer: 3, nEmbd: 96, nHead: 4, nInner: 384, nCtx: 64 },
  };
}

/** Runs the study (see the module comment); completed steps are reused from the store. */
export async function universalityOp(
  project: Project,
  o: UniversalityOptions,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<UniversalityResult> {
  const shuffles = o.shuffles ?? (o.quick ? 200 : 1000);
  const plan = demoPlan(o);
  const models = [plan.base, secondModel(o)];
  for (const req of [...models, plan.dpo, plan.decpo]) {
    throwIfCancelled(signal);
    const run = project.store.runs.get(req.name);
    if (run?.status === 'completed' && project.store.checkpoints.get(req.name)) continue;
    reporter.message(`\n== ${req.stage} -> checkpoints/${req.name}`);
    const r = await trainOp(project, req, reporter, signal);
    if (r.status !== 'completed') throw new Error(r.message ?? `${req.name}: ${r.status}`);
  }
  const layers = (name: string) => (project.store.checkpoints.get(name)!.config as { nLayer: number }).nLayer;
  const saes: UniversalityResult['saes'] = [];
  const saeOf = new Map<string, string>();
  for (const req of models) {
    const n = layers(req.name);
    const taps = Array.from({ length: n }, (_, i) => `blocks.${i}.resid_post`);
    await recordOp(
      project,
      parseInput('record', { checkpoint: req.name, probe: 'builtin', taps: taps.join(',') }),
      reporter,
      signal,
    );
    const dModel = (project.store.checkpoints.get(req.name)!.config as { nEmbd: number }).nEmbd;
    for (const tap of taps) {
      throwIfCancelled(signal);
      const name = `${req.name}-${tap.replace(/\./g, '-')}`;
      const ref: TapRef = { checkpoint: req.name, tap, probe: 'builtin' };
      reporter.message(`SAE ${name}: TopK, ${4 * dModel} latents, k 16`);
      const s = await saeTrainOp(
        project,
        parseInput('sae.train', {
          name,
          ref,
          kind: 'topk',
          latents: 4 * dModel,
          k: 16,
          steps: o.quick ? 100 : 400,
          batchSize: 1024,
          seed: o.seed ?? 0,
        }),
        reporter,
        signal,
      );
      saes.push({
        name,
        tap: `${req.name}:${tap}`,
        explainedVariance: s.metrics.explainedVariance,
        l0: s.metrics.l0,
        deadFraction: s.metrics.deadFraction,
      });
      saeOf.set(`${req.name}:${tap}`, name);
    }
  }
  const pairs: LayerPairResult[] = [];
  const [A, B] = models.map((m) => m.name);
  for (let la = 0; la < layers(A); la++) {
    for (let lb = 0; lb < layers(B); lb++) {
      throwIfCancelled(signal);
      const a: TapRef = { checkpoint: A, tap: `blocks.${la}.resid_post`, probe: 'builtin' };
      const b: TapRef = { checkpoint: B, tap: `blocks.${lb}.resid_post`, probe: 'builtin' };
      const saeA = saeOf.get(`${A}:${a.tap}`)!;
      const saeB = saeOf.get(`${B}:${b.tap}`)!;
      reporter.message(`match ${A} layer ${la} <-> ${B} layer ${lb}`);
      const m = await matchOp(
        project,
        parseInput('match', {
          a,
          b,
          saeA,
          saeB,
          options: { rule: 'many-to-1', rThreshold: MATCH_R_THRESHOLD },
          shuffles,
          seed: o.seed ?? 0,
        }),
        reporter,
        signal,
      );
      const s = m.similarity;
      pairs.push({
        layerA: la,
        layerB: lb,
        saeA,
        saeB,
        pairsBefore: m.filters.find((f) => f.filter.startsWith('pairs'))?.after ?? m.kept,
        kept: m.kept,
        meanR: m.meanCorrelationFiltered,
        svcca: s?.svcca.score ?? NaN,
        svccaNullMean: s?.svcca.nullMean ?? NaN,
        svccaP: s?.svcca.pValue ?? NaN,
        svccaQ: NaN,
        kA: s?.svcca.kA ?? 0,
        kB: s?.svcca.kB ?? 0,
        rsa: s?.rsa.score ?? NaN,
        rsaNullMean: s?.rsa.nullMean ?? NaN,
        rsaP: s?.rsa.pValue ?? NaN,
        rsaQ: NaN,
        ...(m.seedBaseline && {
          share: m.seedBaseline.share,
          seedShare: m.seedBaseline.seedShare,
          seedSvcca: m.seedBaseline.seedSvcca?.score ?? NaN,
          seedSharedLatents: m.seedBaseline.sharedSeeds.fraction,
        }),
      });
    }
  }
  const scored = pairs.filter((p) => Number.isFinite(p.svccaP));
  const qs = benjaminiHochberg(scored.map((p) => p.svccaP));
  const qr = benjaminiHochberg(scored.map((p) => p.rsaP));
  scored.forEach((p, i) => {
    p.svccaQ = qs[i];
    p.rsaQ = qr[i];
  });
  return {
    modelA: A,
    modelB: B,
    shuffles,
    saes,
    pairs,
    diffing: await diffing(project, o, reporter, signal),
  };
}

/** The crosscoder over the demo's base, dpo and decpo on DecPO's layer, with its findings and seed baseline. */
async function diffing(
  project: Project,
  o: UniversalityOptions,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<UniversalityResult['diffing']> {
  const { base, dpo, decpo, layer } = demoPlan(o);
  // The layer DecPO regularized, as its run recorded it (a kept decpo may come from another plan).
  const request = project.store.runs.get(decpo.name)?.config.request as { layer?: number } | undefined;
  const tap = `blocks.${request?.layer ?? layer}.mlp.post`;
  reporter.message(`\n== crosscoder over ${base.name}, ${dpo.name}, ${decpo.name} on ${tap}`);
  const crosscoder = await crosscoderTrainOp(
    project,
    parseInput('crosscoder.train', {
      name: 'demo-diff',
      checkpoints: [base.name, dpo.name, decpo.name],
      tap,
      latents: o.quick ? 256 : 1024,
      steps: o.quick ? 400 : 800,
      batchSize: 256,
      seed: o.seed ?? 0,
    }),
    reporter,
    signal,
  );
  return { crosscoder, findings: await crosscoderFindings(project, crosscoder, reporter, signal) };
}
