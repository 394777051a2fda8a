/**
 * The seed baseline of universality claims (issue 13; Paulo & Belrose 2025, "Sparse Autoencoders Trained on
 * the Same Data Learn Different Features", arXiv 2501.16615): two SAEs trained on the same activations that
 * differ only in their seed share only part of their latents, so "models A and B share X% of features"
 * must be read against "two seeds share Y%".
 *
 * The seed twin A' of an SAE A is A's training again on the same tap with the seed + 1 (our seed sets the
 * initialisation, the batch order and the held-out split; Paulo & Belrose also kept the data order fixed).
 * It is trained on demand and cached by content (the tap's key and the settings), under
 * `saes/.seed-twins/` where no SAE name can point (names start with a letter or a digit), never as an SAE
 * of the user's. Matched to A with the options of the cross-model match, it gives the same statistics
 * (the share of features kept, SVCCA/RSA of the kept pairs against their nulls), and beside them the
 * latents shared by weight geometry ({@link sharedLatents}).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  sharedLatents,
  transpose,
  type DictionaryOverlap,
  type Matrix,
  type Sae,
} from '../analysis/index.js';
import { canonicalJson } from '../store/analyses.js';
import { withLock } from '../store/locks.js';
import type { Project } from '../store/project.js';
import type { MatchAnalysis } from './match.js';
import type { Features } from './features.js';
import { saeWeightsHash, trainSaeOnTap, type SaeRecord, type SaeSettings } from './sae.js';
import { tapKey, type TapData } from './tap.js';
import { silentReporter, throwIfCancelled, type Reporter } from './progress.js';

/** The folder of seed twins under the project's `saes/`. */
export const SEED_TWINS_DIR = '.seed-twins';

/** The latents two dictionaries share ({@link sharedLatents}), without the per-latent arrays. */
export interface OverlapSummary {
  shared: number;
  fraction: number;
  meanCosine: number;
  threshold: number;
  /** Whether the encoder rows had to pass too (Paulo & Belrose's rule). */
  encoders: boolean;
}

/** A cross-model match's seed baseline: the same statistics for SAE A and its seed twin A'. */
export interface SeedBaseline {
  /** A': a display name, its seed and its weights hash. */
  sae: string;
  seed: number;
  weightsHash: string;
  /** Share of the picking side's features that the match keeps: A↔B, and A↔A' with the same options. */
  share: number;
  seedShare: number;
  /** A↔A': kept pairs, mean r of the kept pairs, and SVCCA/RSA of their decoder rows against the null. */
  seedKept: number;
  seedMeanR: number;
  seedSvcca: { score: number; nullMean: number | null; pValue: number | null } | null;
  seedRsa: { score: number; nullMean: number | null; pValue: number | null } | null;
  /**
   * Latents shared by weight geometry (Hungarian-matched decoder and encoder rows with cosines above 0.7):
   * A vs B (null when the two taps differ in width, where the rows are not comparable) and A vs A'.
   */
  sharedAB: OverlapSummary | null;
  sharedSeeds: OverlapSummary;
}

/** The settings of A's seed twin: A's, with the next seed. */
export function seedTwinSettings(s: SaeSettings): SaeSettings {
  return { ...s, seed: (s.seed + 1) % 2 ** 31 };
}

/**
 * The seed twin of the SAE `sae` on its tap `t` (see the module comment): from the store when it was trained
 * before and its files are intact, else trained now and stored.
 */
export async function seedTwin(
  project: Project,
  sae: SaeRecord,
  t: TapData,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
): Promise<{ record: SaeRecord; reused: boolean }> {
  const settings = seedTwinSettings(sae.settings);
  const key = { source: tapKey(t.rec), settings };
  const id = createHash('sha256').update(canonicalJson(key)).digest('hex').slice(0, 16);
  const intact = (r: SaeRecord | undefined): r is SaeRecord =>
    !!r && existsSync(join(r.dir, 'cfg.json')) && saeWeightsHash(r.dir) === r.weightsHash;
  const stored = project.store.analyses.get<SaeRecord>('sae-seed-twin', key)?.result;
  if (intact(stored)) return { record: stored, reused: true };
  return withLock(project.dir, 'sae', `${SEED_TWINS_DIR}/${id}`, async () => {
    const again = project.store.analyses.get<SaeRecord>('sae-seed-twin', key)?.result;
    if (intact(again)) return { record: again, reused: true };
    throwIfCancelled(signal);
    const name = `${sae.name} (seed ${settings.seed})`;
    reporter.message(`seed baseline: training ${name}, ${sae.name} with another seed`);
    const dir = join(project.saesDir, SEED_TWINS_DIR, id);
    const record = trainSaeOnTap(t, t.ref, name, dir, settings, reporter);
    project.store.analyses.put('sae-seed-twin', key, record);
    return { record, reused: false };
  });
}

/** Encoder rows [d_sae, d_in] of an SAE (its W_enc is [d_in, d_sae]). */
function encoderRows(sae: Sae): Matrix {
  return transpose({ data: sae.wEnc, rows: sae.config.dIn, cols: sae.config.dSae });
}

/** Shared latents of two SAE sides by their decoder and encoder rows (null when their widths differ). */
function overlap(x: Features, y: Features): OverlapSummary | null {
  if (!x.sae || !y.sae || !x.rep || !y.rep || x.rep.cols !== y.rep.cols) return null;
  const o: DictionaryOverlap = sharedLatents(x.rep, y.rep, undefined, {
    a: encoderRows(x.sae),
    b: encoderRows(y.sae),
  });
  return {
    shared: o.shared,
    fraction: o.fraction,
    meanCosine: o.meanCosine,
    threshold: o.threshold,
    encoders: true,
  };
}

/** Share of the picking side's features that a match keeps (B's with `b-to-a`, A's with `a-to-b`). */
export function keptShare(m: MatchAnalysis, a: Features, b: Features): number {
  const n = m.direction === 'b-to-a' ? b.acts.cols : a.acts.cols;
  return n ? m.kept / n : NaN;
}

/**
 * The seed baseline of the match `m` of A (`fa`) and B (`fb`), given A's seed twin (`ft`, its record `twin`)
 * and the match `mt` of A and A' made with the same options.
 */
export function seedBaseline(
  m: MatchAnalysis,
  fa: Features,
  fb: Features,
  twin: SaeRecord,
  ft: Features,
  mt: MatchAnalysis,
): SeedBaseline {
  const score = (s: { score: number; nullMean?: number; pValue?: number } | undefined) =>
    s ? { score: s.score, nullMean: s.nullMean ?? null, pValue: s.pValue ?? null } : null;
  return {
    sae: twin.name,
    seed: twin.settings.seed,
    weightsHash: twin.weightsHash!,
    share: keptShare(m, fa, fb),
    seedShare: keptShare(mt, fa, ft),
    seedKept: mt.kept,
    seedMeanR: mt.meanCorrelationFiltered,
    seedSvcca: score(mt.similarity?.svcca),
    seedRsa: score(mt.similarity?.rsa),
    sharedAB: overlap(fa, fb),
    sharedSeeds: overlap(fa, ft)!,
  };
}
