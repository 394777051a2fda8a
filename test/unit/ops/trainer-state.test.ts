// Runs trained elsewhere: a hand-written TRL DPOTrainer trainer_state.json (30 steps, logging_steps 10,
// eval_steps 15, transformers' layout) imported into a real project in a temp folder, checked against
// Python's own reading of the file (json, hashlib); the checks that refuse a bad file or checkpoint and
// leave the store as it was; the checkpoint registered and linked; and the export back to
// trainer_state.json, which Python reads as equal to the original (NaN and Infinity included).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openProject, type Project } from '../../../src/core/store/project.js';
import { createService, type Service } from '../../../src/core/service.js';
import { runTrainerState } from '../../../src/core/ops/trainer-state.js';
import { gptConfig, initParamArrays } from '../../../src/core/model/arch/gpt2.js';
import { saveCheckpoint } from '../../../src/core/model/checkpoint.js';
import { worldTokenizer } from '../../../src/core/data/world.js';
import { runPython } from '../store/python.js';
import { PY, TRL_FIXTURE, sameTrainerState } from '../../helpers/trainer-state.js';

const FIXTURE = TRL_FIXTURE;

/** Python's reading of a trainer_state.json: every (step, name, value) of log_history, values as repr. */
const FLATTEN = `
import json, sys
doc = json.load(open(sys.argv[1]))
print(json.dumps(sorted([e["step"], k, repr(float(v))] for e in doc["log_history"] for k, v in e.items() if k != "step")))
`;

describe('runs.import and the trainer_state.json export', () => {
  let root: string;
  let project: Project;
  let service: Service;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'monoscope-trl-'));
    project = openProject(join(root, 'project'), { create: true });
    service = createService(project);
  });
  afterEach(() => {
    service.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** A checkpoint folder outside the project, as a cluster run leaves it (`runId`: as a run of ours does). */
  const clusterCheckpoint = (name: string, runId?: string): string => {
    const tok = worldTokenizer();
    const cfg = gptConfig({
      vocabSize: tok.vocabSize,
      nEmbd: 16,
      nLayer: 1,
      nHead: 2,
      nInner: 32,
      nCtx: 16,
      bosTokenId: tok.eosId,
      eosTokenId: tok.eosId,
    });
    const dir = join(root, 'cluster', name);
    saveCheckpoint(dir, cfg, initParamArrays(cfg, 3), tok, { stage: 'dpo', runId });
    return dir;
  };
  const write = (name: string, text: string) => {
    const file = join(root, name);
    writeFileSync(file, text);
    return file;
  };
  /** The store as its readers see it: runs, their metrics, and checkpoints. */
  const snapshot = () => ({
    runs: project.store.runs.list(),
    metrics: project.store.runs.list().map((r) => project.store.runs.metrics(r.id)),
    checkpoints: project.store.checkpoints.list(),
  });

  it('stores every log_history value under its TRL name at its step, as a completed dpo run with the summary', async () => {
    const r = await service.call('runs.import', { name: 'cluster-dpo', trainerState: FIXTURE });
    expect(r.run).toMatchObject({ id: 'cluster-dpo', stage: 'dpo', status: 'completed' });
    expect(r.checkpoint).toBeNull();
    const stored = project.store.runs
      .metrics('cluster-dpo')
      .map((m) => [m.step, m.name, m.value] as const)
      .sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    // Python lists the (step, name) pairs of every entry; the ones logged twice (epoch) with one value.
    const fromPython = JSON.parse(runPython(PY, FLATTEN, [FIXTURE])) as [number, string, string][];
    const unique = [...new Map(fromPython.map((x) => [`${x[0]} ${x[1]}`, x])).values()];
    expect(stored.map(([s, n, v]) => [s, n, v])).toEqual(unique.map(([s, n, v]) => [s, n, Number(v)]));
    expect(stored.some(([s, n]) => s === 15 && n === 'eval_rewards/margins')).toBe(true);
    expect(r.steps).toBe(3 + 1); // 10, 15, 20, 30
    expect(r.values).toBe(stored.length);

    const config = r.run.config as Record<string, unknown>;
    const sha = runPython(
      PY,
      'import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())',
      [FIXTURE],
    ).trim();
    expect(config).toMatchObject({ source: 'imported', file: FIXTURE, sha256: sha });
    expect(config.summary).toEqual({
      epoch: 3,
      step: 30,
      total_flos: 0,
      train_loss: 0.6697666645050049,
      train_runtime: 41.7343,
      train_samples_per_second: 5.751,
      train_steps_per_second: 0.719,
    });
    expect(config.trainerState).toMatchObject({ global_step: 30, logging_steps: 10, eval_steps: 15 });
    expect(config.trainerState).not.toHaveProperty('log_history');
  });

  it('takes the stage given, and infers sft for a run without rewards/*', async () => {
    const sft = write(
      'sft.json',
      JSON.stringify({
        global_step: 2,
        log_history: [
          { loss: 2.5, step: 1 },
          { loss: 2.25, epoch: 0.5, step: 2 },
        ],
      }),
    );
    expect((await service.call('runs.import', { name: 'a', trainerState: sft })).run.stage).toBe('sft');
    const given = await service.call('runs.import', { name: 'b', trainerState: FIXTURE, stage: 'decpo' });
    expect(given.run.stage).toBe('decpo');
  });

  it('refuses a bad file with the file, entry index and field named, and writes nothing', async () => {
    const before = snapshot();
    const refused = async (file: string, message: RegExp) => {
      await expect(service.call('runs.import', { name: 'bad', trainerState: file })).rejects.toThrow(message);
      expect(snapshot()).toEqual(before);
    };
    const missing = join(root, 'nope.json');
    await refused(missing, new RegExp(`${missing}: cannot read the trainer state \\(ENOENT\\)`));
    const text = write('text.json', '{"log_history": [{"loss": 1, "step": 1},');
    await refused(text, new RegExp(`${text}: not a trainer_state.json: not valid JSON`));
    const noList = write('nolist.json', '{"global_step": 3}');
    await refused(noList, /'log_history' must be a list/);
    const history = (entries: unknown[]) => JSON.stringify({ log_history: entries });
    const noStep = write(
      'nostep.json',
      history([
        { loss: 1, step: 1 },
        { loss: 0.5, epoch: 1 },
      ]),
    );
    await refused(noStep, new RegExp(`${noStep}: log_history\\[1\\] has no 'step'`));
    const badStep = write('badstep.json', history([{ loss: 1, step: 1.5 }]));
    await refused(badStep, /log_history\[0\]: 'step' must be an integer >= 0, got 1.5/);
    const text2 = write(
      'value.json',
      history([
        { loss: 1, step: 1 },
        { loss: '0.5', step: 2 },
      ]),
    );
    await refused(text2, new RegExp(`${text2}: log_history\\[1\\]: 'loss' must be a number, got "0.5"`));
    const nul = write('null.json', history([{ grad_norm: null, step: 1 }]));
    await refused(nul, /log_history\[0\]: 'grad_norm' must be a number, got null/);
    const clash = write(
      'clash.json',
      history([
        { loss: 1, step: 1 },
        { loss: 2, step: 1 },
      ]),
    );
    await refused(clash, /log_history\[1\]: 'loss' at step 1 is 2, but log_history\[0\] logged 1/);
  });

  it('refuses a name in use and leaves that run as it was', async () => {
    await service.call('runs.import', { name: 'cluster-dpo', trainerState: FIXTURE });
    const before = snapshot();
    const sft = write('sft.json', JSON.stringify({ log_history: [{ loss: 2.5, step: 1 }] }));
    await expect(service.call('runs.import', { name: 'cluster-dpo', trainerState: sft })).rejects.toThrow(
      /a run named 'cluster-dpo' exists already/,
    );
    expect(snapshot()).toEqual(before);
  });

  it('registers the checkpoint folder and links it to the run; a folder that does not open writes nothing', async () => {
    const folder = clusterCheckpoint('checkpoint-30');
    const r = await service.call('runs.import', {
      name: 'cluster-dpo',
      trainerState: FIXTURE,
      checkpoint: folder,
    });
    expect(r.checkpoint).toMatchObject({ name: 'checkpoint-30', source: folder, runId: 'cluster-dpo' });
    expect(project.store.checkpoints.get('checkpoint-30')?.runId).toBe('cluster-dpo');

    const before = snapshot();
    const empty = join(root, 'cluster', 'empty');
    mkdirSync(empty, { recursive: true });
    await expect(
      service.call('runs.import', { name: 'other', trainerState: FIXTURE, checkpoint: empty }),
    ).rejects.toThrow(/config\.json/);
    expect(snapshot()).toEqual(before);
  });

  it('refuses a checkpoint that another run of the project wrote, and writes nothing', async () => {
    project.store.runs.create({ id: 'local-dpo', stage: 'dpo', config: {}, backend: {}, seed: 0 });
    const before = snapshot();
    const folder = clusterCheckpoint('local-dpo-copy', 'local-dpo');
    await expect(
      service.call('runs.import', { name: 'cluster-dpo', trainerState: FIXTURE, checkpoint: folder }),
    ).rejects.toThrow(
      "checkpoint 'local-dpo-copy' is the output of run 'local-dpo' of this project, not of 'cluster-dpo'",
    );
    expect(snapshot()).toEqual(before);
  });

  it('exports an imported run back to a trainer_state.json that Python reads as the original', async () => {
    await service.call('runs.import', { name: 'cluster-dpo', trainerState: FIXTURE });
    const out = write(
      'exported.json',
      runTrainerState(project.store.runs.get('cluster-dpo')!, project.store.runs.series('cluster-dpo')),
    );
    expect(sameTrainerState(FIXTURE, out)).toBe(true);
    // Entries in transformers' order: training, then evaluation at the same step, the summary last.
    const history = JSON.parse(readFileSync(out, 'utf8')).log_history as Record<string, number>[];
    expect(
      history.map((e) => [e.step, 'loss' in e ? 'train' : 'eval_loss' in e ? 'eval' : 'summary']),
    ).toEqual([
      [10, 'train'],
      [15, 'eval'],
      [20, 'train'],
      [30, 'train'],
      [30, 'eval'],
      [30, 'summary'],
    ]);
  });

  it("round-trips Python's NaN and Infinity", async () => {
    const file = write(
      'nan.json',
      '{\n  "global_step": 2,\n  "log_history": [\n    {"grad_norm": NaN, "loss": 1.5, "step": 1},\n    {"grad_norm": Infinity, "loss": -Infinity, "step": 2, "note_NaN": 1}\n  ]\n}\n',
    );
    await service.call('runs.import', { name: 'nan', trainerState: file });
    const series = project.store.runs.series('nan');
    expect(series.grad_norm.values).toEqual([NaN, Infinity]);
    expect(series.loss.values).toEqual([1.5, -Infinity]);
    expect(series.note_NaN.values).toEqual([1]);
    const out = write('nan-out.json', runTrainerState(project.store.runs.get('nan')!, series));
    expect(sameTrainerState(file, out)).toBe(true);
  });

  it("writes a local run's metrics in transformers' layout, evaluations apart, with the fields its spec knows", () => {
    const runs = project.store.runs;
    runs.create({
      id: 'local',
      stage: 'dpo',
      config: { spec: { steps: 3, batchSize: 8, evalEvery: 2, checkpointEvery: 50 } },
      backend: {},
      seed: 0,
    });
    runs.appendMetrics('local', 1, { loss: 0.69, 'rewards/margins': 0.01 });
    runs.appendMetrics('local', 2, { loss: 0.68, 'rewards/margins': 0.02 });
    runs.appendMetrics('local', 2, { eval_loss: 0.685, 'eval_rewards/margins': 0.015 });
    runs.appendMetrics('local', 3, { loss: 0.67, 'rewards/margins': 0.03 });
    const out = write('local.json', runTrainerState(runs.get('local')!, runs.series('local')));
    // Python: only TrainerState's fields (so TrainerState(**doc) loads it), and the log entries as written.
    const check = `
import json, sys
doc = json.load(open(sys.argv[1]))
fields = {"epoch", "global_step", "max_steps", "logging_steps", "eval_steps", "save_steps", "train_batch_size",
  "num_train_epochs", "num_input_tokens_seen", "total_flos", "log_history", "best_metric", "best_global_step",
  "best_model_checkpoint", "is_local_process_zero", "is_world_process_zero", "is_hyper_param_search",
  "trial_name", "trial_params", "stateful_callbacks"}
assert set(doc) <= fields, set(doc) - fields
print(json.dumps({k: v for k, v in doc.items() if k != "log_history"}, sort_keys=True))
print(json.dumps(doc["log_history"], sort_keys=True))
`;
    const [fields, history] = runPython(PY, check, [out])
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(fields).toEqual({
      best_metric: null,
      best_model_checkpoint: null,
      epoch: null,
      eval_steps: 2,
      global_step: 3,
      is_hyper_param_search: false,
      is_local_process_zero: true,
      is_world_process_zero: true,
      logging_steps: 1,
      max_steps: 3,
      save_steps: 50,
      train_batch_size: 8,
    });
    expect(history).toEqual([
      { loss: 0.69, 'rewards/margins': 0.01, step: 1 },
      { loss: 0.68, 'rewards/margins': 0.02, step: 2 },
      { eval_loss: 0.685, 'eval_rewards/margins': 0.015, step: 2 },
      { loss: 0.67, 'rewards/margins': 0.03, step: 3 },
    ]);
  });
});
