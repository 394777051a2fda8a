/**
 * The storage half of a recording. It takes each batch's activations as the forward pass leaves them
 * (row-major, right-padded), drops the pads and transposes them to neuron-major tiles, rounds them to
 * float16 (unless float32), commits every tap's batch in one transaction, and feeds exactly the stored
 * values to each tap's statistics. At the end, the statistics in one transaction per tap. It runs in a worker thread (`writer-worker.ts`), so that storing batch b
 * overlaps the forward pass of batch b + 1, or inline in the caller's thread.
 *
 * On construction it replays the batches that earlier, interrupted runs committed into the statistics, so
 * a resumed recording ends exactly like an uninterrupted one.
 */
import type { RecordingInfo } from '../store/activations.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../store/float16.js';
import type { ProbeRows } from '../store/probes.js';
import { StoreError, type Store } from '../store/store.js';
import { TapStatsAccumulator } from './stats.js';

export interface WriterInit {
  /** The recordings written together (same checkpoint, probe set and batch size). */
  recordingIds: number[];
  /** Length every sequence of a batch is padded to. */
  maxLen: number;
}

/** One tap's activations for one batch: row-major [sequences x maxLen, neurons], pads included. */
export interface TapBatch {
  recordingId: number;
  data: Float32Array;
}

interface TapWork {
  rec: RecordingInfo;
  acc: TapStatsAccumulator;
  /** Batches committed so far. */
  done: number;
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
 * Rows `srcRows` of a row-major [*, cols] matrix, transposed to neuron-major [cols, srcRows.length].
 * Blocks of 32 rows keep the strided reads in cache.
 */
export function neuronMajor(x: Float32Array, cols: number, srcRows: Int32Array): Float32Array {
  const n = srcRows.length;
  const out = new Float32Array(cols * n);
  for (let r0 = 0; r0 < n; r0 += 32) {
    const r1 = Math.min(n, r0 + 32);
    for (let c = 0; c < cols; c++) {
      const o = c * n;
      for (let r = r0; r < r1; r++) out[o + r] = x[srcRows[r] * cols + c];
    }
  }
  return out;
}

/** Stores the batches of one or more recordings and keeps their statistics (see the module comment). */
export class RecordingWriter {
  private readonly work: TapWork[];
  private readonly probe: ProbeRows;
  private readonly batchSize: number;
  /** Batches replayed from the store into the statistics at construction. */
  readonly replayed: number;

  constructor(
    private readonly store: Store,
    private readonly init: WriterInit,
  ) {
    const recs = init.recordingIds.map((id) => {
      const rec = store.activations.get(id);
      if (!rec) throw new StoreError('invalid', `${store.file}: no recording ${id}`);
      return rec;
    });
    if (recs.length === 0) throw new StoreError('invalid', 'recording writer: no recordings');
    const first = recs[0];
    for (const r of recs) {
      if (
        r.probeId !== first.probeId ||
        r.batchSize !== first.batchSize ||
        r.checkpoint !== first.checkpoint
      ) {
        throw new StoreError(
          'invalid',
          `recordings ${first.id} and ${r.id} differ in checkpoint, probe set or batch size`,
        );
      }
    }
    this.probe = store.probes.rows(first.probeId);
    this.batchSize = first.batchSize;
    this.work = recs.map((rec) => ({ rec, acc: accumulatorFor(rec, this.probe), done: rec.batchesDone }));
    let replayed = 0;
    for (const w of this.work) {
      for (const t of store.activations.tiles(w.rec.id, w.done))
        w.acc.addTile(t.neuron, t.rowStart, t.values);
      replayed += w.done;
    }
    this.replayed = replayed;
  }

  /** Batches committed so far, per recording id. */
  progress(): Record<number, number> {
    return Object.fromEntries(this.work.map((w) => [w.rec.id, w.done]));
  }

  /**
   * Stores batch `batch` of the given taps (each must be at exactly that batch) in one transaction, then
   * adds it to their statistics. Returns the number of rows (tokens) in the batch.
   */
  commit(batch: number, taps: TapBatch[]): number {
    const nSeq = this.probe.seqStart.length - 1;
    const nBatches = Math.ceil(nSeq / this.batchSize);
    const s0 = batch * this.batchSize;
    const s1 = Math.min(nSeq, s0 + this.batchSize);
    const rowStart = this.probe.seqStart[s0];
    const rows = this.probe.seqStart[s1] - rowStart;
    // Where each real row sits in the padded batch.
    const src = new Int32Array(rows);
    for (let s = s0, r = 0; s < s1; s++) {
      const len = this.probe.seqStart[s + 1] - this.probe.seqStart[s];
      for (let t = 0; t < len; t++) src[r++] = (s - s0) * this.init.maxLen + t;
    }
    const prepared = taps.map((t) => {
      const w = this.work.find((x) => x.rec.id === t.recordingId);
      if (!w) throw new StoreError('invalid', `recording writer: recording ${t.recordingId} was not opened`);
      if (w.done !== batch)
        throw new StoreError(
          'invalid',
          `recording ${w.rec.id}: batch ${batch} arrived but batch ${w.done} is next`,
        );
      if (t.data.length !== (s1 - s0) * this.init.maxLen * w.rec.cols) {
        throw new StoreError(
          'invalid',
          `recording ${w.rec.id}: batch ${batch} has ${t.data.length} values, expected ${(s1 - s0) * this.init.maxLen} x ${w.rec.cols}`,
        );
      }
      const x = neuronMajor(t.data, w.rec.cols, src);
      if (w.rec.dtype === 'float32') return { w, x, payload: x };
      const bits = float32ToFloat16Bits(x);
      float16BitsToFloat32(bits, x); // the statistics see exactly the stored values
      return { w, x, payload: bits };
    });
    try {
      this.store.write(() =>
        prepared.forEach((p) => this.store.activations.putBatch(p.w.rec.id, batch, p.payload)),
      );
    } catch (e) {
      const code = e instanceof StoreError ? e.code : 'invalid';
      const rec = this.work[0].rec;
      throw new StoreError(
        code,
        `recording ${rec.checkpoint}: batch ${batch + 1} of ${nBatches} was not stored: ${(e as Error).message}`,
      );
    }
    for (const p of prepared) {
      for (let n = 0; n < p.w.rec.cols; n++)
        p.w.acc.addTile(n, rowStart, p.x.subarray(n * rows, (n + 1) * rows));
      p.w.done = batch + 1;
    }
    return rows;
  }

  /** Writes each recording's statistics and examples, one transaction per recording. */
  finish(): void {
    for (const w of this.work) {
      if (w.done !== w.rec.nBatches) {
        throw new StoreError(
          'incomplete',
          `recording ${w.rec.id}: ${w.done} of ${w.rec.nBatches} batches stored, cannot finish`,
        );
      }
      this.store.activations.complete(w.rec.id, w.acc.result());
    }
  }
}
