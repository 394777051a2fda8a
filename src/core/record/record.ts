/**
 * Recording: runs a checkpoint over a probe set in batches and streams the activations of the chosen taps
 * into the store, computing the per-neuron statistics in the same pass.
 *
 *   main thread                                   writer (worker thread, see writer.ts)
 *   for each batch b (sequences [b S, (b+1) S),
 *   right-padded to the longest probe sequence):
 *     forward(ids, taps) in tf.tidy  -- batch b -->  drop pads, transpose to neuron-major tiles,
 *     forward(batch b + 1) ...                        round to float16, ONE transaction for every tap,
 *                                  <-- committed --   feed the stored values to the statistics
 *   finish                         ------------->   statistics and examples, one transaction per tap
 *
 * At most two batches wait for the writer, so memory stays bounded. Resuming: a recording remembers how
 * many batches it committed. Run again, the writer replays the committed batches from the store into the
 * statistics (no forward pass) and recording goes on from the next batch, so nothing is stored twice and
 * the result equals an uninterrupted recording exactly. A complete recording is skipped.
 */
import * as tf from '@tensorflow/tfjs-core';
import { activeBackend, initBackend } from '../backend/index.js';
import type { ProbeSet } from '../data/types.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { disposeParams, expandTaps, forward, paramsFromArrays, tapWidth } from '../model/models.js';
import type { ModelConfig, Params } from '../model/architecture.js';
import type { Worker } from 'node:worker_threads';
import { startWorkerScript } from '../worker-script.js';
import type { ActivationDtype, RecordingInfo, RecordingSettings } from '../store/activations.js';
import type { ProbeRows } from '../store/probes.js';
import { StoreError, type Store, type StoreErrorCode } from '../store/store.js';
import type { WriterReply, WriterRequest } from './writer-worker.js';
import { RecordingWriter, type TapBatch, type WriterInit } from './writer.js';

export { accumulatorFor } from './writer.js';

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
  /**
   * Bytes of tensors one forward pass may hold (default {@link FORWARD_BYTES}). TF.js keeps every
   * intermediate of a `tidy` until it ends, about 330 MB per 128-token sequence at Pythia-160m's size, and
   * the wasm heap holds at most 4 GiB; so a batch runs in chunks of as many sequences as fit, learnt from
   * the bytes per sequence of the first chunk (one sequence). Storage and statistics still go by batch.
   */
  forwardBytes?: number;
  /** Store batches in a worker thread, overlapping the next forward pass (default), or inline. */
  writer?: 'thread' | 'inline';
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
  /** Where the time went: forward passes, waiting for the writer, and writing the statistics. */
  timing: { forwardSeconds: number; writerWaitSeconds: number; finishSeconds: number };
  /** The most sequences one forward pass ran at once (a batch runs in chunks, see `forwardBytes`). */
  sequencesPerForward: number;
}

/** The default budget of one forward pass's tensors, see {@link RecordOptions.forwardBytes}. */
export const FORWARD_BYTES = 1 << 30;

interface TapWork {
  tap: string;
  rec: RecordingInfo;
  /** Batches committed. */
  done: number;
}

/** Checks that a probe set fits a model: ids inside the vocabulary, sequences no longer than the context. */
export function checkProbeFitsModel(probe: ProbeSet, cfg: ModelConfig): void {
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
    // A folder without provenance keeps the parent it was registered with (an adapter's base).
    parent: ck.meta.parent ?? store.checkpoints.get(opts.checkpointName)?.parent ?? undefined,
    config: cfg,
    arch: cfg.arch,
    params: ck.params,
    dtype: ck.dtype,
    bytes: ck.bytes,
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
    return { tap, rec, done: rec.batchesDone };
  });

  const nSeq = probe.seqStart.length - 1;
  const nBatches = Math.ceil(nSeq / batchSize);
  let maxLen = 0;
  for (let s = 0; s < nSeq; s++) maxLen = Math.max(maxLen, probe.seqStart[s + 1] - probe.seqStart[s]);
  let cancelled = false;
  let batchesComputed = 0;
  let rowsComputed = 0;
  let batchesReplayed = 0;
  const timing = { forwardSeconds: 0, writerWaitSeconds: 0, finishSeconds: 0 };
  const since = (t: number): number => (performance.now() - t) / 1000;
  const sizing: ForwardSizing = { budget: FORWARD_BYTES, bytesPerSequence: 0, largestChunk: 0 };
  if (work.length > 0) {
    const init: WriterInit = { recordingIds: work.map((w) => w.rec.id), maxLen };
    const sink = opts.writer === 'inline' ? inlineSink(store, init) : threadSink(store, init);
    const params = paramsFromArrays(cfg, ck.arrays, false);
    sizing.budget = opts.forwardBytes ?? FORWARD_BYTES;
    // The backend holds the weights now: the host arrays go (on cpu they are the backend's own, and stay).
    ck.arrays.clear();
    try {
      let failure: unknown = null;
      // The writer starts (and replays committed batches) while the first forward pass runs.
      const started = sink.start().then(
        (n) => void (batchesReplayed = n),
        (e) => void (failure ??= e),
      );
      const tLive = performance.now();
      const inFlight: Promise<void>[] = [started];
      for (let b = Math.min(...work.map((w) => w.done)); b < nBatches && !failure; b++) {
        if (opts.signal?.aborted) {
          cancelled = true;
          break;
        }
        const live = work.filter((w) => w.done === b);
        const s0 = b * batchSize;
        const s1 = Math.min(nSeq, s0 + batchSize);
        const tForward = performance.now();
        const names = live.map((w) => w.tap);
        const outs = await forwardBatch(
          cfg,
          params,
          probe,
          s0,
          s1,
          maxLen,
          ck.tokenizer.padId,
          names,
          sizing,
        );
        timing.forwardSeconds += since(tForward);
        const taps: TapBatch[] = live.map((w, i) => ({ recordingId: w.rec.id, data: outs[i] }));
        live.forEach((w) => (w.done = b + 1));
        const committed = sink.commit(b, taps).then(
          (rows) => {
            batchesComputed++;
            rowsComputed += rows;
            const seconds = (performance.now() - tLive) / 1000;
            const done = probe.seqStart[s1];
            opts.onProgress?.({
              done,
              total: probe.ids.length,
              tokensPerS: rowsComputed / Math.max(seconds, 1e-9),
              batch: b + 1,
              nBatches,
            });
          },
          (e) => void (failure ??= e),
        );
        inFlight.push(committed);
        const tWait = performance.now();
        if (inFlight.length >= 2) await inFlight.shift();
        timing.writerWaitSeconds += since(tWait);
      }
      const tWait = performance.now();
      await Promise.all(inFlight);
      timing.writerWaitSeconds += since(tWait);
      if (failure) throw failure;
      const tFinish = performance.now();
      if (!cancelled) await sink.finish();
      timing.finishSeconds = since(tFinish);
    } finally {
      disposeParams(params);
      await sink.close();
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
    seconds: since(t0),
    timing,
    sequencesPerForward: sizing.largestChunk,
  };
}

/** Where the batches go: a {@link RecordingWriter} in a worker thread, or in this thread. */
interface Sink {
  /** Opens the writer; resolves with the number of batches it replayed from the store. */
  start(): Promise<number>;
  /** Stores one batch; resolves with its row count once committed. */
  commit(batch: number, taps: TapBatch[]): Promise<number>;
  /** Writes the statistics. */
  finish(): Promise<void>;
  close(): Promise<void>;
}

function inlineSink(store: Store, init: WriterInit): Sink {
  let writer: RecordingWriter | null = null;
  return {
    start: async () => (writer = new RecordingWriter(store, init)).replayed,
    commit: async (batch, taps) => writer!.commit(batch, taps),
    finish: async () => writer!.finish(),
    close: async () => undefined,
  };
}

/** Starts the writer worker thread (see {@link startWorkerScript}). */
function startWriterWorker(): Worker {
  return startWorkerScript(import.meta.url, 'writer-worker');
}

/** A writer request before it gets its id. */
type WriterCall<T = WriterRequest> = T extends unknown ? Omit<T, 'id'> : never;

function threadSink(store: Store, init: WriterInit): Sink {
  const worker = startWriterWorker();
  const waiting = new Map<
    number,
    { resolve: (r: WriterReply & { ok: true }) => void; reject: (e: unknown) => void }
  >();
  let nextId = 0;
  let dead: unknown = null;
  worker.on('message', (r: WriterReply) => {
    const w = waiting.get(r.id);
    waiting.delete(r.id);
    if (r.ok) w?.resolve(r);
    else w?.reject(new StoreError((r.code as StoreErrorCode) ?? 'invalid', r.message));
  });
  const fail = (e: unknown): void => {
    dead ??= e;
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the recording writer thread exited (code ${code})`)));
  const call = (msg: WriterCall, transfer: ArrayBuffer[] = []) =>
    new Promise<WriterReply & { ok: true }>((resolve, reject) => {
      if (dead) return reject(dead);
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ ...msg, id }, transfer);
    });
  return {
    start: async () =>
      (await call({ type: 'start', file: store.file, options: store.options, init })).replayed ?? 0,
    commit: async (batch, taps) => {
      // Hand the buffers over without copying (each is a whole ArrayBuffer from tensor.data()).
      const own = taps.map((t) => ({
        ...t,
        data:
          t.data.byteOffset === 0 && t.data.byteLength === t.data.buffer.byteLength ? t.data : t.data.slice(),
      }));
      return (
        (
          await call(
            { type: 'batch', batch, taps: own },
            own.map((t) => t.data.buffer as ArrayBuffer),
          )
        ).rows ?? 0
      );
    },
    finish: async () => void (await call({ type: 'finish' })),
    close: async () => {
      if (!dead) await call({ type: 'close' }).catch(() => undefined);
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}

/**
 * What chunks a batch's forward pass runs in: the budget, the bytes per sequence once measured, and the
 * largest chunk run so far.
 */
interface ForwardSizing {
  budget: number;
  bytesPerSequence: number;
  largestChunk: number;
}

/**
 * The forward pass over sequences [s0, s1), right-padded to `maxLen` (a fixed shape keeps the tensor count
 * flat), returning each tap's activations row-major [(s1 - s0) * maxLen, neurons], pads included. It runs
 * in chunks of sequences whose tensors fit `sizing.budget` (one sequence until the bytes per sequence are
 * known, see {@link RecordOptions.forwardBytes}), each in its own `tidy`.
 */
async function forwardBatch(
  cfg: ModelConfig,
  params: Params,
  probe: ProbeRows,
  s0: number,
  s1: number,
  maxLen: number,
  padId: number,
  taps: string[],
  sizing: ForwardSizing,
): Promise<Float32Array[]> {
  const widths = taps.map((t) => tapWidth(cfg, t));
  const outs = widths.map((w) => new Float32Array((s1 - s0) * maxLen * w));
  for (let a = s0; a < s1;) {
    const per = sizing.bytesPerSequence;
    const b = Math.min(s1, a + (per > 0 ? Math.max(1, Math.floor(sizing.budget / per)) : 1));
    sizing.largestChunk = Math.max(sizing.largestChunk, b - a);
    const ids = new Int32Array((b - a) * maxLen).fill(padId);
    for (let s = a; s < b; s++)
      ids.set(probe.ids.subarray(probe.seqStart[s], probe.seqStart[s + 1]), (s - a) * maxLen);
    const before = tf.memory().numBytes;
    const chunk = tf.tidy(() => {
      const input = tf.tensor2d(ids, [b - a, maxLen], 'int32');
      const got = forward(cfg, params, input, { taps, hiddenOnly: true }).taps;
      sizing.bytesPerSequence = Math.max(per, (tf.memory().numBytes - before) / (b - a));
      return taps.map((t) => got.get(t)!);
    });
    try {
      const data = await Promise.all(chunk.map((o) => o.data()));
      data.forEach((d, i) => outs[i].set(d as Float32Array, (a - s0) * maxLen * widths[i]));
    } finally {
      tf.dispose(chunk);
    }
    a = b;
  }
  return outs;
}
