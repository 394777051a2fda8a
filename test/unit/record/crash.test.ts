import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/core/backend/index.js';
import { recordActivations } from '../../../src/core/record/record.js';
import { openProject } from '../../../src/core/store/project.js';
import { openStore } from '../../../src/core/store/store.js';
import { dumpRecording } from './compare.js';
import { makeCheckpoint, makeProbe } from './fixtures.js';
import { finished, spawnTs } from './processes.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-crash-'));
const dir = join(root, 'proj');
const probeFile = join(root, 'probe.json');
const probe = makeProbe(21, 48, 8, 24);

beforeAll(async () => {
  await initBackend('wasm');
  const p = openProject(dir, { create: true });
  makeCheckpoint(p.checkpointDir('base'), { seed: 5, nLayer: 2, nEmbd: 32, nInner: 128, nCtx: 24 });
  p.close();
  writeFileSync(probeFile, JSON.stringify(probe));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs the recording child and SIGKILLs it as soon as it reports batch `killAt`. */
async function killDuring(name: string, killAt: number): Promise<void> {
  const child = spawnTs('test/unit/record/record-child.ts', [dir, name, probeFile, '4']);
  child.stdout!.on('data', (d: Buffer) => {
    if (d.toString().includes(`batch ${killAt}\n`)) child.kill('SIGKILL');
  });
  const r = await finished(child);
  expect(r.signal, r.stderr).toBe('SIGKILL');
}

describe('kill -9 during recording', () => {
  it('leaves a consistent store, and a rerun completes with exactly the data of an uninterrupted recording', async () => {
    await killDuring('killed', 3);
    let store = openStore(join(dir, 'monoscope.db'));
    expect(store.integrityCheck()).toEqual(['ok']);
    const partial = store.activations.list({ checkpoint: 'killed' });
    expect(partial).toHaveLength(2);
    for (const rec of partial) {
      expect(rec.status).toBe('recording');
      expect(rec.batchesDone).toBeGreaterThanOrEqual(3);
      expect(rec.batchesDone).toBeLessThan(12);
      const tiles = store.db
        .prepare('SELECT count(*) FROM activation_tiles WHERE recording_id = ?')
        .pluck()
        .get(rec.id);
      expect(tiles).toBe(rec.batchesDone * rec.cols);
    }
    store.close();

    await killDuring('killed', 7); // killed again after resuming
    store = openStore(join(dir, 'monoscope.db'));
    expect(store.integrityCheck()).toEqual(['ok']);
    const resumed = await recordActivations(store, {
      checkpointName: 'killed',
      checkpointDir: join(dir, 'checkpoints', 'base'),
      probe,
      taps: ['blocks.*.mlp.post'],
    });
    expect(resumed.batchesReplayed).toBeGreaterThanOrEqual(2 * 7);
    const clean = await recordActivations(store, {
      checkpointName: 'clean',
      checkpointDir: join(dir, 'checkpoints', 'base'),
      probe,
      taps: ['blocks.*.mlp.post'],
      batchSize: 4,
    });
    for (let t = 0; t < 2; t++) {
      expect(resumed.recordings[t].status).toBe('complete');
      expect(dumpRecording(store, resumed.recordings[t].id)).toEqual(
        dumpRecording(store, clean.recordings[t].id),
      );
    }
    store.close();
  });
});

describe('concurrent writers', () => {
  it('two metric writers and a recording share one store without SQLITE_BUSY or corruption', async () => {
    const file = join(dir, 'monoscope.db');
    // The metric writers start once the recording has committed its first of 48 batches.
    const recorder = spawnTs('test/unit/record/record-child.ts', [dir, 'concurrent', probeFile, '1']);
    const recorderDone = finished(recorder);
    const writersDone = new Promise<{ code: number | null; stdout: string; stderr: string }[]>((resolve) => {
      let started = false;
      recorder.stdout!.on('data', (d: Buffer) => {
        if (started || !d.toString().includes('batch 1\n')) return;
        started = true;
        const writers = ['run-a', 'run-b'].map((id) =>
          spawnTs('test/unit/store/metrics-child.ts', [file, id, '100']),
        );
        void Promise.all(writers.map((w) => finished(w))).then(resolve);
      });
    });
    const [rec, writers] = await Promise.all([recorderDone, writersDone]);
    for (const r of [rec, ...writers]) {
      expect(r.stderr).not.toMatch(/SQLITE_BUSY|locked/);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/done\n$/);
    }
    const store = openStore(file);
    expect(store.integrityCheck()).toEqual(['ok']);
    for (const id of ['run-a', 'run-b']) {
      expect(store.runs.get(id)?.status).toBe('completed');
      expect(store.runs.metrics(id)).toHaveLength(100 * 5);
    }
    expect(store.activations.list({ checkpoint: 'concurrent' }).map((r) => r.status)).toEqual([
      'complete',
      'complete',
    ]);
    store.close();
  });
});
