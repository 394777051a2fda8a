/**
 * What the Neurons and Heatmap views read: the table of every neuron of a tap, a neuron's page (the standard
 * feature-page panels), its activation on typed text, its counterparts in other checkpoints, and the
 * correlation matrix of a tap for the heatmap.
 */
import { modelInput } from '../model/tokenizer.js';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/index.js';
import { checkpointWeightsHash, loadCheckpoint, type LoadedCheckpoint } from '../model/checkpoint.js';
import {
  disposeParams,
  forward,
  headArray,
  paramsFromArrays,
  tapWidth,
  unitDirection,
} from '../model/models.js';
import { type Params } from '../model/architecture.js';
import type { Example, NeuronPage, RecordingInfo } from '../store/activations.js';
import { histogramOf } from '../analysis/histogram.js';
import type { Project } from '../store/project.js';
import { correlationDiffOp, correlationOp } from './correlation.js';
import { monosemanticityOp } from './monosemanticity.js';
import type { TapRef } from './tap.js';
import type { MonosemanticityResult } from '../analysis/monosemanticity.js';
import { ensureRecording, findRecording } from './record.js';
import { resolveCheckpoint } from './checkpoints.js';
import { silentReporter, type Reporter } from './progress.js';
import { ApiError, type OpParsed } from '../api.js';

/**
 * Loaded checkpoints (and their TF.js weights, made on first use) by folder, kept while their content hash
 * is unchanged: the query worker is long-lived, and typing in the live box runs a forward pass per keystroke.
 */
const checkpointCache = new Map<string, { ck: LoadedCheckpoint; params?: Params }>();
function cachedCheckpoint(project: Project, name: string): { ck: LoadedCheckpoint; params?: Params } {
  const dir = resolveCheckpoint(project, name).dir;
  const hit = checkpointCache.get(dir);
  if (hit && hit.ck.hash === checkpointWeightsHash(dir)) return hit;
  if (hit?.params) disposeParams(hit.params);
  const entry = { ck: loadCheckpoint(dir) };
  checkpointCache.set(dir, entry);
  return entry;
}
function checkpoint(project: Project, name: string): LoadedCheckpoint {
  return cachedCheckpoint(project, name).ck;
}

async function recording(
  project: Project,
  ref: TapRef,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<RecordingInfo> {
  return findRecording(project, ref) ?? ensureRecording(project, ref, reporter, signal);
}

/** The recording of a tap, after checking that `neuron` is one of its neurons. */
async function neuronRecording(
  project: Project,
  ref: TapRef,
  neuron: number,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<RecordingInfo> {
  const rec = await recording(project, ref, reporter, signal);
  if (!Number.isInteger(neuron) || neuron < 0 || neuron >= rec.cols) {
    throw new ApiError('not-found', `neuron ${neuron} does not exist in ${rec.tap} (0..${rec.cols - 1})`);
  }
  return rec;
}

/**
 * Every neuron of a tap at once: statistics, monosemanticity and the token of its largest activation, as
 * columns. `topK`: the top activations that define a neuron's dominant concept (default 20).
 */
export async function neuronTable(
  project: Project,
  { topK, ...ref }: OpParsed<'neurons.table'>,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
) {
  const rec = await recording(project, ref, reporter, signal);
  const stats = project.store.activations.tapStats(rec.id);
  const mono = await monosemanticityOp(project, ref, { topK }, reporter, signal);
  const n = stats.neurons;
  const neurons = mono.result.neurons;
  const { tokenizer } = checkpoint(project, ref.checkpoint);
  const topToken = Array.from(project.store.activations.topTokens(rec.id), (id) =>
    id < 0 ? null : tokenizer.tokenString(id),
  );
  return {
    checkpoint: ref.checkpoint,
    tap: rec.tap,
    recordingId: rec.id,
    rows: rec.rows,
    neurons: n,
    concepts: mono.result.concepts,
    thresholds: mono.result.thresholds,
    shares: mono.result.shares,
    mean: Float32Array.from(stats.mean),
    std: Float32Array.from(stats.std),
    max: Float32Array.from(stats.max),
    density: Float32Array.from(stats.density),
    label: neurons.map((x) => x.label),
    dominantConcept: neurons.map((x) => x.dominantConcept),
    topKShare: Float32Array.from(neurons, (x) => x.topKShare),
    selectivity: Float32Array.from(neurons, (x) => x.selectivity),
    nmi: Float32Array.from(neurons, (x) => x.nmi),
    memelMean: Float32Array.from(neurons, (x) => x.memelMean),
    topToken,
  };
}

/** An example with its tokens as display strings. */
export interface ExampleView extends Example {
  text: string[];
  concepts: (string | null)[];
  /** Per token, the candidate concepts of an ambiguous word (no label: "ambiguous: colour, food"), or null. */
  ambiguous: (readonly string[] | null)[];
}

/**
 * The logit effects of a neuron: its output direction through the unembedding, W_out[j] W_U^T (the final
 * norm is ignored, as sae_vis and Neuronpedia do). MLP neurons write through their row or column of the
 * MLP's output projection; a residual dimension k writes e_k. Top and bottom `n` tokens.
 */
export function logitEffects(ck: LoadedCheckpoint, tap: string, neuron: number, n = 10) {
  const { nEmbd: D, vocabSize: V } = ck.config;
  const dir = unitDirection(ck.config, ck.arrays, tap, neuron);
  const wte = headArray(ck.config, ck.arrays);
  const effects = new Float32Array(V);
  for (let v = 0; v < V; v++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += wte[v * D + d] * dir[d];
    effects[v] = s;
  }
  const order = Array.from(effects.keys()).sort((a, b) => effects[b] - effects[a]);
  const pick = (ids: number[]) =>
    ids.map((id) => ({ id, token: ck.tokenizer.tokenString(id), value: effects[id] }));
  return {
    positive: pick(order.slice(0, n)),
    negative: pick(order.slice(-n).reverse()),
    histogram: histogramOf(effects, 40),
  };
}

/**
 * The tap-wide analyses a neuron page reads (monosemanticity of every neuron, the correlation matrix), kept
 * in memory for the last few recordings: the query worker is long-lived, and paging through neurons of one
 * tap should not re-read a 16 MB matrix from the store each time.
 */
const pageCache = new Map<string, { mono: MonosemanticityResult; corr: Float32Array; size: number }>();
async function pageAnalyses(
  project: Project,
  ref: TapRef,
  rec: RecordingInfo,
  reporter: Reporter,
  signal?: AbortSignal,
) {
  const key = `${project.dir}|${rec.id}|${rec.checkpointHash}|${rec.completedAt}`;
  let hit = pageCache.get(key);
  if (!hit) {
    const mono = (await monosemanticityOp(project, ref, {}, reporter, signal)).result;
    const c = await correlationOp(project, ref, reporter, signal);
    hit = { mono, corr: c.blobs.corr, size: c.result.size };
    pageCache.set(key, hit);
    while (pageCache.size > 4) pageCache.delete(pageCache.keys().next().value!);
  }
  return hit;
}

/** The neuron page: statistics, histogram, top contexts, quantile samples, concept means, logit effects, correlated neurons. */
export async function neuronPage(
  project: Project,
  ref: TapRef,
  neuron: number,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
) {
  const rec = await neuronRecording(project, ref, neuron, reporter, signal);
  const page: NeuronPage = project.store.activations.neuronPage(rec.id, neuron);
  const ck = checkpoint(project, ref.checkpoint);
  const rows = project.store.probes.rows(rec.probeId);
  const view = (e: Example): ExampleView => ({
    ...e,
    text: e.tokens.map((id) => ck.tokenizer.tokenString(id)),
    concepts: e.tokens.map((_, i) => {
      const c = rows.concept[rows.seqStart[e.sequence] + e.contextStart + i];
      return c < 0 ? null : rows.concepts[c];
    }),
    ambiguous: e.tokens.map(
      (_, i) => rows.ambiguous.get(rows.seqStart[e.sequence] + e.contextStart + i) ?? null,
    ),
  });
  const { mono, corr, size } = await pageAnalyses(project, ref, rec, reporter, signal);
  const row = corr.subarray(neuron * size, (neuron + 1) * size);
  const correlated = Array.from(row.keys())
    .filter((j) => j !== neuron)
    .sort((a, b) => Math.abs(row[b]) - Math.abs(row[a]))
    .slice(0, 10)
    .map((j) => ({ neuron: j, r: row[j] }));
  const { vector: _vector, recording: _rec, neuron: _n, ...rest } = page;
  return {
    checkpoint: ref.checkpoint,
    tap: rec.tap,
    neuron,
    neurons: rec.cols,
    rows: rec.rows,
    ...rest,
    topExamples: page.topExamples.map((e) => ({ ...view(e), rank: e.rank })),
    quantiles: page.quantiles.map((g) => ({ ...g, samples: g.samples.map(view) })),
    mono: mono.neurons[neuron],
    thresholds: mono.thresholds,
    logitEffects: logitEffects(ck, rec.tap, neuron),
    correlated,
  };
}

/** A neuron's activation on each token of a typed text (a forward pass of the checkpoint). */
export async function neuronLive(project: Project, ref: TapRef, neuron: number, text: string) {
  await initBackend('auto');
  const entry = cachedCheckpoint(project, ref.checkpoint);
  const ck = entry.ck;
  const width = tapWidth(ck.config, ref.tap);
  if (!Number.isInteger(neuron) || neuron < 0 || neuron >= width)
    throw new ApiError('not-found', `neuron ${neuron} does not exist in ${ref.tap}`);
  const textIds = ck.tokenizer.encode(text);
  if (textIds.length === 0) return { tokens: [], values: [], truncated: false };
  // BOS first where the model's tokenizer adds it; a text longer than the context keeps its start.
  let ids = modelInput(ck.tokenizer, textIds, Infinity);
  const truncated = ids.length > ck.config.nCtx;
  ids = ids.slice(0, ck.config.nCtx);
  entry.params ??= paramsFromArrays(ck.config, ck.arrays, false);
  const params = entry.params;
  const out = tf.tidy(() => {
    const { taps } = forward(ck.config, params, tf.tensor2d([ids], [1, ids.length], 'int32'), {
      hiddenOnly: true,
      taps: [ref.tap],
    });
    return tf.reshape(tf.slice(taps.get(ref.tap)!, [0, 0, neuron], [1, ids.length, 1]), [ids.length]);
  });
  const values = Array.from(await out.data());
  out.dispose();
  return { tokens: ids.map((id) => ck.tokenizer.tokenString(id)), ids, values, truncated };
}

/**
 * The same neuron in the other checkpoints of the project that share the tap's width: its statistics there,
 * and the neuron there whose activations correlate best with this one's on the same probe tokens.
 */
export async function neuronCounterparts(
  project: Project,
  ref: TapRef,
  neuron: number,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
) {
  const rec = await neuronRecording(project, ref, neuron, reporter, signal);
  const v = project.store.activations.neuronVector(rec.id, neuron);
  const others = project.store.activations
    .list({})
    .filter(
      (r) =>
        r.tap === rec.tap &&
        r.probeId === rec.probeId &&
        r.checkpoint !== ref.checkpoint &&
        r.status === 'complete' &&
        r.cols === rec.cols,
    );
  const vs = standardize(v);
  return others.map((o) => {
    const stats = project.store.activations.neuronStats(o.id, neuron);
    const same = pearsonWith(vs, project.store.activations.neuronVector(o.id, neuron));
    const m = project.store.activations.tapMatrix(o.id);
    let best = { neuron: -1, r: -Infinity };
    const col = new Float32Array(m.rows);
    for (let j = 0; j < m.cols; j++) {
      for (let r = 0; r < m.rows; r++) col[r] = m.data[r * m.cols + j];
      const r = pearsonWith(vs, col);
      if (r > best.r) best = { neuron: j, r };
    }
    return { checkpoint: o.checkpoint, stats, sameIndexR: same, bestMatch: best };
  });
}

function standardize(v: Float32Array): Float64Array {
  let m = 0;
  for (const x of v) m += x;
  m /= v.length;
  let ss = 0;
  for (const x of v) ss += (x - m) ** 2;
  const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  return Float64Array.from(v, (x) => (x - m) * inv);
}

/** Pearson r of a standardised vector with a raw one. */
function pearsonWith(zs: Float64Array, v: Float32Array): number {
  let m = 0;
  for (const x of v) m += x;
  m /= v.length;
  let dot = 0;
  let ss = 0;
  for (let i = 0; i < v.length; i++) {
    const d = v[i] - m;
    dot += zs[i] * d;
    ss += d * d;
  }
  return ss > 0 ? dot / Math.sqrt(ss) : 0;
}

/** The correlation matrix of a tap for the heatmap, its cluster order, and optionally the difference to another checkpoint. */
export async function correlationMatrix(
  project: Project,
  ref: TapRef,
  diffWith: string | undefined,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
) {
  const c = await correlationOp(project, ref, reporter, signal);
  const d = diffWith
    ? await correlationDiffOp(project, { ...ref, checkpoint: diffWith }, ref, reporter, signal)
    : null;
  return {
    checkpoint: ref.checkpoint,
    tap: ref.tap,
    size: c.result.size,
    summary: c.result,
    corr: c.blobs.corr,
    order: Int32Array.from(c.blobs.order),
    ...(d ? { diffWith, diff: d.diff, meanAbsDiff: d.meanAbsDiff } : {}),
  };
}

/** The results of the neuron operations, as the contract (`api.ts`) declares them. */
export type NeuronTable = Awaited<ReturnType<typeof neuronTable>>;
export type NeuronPageView = Awaited<ReturnType<typeof neuronPage>>;
export type NeuronLive = Awaited<ReturnType<typeof neuronLive>>;
export type NeuronCounterparts = Awaited<ReturnType<typeof neuronCounterparts>>;
export type CorrelationMatrixView = Awaited<ReturnType<typeof correlationMatrix>>;
