/** The features of a tap that matching and subspaces compare: its neurons, or an SAE's latents. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  loadSae,
  encodeSae,
  saeDecoderRows,
  takeRows,
  takeCols,
  type Matrix,
  type Sae,
} from '../analysis/index.js';
import type { TapRef } from '../api.js';
import type { Project } from '../store/project.js';
import { loadTap, recordedTapKey, tapKey, usableRows, type TapData, type TapKey } from './tap.js';
import { findSae, getSae, saeWeightsHash, type SaeRecord } from './sae.js';
import type { Reporter } from './progress.js';

export interface Features {
  t: TapData;
  /** Feature activations [tokens, features]: the tap itself, or an SAE's dense latents. */
  acts: Matrix;
  /** An SAE's decoder rows [features, d_in]. */
  rep?: Matrix;
  /** The SAE's weights hash (what a result computed from it is keyed by). */
  saeHash?: string;
  /** The SAE itself. */
  sae?: Sae;
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
  return saeFeatures(t, rec);
}

/** The latents of the SAE `rec` on the tap `t`: dense activations, decoder rows, weights hash. */
export function saeFeatures(t: TapData, rec: SaeRecord): Features {
  const sae = loadSae(rec.dir);
  return {
    t,
    acts: encodeSae(sae, t.x, { dense: true }),
    rep: saeDecoderRows(sae),
    saeHash: saeWeightsHash(rec.dir),
    sae,
  };
}

/** The content of one side of a pair request: its recorded tap, and the weights hash of its SAE if any. */
export interface SideKey {
  tap: TapKey;
  saeHash?: string;
}

/** A request over two sides, A and B, each a tap with an optional SAE (match, subspaces, similarity). */
interface PairRequest {
  a: TapRef;
  b: TapRef;
  saeA?: string;
  saeB?: string;
}

/** Both sides of a pair request by content: what the stored keys of match and subspaces start with. */
export function sidesKey(a: SideKey, b: SideKey) {
  return { a: a.tap, b: b.tap, saeA: a.saeHash, saeB: b.saeHash };
}

/** The features of both sides of a pair request (recording their taps if needed), and their content. */
export async function featureSides(
  project: Project,
  req: PairRequest,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<{ fa: Features; fb: Features; a: SideKey; b: SideKey }> {
  const fa = await featureActs(project, req.a, req.saeA, reporter, signal);
  const fb = await featureActs(project, req.b, req.saeB, reporter, signal);
  const side = (f: Features): SideKey => ({ tap: tapKey(f.t.rec), saeHash: f.saeHash });
  return { fa, fb, a: side(fa), b: side(fb) };
}

/**
 * The content of both sides of a pair request from the store alone. Undefined when a tap is not recorded
 * from its checkpoint's current weights or an SAE does not exist.
 */
export function recordedSides(project: Project, req: PairRequest): { a: SideKey; b: SideKey } | undefined {
  const side = (ref: TapRef, saeName: string | undefined): SideKey | undefined => {
    const tap = recordedTapKey(project, ref);
    if (!tap || !saeName) return tap && { tap };
    const rec = getSae(project, saeName);
    if (!rec || !existsSync(join(rec.dir, 'cfg.json'))) return undefined;
    return { tap, saeHash: saeWeightsHash(rec.dir) };
  };
  const a = side(req.a, req.saeA);
  const b = side(req.b, req.saeB);
  return a && b && { a, b };
}

/** Columns `cols` of `m` over rows `rows`, as rows: [cols.length, rows.length] (a neuron's activation profile). */
function transposeCols(m: Matrix, cols: Int32Array, rows: Int32Array): Matrix {
  const sub = takeCols(takeRows(m, rows), cols);
  const out = new Float32Array(sub.rows * sub.cols);
  for (let r = 0; r < sub.rows; r++)
    for (let c = 0; c < sub.cols; c++) out[c * sub.rows + r] = sub.data[r * sub.cols + c];
  return { data: out, rows: sub.cols, cols: sub.rows };
}

/** The probe's tokens, one string per row of the tap. */
export function tokenStrings(t: TapData): string[] {
  return Array.from(t.ids, (id) => t.tokenizer.tokenString(id));
}

/** Neurons' activation profiles are taken over a seeded sample of at most this many non-special tokens. */
const PROFILE_TOKENS = 2000;

/**
 * The paired representations of features `ia` of A and `ib` of B (all of a side's features when absent):
 * an SAE's decoder rows, or for neurons their activation profiles over a sample of the probe's tokens.
 */
export function featureReps(
  fa: Features,
  fb: Features,
  seed: number,
  ia?: Int32Array,
  ib?: Int32Array,
): { repA: Matrix; repB: Matrix } {
  const rows = usableRows(fa.t, PROFILE_TOKENS, seed);
  const rep = (f: Features, cols: Int32Array | undefined): Matrix => {
    if (f.rep) return cols ? takeRows(f.rep, cols) : f.rep;
    return transposeCols(f.acts, cols ?? Int32Array.from({ length: f.acts.cols }, (_, i) => i), rows);
  };
  return { repA: rep(fa, ia), repB: rep(fb, ib) };
}
