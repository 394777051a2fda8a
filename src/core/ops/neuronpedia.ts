/**
 * `neuronpedia.export`: the feature pages of an SAE or a crosscoder in the layout of Neuronpedia's
 * exports, the files its importer reads (neuronpedia `utils/neuronpedia-utils`:
 * `convert-saedashboard-to-neuronpedia-export.py` and `db_models/*.py`, whose fields mirror the `Neuron`
 * and `Activation` tables of the webapp's `prisma/schema.prisma`):
 *
 *   OUT/<model id>/<source id>/release.jsonl, model.jsonl, sourceset.jsonl, source.jsonl
 *   OUT/<model id>/<source id>/features/batch-N.jsonl.gz      one `Neuron` row per latent
 *   OUT/<model id>/<source id>/activations/batch-N.jsonl.gz   one `Activation` row per top context
 *
 * The source id is `<layer>-<source set>` (Neuronpedia's `layer` field), the source set is named for the SAE
 * or crosscoder.
 * Per latent: `pos_str`/`pos_values` and `neg_str`/`neg_values`, the decoder row read in the residual stream
 * and through the unembedding (the final norm ignored, as for neuron pages and sae_vis); `frac_nonzero`,
 * the fraction of the probe's non-special tokens where it fires; the histograms of its nonzero activations
 * and of its logit effects (bar heights = counts, bar values = bin centres). Per context: one probe sequence
 * (the sequences of the `topK` largest activations, one per sequence), its tokens and the latent's value on
 * each (0 on special tokens, which the top contexts exclude as neuron pages do), `maxValue` and
 * `maxValueTokenIndex`, `minValue`.
 *
 * A crosscoder's pages are those of one of its models (`checkpoint`, default the first), as Neuronpedia
 * lists one source per model: the activations are the shared code f_i (encoded from every model's tap
 * together, so the same for every model), the logit effects those of that model's decoder block d_i^m
 * through its unembedding. Neuronpedia has no field for a crosscoder: the release's and source set's
 * descriptions and the source's notes say that it is one, over which models, and whose decoder the pages
 * read.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { join, relative, resolve } from 'node:path';
import { encodeSae, loadSae, type Matrix } from '../analysis/index.js';
import { matmul, view } from '../analysis/gemm.js';
import { histogramOf } from '../analysis/histogram.js';
import { encodeCrosscoder, modelDecoder } from '../diff/crosscoder.js';
import type { CrosscoderRecord } from '../diff/types.js';
import { ApiError, type OpParsed } from '../api.js';
import { loadCheckpoint, type LoadedCheckpoint } from '../model/checkpoint.js';
import { headArray, unitDirection } from '../model/models.js';
import { checkFreshFolder, writeAll, writeUserFiles } from '../store/files.js';
import type { Project } from '../store/project.js';
import { resolveCheckpoint } from './checkpoints.js';
import { crosscoderWithTaps, getCrosscoder } from './crosscoder.js';
import { getSae, type SaeRecord } from './sae.js';
import { loadTap, usableRows, type TapData } from './tap.js';
import { silentReporter, throwIfCancelled, type Reporter } from './progress.js';

/** Neuronpedia's default creator (the `DEFAULT_CREATOR_ID` of neuronpedia-utils' `.env.default`). */
export const NEURONPEDIA_CREATOR_ID = 'clkht01d40000jv08hvalcvly';
/** Features per batch file. */
const BATCH = 128;
/** Top and bottom tokens of a latent's logit effects. */
const LOGIT_TOKENS = 10;
/** Bins of the activation and logit histograms. */
const BINS = 30;

/** A Neuronpedia id: lowercase letters, digits, '-' and '_' (its Model id rule). */
function npId(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_-]+/g, '-');
}

/**
 * What one export's pages are computed from: the dictionary's codes on the probe, the exported model's tap
 * (its tokens) and its decoder ([d_sae, d_in] rows that decode inputs scaled by `inputScale`), and the
 * text the release, source set and source records carry.
 */
interface PageSource {
  /** `SAE 'NAME'` or `crosscoder 'NAME'`, for messages. */
  label: string;
  name: string;
  /** The probe set's name the dictionary was trained on. */
  probe: string;
  /** The model the pages are for. */
  checkpoint: string;
  tap: string;
  t: TapData;
  codes: Matrix;
  decoder: { wDec: Float32Array; dIn: number; inputScale: number };
  /** The release's description. */
  release: string;
  /** The source set's description. */
  set: string;
  /** The source's notes. */
  notes: string;
}

/** The pages' source for the SAE or crosscoder `req.sae` (see {@link PageSource}). */
async function pageSource(
  project: Project,
  req: OpParsed<'neuronpedia.export'>,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<PageSource> {
  const sae = getSae(project, req.sae);
  if (sae) {
    if (req.checkpoint !== undefined)
      throw new ApiError(
        'invalid-input',
        `checkpoint: '${sae.name}' is an SAE of ${sae.ref.checkpoint}, not a crosscoder; leave checkpoint out`,
      );
    return saePageSource(project, sae, reporter, signal);
  }
  const cc = getCrosscoder(project, req.sae);
  if (cc) return crosscoderPageSource(project, cc, req.checkpoint, reporter, signal);
  throw new ApiError('not-found', `no SAE or crosscoder named '${req.sae}' in ${project.dir}`);
}

/** An SAE's pages: its codes on its tap, its decoder. */
async function saePageSource(
  project: Project,
  rec: SaeRecord,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<PageSource> {
  const t = await loadTap(project, rec.ref, reporter, signal);
  const sae = loadSae(rec.dir);
  const { checkpoint, tap } = rec.ref;
  return {
    label: `SAE '${rec.name}'`,
    name: rec.name,
    probe: rec.ref.probe,
    checkpoint,
    tap,
    t,
    codes: encodeSae(sae, t.x),
    decoder: { wDec: sae.wDec, dIn: sae.config.dIn, inputScale: sae.inputScale },
    release: `Monoscope SAE ${rec.name} on ${checkpoint} ${tap}`,
    set: `${tap} - ${rec.dSae} latents (${rec.kind})`,
    notes: `Monoscope SAE ${rec.name}: ${rec.kind}, ${rec.dSae} latents on ${checkpoint} ${tap}`,
  };
}

/**
 * A crosscoder's pages for its model `checkpoint` (default the first): the shared code f encoded from
 * every model's tap (read again by probe hash; refused when a checkpoint changed since training, as
 * `crosscoder.latent` does), that model's tap for the tokens, and its decoder block W_dec^m with its
 * input scale s_m.
 */
async function crosscoderPageSource(
  project: Project,
  rec: CrosscoderRecord,
  checkpoint: string | undefined,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<PageSource> {
  const m = checkpoint === undefined ? 0 : rec.checkpoints.indexOf(checkpoint);
  if (m < 0)
    throw new ApiError(
      'invalid-input',
      `checkpoint: crosscoder '${rec.name}' is over ${rec.checkpoints.join(', ')}; '${checkpoint}' is not one of them`,
    );
  const { cc, taps } = await crosscoderWithTaps(project, rec, reporter, signal);
  const models = rec.checkpoints.join(', ');
  const kind = rec.settings.kind;
  const own = rec.checkpoints[m];
  return {
    label: `crosscoder '${rec.name}'`,
    name: rec.name,
    probe: rec.probe,
    checkpoint: own,
    tap: rec.tap,
    t: taps[m],
    codes: encodeCrosscoder(
      cc,
      taps.map((t) => t.x),
    ),
    decoder: { wDec: modelDecoder(cc, m), dIn: cc.config.dIn, inputScale: cc.inputScales[m] },
    release: `Monoscope crosscoder ${rec.name} over ${models} at ${rec.tap}`,
    set: `${rec.tap} - ${rec.dSae} latents (crosscoder, ${kind}, over ${models}; decoder of ${own})`,
    notes: `Monoscope crosscoder ${rec.name}: ${kind}, ${rec.dSae} latents shared by ${models} at ${rec.tap}; activations are the shared code of all models, logits read ${own}'s decoder and unembedding`,
  };
}

/** The `Activation` rows of one latent (see the module comment). */
interface ActivationRow {
  id: string;
  tokens: string[];
  modelId: string;
  layer: string;
  index: string;
  maxValue: number;
  maxValueTokenIndex: number;
  minValue: number;
  values: number[];
  dfaValues: number[];
  dfaTargetIndex: null;
  dfaMaxValue: null;
  creatorId: string;
  createdAt: string;
  lossValues: number[];
  logitContributions: null;
  binMin: null;
  binMax: null;
  binContains: null;
  qualifyingTokenIndex: number;
  dataIndex: string;
  dataSource: string;
}

/**
 * Writes the feature pages of the SAE or crosscoder `req.sae` (see the module comment) into `req.out`, a
 * new or empty folder outside the project's managed folders. Returns the folder, the files (relative to
 * it) and the number of latents written.
 */
export async function neuronpediaExportOp(
  project: Project,
  req: OpParsed<'neuronpedia.export'>,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
): Promise<{ dir: string; files: string[]; latents: number }> {
  const out = resolve(req.out);
  checkFreshFolder(out);
  const src = await pageSource(project, req, reporter, signal);
  const layer = /^blocks\.(\d+)\./.exec(src.tap)?.[1];
  if (layer === undefined) throw new ApiError('invalid-input', `${src.label}: tap ${src.tap} has no block`);
  const { t, codes } = src;
  const rows = usableRows(t);
  const latents = req.latents ?? firingLatents(codes, rows);
  const bad = latents.find((i) => i >= codes.cols);
  if (bad !== undefined)
    throw new ApiError('invalid-input', `latents: ${src.label} has latents 0..${codes.cols - 1}, not ${bad}`);

  const ck = loadCheckpoint(resolveCheckpoint(project, src.checkpoint).dir);
  const modelId = npId(src.checkpoint);
  const setName = npId(src.name);
  const sourceId = `${layer}-${setName}`;
  const base = join(out, modelId, sourceId);
  const createdAt = new Date().toISOString();
  const ids = { modelId, layer: sourceId, creatorId: NEURONPEDIA_CREATOR_ID, createdAt };
  const seqs = sequences(t);
  const texts: [string, string | Uint8Array][] = [
    ['release.jsonl', jsonl([releaseRow(src, setName, sourceId, createdAt)])],
    ['model.jsonl', jsonl([modelRow(ck, modelId, createdAt)])],
    ['sourceset.jsonl', jsonl([sourceSetRow(src, modelId, setName, createdAt)])],
    ['source.jsonl', jsonl([sourceRow(src, modelId, setName, sourceId, seqs, createdAt)])],
  ];
  const special = new Set(t.specialIds);
  for (let b0 = 0; b0 < latents.length; b0 += BATCH) {
    throwIfCancelled(signal);
    const batch = latents.slice(b0, b0 + BATCH);
    reporter.progress({ phase: 'feature pages', done: b0, total: latents.length, unit: 'latent' });
    const logits = logitEffects(ck, src.tap, src.decoder, batch);
    const features: object[] = [];
    const activations: ActivationRow[] = [];
    batch.forEach((latent, i) => {
      const v = column(codes, latent);
      const top = topContexts(t, v, rows, seqs, special, req.topK).map((c, rank) => ({
        ...ids,
        id: `c${createHash('sha256').update(`${modelId}/${sourceId}/${latent}/${rank}`).digest('hex').slice(0, 24)}`,
        index: String(latent),
        ...c,
        dfaValues: [],
        dfaTargetIndex: null,
        dfaMaxValue: null,
        lossValues: [],
        logitContributions: null,
        binMin: null,
        binMax: null,
        binContains: null,
        dataSource: t.rec.probeHash,
      }));
      activations.push(...top);
      features.push({
        ...ids,
        index: String(latent),
        ...featureStats(v, rows, logits[i], ck),
        maxActApprox: Math.max(0, ...top.map((a) => a.maxValue)),
      });
    });
    const name = `batch-${b0 / BATCH}.jsonl.gz`;
    texts.push([join('features', name), gzipSync(jsonl(features))]);
    texts.push([join('activations', name), gzipSync(jsonl(activations))]);
  }
  const files = texts.map(([f]) => join(base, f));
  writeUserFiles(files.map((file, i) => ({ file, write: (fd: number) => writeAll(fd, texts[i][1]) })));
  return { dir: out, files: files.map((f) => relative(out, f)), latents: latents.length };
}

/** One JSON object per line. */
function jsonl(rows: object[]): string {
  return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
}

/** The release that holds the source set (`SourceRelease`). */
function releaseRow(src: PageSource, setName: string, sourceId: string, createdAt: string) {
  const description = src.release;
  return {
    name: `monoscope-${setName}`,
    description,
    creatorName: 'Monoscope',
    creatorId: NEURONPEDIA_CREATOR_ID,
    visibility: 'PUBLIC',
    isNewUi: false,
    featured: false,
    descriptionShort: description,
    urls: [],
    creatorEmail: null,
    creatorNameShort: 'Monoscope',
    defaultSourceSetName: setName,
    defaultSourceId: sourceId,
    defaultUmapSourceIds: [],
    createdAt,
  };
}

/** The model (`Model`): the checkpoint's shape. */
function modelRow(ck: LoadedCheckpoint, modelId: string, createdAt: string) {
  return {
    id: modelId,
    instruct: false,
    creatorId: NEURONPEDIA_CREATOR_ID,
    displayNameShort: modelId,
    displayName: modelId,
    tlensId: null,
    dimension: ck.config.nEmbd,
    visibility: 'PUBLIC',
    defaultSourceSetName: null,
    defaultSourceId: null,
    inferenceEnabled: false,
    layers: ck.config.nLayer,
    neuronsPerLayer: ck.config.nInner,
    createdAt,
    owner: '',
    updatedAt: createdAt,
    website: null,
  };
}

/** The source set (`SourceSet`): this SAE or crosscoder, over the layers it has (one). */
function sourceSetRow(src: PageSource, modelId: string, setName: string, createdAt: string) {
  return {
    modelId,
    name: setName,
    creatorId: NEURONPEDIA_CREATOR_ID,
    hasDashboards: true,
    visibility: 'PUBLIC',
    description: src.set,
    type: 'sae',
    creatorName: 'Monoscope',
    urls: [],
    creatorEmail: null,
    releaseName: `monoscope-${setName}`,
    defaultOfModelId: null,
    defaultRange: 1,
    defaultShowBreaks: true,
    showDfa: false,
    showCorrelated: false,
    showHeadAttribution: false,
    showUmap: false,
    createdAt,
  };
}

/** The source (`Source`): the SAE or crosscoder at its layer, and the probe its pages were computed on. */
function sourceRow(
  src: PageSource,
  modelId: string,
  setName: string,
  sourceId: string,
  seqs: [number, number][],
  createdAt: string,
) {
  return {
    id: sourceId,
    modelId,
    setName,
    creatorId: NEURONPEDIA_CREATOR_ID,
    hasDashboards: true,
    inferenceEnabled: false,
    inferenceHosts: [],
    saelensConfig: null,
    saelensRelease: null,
    saelensSaeId: null,
    hfRepoId: null,
    hfFolderId: null,
    visibility: 'PUBLIC',
    defaultOfModelId: null,
    hasUmap: false,
    hasUmapLogSparsity: false,
    hasUmapClusters: false,
    num_prompts: seqs.length,
    num_tokens_in_prompt: seqs.reduce((m, [a, b]) => Math.max(m, b - a), 0),
    dataset: `monoscope probe ${src.probe} (${src.t.rec.probeHash})`,
    notes: src.notes,
    createdAt,
  };
}

/** The latents that fire on at least one of `rows`. */
function firingLatents(codes: Matrix, rows: Int32Array): number[] {
  const fires = new Uint8Array(codes.cols);
  for (const r of rows)
    for (let j = 0; j < codes.cols; j++) if (codes.data[r * codes.cols + j] > 0) fires[j] = 1;
  return Array.from(fires.keys()).filter((j) => fires[j]);
}

/** Column `j` of `m`. */
function column(m: Matrix, j: number): Float32Array {
  const v = new Float32Array(m.rows);
  for (let r = 0; r < m.rows; r++) v[r] = m.data[r * m.cols + j];
  return v;
}

/** The probe's sequences as [first row, end row) pairs, in order (a sequence's rows are contiguous). */
function sequences(t: TapData): [number, number][] {
  const out: [number, number][] = [];
  for (let r = 0; r < t.seqOf.length; r++) {
    if (r === 0 || t.seqOf[r] !== t.seqOf[r - 1]) out.push([r, r + 1]);
    else out[out.length - 1][1] = r + 1;
  }
  return out;
}

/**
 * The `topK` sequences with the largest activations of `v` on `rows` (one per sequence, firing only), each
 * with its tokens and the values on them (0 on special tokens).
 */
function topContexts(
  t: TapData,
  v: Float32Array,
  rows: Int32Array,
  seqs: [number, number][],
  special: Set<number>,
  topK: number,
) {
  const order = Array.from(rows)
    .filter((r) => v[r] > 0)
    .sort((a, b) => v[b] - v[a] || a - b);
  const seqIndex = new Map<number, number>();
  seqs.forEach((_, i) => seqIndex.set(t.seqOf[seqs[i][0]], i));
  const seen = new Set<number>();
  const out = [];
  for (const r of order) {
    if (out.length === topK) break;
    const s = seqIndex.get(t.seqOf[r])!;
    if (seen.has(s)) continue;
    seen.add(s);
    const [a, b] = seqs[s];
    const values: number[] = [];
    for (let i = a; i < b; i++) values.push(special.has(t.ids[i]) ? 0 : v[i]);
    out.push({
      tokens: Array.from(t.ids.subarray(a, b), (id) => t.tokenizer.tokenString(id)),
      values,
      maxValue: v[r],
      maxValueTokenIndex: r - a,
      minValue: Math.min(...values),
      qualifyingTokenIndex: r - a,
      dataIndex: String(t.seqOf[r]),
    });
  }
  return out;
}

/** A latent's density, activation histogram and logit effects, as `Neuron` fields. */
function featureStats(v: Float32Array, rows: Int32Array, effects: Float64Array, ck: LoadedCheckpoint) {
  const active: number[] = [];
  for (const r of rows) if (v[r] > 0) active.push(v[r]);
  const order = Array.from(effects.keys()).sort((a, b) => effects[b] - effects[a] || a - b);
  const pos = order.slice(0, LOGIT_TOKENS);
  const neg = order.slice(-LOGIT_TOKENS).reverse();
  const bars = (x: ArrayLike<number>) => {
    const h = histogramOf(x, BINS);
    const w = (h.hi - h.lo) / BINS;
    return { heights: h.counts, values: h.counts.map((_, i) => h.lo + (i + 0.5) * w) };
  };
  const freq = bars(active);
  const logit = bars(effects);
  return {
    hasVector: false,
    vector: [],
    vectorLabel: null,
    vectorDefaultSteerStrength: null,
    hookName: null,
    topkCosSimIndices: [],
    topkCosSimValues: [],
    neuron_alignment_indices: [],
    neuron_alignment_values: [],
    neuron_alignment_l1: [],
    correlated_neurons_indices: [],
    correlated_neurons_pearson: [],
    correlated_neurons_l1: [],
    correlated_features_indices: [],
    correlated_features_pearson: [],
    correlated_features_l1: [],
    pos_str: pos.map((id) => ck.tokenizer.tokenString(id)),
    pos_values: pos.map((id) => effects[id]),
    neg_str: neg.map((id) => ck.tokenizer.tokenString(id)),
    neg_values: neg.map((id) => effects[id]),
    frac_nonzero: rows.length ? active.length / rows.length : 0,
    freq_hist_data_bar_heights: freq.heights,
    freq_hist_data_bar_values: freq.values,
    logits_hist_data_bar_heights: logit.heights,
    logits_hist_data_bar_values: logit.values,
    decoder_weights_dist: [],
  };
}

/**
 * The logit effects of the latents `latents` ([latents, vocab], float64): each row of `decoder` (an SAE's
 * W_dec, or a crosscoder's block W_dec^m of the exported model) in the tap's units (W_dec / input scale: the
 * dictionary decodes scaled inputs) written into the residual stream through the
 * tap's unit directions (the identity for the residual stream, the MLP output projection for MLP neurons),
 * then through the unembedding.
 */
function logitEffects(
  ck: LoadedCheckpoint,
  tap: string,
  decoder: PageSource['decoder'],
  latents: number[],
): Float64Array[] {
  const { nEmbd: D, vocabSize: V } = ck.config;
  const { wDec, dIn, inputScale } = decoder;
  const units = new Float64Array(dIn * D);
  for (let j = 0; j < dIn; j++) units.set(unitDirection(ck.config, ck.arrays, tap, j), j * D);
  const rowsDec = new Float64Array(latents.length * dIn);
  latents.forEach((l, i) => {
    for (let j = 0; j < dIn; j++) rowsDec[i * dIn + j] = wDec[l * dIn + j] / inputScale;
  });
  const dirs = new Float64Array(latents.length * D);
  matmul(view(dirs, D), view(rowsDec, dIn), view(units, D), latents.length, D, dIn);
  const head = Float64Array.from(headArray(ck.config, ck.arrays));
  const effects = new Float64Array(latents.length * V);
  matmul(view(effects, V), view(dirs, D), view(head, D), latents.length, V, D, { tb: true });
  return latents.map((_, i) => effects.subarray(i * V, (i + 1) * V));
}
