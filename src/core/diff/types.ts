/**
 * Model diffing's data, as the contract carries it (`crosscoder.train`, `crosscoders.list`,
 * `crosscoder.latent`, `crosscoder.findings`, `diff.lens`) and as the CLI, the Diff view and the README's findings read it.
 *
 * A crosscoder (Lindsey et al. 2024; Minder et al. 2025, arXiv 2504.02922) is one sparse dictionary trained
 * jointly on the same tap of 2 or 3 checkpoints over the same probe tokens: one latent vector per token,
 * encoded from every model's activations, decoded by one decoder per model. Its latents are read per pair
 * of models (A, B) through the relative decoder norm Δ, the cosine of the two decoder vectors, and Latent
 * Scaling's ν (see `diff/latents.ts`). Saved under `DIR/crosscoders/NAME` in the layout of
 * `sae-formats.ts`: W_enc [n_models, d_in, d_sae], b_enc [d_sae], W_dec [d_sae, n_models, d_in],
 * b_dec [n_models, d_in].
 */
import type { TapKey } from '../ops/tap.js';
import type { SaeMetrics } from '../analysis/sae.js';
import type { Histogram } from '../analysis/histogram.js';

export type CrosscoderKind = 'batchtopk' | 'l1';

/** A latent's tag for one pair of models (A, B), from Δ and the thresholds of the record. */
export type LatentTag = 'a-only' | 'b-only' | 'shared' | 'other';

/** The training settings with every default applied (what makes two crosscoders the same model). */
export interface CrosscoderSettings {
  kind: CrosscoderKind;
  latents: number;
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** BatchTopK: mean active latents per token (k·B kept over a batch of B tokens). */
  k?: number;
  /** L1: the coefficient of the decoder-norm-weighted sparsity penalty. */
  l1?: number;
}

/** Per-latent numbers for one ordered pair of models (A = `a`, B = `b`, indices into `checkpoints`). */
export interface LatentPair {
  a: number;
  b: number;
  /** Δ_i = ((‖d_i^A‖ − ‖d_i^B‖) / max(‖d_i^A‖, ‖d_i^B‖) + 1) / 2, one per latent. */
  delta: number[];
  tag: LatentTag[];
  /** cos(d_i^A, d_i^B), one per latent (NaN where a decoder vector is zero). */
  cosine: number[];
  /**
   * Latent Scaling (Minder et al. §4), for the latents tagged b-only (null elsewhere): ν^ε_i and ν^r_i,
   * the ratio of the fitted scales β in model A over model B for the reconstruction error and the
   * reconstruction. Near 0: truly specific to B; near 1: an artifact (A's activations carry it too).
   */
  nuError: (number | null)[];
  nuRecon: (number | null)[];
  counts: Record<LatentTag, number>;
}

/** What a latent stands for, from the probe's concept labels (as a neuron's monosemanticity is scored). */
export interface LatentConcept {
  /** The dominant concept of its top activations, or null when it never fires. */
  concept: string | null;
  /** The monosemanticity score of the latent, on the scale the Neurons view uses. */
  score: number;
  monosemantic: boolean;
  /** Fraction of probe tokens where it fires, per model. */
  density: number[];
}

/** A trained crosscoder, its held-out metrics per model, and its latents read per pair of models. */
export interface CrosscoderRecord {
  name: string;
  dir: string;
  /** The checkpoints, in the order of the weights' model axis. */
  checkpoints: string[];
  tap: string;
  probe: string;
  /** The tap of every checkpoint, by content. */
  sources: TapKey[];
  dIn: number;
  dSae: number;
  settings: CrosscoderSettings;
  /** sha256 of the saved files: what analyses of this crosscoder are keyed by. */
  weightsHash: string;
  /** Held-out metrics per model (explained variance, L0, dead latents, ...), in `checkpoints` order. */
  metrics: SaeMetrics[];
  /** Training loss every 10 steps. */
  curve: { step: number; loss: number; mse: number; deadLatents: number }[];
  /** Tag thresholds: A-only Δ > specific, B-only Δ < 1 − specific, shared |Δ − 0.5| < shared. */
  thresholds: { specific: number; shared: number };
  /** Every ordered pair (a < b) of models. */
  pairs: LatentPair[];
  concepts: LatentConcept[];
  seconds: number;
}

/** A latent's page: what it does in each model (like a neuron page). */
export interface LatentPage {
  name: string;
  latent: number;
  checkpoints: string[];
  /** ‖d^m‖ per model. */
  decoderNorms: number[];
  pairs: {
    a: number;
    b: number;
    delta: number;
    tag: LatentTag;
    cosine: number;
    nuError: number | null;
    nuRecon: number | null;
  }[];
  concept: LatentConcept;
  /** Per model: the activation histogram over the probe (firing tokens) and the top contexts. */
  models: {
    checkpoint: string;
    histogram: Histogram;
    top: { activation: number; tokens: string[]; target: number; labels: string[] }[];
  }[];
}

/** The activation-difference lens of one layer: mean of h_B − h_A over the probe, read through the unembedding. */
export interface LensLayer {
  tap: string;
  layer: number;
  /** ‖mean(h_B − h_A)‖ and ‖mean h_A‖ (the difference's size against the activations'). */
  norm: number;
  baseNorm: number;
  promoted: { token: string; id: number; logit: number }[];
  suppressed: { token: string; id: number; logit: number }[];
}

export interface DiffLensResult {
  a: string;
  b: string;
  probe: string;
  tokens: number;
  layers: LensLayer[];
}

/** The seed baseline of a crosscoder (see `crosscoderFindings` in ops/crosscoder.ts): a twin trained with seed + 1. */
export interface SeedBaseline {
  /** The twin crosscoder (same request, seed + 1). */
  name: string;
  seed: number;
  /** Share of all latents whose matched counterpart in the twin is above the overlap threshold. */
  allShared: number;
  /**
   * Share of all latents found again in the twin by what they do: their Hungarian partner's activations
   * correlate with theirs above 0.7 over the probe's non-special tokens.
   */
  allFound: number;
  /** Per pair (base, b): both shares over the latents specific to b, and the twin's own count of them. */
  specific: { b: number; shared: number; found: number; twinCount: number }[];
}

/** The latents specific to one fine-tuned model against the base. */
export interface SpecificSet {
  checkpoint: string;
  versus: string;
  latents: number[];
  count: number;
  /** Of them, the latents that fire on the probe, and those labelled monosemantic. */
  firing: number;
  monosemantic: number;
  /** Mean monosemanticity score (top-k share) over the firing ones; NaN when none fires. */
  meanScore: number;
  /** Dominant concepts of the firing ones (those with one), most frequent first. */
  concepts: { concept: string; latents: number }[];
  meanNuError: number;
  meanNuRecon: number;
  /** The seed baseline: the share of these latents the twin shares by weights, and finds by activations; its count. */
  seedShared?: number;
  seedFound?: number;
  seedTwinCount?: number;
}

/**
 * The mission's question answered from a crosscoder whose first checkpoint is the base
 * (`crosscoder.findings`; computed by `diffingFindings` in diff/findings.ts): per fine-tune, its specific
 * latents; with a seed baseline, the twin's numbers beside them.
 */
export interface DiffingFindings {
  name: string;
  base: string;
  /** Shared latents per pair, for scale. */
  shared: { checkpoint: string; count: number }[];
  specific: SpecificSet[];
  /**
   * Where there are two fine-tunes (base, dpo, decpo order or any other): the second's mean score minus the
   * first's (positive: the second's specific latents are more monosemantic).
   */
  scoreDifference?: number;
  seed?: { name: string; seed: number; allShared: number; allFound: number };
}
