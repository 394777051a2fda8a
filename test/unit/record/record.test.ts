import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { f16round } from '@petamoriken/float16';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/core/backend/index.js';
import { loadCheckpoint } from '../../../src/core/model/checkpoint.js';
import { disposeParams, forward, paramsFromArrays } from '../../../src/core/model/models.js';
import { recordActivations, type RecordOptions } from '../../../src/core/record/record.js';
import { exportActivations } from '../../../src/core/store/export.js';
import { openProject, type Project } from '../../../src/core/store/project.js';
import { openStore, StoreError } from '../../../src/core/store/store.js';
import { dumpRecording } from './compare.js';
import { makeCheckpoint, makeProbe } from './fixtures.js';
import { numpyPython, pandasPython, runPython } from '../store/python.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-record-'));
let project: Project;
let ckDir: string;
const probe = makeProbe(11, 23, 4, 16); // 23 sequences: batches of 5 leave a short last batch; lengths vary, so pads are dropped
const TAPS = ['blocks.*.mlp.post', 'blocks.0.resid_post'];

beforeAll(async () => {
  await initBackend('wasm');
  project = openProject(join(root, 'proj'), { create: true });
  ckDir = project.checkpointDir('base');
  makeCheckpoint(ckDir, { seed: 3 });
});
afterAll(() => {
  project?.close();
  rmSync(root, { recursive: true, force: true });
});

const opts = (name: string, extra: Partial<RecordOptions> = {}): RecordOptions => ({
  checkpointName: name,
  checkpointDir: ckDir,
  probe,
  taps: TAPS,
  batchSize: 5,
  topK: 4,
  context: 2,
  ...extra,
});

/** Each sequence alone through the model (no batching, no padding): the reference activations. */
function reference(tap: string): Float32Array[] {
  const ck = loadCheckpoint(ckDir);
  const params = paramsFromArrays(ck.config, ck.arrays, false);
  const cols: number[][] = [];
  for (const s of probe.sequences) {
    const rows = tf.tidy(() => {
      const out = forward(ck.config, params, tf.tensor2d([s.ids], [1, s.ids.length], 'int32'), {
        taps: [tap],
        hiddenOnly: true,
      });
      return out.taps.get(tap)!.arraySync()[0];
    });
    for (const r of rows) r.forEach((v, i) => (cols[i] ??= []).push(v));
  }
  disposeParams(params);
  return cols.map((c) => Float32Array.from(c));
}

describe('recordActivations', () => {
  it('stores every tap as the forward pass computes it (float32), with consistent reads', async () => {
    const res = await recordActivations(project.store, opts('f32', { dtype: 'float32' }));
    expect(res.cancelled).toBe(false);
    expect(res.recordings.map((r) => r.tap)).toEqual([
      'blocks.0.mlp.post',
      'blocks.1.mlp.post',
      'blocks.0.resid_post',
    ]);
    expect(res.batchesComputed).toBe(5);
    expect(res.sequencesPerForward).toBe(5); // the default budget holds a whole batch of this tiny model
    const rows = probe.sequences.reduce((s, q) => s + q.ids.length, 0);
    for (const rec of res.recordings) {
      expect(rec).toMatchObject({
        status: 'complete',
        rows,
        cols: rec.tap.endsWith('resid_post') ? 16 : 32,
        nBatches: 5,
        batchesDone: 5,
      });
      const ref = reference(rec.tap);
      const m = project.store.activations.tapMatrix(rec.id);
      expect([m.rows, m.cols]).toEqual([rows, rec.cols]);
      for (const i of [0, 7, rec.cols - 1]) {
        const v = project.store.activations.neuronVector(rec.id, i);
        for (let r = 0; r < rows; r++) {
          expect(Math.abs(v[r] - ref[i][r])).toBeLessThan(1e-5);
          expect(m.data[r * rec.cols + i]).toBe(v[r]);
        }
      }
    }
    expect(
      project.store.activations.find({ checkpoint: 'f32', tap: 'blocks.1.mlp.post', probeHash: probe.hash })
        ?.id,
    ).toBe(res.recordings[1].id);
  });

  it('stores float16 by default: exactly the float32 values rounded to half precision', async () => {
    const res = await recordActivations(project.store, opts('f16'));
    const f32 = project.store.activations.find({ checkpoint: 'f32', tap: 'blocks.1.mlp.post' })!;
    const rec = res.recordings[1];
    expect(rec.dtype).toBe('float16');
    const a = project.store.activations.tapMatrix(f32.id).data;
    const b = project.store.activations.tapMatrix(rec.id).data;
    let exact = 0;
    for (let i = 0; i < a.length; i++) if (b[i] === f16round(a[i])) exact++;
    expect(exact).toBe(a.length);
  });

  it('runs a batch’s forward pass in chunks of sequences when it needs more than forwardBytes, storing the same values', async () => {
    // A budget of one byte: every sequence of each 5-sequence batch runs alone.
    const res = await recordActivations(
      project.store,
      opts('chunked', { dtype: 'float32', forwardBytes: 1 }),
    );
    expect(res.batchesComputed).toBe(5);
    expect(res.sequencesPerForward).toBe(1);
    for (const rec of res.recordings) {
      const whole = project.store.activations.find({
        checkpoint: 'f32',
        tap: rec.tap,
        probeHash: probe.hash,
      })!;
      const a = project.store.activations.tapMatrix(whole.id).data;
      const b = project.store.activations.tapMatrix(rec.id).data;
      expect(b.length).toBe(a.length);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      expect(worst, rec.tap).toBeLessThan(1e-5);
    }
  });

  it('computes each neuron’s statistics, examples and concept means from the stored vector', () => {
    const rec = project.store.activations.find({ checkpoint: 'f16', tap: 'blocks.1.mlp.post' })!;
    const rows = project.store.probes.rows(rec.probeId);
    const table = project.store.activations.tapStats(rec.id);
    const topTokens = project.store.activations.topTokens(rec.id);
    expect(topTokens).toHaveLength(rec.cols);
    for (const i of [0, 5, 31]) {
      const page = project.store.activations.neuronPage(rec.id, i);
      const v = Array.from(page.vector);
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      expect(page.stats.mean).toBeCloseTo(mean, 10);
      expect(page.stats.std).toBeCloseTo(
        Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length),
        10,
      );
      expect(page.stats.max).toBe(Math.max(...v));
      expect(page.stats.min).toBe(Math.min(...v));
      expect(page.stats.density).toBe(v.filter((x) => x > 0).length / v.length);
      expect([table.mean[i], table.max[i], table.density[i]]).toEqual([
        page.stats.mean,
        page.stats.max,
        page.stats.density,
      ]);
      expect(page.histogram.counts).toHaveLength(50);
      expect(page.histogram.counts.reduce((s, c) => s + c, 0)).toBe(v.length);
      expect([page.histogram.lo, page.histogram.hi]).toEqual([page.stats.min, page.stats.max]);
      // Top examples: the 4 largest values among non-special tokens (id 0 starts every sequence).
      const want = v
        .map((x, r) => [x, r])
        .filter(([, r]) => rows.ids[r] !== 0)
        .sort((p, q) => q[0] - p[0] || p[1] - q[1])
        .slice(0, 4);
      expect(page.topExamples.map((e) => [e.value, e.row])).toEqual(want);
      expect(topTokens[i]).toBe(rows.ids[want[0][1]]);
      for (const e of page.topExamples) {
        const seq = probe.sequences[e.sequence].ids;
        expect(seq[e.position]).toBe(rows.ids[e.row]);
        expect(e.tokens).toEqual(seq.slice(Math.max(0, e.position - 2), e.position + 3));
        expect(e.values[e.position - e.contextStart]).toBe(e.value);
      }
      for (const g of page.quantiles) {
        for (const s of g.samples) {
          expect(s.value).toBeGreaterThan(0);
          expect(s.value).toBe(v[s.row]);
          expect(s.value).toBeGreaterThanOrEqual(g.valueLo);
          expect(s.value).toBeLessThanOrEqual(g.valueHi);
          expect(rows.ids[s.row]).not.toBe(0);
        }
      }
      for (const c of page.conceptMeans) {
        const sel = v.filter((_, r) => rows.concept[r] === probe.concepts.indexOf(c.concept));
        expect(c.count).toBe(sel.length);
        expect(c.mean).toBeCloseTo(sel.reduce((s, x) => s + x, 0) / sel.length, 10);
      }
    }
    const cm = project.store.activations.conceptMeansMatrix(rec.id);
    expect(cm.data[5 * 3 + 1]).toBe(project.store.activations.conceptMeans(rec.id, 5)[1].mean);
  });

  it('skips what is already recorded: running twice stores nothing twice', async () => {
    const count = (): number =>
      project.store.db.prepare('SELECT count(*) FROM activation_tiles').pluck().get() as number;
    const before = count();
    const res = await recordActivations(project.store, opts('f16'));
    expect(res.skipped).toEqual(['blocks.0.mlp.post', 'blocks.1.mlp.post', 'blocks.0.resid_post']);
    expect(res.batchesComputed).toBe(0);
    expect(count()).toBe(before);
  });

  it('keeps the TF.js tensor count flat across batches and across recordings', async () => {
    const counts: number[] = [];
    const after: number[] = [];
    for (const name of ['leak-1', 'leak-2']) {
      const onProgress = (): number => counts.push(tf.memory().numTensors);
      await recordActivations(
        project.store,
        opts(name, { taps: ['blocks.1.mlp.post'], batchSize: 3, onProgress }),
      );
      after.push(tf.memory().numTensors);
    }
    expect(counts.length).toBe(16);
    expect(new Set(counts).size).toBe(1);
    expect(after[1]).toBe(after[0]);
  });

  it('resumes a cancelled recording and ends with exactly the data of an uninterrupted one', async () => {
    const ac = new AbortController();
    let seen = 0;
    const first = await recordActivations(
      project.store,
      opts('resumed', {
        signal: ac.signal,
        onProgress: () => {
          if (++seen === 2) ac.abort();
        },
      }),
    );
    expect(first.cancelled).toBe(true);
    // Batches already handed to the writer are still committed: 2 or 3 of 5.
    const done = first.recordings[0].batchesDone;
    expect(done).toBeGreaterThanOrEqual(2);
    expect(done).toBeLessThan(5);
    expect(first.recordings.every((r) => r.status === 'recording' && r.batchesDone === done)).toBe(true);
    expect(() => project.store.activations.neuronVector(first.recordings[0].id, 0)).toThrow(
      new RegExp(`incomplete: ${done} of 5 batches`),
    );
    const second = await recordActivations(project.store, opts('resumed'));
    expect([second.batchesReplayed, second.batchesComputed]).toEqual([3 * done, 5 - done]);
    for (let t = 0; t < TAPS.length + 1; t++) {
      const full = project.store.activations.find({ checkpoint: 'f16', tap: second.recordings[t].tap })!;
      expect(dumpRecording(project.store, second.recordings[t].id)).toEqual(
        dumpRecording(project.store, full.id),
      );
    }
  });

  it('rolls back a batch that does not fit on a full disk, with a clear error, and resumes afterwards', async () => {
    const file = join(root, 'full.db');
    const store = openStore(file);
    let err: unknown;
    try {
      // After the first batch, the store may grow by 3 more pages only (PRAGMA max_page_count): a full disk.
      const onProgress = (): void => {
        const pages = store.db.pragma('page_count', { simple: true }) as number;
        if ((store.db.pragma('max_page_count', { simple: true }) as number) > 1e6)
          store.db.pragma(`max_page_count = ${pages + 3}`);
      };
      await recordActivations(
        store,
        opts('base', { taps: ['blocks.1.mlp.post'], batchSize: 2, onProgress, writer: 'inline' }),
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('full');
    expect((err as Error).message).toMatch(
      /batch \d+ of 12 was not stored: .*full\.db: the disk .* is full; the transaction was rolled back/,
    );
    store.close();
    const again = openStore(file);
    expect(again.integrityCheck()).toEqual(['ok']);
    const rec = again.activations.find({ checkpoint: 'base', tap: 'blocks.1.mlp.post' })!;
    expect(rec.status).toBe('recording');
    expect(rec.batchesDone).toBeGreaterThan(0);
    const tiles = again.db
      .prepare('SELECT count(*) FROM activation_tiles WHERE recording_id = ?')
      .pluck()
      .get(rec.id);
    expect(tiles).toBe(rec.batchesDone * 32); // whole batches only
    const res = await recordActivations(again, opts('base', { taps: ['blocks.1.mlp.post'], batchSize: 9 })); // keeps batch size 2
    expect(res.recordings[0]).toMatchObject({ status: 'complete', batchSize: 2 });
    const reference = await recordActivations(
      again,
      opts('base-ref', { taps: ['blocks.1.mlp.post'], batchSize: 2 }),
    );
    const a = dumpRecording(again, res.recordings[0].id);
    const b = dumpRecording(again, reference.recordings[0].id);
    expect(a).toEqual(b);
    again.close();
  });

  it('reports a failure of the writer thread with the batch and the cause', async () => {
    const file = join(root, 'busy.db');
    const store = openStore(file, { busyTimeoutMs: 50 });
    const blocker = new Database(file); // another process's writer, holding the lock
    let locked = false;
    const onProgress = (): void => {
      if (locked) return;
      blocker.exec('BEGIN IMMEDIATE');
      locked = true;
    };
    const run = recordActivations(
      store,
      opts('base', { taps: ['blocks.1.mlp.post'], batchSize: 2, onProgress }),
    );
    await expect(run).rejects.toThrow(
      /batch \d+ of 12 was not stored: .*busy\.db: the store stayed locked by another writer/,
    );
    blocker.exec('ROLLBACK');
    blocker.close();
    expect(store.integrityCheck()).toEqual(['ok']);
    const rec = store.activations.find({ checkpoint: 'base', tap: 'blocks.1.mlp.post' })!;
    expect(rec.status).toBe('recording');
    store.close();
    const ro = openStore(file, { readonly: true });
    await expect(recordActivations(ro, opts('base'))).rejects.toThrow(/open read-only/);
    ro.close();
  });

  it('refuses probe sets that do not fit the model, and unknown taps', async () => {
    const long = {
      ...probe,
      hash: 'long',
      sequences: [{ ids: new Array(17).fill(3), concepts: new Array(17).fill(null) }],
    };
    await expect(recordActivations(project.store, opts('bad', { probe: long }))).rejects.toThrow(
      /sequences\[0\] has 17 tokens, more than the model's context of 16/,
    );
    const oov = { ...probe, hash: 'oov', sequences: [{ ids: [0, 99], concepts: [null, null] }] };
    await expect(recordActivations(project.store, opts('bad', { probe: oov }))).rejects.toThrow(
      /sequences\[0\]\.ids\[1\] = 99 is outside the model's vocabulary/,
    );
    await expect(
      recordActivations(project.store, opts('bad', { taps: ['blocks.9.mlp.post'] })),
    ).rejects.toThrow(/matches no tap/);
  });
});

describe('exportActivations', () => {
  it('writes npy float32 [rows, neurons] with token and concept files that numpy and JSON read', () => {
    const out = join(project.exportsDir, 'f16-l1.npy');
    const { files, rows, cols } = exportActivations(project.store, {
      checkpoint: 'f16',
      tap: 'blocks.1.mlp.post',
      format: 'npy',
      out,
    });
    expect(files).toEqual([out, `${out}.tokens.json`, `${out}.concepts.json`, `${out}.ambiguous.json`]);
    const rec = project.store.activations.find({ checkpoint: 'f16', tap: 'blocks.1.mlp.post' })!;
    const m = project.store.activations.tapMatrix(rec.id);
    const buf = readFileSync(out);
    expect(buf.subarray(0, 8).toString('latin1')).toBe('\x93NUMPY\x01\x00');
    const headerLen = buf.readUInt16LE(8);
    expect((10 + headerLen) % 64).toBe(0);
    expect(buf.subarray(10, 10 + headerLen).toString('latin1')).toBe(
      `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`.padEnd(headerLen - 1) + '\n',
    );
    expect(new Float32Array(buf.buffer.slice(buf.byteOffset + 10 + headerLen))).toEqual(m.data);
    const tokens = JSON.parse(readFileSync(files[1], 'utf8'));
    expect(tokens).toEqual(probe.sequences.map((s) => s.ids));
    const concepts = JSON.parse(readFileSync(files[2], 'utf8'));
    expect(concepts).toEqual(probe.sequences.flatMap((s) => s.concepts));
    expect(concepts).toHaveLength(rows);
    // The world's probe has no ambiguous words: one null per row.
    expect(JSON.parse(readFileSync(files[3], 'utf8'))).toEqual(concepts.map(() => null));
    if (numpyPython) {
      const py = `import numpy, json, sys
x = numpy.load(sys.argv[1])
t = json.load(open(sys.argv[1] + '.tokens.json'))
print(x.dtype, x.shape, sum(len(s) for s in t), repr(float(x[5, 7])), repr(float(x.sum(dtype=numpy.float64))))`;
      const [dtype, shape, n, x57, sum] = runPython(numpyPython, py, [out])
        .trim()
        .split(/ (?![^(]*\))/);
      expect([dtype, shape, Number(n)]).toEqual(['float32', `(${rows}, ${cols})`, rows]);
      expect(Number(x57)).toBe(m.data[5 * cols + 7]);
      expect(Number(sum)).toBeCloseTo(
        m.data.reduce((s, v) => s + v, 0),
        6,
      );
    }
  });

  it('writes CSV whose values read back to the exact float32', () => {
    const out = join(project.exportsDir, 'f32-l0.csv');
    exportActivations(project.store, { checkpoint: 'f32', tap: 'blocks.0.mlp.post', format: 'csv', out });
    const rec = project.store.activations.find({ checkpoint: 'f32', tap: 'blocks.0.mlp.post' })!;
    const m = project.store.activations.tapMatrix(rec.id);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0].split(',')).toEqual(Array.from({ length: 32 }, (_, i) => `neuron_${i}`));
    expect(lines).toHaveLength(m.rows + 1);
    const back = Float32Array.from(lines.slice(1).flatMap((l) => l.split(',').map(Number)));
    expect(back).toEqual(m.data);
    if (numpyPython) {
      const out2 = runPython(
        numpyPython,
        'import numpy, sys; x = numpy.loadtxt(sys.argv[1], delimiter=",", skiprows=1, dtype=numpy.float32); print(x.shape, repr(float(x[3, 4])))',
        [out],
      );
      expect(out2.trim()).toBe(`(${m.rows}, 32) ${m.data[3 * 32 + 4]}`);
    }
    if (pandasPython) {
      const py = `import pandas, numpy, sys
d = pandas.read_csv(sys.argv[1])
x = numpy.load(sys.argv[2])
print(d.shape, list(d.columns[:2]), bool((d.to_numpy(dtype=numpy.float32) == x).all()))`;
      const npy = join(project.exportsDir, 'f32-l0.npy');
      exportActivations(project.store, {
        checkpoint: 'f32',
        tap: 'blocks.0.mlp.post',
        format: 'npy',
        out: npy,
      });
      expect(runPython(pandasPython, py, [out, npy]).trim()).toBe(
        `(${m.rows}, 32) ['neuron_0', 'neuron_1'] True`,
      );
    }
    expect(() =>
      exportActivations(project.store, { checkpoint: 'nope', tap: 'blocks.0.mlp.post', format: 'npy', out }),
    ).toThrow(/no recording of nope blocks\.0\.mlp\.post; run `monoscope record` first/);
  });
});
