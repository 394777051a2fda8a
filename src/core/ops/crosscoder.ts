/**
 * Crosscoders (model diffing) on the same tap of 2 or 3 checkpoints over the same probe tokens: training one
 * under a name (`DIR/crosscoders/NAME`), its record (held-out metrics per model, every latent read per pair
 * of models, and what each latent stands for), the list, a latent's page, and the findings the mission asks
 * for with their seed baseline. As with SAEs, the record is found by its name and keyed by content: the tap
 * of every checkpoint by its weights hash and probe hash, and the training settings.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { withLock } from '../store/locks.js';
import { activeBackend } from '../backend/index.js';
import { withWasmGemmWorker } from '../backend/wasm-threads.js';
import { example } from '../store/activations.js';
import { canonicalJson } from '../store/analyses.js';
import { openCheckpoint } from '../model/checkpoint.js';
import { tapWidth } from '../model/models.js';
import {
  matchByActivationCorrelation,
  monosemanticity,
  takeRows,
  topIndices,
  type Matrix,
} from '../analysis/index.js';
import { histogramOf } from '../analysis/histogram.js';
import { sharedLatents } from '../analysis/dictionary-overlap.js';
import {
  decoderNorms,
  encodeCrosscoder,
  evaluateCrosscoder,
  loadCrosscoder,
  resolveCrosscoderConfig,
  saveCrosscoder,
  trainCrosscoder,
  type Crosscoder,
} from '../diff/crosscoder.js';
import { latentPairs } from '../diff/latents.js';
import { diffingFindings, specificLatents } from '../diff/findings.js';
import type {
  CrosscoderRecord,
  CrosscoderSettings,
  DiffingFindings,
  LatentConcept,
  LatentPage,
  SeedBaseline,
} from '../diff/types.js';
import { ApiError, parseInput, type OpParsed } from '../api.js';
import type { Project } from '../store/project.js';
import { loadTap, tapKey, usableRows, type TapData } from './tap.js';
import { resolveCheckpoint } from './checkpoints.js';
import {
  dictionaryConfig,
  dictionarySettings,
  heldOutSplit,
  namedRecords,
  reuseStored,
  saeWeightsHash,
} from './sae.js';
import { silentReporter, stepProgress, throwIfCancelled, trainingCurve, type Reporter } from './progress.js';

/** The settings of a training request over `nModels` taps of `dIn` columns, defaults applied. */
export function crosscoderSettings(
  req: OpParsed<'crosscoder.train'>,
  nModels: number,
  dIn: number,
): CrosscoderSettings {
  const c = resolveCrosscoderConfig({ ...dictionaryConfig(req), nModels, dIn });
  return dictionarySettings(c, c.kind === 'batchtopk');
}

const crosscoders = namedRecords<CrosscoderRecord>(
  'crosscoder',
  'crosscoder',
  'monoscope analyze crosscoder',
);
/** The crosscoder named `name`, or undefined. */
export const getCrosscoder = crosscoders.get;
/** The crosscoders of the project, newest first. */
export const listCrosscoders = crosscoders.list;
/** The crosscoder named `name`; fails when there is none. */
export const findCrosscoder = crosscoders.find;

/**
 * Checks a request's checkpoints before anything is recorded: each named once, the tap one of every
 * model's taps, and of the same width in all of them (the weights' layout has one d_in).
 */
function checkCheckpoints(project: Project, req: OpParsed<'crosscoder.train'>): void {
  const seen = new Set<string>();
  for (const c of req.checkpoints) {
    if (seen.has(c))
      throw new ApiError(
        'invalid-input',
        `checkpoints: '${c}' is named twice; give 2 or 3 different checkpoints`,
      );
    seen.add(c);
  }
  const widths = req.checkpoints.map((c) => {
    const { config } = openCheckpoint(resolveCheckpoint(project, c).dir);
    try {
      return tapWidth(config, req.tap);
    } catch (e) {
      throw new ApiError('invalid-input', `tap: checkpoint '${c}': ${(e as Error).message}`);
    }
  });
  if (widths.some((w) => w !== widths[0]))
    throw new ApiError(
      'invalid-input',
      `checkpoints: ${req.tap} has ${req.checkpoints.map((c, i) => `${widths[i]} columns in '${c}'`).join(', ')}; a crosscoder needs the same d_in in every checkpoint`,
    );
}

/** The tap of every checkpoint (recorded first where needed), checked to hold the same probe tokens. */
async function loadTaps(
  project: Project,
  checkpoints: string[],
  tap: string,
  probe: string,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<TapData[]> {
  const taps: TapData[] = [];
  for (const checkpoint of checkpoints)
    taps.push(await loadTap(project, { checkpoint, tap, probe }, reporter, signal));
  const first = taps[0];
  for (const t of taps.slice(1)) {
    if (t.rec.probeHash !== first.rec.probeHash || t.x.rows !== first.x.rows)
      throw new ApiError(
        'invalid-input',
        `checkpoints: '${t.ref.checkpoint}' and '${first.ref.checkpoint}' read different probe tokens (${t.x.rows} and ${first.x.rows} rows; their context lengths or tokenizers differ); a crosscoder needs the same tokens in every model`,
      );
  }
  return taps;
}

/**
 * What each latent stands for: the probe's concept labels scored against the latent's activations with
 * the monosemanticity code the Neurons view uses for neurons (`score` is its top-k share), and the share
 * of the probe's non-special tokens where the latent writes into each model (f_i > 0 and ‖d_i^m‖ > 0).
 */
function latentConcepts(cc: Crosscoder, z: Matrix, t: TapData): LatentConcept[] {
  const mono = monosemanticity(z, t.concepts, { tokenIds: t.ids, specialIds: t.specialIds });
  const rows = usableRows(t);
  const norms = decoderNorms(cc);
  return mono.neurons.map((n, i) => {
    let fired = 0;
    for (const r of rows) if (z.data[r * z.cols + i] > 0) fired++;
    return {
      concept: fired > 0 ? n.dominantConcept : null,
      score: fired > 0 ? n.topKShare : 0,
      monosemantic: n.label === 'monosemantic',
      density: norms.map((d) => (d[i] > 0 ? fired / rows.length : 0)),
    };
  });
}

/**
 * Trains a crosscoder on a tap of 2 or 3 checkpoints (the tap recorded first where needed; the same
 * non-special probe tokens in every model, 10% of them held out, seeded, for the metrics), saves it under
 * `DIR/crosscoders/NAME`, reads its latents per pair of models (Δ, tags, cosines, ν) and scores each latent
 * against the probe's concept labels. The same name with the same settings on the same taps returns the
 * stored crosscoder; other settings are refused unless `overwrite`.
 */
export async function crosscoderTrainOp(
  project: Project,
  req: OpParsed<'crosscoder.train'>,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
): Promise<CrosscoderRecord> {
  checkCheckpoints(project, req);
  const taps = await loadTaps(project, req.checkpoints, req.tap, req.probe, reporter, signal);
  const sources = taps.map((t) => tapKey(t.rec));
  const dIn = taps[0].x.cols;
  const settings = crosscoderSettings(req, taps.length, dIn);
  const thresholds = { specific: req.specific, shared: req.shared };
  // One writer per crosscoder name: a second `crosscoder.train` of the same name while this one runs is refused.
  return withLock(project.dir, 'crosscoder', req.name, async () => {
    const dir = join(project.crosscodersDir, req.name);
    const old = getCrosscoder(project, req.name);
    if (old) {
      const identity = (r: Pick<CrosscoderRecord, 'sources' | 'settings' | 'thresholds'>) =>
        canonicalJson({ sources: r.sources, settings: r.settings, thresholds: r.thresholds });
      const same = identity({ sources, settings, thresholds }) === identity(old);
      const refusal = `a crosscoder named '${req.name}' exists, trained with other settings or on other activations; pick another name, or overwrite it (--overwrite) to replace it`;
      if (reuseStored(old, dir, same, req.overwrite, refusal)) return old;
    }
    const { rows, evalRows, trainRows } = heldOutSplit(taps[0], settings.seed);
    const started = performance.now();
    // Big products take the second core where there is one (our wasm GEMM worker; bit-identical results).
    const { crosscoder: cc, log } = await withWasmGemmWorker(activeBackend()!.backend, () =>
      trainCrosscoder(
        taps.map((t) => takeRows(t.x, trainRows)),
        { ...dictionaryConfig(settings), nModels: taps.length, dIn },
        stepProgress(reporter, `crosscoder ${req.name}`, settings.steps),
        signal,
      ),
    );
    throwIfCancelled(signal);
    const seconds = (performance.now() - started) / 1000;
    const metrics = evaluateCrosscoder(
      cc,
      taps.map((t) => takeRows(t.x, evalRows)),
    );
    reporter.message(`crosscoder ${req.name}: reading its latents per pair of models`);
    const all = taps.map((t) => takeRows(t.x, rows));
    const pairs = latentPairs(cc, all, thresholds);
    const concepts = latentConcepts(
      cc,
      encodeCrosscoder(
        cc,
        taps.map((t) => t.x),
      ),
      taps[0],
    );
    mkdirSync(project.crosscodersDir, { recursive: true });
    saveCrosscoder(dir, cc, {
      checkpoints: req.checkpoints,
      tap: req.tap,
      probe: req.probe,
      checkpointHashes: sources.map((s) => s.checkpointHash),
      probeHash: sources[0].probeHash,
    });
    const record: CrosscoderRecord = {
      name: req.name,
      dir,
      checkpoints: req.checkpoints,
      tap: req.tap,
      probe: req.probe,
      sources,
      dIn,
      dSae: settings.latents,
      settings,
      weightsHash: saeWeightsHash(dir),
      metrics,
      curve: trainingCurve(log, settings.steps),
      thresholds,
      pairs,
      concepts,
      seconds,
    };
    crosscoders.put(project, record);
    return record;
  });
}

/**
 * The crosscoder of a record with the taps it was trained on, read again (by probe hash). Fails when a
 * checkpoint's weights changed since training: its latents would be read on other activations.
 */
export async function crosscoderWithTaps(
  project: Project,
  r: CrosscoderRecord,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<{ cc: Crosscoder; taps: TapData[] }> {
  const taps = await loadTaps(project, r.checkpoints, r.tap, r.sources[0].probeHash, reporter, signal);
  taps.forEach((t, i) => {
    if (canonicalJson(tapKey(t.rec)) !== canonicalJson(r.sources[i]))
      throw new ApiError(
        'conflict',
        `checkpoint '${r.checkpoints[i]}' changed since crosscoder '${r.name}' was trained; train it again (--overwrite)`,
      );
  });
  return { cc: loadCrosscoder(r.dir), taps };
}

/** Top contexts shown per model on a latent page. */
const PAGE_TOP = 10;

/**
 * A latent's page: its decoder norm in each model, its numbers in every pair, its concept, and per model
 * what it writes into that model's activations, a_m(x) = f_i(x) ‖d_i^m‖ / s_m (the size of its term in
 * x̂^m, in the model's own units): the histogram over the tokens where it fires and the top contexts, cut as
 * a neuron page's are (the recording's context width and histogram bins; special tokens left out).
 */
export async function crosscoderLatentOp(
  project: Project,
  req: OpParsed<'crosscoder.latent'>,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
): Promise<LatentPage> {
  const r = findCrosscoder(project, req.name);
  const i = req.latent;
  if (i >= r.dSae)
    throw new ApiError(
      'not-found',
      `latent ${i} does not exist in crosscoder '${r.name}' (0..${r.dSae - 1})`,
    );
  const { cc, taps } = await crosscoderWithTaps(project, r, reporter, signal);
  const z = encodeCrosscoder(
    cc,
    taps.map((t) => t.x),
  );
  const norms = decoderNorms(cc).map((d) => d[i]);
  const t0 = taps[0];
  const probe = project.store.probes.rows(t0.rec.probeId);
  const rows = usableRows(t0);
  const f = Float32Array.from({ length: z.rows }, (_, row) => z.data[row * z.cols + i]);
  const firing = Array.from(rows).filter((row) => f[row] > 0);
  const models = taps.map((t, m) => {
    const a = Float32Array.from(f, (v) => (v * norms[m]) / cc.inputScales[m]);
    const values = firing.map((row) => a[row]);
    const top = topIndices(values, Math.min(PAGE_TOP, values.length)).map((j) => {
      const e = example(probe, a, firing[j], values[j], t.rec.settings.context);
      const first = probe.seqStart[e.sequence] + e.contextStart;
      return {
        activation: e.value,
        tokens: e.tokens.map((id) => t.tokenizer.tokenString(id)),
        target: e.position - e.contextStart,
        labels: e.tokens.map((_, k) => t.concepts[first + k] ?? ''),
      };
    });
    return {
      checkpoint: r.checkpoints[m],
      histogram: histogramOf(values, t.rec.settings.histogramBins),
      top,
    };
  });
  return {
    name: r.name,
    latent: i,
    checkpoints: r.checkpoints,
    decoderNorms: norms,
    pairs: r.pairs.map((p) => ({
      a: p.a,
      b: p.b,
      delta: p.delta[i],
      tag: p.tag[i],
      cosine: p.cosine[i],
      nuError: p.nuError[i],
      nuRecon: p.nuRecon[i],
    })),
    concept: r.concepts[i],
    models,
  };
}

/**
 * The seed twin of a crosscoder: the same request with seed + 1, under the name `NAME-seedS` (trained on
 * first use, then found in the store like any crosscoder; retrained when NAME was retrained with other
 * settings; a crosscoder of that name on other activations is refused, never replaced).
 */
async function seedTwin(
  project: Project,
  r: CrosscoderRecord,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<CrosscoderRecord> {
  const { settings: s } = r;
  const name = `${r.name}-seed${s.seed + 1}`;
  // The twin's name is derived, so it may be a user's: only a crosscoder of the same activations (an earlier
  // twin of NAME) is replaced; another one of that name is left alone and named in the error.
  const existing = getCrosscoder(project, name);
  if (existing && canonicalJson(existing.sources) !== canonicalJson(r.sources))
    throw new ApiError(
      'conflict',
      `the seed baseline of crosscoder '${r.name}' is trained as '${name}', but a crosscoder of that name exists on other activations; rename it (or remove it) to get the seed baseline`,
    );
  reporter.message(`seed baseline: crosscoder ${name} (the same request with seed ${s.seed + 1})`);
  const req = parseInput('crosscoder.train', {
    name,
    checkpoints: r.checkpoints,
    tap: r.tap,
    probe: r.probe,
    kind: s.kind,
    latents: s.latents,
    steps: s.steps,
    batchSize: s.batchSize,
    lr: s.lr,
    seed: s.seed + 1,
    ...(s.k !== undefined && { k: s.k }),
    ...(s.l1 !== undefined && { l1: s.l1 }),
    specific: r.thresholds.specific,
    shared: r.thresholds.shared,
    overwrite: true,
  });
  return crosscoderTrainOp(project, req, reporter, signal);
}

/**
 * A crosscoder's dictionary as Paulo & Belrose compare dictionaries: per latent (all, or `latents`), its
 * decoder vectors of every model side by side [latents, n_models · d_in] (W_dec's own layout), and its
 * encoder vectors the same way (W_enc [n_models, d_in, d_sae] read by latent).
 */
function dictionaryRows(cc: Crosscoder, latents?: number[]): { dec: Matrix; enc: Matrix } {
  const { dSae, nModels, dIn } = cc.config;
  const pick = latents ?? Array.from({ length: dSae }, (_, i) => i);
  const width = nModels * dIn;
  const enc = new Float32Array(pick.length * width);
  pick.forEach((i, r) => {
    for (let c = 0; c < width; c++) enc[r * width + c] = cc.wEnc[c * dSae + i];
  });
  return {
    dec: takeRows({ data: cc.wDec, rows: dSae, cols: width }, pick),
    enc: { data: enc, rows: pick.length, cols: width },
  };
}

/** The latents of `a` (all, or `latents`) that a crosscoder `b` shares (Paulo & Belrose's rule, both weights). */
function sharedWith(a: Crosscoder, b: Crosscoder, latents?: number[]): number {
  const x = dictionaryRows(a, latents);
  const y = dictionaryRows(b);
  return sharedLatents(x.dec, y.dec, undefined, { a: x.enc, b: y.enc }).fraction;
}

/** Activations of the twin that a latent must reach to count as found again (Pearson r over the probe). */
const FOUND_AGAIN_R = 0.7;

/**
 * The latents of `a` that crosscoder `b` finds again by what they do: both encoded on the same tokens `xs`
 * (one matrix per model; the probe's non-special tokens), the latents matched one-to-one by the correlation
 * of their activations (the Hungarian rule of feature matching, `matchByActivationCorrelation`), and kept
 * where the partner's r exceeds {@link FOUND_AGAIN_R}. Weight geometry can miss a latent that two seeds learn
 * with other decoder directions but the same firing pattern; this reads latents by their firing.
 */
export function foundAgain(a: Crosscoder, b: Crosscoder, xs: Matrix[]): Set<number> {
  const m = matchByActivationCorrelation(encodeCrosscoder(a, xs), encodeCrosscoder(b, xs), {
    rule: 'hungarian',
    direction: 'a-to-b',
    rThreshold: FOUND_AGAIN_R,
  });
  return new Set(m.pairs.map((p) => p.a));
}

/**
 * The answer to the mission's question for a crosscoder whose first checkpoint is the base: per fine-tuned
 * model, the latents specific to it against the base (B-only), what concepts they carry and how
 * monosemantic they are (see `diff/findings.ts`), read against a seed baseline (Paulo & Belrose 2025,
 * arXiv 2501.16615): a twin crosscoder trained with seed + 1, and the share of each set of specific latents
 * that the twin shares (Hungarian-matched decoder and encoder rows, all models' vectors side by side, both
 * cosines above 0.7) and that it finds again by activations ({@link foundAgain}), beside the same shares of
 * all latents.
 */
export async function crosscoderFindings(
  project: Project,
  r: CrosscoderRecord,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
): Promise<DiffingFindings> {
  const twin = await seedTwin(project, r, reporter, signal);
  const { cc, taps } = await crosscoderWithTaps(project, r, reporter, signal);
  const twinCc = loadCrosscoder(twin.dir);
  reporter.message(`seed baseline: matching ${r.name}'s latents with ${twin.name}'s by their activations`);
  const rows = usableRows(taps[0]);
  const found = foundAgain(
    cc,
    twinCc,
    taps.map((t) => takeRows(t.x, rows)),
  );
  const foundShare = (latents: number[]) => latents.filter((i) => found.has(i)).length / latents.length;
  const baseline: SeedBaseline = {
    name: twin.name,
    seed: twin.settings.seed,
    allShared: sharedWith(cc, twinCc),
    allFound: found.size / cc.config.dSae,
    specific: r.pairs
      .filter((p) => p.a === 0)
      .map((p) => {
        const latents = specificLatents(p, 'b-only');
        const twinPair = twin.pairs.find((q) => q.a === p.a && q.b === p.b)!;
        return {
          b: p.b,
          shared: latents.length ? sharedWith(cc, twinCc, latents) : NaN,
          found: latents.length ? foundShare(latents) : NaN,
          twinCount: twinPair.counts['b-only'],
        };
      }),
  };
  return diffingFindings(r, baseline);
}

/**
 * `crosscoder.findings`: the findings of a stored crosscoder (see `diff/findings.ts`), read from its record
 * at once; with `seedBaseline`, beside its seed twin (`crosscoderFindings`: trained on first use, then found
 * in the store).
 */
export async function crosscoderFindingsOp(
  project: Project,
  req: OpParsed<'crosscoder.findings'>,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
): Promise<DiffingFindings> {
  const r = findCrosscoder(project, req.name);
  return req.seedBaseline ? crosscoderFindings(project, r, reporter, signal) : diffingFindings(r);
}
