import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../../src/core/store/store.js';
import { analysisKey } from '../../../src/core/store/analyses.js';
import { makeProbe } from '../record/fixtures.js';
import { pandasPython, numpyPython, runPython } from './python.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-repos-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let store: Store;
let n = 0;
beforeEach(() => {
  store?.close();
  store = openStore(join(root, `r${n++}.db`));
});

describe('runs', () => {
  it('creates runs, logs metrics idempotently per (run, step, name), and keeps NaN', () => {
    const id = store.runs.create({
      stage: 'dpo',
      task: 'helpful',
      config: { beta: 0.1 },
      backend: { backend: 'wasm' },
      seed: 7,
      parentCheckpoint: 'sft',
    });
    expect(id).toMatch(/^dpo-\d{8}-\d{6}-[0-9a-f]{8}$/);
    store.runs.appendMetrics(id, 0, { loss: 0.69, 'rewards/margins': 0 });
    store.runs.appendMetrics(id, 1, { loss: 0.5, 'rewards/margins': 0.2 });
    store.runs.appendMetrics(id, 1, { loss: 0.4 }); // re-logged after a resume: replaces
    store.runs.appendMetrics(id, 2, { loss: NaN });
    expect(store.runs.metrics(id)).toEqual([
      { step: 0, name: 'loss', value: 0.69 },
      { step: 0, name: 'rewards/margins', value: 0 },
      { step: 1, name: 'loss', value: 0.4 },
      { step: 1, name: 'rewards/margins', value: 0.2 },
      { step: 2, name: 'loss', value: NaN },
    ]);
    expect(store.runs.series(id, ['rewards/margins'])).toEqual({
      'rewards/margins': { steps: [0, 1], values: [0, 0.2] },
    });
    const run = store.runs.get(id)!;
    expect(run).toMatchObject({
      stage: 'dpo',
      task: 'helpful',
      config: { beta: 0.1 },
      seed: 7,
      parentCheckpoint: 'sft',
      status: 'running',
    });
    store.runs.setStatus(id, 'failed', 'loss diverged');
    expect(store.runs.get(id)).toMatchObject({ status: 'failed', message: 'loss diverged' });
    expect(store.runs.list().map((r) => r.id)).toEqual([id]);
    expect(store.runs.remove(id)).toBe(true);
    expect(store.runs.get(id)).toBeUndefined();
  });

  it('names the field at fault on bad input', () => {
    expect(() => store.runs.create({ stage: 'DPO!', config: {}, backend: {}, seed: 0 })).toThrow(
      /field 'stage'/,
    );
    expect(() => store.runs.create({ stage: 'dpo', config: {}, backend: {}, seed: 0.5 })).toThrow(
      /field 'seed'/,
    );
    const id = store.runs.create({ id: 'r1', stage: 'dpo', config: {}, backend: {}, seed: 0 });
    expect(() => store.runs.create({ id, stage: 'dpo', config: {}, backend: {}, seed: 0 })).toThrow(
      /'r1' already exists/,
    );
    expect(() => store.runs.appendMetrics(id, -1, { loss: 1 })).toThrow(/step must be an integer/);
    expect(() => store.runs.appendMetrics(id, 0, { loss: 'x' as unknown as number })).toThrow(
      /'loss' must be a number/,
    );
    expect(() => store.runs.appendMetrics('nope', 0, { loss: 1 })).toThrow(/no run 'nope'/);
    expect(() => store.runs.setStatus(id, 'done' as 'completed')).toThrow(/unknown status/);
  });

  it('exports metrics to a CSV with one row per step', () => {
    const id = store.runs.create({ id: 'r', stage: 'dpo', config: {}, backend: {}, seed: 0 });
    store.runs.appendMetrics(id, 0, { loss: 0.693, 'rewards/chosen': -0.25 });
    store.runs.appendMetrics(id, 10, { loss: 0.1 });
    store.runs.appendMetrics(id, 20, { loss: Infinity, 'rewards/chosen': NaN });
    const file = join(root, 'out', 'metrics.csv');
    store.runs.exportMetricsCsv(id, file);
    expect(readFileSync(file, 'utf8')).toBe('step,loss,rewards/chosen\n0,0.693,-0.25\n10,0.1,\n20,inf,nan\n');
    if (pandasPython) {
      const out = runPython(
        pandasPython,
        'import pandas, sys; d = pandas.read_csv(sys.argv[1]); print(list(d.columns), d["loss"].tolist(), d["rewards/chosen"].isna().tolist())',
        [file],
      );
      expect(out.trim()).toBe("['step', 'loss', 'rewards/chosen'] [0.693, 0.1, inf] [False, True, True]");
    } else if (numpyPython) {
      const out = runPython(
        numpyPython,
        'import numpy, sys; d = numpy.genfromtxt(sys.argv[1], delimiter=",", names=True); print(d["loss"].tolist())',
        [file],
      );
      expect(out.trim()).toBe('[0.693, 0.1, inf]');
    }
  });
});

describe('checkpoints', () => {
  it('registers idempotently, and a new hash under a name drops the old recordings', () => {
    const c = {
      name: 'dpo-1',
      dir: '/p/checkpoints/dpo-1',
      hash: 'a'.repeat(64),
      stage: 'dpo',
      runId: 'r',
      parent: 'sft',
      config: { nLayer: 2 },
    };
    expect(store.checkpoints.register(c)).toEqual({ status: 'created', droppedRecordings: 0 });
    expect(store.checkpoints.register(c)).toEqual({ status: 'unchanged', droppedRecordings: 0 });
    const probeId = store.probes.put(makeProbe(1, 3, 4, 6));
    const settings = {
      topK: 1,
      context: 1,
      activeThreshold: 0,
      histogramBins: 2,
      quantileGroups: 1,
      quantileSamplesPerGroup: 1,
      reservoirSize: 1,
      excludeSpecial: true,
      specialIds: [0],
    };
    store.activations.begin({
      checkpoint: 'dpo-1',
      checkpointHash: c.hash,
      probeId,
      tap: 'blocks.0.mlp.post',
      dtype: 'float16',
      nNeurons: 4,
      batchSize: 2,
      settings,
    });
    expect(store.activations.list()).toHaveLength(1);
    expect(store.checkpoints.register({ ...c, hash: 'b'.repeat(64) })).toEqual({
      status: 'updated',
      droppedRecordings: 1,
    });
    expect(store.activations.list()).toHaveLength(0);
    expect(store.checkpoints.get('dpo-1')).toMatchObject({
      hash: 'b'.repeat(64),
      stage: 'dpo',
      runId: 'r',
      parent: 'sft',
      config: { nLayer: 2 },
    });
    expect(store.checkpoints.list().map((x) => x.name)).toEqual(['dpo-1']);
    expect(() => store.checkpoints.register({ ...c, name: 'a/b' })).toThrow(/checkpoint name "a\/b"/);
    expect(() => store.checkpoints.register({ ...c, hash: '' })).toThrow(/field 'hash'/);
  });
});

describe('probes', () => {
  it('stores a probe set once by hash and reads it back exactly', () => {
    const p = makeProbe(2, 5, 3, 9);
    const id = store.probes.put(p);
    expect(store.probes.put(p)).toBe(id);
    const back = store.probes.get(p.hash)!;
    expect(back).toMatchObject({
      id,
      name: p.name,
      hash: p.hash,
      concepts: p.concepts,
      sequences: p.sequences,
    });
    expect(store.probes.get(id)!.nTokens).toBe(p.sequences.reduce((s, q) => s + q.ids.length, 0));
    const rows = store.probes.rows(id);
    expect(rows.seqStart[1]).toBe(p.sequences[0].ids.length);
    expect(rows.ids[rows.seqStart[2]]).toBe(p.sequences[2].ids[0]);
    expect(store.probes.list()).toHaveLength(1);
  });

  it('refuses malformed probe sets, naming the sequence and field', () => {
    const p = makeProbe(3, 2, 3, 4);
    expect(() => store.probes.put({ ...p, sequences: [{ ids: [1, 2], concepts: [null] }] })).toThrow(
      /sequences\[0\]\.concepts must have one label per token/,
    );
    expect(() => store.probes.put({ ...p, sequences: [{ ids: [1, -2], concepts: [null, null] }] })).toThrow(
      /sequences\[0\]\.ids\[1\] = -2/,
    );
    expect(() => store.probes.put({ ...p, sequences: [{ ids: [1], concepts: ['weather'] }] })).toThrow(
      /"weather" is not in 'concepts'/,
    );
    expect(() => store.probes.put({ ...p, sequences: [] })).toThrow(/no sequences/);
  });
});

describe('analyses and figures', () => {
  it('keys results by {kind, inputs} whatever the key order, with float32 blobs', () => {
    const inputs = { a: { hash: 'h1', tap: 'blocks.0.mlp.post' }, b: { hash: 'h2' }, nulls: 100 };
    const same = { nulls: 100, b: { hash: 'h2' }, a: { tap: 'blocks.0.mlp.post', hash: 'h1' } };
    expect(analysisKey('svcca', inputs)).toBe(analysisKey('svcca', same));
    expect(analysisKey('svcca', inputs)).not.toBe(analysisKey('rsa', inputs));
    expect(store.analyses.get('svcca', inputs)).toBeUndefined();
    const rho = Float32Array.from([0.9, 0.5, 0.25]);
    store.analyses.put('svcca', inputs, { mean: 0.55 }, { rho });
    const got = store.analyses.get('svcca', same)!;
    expect(got.result).toEqual({ mean: 0.55 });
    expect(Array.from(got.blobs.rho)).toEqual(Array.from(rho));
    expect(store.analyses.get('svcca', { ...inputs, b: { hash: 'h3' } })).toBeUndefined();
    store.analyses.put('svcca', inputs, { mean: 0.6 });
    expect(store.analyses.get('svcca', inputs)!.result).toEqual({ mean: 0.6 });
    expect(store.analyses.get('svcca', inputs)!.blobs).toEqual({});
    expect(store.analyses.list('svcca')).toHaveLength(1);
    expect(() => store.analyses.put('x', { v: NaN }, {})).toThrow(/inputs\.v: NaN/);
  });

  it('logs figure exports', () => {
    const id = store.figures.record({
      figure: 'heatmap',
      format: 'svg',
      file: '/p/exports/h.svg',
      options: { tap: 'blocks.1.mlp.post' },
    });
    expect(store.figures.list()).toEqual([
      expect.objectContaining({
        id,
        figure: 'heatmap',
        format: 'svg',
        options: { tap: 'blocks.1.mlp.post' },
      }),
    ]);
    expect(() => store.figures.record({ figure: '', format: 'svg', file: 'x', options: {} })).toThrow(
      /field 'figure'/,
    );
  });
});
