/** The features of a tap that matching and subspaces compare: its neurons, or an SAE's latents. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadSae, encodeSae, saeDecoderRows, takeRows, takeCols, type Matrix } from '../analysis/index.js';
import type { TapRef } from '../api.js';
import type { Project } from '../store/project.js';
import { loadTap, recordedTapKey, type TapData, type TapKey } from './tap.js';
import { findSae, getSae, saeWeightsHash } from './sae.js';
import type { Reporter } from './progress.js';

export interface Features {
  t: TapData;
  /** Feature activations [tokens, features]: the tap itself, or an SAE's dense latents. */
  acts: Matrix;
  /** An SAE's decoder rows [features, d_in]. */
  rep?: Matrix;
  /** The SAE's weights hash (what a result computed from it is keyed by). */
  saeHash?: string;
}

/** Features of a tap: the raw neurons, or the dense latent activations of the SAE named `saeName`. */
export async function featureActs(
  project: Project,
  ref: TapRef,
  saeName: string | undefined,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<Features> {
  const t = await loadTap(project, ref, reporter, signal);
  if (!saeName) return { t, acts: t.x };
  const rec = findSae(project, saeName);
  if (rec.ref.tap !== ref.tap)
    throw new Error(`SAE '${saeName}' was trained on ${rec.ref.tap}, not ${ref.tap}`);
  const sae = loadSae(rec.dir);
  return {
    t,
    acts: encodeSae(sae, t.x, { dense: true }),
    rep: saeDecoderRows(sae),
    saeHash: saeWeightsHash(rec.dir),
  };
}

/**
 * The content of one side of a match or subspaces request, from the store alone: its recorded tap and its
 * SAE's weights hash. Undefined when the tap is not recorded from its checkpoint's current weights or the
 * SAE does not exist.
 */
export function recordedSide(
  project: Project,
  ref: TapRef,
  saeName: string | undefined,
): { tap: TapKey; saeHash?: string } | undefined {
  const tap = recordedTapKey(project, ref);
  if (!tap) return undefined;
  if (!saeName) return { tap };
  const rec = getSae(project, saeName);
  if (!rec || !existsSync(join(rec.dir, 'cfg.json'))) return undefined;
  return { tap, saeHash: saeWeightsHash(rec.dir) };
}

/** Columns `cols` of `m` over rows `rows`, as rows: [cols.length, rows.length] (a neuron's activation profile). */
export function transposeCols(m: Matrix, cols: Int32Array, rows: Int32Array): Matrix {
  const sub = takeCols(takeRows(m, rows), cols);
  const out = new Float32Array(sub.rows * sub.cols);
  for (let r = 0; r < sub.rows; r++)
    for (let c = 0; c < sub.cols; c++) out[c * sub.rows + r] = sub.data[r * sub.cols + c];
  return { data: out, rows: sub.cols, cols: sub.rows };
}
