/**
 * `monoscope demo`: the main job on the built-in world. Pretrains a small GPT (`base`), fine-tunes it with
 * DPO and with DecPO on the `toxicity` task from the same seed, keeps the checkpoints in
 * `DIR/checkpoints/{base,dpo,decpo}/`, and compares all three (`compare`): on held-out data the reward
 * accuracy and margin, the toxicity rate and mean |corr| of the regularized block; on the probe set, per
 * layer, monosemanticity, correlation, sparsity, diversity and similarity to the base.
 *
 * With `model`, the base is that checkpoint instead (registered in the project under its folder's name),
 * and DPO and DecPO train LoRA adapters on it (the authors' rank 8, alpha 16, dropout 0.05 on their target
 * modules; DecPO's default tap), the task tokenized with the model's own tokenizer.
 */
import type { Project } from '../store/project.js';
import { resolveCheckpoint } from './checkpoints.js';
import { trainOp, type TrainRequest } from './train.js';
import { compareOp, type CompareResult } from './compare.js';
import type { Reporter } from './progress.js';
import { throwIfCancelled } from './progress.js';
import { parseInput, type OpInput } from '../api.js';

/** The demo's input, as the contract takes it (defaults not yet applied). */
export type DemoOptions = OpInput<'demo'>;

/** The demo's settings: the whole pipeline fits in under 10 minutes on a 2-core CPU (wasm backend). */
export function demoPlan(o: DemoOptions): {
  base: TrainRequest;
  dpo: TrainRequest;
  decpo: TrainRequest;
  layer: number;
} {
  const seed = o.seed ?? 0;
  const quick = !!o.quick;
  const layer = 1;
  const common = { seed, backend: o.backend ?? 'auto', task: 'toxicity' as const };
  const pref = {
    ...common,
    init: 'base',
    steps: quick ? 12 : 150,
    batchSize: 16,
    lr: 1e-4,
    beta: 0.1,
    layer,
    tap: 'mlp.post' as const,
    examples: quick ? 256 : 2400,
    evalEvery: quick ? 6 : 25,
    checkpointEvery: 50,
  };
  return {
    base: {
      ...common,
      name: 'base',
      stage: 'pretrain',
      steps: quick ? 30 : 500,
      batchSize: 32,
      lr: 3e-3,
      warmup: quick ? 5 : 30,
      examples: quick ? 1500 : 20000,
      model: quick ? { nLayer: 2, nEmbd: 64, nHead: 4, nInner: 256, nCtx: 64 } : undefined,
      evalEvery: quick ? 15 : 100,
      checkpointEvery: 100,
    },
    dpo: { ...pref, name: 'dpo', stage: 'dpo' },
    decpo: { ...pref, name: 'decpo', stage: 'decpo', regularizer: 'barlow', lambda: 1e-3 },
    layer,
  };
}

/**
 * The demo on a given checkpoint `base` (a name in the project): DPO and DecPO with LoRA on `toxicity`, in
 * micro-batches of 4 pairs so that a real model's step fits in memory.
 */
export function modelDemoPlan(o: DemoOptions, base: string): { dpo: TrainRequest; decpo: TrainRequest } {
  const quick = !!o.quick;
  const pref = {
    seed: o.seed ?? 0,
    backend: o.backend ?? 'auto',
    task: 'toxicity' as const,
    init: base,
    lora: true,
    steps: quick ? 3 : 150,
    batchSize: quick ? 4 : 16,
    microBatch: 4,
    lr: 1e-4,
    beta: 0.1,
    examples: quick ? 32 : 2400,
    evalEvery: quick ? 3 : 25,
    checkpointEvery: 50,
  };
  return {
    dpo: { ...pref, name: 'dpo', stage: 'dpo' },
    decpo: { ...pref, name: 'decpo', stage: 'decpo', regularizer: 'barlow', lambda: 1e-3 },
  };
}

/** The demo's comparison: the input of `compare` (and the key its result is stored under). */
export const DEMO_COMPARE = { checkpoints: ['base', 'dpo', 'decpo'], task: 'toxicity' } as const;

export interface DemoResult {
  project: string;
  checkpoints: Record<string, string>;
  comparison: CompareResult;
}

/** Runs (or resumes) the demo pipeline in a project. Completed stages are kept and not retrained. */
export async function demoOp(
  project: Project,
  o: DemoOptions,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<DemoResult> {
  if (o.probe && !o.model) throw new Error('probe applies to the demo on a given model (model)');
  const base = o.model ? resolveCheckpoint(project, o.model).name : 'base';
  const checkpoints: Record<string, string> = {};
  let runs: TrainRequest[];
  if (o.model) {
    const plan = modelDemoPlan(o, base);
    runs = [plan.dpo, plan.decpo];
    checkpoints[base] = project.checkpointDir(base);
  } else {
    const plan = demoPlan(o);
    runs = [plan.base, plan.dpo, plan.decpo];
  }
  for (const req of runs) {
    throwIfCancelled(signal);
    const have = project.store.checkpoints.get(req.name);
    const run = project.store.runs.get(req.name);
    if (have && run?.status === 'completed') {
      reporter.message(`${req.name}: already trained (run ${run.id}), kept`);
    } else {
      reporter.message(`\n== ${req.stage} -> checkpoints/${req.name}`);
      const r = await trainOp(project, req, reporter, signal);
      if (r.status !== 'completed') throw new Error(r.message ?? `${req.name}: ${r.status}`);
    }
    checkpoints[req.name] = project.checkpointDir(req.name);
  }
  reporter.message(`\n== recording the neurons of ${base}, dpo and decpo, and comparing them`);
  const comparison = await compareOp(
    project,
    parseInput('compare', {
      ...DEMO_COMPARE,
      checkpoints: [base, 'dpo', 'decpo'],
      // The built-in probe is in the world's vocabulary; a real model reads the shipped English one.
      ...(o.model && { probe: o.probe ?? 'english' }),
    }),
    reporter,
    signal,
  );
  return { project: project.dir, checkpoints, comparison };
}
