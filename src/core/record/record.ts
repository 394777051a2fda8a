/**
 * Recording: runs a checkpoint over a probe set in batches and streams the activations of the chosen taps
 * into the store, computing the per-neuron statistics in the same pass.
 *
 *   for each batch b (sequences [b S, (b + 1) S), right-padded to the probe's longest sequence):
 *     forward(ids, taps) inside tf.tidy -> per tap [neurons, real rows] (pads dropped)
 *     round to float16 (unless float32), then in ONE transaction store every tap's tiles and progress
 *     feed the stored values to each tap's statistics accumulator
 *   then per tap: a histogram pass over the stored values, and the statistics in one transaction.
 *
 * Resuming: a recording remembers how many batches it committed. Run again, the committed batches are
 * replayed from the store into the accumulators (no forward pass) and recording goes on from the next
 * one, so nothing is stored twice and the result equals an uninterrupted recording exactly (statistics
 * see the stored, rounded values in both cases). A complete recording is skipped.
 */
import * as tf from '@tensorflow/tfjs-core';
import { activeBackend, initBackend } from '../backend/index.js';
import type { ProbeSet } from '../data/types.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import {
  disposeParams,
  expandTaps,
  forward,
  paramsFromArrays,
  tapWidth,
  type GPTConfig,
  type Params,
} from '../model/gpt.js';
import type { ActivationDtype, RecordingInfo, RecordingSettings } from '../store/activations.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../store/float16.js';
import type { ProbeRows } from '../store/probes.js';
import { StoreError, type Store } from '../store/store.js';
import { TapStatsAccumulator } from './stats.js';

export interface RecordProgress {
  /** Rows (probe tokens) done, including batches stored by an earlier, interrupted run. */
  done: number;
  total: number;
  /** Tokens per second of this run's forward passes and writes. */
  tokensPerS: number;
  batch: number;
  nBatches: number;
}

export interface RecordOptions {
  checkpointName: string;
  checkpointDir: string;
  probe: ProbeSet;
  /** Tap names or patterns (`blocks.*.mlp.post`). */
  taps: string[];
  /** Sequences per batch (default 32). A resumed recording keeps the batch size it started with. */
  batchSize?: number;
  dtype?: ActivationDtype;
  /** Top examples kept per neuron (default 20, as sae_vis). */
  topK?: number;
  /** Context tokens shown on each side of an example (default 5). */
  context?: number;
  /** Activations above this count as active (default 0). */
  activeThreshold?: number;
  /** Histogram bins (default 50, as sae_vis). */
  histogramBins?: number;
  /** Quantile groups and samples per group (default 10 x 5, as sae_vis). */
  quantileGroups?: number;
  quantileSamplesPerGroup?: number;
  /** Size of each neuron's random sample of active rows the quantile groups are cut from (default 200). */
  reservoirSize?: number;
  /** Keep special tokens (BOS/EOS/PAD) in top examples and quantile samples (default false). */
  includeSpecial?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: RecordProgress) => void;
}

export interface RecordResult {
  /** The recordings of the requested taps (complete unless cancelled). */
  recordings: RecordingInfo[];
  /** True when `signal` stopped the run; run again to resume. */
  cancelled: boolean;
  /** Taps that were already recorded and were skipped. */
  skipped: string[];
  batchesComputed: number;
  batchesReplayed: number;
  rowsComputed: number;
  seconds: number;
}

interface TapWork {
  tap: string;
  rec: RecordingInfo;
  acc: TapStatsAccumulator;
  done: number;
}

/** Checks that a probe set fits a model: ids inside the vocabulary, sequences no longer than the context. */
export function checkProbeFitsModel(probe: ProbeSet, cfg: GPTConfig): void {
  probe.sequences.forEach((s, i) => {
    if (s.ids.length > cfg.nCtx) {
      throw new StoreError(
        'invalid',
        `probe set '${probe.name}': sequences[${i}] has ${s.ids.length} tokens, more than the model's context of ${cfg.nCtx}`,
      );
    }
    s.ids.forEach((id, j) => {
      if (id >= cfg.vocabSize) {
        throw new StoreError(
          'invalid',
          `probe set '${probe.name}': sequences[${i}].ids[${j}] = ${id} is outside the model's vocabulary (${cfg.vocabSize})`,
        );
      }
    });
  });
}

/**
 * Records the activations of `taps` of a checkpoint over a probe set into the store, with per-neuron
 * statistics, top examples, quantile samples and concept means (see the module comment). Resumable and
 * idempotent; cancelled through `signal` between batches (the result then says `cancelled`).
 */
export async function recordActivations(store: Store, opts: RecordOptions): Promise<RecordResult> {
  const t0 = performance.now();
  if (!activeBackend()) await initBackend('auto');
  const dtype = opts.dtype ?? 'float16';
  if (dtype !== 'float16' && dtype !== 'float32')
    throw new StoreError('invalid', `record: dtype must be float16 or float32, got ${JSON.stringify(dtype)}`);
  const ck = loadCheckpoint(opts.checkpointDir);
  const cfg = ck.config;
  const taps = [...new Set(opts.taps.flatMap((p) => expandTaps(cfg, p)))];
  if (taps.length === 0) throw new StoreError('invalid', 'record: no taps given');
  checkProbeFitsModel(opts.probe, cfg);

  store.checkpoints.register({
    name: opts.checkpointName,
    dir: opts.checkpointDir,
    hash: ck.hash,
    stage: ck.meta.stage,
    runId: ck.meta.runId,
    parent: ck.meta.parent,
    config: cfg,
  });
  const probeId = store.probes.put(opts.probe);
  const probe = store.probes.rows(probeId);
  const settings: RecordingSettings = {
    topK: opts.topK ?? 20,
    context: opts.context ?? 5,
    activeThreshold: opts.activeThreshold ?? 0,
    histogramBins: opts.histogramBins ?? 50,
    quantileGroups: opts.quantileGroups ?? 10,
    quantileSamplesPerGroup: opts.quantileSamplesPerGroup ?? 5,
    reservoirSize: opts.reservoirSize ?? 200,
    excludeSpecial: !opts.includeSpecial,
    specialIds: [...ck.tokenizer.specialIds].sort((a, b) => a - b),
    tokenizer: ck.tokenizer.kind,
  };
  for (const k of ['topK', 'context', 'reservoirSize'] as const) {
    if (!Number.isInteger(settings[k]) || settings[k] < 0)
      throw new StoreError('invalid', `record: ${k} must be an integer >= 0, got ${settings[k]}`);
  }
  for (const k of ['histogramBins', 'quantileGroups', 'quantileSamplesPerGroup'] as const) {
    if (!Number.isInteger(settings[k]) || settings[k] < 1)
      throw new StoreError('invalid', `record: ${k} must be a positive integer, got ${settings[k]}`);
  }

  // Which taps need work, and with which batch size (a resumed recording keeps its own).
  const recordings: RecordingInfo[] = [];
  const skipped: string[] = [];
  const pending: string[] = [];
  let batchSize: number | undefined;
  let batchSizeFrom = '';
  for (const tap of taps) {
    const old = store.activations.find({ checkpoint: opts.checkpointName, tap, probeHash: opts.probe.hash });
    if (old?.status === 'complete') {
      skipped.push(tap);
      continue;
    }
    if (old) {
      if (old.dtype !== dtype) {
        throw new StoreError(
          'invalid',
          `${opts.checkpointName} ${tap}: an unfinished ${old.dtype} recording exists; resume it with dtype ${old.dtype} or delete it first`,
        );
      }
      if (batchSize !== undefined && batchSize !== old.batchSize) {
        throw new StoreError(
          'invalid',
          `${opts.checkpointName}: unfinished recordings of ${batchSizeFrom} and ${tap} use batch sizes ${batchSize} and ${old.batchSize}; record these taps separately`,
        );
      }
      batchSize = old.batchSize;
      batchSizeFrom = tap;
    }
    pending.push(tap);
  }
  batchSize ??= opts.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new StoreError('invalid', `record: batchSize must be a positive integer, got ${batchSize}`);

  const backend = activeBackend();
  const work: TapWork[] = pending.map((tap) => {
    const rec = store.activations.begin({
      checkpoint: opts.checkpointName,
      checkpointHash: ck.hash,
      probeId,
      tap,
      dtype,
      nNeurons: tapWidth(cfg, tap),
      batchSize: batchSize!,
      settings,
      backend: backend ?? undefined,
    });
    return { tap, rec, acc: accumulatorFor(rec, probe), done: rec.batchesDone };
  });

  // Replay what earlier runs committed.
  let batchesReplayed = 0;
  for (const w of work) {
    for (const t of store.activations.tiles(w.rec.id, w.done)) w.acc.addTile(t.neuron, t.rowStart, t.values);
    batchesReplayed += w.done;
  }

  // Record the remaining batches.
  const nSeq = probe.seqStart.length - 1;
  const nBatches = Math.ceil(nSeq / batchSize);
  const maxLen = Math.max(
    ...Array.from({ length: nSeq }, (_, s) => probe.seqStart[s + 1] - probe.seqStart[s]),
  );
  const start = work.length ? Math.min(...work.map((w) => w.done)) : nBatches;
  let cancelled = false;
  let batchesComputed = 0;
  let rowsComputed = 0;
  const tLive = performance.now();
  if (start < nBatches) {
    const params = paramsFromArrays(cfg, ck.arrays, false);
    try {
      for (let b = start; b < nBatches; b++) {
        if (opts.signal?.aborted) {
          cancelled = true;
          break;
        }
        const live = work.filter((w) => w.done === b);
        const s0 = b * batchSize;
        const s1 = Math.min(nSeq, s0 + batchSize);
        const rowStart = probe.seqStart[s0];
        const rows = probe.seqStart[s1] - rowStart;
        const outs = await forwardBatch(
          cfg,
          params,
          probe,
          s0,
          s1,
          maxLen,
          ck.tokenizer.padId,
          live.map((w) => w.tap),
        );
        const payloads = outs.map((x) => {
          if (dtype === 'float32') return x;
          const bits = float32ToFloat16Bits(x);
          float16BitsToFloat32(bits, x); // the statistics see exactly the stored values
          return bits;
        });
        try {
          store.write(() => live.forEach((w, i) => store.activations.putBatch(w.rec.id, b, payloads[i])));
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          const err = new StoreError(
            e instanceof StoreError ? e.code : 'invalid',
            `recording ${opts.checkpointName} over '${opts.probe.name}': batch ${b + 1} of ${nBatches} was not stored: ${msg}`,
          );
          throw err;
        }
        live.forEach((w, i) => {
          const x = outs[i];
          for (let n = 0; n < w.rec.cols; n++)
            w.acc.addTile(n, rowStart, x.subarray(n * rows, (n + 1) * rows));
          w.done = b + 1;
        });
        batchesComputed++;
        rowsComputed += rows;
        const seconds = (performance.now() - tLive) / 1000;
        opts.onProgress?.({
          done: probe.seqStart[s1],
          total: probe.ids.length,
          tokensPerS: rowsComputed / Math.max(seconds, 1e-9),
          batch: b + 1,
          nBatches,
        });
      }
    } finally {
      disposeParams(params);
    }
  }

  if (!cancelled) {
    for (const w of work) {
      for (const t of store.activations.tiles(w.rec.id)) w.acc.addHistogramTile(t.neuron, t.values);
      store.activations.complete(w.rec.id, w.acc.result());
    }
  }
  for (const tap of taps)
    recordings.push(
      store.activations.find({ checkpoint: opts.checkpointName, tap, probeHash: opts.probe.hash })!,
    );
  return {
    recordings,
    cancelled,
    skipped,
    batchesComputed,
    batchesReplayed,
    rowsComputed,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** A statistics accumulator for a recording, with its settings' special-token rule. */
export function accumulatorFor(rec: RecordingInfo, probe: ProbeRows): TapStatsAccumulator {
  const special = new Set(rec.settings.excludeSpecial ? rec.settings.specialIds : []);
  const eligible = new Uint8Array(probe.ids.length);
  for (let r = 0; r < eligible.length; r++) eligible[r] = special.has(probe.ids[r]) ? 0 : 1;
  return new TapStatsAccumulator({
    nNeurons: rec.cols,
    nRows: rec.rows,
    settings: rec.settings,
    eligible,
    concept: probe.concept,
    nConcepts: probe.concepts.length,
  });
}

/**
 * The forward pass over sequences [s0, s1), right-padded to `maxLen` (a fixed shape keeps the tensor count
 * flat), returning for each tap its activations neuron-major [neurons, real rows] with the pads dropped.
 */
async function forwardBatch(
  cfg: GPTConfig,
  params: Params,
  probe: ProbeRows,
  s0: number,
  s1: number,
  maxLen: number,
  padId: number,
  taps: string[],
): Promise<Float32Array[]> {
  if (taps.length === 0) return [];
  const B = s1 - s0;
  const ids = new Int32Array(B * maxLen).fill(padId);
  const real: number[] = [];
  for (let s = s0; s < s1; s++) {
    const a = probe.seqStart[s];
    const len = probe.seqStart[s + 1] - a;
    ids.set(probe.ids.subarray(a, a + len), (s - s0) * maxLen);
    for (let t = 0; t < len; t++) real.push((s - s0) * maxLen + t);
  }
  const outs = tf.tidy(() => {
    const x = tf.tensor2d(ids, [B, maxLen], 'int32');
    const got = forward(cfg, params, x, { taps, hiddenOnly: true }).taps;
    const keep = real.length === B * maxLen ? null : tf.tensor1d(Int32Array.from(real), 'int32');
    return taps.map((t) => {
      const a = got.get(t)!;
      let m: tf.Tensor2D = tf.reshape(a, [B * maxLen, a.shape[2]]);
      if (keep) m = tf.gather(m, keep);
      return tf.transpose(m);
    });
  });
  try {
    return (await Promise.all(outs.map((o) => o.data()))) as Float32Array[];
  } finally {
    tf.dispose(outs);
  }
}
