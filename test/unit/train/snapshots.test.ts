// `snapshotEvery`: a run also writes the registered checkpoint `{name}-step{N}` every N steps (the last step
// apart): the model at step N (the same weights as a run stopped there), with the run's stage and lineage,
// an adapter folder for LoRA; a resumed run keeps the snapshots it has, `restart` removes them, and a name
// taken by another checkpoint or run is refused before anything trains.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointWeightsHash, loadCheckpoint, saveCheckpoint } from '../../../src/core/model/checkpoint.js';
import { openProject, type Project } from '../../../src/core/store/project.js';
import { runSnapshots, snapshotSteps, trainOp, type TrainRequest } from '../../../src/core/ops/train.js';
import type { Reporter } from '../../../src/core/ops/progress.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-snapshots-'));
let project: Project;
const quiet: Reporter = { progress: () => {}, message: () => {} };

/** A DPO run of 5 steps on the tiny base. */
const dpo = (name: string, o: Partial<TrainRequest> = {}) =>
  ({
    name,
    stage: 'dpo',
    init: 'base',
    task: 'toxicity',
    examples: 40,
    steps: 5,
    batchSize: 4,
    evalEvery: 0,
    backend: 'cpu',
    ...o,
  }) as TrainRequest;

beforeAll(async () => {
  project = openProject(join(root, 'proj'), { create: true });
  await trainOp(
    project,
    {
      name: 'base',
      stage: 'pretrain',
      model: { nLayer: 2, nEmbd: 16, nHead: 2, nInner: 32, nCtx: 64 },
      steps: 2,
      batchSize: 4,
      examples: 40,
      evalEvery: 0,
      backend: 'cpu',
    } as TrainRequest,
    quiet,
  );
}, 120_000);
afterAll(() => {
  project?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('snapshots along a run', () => {
  it('the steps: every N, never the last', () => {
    expect(snapshotSteps(5, 2)).toEqual([2, 4]);
    expect(snapshotSteps(6, 2)).toEqual([2, 4]);
    expect(snapshotSteps(6, 6)).toEqual([]);
    expect(snapshotSteps(6, 0)).toEqual([]);
    expect(snapshotSteps(6, undefined)).toEqual([]);
  });

  it('writes {name}-step{N} at every N steps, registered with the run, loadable, the weights of step N', async () => {
    await trainOp(project, dpo('snap', { snapshotEvery: 2 }), quiet);
    expect(runSnapshots(project, 'snap')).toEqual([
      { step: 2, checkpoint: 'snap-step2' },
      { step: 4, checkpoint: 'snap-step4' },
    ]);
    expect(project.store.checkpoints.get('snap-step5')).toBeUndefined();
    for (const step of [2, 4]) {
      const rec = project.store.checkpoints.get(`snap-step${step}`)!;
      expect(rec).toMatchObject({ stage: 'dpo', runId: 'snap', parent: 'base' });
      expect(rec.hash).toBe(checkpointWeightsHash(rec.dir));
      const ck = loadCheckpoint(rec.dir);
      expect(ck.meta).toMatchObject({ stage: 'dpo', runId: 'snap', parent: 'base', step, task: 'toxicity' });
    }
    // A run of 2 steps (same seed, constant learning rate) ends with the weights of the snapshot at step 2.
    await trainOp(project, dpo('two', { steps: 2 }), quiet);
    expect(project.store.checkpoints.get('snap-step2')!.hash).toBe(
      project.store.checkpoints.get('two')!.hash,
    );
    expect(project.store.checkpoints.get('snap-step4')!.hash).not.toBe(
      project.store.checkpoints.get('snap')!.hash,
    );
  }, 120_000);

  it('a run resumed from before a snapshot keeps the snapshot it had, and writes the rest', async () => {
    // The run dies in step 3's report, after the snapshot at step 2 and before any resumable state.
    let die = true;
    const dying: Reporter = {
      ...quiet,
      progress: (p) => {
        if (die && p.done === 3) throw new Error('killed');
      },
    };
    const req = dpo('resumed', { snapshotEvery: 2, checkpointEvery: 4 });
    await expect(trainOp(project, req, dying)).rejects.toThrow('killed');
    expect(runSnapshots(project, 'resumed').map((s) => s.step)).toEqual([2]);
    const dir = project.store.checkpoints.get('resumed-step2')!.dir;
    const before = { ino: statSync(dir).ino, meta: readFileSync(join(dir, 'monoscope.json'), 'utf8') };
    die = false;
    const r = await trainOp(project, req, dying);
    expect(r.status).toBe('completed');
    expect(statSync(dir).ino).toBe(before.ino);
    expect(readFileSync(join(dir, 'monoscope.json'), 'utf8')).toBe(before.meta);
    expect(runSnapshots(project, 'resumed').map((s) => s.step)).toEqual([2, 4]);
  }, 120_000);

  it('restart removes the old snapshots (folders and registrations)', async () => {
    const old = project.store.checkpoints.get('snap-step2')!.dir;
    await trainOp(project, dpo('snap', { snapshotEvery: 3, restart: true }), quiet);
    expect(runSnapshots(project, 'snap')).toEqual([{ step: 3, checkpoint: 'snap-step3' }]);
    expect(project.store.checkpoints.get('snap-step2')).toBeUndefined();
    expect(project.store.checkpoints.get('snap-step4')).toBeUndefined();
    expect(existsSync(old)).toBe(false);
  }, 120_000);

  it('a snapshot name taken by another checkpoint or run is refused before training', async () => {
    const base = loadCheckpoint(project.store.checkpoints.get('base')!.dir);
    const dir = project.checkpointDir('clash-step2');
    const hash = saveCheckpoint(dir, base.config, base.arrays, base.tokenizer, { stage: 'base' });
    project.store.checkpoints.register({ name: 'clash-step2', dir, hash, stage: 'base', config: {} });
    await expect(trainOp(project, dpo('clash', { snapshotEvery: 2 }), quiet)).rejects.toThrow(
      /writes the checkpoint 'clash-step2', but that name is taken by a checkpoint/,
    );
    expect(project.store.runs.get('clash')).toBeUndefined();
    expect(project.store.checkpoints.get('clash-step2')!.hash).toBe(hash);
    expect(checkpointWeightsHash(dir)).toBe(hash);
    // A run's name too, one that wrote no checkpoint.
    project.store.runs.create({ id: 'y-step2', stage: 'dpo', config: {}, backend: {}, seed: 0 });
    await expect(trainOp(project, dpo('y', { snapshotEvery: 2 }), quiet)).rejects.toThrow(
      /writes the checkpoint 'y-step2', but that name is taken by a run/,
    );
    expect(project.store.runs.get('y')).toBeUndefined();
  }, 120_000);

  it('a LoRA run snapshots its adapter folder', async () => {
    await trainOp(project, dpo('adapter', { lora: true, snapshotEvery: 2 }), quiet);
    const rec = project.store.checkpoints.get('adapter-step2')!;
    expect(rec).toMatchObject({ stage: 'dpo', runId: 'adapter', parent: 'base' });
    expect(existsSync(join(rec.dir, 'adapter_config.json'))).toBe(true);
    expect(existsSync(join(rec.dir, 'model.safetensors'))).toBe(false);
    expect(loadCheckpoint(rec.dir).meta.step).toBe(2);
    expect(rec.hash).toBe(checkpointWeightsHash(rec.dir));
  }, 120_000);
});
