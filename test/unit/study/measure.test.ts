// Measuring a study cell (study/measure.ts) on a tiny model trained on the built-in world in a temporary
// project: every per-block proxy is the stored analysis of that block (monosemanticity, correlation,
// sparsity), the unsuffixed ones are block `layer`'s, the rewards and the judge are `scoreCheckpoint`'s on
// the options `compare` stored, the trajectory is the base + each snapshot + the final step, the margins are
// the run's logged ones; a preference file's rewards are the ones training logged on its held-out split.
// The measurement is stored by content: a second call computes nothing, and new weights are measured again.
// `worldProbe` stores a shorter cut of the world's probe that a cell can be measured on.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointWeightsHash, loadCheckpoint, saveCheckpoint } from '../../../src/core/model/checkpoint.js';
import { preferenceTask } from '../../../src/core/data/tasks.js';
import { openProject, type Project } from '../../../src/core/store/project.js';
import { trainOp, type TrainRequest } from '../../../src/core/ops/train.js';
import { monosemanticityOp } from '../../../src/core/ops/monosemanticity.js';
import { correlationOp } from '../../../src/core/ops/correlation.js';
import { sparsityOp } from '../../../src/core/ops/sparsity.js';
import { findRecording } from '../../../src/core/ops/record.js';
import { scoreCheckpoint, type CheckpointScore, type ScoreOptions } from '../../../src/core/ops/score.js';
import type { Reporter } from '../../../src/core/ops/progress.js';
import {
  measureCell,
  storedCellMetrics,
  worldProbe,
  type MeasureOptions,
} from '../../../src/core/study/measure.js';
import type { StudyCell } from '../../../src/core/study/types.js';

const root = mkdtempSync(join(tmpdir(), 'monoscope-measure-'));
let project: Project;
const quiet: Reporter = { progress: () => {}, message: () => {} };
const O: MeasureOptions = { layer: 1, tapKind: 'mlp.post', probe: 'builtin', task: 'toxicity' };
const PROXIES = ['mono_share', 'mean_abs_corr', 'fd', 'fraction_active', 'hoyer', 'effective_rank'];

const cell = (checkpoint: string, family: StudyCell['family'], task = 'toxicity'): StudyCell => ({
  method: family,
  family,
  seed: 0,
  task,
  checkpoint,
  base: 'base',
});
const dpoCell = cell('dpo', 'dpo');
const baseCell = cell('base', 'base');

beforeAll(async () => {
  project = openProject(join(root, 'proj'), { create: true });
  const run = (r: Partial<TrainRequest>) =>
    trainOp(project, { evalEvery: 0, backend: 'auto', batchSize: 4, ...r } as TrainRequest, quiet);
  await run({
    name: 'base',
    stage: 'pretrain',
    model: { nLayer: 2, nEmbd: 16, nHead: 2, nInner: 32, nCtx: 64 },
    steps: 2,
    examples: 40,
  });
  await run({
    name: 'dpo',
    stage: 'dpo',
    init: 'base',
    task: 'toxicity',
    examples: 40,
    steps: 4,
    lr: 1e-2,
    evalEvery: 2,
    snapshotEvery: 2,
  });
}, 180_000);
afterAll(() => {
  project?.close();
  rmSync(root, { recursive: true, force: true });
});

/** The stored per-block analyses of a checkpoint's block, under the study's names. */
async function storedProxies(checkpoint: string, layer: number): Promise<Record<string, number>> {
  const ref = { checkpoint, tap: `blocks.${layer}.mlp.post`, probe: 'builtin' };
  const mono = await monosemanticityOp(project, ref);
  const corr = await correlationOp(project, ref);
  const sp = await sparsityOp(project, ref);
  return {
    mono_share: mono.result.shares.monosemantic,
    mean_abs_corr: corr.result.meanAbsOffDiagonal,
    fd: corr.result.featureDecorrelation,
    fraction_active: sp.result.fractionActive,
    hoyer: sp.result.hoyer,
    effective_rank: sp.result.effectiveRank,
  };
}

/** `scoreCheckpoint` run afresh on the options of the score `compare` stored for `checkpoint`. */
async function rescored(checkpoint: string): Promise<CheckpointScore> {
  const hash = checkpointWeightsHash(project.store.checkpoints.get(checkpoint)!.dir);
  const stored = project.store.analyses.list('score').find((a) => a.inputs.checkpointHash === hash)!;
  const { checkpointHash: _c, refHash: _r, ...opts } = stored.inputs;
  const dir = project.store.checkpoints.get(checkpoint)!.dir;
  const refDir = project.store.checkpoints.get('base')!.dir;
  return scoreCheckpoint(checkpoint, dir, { ...opts, refDir } as unknown as ScoreOptions);
}

describe('measureCell', () => {
  it('nothing is stored before a cell is measured', () => {
    expect(storedCellMetrics(project, dpoCell, O)).toBeUndefined();
    expect(storedCellMetrics(project, baseCell, O)).toBeUndefined();
  });

  it("a DPO cell: every block's stored proxies, the rewards and judge, the trajectory and the margins", async () => {
    const m = await measureCell(project, dpoCell, O, quiet);
    expect(m.layer).toBe(1);
    for (const layer of [0, 1]) {
      const want = await storedProxies('dpo', layer);
      for (const p of PROXIES) expect(m.values[`${p}@${layer}`], `${p}@${layer}`).toBe(want[p]);
    }
    for (const p of PROXIES) expect(m.values[p], p).toBe(m.values[`${p}@1`]);
    // Block 0 and block 1 are different numbers (the suffix is not decoration).
    expect(m.values['mean_abs_corr@0']).not.toBe(m.values['mean_abs_corr@1']);

    const s = await rescored('dpo');
    expect(m.values.reward_accuracy).toBe(s.rewardAccuracy);
    expect(m.values.reward_margin).toBe(s.rewardMargin);
    expect(s.judgeMetric).toBe('toxicity_rate');
    expect(m.values.toxicity_rate).toBe(s.judgeValue);
    expect(Object.keys(m.values).sort()).toEqual(
      [...PROXIES, ...PROXIES.flatMap((p) => [`${p}@0`, `${p}@1`])]
        .concat(['reward_accuracy', 'reward_margin', 'toxicity_rate'])
        .sort(),
    );

    expect(m.trajectory.map((p) => p.step)).toEqual([0, 2, 4]);
    const [start, snap, end] = m.trajectory;
    for (const [point, checkpoint] of [
      [start, 'base'],
      [snap, 'dpo-step2'],
      [end, 'dpo'],
    ] as const) {
      for (const layer of [0, 1]) {
        const want = await storedProxies(checkpoint, layer);
        for (const p of PROXIES)
          expect(point.values[`${p}@${layer}`], `${checkpoint} ${p}@${layer}`).toBe(want[p]);
      }
      expect(point.values.reward_accuracy).toBeUndefined();
    }
    expect(snap.values['mean_abs_corr@1']).not.toBe(end.values['mean_abs_corr@1']);

    const series = project.store.runs.series('dpo', ['rewards/margins', 'eval_rewards/margins']);
    expect(m.margins.map((x) => x.step)).toEqual([1, 2, 3, 4]);
    expect(m.margins.map((x) => x.train)).toEqual(series['rewards/margins'].values);
    expect(m.margins.filter((x) => x.eval !== undefined).map((x) => [x.step, x.eval])).toEqual(
      series['eval_rewards/margins'].steps.map((step, i) => [step, series['eval_rewards/margins'].values[i]]),
    );
    expect(series['eval_rewards/margins'].steps).toEqual([2, 4]);

    expect(m.hashes).toEqual({
      checkpoint: checkpointWeightsHash(project.store.checkpoints.get('dpo')!.dir),
      base: checkpointWeightsHash(project.store.checkpoints.get('base')!.dir),
      probe: findRecording(project, { checkpoint: 'dpo', tap: 'blocks.1.mlp.post' })!.probeHash,
    });
  }, 180_000);

  it('the base cell: proxies and the judge, no rewards, no trajectory or margins', async () => {
    const m = await measureCell(project, baseCell, O, quiet);
    const want = await storedProxies('base', 1);
    for (const p of PROXIES) expect(m.values[p]).toBe(want[p]);
    expect(m.values.reward_accuracy).toBeUndefined();
    expect(m.values.reward_margin).toBeUndefined();
    expect(m.values.toxicity_rate).toBe((await rescored('base')).judgeValue);
    expect(m.trajectory).toEqual([]);
    expect(m.margins).toEqual([]);
  }, 180_000);

  it('a second call is a stored lookup: nothing reported, nothing added to the store', async () => {
    const first = storedCellMetrics(project, dpoCell, O);
    expect(first).toBeDefined();
    const said: string[] = [];
    const listening: Reporter = {
      progress: (p) => void said.push(p.phase),
      message: (t) => void said.push(t),
    };
    const before = project.store.analyses.list().length;
    const again = await measureCell(project, dpoCell, O, listening);
    expect(again).toEqual(first);
    expect(said).toEqual([]);
    expect(project.store.analyses.list()).toHaveLength(before);
    // Another block or tap kind is another measurement.
    expect(storedCellMetrics(project, dpoCell, { ...O, layer: 0 })).toBeUndefined();
    expect(storedCellMetrics(project, dpoCell, { ...O, tapKind: 'mlp.pre' })).toBeUndefined();
  }, 60_000);

  it("worldProbe: a shorter cut of the world's probe, measured as a probe of its own", async () => {
    const probe = worldProbe(project, 'base', 2000);
    const tokens = project.store.probes.list().find((p) => p.hash === probe)!.nTokens;
    expect(tokens).toBeGreaterThanOrEqual(2000);
    expect(tokens).toBeLessThan(2000 + 64);
    const o = { ...O, probe };
    expect(storedCellMetrics(project, baseCell, o)).toBeUndefined();
    const m = await measureCell(project, baseCell, o, quiet);
    expect(m.hashes.probe).toBe(probe);
    const corr = await correlationOp(project, { checkpoint: 'base', tap: 'blocks.1.mlp.post', probe });
    expect(m.values.mean_abs_corr).toBe(corr.result.meanAbsOffDiagonal);
    expect(m.values.mean_abs_corr).not.toBe(storedCellMetrics(project, baseCell, O)!.values.mean_abs_corr);
  }, 120_000);

  it('a checkpoint with new weights is measured again', async () => {
    const old = loadCheckpoint(project.store.checkpoints.get('dpo-step2')!.dir);
    const dir = project.checkpointDir('changed');
    const arrays = new Map(old.arrays);
    const w = arrays.get('h.1.mlp.c_fc.weight')!;
    arrays.set('h.1.mlp.c_fc.weight', { ...w, data: (w.data as Float32Array).map((v) => -v) });
    const hash = saveCheckpoint(dir, old.config, arrays, old.tokenizer, { stage: 'sft' });
    project.store.checkpoints.register({ name: 'changed', dir, hash, stage: 'sft', config: {} });
    const c = cell('changed', 'sft');
    const first = await measureCell(project, c, O, quiet);
    expect(first.trajectory).toEqual([]);
    const flipped = saveCheckpoint(dir, old.config, old.arrays, old.tokenizer, { stage: 'sft' });
    project.store.checkpoints.register({ name: 'changed', dir, hash: flipped, stage: 'sft', config: {} });
    expect(storedCellMetrics(project, c, O)).toBeUndefined();
    const second = await measureCell(project, c, O, quiet);
    expect(second.hashes.checkpoint).toBe(flipped);
    expect(second.values['mean_abs_corr@1']).toBe((await storedProxies('changed', 1)).mean_abs_corr);
    expect(second.values['hoyer@1']).not.toBe(first.values['hoyer@1']);
  }, 180_000);

  it("a preference file: the rewards on the file's held-out split are the ones training logged there", async () => {
    const pairs = preferenceTask('toxicity', { seed: 5, train: 60, eval: 0 }).train;
    const file = join(root, 'pairs.jsonl');
    writeFileSync(file, pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
    await trainOp(
      project,
      {
        ...{ name: 'filed', stage: 'dpo', init: 'base', pairs: file, steps: 3, batchSize: 4, lr: 1e-2 },
        ...{ evalEvery: 3, seed: 3, backend: 'auto' },
      } as TrainRequest,
      quiet,
    );
    const o = { ...O, task: 'file:pairs', pairs: file };
    const m = await measureCell(project, cell('filed', 'dpo', 'file:pairs'), o, quiet);
    // Training evaluated its 6 held-out pairs (10%) against the base at its last step.
    const logged = project.store.runs.series('filed', ['eval_rewards/accuracies', 'eval_rewards/margins']);
    expect(m.values.reward_accuracy).toBeCloseTo(logged['eval_rewards/accuracies'].values.at(-1)!, 6);
    expect(m.values.reward_margin).toBeCloseTo(logged['eval_rewards/margins'].values.at(-1)!, 5);
    expect(m.values.reward_margin).not.toBe(0);
    expect(m.values.toxicity_rate).toBeUndefined();
    expect(m.trajectory.map((p) => p.step)).toEqual([0, 3]);
  }, 180_000);
});
