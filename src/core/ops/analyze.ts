/**
 * Analyses over the store: each reads a recorded tap (recording it first if needed), computes with the pure
 * numerics of `analysis/`, and writes its result back keyed by its inputs (checkpoint content hash, tap,
 * probe hash, options), so a repeated request is answered from the store.
 */
import { join } from 'node:path';
import { existsSync, mkdirSync } from 'node:fs';
import { initBackend } from '../backend/index.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import type { Tokenizer } from '../model/tokenizer.js';
import { Rng } from '../model/rng.js';
import {
  pearsonMatrix,
  correlationSummary,
  clusterOrder,
  featureDecorrelation,
  fractionActive,
  hoyerSparsity,
  effectiveRank,
  activationVariance,
  monosemanticity,
  canonicalCorrelations,
  prepareSvcca,
  prepareRsa,
  rsaScore,
  permutationNullThreaded,
  matchByActivationCorrelation,
  trainSae,
  evaluateSae,
  saveSae,
  loadSae,
  encodeSae,
  saeDecoderRows,
  weightProxy,
  mlpInputLayers,
  pairedSimilarity,
  semanticSubspaceSimilarity,
  takeRows,
  takeCols,
  SVCCA_MODE_LABELS,
  type Matrix,
  type MonoThresholds,
  type MonosemanticityResult,
  type MatchOptions,
  type MatchResult,
  type SvccaMode,
  type SaeKind,
  type SaeMetrics,
  type PermutationNull,
  type NullStatistic,
  type SubspaceResult,
} from '../analysis/index.js';
import type { RecordingInfo } from '../store/activations.js';
import type { Project } from '../store/project.js';
import { ensureRecording, findRecording } from './record.js';
import { resolveCheckpointDir } from './train.js';
import { silentReporter, throwIfCancelled, type Reporter } from './progress.js';

/** A recorded tap: a checkpoint, a tap, and a probe set (`builtin` by default). */
export interface TapRef {
  checkpoint: string;
  tap: string;
  probe?: string;
}

/** A loaded tap with everything analyses need about its rows. */
export interface TapData {
  ref: TapRef;
  rec: RecordingInfo;
  x: Matrix;
  /** Token id, concept label and sequence of each row. */
  ids: Int32Array;
  concepts: (string | null)[];
  seqOf: Int32Array;
  tokenizer: Tokenizer;
  specialIds: number[];
}

/** Parses `NAME:TAP` (the CLI's form) into a {@link TapRef}. */
export function parseTapRef(s: string, probe?: string): TapRef {
  const i = s.indexOf(':');
  if (i <= 0 || i === s.length - 1)
    throw new Error(`expected CHECKPOINT:TAP (e.g. dpo:blocks.1.mlp.post), got '${s}'`);
  return { checkpoint: s.slice(0, i), tap: s.slice(i + 1), probe };
}

/** Reads a tap's matrix and row labels (recording it first if it is missing). */
export async function loadTap(
  project: Project,
  ref: TapRef,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
): Promise<TapData> {
  await initBackend('auto');
  return readTap(project, ref, await ensureRecording(project, ref, reporter, signal));
}

function readTap(project: Project, ref: TapRef, rec: RecordingInfo): TapData {
  const m = project.store.activations.tapMatrix(rec.id);
  const rows = project.store.probes.rows(rec.probeId);
  const ck = loadCheckpoint(resolveCheckpointDir(project, ref.checkpoint));
  return {
    ref,
    rec,
    x: { data: m.data, rows: m.rows, cols: m.cols },
    ids: rows.ids,
    concepts: Array.from(rows.concept, (c) => (c < 0 ? null : rows.concepts[c])),
    seqOf: rows.seqOf,
    tokenizer: ck.tokenizer,
    specialIds: [...ck.tokenizer.specialIds],
  };
}

/** The inputs that identify a tap in an analysis key: content hashes, not names. */
function tapKey(t: { ref: TapRef; rec: RecordingInfo }): Record<string, unknown> {
  return {
    checkpoint: t.ref.checkpoint,
    checkpointHash: t.rec.checkpointHash,
    tap: t.rec.tap,
    probeHash: t.rec.probeHash,
  };
}

type Computed<R> = { result: R; blobs?: Record<string, Float32Array> };

/** Returns the stored result of `kind` on `inputs`, or computes, stores and returns it. */
async function cached<R extends object>(
  project: Project,
  kind: string,
  inputs: object,
  compute: () => Promise<Computed<R>> | Computed<R>,
): Promise<{ result: R; blobs: Record<string, Float32Array>; reused: boolean }> {
  const hit = project.store.analyses.get<R>(kind, inputs);
  if (hit) return { result: hit.result, blobs: hit.blobs, reused: true };
  const { result, blobs = {} } = await compute();
  project.store.analyses.put(kind, inputs, result, blobs);
  return { result, blobs, reused: false };
}

/**
 * An analysis of one tap: answered from the store without reading the tap when the recording and the
 * result exist; otherwise the tap is recorded (if needed) and read, and `compute` runs.
 */
async function cachedTap<R extends object>(
  project: Project,
  ref: TapRef,
  kind: string,
  options: object,
  compute: (t: TapData) => Promise<Computed<R>> | Computed<R>,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
) {
  const fast = findRecording(project, ref);
  if (fast) {
    const hit = project.store.analyses.get<R>(kind, { ...tapKey({ ref, rec: fast }), ...options });
    if (hit) return { result: hit.result, blobs: hit.blobs, reused: true };
  }
  await initBackend('auto');
  const rec = fast ?? (await ensureRecording(project, ref, reporter, signal));
  const t = readTap(project, ref, rec);
  return cached<R>(project, kind, { ...tapKey(t), ...options }, () => compute(t));
}

/** Runs `work`; when `signal` was aborted meanwhile, fails with the CancelledError the CLI and jobs expect. */
async function cancellable<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throwIfCancelled(signal);
    throw e;
  }
}

/** Row indices without special tokens (BOS/EOS/PAD), optionally a seeded subsample of at most `max`. */
export function usableRows(t: TapData, max?: number, seed = 0): Int32Array {
  const special = new Set(t.specialIds);
  const rows: number[] = [];
  for (let r = 0; r < t.x.rows; r++) if (!special.has(t.ids[r])) rows.push(r);
  if (max !== undefined && rows.length > max) {
    const pick = new Rng(seed).shuffle(rows).slice(0, max);
    pick.sort((a, b) => a - b);
    return Int32Array.from(pick);
  }
  return Int32Array.from(rows);
}

// ---------------------------------------------------------------------------------------------------------
// Correlation structure

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

// ---------------------------------------------------------------------------------------------------------
// Neurons: monosemanticity, sparsity, diversity

/** Per-neuron monosemanticity against the probe's concept labels, with the label shares of the tap. */
export async function monosemanticityOp(
  project: Project,
  ref: TapRef,
  opts: { topK?: number; thresholds?: Partial<MonoThresholds> } = {},
  reporter?: Reporter,
  signal?: AbortSignal,
) {
  return cachedTap<MonosemanticityResult>(
    project,
    ref,
    'monosemanticity',
    { topK: opts.topK ?? 20, thresholds: opts.thresholds ?? {} },
    (t) => ({
      result: monosemanticity(t.x, t.concepts, {
        topK: opts.topK,
        tokenIds: t.ids,
        specialIds: t.specialIds,
        thresholds: opts.thresholds,
      }),
    }),
    reporter,
    signal,
  );
}

export interface SparsityResult {
  n: number;
  /** Mean over neurons of the share of tokens where the neuron is active (> 0). */
  fractionActive: number;
  /** Mean over tokens of the Hoyer sparsity of the activation vector. */
  hoyer: number;
  /** exp(entropy of the normalised covariance eigenvalues). */
  effectiveRank: number;
  /** The paper's variance across dimensions, averaged over tokens. */
  activationVariance: number;
}

/** Sparsity and diversity of a tap over its non-special tokens. */
export async function sparsityOp(project: Project, ref: TapRef, reporter?: Reporter, signal?: AbortSignal) {
  return cachedTap<SparsityResult>(
    project,
    ref,
    'sparsity',
    { rows: 'non-special' },
    (t) => {
      const x = takeRows(t.x, usableRows(t));
      const fa = fractionActive(x);
      return {
        result: {
          n: x.rows,
          fractionActive: fa.reduce((s, v) => s + v, 0) / fa.length,
          hoyer: hoyerSparsity(x).mean,
          effectiveRank: effectiveRank(x).effectiveRank,
          activationVariance: activationVariance(x).mean,
        },
      };
    },
    reporter,
    signal,
  );
}

/** The paper's weight-based proxy (median ||w_in|| b_in per layer, normalised across layers). */
export function weightProxyOp(project: Project, checkpoint: string) {
  const ck = loadCheckpoint(resolveCheckpointDir(project, checkpoint));
  return weightProxy(mlpInputLayers(ck.arrays));
}

// ---------------------------------------------------------------------------------------------------------
// SVCCA, RSA, permutation nulls

export interface SimilarityRequest {
  a: TapRef;
  b: TapRef;
  measure: 'svcca' | 'rsa';
  mode?: SvccaMode;
  /** Permutations for the null (0 = none). */
  shuffles?: number;
  seed?: number;
  /** Tokens (datapoints) used, a seeded sample of the non-special rows (RSA builds an n x n RDM). */
  maxTokens?: number;
}

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

/**
 * SVCCA or RSA between two recorded taps over the same probe tokens (datapoints = tokens), with a
 * permutation null that keeps A and shuffles B's rows. Blob `null` holds the null distribution.
 */
export async function similarityOp(
  project: Project,
  req: SimilarityRequest,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
) {
  const ta = await loadTap(project, req.a, reporter, signal);
  const tb = await loadTap(project, req.b, reporter, signal);
  if (ta.rec.probeHash !== tb.rec.probeHash)
    throw new Error('both taps must be recorded over the same probe set');
  const shuffles = req.shuffles ?? 0;
  const seed = req.seed ?? 0;
  const maxTokens = req.maxTokens ?? (req.measure === 'rsa' ? 1000 : 4000);
  const mode = req.mode ?? 'svcca';
  const inputs = {
    a: tapKey(ta),
    b: tapKey(tb),
    measure: req.measure,
    mode: req.measure === 'svcca' ? mode : undefined,
    shuffles,
    seed,
    maxTokens,
  };
  return cached<SimilarityResult>(project, 'similarity', inputs, async () => {
    const rows = usableRows(ta, maxTokens, seed);
    const A = takeRows(ta.x, rows);
    const B = takeRows(tb.x, rows);
    let observed: number;
    let statistic: NullStatistic;
    const base: Omit<SimilarityResult, 'score'> = {
      measure: req.measure,
      label: '',
      n: rows.length,
      warnings: [],
      shuffles,
    };
    if (req.measure === 'svcca') {
      // One preparation serves the observed score and every shuffle.
      const p = prepareSvcca(A, B, { mode });
      const correlations = canonicalCorrelations(p);
      observed = correlations.reduce((s, v) => s + v, 0) / correlations.length;
      statistic = { measure: 'svcca', prepared: p };
      Object.assign(base, { mode, label: SVCCA_MODE_LABELS[mode], kA: p.kA, kB: p.kB, warnings: p.warnings });
    } else {
      const p = prepareRsa(A, B);
      observed = rsaScore(p);
      statistic = { measure: 'rsa', prepared: p };
      base.label = 'RSA: Spearman correlation of the upper triangles of the two Pearson RDMs';
    }
    let nul: PermutationNull | undefined;
    if (shuffles > 0) {
      nul = await cancellable(signal, () =>
        permutationNullThreaded(observed, statistic, {
          shuffles,
          seed,
          signal,
          onProgress: (done, total) =>
            reporter.progress({ phase: `${req.measure} null`, done, total, unit: 'shuffle' }),
        }),
      );
    }
    return {
      result: {
        ...base,
        score: observed,
        nullMean: nul?.nullMean,
        nullSd: nul?.nullSd,
        pValue: nul?.pValue,
        pFormula: nul?.formula,
      },
      blobs: (nul ? { null: Float32Array.from(nul.null) } : {}) as Record<string, Float32Array>,
    };
  });
}

// ---------------------------------------------------------------------------------------------------------
// SAEs and matching

export interface SaeRequest {
  name: string;
  ref: TapRef;
  kind: SaeKind;
  latents: number;
  k?: number;
  l1?: number;
  steps?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
}

export interface SaeRecord {
  name: string;
  dir: string;
  ref: TapRef;
  kind: SaeKind;
  dIn: number;
  dSae: number;
  metrics: SaeMetrics;
  /** Training loss every 10 steps. */
  curve: { step: number; loss: number; mse: number; deadLatents: number }[];
  seconds: number;
  tokensPerS: number;
}

/** Trains an SAE on a tap (held-out 10% of the non-special tokens for its metrics), saves it under `DIR/saes/NAME`. */
export async function saeTrainOp(
  project: Project,
  req: SaeRequest,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
) {
  const t = await loadTap(project, req.ref, reporter, signal);
  const inputs = {
    ...tapKey(t),
    name: req.name,
    kind: req.kind,
    latents: req.latents,
    k: req.k,
    l1: req.l1,
    steps: req.steps,
    batchSize: req.batchSize,
    lr: req.lr,
    seed: req.seed ?? 0,
  };
  const dir = join(project.saesDir, req.name);
  const hit = project.store.analyses.get<SaeRecord>('sae', inputs);
  if (hit && existsSync(join(dir, 'cfg.json'))) return hit.result;
  const rows = usableRows(t, undefined, req.seed ?? 0);
  const order = new Rng(req.seed ?? 0).shuffle(Array.from(rows));
  const nEval = Math.max(1, Math.floor(order.length / 10));
  const evalRows = Int32Array.from(order.slice(0, nEval).sort((a, b) => a - b));
  const trainRows = Int32Array.from(order.slice(nEval).sort((a, b) => a - b));
  const steps = req.steps ?? 1000;
  const started = performance.now();
  const { sae, log } = trainSae(
    takeRows(t.x, trainRows),
    {
      kind: req.kind,
      dIn: t.x.cols,
      dSae: req.latents,
      k: req.k,
      l1Coefficient: req.l1,
      steps,
      batchSize: req.batchSize,
      lr: req.lr,
      seed: req.seed,
    },
    (s) => {
      if (s.step % 10 === 0 || s.step === steps)
        reporter.progress({
          phase: `sae ${req.name}`,
          done: s.step,
          total: steps,
          unit: 'step',
          metrics: { loss: s.loss, mse: s.mse },
        });
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const metrics = evaluateSae(sae, takeRows(t.x, evalRows));
  mkdirSync(project.saesDir, { recursive: true });
  saveSae(dir, sae, {
    tap: req.ref.tap,
    checkpoint: req.ref.checkpoint,
    checkpointHash: t.rec.checkpointHash,
    probeHash: t.rec.probeHash,
  });
  const record: SaeRecord = {
    name: req.name,
    dir,
    ref: req.ref,
    kind: req.kind,
    dIn: t.x.cols,
    dSae: req.latents,
    metrics,
    curve: log
      .filter((s) => s.step % 10 === 0 || s.step === steps)
      .map((s) => ({ step: s.step, loss: s.loss, mse: s.mse, deadLatents: s.deadLatents })),
    seconds,
    tokensPerS: (steps * (req.batchSize ?? 1024)) / seconds,
  };
  project.store.analyses.put('sae', inputs, record);
  return record;
}

/** The SAEs recorded in the project. */
export function listSaes(project: Project): SaeRecord[] {
  return project.store.analyses
    .list('sae')
    .map((a) => project.store.analyses.get<SaeRecord>('sae', a.inputs)?.result)
    .filter((r): r is SaeRecord => !!r);
}

function findSae(project: Project, name: string): SaeRecord {
  const r = listSaes(project).find((s) => s.name === name);
  if (!r)
    throw new Error(`no SAE named '${name}' in ${project.dir} (train one with \`monoscope analyze sae\`)`);
  return r;
}

/** Features of a tap: the raw neurons, or an SAE's dense latent activations. */
async function featureActs(
  project: Project,
  ref: TapRef,
  saeName: string | undefined,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<{ t: TapData; acts: Matrix; rep?: Matrix }> {
  const t = await loadTap(project, ref, reporter, signal);
  if (!saeName) return { t, acts: t.x };
  const rec = findSae(project, saeName);
  if (rec.ref.tap !== ref.tap)
    throw new Error(`SAE '${saeName}' was trained on ${rec.ref.tap}, not ${ref.tap}`);
  const sae = loadSae(rec.dir);
  return { t, acts: encodeSae(sae, t.x, { dense: true }), rep: saeDecoderRows(sae) };
}

export interface MatchRequest {
  a: TapRef;
  b: TapRef;
  /** Match SAE latents (names of SAEs trained on a and b) instead of raw neurons. */
  saeA?: string;
  saeB?: string;
  options?: Omit<MatchOptions, 'tokens' | 'tokenIds' | 'specialIds'> & { tokenFilters?: boolean };
  /** Score the kept pairs' decoder rows (SAEs) or activation columns (neurons) with SVCCA and RSA against a null. */
  shuffles?: number;
  seed?: number;
}

export interface MatchOpResult extends MatchResult {
  similarity?: { svcca: SimilarityResult; rsa: SimilarityResult };
}

/**
 * Matches features (or neurons) of A and B by activation correlation on the same tokens with Lan et al.'s
 * filters, then (with `shuffles`) scores the kept pairs with SVCCA and RSA on their decoder rows (SAEs) or
 * activation columns (neurons), against a permutation null.
 */
export async function matchOp(
  project: Project,
  req: MatchRequest,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
) {
  const fa = await featureActs(project, req.a, req.saeA, reporter, signal);
  const fb = await featureActs(project, req.b, req.saeB, reporter, signal);
  if (fa.t.rec.probeHash !== fb.t.rec.probeHash)
    throw new Error('both sides must be recorded over the same probe set');
  const { tokenFilters = true, ...options } = req.options ?? {};
  const inputs = {
    a: tapKey(fa.t),
    b: tapKey(fb.t),
    saeA: req.saeA,
    saeB: req.saeB,
    options: req.options ?? {},
    shuffles: req.shuffles ?? 0,
    seed: req.seed ?? 0,
  };
  return cached<MatchOpResult>(project, 'match', inputs, async () => {
    const tokens = Array.from(fa.t.ids, (id) => fa.t.tokenizer.tokenString(id));
    const m = matchByActivationCorrelation(fa.acts, fb.acts, {
      ...options,
      ...(tokenFilters ? { tokens } : { junkTokens: null, sharedToken: false }),
      tokenIds: fa.t.ids,
      specialIds: fa.t.specialIds,
    });
    const out: MatchOpResult = { ...m };
    const shuffles = req.shuffles ?? 0;
    if (shuffles > 0 && m.pairs.length >= 3) {
      const ia = Int32Array.from(m.pairs.map((p) => p.a));
      const ib = Int32Array.from(m.pairs.map((p) => p.b));
      // Paired representations: decoder rows (SAE features) or activation columns over tokens (neurons).
      const repA = fa.rep
        ? takeRows(fa.rep, ia)
        : transposeCols(fa.acts, ia, usableRows(fa.t, 2000, req.seed ?? 0));
      const repB = fb.rep
        ? takeRows(fb.rep, ib)
        : transposeCols(fb.acts, ib, usableRows(fa.t, 2000, req.seed ?? 0));
      reporter.message(`scoring ${m.pairs.length} matched pairs with SVCCA and RSA (${shuffles} shuffles)`);
      const ps = await cancellable(signal, () =>
        pairedSimilarity(repA, repB, { shuffles, seed: req.seed ?? 0, signal }),
      );
      out.similarity = {
        svcca: {
          measure: 'svcca',
          mode: ps.svcca.mode,
          label: ps.svcca.label,
          score: ps.svcca.score,
          n: ps.svcca.n,
          kA: ps.svcca.kA,
          kB: ps.svcca.kB,
          warnings: ps.svcca.warnings,
          nullMean: ps.svcca.null?.nullMean,
          nullSd: ps.svcca.null?.nullSd,
          pValue: ps.svcca.null?.pValue,
          pFormula: ps.svcca.null?.formula,
          shuffles,
        },
        rsa: {
          measure: 'rsa',
          label: 'RSA: Spearman correlation of the upper triangles of the two Pearson RDMs',
          score: ps.rsa.score,
          n: ps.rsa.n,
          warnings: [],
          nullMean: ps.rsa.null?.nullMean,
          nullSd: ps.rsa.null?.nullSd,
          pValue: ps.rsa.null?.pValue,
          pFormula: ps.rsa.null?.formula,
          shuffles,
        },
      };
      return {
        result: out,
        blobs: {
          ...(ps.svcca.null ? { svccaNull: Float32Array.from(ps.svcca.null.null) } : {}),
          ...(ps.rsa.null ? { rsaNull: Float32Array.from(ps.rsa.null.null) } : {}),
        },
      };
    }
    return { result: out };
  });
}

/** Columns `cols` of `m` over rows `rows`, as rows: [cols.length, rows.length] (a neuron's activation profile). */
function transposeCols(m: Matrix, cols: Int32Array, rows: Int32Array): Matrix {
  const sub = takeCols(takeRows(m, rows), cols);
  const out = new Float32Array(sub.rows * sub.cols);
  for (let r = 0; r < sub.rows; r++)
    for (let c = 0; c < sub.cols; c++) out[c * sub.rows + r] = sub.data[r * sub.cols + c];
  return { data: out, rows: sub.cols, cols: sub.rows };
}

/**
 * Semantic subspaces by concept category: features of each category on each side (by their top tokens),
 * paired within the category, scored with SVCCA and RSA against a null. Categories: the world's concepts
 * (words from the concept lexicon) for word-level models, Lan et al.'s lists otherwise.
 */
export async function subspacesOp(
  project: Project,
  req: {
    a: TapRef;
    b: TapRef;
    saeA?: string;
    saeB?: string;
    categories?: Record<string, string[]>;
    shuffles?: number;
    seed?: number;
  },
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
) {
  const fa = await featureActs(project, req.a, req.saeA, reporter, signal);
  const fb = await featureActs(project, req.b, req.saeB, reporter, signal);
  const inputs = {
    a: tapKey(fa.t),
    b: tapKey(fb.t),
    saeA: req.saeA,
    saeB: req.saeB,
    categories: req.categories ?? 'default',
    shuffles: req.shuffles ?? 1000,
    seed: req.seed ?? 0,
  };
  return cached<{ categories: SubspaceResult[] }>(project, 'subspaces', inputs, async () => {
    const tokens = Array.from(fa.t.ids, (id) => fa.t.tokenizer.tokenString(id));
    const categories = req.categories ?? (await defaultCategories(fa.t.tokenizer));
    const rowsForRep = usableRows(fa.t, 2000, req.seed ?? 0);
    const repA =
      fa.rep ??
      transposeCols(
        fa.acts,
        Int32Array.from({ length: fa.acts.cols }, (_, i) => i),
        rowsForRep,
      );
    const repB =
      fb.rep ??
      transposeCols(
        fb.acts,
        Int32Array.from({ length: fb.acts.cols }, (_, i) => i),
        rowsForRep,
      );
    const result = await cancellable(signal, () =>
      semanticSubspaceSimilarity({
        actsA: fa.acts,
        actsB: fb.acts,
        tokens,
        repA,
        repB,
        sequenceIds: fa.t.seqOf,
        categories,
        similarity: { shuffles: req.shuffles ?? 1000, seed: req.seed ?? 0, signal },
      }),
    );
    return { result: { categories: result.map((c) => stripNull(c)) } };
  });
}

/** Null distributions are large; keep their summaries in the JSON result. */
function stripNull(c: SubspaceResult): SubspaceResult {
  if (!c.similarity) return c;
  const s = c.similarity;
  const strip = <T extends { null?: PermutationNull }>(x: T): T =>
    x.null ? { ...x, null: { ...x.null, null: Array.from(x.null.null) as unknown as Float64Array } } : x;
  return { ...c, similarity: { svcca: strip(s.svcca), rsa: strip(s.rsa) } };
}

async function defaultCategories(tokenizer: Tokenizer): Promise<Record<string, string[]> | undefined> {
  if (tokenizer.kind !== 'word-level') return undefined;
  const { worldWordSenses } = await import('../data/world.js');
  const out: Record<string, string[]> = {};
  for (const [word, senses] of worldWordSenses()) for (const c of senses) (out[c] ??= []).push(word);
  return out;
}
